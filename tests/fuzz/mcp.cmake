# The MCP front end's parser of outside bytes: JSON-RPC and the conversation behind it.
omcp_fuzz_target(fuzz_jsonrpc SOURCES fuzz_jsonrpc.c LIBS omcp_mcp)
# Tar archives a client sends to import into a workspace.
omcp_fuzz_target(fuzz_ws_import SOURCES fuzz_ws_import.c LIBS omcp_mcp)
