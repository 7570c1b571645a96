/* The pool's state file, and a restart that reads it back: idle containers
 * are adopted and warmed again, leased ones are leased again to the session
 * that held them (its R variables died with the old connection, its files
 * did not), and the workspaces of sessions whose container is gone are kept
 * until their owner forgets them. Everything else is removed. */
#include "pool/pool_impl.h"

#include "pool/wsmount.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define STATE_RETRY_SECS  1.0         /* a failing state file is tried again this often */
#define STATE_ROOM_MARGIN (64 * 1024) /* free beyond the file's size for a lease's records */

/* ---- writing ---- */

void pool_state_mark(struct pool *p)
{
    p->state_dirty = true;
    pool_kick(p);
}

static void lease_record(struct state_lease *l, const char *session, const char *owner,
                         const char *cdm, double created_at, double last_used, double idle)
{
    l->session = (char *)session;
    l->owner = (char *)owner;
    l->cdm = (char *)(cdm && *cdm ? cdm : NULL);
    l->created_at = created_at;
    l->last_used = last_used;
    l->idle_timeout = idle;
}

/* The records point into the pool's own strings: built, written, dropped. */
static void state_collect(struct pool *p, struct state *st)
{
    double wall = ev_time() - ev_now(p->loop); /* ev_now() times as wall clock */
    size_t n = 0;

    for (int i = 0; i < SLOT_NSTATES; i++)
        n += p->stats.slots[i];
    st->slots = xcalloc(n + 1, sizeof(*st->slots));
    for (int i = 0; i < SLOT_NSTATES; i++)
        for (struct slot *s = p->lists[i].head; s; s = s->next) {
            struct state_slot *r = &st->slots[st->n_slots++];

            *r = (struct state_slot){.name = s->name,
                                     .container = s->container,
                                     .workspace = s->workspace,
                                     .sock_dir = s->sock_dir,
                                     .state = (char *)slot_state_name(s->state),
                                     .created_at = s->created_at + wall};
            if (s->state == SLOT_LEASED && s->session) {
                r->leased = true;
                lease_record(&r->lease, s->session, s->owner, s->cdm, s->session_created_at,
                             s->last_used + wall, s->idle_timeout);
            }
        }
    for (struct pool_orphan *o = p->orphans; o; o = o->next)
        st->n_orphans++;
    st->orphans = xcalloc(st->n_orphans + 1, sizeof(*st->orphans));
    n = 0;
    for (struct pool_orphan *o = p->orphans; o; o = o->next, n++)
        st->orphans[n] = (struct state_orphan){
            .workspace = o->workspace, .cause = (char *)o->cause, .lease = o->lease};
}

/* Why the state directory has no room for the next state file beside the
 * current one (its size again and a margin for the records a change adds),
 * or NULL. Blocks kept for root count as taken: ext4 keeps some that even
 * root cannot write. A directory that cannot be examined is left to the
 * write. */
static const char *state_room_short(const struct pool *p)
{
    char dir[PATH_MAX];
    char *slash;
    struct statvfs vfs;
    unsigned long long room;

    snprintf(dir, sizeof(dir), "%s", p->cfg.state_path);
    slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else
        slash[slash == dir] = '\0';
    if (statvfs(dir, &vfs) != 0)
        return NULL;
    if (vfs.f_flag & ST_RDONLY)
        return strerror(EROFS);
    room = (unsigned long long)vfs.f_bavail * vfs.f_frsize; /* df's "Avail" */
    if ((vfs.f_files > 0 && vfs.f_ffree == 0) || room < p->stats.state_bytes + STATE_ROOM_MARGIN)
        return strerror(ENOSPC);
    return NULL;
}

/* The one place the state file's health changes, logged once each way. */
static void state_health(struct pool *p, const char *error)
{
    double now = ev_now(p->loop);

    if (error && !p->state_error) {
        p->state_failing_since = now;
        log_error("msg=\"cannot write the state file; new leases are refused until it can be\" "
                  "path=%s reason=%s",
                  log_quote(p->cfg.state_path), log_quote(error));
    } else if (!error && p->state_error) {
        log_info("msg=\"state file written again; leases accepted\" path=%s seconds=%.1f",
                 log_quote(p->cfg.state_path), now - p->state_failing_since);
    }
    p->state_error = error;
    p->stats.state_failing = error != NULL;
    if (error)
        p->state_retry_at = now + STATE_RETRY_SECS;
}

void pool_state_flush(struct pool *p)
{
    struct state st = {.instance = p->instance, .written_at = ev_time()};
    const char *err = NULL;
    double began = ev_time();
    size_t bytes = 0;

    if (p->cfg.state_path && p->state_error && ev_now(p->loop) < p->state_retry_at)
        return; /* stays dirty; the sweep tries again */
    p->state_dirty = false;
    if (!p->cfg.state_path)
        return;
    state_collect(p, &st);
    if (!state_save(p->cfg.state_path, &st, &bytes, &err)) {
        p->stats.state_write_failures++;
        p->state_dirty = true;
        log_debug("msg=\"state file not written\" path=%s reason=%s", log_quote(p->cfg.state_path),
                  log_quote(err));
        state_health(p, err);
    } else {
        p->stats.state_writes++;
        p->stats.state_bytes = bytes;
        state_health(p, state_room_short(p));
    }
    hist_record(&p->stats.state_write, ev_time() - began);
    free(st.slots);
    free(st.orphans);
}

