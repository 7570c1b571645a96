/* The warm pool: slot life cycle (create, start, connect, warm, lease,
 * recycle or retire), acquire and release, and the sweeps of one repeating
 * timer. Slots are freed only from the loop's check watcher, never inside a
 * callback of their own. */
#include "pool/pool.h"
#include "pool/pool_impl.h"

#include "pool/cdms.h"
#include "pool/slotdir.h"
#include "pool/wsmount.h"
#include "proxy/buf.h"
#include "proxy/log.h"
#include "proxy/mem.h"
#include "rserve/sexp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const state_names[SLOT_NSTATES] = {
    "creating", "starting", "warming", "idle", "leased", "recycling", "retiring",
};

const char *slot_state_name(enum slot_state st)
{
    return (unsigned)st < SLOT_NSTATES ? state_names[st] : "?";
}

static void slot_connect(struct slot *s);
static void slot_became_ready(struct slot *s);
static void slot_reap(struct slot *s);
static void on_removed(const struct backend_result *res, void *arg);

/* ---- lists and state ---- */

static void list_remove(struct slot_list *l, struct slot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->tail = s->prev;
    s->prev = s->next = NULL;
}

static void list_append(struct slot_list *l, struct slot *s)
{
    s->prev = l->tail;
    s->next = NULL;
    if (l->tail)
        l->tail->next = s;
    else
        l->head = s;
    l->tail = s;
}

/* The one place a slot changes state. */
void slot_set_state(struct slot *s, enum slot_state st, const char *reason)
{
    struct pool *p = s->pool;

    log_info("slot=%u container=%.12s msg=\"state\" old=%s new=%s reason=%s", s->id,
             s->container ? s->container : "-", slot_state_name(s->state), slot_state_name(st),
             log_quote(reason));
    list_remove(&p->lists[s->state], s);
    p->stats.slots[s->state]--;
    s->state = st;
    list_append(&p->lists[st], s);
    p->stats.slots[st]++;
    pool_state_mark(p);
}

static unsigned pool_total(const struct pool *p)
{
    unsigned n = 0;

    for (int i = 0; i < SLOT_NSTATES; i++)
        n += p->stats.slots[i];
    return n;
}

static unsigned pool_starting(const struct pool *p)
{
    return p->stats.slots[SLOT_CREATING] + p->stats.slots[SLOT_STARTING] +
           p->stats.slots[SLOT_WARMING];
}

/* ---- waiters ---- */

static void waiter_unlink(struct pool *p, struct pool_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        p->waiters_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->waiters_tail = w->prev;
    w->prev = w->next = NULL;
    p->stats.waiters--;
}

static void waiter_free(struct pool_waiter *w)
{
    free(w->session);
    free(w->owner);
    free(w->cdm);
    free(w);
}

/* Answers a waiter that is on no list any more, and frees it. */
static void waiter_answer(struct pool *p, struct pool_waiter *w, struct pool_grant *g)
{
    g->wait_seconds = ev_time() - w->since;
    if (g->slot)
        hist_record(&p->stats.acquire, g->wait_seconds);
    else
        p->stats.acquire_failed++;
    w->done(g, w->arg);
    waiter_free(w);
}

static void waiter_fail(struct pool *p, struct pool_waiter *w, const char *code, bool retryable,
                        const char *message)
{
    struct pool_grant g = {.error = code, .message = message, .retryable = retryable};

    log_info("msg=\"acquire failed\" owner=%s error=%s reason=%s", log_quote(w->owner), code,
             log_quote(message));
    waiter_answer(p, w, &g);
}

static void waiters_fail_all(struct pool *p, const char *code, bool retryable, const char *message)
{
    struct pool_waiter *w;

    while ((w = p->waiters_head) != NULL) {
        waiter_unlink(p, w);
        waiter_fail(p, w, code, retryable, message);
    }
}

/* ---- leases ---- */

static void lease_grant(struct slot *s, struct pool_waiter *w, bool cdm_opened)
{
    struct pool *p = s->pool;
    struct pool_grant g = {.slot = s, .cdm_opened = cdm_opened};

    s->owner = xstrdup(w->owner);
    s->idle_timeout = w->idle_timeout > 0 ? w->idle_timeout : p->cfg.idle_timeout;
    s->last_used = ev_now(p->loop);
    s->lost = w->lost;
    s->lost_arg = w->lost_arg;
    s->session = w->session ? xstrdup(w->session) : NULL;
    s->session_created_at = w->created_at;
    s->keep_workspace = w->keep_workspace;
    p->stats.leases++;
    pool_state_mark(p);
    if (s->state != SLOT_LEASED)
        slot_set_state(s, SLOT_LEASED, "acquired");
    log_info("slot=%u msg=\"leased\" owner=%s cdm=%s", s->id, log_quote(s->owner),
             log_quote(s->cdm));
    waiter_answer(p, w, &g);
}

