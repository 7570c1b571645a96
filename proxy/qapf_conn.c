/* One QAP1 client of the front end: greeting, login, the lease of a slot,
 * then frames forwarded both ways with refusals, OOB and limits, and one
 * audit line when it ends.
 *
 * The slot's own warm connection carries the client's frames: the pool
 * hands over its socket (pool_slot_take_socket). That session ran the
 * warm-up, so cdm_con is open, the working directory is the workspace and
 * the first evaluation is as fast as the second, and its R process is the
 * one pool_interrupt() signals. The cost: the pool cannot probe or watch
 * that connection while the client holds it (the front end reports its end
 * by releasing the lease), and the session is never handed to anyone else:
 * release closes it. A fresh connection to pool_slot_socket() instead would
 * pay a fork, 46-79 ms for the first CDM query and the first-evaluation
 * cost, and its R process would be unknown to the pool's interrupt. */
#include "proxy/qapf_impl.h"

#include "proxy/log.h"
#include "proxy/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUMP_ROUNDS 16 /* read-scan-send rounds per event, so one client cannot starve others */

static const char *const state_names[] = {
    [QAPF_LOGIN_WAIT] = "login_wait",   [QAPF_LEASING] = "leasing",
    [QAPF_SYNCING] = "syncing",         [QAPF_FORWARDING] = "forwarding",
    [QAPF_UNAVAILABLE] = "unavailable", [QAPF_DRAINING] = "draining",
    [QAPF_CLOSED] = "closed",
};

const char *qapf_state_name(enum qapf_state st)
{
    return (unsigned)st <= QAPF_CLOSED ? state_names[st] : "?";
}

static void conn_set_state(struct qapf_conn *c, enum qapf_state st, const char *why)
{
    log_debug("front_end=qap1 conn=%u msg=\"state\" old=%s new=%s reason=%s", c->id,
              qapf_state_name(c->state), qapf_state_name(st), log_quote(why));
    c->state = st;
}

static void conn_run(struct qapf_conn *c);

/* ---- watchers ---- */

static void on_pump_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct qapf_pump *p = w->data;

    p->readable = true;
    conn_run(p->conn);
}

static void on_pump_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct qapf_pump *p = w->data;

    p->blocked = false;
    conn_run(p->conn);
}

static void pump_init(struct qapf_pump *p, struct qapf_conn *c, int from, int to)
{
    p->conn = c;
    p->from = from;
    p->to = to;
    ev_init(&p->rd, on_pump_readable);
    ev_init(&p->wr, on_pump_writable);
    p->rd.data = p->wr.data = p;
}

static void watch(struct ev_loop *loop, ev_io *w, int fd, int events, bool want)
{
    if (want && fd >= 0 && !ev_is_active(w)) {
        ev_io_set(w, fd, events);
        ev_io_start(loop, w);
    } else if ((!want || fd < 0) && ev_is_active(w)) {
        ev_io_stop(loop, w);
    }
}

static bool pump_wants_read(const struct qapf_pump *p)
{
    if (p->splicing)
        return p->st.left > 0 && !p->pipe_full;
    return p->st.buf == NULL || p->st.in_end < p->st.cap;
}

/* While its slot is coming, the client is only watched for its first
 * bytes (or its leaving); they stay in the socket until the slot is ready. */
static bool conn_holds_client(const struct qapf_conn *c)
{
    return c->state == QAPF_LEASING || c->state == QAPF_SYNCING;
}

static bool conn_reads(const struct qapf_conn *c, const struct qapf_pump *p)
{
    if (p == &c->down)
        return c->state == QAPF_FORWARDING;
    if (conn_holds_client(c))
        return !c->client_waiting;
    return c->state != QAPF_CLOSED;
}

static void pump_watch(struct qapf_pump *p)
{
    struct qapf_conn *c = p->conn;
    struct ev_loop *loop = c->front->loop;

    watch(loop, &p->rd, p->from, EV_READ, conn_reads(c, p) && pump_wants_read(p));
    watch(loop, &p->wr, p->to, EV_WRITE, p->blocked);
}

