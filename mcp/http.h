/* MCP over Streamable HTTP (protocol 2025-03-26 and later) on the daemon's
 * libev loop: POST, GET and DELETE on /mcp with Mcp-Session-Id, and on the
 * same listener GET /metrics, /healthz and /readyz. Bearer tokens are client
 * identities that own R sessions; without tokens (loopback only) each MCP
 * session is an identity of its own. */
#ifndef OMCP_MCP_HTTP_H
#define OMCP_MCP_HTTP_H

#include "mcp/backend.h"
#include "mcp/tools.h"
#include "proxy/config.h"

#include <ev.h>
#include <stdbool.h>

struct pool;

struct mcp_http_config {
    const char *listen;          /* HOST:PORT */
    const char *allowed_origins; /* comma-separated; empty: loopback origins */
    const char *tokens;          /* comma-separated TOKEN or NAME:TOKEN */
    const char *tokens_file;
    unsigned max_connections;
    double header_timeout, body_timeout, idle_timeout;
    double session_timeout; /* an MCP session without requests or stream */
    unsigned max_sessions_per_identity;
    double rate_limit, rate_burst;
    const struct mcp_limits *limits;
    struct mcp_backend *backend;
    struct pool *pool; /* for /readyz and the pool's metrics; may be NULL */
    const char *server_version;
};

/* Fills cfg from the daemon's settings; strings stay owned by settings. */
void mcp_http_config_from(struct mcp_http_config *cfg, const struct config *settings);

struct mcp_http;

/* Listens and serves. NULL with *err when it cannot: the address is taken,
 * a token is unusable, or the listener is not on loopback and no token is
 * configured. Raises the soft open-file limit to the hard one. */
struct mcp_http *mcp_http_start(struct ev_loop *loop, const struct mcp_http_config *cfg,
                                const char **err);

typedef void (*mcp_http_drained_fn)(struct mcp_http *h, void *arg);

/* Stops accepting, closes idle connections and open GET streams, lets calls
 * in flight finish for at most timeout seconds, then closes what is left and
 * calls done (from the loop, never from inside this call). */
void mcp_http_drain(struct mcp_http *h, double timeout, mcp_http_drained_fn done, void *arg);

/* Closes every connection and ends every MCP session (their R sessions are
 * closed through the backend's owner_gone); the backend must still exist. */
void mcp_http_free(struct mcp_http *h);

#endif
