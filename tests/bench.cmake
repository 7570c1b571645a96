# The benchmarks: the quick suite as CI runs it, leaving its reports in
# BUILD/bench-report, and a check that the regression gate fails a run whose
# codec does its work twice (OMCP_BENCH_HANDICAP=1) and passes a run compared
# with itself. Both run alone: other tests would be in the measurements.
# Only an optimised build measures anything worth a report.
if(NOT CMAKE_BUILD_TYPE STREQUAL "Release")
    return()
endif()

omcp_integration_test(bench_quick ${CMAKE_SOURCE_DIR}/tests/integration/bench_quick.sh)
set_tests_properties(bench_quick PROPERTIES FIXTURES_REQUIRED sandbox_image
                     FIXTURES_SETUP bench_report RUN_SERIAL TRUE)

omcp_integration_test(bench_gate ${CMAKE_SOURCE_DIR}/tests/integration/bench_gate.sh)
set_tests_properties(bench_gate PROPERTIES FIXTURES_REQUIRED bench_report RUN_SERIAL TRUE)
