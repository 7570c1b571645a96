# The QAP1 front end against Rserve itself: round trips, concurrent
# throughput, a 128 MB result, 10,000 idle clients (runs the daemon; root).
find_package(Threads REQUIRED)
add_executable(omcp-bench-qap bench_qap.c)
target_link_libraries(omcp-bench-qap PRIVATE omcp_bench omcp_rserve Threads::Threads)
