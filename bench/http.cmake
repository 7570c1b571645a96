# MCP over Streamable HTTP end to end: create/execute/close at 1 and 16
# clients against the daemon with a warm pool, and 2,000 idle connections.
find_package(Threads REQUIRED)
add_executable(omcp-bench-http bench_http.c)
target_link_libraries(omcp-bench-http PRIVATE omcp_bench Threads::Threads)