static void quote_r_string(struct buf *b, const char *s)
{
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

static void on_cdm_opened(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct slot *s = ctx;
    struct pool_waiter *w = s->grant_to;

    s->grant_to = NULL;
    if (w)
        w->slot = NULL;
    if (reply->outcome != RCONN_REPLY_OK) {
        if (w)
            waiter_fail(s->pool, w, "backend_unavailable", true,
                        "the sandbox could not open the requested CDM");
        slot_retire(s, "opening a CDM at acquire failed");
        return;
    }
    if (!w) { /* the waiter gave up meanwhile */
        slot_retire(s, "acquire cancelled while its CDM opened");
        return;
    }
    lease_grant(s, w, true);
}

/* Hands s to w: at once when its CDM is open, else after opening it.
 * Returns w while that runs, NULL once w has been answered. */
static struct pool_waiter *lease_offer(struct slot *s, struct pool_waiter *w)
{
    struct buf src = BUF_INIT;

    if (strcmp(s->cdm, w->cdm) == 0) {
        lease_grant(s, w, false);
        return NULL;
    }
    slot_set_state(s, SLOT_LEASED, "opening the requested CDM");
    s->grant_to = w;
    w->slot = s;
    snprintf(s->cdm, sizeof(s->cdm), "%s", w->cdm);
    buf_puts(&src, "omcp_open_cdm(");
    quote_r_string(&src, w->cdm);
    buf_putc(&src, ')');
    rconn_eval(&s->conn, src.data, on_cdm_opened, s);
    buf_free(&src);
    return w;
}

/* An idle slot for cdm: one with it open already, else the oldest. */
static struct slot *idle_slot_for(struct pool *p, const char *cdm)
{
    for (struct slot *s = p->lists[SLOT_IDLE].head; s; s = s->next) {
        if (strcmp(s->cdm, cdm) == 0)
            return s;
    }
    return p->lists[SLOT_IDLE].head;
}

static bool pool_has_cdm(const struct pool *p, const char *name)
{
    for (char **c = p->cdms; *c; c++) {
        if (strcmp(*c, name) == 0)
            return true;
    }
    return false;
}

static struct pool_waiter *waiter_new(struct pool *p, const struct pool_acquire_args *args,
                                      pool_grant_fn done, void *arg)
{
    struct pool_waiter *w = xcalloc(1, sizeof(*w));

    w->done = done;
    w->arg = arg;
    w->owner = xstrdup(args->owner ? args->owner : "-");
    w->cdm = xstrdup(args->cdm && *args->cdm ? args->cdm : p->warm_cdm);
    w->idle_timeout = args->idle_timeout;
    w->lost = args->lost;
    w->lost_arg = args->lost_arg;
    w->session = args->session ? xstrdup(args->session) : NULL;
    w->created_at = args->created_at;
    w->keep_workspace = args->keep_workspace;
    w->since = ev_time();
    w->deadline = ev_now(p->loop) + p->cfg.acquire_timeout;
    return w;
}

struct pool_waiter *pool_acquire(struct pool *p, const struct pool_acquire_args *args,
                                 pool_grant_fn done, void *arg)
{
    struct pool_waiter *w = waiter_new(p, args, done, arg);
    struct slot *s;

    if (p->stopping) {
        waiter_fail(p, w, "pool_stopping", true, "the daemon is shutting down");
        return NULL;
    }
    if (*w->cdm && !pool_has_cdm(p, w->cdm)) {
        waiter_fail(p, w, "cdm_not_found", false, "no CDM of that name is configured");
        return NULL;
    }
    if (!pool_state_writable(p)) {
        waiter_fail(p, w, "state_unavailable", true,
                    "the state file cannot be written; a new session would not survive a restart");
        return NULL;
    }
    if ((s = idle_slot_for(p, w->cdm)) != NULL)
        return lease_offer(s, w);
    if (p->stats.slots[SLOT_LEASED] >= p->cfg.max_slots) {
        waiter_fail(p, w, "max_sessions_reached", true,
                    "every sandbox is leased; close a session or try again later");
        return NULL;
    }
    if (!p->stats.engine_up) {
        waiter_fail(p, w, "backend_unavailable", true,
                    "the container engine does not answer and no sandbox is idle");
        return NULL;
    }
    w->prev = p->waiters_tail;
    if (p->waiters_tail)
        p->waiters_tail->next = w;
    else
        p->waiters_head = w;
    p->waiters_tail = w;
    p->stats.waiters++;
    pool_kick(p);
    return w;
}

void pool_acquire_cancel(struct pool *p, struct pool_waiter *w)
{
    if (w->slot) { /* its slot is opening a CDM: the slot retires when that ends */
        w->slot->grant_to = NULL;
        waiter_free(w);
        return;
    }
    waiter_unlink(p, w);
    waiter_free(w);
}

static void lease_clear(struct slot *s)
{
    free(s->owner);
    free(s->session);
    s->owner = s->session = NULL;
    s->lost = NULL;
    s->lost_arg = NULL;
    s->keep_workspace = false;
}

/* The lease ends without its owner asking; an evaluation in flight is
 * answered first (with this cause), the owner's lost callback last. */
void slot_lose(struct slot *s, const char *code, const char *cause, const char *reason)
{
    pool_lost_fn lost = s->state == SLOT_LEASED ? s->lost : NULL;
    void *arg = s->lost_arg;

    if (s->state == SLOT_LEASED) {
        s->pool->stats.lost++;
        log_warn("slot=%u msg=\"lease lost\" owner=%s code=%s cause=%s reason=%s", s->id,
                 log_quote(s->owner), code, cause, log_quote(reason));
        if (s->keep_workspace && strcmp(code, "session_lost") == 0 &&
            strcmp(cause, POOL_CAUSE_STOPPING) != 0)
            pool_orphan_add(s, cause);
    }
    lease_clear(s);
    s->lose_cause = cause;
    slot_retire(s, reason);
    if (lost)
        lost(s, code, cause, reason, arg);
}

static void on_recycle_exec(const struct backend_result *res, void *arg)
{
    struct slot *s = arg;

    s->call = NULL;
    if (res->error != BACKEND_OK) {
        slot_retire(s, res->message ? res->message : backend_error_name(res->error));
        return;
    }
    if (!slotdir_empty(s->workspace)) {
        slot_retire(s, "cannot wipe the workspace");
        return;
    }
    s->pool->stats.recycled++;
    s->deadline = ev_now(s->pool->loop) + s->pool->cfg.start_timeout;
    slot_connect(s);
}

/* Process recycling: every process but PID 1 killed; /tmp, /dev/shm and
 * the container's System V IPC objects wiped (the workspace is wiped by the
 * pool), then a fresh connection (a new fork of the parent). The parent's R
 * temporary directory goes too: nothing in /tmp is kept that a session
 * could have replaced, and the warm-up makes the next session its own. */
static void slot_recycle(struct slot *s, const char *reason)
{
    static const char *const argv[] = {
        "sh",
        "-c",
        "kill -KILL -1 2>/dev/null; "
        "find /tmp /dev/shm -mindepth 1 -maxdepth 1 -exec rm -rf {} + ; "
        "ipcrm --all 2>/dev/null; exit 0",
        NULL,
    };
    struct backend *b = s->pool->cfg.backend;

    slot_set_state(s, SLOT_RECYCLING, reason);
    if (s->conn_open)
        rconn_close(&s->conn, "recycling");
    s->call = b->ops->exec(b, s->container, argv, on_recycle_exec, s);
    if (!s->call)
        slot_retire(s, "cannot send the recycling command");
}

void pool_release(struct slot *s, const char *reason)
{
    if (s->state != SLOT_LEASED)
        return;
    log_info("slot=%u msg=\"released\" owner=%s reason=%s", s->id, log_quote(s->owner),
             log_quote(reason));
    lease_clear(s);
    if (s->eval_phase != EVAL_NONE || s->grant_to || s->pool->cfg.recycle == RECYCLE_CONTAINER ||
        s->pool->stopping)
        slot_retire(s, reason);
    else
        slot_recycle(s, reason);
}

void pool_touch(struct slot *s)
{
    s->last_used = ev_now(s->pool->loop);
}

/* ---- evaluation ---- */

static void on_eval_reply(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct slot *s = ctx;
    struct pool_eval_result res = {.reply = reply};
    pool_eval_fn done = s->eval_done;

    ev_timer_stop(s->pool->loop, &s->eval_timer);
    res.interrupted = s->eval_phase == EVAL_INTERRUPTED;
    res.lost = reply->outcome == RCONN_REPLY_FAILED;
    if (res.lost)
        res.cause = s->lose_cause ? s->lose_cause : health_drop_cause(s);
    res.seconds = ev_time() - s->eval_started;
    s->eval_phase = EVAL_NONE;
    s->eval_done = NULL;
    s->last_used = ev_now(s->pool->loop);
    hist_record(&s->pool->stats.eval, res.seconds);
    done(s, &res, s->eval_arg);
}

static void on_interrupt_sent(const struct backend_result *res, void *arg)
{
    struct slot *s = arg;

    s->interrupt_call = NULL;
    if (res->error != BACKEND_OK || res->exit_code != 0)
        log_warn("slot=%u msg=\"interrupt not delivered\" error=%s exit=%d", s->id,
                 backend_error_name(res->error), res->exit_code);
}

void pool_interrupt(struct slot *s)
{
    struct pool *p = s->pool;
    struct backend *b = p->cfg.backend;
    char cmd[64];
    const char *argv[] = {"sh", "-c", cmd, NULL};

    if (s->eval_phase != EVAL_RUNNING)
        return;
    s->eval_phase = EVAL_INTERRUPTED;
    p->stats.interrupts++;
    log_info("slot=%u msg=\"interrupting R\" pid=%lld", s->id, s->r_pid);
    snprintf(cmd, sizeof(cmd), "kill -INT %lld", s->r_pid);
    if (!s->interrupt_call)
        s->interrupt_call = b->ops->exec(b, s->container, argv, on_interrupt_sent, s);
    ev_timer_stop(p->loop, &s->eval_timer);
    ev_timer_set(&s->eval_timer, p->cfg.interrupt_grace, 0.);
    ev_timer_start(p->loop, &s->eval_timer);
}

static void on_eval_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct slot *s = w->data;

    if (s->eval_phase == EVAL_RUNNING) {
        pool_interrupt(s);
        return;
    }
    slot_lose(s, "session_lost", POOL_CAUSE_IGNORED,
              "R did not stop within the interrupt grace; container killed");
}

