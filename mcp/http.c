/* The HTTP listener: accepting (bounded, paused on EMFILE), reading requests
 * with deadlines against slow clients, writing responses and chunked
 * streams, routing to /mcp, /metrics, /healthz and /readyz, and draining. */
#include "mcp/http_impl.h"

#include "mcp/jsonrpc.h"
#include "pool/pool.h"
#include "proxy/log.h"
#include "proxy/mem.h"
#include "proxy/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_READ_CHUNK      65536
#define HTTP_MAX_HEAD_BYTES  16384
#define HTTP_MAX_HEADERS     64
#define HTTP_MAX_PENDING_IN  65536     /* read ahead while a request is answered */
#define HTTP_OUT_HIGH_WATER  (4 << 20) /* stop reading while this much waits to be written */
#define HTTP_SWEEP_SECS      0.25
#define HTTP_KEEPALIVE_SECS  15.0 /* an SSE stream gets a comment after this long silent */
#define HTTP_ACCEPT_RETRY    0.1  /* after EMFILE */
#define HTTP_ACCEPT_PER_PASS 64

static char scratch[HTTP_READ_CHUNK]; /* one read buffer for every connection */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static struct http_conn *conn_of_reader(ev_io *w)
{
    return (struct http_conn *)((char *)w - offsetof(struct http_conn, reader_io));
}

static struct http_conn *conn_of_writer(ev_io *w)
{
    return (struct http_conn *)((char *)w - offsetof(struct http_conn, writer_io));
}

static const char *state_name(enum http_conn_state st)
{
    static const char *const names[] = {"idle", "reading", "busy", "closing", "closed"};

    return names[st];
}

static void http_conn_set_state(struct http_conn *c, enum http_conn_state st, const char *why)
{
    log_debug("http_conn=%llu msg=\"state\" from=%s to=%s why=%s", c->id, state_name(c->state),
              state_name(st), log_quote(why));
    c->state = st;
}

/* Reading stops while a response backs up or the read-ahead is full. */
static void update_reader(struct http_conn *c)
{
    bool want = c->state != HTTP_CONN_CLOSED && c->state != HTTP_CONN_CLOSING &&
                c->out.len - c->out_sent < HTTP_OUT_HIGH_WATER && c->in.len < HTTP_MAX_PENDING_IN;

    if (want && !ev_is_active(&c->reader_io))
        ev_io_start(c->srv->loop, &c->reader_io);
    else if (!want && ev_is_active(&c->reader_io))
        ev_io_stop(c->srv->loop, &c->reader_io);
}

static void flush(struct http_conn *c)
{
    while (c->out_sent < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + c->out_sent, c->out.len - c->out_sent);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            http_conn_close(c, n < 0 ? strerror(errno) : "write returned 0");
            return;
        }
        c->out_sent += (size_t)n;
        c->srv->stats.bytes_out += (uint64_t)n;
    }
    if (c->out_sent < c->out.len) {
        if (!ev_is_active(&c->writer_io))
            ev_io_start(c->srv->loop, &c->writer_io);
        update_reader(c);
        return;
    }
    ev_io_stop(c->srv->loop, &c->writer_io);
    if (c->out.cap > HTTP_READ_CHUNK)
        buf_free(&c->out);
    else
        buf_reset(&c->out);
    c->out_sent = 0;
    if (c->state == HTTP_CONN_CLOSING)
        http_conn_close(c, "response written; connection not kept");
    else
        update_reader(c);
}

static void queue(struct http_conn *c, const char *bytes, size_t len)
{
    if (c->state == HTTP_CONN_CLOSED)
        return;
    buf_append(&c->out, bytes, len);
    c->last_sent = ev_now(c->srv->loop);
    flush(c);
}

/* The response is complete: next request, or close. */
static void response_done(struct http_conn *c)
{
    struct mcp_http *srv = c->srv;

    c->streaming = false;
    http_reader_reset(&c->reader);
    c->reading_body = false;
    if (c->close_after || srv->draining) {
        http_conn_set_state(c, HTTP_CONN_CLOSING, "response done");
        if (c->out_sent == c->out.len)
            http_conn_close(c, "response written; connection not kept");
        return;
    }
    http_conn_set_state(c, HTTP_CONN_IDLE, "response done");
    c->deadline = ev_now(srv->loop) + srv->cfg.idle_timeout;
    update_reader(c);
    if (c->in.len)
        ev_feed_event(srv->loop, &c->reader_io, EV_CUSTOM); /* pipelined request, next pass */
}

