/* Fuzzes the HTTP request reader: the first byte picks the size of the
 * pieces the bytes arrive in, the rest is a stream of pipelined requests.
 * Every request read whole must be within the limits; every refusal must
 * carry an HTTP status; the Origin check and the Last-Event-ID reader run
 * on whatever headers came. */
#include "mcp/http_auth.h"
#include "mcp/http_reader.h"
#include "mcp/http_sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct http_reader_limits limits = {4096, 16, 8192};

static void check_request(const struct http_reader *r, const struct http_auth *auth)
{
    unsigned stream;
    uint64_t seq;

    if (r->body.len > limits.max_body_bytes || r->nheaders > limits.max_headers ||
        r->head.len > limits.max_head_bytes + 4)
        abort();
    if (!http_reader_method(r) || !http_reader_path(r))
        abort();
    http_auth_origin_allowed(auth, http_reader_header(r, "Origin"));
    http_auth_identify(auth, http_reader_header(r, "Authorization"));
    http_sse_parse_id(http_reader_header(r, "Last-Event-ID"), &stream, &seq);
    if (http_reader_content_length(r) >= 0 && (size_t)http_reader_content_length(r) != r->body.len)
        abort();
}

static void check_error(const struct http_reader *r)
{
    int s = r->error_status;

    if (!r->error || !(s == 400 || s == 405 || s == 413 || s == 414 || s == 431 || s == 505))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_auth auth;
    static int loaded;
    struct http_reader r;
    size_t step, at = 1;
    char err[128];

    if (size < 1)
        return 0;
    if (!loaded)
        loaded = http_auth_load(&auth, "fuzz:fuzz-token-0123456789", "", "", err, sizeof(err));
    step = (size_t)data[0] % 64 + 1;
    http_reader_init(&r, &limits);
    while (at < size) {
        size_t n = size - at < step ? size - at : step;
        size_t used = http_reader_feed(&r, (const char *)data + at, n);

        if (used > n)
            abort();
        at += used;
        if (r.state == HTTP_READER_ERROR) {
            check_error(&r);
            break;
        }
        if (r.state == HTTP_READER_DONE) {
            check_request(&r, &auth);
            http_reader_reset(&r);
        } else if (used < n) {
            abort(); /* only a whole request or an error stops the reader early */
        }
    }
    http_reader_free(&r);
    return 0;
}