void pool_eval(struct slot *s, const char *source, double timeout, pool_eval_fn done, void *arg)
{
    struct pool *p = s->pool;

    if (s->state != SLOT_LEASED || s->eval_phase != EVAL_NONE)
        panic("pool_eval on slot %u in state %s, phase %d", s->id, slot_state_name(s->state),
              (int)s->eval_phase);
    s->eval_phase = EVAL_RUNNING;
    s->eval_done = done;
    s->eval_arg = arg;
    s->eval_started = ev_time();
    s->last_used = ev_now(p->loop);
    if (timeout > 0) {
        ev_timer_set(&s->eval_timer, timeout, 0.);
        ev_timer_start(p->loop, &s->eval_timer);
    }
    rconn_eval(&s->conn, source, on_eval_reply, s);
}

/* A front end that forwards QAP1 frames itself marks its requests, so the
 * idle sweep leaves the lease alone while R works, pool_interrupt() applies,
 * and a request past timeout seconds is interrupted, then killed after the
 * grace, as an evaluation would be. */
void pool_forward_begin(struct slot *s, double timeout)
{
    struct pool *p = s->pool;

    if (s->state != SLOT_LEASED || s->eval_phase != EVAL_NONE)
        panic("pool_forward_begin on slot %u in state %s, phase %d", s->id,
              slot_state_name(s->state), (int)s->eval_phase);
    s->eval_phase = EVAL_RUNNING;
    s->eval_done = NULL;
    s->eval_started = ev_time();
    s->last_used = ev_now(p->loop);
    if (timeout > 0) {
        ev_timer_set(&s->eval_timer, timeout, 0.);
        ev_timer_start(p->loop, &s->eval_timer);
    }
}

void pool_forward_end(struct slot *s)
{
    ev_timer_stop(s->pool->loop, &s->eval_timer);
    s->eval_phase = EVAL_NONE;
    s->last_used = ev_now(s->pool->loop);
}

/* The pool stops reading the warm connection and hands out a duplicate of
 * its socket; it closes its own copy when the lease ends. Refused (EBUSY)
 * while the connection has a request of its own in flight (an idle probe). */
int pool_slot_take_socket(struct slot *s)
{
    struct rconn *c = &s->conn;

    if (s->state != SLOT_LEASED || !s->conn_open) {
        errno = ENOTCONN;
        return -1;
    }
    return rconn_hand_off(c);
}

/* ---- accessors ---- */

struct rconn *pool_slot_rconn(struct slot *s)
{
    return &s->conn;
}

unsigned pool_slot_id(const struct slot *s)
{
    return s->id;
}

const char *pool_slot_name(const struct slot *s)
{
    return s->name;
}

const char *pool_slot_container(const struct slot *s)
{
    return s->container;
}

const char *pool_slot_workspace(const struct slot *s)
{
    return s->workspace;
}

const char *pool_slot_socket(const struct slot *s)
{
    return s->sock_path;
}

const char *pool_slot_cdm(const struct slot *s)
{
    return s->cdm;
}

long long pool_slot_r_pid(const struct slot *s)
{
    return s->r_pid;
}

const struct pool_stats *pool_stats(const struct pool *p)
{
    return &p->stats;
}

bool pool_ready(const struct pool *p)
{
    return p->stats.slots[SLOT_IDLE] >= p->cfg.min_idle && !p->stats.state_failing;
}

const char *const *pool_cdms(const struct pool *p)
{
    return (const char *const *)p->cdms;
}

/* ---- warm-up ---- */

static bool warm_pid(const struct rconn_reply *reply, long long *pid)
{
    struct sexp_arena arena;
    struct sexp *x = NULL;
    bool ok;

    sexp_arena_init(&arena);
    ok = sexp_decode_param(reply->payload, reply->len, &arena, NULL, &x) == QAP_OK &&
         x->kind == SEXP_INT && x->n == 1;
    if (ok)
        *pid = sexp_int_at(x, 0);
    sexp_arena_free(&arena);
    return ok && *pid > 1;
}

/* The engine cannot change a running container's CPU quota: from now on
 * containers are created with the session's quota and warm under it. */
static void pool_cpu_at_create(struct pool *p, const char *why)
{
    if (p->cpu_at_create)
        return;
    p->cpu_at_create = true;
    log_warn("msg=\"the engine cannot change a running container's CPU quota; sandboxes start "
             "with the session's quota\" reason=%s",
             log_quote(why ? why : "unsupported"));
}

static void on_cpu_limited(const struct backend_result *res, void *arg)
{
    struct slot *s = arg;
    char why[160];

    s->call = NULL;
    if (res->error == BACKEND_UNSUPPORTED) {
        pool_cpu_at_create(s->pool, res->message);
        /* A restored lease reached its lease under this engine: it was
         * created with the session's quota. */
        if (s->restore) {
            s->cpu_limited = true;
            slot_became_ready(s);
            return;
        }
        slot_retire(s, "started without the session's CPU quota, which the engine cannot set now");
        return;
    }
    if (res->error != BACKEND_OK) {
        snprintf(why, sizeof(why), "the session's CPU quota was not applied: %s",
                 res->message ? res->message : backend_error_name(res->error));
        slot_retire(s, why);
        return;
    }
    s->cpu_limited = true;
    slot_became_ready(s);
}

