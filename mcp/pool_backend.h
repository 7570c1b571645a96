/* The MCP backend of a daemon with a warm pool: MCP sessions lease slots,
 * tools run on the lease's warm R connection and its workspace. */
#ifndef OMCP_MCP_POOL_BACKEND_H
#define OMCP_MCP_POOL_BACKEND_H

#include "mcp/backend.h"
#include "pool/pool.h"
#include "proxy/config.h"

#include <ev.h>

struct mcp_pool_backend_config {
    const char *cdm_dir;         /* where <name>.sqlite CDMs are, for describe_cdm */
    const char *cdm_default;     /* CDM_DEFAULT */
    unsigned sandbox_uid;        /* owner of files the file tools create */
    int64_t max_file_read_bytes; /* MAX_FILE_READ_BYTES: also bounds a workspace export */
    int64_t workspace_size;      /* WORKSPACE_SIZE: bounds what an import unpacks */
    double default_exec_timeout; /* limit of an omop_query evaluation */
    unsigned max_sandboxes;      /* for pool_status */
    unsigned warm_target;        /* for pool_status */
};

/* Fills bc from the daemon's settings; the strings stay owned by cfg. */
void mcp_pool_backend_config_from(struct mcp_pool_backend_config *bc, const struct config *cfg);

/* The pool outlives the backend. */
struct mcp_backend *mcp_pool_backend_new(struct ev_loop *loop, struct pool *pool,
                                         const struct mcp_pool_backend_config *cfg);
/* Sessions open now, of every owner. */
unsigned mcp_pool_backend_sessions(const struct mcp_backend *b);
/* Closes every session, releasing its lease; calls in flight are answered. */
void mcp_pool_backend_close_all(struct mcp_backend *b, const char *reason);
/* Closes every session and frees the backend; the pool must still run. */
void mcp_pool_backend_free(struct mcp_backend *b);

#endif
