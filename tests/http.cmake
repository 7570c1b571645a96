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