/* A container starts and warms with the start quota: R loading its packages
 * is most of a start's CPU, and nothing of a session runs yet. The
 * session's quota is in force before the slot can be leased. */
static void slot_limit_cpu(struct slot *s)
{
    struct backend *b = s->pool->cfg.backend;
    const struct pool_config *cfg = &s->pool->cfg;

    if (s->cpu_limited || cfg->start_cpus == cfg->cpus) {
        s->cpu_limited = true;
        slot_became_ready(s);
        return;
    }
    s->call = b->ops->limit_cpu(b, s->container, (int64_t)(cfg->cpus * POOL_CPU_PERIOD_US),
                                POOL_CPU_PERIOD_US, on_cpu_limited, s);
}

static void on_warm(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct slot *s = ctx;
    struct pool *p = s->pool;
    double now = ev_now(p->loop);

    if (reply->outcome == RCONN_REPLY_FAILED)
        return; /* the closed callback retires the slot */
    if (reply->outcome != RCONN_REPLY_OK || !warm_pid(reply, &s->r_pid)) {
        slot_retire(s, reply->outcome == RCONN_REPLY_OK ? "warm-up returned no pid"
                                                        : qap_err_message(reply->status));
        return;
    }
    snprintf(s->cdm, sizeof(s->cdm), "%s", p->warm_cdm);
    hist_record(&p->stats.warmup, now - s->connected_at);
    if (!s->ready_at) {
        s->ready_at = now;
        hist_record(&p->stats.start, now - s->created_at);
    }
    p->backoff = 0;
    s->probed_at = now;
    s->oom_kills = health_oom_kills(s->container);
    log_info("slot=%u msg=\"warm\" r_pid=%lld cdm=%s warmup_ms=%.1f", s->id, s->r_pid,
             log_quote(s->cdm), (now - s->connected_at) * 1e3);
    slot_limit_cpu(s);
}

/* The warm-up call. With CDMs on PostgreSQL it also names the mounted
 * socket directory, the port, a database (the warm CDM when it is one) and
 * the read-only role: never a password. */
static void warmup_source(const struct pool *p, struct buf *src)
{
    buf_puts(src, "omcp_warmup(cdm = ");
    quote_r_string(src, p->warm_cdm);
    if (*p->pg_cdms) {
        buf_printf(src, ", db_host = \"%s\", db_port = \"%d\", db_name = ", POOL_CDM_PG_MOUNT,
                   p->cfg.pg_port);
        quote_r_string(src, pool_cdm_listed(p->pg_cdms, p->warm_cdm) ? p->warm_cdm : p->pg_cdms[0]);
        buf_puts(src, ", db_user = ");
        quote_r_string(src, p->cfg.pg_user);
    }
    buf_putc(src, ')');
}

static void on_conn_ready(struct rconn *c)
{
    struct slot *s = c->owner;
    struct buf src = BUF_INIT;

    s->connected_at = ev_now(s->pool->loop);
    slot_set_state(s, SLOT_WARMING, "rserve answered");
    warmup_source(s->pool, &src);
    rconn_eval(c, src.data, on_warm, s);
    buf_free(&src);
}

static void on_conn_closed(struct rconn *c, const char *reason)
{
    struct slot *s = c->owner;
    char why[160];

    s->conn_open = false;
    if (s->state == SLOT_RETIRING || s->state == SLOT_RECYCLING)
        return;
    if (s->state == SLOT_STARTING) {
        /* Rserve binds its socket a moment before it listens: the sweep
         * connects again until the start deadline. */
        log_debug("slot=%u msg=\"rserve not answering yet\" reason=%s", s->id, log_quote(reason));
        return;
    }
    snprintf(why, sizeof(why), "rserve connection closed: %s", reason);
    slot_lose(s, "session_lost", health_drop_cause(s), why);
}

static const struct rconn_callbacks slot_conn_callbacks = {
    .ready = on_conn_ready,
    .closed = on_conn_closed,
};

static void slot_connect(struct slot *s)
{
    struct rconn_config rc = {
        .max_frame = s->pool->cfg.max_frame,
        .connect_timeout = 10,
    };

    rconn_init(&s->conn, s->pool->loop, &rc, &slot_conn_callbacks, s);
    s->conn.id = s->id;
    s->conn_open = true;
    rconn_connect_unix(&s->conn, s->sock_path);
}

/* Gives the ready slot to the first waiter, or makes it idle. */
static void slot_became_ready(struct slot *s)
{
    struct pool *p = s->pool;
    struct pool_waiter *w = p->waiters_head;

    if (s->restore) {
        pool_restore_lease(s);
        return;
    }
    if (!w || p->stopping) {
        slot_set_state(s, SLOT_IDLE, "warm");
        return;
    }
    waiter_unlink(p, w);
    lease_offer(s, w);
}

/* ---- container start ---- */

/* The socket exists: lock its directory against the sandbox, then connect. */
void slot_socket_appeared(struct slot *s)
{
    struct stat st;

    if (lstat(s->sock_path, &st) != 0)
        return; /* not yet */
    if (!S_ISSOCK(st.st_mode)) {
        slot_retire(s, "the socket path is not a socket");
        return;
    }
    if (s->watch >= 0) {
        inotify_rm_watch(s->pool->inotify_fd, s->watch);
        s->watch = -1;
    }
    if (chown(s->sock_dir, 0, 0) != 0 && geteuid() == 0) {
        slot_retire(s, "cannot lock the socket directory");
        return;
    }
    chmod(s->sock_dir, 0755);
    slot_connect(s);
}

void pool_engine_answered(struct pool *p, const struct backend_result *res)
{
    bool up = res->error != BACKEND_ENGINE_UNREACHABLE && res->error != BACKEND_TIMEOUT;

    if (up != p->stats.engine_up)
        log_warn("msg=\"container engine %s\" reason=%s", up ? "answers" : "unreachable",
                 log_quote(res->message ? res->message : backend_error_name(res->error)));
    p->stats.engine_up = up;
    /* Waiters exist only while no slot is idle; containers being started
     * will not come from an engine that does not answer. */
    if (!up)
        waiters_fail_all(p, "backend_unavailable", true,
                         "the container engine does not answer and no sandbox is idle");
    else
        pool_kick(p);
}

/* After a failure the pool holds new slots back, doubling the wait up to
 * POOL_BACKOFF_MAX; a slot that warms resets it. */
