# The QAP1 front end's reader of client frames, with a fake slot that
# checks no refused command ever reaches it.
omcp_fuzz_target(fuzz_qapf_stream SOURCES fuzz_qapf_stream.c LIBS omcp_qapf)
