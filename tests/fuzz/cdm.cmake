# The CDM loader's CSV reader, fed arbitrary bytes in random chunkings.
omcp_fuzz_target(fuzz_cdmcsv SOURCES fuzz_cdmcsv.c LIBS omcp_cdm)
