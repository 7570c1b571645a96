/* Unit tests of the HTTP transport's pure parts: the request reader and its
 * limits, the Origin check, bearer tokens and identities, the rate bucket,
 * and SSE event ids with the replay buffer. */
#include "check.h"
#include "mcp/http_auth.h"
#include "mcp/http_reader.h"
#include "mcp/http_sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct http_reader_limits limits = {1024, 8, 100};

/* Feeds text in pieces of step bytes; returns bytes used. */
static size_t feed(struct http_reader *r, const char *text, size_t step)
{
    size_t used = 0, len = strlen(text);

    while (used < len && r->state != HTTP_READER_DONE && r->state != HTTP_READER_ERROR) {
        size_t n = len - used < step ? len - used : step;
        size_t got = http_reader_feed(r, text + used, n);

        used += got;
        if (got < n)
            break;
    }
    return used;
}

static void test_reader_post(void)
{
    static const char req[] = "POST /mcp?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json"
                              "\r\nX-Empty:\r\nContent-Length: 5\r\n\r\nhello";
    size_t steps[] = {1, 3, sizeof(req)};

    for (size_t i = 0; i < 3; i++) {
        struct http_reader r;

        http_reader_init(&r, &limits);
        CHECK_INT(feed(&r, req, steps[i]), strlen(req));
        CHECK_INT(r.state, HTTP_READER_DONE);
        CHECK_STR(http_reader_method(&r), "POST");
        CHECK_STR(http_reader_path(&r), "/mcp");
        CHECK_STR(http_reader_header(&r, "content-type"), "application/json");
        CHECK_STR(http_reader_header(&r, "X-Empty"), "");
        CHECK(http_reader_header(&r, "Origin") == NULL);
        CHECK_INT(r.body.len, 5);
        CHECK(memcmp(r.body.data, "hello", 5) == 0);
        CHECK(r.keep_alive);
        CHECK_INT(http_reader_content_length(&r), 5);
        http_reader_free(&r);
    }
}

static void test_reader_pipelined(void)
{
    static const char two[] = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                              "GET /readyz HTTP/1.0\r\n\r\n";
    struct http_reader r;
    size_t first;

    http_reader_init(&r, &limits);
    first = http_reader_feed(&r, two, strlen(two));
    CHECK_INT(first, strlen("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"));
    CHECK_STR(http_reader_path(&r), "/healthz");
    http_reader_reset(&r);
    CHECK_INT(http_reader_feed(&r, two + first, strlen(two) - first), strlen(two) - first);
    CHECK_INT(r.state, HTTP_READER_DONE);
    CHECK_STR(http_reader_path(&r), "/readyz");
    CHECK(!r.keep_alive); /* HTTP/1.0 without keep-alive */
    http_reader_free(&r);
}

static void test_reader_chunked(void)
{
    struct http_reader r;

    http_reader_init(&r, &limits);
    feed(&r,
         "POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
         "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
         7);
    CHECK_INT(r.state, HTTP_READER_DONE);
    CHECK(r.expect_continue);
    CHECK_INT(r.body.len, 5);
    CHECK_INT(http_reader_content_length(&r), -1);
    http_reader_free(&r);
}

/* Each request must fail with the given status. */
static void expect_error(const char *req, int status)
{
    struct http_reader r;

    http_reader_init(&r, &limits);
    feed(&r, req, 2);
    CHECK_INT(r.state, HTTP_READER_ERROR);
    CHECK_INT(r.error_status, status);
    if (r.error_status != status)
        fprintf(stderr, "  request: %.60s\n", req);
    http_reader_free(&r);
}

