# The HTTP listener's request reader (http-parser under our limits), with the
# Origin check, bearer token lookup and Last-Event-ID reader on what it reads.
omcp_fuzz_target(fuzz_http_reader SOURCES fuzz_http_reader.c LIBS omcp_mcp)
