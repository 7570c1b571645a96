/* Server-sent events for MCP over HTTP: event framing with ids of the form
 * STREAM-SEQ (STREAM 0 is a session's GET stream, others one POST's answer
 * stream; SEQ grows across the whole MCP session), and the bounded replay
 * buffer that lets a client resume a stream with Last-Event-ID. */
#ifndef OMCP_MCP_HTTP_SSE_H
#define OMCP_MCP_HTTP_SSE_H

#include "proxy/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_sse_event {
    uint64_t seq;
    unsigned stream;
    char *text; /* the whole event, as written on the wire */
    size_t len;
};

struct http_replay {
    struct http_sse_event *ring;
    unsigned cap, first, count; /* oldest at ring[first] */
    size_t bytes, max_bytes;
};

void http_replay_init(struct http_replay *r, unsigned max_events, size_t max_bytes);
void http_replay_free(struct http_replay *r);

/* "id: STREAM-SEQ\ndata: JSON\n\n"; json holds no newline (jsonrpc_dump). */
void http_sse_format(struct buf *out, unsigned stream, uint64_t seq, const char *json, size_t len);
/* Reads "STREAM-SEQ"; false when it is anything else. */
bool http_sse_parse_id(const char *id, unsigned *stream, uint64_t *seq);

/* Keeps a copy of an event, dropping the oldest to stay within both bounds;
 * an event larger than max_bytes alone is not kept. */
void http_replay_add(struct http_replay *r, unsigned stream, uint64_t seq, const char *text,
                     size_t len);

typedef void (*http_replay_fn)(const char *text, size_t len, void *arg);
/* Calls fn for every kept event of stream after seq, oldest first; returns how many. */
unsigned http_replay_since(const struct http_replay *r, unsigned stream, uint64_t seq,
                           http_replay_fn fn, void *arg);

#endif
