/* What the pool's own files share: the slot and pool structures and the
 * internal functions that supervision (health.c) calls into. Nothing
 * outside pool/ includes this. */
#ifndef OMCP_POOL_IMPL_H
#define OMCP_POOL_IMPL_H

#include "pool/pool.h"

#define POOL_SWEEP_INTERVAL 0.25
#define POOL_BACKOFF_MIN    0.5
#define POOL_BACKOFF_MAX    8.0
#define POOL_CDM_NAME_MAX   64
#define POOL_SOCKET_NAME    "rserve.sock"

struct slot_list {
    struct slot *head, *tail;
};

struct pool_waiter {
    struct pool_waiter *prev, *next;
    struct slot *slot; /* set while that slot opens this waiter's CDM */
    pool_grant_fn done;
    void *arg;
    char *owner;
    char *cdm;
    double idle_timeout;
    pool_lost_fn lost;
    void *lost_arg;
    double since;    /* ev_time() at pool_acquire */
    double deadline; /* ev_now() based */
};

enum eval_phase {
    EVAL_NONE,
    EVAL_RUNNING,
    EVAL_INTERRUPTED, /* SIGINT sent; the grace period runs */
};

struct slot {
    struct pool *pool;
    struct slot *prev, *next; /* on pool->lists[state], or on the reap list */
    enum slot_state state;
    unsigned id;
    char name[48];   /* container name and directory name */
    char *container; /* the engine's id once created */
    char *sock_dir;
    char *sock_path;
    char *workspace;
    int watch; /* inotify watch on sock_dir, or -1 */
    struct rconn conn;
    bool conn_open;            /* conn initialised and not closed yet */
    struct backend_call *call; /* the engine call in flight, if any */
    double created_at;
    double connected_at;
    double ready_at;
    double deadline; /* warm by then, or retired */
    long long r_pid; /* the session's R process, in the container */
    char cdm[POOL_CDM_NAME_MAX];

    char *owner; /* while leased */
    double last_used;
    double idle_timeout;
    pool_lost_fn lost;
    void *lost_arg;
    struct pool_waiter *grant_to; /* served once its CDM is open */

    enum eval_phase eval_phase;
    pool_eval_fn eval_done;
    void *eval_arg;
    double eval_started;
    ev_timer eval_timer;
    struct backend_call *interrupt_call;

    double probe_sent;      /* an idle probe is in flight since then, or 0 */
    double probed_at;       /* last answered probe (or warm-up) */
    long long oom_kills;    /* the container's OOM-kill count when it became warm */
    const char *lose_cause; /* set while slot_lose() retires the slot */
};

struct pool {
    struct ev_loop *loop;
    struct pool_config cfg;
    char instance[17];
    struct slot_list lists[SLOT_NSTATES];
    struct slot_list reap;
    struct pool_waiter *waiters_head, *waiters_tail;
    ev_timer sweep;
    ev_check check;
    ev_io inotify_io;
    int inotify_fd;
    char **cdms; /* NULL-terminated */
    const char *warm_cdm;
    unsigned next_id;
    bool started;
    bool cleaned; /* leftovers of an earlier run are gone */
    struct backend_call *cleanup_call;
    unsigned cleanup_removes;
    bool stopping;
    double stop_deadline;
    void (*stop_done)(struct pool *p, void *arg);
    void *stop_arg;
    double hold_until; /* no new container before then (backoff) */
    double backoff;
    struct pool_stats stats;

    struct backend_call *events_call; /* the engine's event stream, while connected */
    long long events_since;           /* time_nano of the last event seen */
    double events_retry_at;           /* reconnect the stream then */
    double events_backoff;
    struct backend_call *ping_call; /* engine liveness check in flight */
    double ping_next;               /* next check due then */
};

/* pool.c */
void slot_retire(struct slot *s, const char *reason);
/* The lease ends without its owner asking (code session_lost or
 * idle_timeout, cause one of the POOL_CAUSE_* words); a slot that is not
 * leased is simply retired. */
void slot_lose(struct slot *s, const char *code, const char *cause, const char *reason);
void pool_kick(struct pool *p);
/* Notes whether the engine answered (any answer but unreachable or a
 * timeout counts); when it did not, waiters that no idle slot can serve fail
 * at once. */
void pool_engine_answered(struct pool *p, const struct backend_result *res);

/* health.c: the engine's event stream, its liveness, idle probes, and what
 * ended a session. */
void health_start(struct pool *p);
void health_stop(struct pool *p);
/* From the pool's sweep timer. */
void health_sweep(struct pool *p, double now);
/* The container's cgroup OOM-kill count, or -1 when it cannot be read. */
long long health_oom_kills(const char *container);
/* Why a slot's R connection just dropped: out_of_memory when the container's
 * OOM-kill count rose since warm-up, else connection_closed. */
const char *health_drop_cause(const struct slot *s);

#endif
