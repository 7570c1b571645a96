/* The warm pool: slots, each a hardened container with one open, warmed
 * Rserve connection, kept ready before anyone asks, leased to one owner at a
 * time, and retired (or recycled) after. Everything runs on the libev loop. */
#ifndef OMCP_POOL_H
#define OMCP_POOL_H

#include "pool/backend.h"
#include "proxy/config.h"
#include "proxy/hist.h"
#include "rserve/rconn.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a slot is; each state names the list the slot sits on. Only
 * slot_set_state() in pool.c changes it. */
enum slot_state {
    SLOT_CREATING,  /* create request in flight */
    SLOT_STARTING,  /* started; waiting for the Rserve socket and its ID string */
    SLOT_WARMING,   /* connected; the warm-up R runs */
    SLOT_IDLE,      /* ready to lease */
    SLOT_LEASED,    /* bound to one owner */
    SLOT_RECYCLING, /* process recycling: processes killed, workspace wiped */
    SLOT_RETIRING,  /* connection closed, remove request in flight */
    SLOT_NSTATES,
};

struct pool_config {
    struct backend *backend;
    const char *image;
    unsigned uid; /* the sandbox account; its group has the same number */
    int64_t memory_bytes;
    double cpus;       /* CPU quota of a session, in cores */
    double start_cpus; /* quota while a container starts and warms; 0: none */
    int64_t pids_limit;
    int64_t tmp_size_bytes;
    unsigned min_idle;
    unsigned max_slots;
    unsigned max_starting;
    double acquire_timeout; /* seconds an acquire waits for a slot still coming */
    double max_slot_age;    /* idle slots older than this are retired */
    double idle_timeout;    /* a lease unused this long is ended; 0: never */
    double start_timeout;   /* create until warm; past it the slot is retired */
    double interrupt_grace; /* after SIGINT, how long R has before the container is killed */
    enum recycle_mode recycle;
    const char *run_dir;        /* socket directories: <run_dir>/<slot name> */
    const char *workspace_root; /* workspaces: <workspace_root>/<slot name> */
    int64_t workspace_size;     /* bytes of each workspace's image; 0: plain directories */
    const char *cdm_dir;        /* every <name>.sqlite here is mounted read-only */
    const char *cdm_default;    /* opened as cdm_con at warm-up when present */
    const char *pg_socket_dir;  /* the CDM cluster's socket directory, or "": no <name>.pg */
    int pg_port;                /* its port */
    const char *pg_user;        /* the read-only role sandboxes connect as */
    const char *pool_label;     /* the same for every run of one deployment */
    const char *state_path;     /* the state file, or NULL for none */
    uint64_t max_frame;
};

/* Fills cfg from the daemon's settings; the strings stay owned by settings. */
void pool_config_from(struct pool_config *pc, const struct config *cfg, struct backend *backend);

struct pool;
struct slot;
struct pool_waiter;

/* How an acquire ended, valid while the callback runs. */
struct pool_grant {
    struct slot *slot;   /* the lease, or NULL on failure */
    const char *error;   /* NULL, or max_sessions_reached, backend_unavailable, cdm_not_found,
                            pool_stopping */
    const char *message; /* failure: what happened, in words for the user */
    bool retryable;      /* failure: trying again later may succeed */
    double wait_seconds; /* from pool_acquire() until now */
    bool cdm_opened;     /* the session's CDM was opened at acquire (not the warm one) */
};

typedef void (*pool_grant_fn)(const struct pool_grant *grant, void *arg);

/* Why a lease ended without its owner asking, as one stable word. */
#define POOL_CAUSE_OOM      "out_of_memory"     /* the kernel's OOM killer ended R */
#define POOL_CAUSE_CLOSED   "connection_closed" /* R's connection dropped */
#define POOL_CAUSE_EXITED   "container_exited"  /* the container stopped (killed, died) */
#define POOL_CAUSE_REMOVED  "container_removed" /* removed from outside the pool */
#define POOL_CAUSE_IGNORED  "interrupt_ignored" /* R did not stop within the grace */
#define POOL_CAUSE_IDLE     "idle_timeout"      /* unused longer than the lease's timeout */
#define POOL_CAUSE_STOPPING "daemon_stopping"
#define POOL_CAUSE_RESTART  "daemon_restarted" /* the container did not outlive a crash */

/* The lease ended without its owner asking: code is session_lost or
 * idle_timeout, cause a POOL_CAUSE_* word, reason a sentence for logs and
 * users. The slot is gone once this returns. */
typedef void (*pool_lost_fn)(struct slot *s, const char *code, const char *cause,
                             const char *reason, void *arg);

struct pool_acquire_args {
    const char *owner;   /* who holds the lease, for logs, status and the state file */
    const char *cdm;     /* CDM name, or NULL for the default */
    double idle_timeout; /* this lease's own; 0 takes the pool's */
    pool_lost_fn lost;   /* may be NULL */
    void *lost_arg;
    const char *session; /* the front end's id for the lease, kept in the state file, or NULL */
    double created_at;   /* when the front end's session began (wall clock), for the state file */
    /* When the lease is lost, keep its workspace until pool_forget_workspace():
     * the owner's files outlive its container. */
    bool keep_workspace;
};

/* What a restarted pool found of the leases its state file named. */
enum pool_restore_kind {
    POOL_RESTORE_PENDING, /* its container lives on; it is being reconnected and warmed */
    POOL_RESTORE_READY,   /* reconnected: slot is leased again (R's variables are gone) */
    POOL_RESTORE_LOST,    /* no container: only the workspace is left */
};

