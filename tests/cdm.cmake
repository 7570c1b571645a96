# The CDM tools: the CSV reader's unit test; the synthetic generator checked
# for determinism, row counts, referential sanity and eras rebuilt from the
# events; the loader and the ten analyses checked on the shipped extracts
# (skipped when ../shared/omop is absent) against answers computed from the
# CSVs by Python's csv module; and the same analyses on PostgreSQL, with the
# answers SQLite gives (skipped when no PostgreSQL server programs exist).
omcp_unit_test(test_cdmcsv SOURCES unit/test_cdmcsv.c LIBS omcp_cdm)

find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
    omcp_integration_test(cdm_generated ${Python3_EXECUTABLE}
                          ${CMAKE_SOURCE_DIR}/tests/integration/cdm_generated.py
                          $<TARGET_FILE:omcp-cdmgen>)
    omcp_integration_test(cdm_shared ${Python3_EXECUTABLE}
                          ${CMAKE_SOURCE_DIR}/tests/integration/cdm_shared.py
                          $<TARGET_FILE:omcp-cdmload> $<TARGET_FILE:omcp-cdmgen>)
    omcp_integration_test(cdm_postgres ${Python3_EXECUTABLE}
                          ${CMAKE_SOURCE_DIR}/tests/integration/cdm_postgres.py
                          $<TARGET_FILE:omcp-cdmgen>)
endif()
