# The warm pool: integration test against the real engine and sandbox image.
add_executable(pool_engine integration/pool_engine.c)
target_link_libraries(pool_engine PRIVATE omcp_pool)
omcp_integration_test(pool_engine ${CMAKE_CURRENT_SOURCE_DIR}/integration/pool_engine.sh
                      $<TARGET_FILE:pool_engine>)
set_tests_properties(pool_engine PROPERTIES FIXTURES_REQUIRED sandbox_image)

# Size-limited workspaces on their own, on real loop devices (needs root;
# skipped without it). The script removes what a failed run left mounted.
add_executable(test_wsmount unit/test_wsmount.c)
target_link_libraries(test_wsmount PRIVATE omcp_pool)
add_test(NAME test_wsmount COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/wsmount.sh
                                   $<TARGET_FILE:test_wsmount>)
set_tests_properties(test_wsmount PROPERTIES LABELS unit TIMEOUT 120 SKIP_RETURN_CODE 77)

# The Docker client and the warm pool against Podman's Docker-compatible API
# (a `podman system service` the script starts and stops; skipped without
# podman).
omcp_integration_test(podman_engine ${CMAKE_CURRENT_SOURCE_DIR}/integration/podman_engine.sh
                      $<TARGET_FILE:docker_engine> $<TARGET_FILE:pool_engine>)
set_tests_properties(podman_engine PROPERTIES FIXTURES_REQUIRED sandbox_image)
