# The Docker Engine API client: unit tests against a fake engine inside the
# test, integration tests against the real dockerd.
find_package(Threads REQUIRED)
omcp_unit_test(test_docker SOURCES unit/test_docker.c LIBS omcp_pool Threads::Threads)

add_executable(docker_engine integration/docker_engine.c)
target_link_libraries(docker_engine PRIVATE omcp_pool)
omcp_integration_test(docker_engine ${CMAKE_CURRENT_SOURCE_DIR}/integration/docker_engine.sh
                      $<TARGET_FILE:docker_engine>)
omcp_integration_test(docker_dead_engine
                      ${CMAKE_CURRENT_SOURCE_DIR}/integration/docker_dead_engine.sh
                      $<TARGET_FILE:docker_engine>)
