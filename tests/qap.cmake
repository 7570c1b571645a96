# The QAP1 front end: unit tests of its frame reader, real clients (RSclient,
# the Java REngine client, raw frames) against a warm pool of sandboxes.
omcp_unit_test(test_qapf SOURCES unit/test_qapf.c LIBS omcp_qapf)

# RSclient from R: values both ways, refusals, isolation, cdm_con, 30 MB
# results, ERR_unavailable when every sandbox is leased.
omcp_integration_test(qap_rsclient ${CMAKE_SOURCE_DIR}/tests/integration/qap_clients.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen>
                      Rscript ${CMAKE_SOURCE_DIR}/tests/integration/qap_rsclient.R)
set_tests_properties(qap_rsclient PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST qap_rsclient APPEND PROPERTY ENVIRONMENT SANDBOX_MEMORY=1g MAX_SANDBOXES=3)

# Raw frames from Python: every refused command alone and pipelined, a large
# refused payload, login without authentication, MAX_FRAME_BYTES, the
# request and idle timeouts, QAP_MAX_CLIENTS; slots recycled by process.
omcp_integration_test(qap_raw ${CMAKE_SOURCE_DIR}/tests/integration/qap_clients.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen>
                      python3 ${CMAKE_SOURCE_DIR}/tests/integration/qap_raw.py)
set_tests_properties(qap_raw PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST qap_raw APPEND PROPERTY ENVIRONMENT POOL_RECYCLE=process POOL_MIN_IDLE=3 MAX_SANDBOXES=4 MAX_FRAME_BYTES=8388608
             QAP_REQUEST_TIMEOUT=2 QAP_IDLE_TIMEOUT=3 QAP_MAX_CLIENTS=12 INTERRUPT_GRACE_SECS=5)

# Few descriptors: QAP_MAX_CLIENTS is lowered to keep the daemon's reserve,
# clients past it are turned away and accept never fails.
omcp_integration_test(qap_emfile ${CMAKE_SOURCE_DIR}/tests/integration/qap_clients.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen>
                      python3 ${CMAKE_SOURCE_DIR}/tests/integration/qap_raw.py)
set_tests_properties(qap_emfile PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST qap_emfile APPEND PROPERTY ENVIRONMENT MAX_SANDBOXES=2 POOL_MIN_IDLE=1
             MAX_FRAME_BYTES=8388608 QAP_IDLE_TIMEOUT=30 QAP_MAX_CLIENTS=1000 QAP_TEST_NOFILE=400)

# The Java REngine client (compiled with javac from tests/java/).
omcp_integration_test(qap_java ${CMAKE_SOURCE_DIR}/tests/integration/qap_clients.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen>
                      ${CMAKE_SOURCE_DIR}/tests/integration/qap_java.sh)
set_tests_properties(qap_java PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST qap_java APPEND PROPERTY ENVIRONMENT POOL_MIN_IDLE=1 MAX_SANDBOXES=2)

# Password logins (QAP_PASSWORD_FILE with a salted hash): raw frames, then the
# Java client's login.
omcp_integration_test(qap_auth ${CMAKE_SOURCE_DIR}/tests/integration/qap_clients.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen>
                      python3 ${CMAKE_SOURCE_DIR}/tests/integration/qap_raw.py)
set_tests_properties(qap_auth PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST qap_auth APPEND PROPERTY ENVIRONMENT POOL_RECYCLE=process POOL_MIN_IDLE=2
             MAX_SANDBOXES=3 MAX_FRAME_BYTES=8388608 QAP_IDLE_TIMEOUT=30 QAP_MAX_CLIENTS=100
             QAP_TEST_USER=analyst QAP_TEST_PASSWORD=correct-horse-7)
omcp_integration_test(qap_java_auth ${CMAKE_SOURCE_DIR}/tests/integration/qap_clients.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen>
                      ${CMAKE_SOURCE_DIR}/tests/integration/qap_java.sh analyst correct-horse-7)
set_tests_properties(qap_java_auth PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST qap_java_auth APPEND PROPERTY ENVIRONMENT POOL_MIN_IDLE=1 MAX_SANDBOXES=2
             QAP_TEST_USER=analyst QAP_TEST_PASSWORD=correct-horse-7)
