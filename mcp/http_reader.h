/* The HTTP/1.1 request reader: http-parser fed with whatever bytes arrived,
 * one request at a time, with limits on the head (request line and headers),
 * the number of headers and the body, checked before anything is stored. */
#ifndef OMCP_MCP_HTTP_READER_H
#define OMCP_MCP_HTTP_READER_H

#include "proxy/buf.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#define HTTP_READER_MAX_HEADERS 64 /* room in the index; limits.max_headers may be lower */

struct http_reader_limits {
    size_t max_head_bytes; /* request target, header names and values together */
    unsigned max_headers;
    size_t max_body_bytes;
};

enum http_reader_state {
    HTTP_READER_HEAD,  /* nothing yet, or inside the request line and headers */
    HTTP_READER_BODY,  /* headers complete; reading the body */
    HTTP_READER_DONE,  /* a whole request is here; http_reader_reset() for the next */
    HTTP_READER_ERROR, /* unusable: answer error_status and close */
};

/* What the last bytes stored in head belong to. */
enum http_piece {
    HTTP_PIECE_TARGET, /* the request target (no header yet) */
    HTTP_PIECE_FIELD,  /* a header name */
    HTTP_PIECE_VALUE,  /* a header value */
    HTTP_PIECE_NONE,   /* the head is complete */
};

struct http_header_ref {
    size_t name, value; /* offsets of NUL-terminated strings in head */
};

struct http_reader {
    http_parser parser;
    http_parser_settings settings;
    struct http_reader_limits limits;
    enum http_reader_state state;
    bool started;         /* a byte of this request was seen */
    int error_status;     /* HTTP_READER_ERROR: 400, 413, 431... */
    const char *error;    /* HTTP_READER_ERROR: why, for the log and the answer */
    struct buf head;      /* target, then name\0value\0 pairs */
    size_t target_len;    /* bytes of the request target at the start of head */
    enum http_piece last; /* where the next header bytes go */
    unsigned nheaders;    /* headers seen (all of them count against the limit) */
    struct http_header_ref headers[HTTP_READER_MAX_HEADERS];
    struct buf body;
    long long content_length; /* from the head; -1 when chunked or absent */
    bool keep_alive;          /* DONE: the connection may carry another request */
    bool expect_continue;     /* the client waits for "100 Continue" before its body */
};

void http_reader_init(struct http_reader *r, const struct http_reader_limits *limits);
/* Gets ready for the next request on the same connection; keeps small buffers. */
void http_reader_reset(struct http_reader *r);
void http_reader_free(struct http_reader *r);

/* Reads up to len bytes and returns how many it used: it stops after a whole
 * request (state DONE), leaving what follows for the next one, and at an error. */
size_t http_reader_feed(struct http_reader *r, const char *data, size_t len);

/* DONE (or BODY): the request's parts. */
const char *http_reader_method(const struct http_reader *r);
/* The target without its query string ("/mcp" for "/mcp?x=1"). */
const char *http_reader_path(const struct http_reader *r);
/* The first header of that name (any case), or NULL. */
const char *http_reader_header(const struct http_reader *r, const char *name);
/* Content-Length, or -1 when the body is chunked or absent. */
long long http_reader_content_length(const struct http_reader *r);

#endif
