# The CDM tools: the synthetic generator checked for determinism, row counts,
# referential sanity and eras rebuilt from the events.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
    omcp_integration_test(cdm_generated ${Python3_EXECUTABLE}
                          ${CMAKE_SOURCE_DIR}/tests/integration/cdm_generated.py
                          $<TARGET_FILE:omcp-cdmgen>)
endif()

omcp_unit_test(test_cdmcsv SOURCES unit/test_cdmcsv.c LIBS omcp_cdm)
