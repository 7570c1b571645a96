# The warm pool: integration test against the real engine and sandbox image.
add_executable(pool_engine integration/pool_engine.c)
target_link_libraries(pool_engine PRIVATE omcp_pool)
omcp_integration_test(pool_engine ${CMAKE_CURRENT_SOURCE_DIR}/integration/pool_engine.sh
                      $<TARGET_FILE:pool_engine>)
set_tests_properties(pool_engine PROPERTIES FIXTURES_REQUIRED sandbox_image)