static void write_head(struct http_conn *c, struct buf *head, int status, const char *content_type,
                       const char *extra)
{
    c->srv->stats.status[status / 100 % 6]++;
    c->srv->stats.by_code[status % 600]++;
    buf_printf(head, "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
    if (content_type)
        buf_printf(head, "Content-Type: %s\r\n", content_type);
    if (extra)
        buf_puts(head, extra);
    if (c->close_after || c->srv->draining)
        buf_puts(head, "Connection: close\r\n");
}

void http_respond(struct http_conn *c, int status, const char *content_type, const char *extra,
                  const char *body, size_t len)
{
    struct buf head = BUF_INIT;

    if (c->state == HTTP_CONN_CLOSED)
        return;
    write_head(c, &head, status, content_type, extra);
    buf_printf(&head, "Content-Length: %zu\r\n\r\n", len);
    buf_append(&head, body, len);
    queue(c, head.data, head.len);
    buf_free(&head);
    if (c->state != HTTP_CONN_CLOSED)
        response_done(c);
}

void http_respond_jsonrpc_error(struct http_conn *c, int status, int code, const char *message,
                                const char *extra)
{
    json_t *body = json_pack("{s:s,s:n,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", "error", "code", code,
                             "message", message);
    char *text = json_dumps(body, JSON_COMPACT);

    if (!text)
        panic("out of memory building an HTTP error");
    http_respond(c, status, "application/json", extra, text, strlen(text));
    free(text);
    json_decref(body);
}

void http_stream_open(struct http_conn *c, const char *content_type, const char *extra)
{
    struct buf head = BUF_INIT;

    write_head(c, &head, 200, content_type, extra);
    buf_puts(&head, "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");
    c->streaming = true;
    c->srv->nstreams++;
    queue(c, head.data, head.len);
    buf_free(&head);
}

void http_stream_send(struct http_conn *c, const char *bytes, size_t len)
{
    char size[24];

    if (!c->streaming || c->state == HTTP_CONN_CLOSED || len == 0)
        return;
    snprintf(size, sizeof(size), "%zx\r\n", len);
    buf_puts(&c->out, size);
    buf_append(&c->out, bytes, len);
    queue(c, "\r\n", 2);
}

void http_stream_close(struct http_conn *c)
{
    if (!c->streaming || c->state == HTTP_CONN_CLOSED)
        return;
    c->srv->nstreams--;
    c->exchange = NULL;
    queue(c, "0\r\n\r\n", 5);
    if (c->state != HTTP_CONN_CLOSED)
        response_done(c);
}

void http_conn_close(struct http_conn *c, const char *reason)
{
    struct mcp_http *srv = c->srv;

    if (c->state == HTTP_CONN_CLOSED)
        return;
    log_debug("http_conn=%llu msg=\"connection closed\" state=%s reason=%s", c->id,
              state_name(c->state), log_quote(reason));
    if (c->streaming)
        srv->nstreams--;
    c->streaming = false;
    http_conn_set_state(c, HTTP_CONN_CLOSED, reason);
    ev_io_stop(srv->loop, &c->reader_io);
    ev_io_stop(srv->loop, &c->writer_io);
    close(c->fd);
    c->fd = -1;
    if (c->exchange)
        http_mcp_conn_gone(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = srv->dead;
    srv->dead = c;
    srv->nconns--;
    if (!ev_is_active(&srv->reaper))
        ev_check_start(srv->loop, &srv->reaper);
}

/* ---- routing ---- */

static bool is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static void text(struct http_conn *c, int status, const char *body)
{
    http_respond(c, status, "text/plain; charset=utf-8", NULL, body, strlen(body));
}

static void serve_metrics(struct http_conn *c)
{
    struct buf out = BUF_INIT;

    if (c->srv->auth.count &&
        !http_auth_identify(&c->srv->auth, http_reader_header(&c->reader, "Authorization"))) {
        c->srv->stats.auth_failed++;
        http_respond(c, 401, "text/plain; charset=utf-8", "WWW-Authenticate: Bearer\r\n",
                     "a bearer token is required\n", 27);
        return;
    }
    metrics_render(&out);
    http_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, out.data ? out.data : "",
                 out.len);
    buf_free(&out);
}

static void route(struct http_conn *c, const char *path, const char *method)
{
    struct mcp_http *srv = c->srv;

    if (strcmp(path, "/mcp") == 0) {
        http_mcp_handle(c);
    } else if (strcmp(path, "/healthz") == 0 && is_get(method)) {
        text(c, 200, "ok\n");
    } else if (strcmp(path, "/readyz") == 0 && is_get(method)) {
        bool ready = !srv->draining && srv->cfg.pool && pool_ready(srv->cfg.pool);

        text(c, ready ? 200 : 503, ready ? "ready\n" : "not ready\n");
    } else if (strcmp(path, "/metrics") == 0 && is_get(method)) {
        serve_metrics(c);
    } else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
               strcmp(path, "/metrics") == 0) {
        http_respond(c, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
                     "method not allowed\n", 19);
    } else {
        text(c, 404, "not found\n");
    }
}

