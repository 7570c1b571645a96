/* SSE framing, event ids and the per-session replay ring. */
#include "mcp/http_sse.h"

#include "proxy/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void http_replay_init(struct http_replay *r, unsigned max_events, size_t max_bytes)
{
    memset(r, 0, sizeof(*r));
    r->cap = max_events ? max_events : 1;
    r->max_bytes = max_bytes;
}

static void drop_oldest(struct http_replay *r)
{
    struct http_sse_event *e = &r->ring[r->first];

    r->bytes -= e->len;
    free(e->text);
    e->text = NULL;
    r->first = (r->first + 1) % r->cap;
    r->count--;
}

void http_replay_free(struct http_replay *r)
{
    while (r->count)
        drop_oldest(r);
    free(r->ring);
    r->ring = NULL;
}

void http_sse_format(struct buf *out, unsigned stream, uint64_t seq, const char *json, size_t len)
{
    buf_printf(out, "id: %u-%llu\ndata: ", stream, (unsigned long long)seq);
    buf_append(out, json, len);
    buf_puts(out, "\n\n");
}

bool http_sse_parse_id(const char *id, unsigned *stream, uint64_t *seq)
{
    char *end;
    unsigned long s;
    unsigned long long n;

    if (!id || *id < '0' || *id > '9')
        return false;
    errno = 0;
    s = strtoul(id, &end, 10);
    if (errno || *end != '-' || s > 0xffffffffUL || end[1] < '0' || end[1] > '9')
        return false;
    n = strtoull(end + 1, &end, 10);
    if (errno || *end)
        return false;
    *stream = (unsigned)s;
    *seq = n;
    return true;
}

void http_replay_add(struct http_replay *r, unsigned stream, uint64_t seq, const char *text,
                     size_t len)
{
    struct http_sse_event *e;

    if (len > r->max_bytes)
        return;
    if (!r->ring)
        r->ring = xcalloc(r->cap, sizeof(*r->ring));
    while (r->count && (r->count == r->cap || r->bytes + len > r->max_bytes))
        drop_oldest(r);
    e = &r->ring[(r->first + r->count) % r->cap];
    e->seq = seq;
    e->stream = stream;
    e->text = xmalloc(len);
    memcpy(e->text, text, len);
    e->len = len;
    r->bytes += len;
    r->count++;
}

unsigned http_replay_since(const struct http_replay *r, unsigned stream, uint64_t seq,
                           http_replay_fn fn, void *arg)
{
    unsigned n = 0;

    for (unsigned i = 0; i < r->count; i++) {
        const struct http_sse_event *e = &r->ring[(r->first + i) % r->cap];

        if (e->stream == stream && e->seq > seq) {
            fn(e->text, e->len, arg);
            n++;
        }
    }
    return n;
}