static void pump_stop(struct qapf_pump *p, struct ev_loop *loop)
{
    ev_io_stop(loop, &p->rd);
    ev_io_stop(loop, &p->wr);
}

static void pump_buffer(struct qapf_pump *p)
{
    if (!p->st.buf) {
        p->st.buf = xmalloc(QAPF_BUF_SIZE);
        p->st.cap = QAPF_BUF_SIZE;
    }
}

/* ---- closing ---- */

static void conn_audit(const struct qapf_conn *c, const char *reason)
{
    char slot[16] = "-";

    if (c->slot_id)
        snprintf(slot, sizeof(slot), "%u", c->slot_id);
    log_info("front_end=qap1 conn=%u msg=\"connection closed\" peer=%s listener=%s user=%s "
             "slot=%s seconds=%.3f frames_in=%llu frames_out=%llu bytes_in=%llu bytes_out=%llu "
             "refused=%u reason=%s",
             c->id, log_quote(c->peer), log_quote(c->listener->name),
             log_quote(*c->user ? c->user : "-"), slot, ev_now(c->front->loop) - c->started,
             (unsigned long long)c->up.frames, (unsigned long long)c->down.frames,
             (unsigned long long)c->up.bytes, (unsigned long long)c->down.bytes, c->refused,
             log_quote(reason));
}

static void pump_release_pipe(struct qapf_pump *p, struct qapf *f)
{
    if (p->pipe)
        qapf_pipe_put(&f->pipes, p->pipe, p->piped == 0);
    p->pipe = NULL;
    p->piped = 0;
    p->splicing = false;
}

static void conn_unlink(struct qapf_conn *c, struct qapf_conn_list *list)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        list->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void conn_link(struct qapf_conn *c, struct qapf_conn_list *list)
{
    c->prev = NULL;
    c->next = list->head;
    if (list->head)
        list->head->prev = c;
    list->head = c;
}

/* Ends the connection: releases its lease, closes both sockets and puts
 * it on the reap list; it is freed on the next loop pass, never here. */
void qapf_conn_close(struct qapf_conn *c, const char *reason)
{
    struct qapf *f = c->front;
    struct slot *slot = c->slot;

    if (c->state == QAPF_CLOSED)
        return;
    conn_set_state(c, QAPF_CLOSED, reason);
    conn_audit(c, reason);
    pump_stop(&c->up, f->loop);
    pump_stop(&c->down, f->loop);
    if (c->waiter)
        pool_acquire_cancel(f->pool, c->waiter);
    c->waiter = NULL;
    c->slot = NULL;
    if (slot)
        pool_release(slot, reason); /* a request in flight retires the slot */
    pump_release_pipe(&c->up, f);
    pump_release_pipe(&c->down, f);
    close(c->cfd);
    if (c->bfd >= 0)
        close(c->bfd);
    c->cfd = c->bfd = -1;
    conn_unlink(c, &f->conns);
    conn_link(c, &f->reap);
    f->stats.clients--;
    f->stats.closed++;
    ev_check_start(f->loop, &f->reaper);
}

void qapf_conn_free(struct qapf_conn *c)
{
    free(c->up.st.buf);
    free(c->down.st.buf);
    free(c);
}

/* ---- replies of the proxy's own ---- */

/* Puts the owed reply in the client's stream once every earlier request
 * is answered and the slot's stream is between frames. */
static void conn_deliver_owed(struct qapf_conn *c)
{
    uint8_t frame[QAP_HDR_SIZE];
    struct qapf_pump *d = &c->down;

    if (!c->owed || c->seq.in_flight > 0 || d->st.left > 0 || d->splicing)
        return;
    pump_buffer(d);
    qap_hdr_write(frame, c->owed_cmd, 0, 0);
    if (!qapf_stream_insert(&d->st, frame, sizeof(frame)))
        return; /* no room until the client reads */
    c->owed = false;
    c->rescan = true; /* client frames held behind the reply may go on */
    d->frames++;
}

