/* HTTP/1.1 request reading over http-parser, with our own limits. */
#include "mcp/http_reader.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

static struct http_reader *reader_of(http_parser *p)
{
    return p->data;
}

/* Marks the request unusable and stops the parser where it is. */
static int fail(struct http_reader *r, int status, const char *why)
{
    r->state = HTTP_READER_ERROR;
    r->error_status = status;
    r->error = why;
    return -1;
}

static bool head_room(struct http_reader *r, size_t more)
{
    return r->head.len + more <= r->limits.max_head_bytes;
}

static int on_message_begin(http_parser *p)
{
    reader_of(p)->started = true;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_reader *r = reader_of(p);

    if (!head_room(r, len))
        return fail(r, 414, "request target too long");
    buf_append(&r->head, at, len);
    r->target_len += len;
    return 0;
}

/* Ends the piece being read (target, header name or value) with its NUL;
 * a name that got no value gets an empty one. */
static void end_piece(struct http_reader *r)
{
    if (r->last == HTTP_PIECE_FIELD) {
        buf_putc(&r->head, '\0');
        r->headers[r->nheaders - 1].value = r->head.len;
    }
    buf_putc(&r->head, '\0');
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_reader *r = reader_of(p);

    if (!head_room(r, len + 3))
        return fail(r, 431, "request header fields too large");
    if (r->last != HTTP_PIECE_FIELD) {
        end_piece(r);
        if (r->nheaders >= r->limits.max_headers || r->nheaders >= HTTP_READER_MAX_HEADERS)
            return fail(r, 431, "too many request header fields");
        r->headers[r->nheaders++].name = r->head.len;
        r->last = HTTP_PIECE_FIELD;
    }
    buf_append(&r->head, at, len);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_reader *r = reader_of(p);

    if (!head_room(r, len + 3))
        return fail(r, 431, "request header fields too large");
    if (r->last == HTTP_PIECE_FIELD) {
        buf_putc(&r->head, '\0');
        r->headers[r->nheaders - 1].value = r->head.len;
        r->last = HTTP_PIECE_VALUE;
    }
    buf_append(&r->head, at, len);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_reader *r = reader_of(p);
    const char *expect;

    end_piece(r);
    r->last = HTTP_PIECE_NONE;
    r->head.data[strcspn(r->head.data, "?#")] = '\0'; /* the path is all that is routed */
    r->state = HTTP_READER_BODY;
    if (p->method == HTTP_CONNECT)
        return fail(r, 405, "CONNECT is not served");
    r->content_length = -1;
    if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX) {
        if (p->content_length > r->limits.max_body_bytes)
            return fail(r, 413, "request body too large");
        r->content_length = (long long)p->content_length;
    }
    expect = http_reader_header(r, "Expect");
    r->expect_continue = expect && strcasecmp(expect, "100-continue") == 0;
    return 0;
}

/* A chunk's size is known before its bytes: refuse a chunk that cannot fit. */
static int on_chunk_header(http_parser *p)
{
    struct http_reader *r = reader_of(p);

    if (p->content_length > r->limits.max_body_bytes - r->body.len)
        return fail(r, 413, "request body too large");
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_reader *r = reader_of(p);

    if (r->body.len + len > r->limits.max_body_bytes)
        return fail(r, 413, "request body too large");
    buf_append(&r->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_reader *r = reader_of(p);

    r->state = HTTP_READER_DONE;
    r->keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1); /* one request at a time: the rest stays unread */
    return 0;
}

void http_reader_init(struct http_reader *r, const struct http_reader_limits *limits)
{
    memset(r, 0, sizeof(*r));
    r->limits = *limits;
    http_parser_settings_init(&r->settings);
    r->settings.on_message_begin = on_message_begin;
    r->settings.on_url = on_url;
    r->settings.on_header_field = on_header_field;
    r->settings.on_header_value = on_header_value;
    r->settings.on_headers_complete = on_headers_complete;
    r->settings.on_body = on_body;
    r->settings.on_chunk_header = on_chunk_header;
    r->settings.on_message_complete = on_message_complete;
    http_reader_reset(r);
}

/* Buffers larger than this are given back between requests. */
#define HTTP_READER_KEEP_BYTES 16384

static void shrink(struct buf *b)
{
    if (b->cap > HTTP_READER_KEEP_BYTES)
        buf_free(b);
    else
        buf_reset(b);
}

void http_reader_reset(struct http_reader *r)
{
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    r->state = HTTP_READER_HEAD;
    r->started = false;
    r->error_status = 0;
    r->error = NULL;
    shrink(&r->head);
    shrink(&r->body);
    r->target_len = 0;
    r->last = HTTP_PIECE_TARGET;
    r->nheaders = 0;
    r->keep_alive = false;
    r->expect_continue = false;
}

void http_reader_free(struct http_reader *r)
{
    buf_free(&r->head);
    buf_free(&r->body);
}

static int parse_error_status(enum http_errno err)
{
    return err == HPE_HEADER_OVERFLOW ? 431 : err == HPE_INVALID_VERSION ? 505 : 400;
}

size_t http_reader_feed(struct http_reader *r, const char *data, size_t len)
{
    size_t used;
    enum http_errno err;

    if (r->state == HTTP_READER_DONE || r->state == HTTP_READER_ERROR || len == 0)
        return 0;
    used = http_parser_execute(&r->parser, &r->settings, data, len);
    if (r->state == HTTP_READER_ERROR || r->state == HTTP_READER_DONE)
        return used;
    err = HTTP_PARSER_ERRNO(&r->parser);
    if (err != HPE_OK) {
        fail(r, parse_error_status(err), http_errno_description(err));
        return used;
    }
    return used;
}

const char *http_reader_method(const struct http_reader *r)
{
    return http_method_str((enum http_method)r->parser.method);
}

const char *http_reader_path(const struct http_reader *r)
{
    return r->state == HTTP_READER_HEAD || !r->head.data ? "" : r->head.data;
}

const char *http_reader_header(const struct http_reader *r, const char *name)
{
    if (r->state == HTTP_READER_HEAD)
        return NULL; /* names and values are not terminated yet */
    for (unsigned i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->head.data + r->headers[i].name, name) == 0)
            return r->headers[i].value ? r->head.data + r->headers[i].value : "";
    }
    return NULL;
}

long long http_reader_content_length(const struct http_reader *r)
{
    return r->state == HTTP_READER_HEAD ? -1 : r->content_length;
}