static void handle_request(struct http_conn *c)
{
    const char *origin = http_reader_header(&c->reader, "Origin");

    http_conn_set_state(c, HTTP_CONN_BUSY, "request read");
    c->deadline = 0;
    c->close_after = !c->reader.keep_alive;
    log_debug("http_conn=%llu msg=\"request\" method=%s path=%s", c->id,
              http_reader_method(&c->reader), log_quote(http_reader_path(&c->reader)));
    if (c->srv->draining) {
        c->close_after = true;
        http_respond_jsonrpc_error(c, 503, -32000, "Service Unavailable: the server is stopping",
                                   "Retry-After: 5\r\n");
        return;
    }
    if (!http_auth_origin_allowed(&c->srv->auth, origin)) {
        c->srv->stats.origin_refused++;
        log_info("http_conn=%llu msg=\"origin refused\" origin=%s", c->id, log_quote(origin));
        http_respond_jsonrpc_error(c, 403, -32000, "Forbidden: Origin not allowed", NULL);
        return;
    }
    route(c, http_reader_path(&c->reader), http_reader_method(&c->reader));
}

/* ---- reading ---- */

static void refuse_unreadable(struct http_conn *c)
{
    char message[160];

    log_info("http_conn=%llu msg=\"request refused\" status=%d why=%s", c->id,
             c->reader.error_status, log_quote(c->reader.error));
    snprintf(message, sizeof(message), "%s: %s", reason_phrase(c->reader.error_status),
             c->reader.error);
    http_conn_set_state(c, HTTP_CONN_BUSY, "unreadable request");
    c->close_after = true; /* what follows on the connection cannot be framed */
    http_respond_jsonrpc_error(c, c->reader.error_status, JSONRPC_INVALID_REQUEST, message, NULL);
}

/* Feeds bytes to the request reader while the connection reads requests;
 * what is left when a request is complete waits in c->in. */