static void conn_owe(struct qapf_conn *c, uint32_t cmd)
{
    c->owed = true;
    c->owed_cmd = cmd;
    conn_deliver_owed(c);
}

/* A last answer, then the client's bytes are dropped until it leaves. */
static void conn_finish(struct qapf_conn *c, int status, const char *why)
{
    conn_owe(c, qap_resp_err(status));
    c->shut_after_flush = true;
    c->final_reason = why;
    c->drain_since = ev_now(c->front->loop);
    conn_set_state(c, QAPF_DRAINING, why);
}

/* ---- the lease ---- */

static void on_lost(struct slot *s, const char *code, const char *cause, const char *reason,
                    void *arg)
{
    struct qapf_conn *c = arg;
    char why[160];

    c->slot = NULL; /* the pool ends the slot itself */
    snprintf(why, sizeof(why), "%s: %s", cause, reason);
    qapf_conn_close(c, why);
}

static void conn_forward(struct qapf_conn *c, int fd)
{
    c->bfd = fd;
    c->up.to = fd;
    c->down.from = fd;
    pump_buffer(&c->up);
    pump_buffer(&c->down);
    conn_set_state(c, QAPF_FORWARDING, "slot connection taken over");
    if (c->client_waiting)
        c->up.readable = true;
    conn_run(c);
}

static void conn_attach(struct qapf_conn *c);

static void on_synced(struct rconn *rc, void *ctx, const struct rconn_reply *reply)
{
    struct qapf_conn *c = ctx;

    if (c->state != QAPF_SYNCING)
        return;
    if (reply->outcome == RCONN_REPLY_FAILED) {
        qapf_conn_close(c, "slot connection failed before it was handed over");
        return;
    }
    conn_attach(c);
}

/* Takes over the slot's warm connection; when the pool has a request of
 * its own in flight there (an idle probe), a no-op queued behind it says
 * when the connection is free. */
static void conn_attach(struct qapf_conn *c)
{
    int fd = pool_slot_take_socket(c->slot);

    if (fd >= 0) {
        conn_forward(c, fd);
        return;
    }
    if (errno == EBUSY && c->state != QAPF_SYNCING) {
        conn_set_state(c, QAPF_SYNCING, "slot connection busy with a probe");
        rconn_void_eval(pool_slot_rconn(c->slot), "NULL", on_synced, c);
        return;
    }
    qapf_conn_close(c, "slot has no connection to take over");
}

static void on_grant(const struct pool_grant *g, void *arg)
{
    struct qapf_conn *c = arg;

    c->waiter = NULL;
    if (!g->slot) {
        c->lease_error = g->error;
        log_info("front_end=qap1 conn=%u msg=\"no slot\" peer=%s error=%s reason=%s", c->id,
                 log_quote(c->peer), g->error, log_quote(g->message));
        conn_set_state(c, QAPF_UNAVAILABLE, g->error);
        if (c->client_waiting)
            c->up.readable = true;
        conn_run(c);
        return;
    }
    c->slot = g->slot;
    c->slot_id = pool_slot_id(g->slot);
    log_debug("front_end=qap1 conn=%u msg=\"leased\" slot=%u wait_ms=%.2f", c->id, c->slot_id,
              g->wait_seconds * 1e3);
    conn_attach(c);
}

static void conn_lease(struct qapf_conn *c)
{
    struct qapf *f = c->front;
    struct pool_acquire_args args = {
        .owner = c->owner,
        .idle_timeout = f->cfg.idle_timeout,
        .lost = on_lost,
        .lost_arg = c,
        .created_at = ev_time(),
    };

    if (c->state != QAPF_LEASING)
        conn_set_state(c, QAPF_LEASING, "logged in");
    c->waiter = pool_acquire(f->pool, &args, on_grant, c);
}

/* ---- client frames ---- */

/* Rserve writes a response's header and its payload with two calls; a
 * small frame held until it is whole leaves the proxy in one send and wakes
 * the reader once. Only a frame that fits where it starts is held. */
