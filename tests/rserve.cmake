# The rserve/ module: unit tests of the QAP1 codec on hand-built bytes, and
# the client connection against a real Rserve started by the test.
omcp_unit_test(test_qap SOURCES unit/test_qap.c LIBS omcp_rserve)
omcp_unit_test(test_sexp SOURCES unit/test_sexp.c LIBS omcp_rserve)
omcp_unit_test(test_rjson SOURCES unit/test_rjson.c LIBS omcp_rserve PkgConfig::JANSSON)
