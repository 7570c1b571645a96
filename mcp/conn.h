/* One MCP client's conversation, independent of the transport: the
 * lifecycle (initialize, version negotiation), method dispatch, tool calls
 * in flight with their cancellation and progress, and log notifications.
 * The transport hands in whole messages and sends out what it is given. */
#ifndef OMCP_MCP_CONN_H
#define OMCP_MCP_CONN_H

#include "mcp/backend.h"
#include "mcp/tools.h"

#include <stdbool.h>
#include <stddef.h>

/* Newest first; the first is answered to clients asking for another one. */
#define MCP_PROTOCOL_VERSIONS "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"

/* Sends one complete JSON-RPC message (no trailing newline). */
typedef void (*mcp_send_fn)(const char *bytes, size_t len, void *arg);

/* Like mcp_send_fn, for transports that answer each request on its own
 * channel (HTTP): about is the id of the request the message answers or
 * belongs to (a call's progress and log notifications), NULL when it belongs
 * to none; answer is true for the response (or a batch's responses). */
typedef void (*mcp_send_about_fn)(const char *bytes, size_t len, const json_t *about, bool answer,
                                  void *arg);

/* How one tool call ended: error is NULL or the envelope's code. */
typedef void (*mcp_outcome_fn)(const char *tool, const char *error, double seconds, void *arg);

struct mcp_conn_config {
    const struct mcp_limits *limits;
    struct mcp_backend *backend;
    const char *owner;          /* who owns the sessions this client creates */
    const char *server_version; /* serverInfo.version */
    mcp_send_fn send;
    void *send_arg;
    mcp_send_about_fn send_about; /* optional; used instead of send, with send_arg */
    mcp_outcome_fn outcome;       /* optional: counts tool calls for metrics */
    void *outcome_arg;
    unsigned max_owner_sessions; /* create_session beyond this many of the owner's: refused; 0: no
                                    limit */
    bool owner_shared; /* other conversations share the owner: freeing this one leaves its sessions
                        */
};

struct mcp_conn;

struct mcp_conn *mcp_conn_new(const struct mcp_conn_config *cfg);

/* Handles one message (an object, or a batch where the negotiated version
 * allows one). Whatever arrives is answered as JSON-RPC requires: errors
 * for what cannot be used, nothing for notifications. */
void mcp_conn_receive(struct mcp_conn *conn, const char *bytes, size_t len);

/* The same for a message the transport already parsed (with jsonrpc_parse and
 * the same limit); value stays the caller's. */
void mcp_conn_receive_value(struct mcp_conn *conn, json_t *value);

/* Answers a message the transport could not even read whole (too large). */
void mcp_conn_refuse(struct mcp_conn *conn, int code, const char *message);

/* Tool calls still waiting for the backend. */
size_t mcp_conn_in_flight(const struct mcp_conn *conn);

/* The negotiated protocol version, or NULL before initialize. */
const char *mcp_conn_version(const struct mcp_conn *conn);

/* Cancels the calls in flight (their answers are dropped), tells the backend
 * the owner's client is gone, and frees the conversation. reason goes to the log. */
void mcp_conn_free(struct mcp_conn *conn, const char *reason);

#endif