static void pump_frame_passed(struct qapf_pump *p, const struct qap_hdr *h)
{
    uint64_t size = QAP_HDR_SIZE + h->len;

    qapf_stream_pass(&p->st, h);
    p->large = h->len >= QAPF_SPLICE_MIN;
    p->hold = size <= QAPF_HOLD_MAX && p->st.frame_off + size <= p->st.cap;
}

static void up_pass(struct qapf_conn *c, const struct qap_hdr *h, bool request)
{
    struct qapf_pump *p = &c->up;

    pump_frame_passed(p, h);
    p->frames++;
    if (request && c->seq.in_flight == 1 && !c->forwarding_request) {
        pool_forward_begin(c->slot, c->front->cfg.request_timeout);
        c->forwarding_request = true;
    }
    pool_touch(c->slot);
}

static void up_refuse(struct qapf_conn *c, const struct qap_hdr *h, int status)
{
    log_info("front_end=qap1 conn=%u msg=\"command refused\" peer=%s cmd=%s code=0x%x "
             "status=%s",
             c->id, log_quote(c->peer), qap_cmd_name(h->cmd), (unsigned)h->cmd,
             qap_err_name(status));
    qapf_stream_drop(&c->up.st, h);
    c->up.frames++;
    c->refused++;
    c->front->stats.refused++;
    conn_owe(c, qap_resp_err(status));
}

/* Login: answered by the proxy. Without authentication configured it is
 * accepted as Rserve accepts it; the password is never forwarded. */
static bool up_login(struct qapf_conn *c, const struct qap_hdr *h)
{
    uint8_t payload[QAPF_LOGIN_MAX];
    struct qapf_stream *st = &c->up.st;
    bool ok = true;

    if (h->len > QAPF_LOGIN_MAX) {
        qapf_conn_close(c, "login payload too large");
        return false;
    }
    if (st->in_end - st->out_end < QAP_HDR_SIZE + h->len)
        return false; /* the rest of it is still coming */
    qapf_stream_take(st, h, payload);
    c->up.frames++;
    if (c->front->auth)
        ok = qapf_auth_check(c->front->auth, payload, (size_t)h->len, c->user, sizeof(c->user));
    memset(payload, 0, sizeof(payload));
    if (!ok) {
        log_warn("front_end=qap1 conn=%u msg=\"login failed\" peer=%s", c->id, log_quote(c->peer));
        conn_finish(c, QAP_ERR_AUTH_FAILED, "login failed");
        return false;
    }
    conn_owe(c, QAP_RESP_OK);
    if (c->state == QAPF_LOGIN_WAIT)
        conn_lease(c);
    return c->state == QAPF_FORWARDING;
}

/* One decision on a client header; false when scanning stops here. */
static bool up_decide(struct qapf_conn *c, const struct qap_hdr *h)
{
    int status = 0;

    switch (qapf_client_frame(&c->seq, h, &status)) {
    case QAPF_PASS:
        up_pass(c, h, !(h->cmd & QAP_CMD_OOB));
        return true;
    case QAPF_REFUSE:
        up_refuse(c, h, status);
        return true;
    case QAPF_LOGIN:
        return up_login(c, h);
    case QAPF_TOO_BIG:
        log_warn("front_end=qap1 conn=%u msg=\"frame above MAX_FRAME_BYTES\" len=%llu", c->id,
                 (unsigned long long)h->len);
        if (c->seq.in_flight == 0)
            conn_finish(c, status, "frame above MAX_FRAME_BYTES");
        else
            qapf_conn_close(c, "frame above MAX_FRAME_BYTES");
        return false;
    case QAPF_VIOLATION:
        qapf_conn_close(c, "client frame where an OOB answer was due");
        return false;
    }
    return false;
}

/* Before the slot: only a login is taken (authentication), or the first
 * command is answered with ERR_unavailable (no slot could be had). */