static void test_reader_limits(void)
{
    char big[2048], many[1024];
    size_t o;

    expect_error("POST /mcp HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413);
    expect_error("POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "65\r\n",
                 413);
    memset(big, 0, sizeof(big));
    o = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
    memset(big + o, 'a', 1100);
    memcpy(big + o + 1100, "\r\n\r\n", 5);
    expect_error(big, 431);
    o = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 9; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, "H%d: v\r\n", i);
    snprintf(many + o, sizeof(many) - o, "\r\n");
    expect_error(many, 431);
    expect_error("GARBAGE\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
    expect_error("CONNECT a:1 HTTP/1.1\r\n\r\n", 405);
}

static void test_origin(void)
{
    struct http_auth a;
    char err[128];

    CHECK(http_auth_load(&a, "", "", "", err, sizeof(err)));
    CHECK(http_auth_origin_allowed(&a, NULL));
    CHECK(http_auth_origin_allowed(&a, "http://localhost"));
    CHECK(http_auth_origin_allowed(&a, "http://localhost:3000"));
    CHECK(http_auth_origin_allowed(&a, "http://127.0.0.1:8080"));
    CHECK(http_auth_origin_allowed(&a, "https://[::1]:443"));
    CHECK(!http_auth_origin_allowed(&a, "http://localhost.evil.com"));
    CHECK(!http_auth_origin_allowed(&a, "http://localhost:80abc"));
    CHECK(!http_auth_origin_allowed(&a, "http://127.0.0.1.nip.io"));
    CHECK(!http_auth_origin_allowed(&a, "null"));
    CHECK(!http_auth_origin_allowed(&a, "http://evil.example"));
    http_auth_free(&a);

    CHECK(http_auth_load(&a, "", "", "https://app.example.com/, http://x:1", err, sizeof(err)));
    CHECK(http_auth_origin_allowed(&a, "https://App.Example.com"));
    CHECK(http_auth_origin_allowed(&a, "http://x:1"));
    CHECK(!http_auth_origin_allowed(&a, "http://localhost"));
    http_auth_free(&a);
}

static void test_tokens(void)
{
    struct http_auth a;
    struct http_identity *id;
    char err[160], path[] = "/tmp/omcp-test-tokens-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    fputs("# tokens\n\n  carol:carol-secret-0123456789  \nanonymous-token-0123456789\n", f);
    fclose(f);
    CHECK(http_auth_load(&a, "alice:alice-secret-0123456789, bob:bob:with:colons-0123456789", path,
                         "", err, sizeof(err)));
    CHECK_INT(a.count, 4);
    id = http_auth_identify(&a, "Bearer alice-secret-0123456789");
    CHECK(id && strcmp(id->name, "alice") == 0);
    id = http_auth_identify(&a, "bearer   carol-secret-0123456789");
    CHECK(id && strcmp(id->name, "carol") == 0);
    id = http_auth_identify(&a, "Bearer bob:with:colons-0123456789");
    CHECK(id && strcmp(id->name, "bob") == 0);
    id = http_auth_identify(&a, "Bearer anonymous-token-0123456789");
    CHECK(id && strncmp(id->name, "t-", 2) == 0 && strlen(id->name) == 10);
    CHECK(http_auth_identify(&a, "Bearer alice-secret-012345678") == NULL);
    CHECK(http_auth_identify(&a, "Basic alice-secret-0123456789") == NULL);
    CHECK(http_auth_identify(&a, NULL) == NULL);
    http_auth_free(&a);
    unlink(path);

    CHECK(!http_auth_load(&a, "short", "", "", err, sizeof(err)));
    CHECK(strstr(err, "shorter") != NULL);
    CHECK(!http_auth_load(&a, "a:same-token-0123456789,b:same-token-0123456789", "", "", err,
                          sizeof(err)));
    CHECK(!http_auth_load(&a, "", "/nonexistent/tokens", "", err, sizeof(err)));
    CHECK(http_equal_ct((const unsigned char *)"abcd", (const unsigned char *)"abcd", 4));
    CHECK(!http_equal_ct((const unsigned char *)"abcd", (const unsigned char *)"abce", 4));
    CHECK(http_listen_is_loopback("127.0.0.1:8080"));
    CHECK(http_listen_is_loopback("[::1]:80"));
    CHECK(!http_listen_is_loopback("0.0.0.0:8080"));
    CHECK(!http_listen_is_loopback("10.0.0.1:8080"));
}

static void test_bucket(void)
{
    struct http_bucket b = {0};
    int allowed = 0;

    for (int i = 0; i < 10; i++)
        allowed += http_bucket_take(&b, 2, 5, 100.0);
    CHECK_INT(allowed, 5);
    CHECK(http_bucket_wait(&b, 2) > 0.4 && http_bucket_wait(&b, 2) <= 0.5);
    CHECK(!http_bucket_take(&b, 2, 5, 100.2));
    CHECK(http_bucket_take(&b, 2, 5, 100.6)); /* 0.6 s at 2/s: one back */
    CHECK(!http_bucket_take(&b, 2, 5, 100.6));
    CHECK(http_bucket_take(&b, 0, 1, 100.6)); /* no limit */
}

static int replayed;
static char last_event[256];

static void count_event(const char *text, size_t len, void *arg)
{
    replayed++;
    snprintf(last_event, sizeof(last_event), "%.*s", (int)len, text);
}

static void test_sse(void)
{
    struct buf ev = BUF_INIT;
    struct http_replay r;
    char filler[101];
    unsigned stream;
    uint64_t seq;

    http_sse_format(&ev, 3, 17, "{\"a\":1}", 7);
    CHECK_STR(ev.data, "id: 3-17\ndata: {\"a\":1}\n\n");
    CHECK(http_sse_parse_id("3-17", &stream, &seq) && stream == 3 && seq == 17);
    CHECK(http_sse_parse_id("0-0", &stream, &seq) && stream == 0 && seq == 0);
    CHECK(!http_sse_parse_id("3-", &stream, &seq));
    CHECK(!http_sse_parse_id("-3-1", &stream, &seq));
    CHECK(!http_sse_parse_id("3-1x", &stream, &seq));
    CHECK(!http_sse_parse_id("99999999999-1", &stream, &seq));
    CHECK(!http_sse_parse_id(NULL, &stream, &seq));

    http_replay_init(&r, 4, 100);
    for (uint64_t i = 1; i <= 6; i++) {
        buf_reset(&ev);
        http_sse_format(&ev, i % 2, i, "{}", 2);
        http_replay_add(&r, i % 2, i, ev.data, ev.len);
    }
    CHECK_INT(r.count, 4); /* events 3..6 kept */
    replayed = 0;
    CHECK_INT(http_replay_since(&r, 1, 0, count_event, NULL), 2); /* 3 and 5 */
    CHECK_STR(last_event, "id: 1-5\ndata: {}\n\n");
    CHECK_INT(http_replay_since(&r, 0, 4, count_event, NULL), 1); /* 6 */
    CHECK_INT(http_replay_since(&r, 0, 6, count_event, NULL), 0);
    memset(filler, 'x', sizeof(filler));
    http_replay_add(&r, 2, 7, filler, 101); /* larger than the whole buffer: not kept */
    CHECK_INT(r.count, 4);
    http_replay_add(&r, 2, 8, filler, 90); /* room by dropping the oldest */
    CHECK(r.bytes <= 100);
    CHECK_INT(http_replay_since(&r, 2, 0, count_event, NULL), 1);
    http_replay_free(&r);
    buf_free(&ev);
}

int main(void)
{
    RUN(test_reader_post);
    RUN(test_reader_pipelined);
    RUN(test_reader_chunked);
    RUN(test_reader_limits);
    RUN(test_origin);
    RUN(test_tokens);
    RUN(test_bucket);
    RUN(test_sse);
    return check_report();
}
