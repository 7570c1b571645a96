# The OMOP analyses on direct Rserve connections: warm slots of the pool
# (no proxy) and the reference's way (a new container per session, a new
# connection per call), for bench/run.py's throughput comparison. The R text
# comes from the daemon's own builder, mcp/rcode.c.
add_executable(omcp-bench-omop bench_omop.c ${CMAKE_SOURCE_DIR}/mcp/rcode.c)
target_link_libraries(omcp-bench-omop PRIVATE omcp_pool omcp_bench omcp_bench_pool PkgConfig::JANSSON)