static void up_scan_early(struct qapf_conn *c, const struct qap_hdr *h)
{
    if (c->state == QAPF_UNAVAILABLE) {
        log_info("front_end=qap1 conn=%u msg=\"answered unavailable\" cmd=%s error=%s", c->id,
                 qap_cmd_name(h->cmd), c->lease_error);
        conn_finish(c, QAP_ERR_UNAVAILABLE, c->lease_error);
        return;
    }
    if (h->cmd != QAP_CMD_LOGIN) {
        conn_finish(c, QAP_ERR_AUTH_FAILED, "command before login");
        return;
    }
    up_login(c, h);
}

static void up_scan(struct qapf_conn *c)
{
    struct qapf_pump *p = &c->up;
    struct qap_hdr h;

    while (p->st.buf && !conn_holds_client(c)) {
        enum qapf_scan r;

        if (c->state == QAPF_DRAINING) { /* everything the client sends now is dropped */
            p->st.in_end = p->st.out_end;
            return;
        }
        r = qapf_stream_scan(&p->st, &h);
        if (r != QAPF_SCAN_HEADER || c->owed)
            return;
        if (c->state != QAPF_FORWARDING) {
            up_scan_early(c, &h);
            if (c->state != QAPF_FORWARDING)
                return;
        } else if (!up_decide(c, &h)) {
            return;
        }
    }
}

/* ---- slot frames ---- */

static void down_decide(struct qapf_conn *c, const struct qap_hdr *h)
{
    struct qapf_pump *p = &c->down;

    if (qapf_server_frame(&c->seq, h) != QAPF_PASS) {
        log_warn("front_end=qap1 conn=%u msg=\"unexpected frame from the slot\" cmd=0x%x "
                 "len=%llu in_flight=%u",
                 c->id, (unsigned)h->cmd, (unsigned long long)h->len, c->seq.in_flight);
        qapf_conn_close(c, "slot sent a frame that cannot come now");
        return;
    }
    pump_frame_passed(p, h);
    p->frames++;
    if (c->seq.in_flight == 0 && c->forwarding_request && c->slot) {
        pool_forward_end(c->slot);
        c->forwarding_request = false;
    }
}

static void down_scan(struct qapf_conn *c)
{
    struct qapf_pump *p = &c->down;
    struct qap_hdr h;

    while (c->state == QAPF_FORWARDING && qapf_stream_scan(&p->st, &h) == QAPF_SCAN_HEADER)
        down_decide(c, &h);
    if (c->state != QAPF_CLOSED)
        conn_deliver_owed(c);
}

/* ---- moving bytes ---- */

static void pump_failed(struct qapf_pump *p, ssize_t n, const char *what)
{
    char why[96];
    const struct qapf_pump *up = &p->conn->up;
    const char *side = (p == up) == (strcmp(what, "read") == 0) ? "client" : "slot";

    if (p->conn->state == QAPF_DRAINING && p == up && p->conn->final_reason)
        snprintf(why, sizeof(why), "%s", p->conn->final_reason);
    else if (n == 0)
        snprintf(why, sizeof(why), "%s closed the connection", side);
    else
        snprintf(why, sizeof(why), "%s %s failed: %s", side, what, strerror(errno));
    qapf_conn_close(p->conn, why);
}

/* Bytes moved: the client is not idle, nor is its lease. */
static void conn_active(struct qapf_conn *c)
{
    c->last_active = ev_now(c->front->loop);
    if (c->slot)
        pool_touch(c->slot);
}

/* Sends what is cleared; false when the connection closed. */
static bool pump_send(struct qapf_pump *p)
{
    struct qapf_stream *st = &p->st;
    size_t end = p->hold && st->left > 0 ? st->frame_off : st->out_end;

    while (!p->blocked && st->out_off < end && p->to >= 0) {
        ssize_t n = send(p->to, st->buf + st->out_off, end - st->out_off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            p->blocked = true;
            break;
        }
        if (n <= 0) {
            pump_failed(p, -1, "write");
            return false;
        }
        st->out_off += (size_t)n;
    }
    qapf_stream_compact(st);
    if (p->conn->shut_after_flush && p == &p->conn->down && !p->conn->owed &&
        st->out_off == st->out_end) {
        shutdown(p->to, SHUT_WR);
        p->conn->shut_after_flush = false;
    }
    return true;
}

