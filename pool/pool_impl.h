/* What the pool's own files share: the slot and pool structures and the
 * internal functions that supervision (health.c) calls into. Nothing
 * outside pool/ includes this. */
#ifndef OMCP_POOL_IMPL_H
#define OMCP_POOL_IMPL_H

#include "pool/pool.h"
#include "pool/state.h"

#define POOL_SWEEP_INTERVAL 0.25
#define POOL_BACKOFF_MIN    0.5
#define POOL_BACKOFF_MAX    8.0
#define POOL_CDM_NAME_MAX   64
#define POOL_SOCKET_NAME    "rserve.sock"
#define POOL_CPU_PERIOD_US  100000

/* A container whose remove failed while the engine was away. */
struct pool_removal {
    struct pool_removal *next;
    char *container;
};

/* A socket directory or workspace of a freed slot that could not be
 * removed (out of descriptors, say); retried from the sweep. */
struct pool_leftover {
    struct pool_leftover *next;
    char *path;
    bool workspace; /* released with wsmount_release, else slotdir_remove */
};

/* The workspace of a lost lease, kept until its owner forgets it. */
struct pool_orphan {
    struct pool_orphan *next;
    char *workspace;
    const char *cause;
    struct state_lease lease;
};

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
    char *session;
    double created_at;
    bool keep_workspace;
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
    bool cpu_limited; /* the session's CPU quota is in force */
    double deadline;  /* warm by then, or retired */
    long long r_pid;  /* the session's R process, in the container */
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

    char *session;               /* while leased: the front end's id for the lease */
    double session_created_at;   /* while leased: when that session began */
    bool keep_workspace;         /* while leased: a lost lease keeps its workspace */
    struct state_lease *restore; /* adopted after a restart: lease it again once warm */
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
    char **cdms;    /* NULL-terminated */
    char **pg_cdms; /* those of cdms on PostgreSQL, NULL-terminated */
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
    double hold_until;  /* no new container before then (backoff) */
    bool cpu_at_create; /* the engine cannot update a running container's CPU quota */
    double backoff;
    struct pool_stats stats;

    struct backend_call *events_call; /* the engine's event stream, while connected */
    long long events_since;           /* time_nano of the last event seen */
    double events_retry_at;           /* reconnect the stream then */
    double events_backoff;
    struct backend_call *ping_call; /* engine liveness check in flight */
    double ping_next;               /* next check due then */

    struct pool_orphan *orphans;       /* kept workspaces of lost leases */
    struct pool_removal *removals;     /* containers whose remove failed; retried */
    struct backend_call *removal_call; /* the retry in flight */
    double removal_next;               /* next retry due then */
    struct pool_leftover *leftovers;   /* slot directories whose removal failed; retried */
    double leftover_next;              /* next retry of leftovers due then */
    bool state_dirty;                  /* the state file is behind; written on the next loop pass */
    const char *state_error;           /* why the state file cannot be written; NULL while it can */
    double state_failing_since;        /* when state_error was set */
    double state_retry_at;             /* no write before then while state_error is set */
    double state_check_at;             /* next look at the state directory's free space */
    struct state restored;             /* what the state file said at start, until reconciled */
    pool_restore_fn restore_fn;
    void *restore_arg;
};

/* pool.c */
void slot_retire(struct slot *s, const char *reason);
void slot_set_state(struct slot *s, enum slot_state st, const char *reason);
/* A slot on no list yet, with its id, name and timers set. */
struct slot *slot_alloc(struct pool *p, const char *name);
/* Puts a new slot on the list of st (no log: it has no earlier state). */
void slot_place(struct slot *s, enum slot_state st);
/* Locks the socket directory and connects once the socket exists. */
void slot_socket_appeared(struct slot *s);
char *pool_path_join(const char *dir, const char *name);
/* The lease ends without its owner asking (code session_lost or
 * idle_timeout, cause one of the POOL_CAUSE_* words); a slot that is not
 * leased is simply retired. */
void slot_lose(struct slot *s, const char *code, const char *cause, const char *reason);
void pool_kick(struct pool *p);
/* Notes whether the engine answered (any answer but unreachable or a
 * timeout counts); when it did not, waiters that no idle slot can serve fail
 * at once. */
void pool_engine_answered(struct pool *p, const struct backend_result *res);

/* restore.c: the state file, and what a restarted pool finds of it. */
/* Notes that the state file must be written again (coalesced per loop pass). */
void pool_state_mark(struct pool *p);
void pool_state_flush(struct pool *p);
/* False while the state file cannot be written, or its filesystem has no
 * room for the next one: a lease made then could not survive a crash. */
bool pool_state_writable(struct pool *p);
/* From the sweep timer: notices a state directory that filled up, and
 * retries the write while it fails. */
void pool_state_sweep(struct pool *p, double now);
/* Reads the state file at pool_new; a bad one is set aside with a log line. */
void pool_state_load(struct pool *p);
/* Takes over a listed container the state file knows as idle or leased and
 * still running; false when the caller should remove it. */
bool pool_restore_adopt(struct pool *p, const struct backend_container *c);
/* After the listing: leases whose container is gone become kept workspaces,
 * and what the state file said is dropped. */
void pool_restore_finish(struct pool *p);
/* True for a slot directory the restart keeps (adopted or kept workspace). */
bool pool_restore_keeps(const struct pool *p, const char *path);
/* A restored lease's slot is warm again: lease it and tell the owner. */
void pool_restore_lease(struct slot *s);
/* An adopted slot failed before it was warm: keep its workspace for the owner. */
void pool_restore_failed(struct slot *s, const char *reason);
/* A lost lease that keeps its workspace: the slot lets go of it. */
void pool_orphan_add(struct slot *s, const char *cause);
void pool_orphans_free(struct pool *p);

/* health.c: the engine's event stream, its liveness, idle probes, and what
 * ended a session. */
void health_start(struct pool *p);
void health_stop(struct pool *p);
/* From the pool's sweep timer. */
void health_sweep(struct pool *p, double now);
/* Keeps retrying the remove of a container, once a second, until the
 * engine has removed it; a stop waits for these too. */
void health_remove_later(struct pool *p, const char *container);
void health_removals_free(struct pool *p);
/* Keeps retrying the removal of a freed slot's directory (a workspace when
 * workspace is set) every few seconds until it is gone; at pool_free what
 * is still there is left to the next start's clean-up. */
void health_leftover_add(struct pool *p, const char *path, bool workspace);
void health_leftovers_free(struct pool *p);
/* The container's cgroup OOM-kill count, or -1 when it cannot be read. */
long long health_oom_kills(const char *container);
/* Why a slot's R connection just dropped: out_of_memory when the container's
 * OOM-kill count rose since warm-up, else connection_closed. */
const char *health_drop_cause(const struct slot *s);

#endif
