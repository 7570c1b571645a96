# Fixed, I/O-free workloads whose instruction counts bench/run.py takes
# from callgrind: the codec, a tools/call parse and check, a state encoding.
add_executable(omcp-bench-instr bench_instr.c)
target_link_libraries(omcp-bench-instr PRIVATE omcp_mcp omcp_pool omcp_rserve omcp_bench)
