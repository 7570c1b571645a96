# The state file's write and read cost at 10 and 1,000 sessions.
add_executable(omcp-bench-state bench_state.c)
target_link_libraries(omcp-bench-state PRIVATE omcp_pool omcp_bench)
