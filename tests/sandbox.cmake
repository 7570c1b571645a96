# The sandbox image: brought up to date first (built when its inputs
# changed, skipped otherwise; a skip when not root or no sandbox uid), then
# a container of it started with the pool's hardening and checked through
# its unix socket with RSclient. Tests that need the image can require the
# fixture "sandbox_image".
omcp_integration_test(sandbox_image
                      ${CMAKE_SOURCE_DIR}/tests/integration/sandbox_container.sh --build-image)
set_tests_properties(sandbox_image PROPERTIES FIXTURES_SETUP sandbox_image)

omcp_integration_test(sandbox_container ${CMAKE_SOURCE_DIR}/tests/integration/sandbox_container.sh)
set_tests_properties(sandbox_container PROPERTIES FIXTURES_REQUIRED sandbox_image)
