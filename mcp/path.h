/* Checks on file-tool arguments that need no workspace: where a path points
 * inside /sandbox, and base64 content both ways. */
#ifndef OMCP_MCP_PATH_H
#define OMCP_MCP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define MCP_PATH_MAX 4096

/* Resolves a path the way the reference does: relative paths lie under
 * /sandbox, absolute ones must already; "..", "." and repeated slashes are
 * folded lexically (the backend still resolves beneath the workspace without
 * following links). Writes the path relative to /sandbox ("." for the root)
 * to out. Returns false when the path is empty, too long, holds a NUL or
 * leaves /sandbox. */
bool mcp_path_resolve(const char *path, size_t path_len, char *out, size_t out_size);

/* Decodes standard base64 (padding required, ASCII whitespace skipped).
 * Returns a malloc'd buffer and its length, or NULL when the text is not base64. */
unsigned char *mcp_base64_decode(const char *text, size_t len, size_t *out_len);

/* Encodes bytes as standard base64 with padding, no line breaks. Returns a
 * malloc'd NUL-terminated string. */
char *mcp_base64_encode(const unsigned char *bytes, size_t len);

#endif
