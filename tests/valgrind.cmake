# Memory checks under valgrind ("valgrind" label): every unit test, and the
# daemon started and stopped cleanly over stdio with no container engine.
# Each skips (77) when valgrind is absent. Not in Sanitize builds: ASan and
# valgrind cannot watch the same process.
if(CMAKE_BUILD_TYPE STREQUAL "Sanitize" OR OMCP_FUZZ)
    return()
endif()

get_property(omcp_unit_tests GLOBAL PROPERTY OMCP_UNIT_TESTS)
foreach(name IN LISTS omcp_unit_tests)
    add_test(NAME valgrind_${name}
             COMMAND ${CMAKE_SOURCE_DIR}/tests/valgrind.sh $<TARGET_FILE:${name}>)
    set_tests_properties(valgrind_${name} PROPERTIES LABELS valgrind TIMEOUT 900
                         SKIP_RETURN_CODE 77)
endforeach()

add_test(NAME valgrind_daemon_stdio
         COMMAND ${CMAKE_SOURCE_DIR}/tests/integration/valgrind_daemon.sh
                 $<TARGET_FILE:omcp-rproxy>)
set_tests_properties(valgrind_daemon_stdio PROPERTIES LABELS valgrind TIMEOUT 300
                     SKIP_RETURN_CODE 77
                     ENVIRONMENT "OMCP_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
