# Container start-up through the Docker client against the docker CLI.
add_executable(omcp-bench-docker bench_docker.c)
target_compile_definitions(omcp-bench-docker PRIVATE OMCP_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
target_link_libraries(omcp-bench-docker PRIVATE omcp_pool omcp_bench)
