# The rserve/ module: unit tests of the QAP1 codec on hand-built bytes, and
# the client connection against a real Rserve started by the test.
omcp_unit_test(test_qap SOURCES unit/test_qap.c LIBS omcp_rserve)
omcp_unit_test(test_sexp SOURCES unit/test_sexp.c LIBS omcp_rserve)
omcp_unit_test(test_rconn SOURCES unit/test_rconn.c LIBS omcp_rserve)
omcp_unit_test(test_rjson SOURCES unit/test_rjson.c LIBS omcp_rserve PkgConfig::JANSSON)

add_executable(rserve_live integration/rserve_live.c)
target_link_libraries(rserve_live PRIVATE omcp_rserve)
omcp_integration_test(rserve_live ${CMAKE_CURRENT_SOURCE_DIR}/integration/rserve_live.sh
                      $<TARGET_FILE:rserve_live>)
