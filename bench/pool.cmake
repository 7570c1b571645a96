# The warm pool: acquire latency warm and cold, first query, sustained
# sessions per second and container start rates, against the real engine.
add_executable(omcp-bench-pool bench_pool.c)
target_link_libraries(omcp-bench-pool PRIVATE omcp_pool omcp_bench omcp_bench_pool)
