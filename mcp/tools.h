/* The MCP tool table: names, schemas and hints as tools/list shows them,
 * argument checks, the start of each call on the backend, and the shape of
 * every result (text + structuredContent, or isError with the envelope). */
#ifndef OMCP_MCP_TOOLS_H
#define OMCP_MCP_TOOLS_H

#include "mcp/backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Limits and defaults the tools apply before a call reaches the backend. */
struct mcp_limits {
    double default_idle_timeout; /* create_session without timeout (SANDBOX_TIMEOUT) */
    double default_exec_timeout; /* execute_in_session without limits (DEFAULT_EXEC_TIMEOUT) */
    int64_t max_output_bytes;    /* MAX_OUTPUT_BYTES */
    int64_t max_code_chars;      /* MAX_CODE_CHARS: code_too_large above it */
    int64_t max_file_write_bytes;
    size_t max_message_bytes; /* one JSON-RPC message (MAX_FRAME_BYTES) */
};

struct config;

/* Takes the limits from the daemon's settings. */
void mcp_limits_from_config(struct mcp_limits *limits, const struct config *cfg);

/* Which parts of a tool's description a protocol version knows about. */
struct mcp_version_features {
    bool annotations; /* 2025-03-26 and later */
    bool structured;  /* outputSchema, structuredContent, title: 2025-06-18 and later */
};

struct mcp_tool;

/* The tools/list result. Returns a new reference. */
json_t *mcp_tools_list(const struct mcp_version_features *features);

/* Finds a tool by name, or NULL. */
const struct mcp_tool *mcp_tool_find(const char *name);
const char *mcp_tool_name(const struct mcp_tool *tool);
size_t mcp_tool_count(void);

/* Checks args (an object, or NULL for none) and starts the call on the backend.
 * Refused arguments are answered through caller->done before this returns
 * (with the reference's codes: invalid_code, invalid_limits, invalid_path, ...).
 * Returns the backend's job, or NULL once done has run. */
struct mcp_job *mcp_tool_start(const struct mcp_tool *tool, json_t *args,
                               const struct mcp_limits *limits, struct mcp_backend *backend,
                               const struct mcp_caller *caller);

/* Builds a CallToolResult from a backend result. Returns a new reference. */
json_t *mcp_tool_result(const struct mcp_result *res, const struct mcp_version_features *features);

#endif
