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
# then emptied; idle HTTP connections past the connection cap the daemon
# lowers to keep its descriptor reserve (ulimit -n 512); and a workspace
# root without room for images (a 16 KiB tmpfs), then given room.
omcp_integration_test(mcp_http_disk_full ${CMAKE_SOURCE_DIR}/tests/integration/mcp_http_faults.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> http_disk_full.mjs)
set_tests_properties(mcp_http_disk_full PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST mcp_http_disk_full APPEND PROPERTY ENVIRONMENT STATE_FS_SIZE=16M)

omcp_integration_test(mcp_http_emfile ${CMAKE_SOURCE_DIR}/tests/integration/mcp_http_faults.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> http_emfile.mjs)
set_tests_properties(mcp_http_emfile PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST mcp_http_emfile APPEND PROPERTY ENVIRONMENT EMFILE_NOFILE=512)

omcp_integration_test(mcp_http_workspace_fail ${CMAKE_SOURCE_DIR}/tests/integration/mcp_http_faults.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> http_workspace_fail.mjs)
set_tests_properties(mcp_http_workspace_fail PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST mcp_http_workspace_fail APPEND PROPERTY ENVIRONMENT WORKSPACE_FS_SIZE=16k)
