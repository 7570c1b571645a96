# MCP over Streamable HTTP: unit tests of the request reader, the Origin
# check, tokens, the rate bucket and SSE replay; the real-client scenario
# with the official TypeScript SDK against a warm pool.
omcp_unit_test(test_http SOURCES unit/test_http.c LIBS omcp_mcp)

omcp_integration_test(mcp_http_sessions ${CMAKE_SOURCE_DIR}/tests/integration/mcp_http_sessions.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen>)
set_tests_properties(mcp_http_sessions PROPERTIES FIXTURES_REQUIRED sandbox_image)

# The official conformance runner's server scenarios that apply to this server.
omcp_integration_test(mcp_http_conformance
                      ${CMAKE_SOURCE_DIR}/tests/integration/mcp_http_conformance.sh
                      $<TARGET_FILE:omcp-rproxy>)

# Faults of the daemon's own host under live sessions, with the SDK client:
# the state directory's filesystem full (a small ext4 image of its own),
# then emptied; and the daemon out of file descriptors (ulimit -n 160)
# under idle HTTP connections, then given them back.
omcp_integration_test(mcp_http_disk_full ${CMAKE_SOURCE_DIR}/tests/integration/mcp_http_faults.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> http_disk_full.mjs)
set_tests_properties(mcp_http_disk_full PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST mcp_http_disk_full APPEND PROPERTY ENVIRONMENT STATE_FS_SIZE=16M)

omcp_integration_test(mcp_http_emfile ${CMAKE_SOURCE_DIR}/tests/integration/mcp_http_faults.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> http_emfile.mjs)
set_tests_properties(mcp_http_emfile PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST mcp_http_emfile APPEND PROPERTY ENVIRONMENT EMFILE_NOFILE=160)
