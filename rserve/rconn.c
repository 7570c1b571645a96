/* The Rserve client connection: a state machine driven by one ev_io and one
 * ev_timer embedded in struct rconn. Every length read from the server is
 * checked against the configured limit before memory is taken for it. */
#include "rserve/rconn.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

struct rconn_req {
    struct rconn_req *next;
    struct buf frame; /* header and parameters, ready to write */
    uint32_t cmd;
    rconn_reply_cb cb;
    void *ctx;
};

static unsigned rconn_next_id;

static const char *const state_names[] = {
    [RCONN_NEW] = "new",           [RCONN_CONNECTING] = "connecting",
    [RCONN_GREETING] = "greeting", [RCONN_LOGIN] = "login",
    [RCONN_IDLE] = "idle",         [RCONN_BUSY] = "busy",
    [RCONN_OOB_WAIT] = "oob_wait", [RCONN_HANDED_OFF] = "handed_off",
    [RCONN_CLOSED] = "closed",
};

const char *rconn_state_name(enum rconn_state st)
{
    return (unsigned)st <= RCONN_CLOSED ? state_names[st] : "?";
}

static void rconn_set_state(struct rconn *c, enum rconn_state st, const char *why)
{
    log_debug("rconn=%u msg=\"state\" from=%s to=%s reason=%s", c->id, rconn_state_name(c->state),
              rconn_state_name(st), log_quote(why));
    c->state = st;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void start_next(struct rconn *c);

void rconn_init(struct rconn *c, struct ev_loop *loop, const struct rconn_config *cfg,
                const struct rconn_callbacks *cb, void *owner)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->fd = -1;
    c->id = ++rconn_next_id;
    c->state = RCONN_NEW;
    if (cfg)
        c->cfg = *cfg;
    if (!c->cfg.max_frame)
        c->cfg.max_frame = RCONN_DEFAULT_MAX_FRAME;
    c->cb = cb;
    c->owner = owner;
    ev_init(&c->io, io_cb);
    ev_init(&c->timer, timer_cb);
    c->io.data = c;
    c->timer.data = c;
}

/* Watches for reads always, and for writes while bytes wait to go out. */
/* False once the socket is closed or belongs to another reader. */
static bool rconn_reading(const struct rconn *c)
{
    return c->state != RCONN_CLOSED && c->state != RCONN_HANDED_OFF;
}

static void update_io(struct rconn *c)
{
    int events = c->state == RCONN_CONNECTING ? EV_WRITE : EV_READ;

    if (!rconn_reading(c))
        return;
    if (c->out_off < c->out.len)
        events |= EV_WRITE;
    if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(c->loop, &c->io);
    ev_io_set(&c->io, c->fd, events);
    ev_io_start(c->loop, &c->io);
}

static void arm_timer(struct rconn *c, double seconds)
{
    ev_timer_stop(c->loop, &c->timer);
    if (seconds > 0) {
        ev_timer_set(&c->timer, seconds, 0);
        ev_timer_start(c->loop, &c->timer);
    }
}

static void req_free(struct rconn_req *r)
{
    buf_free(&r->frame);
    free(r);
}

static struct rconn_req *queue_pop(struct rconn *c)
{
    struct rconn_req *r = c->queue_head;

    if (r) {
        c->queue_head = r->next;
        if (!c->queue_head)
            c->queue_tail = NULL;
    }
    return r;
}

static void fail_queue(struct rconn *c, const char *reason)
{
    struct rconn_req *r;
    struct rconn_reply reply = {RCONN_REPLY_FAILED, 0, NULL, 0, reason};

    while ((r = queue_pop(c)) != NULL) {
        r->cb(c, r->ctx, &reply);
        req_free(r);
    }
}

void rconn_close(struct rconn *c, const char *reason)
{
    if (c->state == RCONN_CLOSED)
        return;
    log_debug("rconn=%u msg=\"close\" state=%s reason=%s", c->id, rconn_state_name(c->state),
              log_quote(reason));
    rconn_set_state(c, RCONN_CLOSED, reason);
    ev_io_stop(c->loop, &c->io);
    ev_timer_stop(c->loop, &c->timer);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->payload);
    c->payload = NULL;
    buf_free(&c->out);
    c->out_off = 0;
    fail_queue(c, reason);
    if (c->cb && c->cb->closed)
        c->cb->closed(c, reason);
}

