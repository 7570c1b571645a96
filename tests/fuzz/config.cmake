omcp_fuzz_target(fuzz_config_ini SOURCES fuzz_config_ini.c LIBS omcp_base)
