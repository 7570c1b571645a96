# The rserve/ module's readers of outside bytes: the client's frame reader
# (through a socket pair) and the SEXP value decoder with its JSON writer.
omcp_fuzz_target(fuzz_qap_frame SOURCES fuzz_qap_frame.c LIBS omcp_rserve)
omcp_fuzz_target(fuzz_sexp_decode SOURCES fuzz_sexp_decode.c LIBS omcp_rserve PkgConfig::JANSSON)
