# The MCP front end: unit tests of the JSON-RPC layer and of the MCP
# conversation (with a fake backend inside the test), and the real-client
# test with the official TypeScript SDK over stdio.
omcp_unit_test(test_jsonrpc SOURCES unit/test_jsonrpc.c LIBS omcp_mcp)
omcp_unit_test(test_mcp SOURCES unit/test_mcp.c LIBS omcp_mcp)

omcp_integration_test(mcp_stdio_sdk ${CMAKE_SOURCE_DIR}/tests/integration/mcp_stdio_sdk.sh
                      $<TARGET_FILE:omcp-rproxy>)
omcp_integration_test(mcp_stdio_framing ${CMAKE_SOURCE_DIR}/tests/integration/mcp_stdio_framing.sh
                      $<TARGET_FILE:omcp-rproxy>)

# Real sessions: the SDK client against a warm pool of sandbox containers.
omcp_integration_test(mcp_stdio_sessions ${CMAKE_SOURCE_DIR}/tests/integration/mcp_stdio_sessions.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen>)
set_tests_properties(mcp_stdio_sessions PROPERTIES FIXTURES_REQUIRED sandbox_image)

# Faults under real sessions: containers and R processes killed, OOM, R
# stuck past its interrupt, containers removed from outside.
omcp_integration_test(mcp_stdio_faults ${CMAKE_SOURCE_DIR}/tests/integration/mcp_stdio_sessions.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> stdio_faults.mjs)
set_tests_properties(mcp_stdio_faults PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST mcp_stdio_faults APPEND PROPERTY ENVIRONMENT INTERRUPT_GRACE_SECS=2)

# The file tools' host side and the R and SQL text built from arguments.
omcp_unit_test(test_workspace SOURCES unit/test_workspace.c LIBS omcp_mcp PkgConfig::ARCHIVE)

# A crash: kill -9 of the daemon with sessions live, lost and idle, then a
# restart on the same state directory; and a corrupt state file.
omcp_integration_test(mcp_stdio_restart ${CMAKE_SOURCE_DIR}/tests/integration/mcp_stdio_sessions.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> stdio_restart.mjs)
set_tests_properties(mcp_stdio_restart PROPERTIES FIXTURES_REQUIRED sandbox_image)

# The engine comes and goes: dockerd stopped and restarted, then paused with
# SIGSTOP, under live sessions (needs a dockerd with --live-restore).
omcp_integration_test(mcp_stdio_engine ${CMAKE_SOURCE_DIR}/tests/integration/mcp_stdio_sessions.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> stdio_engine.mjs)
set_tests_properties(mcp_stdio_engine PROPERTIES FIXTURES_REQUIRED sandbox_image RUN_SERIAL TRUE)

# Escape and abuse attempts from inside real sessions, a witness session
# served throughout, and secrets given to the daemon found nowhere.
omcp_integration_test(mcp_stdio_escape ${CMAKE_SOURCE_DIR}/tests/integration/mcp_stdio_sessions.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> stdio_escape.mjs)
set_tests_properties(mcp_stdio_escape PROPERTIES FIXTURES_REQUIRED sandbox_image)

# The soak in its short form: 75 s of mixed load from 3 clients with a fault
# every 20 s; bench/soak.sh with no duration runs the 30-minute form.
omcp_integration_test(mcp_soak_short ${CMAKE_SOURCE_DIR}/bench/soak.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen> 75)
set_tests_properties(mcp_soak_short PROPERTIES FIXTURES_REQUIRED sandbox_image)
set_property(TEST mcp_soak_short APPEND PROPERTY ENVIRONMENT
             SOAK_CLIENTS=3 SOAK_INTERVAL=15 SOAK_FAULT_EVERY=20)
