/* Supervision of the pool: the engine's event stream (a container that
 * dies, is killed or is removed from outside retires its slot), a ping that
 * tells a hung or stopped engine within a second, a cheap probe of idle
 * slots, and the container's OOM-kill counter, which names the cause when
 * the kernel ends an R process while PID 1 lives on. */
#include "pool/pool_impl.h"

#include "pool/slotdir.h"
#include "pool/wsmount.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_PING_INTERVAL   1.0  /* seconds between engine pings */
#define HEALTH_EVENTS_BACKOFF  0.5  /* first wait before reconnecting the stream */
#define HEALTH_EVENTS_MAX_WAIT 8.0  /* longest wait between reconnects */
#define HEALTH_PROBE_INTERVAL  30.0 /* an idle slot is probed this long after its last answer */
#define HEALTH_PROBE_TIMEOUT   5.0  /* a probe unanswered this long retires the slot */
#define HEALTH_LEFTOVER_RETRY  5.0  /* seconds between tries to remove a slot's leftovers */

/* ---- OOM kills ---- */

/* cgroup v1 memory.oom_control ("oom_kill N") and cgroup v2 memory.events
 * ("oom_kill N"), under Docker's and Podman's cgroupfs and systemd layouts. */
long long health_oom_kills(const char *container)
{
    static const char *const layouts[] = {
        "/sys/fs/cgroup/memory/docker/%s/memory.oom_control",
        "/sys/fs/cgroup/memory/system.slice/docker-%s.scope/memory.oom_control",
        "/sys/fs/cgroup/system.slice/docker-%s.scope/memory.events",
        "/sys/fs/cgroup/docker/%s/memory.events",
        "/sys/fs/cgroup/memory/libpod_parent/libpod-%s/memory.oom_control",
        "/sys/fs/cgroup/memory/machine.slice/libpod-%s.scope/memory.oom_control",
        "/sys/fs/cgroup/machine.slice/libpod-%s.scope/memory.events",
        "/sys/fs/cgroup/libpod_parent/libpod-%s/memory.events",
    };
    char path[512], line[128];
    long long kills = -1;

    for (size_t i = 0; container && i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        FILE *f;

        snprintf(path, sizeof(path), layouts[i], container);
        if (!(f = fopen(path, "re")))
            continue;
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "oom_kill %lld", &kills) == 1)
                break;
        fclose(f);
        return kills;
    }
    return -1;
}

const char *health_drop_cause(const struct slot *s)
{
    long long kills = health_oom_kills(s->container);

    return kills > s->oom_kills && s->oom_kills >= 0 ? POOL_CAUSE_OOM : POOL_CAUSE_CLOSED;
}

/* ---- the event stream ---- */

static struct slot *slot_by_container(struct pool *p, const char *id)
{
    for (int st = 0; st < SLOT_NSTATES; st++)
        for (struct slot *s = p->lists[st].head; s; s = s->next)
            if (s->container && id && strcmp(s->container, id) == 0)
                return s;
    return NULL;
}

/* A container of this pool stopped or vanished without the pool asking. */
static void container_gone(struct slot *s, const char *cause, const char *reason)
{
    if (s->state == SLOT_RETIRING || s->state == SLOT_RECYCLING)
        return; /* the pool's own doing */
    if (s->state == SLOT_LEASED)
        slot_lose(s, "session_lost", cause, reason);
    else
        slot_retire(s, reason);
}

static void on_event(const struct backend_event *ev, void *arg)
{
    struct pool *p = arg;
    struct slot *s;
    char why[160];

    p->events_since = ev->time_nano;
    p->events_backoff = 0;
    if (!(s = slot_by_container(p, ev->id)))
        return;
    log_debug("slot=%u container=%.12s msg=\"engine event\" action=%s", s->id, s->container,
              log_quote(ev->action));
    if (strcmp(ev->action, "die") == 0) {
        bool oom = strcmp(health_drop_cause(s), POOL_CAUSE_OOM) == 0;

        snprintf(why, sizeof(why), "container exited with status %d%s", ev->exit_code,
                 oom ? " after an OOM kill" : "");
        container_gone(s, oom ? POOL_CAUSE_OOM : POOL_CAUSE_EXITED, why);
    } else if (strcmp(ev->action, "destroy") == 0) {
        container_gone(s, POOL_CAUSE_REMOVED, "container removed from outside the pool");
    } else if (strcmp(ev->action, "pause") == 0) {
        container_gone(s, POOL_CAUSE_EXITED, "container paused from outside the pool");
    }
}

static void on_events_ended(const struct backend_result *res, void *arg)
{
    struct pool *p = arg;

    p->events_call = NULL;
    pool_engine_answered(p, res);
    p->events_backoff = p->events_backoff ? p->events_backoff * 2 : HEALTH_EVENTS_BACKOFF;
    if (p->events_backoff > HEALTH_EVENTS_MAX_WAIT)
        p->events_backoff = HEALTH_EVENTS_MAX_WAIT;
    p->events_retry_at = ev_now(p->loop) + p->events_backoff;
    log_info("msg=\"engine event stream ended; reconnecting\" reason=%s wait_s=%.1f",
             log_quote(res->message ? res->message : backend_error_name(res->error)),
             p->events_backoff);
}

static void events_connect(struct pool *p)
{
    struct backend *b = p->cfg.backend;

    p->events_call = b->ops->events(b, BACKEND_LABEL_POOL, p->cfg.pool_label, p->events_since,
                                    on_event, on_events_ended, p);
}