static void pool_hold_back(struct pool *p)
{
    p->stats.start_failed++;
    p->backoff = p->backoff ? p->backoff * 2 : POOL_BACKOFF_MIN;
    if (p->backoff > POOL_BACKOFF_MAX)
        p->backoff = POOL_BACKOFF_MAX;
    p->hold_until = ev_now(p->loop) + p->backoff;
}

static void start_failed(struct slot *s, const struct backend_result *res, const char *step)
{
    struct pool *p = s->pool;
    char why[300];

    pool_engine_answered(p, res);
    pool_hold_back(p);
    snprintf(why, sizeof(why), "%s failed: %s", step,
             res->message ? res->message : backend_error_name(res->error));
    slot_retire(s, why);
}

static void on_started(const struct backend_result *res, void *arg)
{
    struct slot *s = arg;

    s->call = NULL;
    if (res->error != BACKEND_OK) {
        start_failed(s, res, "container start");
        return;
    }
    pool_engine_answered(s->pool, res);
    slot_set_state(s, SLOT_STARTING, "container started");
    slot_socket_appeared(s);
}

static void on_created(const struct backend_result *res, void *arg)
{
    struct slot *s = arg;
    struct backend *b = s->pool->cfg.backend;

    s->call = NULL;
    if (s->state == SLOT_RETIRING) { /* retired while the create was in flight */
        if (res->error == BACKEND_OK) {
            s->container = xstrdup(res->id);
            s->call = b->ops->remove(b, s->container, on_removed, s);
        }
        if (!s->call)
            slot_reap(s);
        return;
    }
    if (res->error != BACKEND_OK) {
        start_failed(s, res, "container create");
        return;
    }
    pool_engine_answered(s->pool, res);
    s->container = xstrdup(res->id);
    s->call = b->ops->start(b, s->container, on_started, s);
}

char *pool_path_join(const char *dir, const char *name)
{
    struct buf b = BUF_INIT;

    buf_printf(&b, "%s/%s", dir, name);
    return buf_steal(&b, NULL);
}

static bool slot_make_dirs(struct slot *s)
{
    struct pool *p = s->pool;

    s->sock_dir = pool_path_join(p->cfg.run_dir, s->name);
    s->sock_path = pool_path_join(s->sock_dir, POOL_SOCKET_NAME);
    s->workspace = pool_path_join(p->cfg.workspace_root, s->name);
    if (!slotdir_make(s->sock_dir, p->cfg.uid, 0700) ||
        !slotdir_make(s->workspace, p->cfg.uid, 0700)) {
        log_error("slot=%u msg=\"cannot create the slot's directories\" dir=%s errno=%d", s->id,
                  log_quote(s->sock_dir), errno);
        return false;
    }
    s->watch = inotify_add_watch(p->inotify_fd, s->sock_dir, IN_CREATE | IN_MOVED_TO);
    return true;
}

/* The mounts of a slot: socket directory, workspace, every SQLite CDM and
 * the CDM cluster's socket directory (when a CDM is there) read-only. */
static struct backend_mount *slot_mounts(struct slot *s, size_t *n, char ***paths)
{
    struct pool *p = s->pool;
    size_t k = 0, j = 0, ncdm = 0;
    struct backend_mount *m;

    while (p->cdms[ncdm])
        ncdm++;
    m = xcalloc(3 + ncdm, sizeof(*m));
    *paths = xcalloc(2 * ncdm + 1, sizeof(char *));
    m[k++] = (struct backend_mount){s->sock_dir, "/run/rserve", false};
    m[k++] = (struct backend_mount){s->workspace, "/sandbox", false};
    for (size_t i = 0; i < ncdm; i++) {
        struct buf b = BUF_INIT;

        if (pool_cdm_listed(p->pg_cdms, p->cdms[i]))
            continue;
        buf_printf(&b, "%s.sqlite", p->cdms[i]);
        (*paths)[j] = pool_path_join(p->cfg.cdm_dir, b.data);
        (*paths)[j + 1] = pool_path_join("/cdm", b.data);
        m[k++] = (struct backend_mount){(*paths)[j], (*paths)[j + 1], true};
        j += 2;
        buf_free(&b);
    }
    if (*p->pg_cdms)
        m[k++] = (struct backend_mount){p->cfg.pg_socket_dir, POOL_CDM_PG_MOUNT, true};
    *n = k;
    return m;
}

static void slot_send_create(struct slot *s)
{
    struct pool *p = s->pool;
    struct backend *b = p->cfg.backend;
    double cpus = p->cpu_at_create ? p->cfg.cpus : p->cfg.start_cpus;
    struct backend_spec spec = {
        .name = s->name,
        .image = p->cfg.image,
        .uid = p->cfg.uid,
        .gid = p->cfg.uid,
        .memory_bytes = p->cfg.memory_bytes,
        .cpu_quota_us = (int64_t)(cpus * POOL_CPU_PERIOD_US),
        .cpu_period_us = POOL_CPU_PERIOD_US,
        .pids_limit = p->cfg.pids_limit,
        .tmp_size_bytes = p->cfg.tmp_size_bytes,
        .pool_label = p->cfg.pool_label,
        .instance_label = p->instance,
    };
    char **paths;
    const char *err = NULL;

    s->cpu_limited = cpus == p->cfg.cpus;
    spec.mounts = slot_mounts(s, &spec.n_mounts, &paths);
    s->call = b->ops->create(b, &spec, on_created, s, &err);
    for (char **q = paths; *q; q++)
        free(*q);
    free(paths);
    free((void *)spec.mounts);
    if (!s->call) {
        log_error("slot=%u msg=\"create refused\" reason=%s", s->id, log_quote(err));
        p->hold_until = ev_now(p->loop) + POOL_BACKOFF_MAX;
        slot_retire(s, err ? err : "create refused");
    }
}

struct slot *slot_alloc(struct pool *p, const char *name)
{
    struct slot *s = xcalloc(1, sizeof(*s));

    s->pool = p;
    s->id = ++p->next_id;
    s->watch = -1;
    s->created_at = ev_now(p->loop);
    s->deadline = s->created_at + p->cfg.start_timeout;
    if (name)
        snprintf(s->name, sizeof(s->name), "%s", name);
    else
        snprintf(s->name, sizeof(s->name), "omcp-%s-%u", p->instance, s->id);
    ev_timer_init(&s->eval_timer, on_eval_timer, 0., 0.);
    s->eval_timer.data = s;
    return s;
}

void slot_place(struct slot *s, enum slot_state st)
{
    s->state = st;
    list_append(&s->pool->lists[st], s);
    s->pool->stats.slots[st]++;
}

/* The workspace is mounted (or stays a plain directory on a host that
 * cannot mount any): create the container. A workspace that failed is never
 * handed to a container: the slot retires and the pool backs off as after a
 * failed start. A slot retired meanwhile is on its way to being freed. */
