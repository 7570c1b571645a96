# The CDM on PostgreSQL: a throwaway CDM cluster made by bench/pg-cdm.sh,
# served beside the same CDM in SQLite through a real pool, checked with
# the official MCP TypeScript SDK (same answers on both engines, no write,
# no other database, no credential in a sandbox, the CDM chosen by name).
omcp_integration_test(mcp_pg_cdm ${CMAKE_SOURCE_DIR}/tests/integration/mcp_pg_cdm.sh
                      $<TARGET_FILE:omcp-rproxy> $<TARGET_FILE:omcp-cdmgen>)
set_tests_properties(mcp_pg_cdm PROPERTIES FIXTURES_REQUIRED sandbox_image)

# How CDM_DIR's .sqlite and .pg entries become CDMs, their description, and
# the DB_HOST the daemon accepts.
omcp_unit_test(test_cdms SOURCES unit/test_cdms.c LIBS omcp_mcp)