/* Reads into the buffer; true when it filled the room (more may wait). */
static bool pump_read(struct qapf_pump *p, bool *closed)
{
    struct qapf_stream *st = &p->st;
    size_t room;
    ssize_t n;

    if (!p->readable || p->from < 0)
        return false; /* no buffer for a client that has sent nothing */
    pump_buffer(p);
    room = st->cap - st->in_end;
    if (room == 0)
        return false;
    do
        n = recv(p->from, st->buf + st->in_end, room, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        p->readable = false;
        return false;
    }
    if (n <= 0) {
        *closed = true;
        pump_failed(p, n, "read");
        return false;
    }
    st->in_end += (size_t)n;
    p->bytes += (uint64_t)n;
    p->conn->front->stats.copied_bytes += (uint64_t)n;
    conn_active(p->conn);
    if ((size_t)n < room)
        p->readable = false;
    return (size_t)n == room;
}

/* A large payload's rest goes through a pipe once the buffer before it is
 * out; without a pipe to be had it is copied like any other. */
static void pump_maybe_splice(struct qapf_pump *p)
{
    struct qapf_stream *st = &p->st;
    int cap;

    if (p->splicing || !p->large || st->drop || st->left == 0 || st->out_end != st->in_end)
        return;
    p->pipe = qapf_pipe_get(&p->conn->front->pipes);
    if (!p->pipe)
        return;
    cap = fcntl(p->pipe->wr, F_GETPIPE_SZ);
    p->pipe_cap = cap > 0 ? (size_t)cap : 65536;
    p->splicing = true;
    p->pipe_full = false;
}