bool pool_state_writable(struct pool *p)
{
    if (p->cfg.state_path && !p->state_error)
        state_health(p, state_room_short(p));
    return !p->state_error;
}

void pool_state_sweep(struct pool *p, double now)
{
    if (!p->cfg.state_path || now < p->state_check_at)
        return;
    p->state_check_at = now + STATE_RETRY_SECS;
    if (p->state_error)
        pool_state_mark(p); /* written again, and checked, at the next pass */
    else
        state_health(p, state_room_short(p));
}

/* ---- kept workspaces ---- */

static void lease_copy(struct state_lease *to, const struct state_lease *from)
{
    to->session = from->session ? xstrdup(from->session) : NULL;
    to->owner = from->owner ? xstrdup(from->owner) : NULL;
    to->cdm = from->cdm ? xstrdup(from->cdm) : NULL;
    to->created_at = from->created_at;
    to->last_used = from->last_used;
    to->idle_timeout = from->idle_timeout;
}

static void lease_drop(struct state_lease *l)
{
    free(l->session);
    free(l->owner);
    free(l->cdm);
}

static struct pool_orphan *orphan_new(struct pool *p, const char *workspace, const char *cause,
                                      const struct state_lease *lease)
{
    struct pool_orphan *o = xcalloc(1, sizeof(*o));

    o->workspace = xstrdup(workspace);
    o->cause = cause;
    lease_copy(&o->lease, lease);
    o->next = p->orphans;
    p->orphans = o;
    p->stats.kept_workspaces++;
    pool_state_mark(p);
    return o;
}

void pool_orphan_add(struct slot *s, const char *cause)
{
    struct state_lease lease;
    double wall = ev_time() - ev_now(s->pool->loop);

    if (!s->workspace)
        return;
    lease_record(&lease, s->session, s->owner, s->cdm, s->session_created_at, s->last_used + wall,
                 s->idle_timeout);
    orphan_new(s->pool, s->workspace, cause, &lease);
    log_info("slot=%u msg=\"workspace kept for its session\" path=%s", s->id,
             log_quote(s->workspace));
    free(s->workspace);
    s->workspace = NULL; /* the slot no longer deletes it */
}

void pool_forget_workspace(struct pool *p, const char *workspace)
{
    for (struct pool_orphan **at = &p->orphans; *at; at = &(*at)->next) {
        struct pool_orphan *o = *at;

        if (strcmp(o->workspace, workspace) != 0)
            continue;
        *at = o->next;
        if (!wsmount_release(o->workspace))
            log_warn("msg=\"cannot remove a kept workspace\" path=%s", log_quote(o->workspace));
        lease_drop(&o->lease);
        free(o->workspace);
        free(o);
        p->stats.kept_workspaces--;
        pool_state_mark(p);
        return;
    }
}

void pool_orphans_free(struct pool *p)
{
    while (p->orphans) {
        struct pool_orphan *o = p->orphans;

        p->orphans = o->next;
        lease_drop(&o->lease);
        free(o->workspace);
        free(o);
    }
}

/* ---- the owner ---- */

void pool_set_restore(struct pool *p, pool_restore_fn fn, void *arg)
{
    p->restore_fn = fn;
    p->restore_arg = arg;
}

void pool_lease_watch(struct slot *s, pool_lost_fn lost, void *arg)
{
    s->lost = lost;
    s->lost_arg = arg;
}

static void tell_owner(struct pool *p, enum pool_restore_kind kind, const struct state_lease *l,
                       const char *workspace, struct slot *s, const char *cause)
{
    struct pool_restored r = {
        .kind = kind,
        .session = l->session,
        .owner = l->owner,
        .cdm = l->cdm,
        .created_at = l->created_at,
        .last_used = l->last_used,
        .idle_timeout = l->idle_timeout,
        .workspace = workspace,
        .slot = kind == POOL_RESTORE_READY ? s : NULL,
        .cause = cause,
        /* READY, and LOST of an adopted slot, follow a PENDING report. */
        .announced = kind == POOL_RESTORE_READY || (kind == POOL_RESTORE_LOST && s),
    };

    if (p->restore_fn)
        p->restore_fn(&r, p->restore_arg);
}

/* ---- reading back ---- */

void pool_state_load(struct pool *p)
{
    const char *err = NULL;

    if (!p->cfg.state_path || state_load(p->cfg.state_path, &p->restored, &err))
        return;
    if (!err)
        return; /* no file: a first start, or a clean stop before */
    log_error("msg=\"state file unreadable; set aside, starting clean\" path=%s reason=%s",
              log_quote(p->cfg.state_path), log_quote(err));
    state_set_aside(p->cfg.state_path);
}

