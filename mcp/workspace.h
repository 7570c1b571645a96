/* The file tools on the host side of a session's workspace: every path is
 * resolved beneath the workspace directory with openat2 (no "..", no
 * symbolic or magic links), writes are atomic (temporary file, then rename),
 * and each file carries an XXH3-64 checksum. Works while R is busy or gone. */
#ifndef OMCP_MCP_WORKSPACE_H
#define OMCP_MCP_WORKSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* Why a file operation failed: an envelope code and words for the agent. */
struct mcp_ws_error {
    const char *code; /* invalid_path, file_not_found, not_a_file, not_a_directory,
                         file_too_large, io_error */
    char message[256];
};

/* Lists the directory rel ("." for the root) of the workspace at root: an
 * array of {name, path, is_dir, size, modified_at}, sorted by name, with
 * paths as the sandbox sees them ("/sandbox/..."). NULL on failure. */
json_t *mcp_ws_list(const char *root, const char *rel, struct mcp_ws_error *err);

/* Reads the regular file rel, at most max_bytes (file_too_large beyond).
 * Returns a malloc'd buffer (NUL-terminated, *len bytes) or NULL. */
unsigned char *mcp_ws_read(const char *root, const char *rel, int64_t max_bytes, size_t *len,
                           struct mcp_ws_error *err);

/* Creates or replaces the file rel with the given bytes, creating missing
 * directories; what it creates belongs to uid:uid (when the daemon may
 * chown), so R in the sandbox can change it. */
bool mcp_ws_write(const char *root, const char *rel, const void *bytes, size_t len, uid_t uid,
                  struct mcp_ws_error *err);

/* Opens the directory rel beneath the workspace, as the file tools would
 * (no link followed); a descriptor to close, or -1 with err set. */
int mcp_ws_open_dir(const char *root, const char *rel, struct mcp_ws_error *err);

/* Creates the directory rel and its parents beneath the workspace. */
bool mcp_ws_mkdir(const char *root, const char *rel, uid_t uid, struct mcp_ws_error *err);

/* XXH3-64 of the bytes as 16 lowercase hex digits. */
void mcp_ws_checksum(const void *bytes, size_t len, char out[17]);

/* The bytes as a JSON string, invalid UTF-8 sequences replaced by U+FFFD. */
json_t *mcp_ws_text(const unsigned char *bytes, size_t len);

#endif