/* ---- writing ---- */

/* Writes what it can now; the watcher takes the rest. */
static bool flush_out(struct rconn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            rconn_close(c, strerror(errno));
            return false;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        buf_reset(&c->out);
        c->out_off = 0;
    }
    update_io(c);
    return true;
}

static void append_frame(struct buf *frame, uint32_t cmd, const void *payload, size_t len)
{
    uint8_t hdr[QAP_HDR_SIZE];

    qap_hdr_write(hdr, cmd, len, 0);
    buf_append(frame, hdr, sizeof(hdr));
    buf_append(frame, payload, len);
}

/* Sends the head of the queue when nothing is in flight. */
static void start_next(struct rconn *c)
{
    struct rconn_req *r = c->queue_head;

    if (c->state != RCONN_IDLE || !r)
        return;
    rconn_set_state(c, RCONN_BUSY, qap_cmd_name(r->cmd));
    buf_append(&c->out, r->frame.data, r->frame.len);
    buf_free(&r->frame);
    arm_timer(c, c->cfg.request_timeout);
    flush_out(c);
}

void rconn_request(struct rconn *c, uint32_t cmd, const void *payload, size_t len,
                   rconn_reply_cb cb, void *ctx)
{
    struct rconn_req *r;
    struct rconn_reply reply = {RCONN_REPLY_FAILED, 0, NULL, 0, "connection closed"};

    if (!rconn_reading(c)) {
        if (c->state == RCONN_HANDED_OFF)
            reply.reason = "connection handed off";
        cb(c, ctx, &reply);
        return;
    }
    r = xcalloc(1, sizeof(*r));
    r->cmd = cmd;
    r->cb = cb;
    r->ctx = ctx;
    append_frame(&r->frame, cmd, payload, len);
    if (c->queue_tail)
        c->queue_tail->next = r;
    else
        c->queue_head = r;
    c->queue_tail = r;
    start_next(c);
}

void rconn_eval(struct rconn *c, const char *source, rconn_reply_cb cb, void *ctx)
{
    struct buf params = BUF_INIT;

    qap_put_string_param(&params, source);
    rconn_request(c, QAP_CMD_EVAL, params.data, params.len, cb, ctx);
    buf_free(&params);
}

void rconn_void_eval(struct rconn *c, const char *source, rconn_reply_cb cb, void *ctx)
{
    struct buf params = BUF_INIT;

    qap_put_string_param(&params, source);
    rconn_request(c, QAP_CMD_VOID_EVAL, params.data, params.len, cb, ctx);
    buf_free(&params);
}

void rconn_assign(struct rconn *c, const char *name, const struct sexp *value, rconn_reply_cb cb,
                  void *ctx)
{
    struct buf params = BUF_INIT;

    qap_put_string_param(&params, name);
    sexp_encode_param(&params, value);
    rconn_request(c, QAP_CMD_SET_SEXP, params.data, params.len, cb, ctx);
    buf_free(&params);
}

void rconn_oob_answer(struct rconn *c, const struct sexp *value)
{
    static const struct sexp nil = {.kind = SEXP_NIL, .xt = SEXP_XT_NULL};
    struct buf params = BUF_INIT;

    if (c->state != RCONN_OOB_WAIT)
        return;
    sexp_encode_param(&params, value ? value : &nil);
    append_frame(&c->out, QAP_RESP_OK, params.data, params.len);
    buf_free(&params);
    rconn_set_state(c, RCONN_BUSY, "oob answered");
    flush_out(c);
}

/* ---- login ---- */

static void send_login(struct rconn *c)
{
    struct buf text = BUF_INIT, params = BUF_INIT;
    const char *pw = c->cfg.password ? c->cfg.password : "";

    /* Plain text when offered (the socket is local or TLS); crypt(3) with
     * the announced salt otherwise. */
    if (!c->server.auth_plain && c->server.auth_crypt && c->server.salt[0]) {
        struct crypt_data cd = {0};
        const char *hashed = crypt_r(pw, c->server.salt, &cd);

        pw = hashed ? hashed : "";
        buf_printf(&text, "%s\n%s", c->cfg.user, pw);
    } else {
        buf_printf(&text, "%s\n%s", c->cfg.user, pw);
    }
    qap_put_string_param(&params, text.data);
    append_frame(&c->out, QAP_CMD_LOGIN, params.data, params.len);
    buf_free(&text);
    buf_free(&params);
    rconn_set_state(c, RCONN_LOGIN, "server asks for login");
    flush_out(c);
}