struct pool_restored {
    enum pool_restore_kind kind;
    const char *session, *owner, *cdm;
    double created_at, last_used, idle_timeout;
    const char *workspace; /* host directory that was /sandbox */
    struct slot *slot;     /* READY: the lease; set its lost callback with pool_lease_watch() */
    const char *cause;     /* LOST: a POOL_CAUSE_* word */
    bool announced;        /* a PENDING report for this lease came before */
};

typedef void (*pool_restore_fn)(const struct pool_restored *r, void *arg);

/* Creates the pool; nothing starts until pool_start(). NULL with *err when
 * the configuration cannot work (no such directory, no image name...). */
struct pool *pool_new(struct ev_loop *loop, const struct pool_config *cfg, const char **err);
/* Removes containers left by an earlier run of this deployment, then fills
 * the pool to its warm target and keeps it there. */
void pool_start(struct pool *p);
/* Fails waiters, retires every slot and calls done once every container is
 * removed (or timeout seconds have passed). */
void pool_stop(struct pool *p, double timeout, void (*done)(struct pool *p, void *arg), void *arg);
/* After pool_stop's callback, or for a pool never started. */
void pool_free(struct pool *p);

/* Who hears of leases restored from the state file; set before pool_start(). */
void pool_set_restore(struct pool *p, pool_restore_fn fn, void *arg);
/* Sets a restored lease's lost callback. */
void pool_lease_watch(struct slot *s, pool_lost_fn lost, void *arg);
/* The owner is done with the kept workspace of a lost lease: it is deleted. */
void pool_forget_workspace(struct pool *p, const char *workspace);

/* Leases a slot: at once when one is idle (then done has run and NULL is
 * returned), else after waiting for one that is still coming. Fails at once
 * with max_sessions_reached when every slot is leased. */
struct pool_waiter *pool_acquire(struct pool *p, const struct pool_acquire_args *args,
                                 pool_grant_fn done, void *arg);
/* The waiter gives up; done will not run. */
void pool_acquire_cancel(struct pool *p, struct pool_waiter *w);
/* Ends a lease; the slot is recycled or retired and replaced. */
void pool_release(struct slot *s, const char *reason);

/* How an evaluation ended, valid while the callback runs. */
struct pool_eval_result {
    const struct rconn_reply *reply;
    bool interrupted;  /* passed its limit; R was interrupted and the session kept */
    bool lost;         /* the slot is gone: reply failed, the lost callback runs next */
    const char *cause; /* when lost: a POOL_CAUSE_* word */
    double seconds;
};

typedef void (*pool_eval_fn)(struct slot *s, const struct pool_eval_result *res, void *arg);

/* Evaluates R source on the lease. Past timeout seconds (0: none) R gets
 * SIGINT; if it has not answered after the interrupt grace, the container is
 * killed and the lease is lost. One evaluation at a time per slot. */
void pool_eval(struct slot *s, const char *source, double timeout, pool_eval_fn done, void *arg);
/* Interrupts the evaluation in flight, if any, as a timeout would. */
void pool_interrupt(struct slot *s);
/* Marks the lease as used now, for the idle timeout. */
void pool_touch(struct slot *s);

/* For front ends that forward QAP1 frames on the lease's own connection:
 * pool_slot_take_socket() hands over a duplicate of its socket (the pool
 * stops reading it and closes its copy when the lease ends; -1 with errno
 * EBUSY while a request of the pool's own is in flight, ENOTCONN when there
 * is no connection). pool_forward_begin() and pool_forward_end() bracket
 * the time requests are in flight: the idle timeout waits, pool_interrupt()
 * works, and past timeout seconds (0: none) R is interrupted, then its
 * container killed after the grace (the lost callback says so). pool_eval()
 * is not used on such a lease. */
int pool_slot_take_socket(struct slot *s);
void pool_forward_begin(struct slot *s, double timeout);
void pool_forward_end(struct slot *s);

/* The slot's warm connection, for front ends that speak QAP1 themselves. */
struct rconn *pool_slot_rconn(struct slot *s);
unsigned pool_slot_id(const struct slot *s);
const char *pool_slot_name(const struct slot *s);
const char *pool_slot_container(const struct slot *s);
const char *pool_slot_workspace(const struct slot *s);
/* The host path of the slot's Rserve socket: a new connection there is a new
 * session of the same container, without warm-up. */
const char *pool_slot_socket(const struct slot *s);
const char *pool_slot_cdm(const struct slot *s);
long long pool_slot_r_pid(const struct slot *s);

struct pool_stats {
    unsigned slots[SLOT_NSTATES];
    unsigned waiters;
    bool engine_up;
    unsigned kept_workspaces; /* of lost leases, until their owner forgets them */
    uint64_t created, retired, leases, recycled, adopted;
    uint64_t state_writes, state_bytes; /* the state file: writes, size of the last one */
    uint64_t state_write_failures;      /* writes that failed (disk full, read-only, ...) */
    bool state_failing;                 /* the state file cannot be written: leases are refused */
    struct hist state_write;            /* time of one state file write */
    uint64_t acquire_failed, lost, interrupts, start_failed;
    struct hist acquire; /* pool_acquire until granted */
    struct hist warmup;  /* connected until warm */
    struct hist start;   /* create until warm */
    struct hist eval;    /* pool_eval until answered */
};

const struct pool_stats *pool_stats(const struct pool *p);
/* True when the pool holds at least min_idle idle slots and can write its
 * state file. */
bool pool_ready(const struct pool *p);
/* The CDM names mounted into every slot, in order; NULL-terminated. */
const char *const *pool_cdms(const struct pool *p);

const char *slot_state_name(enum slot_state st);

#endif