static void consume(struct http_conn *c, const char *data, size_t len)
{
    struct mcp_http *srv = c->srv;

    while (len > 0 && (c->state == HTTP_CONN_IDLE || c->state == HTTP_CONN_READING)) {
        size_t used;

        if (c->state == HTTP_CONN_IDLE) {
            http_conn_set_state(c, HTTP_CONN_READING, "first byte");
            c->deadline = ev_now(srv->loop) + srv->cfg.header_timeout;
        }
        used = http_reader_feed(&c->reader, data, len);
        data += used;
        len -= used;
        if (c->reader.state == HTTP_READER_ERROR) {
            refuse_unreadable(c);
            return;
        }
        if (c->reader.state == HTTP_READER_BODY && !c->reading_body) {
            c->reading_body = true;
            c->deadline = ev_now(srv->loop) + srv->cfg.body_timeout;
            if (c->reader.expect_continue)
                queue(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
        if (c->reader.state == HTTP_READER_DONE) {
            buf_append(&c->in, data, len);
            handle_request(c);
            return;
        }
    }
    if (len > 0)
        buf_append(&c->in, data, len);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct http_conn *c = conn_of_reader(w);
    ssize_t n;

    if (revents & EV_CUSTOM) {
        struct buf pending = c->in;

        c->in = (struct buf)BUF_INIT;
        consume(c, pending.data, pending.len);
        buf_free(&pending);
        update_reader(c);
        return;
    }
    n = read(c->fd, scratch, sizeof(scratch));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        http_conn_close(c, n == 0 ? "client closed the connection" : strerror(errno));
        return;
    }
    c->srv->stats.bytes_in += (uint64_t)n;
    if (c->state == HTTP_CONN_IDLE || c->state == HTTP_CONN_READING)
        consume(c, scratch, (size_t)n);
    else
        buf_append(&c->in, scratch, (size_t)n);
    if (c->state != HTTP_CONN_CLOSED)
        update_reader(c);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    flush(conn_of_writer(w));
}

/* ---- accepting ---- */

/* At the connection limit: the connection that has waited longest without a
 * request in progress makes room, else the newcomer is refused. */
static bool make_room(struct mcp_http *srv)
{
    struct http_conn *oldest = NULL;

    for (struct http_conn *c = srv->conns; c; c = c->next)
        if ((c->state == HTTP_CONN_IDLE || c->state == HTTP_CONN_READING) &&
            (!oldest || c->id < oldest->id))
            oldest = c;
    if (!oldest)
        return false;
    srv->stats.evicted++;
    http_conn_close(oldest, "connection limit reached; the oldest waiting connection gives way");
    return true;
}

static void add_conn(struct mcp_http *srv, int fd)
{
    struct http_conn *c = xcalloc(1, sizeof(*c));
    struct http_reader_limits limits = {HTTP_MAX_HEAD_BYTES, HTTP_MAX_HEADERS,
                                        srv->cfg.limits->max_message_bytes};
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->srv = srv;
    c->id = ++srv->next_conn_id;
    c->fd = fd;
    http_reader_init(&c->reader, &limits);
    ev_io_init(&c->reader_io, on_readable, fd, EV_READ);
    ev_io_init(&c->writer_io, on_writable, fd, EV_WRITE);
    c->state = HTTP_CONN_IDLE;
    c->deadline = ev_now(srv->loop) + srv->cfg.idle_timeout;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    srv->stats.accepted++;
    ev_io_start(srv->loop, &c->reader_io);
}

static void refuse_conn(struct mcp_http *srv, int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\nRetry-After: 1\r\n\r\n";

    srv->stats.refused++;
    if (write(fd, busy, sizeof(busy) - 1) < 0)
        log_debug("msg=\"refusal not written\" errno=%d", errno);
    close(fd);
}

/* Out of descriptors: stop accepting for a moment rather than spin on a
 * listener that stays readable. Logged once, and again only after every
 * waiting connection was accepted. */
static void pause_accepting(struct mcp_http *srv, int err)
{
    srv->stats.accept_paused++;
    if (!srv->accept_starved)
        log_warn("front_end=http msg=\"cannot accept; accepting paused\" errno=%d error=%s "
                 "connections=%u retry_secs=%.1f",
                 err, log_quote(strerror(err)), srv->nconns, HTTP_ACCEPT_RETRY);
    srv->accept_starved = true;
    ev_io_stop(srv->loop, &srv->acceptor);
    ev_timer_set(&srv->accept_retry, HTTP_ACCEPT_RETRY, 0);
    ev_timer_start(srv->loop, &srv->accept_retry);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct mcp_http *srv = w->data;

    for (int i = 0; i < HTTP_ACCEPT_PER_PASS; i++) {
        int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
            pause_accepting(srv, errno);
            return;
        }
        if (fd < 0) { /* EAGAIN: nothing more waits */
            if (srv->accept_starved)
                log_info("front_end=http msg=\"accepting again; no connection waits\" "
                         "connections=%u pauses=%llu",
                         srv->nconns, (unsigned long long)srv->stats.accept_paused);
            srv->accept_starved = false;
            return;
        }
        if (srv->nconns >= srv->cfg.max_connections && !make_room(srv))
            refuse_conn(srv, fd);
        else
            add_conn(srv, fd);
    }
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct mcp_http *srv = w->data;

    if (!srv->draining && srv->fd >= 0)
        ev_io_start(loop, &srv->acceptor);
}