static void become_ready(struct rconn *c)
{
    ev_timer_stop(c->loop, &c->timer);
    rconn_set_state(c, RCONN_IDLE, "ready");
    if (c->cb && c->cb->ready) {
        c->cb->ready(c);
    }
    start_next(c);
}

static void greeting_done(struct rconn *c)
{
    bool needs_login;

    if (qap_id_parse(c->greeting, &c->server) != QAP_OK) {
        rconn_close(c, "not an Rserve QAP1 ID string");
        return;
    }
    needs_login = c->server.auth_plain || c->server.auth_crypt;
    c->hdr_got = 0;
    if (needs_login && !c->cfg.user) {
        rconn_close(c, "server requires login and none is configured");
        return;
    }
    if (needs_login)
        send_login(c);
    else
        become_ready(c);
}

/* ---- reading ---- */

/* Reads up to want bytes; returns bytes read, 0 on EAGAIN, -1 when closed. */
static ssize_t read_some(struct rconn *c, void *dst, size_t want)
{
    ssize_t n;

    do
        n = recv(c->fd, dst, want, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    rconn_close(c, n == 0 ? "server closed the connection" : strerror(errno));
    return -1;
}

/* Frames the server may send now; checked before the payload is read. */
static const char *frame_unexpected(const struct rconn *c, enum qap_frame_kind kind)
{
    switch (kind) {
    case QAP_FRAME_RESPONSE:
        return c->state == RCONN_BUSY || c->state == RCONN_LOGIN ? NULL
                                                                 : "response without a request";
    case QAP_FRAME_OOB_SEND:
    case QAP_FRAME_OOB_MSG:
        return c->state == RCONN_BUSY ? NULL : "OOB frame outside a request";
    default:
        return "request frame from the server";
    }
}

static bool header_done(struct rconn *c)
{
    const char *bad;

    if (qap_hdr_check(c->hdr, c->cfg.max_frame, &c->frame) != QAP_OK) {
        log_warn("rconn=%u msg=\"frame above limit\" len=%llu max=%llu", c->id,
                 (unsigned long long)c->frame.len, (unsigned long long)c->cfg.max_frame);
        rconn_close(c, "frame above the size limit");
        return false;
    }
    bad = frame_unexpected(c, qap_frame_kind(c->frame.cmd));
    if (bad) {
        rconn_close(c, bad);
        return false;
    }
    c->payload = xmalloc(c->frame.len ? c->frame.len : 1);
    c->payload_got = 0;
    return true;
}

static void deliver_response(struct rconn *c)
{
    struct rconn_req *r;
    struct rconn_reply reply = {RCONN_REPLY_OK, 0, c->payload, c->frame.len, NULL};

    if ((c->frame.cmd & 0xffffff) == QAP_RESP_ERR) {
        reply.outcome = RCONN_REPLY_ERROR;
        reply.status = qap_resp_status(c->frame.cmd);
    }
    if (c->state == RCONN_LOGIN) {
        if (reply.outcome == RCONN_REPLY_OK)
            become_ready(c);
        else
            rconn_close(c, "login refused");
        return;
    }
    ev_timer_stop(c->loop, &c->timer);
    r = queue_pop(c);
    rconn_set_state(c, RCONN_IDLE, "response");
    r->cb(c, r->ctx, &reply);
    req_free(r);
    start_next(c);
}

static void deliver_oob(struct rconn *c)
{
    bool msg = qap_frame_kind(c->frame.cmd) == QAP_FRAME_OOB_MSG;

    if (msg)
        rconn_set_state(c, RCONN_OOB_WAIT, "oob message");
    if (c->cb && c->cb->oob) {
        c->cb->oob(c, c->frame.cmd, c->payload, c->frame.len);
    } else if (msg) {
        rconn_oob_answer(c, NULL);
    }
}

static void frame_done(struct rconn *c)
{
    if (qap_frame_kind(c->frame.cmd) == QAP_FRAME_RESPONSE)
        deliver_response(c);
    else
        deliver_oob(c);
    free(c->payload);
    c->payload = NULL;
    c->hdr_got = 0;
}

int rconn_hand_off(struct rconn *c)
{
    int fd;

    if (c->state != RCONN_IDLE) {
        errno = c->state == RCONN_BUSY || c->state == RCONN_OOB_WAIT ? EBUSY : ENOTCONN;
        return -1;
    }
    if (c->queue_head) {
        errno = EBUSY;
        return -1;
    }
    fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ev_io_stop(c->loop, &c->io);
    ev_timer_stop(c->loop, &c->timer);
    rconn_set_state(c, RCONN_HANDED_OFF, "socket handed off");
    return fd;
}

uint8_t *rconn_take_payload(struct rconn *c)
{
    uint8_t *p = c->payload;

    c->payload = NULL;
    return p;
}

/* One step of input; returns false when nothing more can be read now. */
static bool read_step(struct rconn *c)
{
    ssize_t n;

    if (c->state == RCONN_GREETING) {
        n = read_some(c, c->greeting + c->hdr_got, QAP_ID_SIZE - c->hdr_got);
        if (n <= 0)
            return false;
        c->hdr_got += (size_t)n;
        if (c->hdr_got == QAP_ID_SIZE)
            greeting_done(c);
        return rconn_reading(c);
    }
    if (c->hdr_got < QAP_HDR_SIZE) {
        n = read_some(c, c->hdr + c->hdr_got, QAP_HDR_SIZE - c->hdr_got);
        if (n <= 0)
            return false;
        c->hdr_got += (size_t)n;
        if (c->hdr_got < QAP_HDR_SIZE || !header_done(c))
            return rconn_reading(c);
    }
    if (c->payload_got < c->frame.len) {
        n = read_some(c, c->payload + c->payload_got, c->frame.len - c->payload_got);
        if (n <= 0)
            return false;
        c->payload_got += (size_t)n;
    }
    if (c->payload_got == c->frame.len)
        frame_done(c);
    return rconn_reading(c);
}

static void connect_done(struct rconn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        rconn_close(c, strerror(err));
        return;
    }
    rconn_set_state(c, RCONN_GREETING, "connected");
    c->hdr_got = 0;
    update_io(c);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct rconn *c = w->data;

    if (c->state == RCONN_CONNECTING) {
        connect_done(c);
        return;
    }
    if ((revents & EV_WRITE) && !flush_out(c))
        return;
    if (revents & EV_READ)
        while (rconn_reading(c) && read_step(c))
            ;
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct rconn *c = w->data;

    rconn_close(c, c->state == RCONN_BUSY || c->state == RCONN_OOB_WAIT ? "request timeout"
                                                                        : "connect timeout");
}