static void on_workspace_ready(void *arg, enum wsmount_outcome outcome)
{
    struct slot *s = arg;

    if (s->state != SLOT_CREATING)
        return;
    if (outcome == WSMOUNT_FAILED) {
        pool_hold_back(s->pool);
        slot_retire(s, "the workspace could not be size-limited");
        return;
    }
    slot_send_create(s);
}

static void slot_new(struct pool *p)
{
    struct slot *s = slot_alloc(p, NULL);

    slot_place(s, SLOT_CREATING);
    p->stats.created++;
    log_info("slot=%u msg=\"creating\" name=%s", s->id, s->name);
    if (!slot_make_dirs(s)) {
        p->hold_until = ev_now(p->loop) + POOL_BACKOFF_MAX;
        slot_retire(s, "cannot create the slot's directories");
        return;
    }
    wsmount_prepare(p->loop, s->workspace, p->cfg.workspace_size, p->cfg.uid, on_workspace_ready,
                    s);
}

/* ---- retiring and freeing ---- */

static void slot_reap(struct slot *s)
{
    struct pool *p = s->pool;

    list_remove(&p->lists[s->state], s);
    p->stats.slots[s->state]--;
    list_append(&p->reap, s);
    p->stats.retired++;
    pool_kick(p);
}

static void on_removed(const struct backend_result *res, void *arg)
{
    struct slot *s = arg;

    s->call = NULL;
    if (res->error != BACKEND_OK && res->error != BACKEND_NOT_FOUND) {
        pool_engine_answered(s->pool, res);
        log_warn("slot=%u container=%.12s msg=\"remove failed; retried until it succeeds\" "
                 "error=%s",
                 s->id, s->container, backend_error_name(res->error));
        health_remove_later(s->pool, s->container);
    }
    slot_reap(s);
}

static void slot_cancel_calls(struct slot *s)
{
    struct backend *b = s->pool->cfg.backend;

    if (s->call)
        b->ops->cancel(b, s->call);
    if (s->interrupt_call)
        b->ops->cancel(b, s->interrupt_call);
    s->call = s->interrupt_call = NULL;
}

/* Closes the connection and removes the container; the slot is freed once
 * the engine has answered. */
void slot_retire(struct slot *s, const char *reason)
{
    struct pool *p = s->pool;
    struct backend *b = p->cfg.backend;

    if (s->state == SLOT_RETIRING)
        return;
    if (s->restore)
        pool_restore_failed(s, reason);
    slot_set_state(s, SLOT_RETIRING, reason);
    ev_timer_stop(p->loop, &s->eval_timer);
    if (s->call && !s->container) {
        /* A create in flight may still make a container: let it answer,
         * then remove what it made (on_created). */
        return;
    }
    slot_cancel_calls(s);
    if (s->grant_to) {
        struct pool_waiter *w = s->grant_to;

        s->grant_to = NULL;
        w->slot = NULL;
        waiter_fail(p, w, "backend_unavailable", true, "the sandbox failed while opening the CDM");
    }
    if (s->conn_open)
        rconn_close(&s->conn, reason);
    if (s->container)
        s->call = b->ops->remove(b, s->container, on_removed, s);
    if (!s->call)
        slot_reap(s);
}

static void slot_free(struct slot *s)
{
    struct pool *p = s->pool;

    if (s->watch >= 0)
        inotify_rm_watch(p->inotify_fd, s->watch);
    if (s->sock_dir && !slotdir_remove(s->sock_dir)) {
        log_warn("slot=%u msg=\"cannot remove the socket directory; retried\" errno=%d", s->id,
                 errno);
        health_leftover_add(p, s->sock_dir, false);
    }
    if (s->workspace && !wsmount_release(s->workspace)) {
        log_warn("slot=%u msg=\"cannot remove the workspace; retried\" errno=%d", s->id, errno);
        health_leftover_add(p, s->workspace, true);
    }
    free(s->container);
    free(s->sock_dir);
    free(s->sock_path);
    free(s->workspace);
    free(s->owner);
    free(s->session);
    if (s->restore) {
        free(s->restore->session);
        free(s->restore->owner);
        free(s->restore->cdm);
        free(s->restore);
    }
    free(s);
}

/* ---- the loop's watchers: fill, reap, sweeps, socket events ---- */

void pool_kick(struct pool *p)
{
    if (!ev_is_active(&p->check))
        ev_check_start(p->loop, &p->check);
}

/* Starts containers until the idle target (plus waiters) is met, within
 * the slot limit, the start limit and the backoff after failures. */
static void pool_fill(struct pool *p)
{
    unsigned supply, demand;

    if (!p->started || !p->cleaned || p->stopping || ev_now(p->loop) < p->hold_until)
        return;
    for (;;) {
        supply = pool_starting(p) + p->stats.slots[SLOT_IDLE] + p->stats.slots[SLOT_RECYCLING];
        demand = p->cfg.min_idle + p->stats.waiters;
        if (supply >= demand || pool_total(p) >= p->cfg.max_slots ||
            pool_starting(p) >= p->cfg.max_starting || ev_now(p->loop) < p->hold_until)
            return;
        slot_new(p);
    }
}

static void pool_check_stopped(struct pool *p)
{
    void (*done)(struct pool *, void *) = p->stop_done;

    if (!p->stopping || !done)
        return;
    if ((pool_total(p) > 0 || p->removals) && ev_now(p->loop) < p->stop_deadline)
        return;
    if (pool_total(p) > 0 || p->removals)
        log_warn("msg=\"pool stop timed out\" slots_left=%u removals_left=%s", pool_total(p),
                 p->removals ? "yes" : "no");
    p->stop_done = NULL;
    done(p, p->stop_arg);
}

static void on_check(struct ev_loop *loop, ev_check *w, int revents)
{
    struct pool *p = w->data;
    struct slot *s;

    ev_check_stop(loop, w);
    while ((s = p->reap.head) != NULL) {
        list_remove(&p->reap, s);
        slot_free(s);
    }
    if (p->state_dirty)
        pool_state_flush(p);
    pool_fill(p);
    pool_check_stopped(p);
}

static void sweep_waiters(struct pool *p, double now)
{
    struct pool_waiter *w = p->waiters_head, *next;

    for (; w; w = next) {
        next = w->next;
        if (now < w->deadline)
            continue;
        waiter_unlink(p, w);
        waiter_fail(p, w, "backend_unavailable", true,
                    "no sandbox became ready within POOL_ACQUIRE_TIMEOUT");
    }
}