static struct state_slot *restored_slot(struct pool *p, const struct backend_container *c)
{
    for (size_t i = 0; i < p->restored.n_slots; i++) {
        struct state_slot *r = &p->restored.slots[i];

        if ((r->container && strcmp(r->container, c->id) == 0) ||
            (c->name && strcmp(r->name, c->name) == 0))
            return r;
    }
    return NULL;
}

/* Paths from the state file must name this pool's own directories. */
static bool own_dir(const char *root, const char *path)
{
    size_t n = strlen(root);

    return path && strncmp(path, root, n) == 0 && path[n] == '/' && !strchr(path + n + 1, '/') &&
           strncmp(path + n + 1, "omcp-", 5) == 0;
}

bool pool_restore_adopt(struct pool *p, const struct backend_container *c)
{
    struct state_slot *r = restored_slot(p, c);
    struct slot *s;

    if (!r || !r->container || strcmp(c->state ? c->state : "", "running") != 0 ||
        !(strcmp(r->state, "idle") == 0 || (strcmp(r->state, "leased") == 0 && r->leased)) ||
        !own_dir(p->cfg.workspace_root, r->workspace) || !own_dir(p->cfg.run_dir, r->sock_dir))
        return false;
    s = slot_alloc(p, r->name);
    s->container = xstrdup(r->container);
    s->sock_dir = xstrdup(r->sock_dir);
    s->sock_path = pool_path_join(s->sock_dir, POOL_SOCKET_NAME);
    s->workspace = xstrdup(r->workspace);
    slot_place(s, SLOT_STARTING);
    p->stats.adopted++;
    if (r->leased) {
        s->restore = xcalloc(1, sizeof(*s->restore));
        lease_copy(s->restore, &r->lease);
        tell_owner(p, POOL_RESTORE_PENDING, s->restore, s->workspace, NULL, NULL);
    }
    log_info("slot=%u container=%.12s msg=\"adopted from the state file\" was=%s", s->id,
             s->container, r->state);
    r->state[0] = '\0'; /* taken: pool_restore_finish() skips it */
    slot_socket_appeared(s);
    return true;
}

void pool_restore_finish(struct pool *p)
{
    for (size_t i = 0; i < p->restored.n_slots; i++) {
        struct state_slot *r = &p->restored.slots[i];

        if (!r->leased || !r->state[0] || !own_dir(p->cfg.workspace_root, r->workspace))
            continue;
        orphan_new(p, r->workspace, POOL_CAUSE_RESTART, &r->lease);
        tell_owner(p, POOL_RESTORE_LOST, &r->lease, r->workspace, NULL, POOL_CAUSE_RESTART);
    }
    for (size_t i = 0; i < p->restored.n_orphans; i++) {
        struct state_orphan *o = &p->restored.orphans[i];

        if (!own_dir(p->cfg.workspace_root, o->workspace))
            continue;
        orphan_new(p, o->workspace, POOL_CAUSE_RESTART, &o->lease);
        tell_owner(p, POOL_RESTORE_LOST, &o->lease, o->workspace, NULL, POOL_CAUSE_RESTART);
    }
    state_free(&p->restored);
    pool_state_mark(p);
}

bool pool_restore_keeps(const struct pool *p, const char *path)
{
    for (struct pool_orphan *o = p->orphans; o; o = o->next)
        if (strcmp(o->workspace, path) == 0)
            return true;
    for (int i = 0; i < SLOT_NSTATES; i++)
        for (struct slot *s = p->lists[i].head; s; s = s->next)
            if ((s->workspace && strcmp(s->workspace, path) == 0) ||
                (s->sock_dir && strcmp(s->sock_dir, path) == 0))
                return true;
    return false;
}

void pool_restore_lease(struct slot *s)
{
    struct pool *p = s->pool;
    struct state_lease *l = s->restore;

    s->restore = NULL;
    s->owner = xstrdup(l->owner);
    s->session = xstrdup(l->session);
    s->session_created_at = l->created_at;
    s->idle_timeout = l->idle_timeout > 0 ? l->idle_timeout : p->cfg.idle_timeout;
    s->last_used = ev_now(p->loop);
    s->keep_workspace = true;
    p->stats.leases++;
    slot_set_state(s, SLOT_LEASED, "lease restored after a restart");
    tell_owner(p, POOL_RESTORE_READY, l, s->workspace, s, NULL);
    lease_drop(l);
    free(l);
}

void pool_restore_failed(struct slot *s, const char *reason)
{
    struct state_lease *l = s->restore;

    s->restore = NULL;
    log_warn("slot=%u msg=\"restored lease not reconnected; workspace kept\" reason=%s", s->id,
             log_quote(reason));
    if (s->workspace) {
        orphan_new(s->pool, s->workspace, POOL_CAUSE_RESTART, l);
        tell_owner(s->pool, POOL_RESTORE_LOST, l, s->workspace, s, POOL_CAUSE_RESTART);
        free(s->workspace);
        s->workspace = NULL;
    }
    lease_drop(l);
    free(l);
}
