/* What the HTTP transport's files share: the server, its connections and
 * their response writers (http.c), the /mcp endpoint with its MCP sessions
 * (http_mcp.c) and the metrics (http_metrics.c). Not for other modules. */
#ifndef OMCP_MCP_HTTP_IMPL_H
#define OMCP_MCP_HTTP_IMPL_H

#include "mcp/http.h"
#include "mcp/http_auth.h"
#include "mcp/http_reader.h"
#include "proxy/buf.h"

#include <stdint.h>

/* Where a connection is; only http_conn_set_state() changes it. */
enum http_conn_state {
    HTTP_CONN_IDLE,    /* kept alive, waiting for a request's first byte */
    HTTP_CONN_READING, /* inside a request's head or body */
    HTTP_CONN_BUSY,    /* a request is being answered (an MCP call, an SSE stream) */
    HTTP_CONN_CLOSING, /* the last response is being written; then closed */
    HTTP_CONN_CLOSED,  /* on the list of connections freed at the next loop pass */
};

struct http_exchange;

struct http_conn {
    struct mcp_http *srv;
    unsigned long long id;
    int fd;
    ev_io reader_io;
    ev_io writer_io;
    enum http_conn_state state;
    double deadline; /* when the current phase times out (loop time); 0: never */
    struct http_reader reader;
    struct buf in;                  /* bytes read while busy, fed after the answer */
    struct buf out;                 /* response bytes not yet written */
    size_t out_sent;                /* of out, written already */
    bool close_after;               /* close once the response is written */
    bool streaming;                 /* a chunked response is open */
    bool reading_body;              /* the head was complete at the last read */
    double last_sent;               /* loop time of the last bytes queued, for SSE keep-alives */
    struct http_exchange *exchange; /* the MCP answer or stream this connection carries */
    struct http_conn *prev, *next;
};

/* Counters for /metrics. */
struct http_stats {
    uint64_t accepted, refused, evicted, accept_paused;
    uint64_t header_timeouts, body_timeouts, idle_timeouts;
    uint64_t bytes_in, bytes_out;
    uint64_t rate_limited, auth_failed, origin_refused;
    uint64_t status[6]; /* responses by class: [1] 1xx ... [5] 5xx */
    uint64_t by_code[600];
};

/* One tool outcome counter. */
struct http_tally {
    const char *tool; /* static, from the tool table */
    char outcome[40]; /* "ok" or the error code */
    uint64_t count;
};

#define HTTP_TALLY_MAX    512
#define HTTP_SESSION_HASH 256

struct http_session;

struct mcp_http {
    struct ev_loop *loop;
    struct mcp_http_config cfg;
    char *listen;
    struct http_auth auth;
    int fd;
    ev_io acceptor;
    ev_timer accept_retry; /* after EMFILE: accepting again */
    bool accept_starved;   /* paused for want of descriptors until the backlog is drained */
    ev_timer sweep;        /* deadlines, keep-alives and idle MCP sessions */
    ev_check reaper;       /* frees closed connections after the callback that closed them */
    ev_timer drain_timer;
    struct http_conn *conns, *dead;
    unsigned nconns, nstreams;
    unsigned long long next_conn_id;
    struct http_session *sessions[HTTP_SESSION_HASH];
    unsigned nsessions;
    struct http_bucket anonymous; /* requests before a session exists, without tokens */
    struct http_stats stats;
    struct http_tally tally[HTTP_TALLY_MAX];
    unsigned ntally;
    bool draining;
    mcp_http_drained_fn drained;
    void *drained_arg;
};

/* http.c: responses. extra is "" or complete header lines ("Name: v\r\n"). */
void http_respond(struct http_conn *c, int status, const char *content_type, const char *extra,
                  const char *body, size_t len);
/* A JSON-RPC error (id null) as the body of an HTTP error. */
void http_respond_jsonrpc_error(struct http_conn *c, int status, int code, const char *message,
                                const char *extra);
void http_stream_open(struct http_conn *c, const char *content_type, const char *extra);
void http_stream_send(struct http_conn *c, const char *bytes, size_t len);
/* Ends the chunked response; the connection goes on with its next request. */
void http_stream_close(struct http_conn *c);
void http_conn_close(struct http_conn *c, const char *reason);

/* http_mcp.c: the /mcp endpoint. */
void http_mcp_handle(struct http_conn *c);
/* The connection carrying an exchange is closing. */
void http_mcp_conn_gone(struct http_conn *c);
/* Ends MCP sessions idle past the session timeout. */
void http_mcp_sweep(struct mcp_http *srv, double now);
/* Calls in flight over every MCP session. */
size_t http_mcp_in_flight(const struct mcp_http *srv);
/* Ends every session's GET stream (draining): clients see the end of the stream. */
void http_mcp_end_streams(struct mcp_http *srv);
/* Ends every MCP session (daemon stopping). */
void http_mcp_end_all(struct mcp_http *srv, const char *reason);

/* http_metrics.c */
void http_metrics_register(struct mcp_http *srv);
void http_metrics_unregister(struct mcp_http *srv);
void http_metrics_outcome(const char *tool, const char *error, double seconds, void *arg);

#endif
