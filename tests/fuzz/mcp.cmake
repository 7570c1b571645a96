# The MCP front end's parser of outside bytes: JSON-RPC and the conversation behind it.
omcp_fuzz_target(fuzz_jsonrpc SOURCES fuzz_jsonrpc.c LIBS omcp_mcp)