static void sweep_slots(struct pool *p, double now)
{
    static const enum slot_state coming[] = {SLOT_CREATING, SLOT_STARTING, SLOT_WARMING,
                                             SLOT_RECYCLING};
    struct slot *s, *next;

    for (size_t i = 0; i < sizeof(coming) / sizeof(coming[0]); i++) {
        for (s = p->lists[coming[i]].head; s; s = next) {
            next = s->next;
            if (coming[i] == SLOT_STARTING && !s->conn_open)
                slot_socket_appeared(s); /* in case an inotify event was missed */
            if (now > s->deadline && s->state == coming[i])
                slot_retire(s, "not warm within the start timeout");
        }
    }
    for (s = p->lists[SLOT_IDLE].head; s; s = next) {
        next = s->next;
        if (p->cfg.max_slot_age > 0 && now - s->ready_at > p->cfg.max_slot_age)
            slot_retire(s, "reached POOL_MAX_SLOT_AGE");
    }
    for (s = p->lists[SLOT_LEASED].head; s; s = next) {
        next = s->next;
        if (s->idle_timeout > 0 && s->eval_phase == EVAL_NONE && !s->grant_to &&
            now - s->last_used > s->idle_timeout)
            slot_lose(s, "idle_timeout", POOL_CAUSE_IDLE, "session idle longer than its timeout");
    }
}

static void pool_cleanup(struct pool *p);

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct pool *p = w->data;
    double now = ev_now(loop);

    if (p->started && !p->cleaned && !p->cleanup_call && !p->cleanup_removes)
        pool_cleanup(p);
    sweep_waiters(p, now);
    sweep_slots(p, now);
    health_sweep(p, now);
    pool_state_sweep(p, now);
    pool_kick(p);
}

static struct slot *slot_by_watch(struct pool *p, int wd)
{
    for (struct slot *s = p->lists[SLOT_STARTING].head; s; s = s->next) {
        if (s->watch == wd)
            return s;
    }
    return NULL;
}

static void on_inotify(struct ev_loop *loop, ev_io *w, int revents)
{
    struct pool *p = w->data;
    char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    while ((n = read(p->inotify_fd, events, sizeof(events))) > 0) {
        for (char *at = events; at < events + n;) {
            struct inotify_event *ie = (struct inotify_event *)at;
            struct slot *s;

            at += sizeof(*ie) + ie->len;
            if (ie->len == 0 || strcmp(ie->name, POOL_SOCKET_NAME) != 0)
                continue;
            s = slot_by_watch(p, ie->wd);
            if (s && !s->conn_open)
                slot_socket_appeared(s);
        }
    }
}

/* ---- start-up: leftovers of an earlier run ---- */

static void on_leftover_removed(const struct backend_result *res, void *arg)
{
    struct pool *p = arg;

    if (res->error != BACKEND_OK && res->error != BACKEND_NOT_FOUND)
        log_warn("msg=\"cannot remove a leftover container\" error=%s",
                 backend_error_name(res->error));
    if (--p->cleanup_removes == 0) {
        p->cleaned = true;
        pool_kick(p);
    }
}

/* Directories named like slots in dir belong to an earlier run, unless
 * the restart keeps them. */
static void remove_leftover_dirs(const struct pool *p, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "omcp-", 5) != 0)
            continue;
        char *path = pool_path_join(dir, de->d_name);

        if (pool_restore_keeps(p, path)) {
            free(path);
            continue;
        }
        log_info("msg=\"removing leftover slot directory\" path=%s", log_quote(path));
        slotdir_remove(path);
        free(path);
    }
    closedir(d);
}

static bool keeps_workspace(const char *path, void *arg)
{
    return pool_restore_keeps(arg, path);
}

static void on_leftovers_listed(const struct backend_result *res, void *arg)
{
    struct pool *p = arg;
    struct backend *b = p->cfg.backend;

    p->cleanup_call = NULL;
    pool_engine_answered(p, res);
    if (res->error != BACKEND_OK)
        return; /* the sweep asks again */
    for (size_t i = 0; i < res->n_containers; i++) {
        if (pool_restore_adopt(p, &res->containers[i]))
            continue;
        log_info("msg=\"removing leftover container\" container=%.12s name=%s",
                 res->containers[i].id, log_quote(res->containers[i].name));
        if (b->ops->remove(b, res->containers[i].id, on_leftover_removed, p))
            p->cleanup_removes++;
    }
    pool_restore_finish(p);
    remove_leftover_dirs(p, p->cfg.run_dir);
    wsmount_cleanup(p->cfg.workspace_root, keeps_workspace, p);
    if (p->cleanup_removes == 0) {
        p->cleaned = true;
        pool_kick(p);
    }
}

static void pool_cleanup(struct pool *p)
{
    struct backend *b = p->cfg.backend;

    p->cleanup_call =
        b->ops->list(b, BACKEND_LABEL_POOL, p->cfg.pool_label, on_leftovers_listed, p);
}

void pool_start(struct pool *p)
{
    log_info("msg=\"pool starting\" instance=%s min_idle=%u max_slots=%u max_starting=%u "
             "recycle=%s warm_cdm=%s",
             p->instance, p->cfg.min_idle, p->cfg.max_slots, p->cfg.max_starting,
             p->cfg.recycle == RECYCLE_CONTAINER ? "container" : "process", log_quote(p->warm_cdm));
    p->started = true;
    ev_timer_again(p->loop, &p->sweep);
    pool_cleanup(p);
    health_start(p);
}

void pool_stop(struct pool *p, double timeout, void (*done)(struct pool *p, void *arg), void *arg)
{
    static const enum slot_state order[] = {SLOT_CREATING, SLOT_STARTING,  SLOT_WARMING,
                                            SLOT_IDLE,     SLOT_RECYCLING, SLOT_LEASED};
    struct slot *s;

    log_info("msg=\"pool stopping\" slots=%u", pool_total(p));
    p->stopping = true;
    health_stop(p);
    p->stop_deadline = ev_now(p->loop) + timeout;
    p->stop_done = done;
    p->stop_arg = arg;
    waiters_fail_all(p, "pool_stopping", true, "the daemon is shutting down");
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        while ((s = p->lists[order[i]].head) != NULL)
            slot_lose(s, "session_lost", POOL_CAUSE_STOPPING, "the daemon is shutting down");
    }
    pool_kick(p);
}

/* ---- creation ---- */

static void pool_instance_id(char out[17])
{
    uint8_t bytes[8];

    if (getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes))
        panic("getrandom failed");
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

static const char *pool_check_config(const struct pool_config *cfg)
{
    if (!cfg->backend || !cfg->image || !*cfg->image)
        return "no backend or no image";
    if (cfg->uid == 0)
        return "the sandbox uid must not be 0";
    if (cfg->max_slots == 0 || cfg->max_starting == 0)
        return "MAX_SANDBOXES and POOL_MAX_STARTING must be at least 1";
    if (cfg->min_idle > cfg->max_slots)
        return "POOL_MIN_IDLE is larger than MAX_SANDBOXES";
    if (!cfg->run_dir || !cfg->workspace_root || !cfg->pool_label)
        return "no run directory, workspace root or pool label";
    if (!slotdir_make_parents(cfg->run_dir) || !slotdir_make_parents(cfg->workspace_root))
        return "cannot create the run directory or the workspace root";
    return NULL;
}