/* ---- deadlines and the reaper ---- */

static void expire(struct http_conn *c)
{
    struct mcp_http *srv = c->srv;

    if (c->state == HTTP_CONN_IDLE) {
        srv->stats.idle_timeouts++;
        http_conn_close(c, "idle keep-alive timeout");
    } else if (c->reading_body) {
        srv->stats.body_timeouts++;
        log_info("http_conn=%llu msg=\"request body too slow\"", c->id);
        http_conn_set_state(c, HTTP_CONN_BUSY, "body timeout");
        c->close_after = true;
        http_respond_jsonrpc_error(c, 408, -32000, "Request Timeout: body too slow", NULL);
    } else {
        srv->stats.header_timeouts++;
        log_info("http_conn=%llu msg=\"request head too slow; closed\"", c->id);
        http_conn_close(c, "header timeout");
    }
}

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct mcp_http *srv = w->data;
    double now = ev_now(loop);
    struct http_conn *c, *next;

    for (c = srv->conns; c; c = next) {
        next = c->next;
        if (c->deadline > 0 && now >= c->deadline &&
            (c->state == HTTP_CONN_IDLE || c->state == HTTP_CONN_READING))
            expire(c);
        else if (c->streaming && now - c->last_sent >= HTTP_KEEPALIVE_SECS)
            http_stream_send(c, ": keep-alive\n\n", 14);
    }
    http_mcp_sweep(srv, now);
}

static void drained(struct mcp_http *srv, const char *how)
{
    mcp_http_drained_fn done = srv->drained;

    if (!done)
        return;
    srv->drained = NULL;
    ev_timer_stop(srv->loop, &srv->drain_timer);
    log_info("front_end=http msg=\"drained\" how=%s connections=%u in_flight=%zu", log_quote(how),
             srv->nconns, http_mcp_in_flight(srv));
    while (srv->conns)
        http_conn_close(srv->conns, "daemon stopping");
    done(srv, srv->drained_arg);
}

static bool busy_conns(const struct mcp_http *srv)
{
    for (const struct http_conn *c = srv->conns; c; c = c->next)
        if (c->state != HTTP_CONN_IDLE)
            return true;
    return false;
}

static void on_reap(struct ev_loop *loop, ev_check *w, int revents)
{
    struct mcp_http *srv = w->data;

    while (srv->dead) {
        struct http_conn *c = srv->dead;

        srv->dead = c->next;
        http_reader_free(&c->reader);
        buf_free(&c->in);
        buf_free(&c->out);
        free(c);
    }
    if (srv->drained && http_mcp_in_flight(srv) == 0 && !busy_conns(srv))
        drained(srv, "calls finished");
    if (!srv->drained)
        ev_check_stop(loop, w);
}

static void on_drain_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    drained(w->data, "deadline");
}

/* ---- start and stop ---- */

/* Binds HOST:PORT ([v6]:port allowed); -1 with *err. */
static int listen_on(const char *addr, const char **err)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int fd = -1, one = 1;

    if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
        *err = "HTTP_LISTEN is not HOST:PORT";
        return -1;
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res) {
        *err = "HTTP_LISTEN: cannot resolve the host";
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
        *err = errno == EADDRINUSE ? "HTTP_LISTEN: address already in use"
                                   : "HTTP_LISTEN: cannot listen there";
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

void mcp_http_config_from(struct mcp_http_config *cfg, const struct config *s)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen = s->http_listen;
    cfg->allowed_origins = s->http_allowed_origins;
    cfg->tokens = s->http_tokens;
    cfg->tokens_file = s->http_tokens_file;
    cfg->max_connections = (unsigned)s->http_max_connections;
    cfg->header_timeout = s->http_header_timeout;
    cfg->body_timeout = s->http_body_timeout;
    cfg->idle_timeout = s->http_idle_timeout;
    cfg->session_timeout = s->http_session_timeout;
    cfg->max_sessions_per_identity = (unsigned)s->http_max_sessions_per_identity;
    cfg->rate_limit = s->http_rate_limit;
    cfg->rate_burst = (double)s->http_rate_burst;
}