/* ---- engine ping ---- */

static void on_ping(const struct backend_result *res, void *arg)
{
    struct pool *p = arg;

    p->ping_call = NULL;
    pool_engine_answered(p, res);
}

/* ---- idle probes ---- */

static void on_probe(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct slot *s = ctx;

    s->probe_sent = 0;
    if (reply->outcome == RCONN_REPLY_FAILED)
        return; /* the closed callback retires the slot */
    if (reply->outcome != RCONN_REPLY_OK && s->state == SLOT_IDLE) {
        slot_retire(s, "idle probe answered with an error");
        return;
    }
    s->probed_at = ev_now(s->pool->loop);
}

static void probe_idle(struct pool *p, double now)
{
    struct slot *s, *next;

    for (s = p->lists[SLOT_IDLE].head; s; s = next) {
        next = s->next;
        if (s->probe_sent && now - s->probe_sent > HEALTH_PROBE_TIMEOUT) {
            slot_retire(s, "idle probe not answered");
        } else if (!s->probe_sent && now - s->probed_at > HEALTH_PROBE_INTERVAL) {
            s->probe_sent = now;
            rconn_void_eval(&s->conn, "NULL", on_probe, s);
        }
    }
}

/* ---- removals that failed ---- */

void health_remove_later(struct pool *p, const char *container)
{
    struct pool_removal *r = xcalloc(1, sizeof(*r));

    r->container = xstrdup(container);
    r->next = p->removals;
    p->removals = r;
}

static void on_removal_retried(const struct backend_result *res, void *arg)
{
    struct pool *p = arg;
    struct pool_removal *r = p->removals;

    p->removal_call = NULL;
    pool_engine_answered(p, res);
    if (res->error != BACKEND_OK && res->error != BACKEND_NOT_FOUND)
        return;
    log_info("container=%.12s msg=\"container removed on retry\"", r->container);
    p->removals = r->next;
    free(r->container);
    free(r);
    pool_kick(p); /* a stop may be waiting for this */
}

static void retry_removal(struct pool *p, double now)
{
    struct backend *b = p->cfg.backend;

    if (!p->removals || p->removal_call || now < p->removal_next)
        return;
    p->removal_next = now + 1.0;
    p->removal_call = b->ops->remove(b, p->removals->container, on_removal_retried, p);
}

void health_removals_free(struct pool *p)
{
    if (p->removal_call)
        p->cfg.backend->ops->cancel(p->cfg.backend, p->removal_call);
    p->removal_call = NULL;
    while (p->removals) {
        struct pool_removal *r = p->removals;

        log_warn("container=%.12s msg=\"container not removed; the next start removes it\"",
                 r->container);
        p->removals = r->next;
        free(r->container);
        free(r);
    }
}

/* ---- slot directories that could not be removed ---- */

void health_leftover_add(struct pool *p, const char *path, bool workspace)
{
    struct pool_leftover *l = xcalloc(1, sizeof(*l));

    l->path = xstrdup(path);
    l->workspace = workspace;
    l->next = p->leftovers;
    p->leftovers = l;
    if (p->leftover_next < ev_now(p->loop))
        p->leftover_next = ev_now(p->loop) + HEALTH_LEFTOVER_RETRY;
}

static bool leftover_remove(const struct pool_leftover *l)
{
    return l->workspace ? wsmount_release(l->path) : slotdir_remove(l->path);
}

static void retry_leftovers(struct pool *p, double now)
{
    struct pool_leftover **at = &p->leftovers, *l;

    if (!p->leftovers || now < p->leftover_next)
        return;
    p->leftover_next = now + HEALTH_LEFTOVER_RETRY;
    while ((l = *at) != NULL) {
        if (!leftover_remove(l)) {
            log_debug("dir=%s msg=\"still cannot remove\" errno=%d", log_quote(l->path), errno);
            at = &l->next;
            continue;
        }
        log_info("dir=%s msg=\"removed on retry\"", log_quote(l->path));
        *at = l->next;
        free(l->path);
        free(l);
    }
}

void health_leftovers_free(struct pool *p)
{
    while (p->leftovers) {
        struct pool_leftover *l = p->leftovers;

        if (!leftover_remove(l))
            log_warn("dir=%s msg=\"not removed; the next start removes it\" errno=%d",
                     log_quote(l->path), errno);
        p->leftovers = l->next;
        free(l->path);
        free(l);
    }
}

/* ---- from the pool ---- */

void health_start(struct pool *p)
{
    p->events_since = (long long)(ev_time() * 1e9);
    events_connect(p);
}

void health_stop(struct pool *p)
{
    struct backend *b = p->cfg.backend;

    if (p->events_call)
        b->ops->cancel(b, p->events_call);
    if (p->ping_call)
        b->ops->cancel(b, p->ping_call);
    p->events_call = p->ping_call = NULL;
}

void health_sweep(struct pool *p, double now)
{
    struct backend *b = p->cfg.backend;

    if (!p->started)
        return;
    retry_removal(p, now);
    retry_leftovers(p, now);
    if (p->stopping)
        return;
    if (!p->events_call && now >= p->events_retry_at)
        events_connect(p);
    if (!p->ping_call && now >= p->ping_next && b->ops->ping) {
        p->ping_next = now + HEALTH_PING_INTERVAL;
        p->ping_call = b->ops->ping(b, on_ping, p);
    }
    probe_idle(p, now);
}
