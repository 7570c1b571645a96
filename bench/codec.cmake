# The codec: decode + JSON of R values in C against jsonlite inside Rserve.
add_executable(omcp-bench-codec bench_codec.c)
target_link_libraries(omcp-bench-codec PRIVATE omcp_rserve omcp_bench)
