/* A whole workspace as one tar archive, both ways, on the host side:
 * export walks it without following any link; import accepts only regular
 * files and directories whose names stay under /sandbox, checks the whole
 * archive before it writes anything, and writes each file as the file
 * tools do (beneath the workspace, atomically). */
#ifndef OMCP_MCP_WSARCHIVE_H
#define OMCP_MCP_WSARCHIVE_H

#include "mcp/workspace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mcp_ws_archive_stats {
    unsigned files;     /* regular files in the archive */
    unsigned skipped;   /* export: links and special files left out */
    uint64_t bytes;     /* bytes of file content */
    size_t archive_len; /* bytes of the archive */
};

/* The directory rel of the workspace at root as a POSIX tar archive of at
 * most max_bytes (file_too_large beyond). Symbolic links and special files
 * are left out, never followed. Returns a malloc'd buffer or NULL. */
unsigned char *mcp_ws_export(const char *root, const char *rel, int64_t max_bytes,
                             struct mcp_ws_archive_stats *st, struct mcp_ws_error *err);

/* Unpacks a tar archive (plain or gzip) into the directory rel of the
 * workspace, created when missing. Refuses the whole archive, writing nothing, when a member is
 * not a regular file or directory (links, devices, FIFOs), when a name
 * leaves /sandbox, when a file passes max_file bytes or all of them pass
 * max_total. Files created belong to uid. */
bool mcp_ws_import(const char *root, const char *rel, const void *tar, size_t len, int64_t max_file,
                   int64_t max_total, uid_t uid, struct mcp_ws_archive_stats *st,
                   struct mcp_ws_error *err);

#endif