static ssize_t splice_out(struct qapf_pump *p)
{
    ssize_t n = splice(p->pipe->rd, NULL, p->to, NULL, p->piped, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

    if (n < 0 && errno == EAGAIN) {
        p->blocked = true;
        return 0;
    }
    if (n <= 0) {
        pump_failed(p, -1, "write");
        return -1;
    }
    p->piped -= (size_t)n;
    p->pipe_full = false;
    return n;
}

static ssize_t splice_in(struct qapf_pump *p)
{
    size_t want = p->pipe_cap - p->piped;
    ssize_t n;

    if (want > p->st.left)
        want = (size_t)p->st.left;
    n = splice(p->from, NULL, p->pipe->wr, NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EAGAIN) {
        if (p->piped > 0)
            p->pipe_full = true; /* the pipe's slots are used up; wait for it to drain */
        else
            p->readable = false;
        return 0;
    }
    if (n <= 0) {
        pump_failed(p, n, "read");
        return -1;
    }
    p->piped += (size_t)n;
    p->st.left -= (uint64_t)n;
    p->bytes += (uint64_t)n;
    p->conn->front->stats.spliced_bytes += (uint64_t)n;
    conn_active(p->conn);
    return n;
}

/* One round of splicing; true when bytes moved. */
static bool pump_splice(struct qapf_pump *p, bool *closed)
{
    ssize_t out = 0, in = 0;

    if (p->st.out_off < p->st.out_end)
        return false; /* the header and buffered bytes go first */
    if (p->piped > 0 && !p->blocked && (out = splice_out(p)) < 0)
        return !(*closed = true);
    if (p->st.left > 0 && p->readable && p->piped < p->pipe_cap && (in = splice_in(p)) < 0)
        return !(*closed = true);
    if (p->piped > 0 && !p->blocked && in > 0 && (out = splice_out(p)) < 0)
        return !(*closed = true);
    if (p->st.left == 0 && p->piped == 0)
        pump_release_pipe(p, p->conn->front);
    return in > 0 || out > 0;
}

static void pump_scan(struct qapf_pump *p)
{
    if (p == &p->conn->up)
        up_scan(p->conn);
    else
        down_scan(p->conn);
}

/* One round in one direction; true when it may make progress again. */
static bool pump_step(struct qapf_pump *p)
{
    struct qapf_conn *c = p->conn;
    bool closed = false, more = false;

    if (p == &c->up && conn_holds_client(c)) {
        if (p->readable) {
            char byte;
            ssize_t n = recv(c->cfd, &byte, 1, MSG_PEEK);

            p->readable = false;
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                pump_failed(p, n, "read");
            else if (n > 0)
                c->client_waiting = true; /* answered once the slot is ready */
            c->last_active = ev_now(c->front->loop);
        }
        return false;
    }
    if (p->splicing)
        more = pump_splice(p, &closed);
    else if (conn_reads(c, p))
        more = pump_read(p, &closed);
    if (closed || c->state == QAPF_CLOSED)
        return false;
    pump_scan(p);
    if (c->state == QAPF_CLOSED || !pump_send(p))
        return false;
    if (!p->splicing)
        pump_maybe_splice(p);
    return more || (p->splicing && p->readable && !p->blocked && !p->pipe_full);
}

static void conn_run(struct qapf_conn *c)
{
    for (int round = 0; round < PUMP_ROUNDS && c->state != QAPF_CLOSED; round++) {
        bool up, down;

        c->rescan = false;
        up = pump_step(&c->up);
        down = c->state != QAPF_CLOSED && pump_step(&c->down);
        if (!up && !down && !c->rescan)
            break;
    }
    if (c->state == QAPF_CLOSED)
        return;
    pump_watch(&c->up);
    pump_watch(&c->down);
}

/* ---- life ---- */

/* Sends the greeting now; a socket that takes less gets the rest later. */
static void conn_greet(struct qapf_conn *c)
{
    const uint8_t *id = c->front->greeting;
    ssize_t n = send(c->cfd, id, QAP_ID_SIZE, MSG_NOSIGNAL);

    if (n == QAP_ID_SIZE)
        return;
    if (n < 0)
        n = 0;
    pump_buffer(&c->down);
    qapf_stream_insert(&c->down.st, id + n, QAP_ID_SIZE - (size_t)n);
}

struct qapf_conn *qapf_conn_new(struct qapf *f, int fd, const struct qapf_listener *l,
                                const char *peer)
{
    struct qapf_conn *c = xcalloc(1, sizeof(*c));

    c->front = f;
    c->id = ++f->next_id;
    c->cfd = fd;
    c->bfd = -1;
    c->listener = l;
    c->seq.max_frame = f->cfg.max_frame;
    c->started = c->last_active = ev_now(f->loop);
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    snprintf(c->owner, sizeof(c->owner), "qap:%s", peer);
    pump_init(&c->up, c, fd, -1);
    pump_init(&c->down, c, -1, fd);
    conn_link(c, &f->conns);
    f->stats.clients++;
    log_debug("front_end=qap1 conn=%u msg=\"connected\" peer=%s listener=%s", c->id,
              log_quote(peer), log_quote(l->name));

    conn_greet(c);
    c->state = f->auth ? QAPF_LOGIN_WAIT : QAPF_LEASING;
    if (!f->auth)
        conn_lease(c);
    if (c->state == QAPF_LOGIN_WAIT || c->state == QAPF_LEASING)
        conn_run(c);
    return c;
}

void qapf_conn_sweep(struct qapf_conn *c, double now)
{
    if (c->state == QAPF_DRAINING && now - c->drain_since > QAPF_DRAIN_SECS) {
        qapf_conn_close(c, c->final_reason ? c->final_reason : "last answer sent");
        return;
    }
    /* A request in flight, or one waiting for its slot (the acquire has
     * its own timeout), is not idleness. */
    if (c->seq.in_flight > 0 || c->seq.oob_pending || (conn_holds_client(c) && c->client_waiting))
        return;
    if (now - c->last_active > c->front->cfg.idle_timeout)
        qapf_conn_close(c, "idle_timeout");
}
