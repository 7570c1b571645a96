# The Docker client's readers of engine output: events framing and answers.
omcp_fuzz_target(fuzz_docker_json SOURCES fuzz_docker_json.c LIBS omcp_pool)
