# The Docker Engine API client: unit tests against a fake engine inside the
# test, integration tests against the real dockerd.
find_package(Threads REQUIRED)
omcp_unit_test(test_docker SOURCES unit/test_docker.c LIBS omcp_pool Threads::Threads)
