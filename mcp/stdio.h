/* The stdio transport: one MCP client on a pair of file descriptors (the
 * daemon's stdin and stdout), newline-delimited JSON-RPC, non-blocking on
 * the daemon's libev loop. Logs never go to out_fd. */
#ifndef OMCP_MCP_STDIO_H
#define OMCP_MCP_STDIO_H

#include "mcp/conn.h"

#include <ev.h>

struct mcp_stdio;

/* Runs once, when the client is gone (end of input and every answer written,
 * or output closed). The transport is then idle; free it outside the callback. */
typedef void (*mcp_stdio_closed_fn)(struct mcp_stdio *io, const char *reason, void *arg);

/* Starts serving. cfg's send and send_arg are the transport's own; its owner,
 * when NULL, becomes "stdio": one client per daemon, the same after a
 * restart, so sessions restored from the state file are still its own. Lines longer than
 * cfg->limits->max_message_bytes are answered with -32600 and skipped up to
 * the next newline. Returns NULL (errno set) if a descriptor is unusable. */
struct mcp_stdio *mcp_stdio_start(struct ev_loop *loop, int in_fd, int out_fd,
                                  const struct mcp_conn_config *cfg, mcp_stdio_closed_fn closed,
                                  void *arg);

/* Stops the watchers, cancels calls in flight, restores the descriptors' flags. */
void mcp_stdio_free(struct mcp_stdio *io);

#endif