static bool load_auth(struct mcp_http *srv, const char **err)
{
    static char why[256];

    if (!http_auth_load(&srv->auth, srv->cfg.tokens, srv->cfg.tokens_file, srv->cfg.allowed_origins,
                        why, sizeof(why))) {
        *err = why;
        return false;
    }
    if (!srv->auth.count && !http_listen_is_loopback(srv->listen)) {
        *err = "HTTP_LISTEN is not a loopback address and no bearer token is configured "
               "(HTTP_TOKENS or HTTP_TOKENS_FILE)";
        http_auth_free(&srv->auth);
        return false;
    }
    return true;
}

static void init_watchers(struct mcp_http *srv)
{
    ev_io_init(&srv->acceptor, on_accept, srv->fd, EV_READ);
    ev_timer_init(&srv->accept_retry, on_accept_retry, HTTP_ACCEPT_RETRY, 0);
    ev_timer_init(&srv->sweep, on_sweep, HTTP_SWEEP_SECS, HTTP_SWEEP_SECS);
    ev_check_init(&srv->reaper, on_reap);
    ev_timer_init(&srv->drain_timer, on_drain_timeout, 0, 0);
    srv->acceptor.data = srv->accept_retry.data = srv->sweep.data = srv;
    srv->reaper.data = srv->drain_timer.data = srv;
    ev_io_start(srv->loop, &srv->acceptor);
    ev_timer_start(srv->loop, &srv->sweep);
}

struct mcp_http *mcp_http_start(struct ev_loop *loop, const struct mcp_http_config *cfg,
                                const char **err)
{
    struct mcp_http *srv = xcalloc(1, sizeof(*srv));

    srv->loop = loop;
    srv->cfg = *cfg;
    srv->listen = xstrdup(cfg->listen);
    srv->cfg.listen = srv->listen;
    if (!load_auth(srv, err))
        goto fail;
    srv->fd = listen_on(srv->listen, err);
    if (srv->fd < 0)
        goto fail_auth;
    init_watchers(srv);
    http_metrics_register(srv);
    log_info("front_end=http msg=\"listening\" listen=%s identities=%u max_connections=%u "
             "max_message_bytes=%zu",
             log_quote(srv->listen), srv->auth.count, srv->cfg.max_connections,
             srv->cfg.limits->max_message_bytes);
    for (unsigned i = 0; i < srv->auth.count; i++)
        log_info("front_end=http msg=\"bearer token\" identity=%s", srv->auth.ids[i].name);
    return srv;

fail_auth:
    http_auth_free(&srv->auth);
fail:
    free(srv->listen);
    free(srv);
    return NULL;
}

static void stop_listening(struct mcp_http *srv)
{
    ev_io_stop(srv->loop, &srv->acceptor);
    ev_timer_stop(srv->loop, &srv->accept_retry);
    if (srv->fd >= 0)
        close(srv->fd);
    srv->fd = -1;
}

void mcp_http_drain(struct mcp_http *srv, double timeout, mcp_http_drained_fn done, void *arg)
{
    struct http_conn *c, *next;

    srv->draining = true;
    srv->drained = done;
    srv->drained_arg = arg;
    stop_listening(srv);
    log_info("front_end=http msg=\"draining\" connections=%u in_flight=%zu timeout=%g", srv->nconns,
             http_mcp_in_flight(srv), timeout);
    http_mcp_end_streams(srv);
    for (c = srv->conns; c; c = next) {
        next = c->next;
        c->close_after = true;
        if (c->state == HTTP_CONN_IDLE)
            http_conn_close(c, "daemon stopping");
    }
    ev_timer_set(&srv->drain_timer, timeout, 0);
    ev_timer_start(srv->loop, &srv->drain_timer);
    ev_check_start(srv->loop, &srv->reaper);
}

void mcp_http_free(struct mcp_http *srv)
{
    if (!srv)
        return;
    stop_listening(srv);
    while (srv->conns)
        http_conn_close(srv->conns, "daemon stopping");
    http_mcp_end_all(srv, "daemon stopping");
    on_reap(srv->loop, &srv->reaper, 0);
    ev_check_stop(srv->loop, &srv->reaper);
    ev_timer_stop(srv->loop, &srv->sweep);
    ev_timer_stop(srv->loop, &srv->drain_timer);
    http_metrics_unregister(srv);
    http_auth_free(&srv->auth);
    free(srv->listen);
    free(srv);
}