static void pool_copy_config(struct pool *p, const struct pool_config *cfg)
{
    p->cfg = *cfg;
    p->cfg.image = xstrdup(cfg->image);
    p->cfg.run_dir = xstrdup(cfg->run_dir);
    p->cfg.workspace_root = xstrdup(cfg->workspace_root);
    p->cfg.cdm_dir = xstrdup(cfg->cdm_dir ? cfg->cdm_dir : "");
    p->cfg.cdm_default = xstrdup(cfg->cdm_default ? cfg->cdm_default : "");
    p->cfg.pg_socket_dir = xstrdup(cfg->pg_socket_dir ? cfg->pg_socket_dir : "");
    p->cfg.pg_user = xstrdup(cfg->pg_user ? cfg->pg_user : "");
    p->cfg.pool_label = xstrdup(cfg->pool_label);
    p->cfg.state_path = cfg->state_path ? xstrdup(cfg->state_path) : NULL;
    if (p->cfg.start_timeout <= 0)
        p->cfg.start_timeout = 120;
    if (p->cfg.interrupt_grace <= 0)
        p->cfg.interrupt_grace = 5;
    if (!p->cfg.max_frame)
        p->cfg.max_frame = RCONN_DEFAULT_MAX_FRAME;
}

static void pool_init_watchers(struct pool *p)
{
    ev_timer_init(&p->sweep, on_sweep, 0., POOL_SWEEP_INTERVAL);
    p->sweep.data = p;
    ev_check_init(&p->check, on_check);
    p->check.data = p;
    ev_io_init(&p->inotify_io, on_inotify, p->inotify_fd, EV_READ);
    p->inotify_io.data = p;
    ev_io_start(p->loop, &p->inotify_io);
}

struct pool *pool_new(struct ev_loop *loop, const struct pool_config *cfg, const char **err)
{
    struct pool *p;
    int fd;

    if ((*err = pool_check_config(cfg)) != NULL)
        return NULL;
    fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        *err = "inotify_init1 failed";
        return NULL;
    }
    p = xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->inotify_fd = fd;
    p->stats.engine_up = true;
    pool_copy_config(p, cfg);
    pool_instance_id(p->instance);
    p->cdms = pool_cdm_scan(p->cfg.cdm_dir, pool_cdm_pg_usable(p->cfg.pg_socket_dir), &p->pg_cdms);
    if (*p->pg_cdms)
        log_info("msg=\"CDMs on PostgreSQL\" first=%s socket_dir=%s port=%d role=%s",
                 log_quote(p->pg_cdms[0]), log_quote(p->cfg.pg_socket_dir), p->cfg.pg_port,
                 log_quote(p->cfg.pg_user));
    p->warm_cdm = pool_has_cdm(p, p->cfg.cdm_default) ? p->cfg.cdm_default : "";
    if (*p->cfg.cdm_default && !*p->warm_cdm)
        log_warn("msg=\"default CDM not found; sessions start without cdm_con\" cdm=%s dir=%s",
                 log_quote(p->cfg.cdm_default), log_quote(p->cfg.cdm_dir));
    pool_init_watchers(p);
    pool_state_load(p);
    return p;
}

void pool_free(struct pool *p)
{
    struct slot *s;

    if (!p)
        return;
    for (int i = 0; i < SLOT_NSTATES; i++) {
        while ((s = p->lists[i].head) != NULL) {
            list_remove(&p->lists[i], s);
            if (s->conn_open)
                rconn_close(&s->conn, "pool freed");
            slot_cancel_calls(s);
            ev_timer_stop(p->loop, &s->eval_timer);
            slot_free(s);
        }
    }
    while ((s = p->reap.head) != NULL) {
        list_remove(&p->reap, s);
        slot_free(s);
    }
    waiters_fail_all(p, "pool_stopping", false, "the pool was freed");
    pool_state_flush(p);
    pool_orphans_free(p);
    health_removals_free(p);
    health_leftovers_free(p);
    state_free(&p->restored);
    if (p->cleanup_call)
        p->cfg.backend->ops->cancel(p->cfg.backend, p->cleanup_call);
    health_stop(p);
    ev_timer_stop(p->loop, &p->sweep);
    ev_check_stop(p->loop, &p->check);
    ev_io_stop(p->loop, &p->inotify_io);
    close(p->inotify_fd);
    pool_cdm_names_free(p->cdms);
    pool_cdm_names_free(p->pg_cdms);
    free((char *)p->cfg.image);
    free((char *)p->cfg.run_dir);
    free((char *)p->cfg.workspace_root);
    free((char *)p->cfg.cdm_dir);
    free((char *)p->cfg.cdm_default);
    free((char *)p->cfg.pg_socket_dir);
    free((char *)p->cfg.pg_user);
    free((char *)p->cfg.pool_label);
    free((char *)p->cfg.state_path);
    free(p);
}

void pool_config_from(struct pool_config *pc, const struct config *cfg, struct backend *backend)
{
    static char run_dir[PATH_MAX], state_path[PATH_MAX];

    snprintf(run_dir, sizeof(run_dir), "%s/run", cfg->state_dir);
    snprintf(state_path, sizeof(state_path), "%s/pool-state.msgpack", cfg->state_dir);
    *pc = (struct pool_config){
        .backend = backend,
        .image = cfg->docker_image,
        .uid = (unsigned)cfg->sandbox_uid,
        .memory_bytes = cfg->sandbox_memory,
        .cpus = cfg->sandbox_cpus,
        .start_cpus = cfg->sandbox_start_cpus,
        .pids_limit = cfg->sandbox_pids_limit,
        .tmp_size_bytes = cfg->sandbox_tmp_size,
        .min_idle = (unsigned)cfg->pool_min_idle,
        .max_slots = (unsigned)cfg->max_sandboxes,
        .max_starting = (unsigned)cfg->pool_max_starting,
        .acquire_timeout = cfg->pool_acquire_timeout,
        .max_slot_age = cfg->pool_max_slot_age,
        .idle_timeout = cfg->sandbox_timeout,
        .interrupt_grace = cfg->interrupt_grace,
        .recycle = cfg->pool_recycle,
        .run_dir = run_dir,
        .workspace_root = cfg->workspace_root,
        .workspace_size = cfg->workspace_size,
        .cdm_dir = cfg->cdm_dir,
        .cdm_default = cfg->cdm_default,
        .pg_socket_dir = cfg->db_host,
        .pg_port = (int)cfg->db_port,
        .pg_user = cfg->db_sandbox_user,
        .pool_label = cfg->state_dir,
        .state_path = state_path,
        .max_frame = (uint64_t)cfg->max_frame_bytes,
    };
}