/* ---- connecting ---- */

static void start_connect(struct rconn *c, int fd, const struct sockaddr *sa, socklen_t len)
{
    c->fd = fd;
    rconn_set_state(c, RCONN_CONNECTING, "connect");
    arm_timer(c, c->cfg.connect_timeout);
    if (connect(fd, sa, len) == 0) {
        rconn_set_state(c, RCONN_GREETING, "connected");
        update_io(c);
        return;
    }
    if (errno != EINPROGRESS) {
        rconn_close(c, strerror(errno));
        return;
    }
    update_io(c);
}

void rconn_connect_unix(struct rconn *c, const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        rconn_close(c, "socket path too long");
        return;
    }
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rconn_close(c, strerror(errno));
        return;
    }
    start_connect(c, fd, (struct sockaddr *)&sun, sizeof(sun));
}

void rconn_connect_tcp(struct rconn *c, const char *host, unsigned port)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd, one = 1;
    bool v4 = inet_pton(AF_INET, host, &sin.sin_addr) == 1;

    if (!v4 && inet_pton(AF_INET6, host, &sin6.sin6_addr) != 1) {
        rconn_close(c, "not a numeric address");
        return;
    }
    fd = socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rconn_close(c, strerror(errno));
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (v4)
        start_connect(c, fd, (struct sockaddr *)&sin, sizeof(sin));
    else
        start_connect(c, fd, (struct sockaddr *)&sin6, sizeof(sin6));
}

void rconn_connect_fd(struct rconn *c, int fd)
{
    int flags = fcntl(fd, F_GETFL), err;

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        err = errno; /* close() may change it */
        close(fd);
        rconn_close(c, strerror(err));
        return;
    }
    c->fd = fd;
    arm_timer(c, c->cfg.connect_timeout);
    rconn_set_state(c, RCONN_GREETING, "adopted a connected socket");
    c->hdr_got = 0;
    update_io(c);
}
