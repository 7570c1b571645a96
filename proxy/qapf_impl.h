/* What the QAP1 front end's files share: the front end, its listeners and
 * one client connection. Nothing outside proxy/qapf*.c includes this. */
#ifndef OMCP_QAPF_IMPL_H
#define OMCP_QAPF_IMPL_H

#include "proxy/qapf.h"
#include "proxy/qapf_auth.h"
#include "proxy/qapf_frame.h"
#include "proxy/qapf_pipes.h"

#define QAPF_BUF_SIZE (64 * 1024) /* one bounded buffer per direction of a connection */
#ifndef QAPF_SPLICE_MIN
#define QAPF_SPLICE_MIN (64 * 1024) /* frames this large move through a pipe */
#endif
#define QAPF_PIPE_SIZE    (1 << 20)
#define QAPF_PIPES_IDLE   8
#define QAPF_PIPES_MAX    256
#define QAPF_LOGIN_MAX    4096        /* largest login payload */
#define QAPF_HOLD_MAX     (16 * 1024) /* frames up to this size are sent whole */
#define QAPF_DRAIN_SECS   5.0         /* after a last answer, how long the client has to leave */
#define QAPF_SWEEP_SECS   1.0
#define QAPF_ACCEPT_RETRY 0.5 /* after EMFILE, accepting resumes this much later */
#define QAPF_PEER_MAX     64

struct qapf_listener {
    struct qapf *front;
    ev_io io;
    int fd;
    bool local;          /* loopback or unix: password login may be offered */
    char name[128];      /* as configured */
    char unix_path[108]; /* removed at close; "" for TCP */
};

struct qapf_conn;

struct qapf_conn_list {
    struct qapf_conn *head;
};

struct qapf {
    struct ev_loop *loop;
    struct pool *pool;
    struct qapf_config cfg;
    struct qapf_listener *listeners;
    int nlisteners;
    ev_timer accept_retry; /* accepting paused after EMFILE */
    bool accept_starved;   /* paused for want of descriptors until the backlog is drained */
    ev_timer sweep;        /* idle timeouts and lingering closes, for every connection */
    ev_check reaper;       /* frees closed connections on the next loop pass */
    struct qapf_conn_list conns, reap;
    unsigned next_id;
    struct qapf_pipes pipes;
    struct qapf_auth *auth; /* NULL: no authentication */
    uint8_t greeting[QAP_ID_SIZE];
    bool closed;
    struct qapf_stats stats;
};

/* One direction of a connection: bytes from one socket to the other. */
struct qapf_pump {
    struct qapf_conn *conn;
    int from, to; /* -1 while that side does not exist yet */
    ev_io rd, wr;
    struct qapf_stream st;
    struct qapf_pipe *pipe;
    size_t piped;    /* bytes in the pipe */
    size_t pipe_cap; /* what the pipe holds */
    bool large;      /* the current frame is large enough to splice */
    bool hold;       /* the current frame is small: it goes out whole, in one send */
    bool splicing;   /* the rest of its payload goes through the pipe */
    bool readable;   /* from may have bytes (its watcher fired, no short read since) */
    bool blocked;    /* to refused more bytes; wait for its watcher */
    bool pipe_full;  /* the pipe took no more; wait until it drains */
    uint64_t frames, bytes;
};

/* Where a connection is; only conn_set_state() in qapf_conn.c changes it. */
enum qapf_state {
    QAPF_LOGIN_WAIT,  /* greeted; waiting for the client's login */
    QAPF_LEASING,     /* greeted (and logged in); a slot is being leased */
    QAPF_SYNCING,     /* leased; the pool's own request on the slot finishes first */
    QAPF_FORWARDING,  /* frames pass between the client and its slot */
    QAPF_UNAVAILABLE, /* no slot: the next command gets ERR_unavailable */
    QAPF_DRAINING,    /* a last answer goes out; the client's bytes are dropped until it leaves */
    QAPF_CLOSED,      /* on the reap list, freed on the next loop pass */
};

struct qapf_conn {
    struct qapf *front;
    struct qapf_conn *prev, *next; /* on front->conns, or front->reap once closed */
    enum qapf_state state;
    unsigned id;
    int cfd, bfd; /* client socket; the slot's socket, or -1 */
    const struct qapf_listener *listener;
    char peer[QAPF_PEER_MAX];
    char owner[QAPF_PEER_MAX + 8]; /* "qap:<peer>", the lease's owner */
    char user[64];                 /* who logged in, or "" */
    struct pool_waiter *waiter;
    struct slot *slot;
    unsigned slot_id; /* kept for the audit line after the lease ends */
    const char *lease_error;
    const char *final_reason; /* why the connection is draining */
    struct qapf_seq seq;
    struct qapf_pump up, down; /* client to slot, slot to client */
    bool owed;                 /* a reply of the proxy's own is due to the client */
    uint32_t owed_cmd;
    bool client_waiting; /* the client sent bytes while no slot was ready */
    bool shut_after_flush;
    bool rescan;             /* an owed reply went out: held client frames may be scanned again */
    bool forwarding_request; /* pool_forward_begin() is open */
    double started, last_active, drain_since;
    unsigned refused;
};

/* qapf_conn.c */
struct qapf_conn *qapf_conn_new(struct qapf *f, int fd, const struct qapf_listener *l,
                                const char *peer);
void qapf_conn_close(struct qapf_conn *c, const char *reason);
void qapf_conn_free(struct qapf_conn *c);
/* From the front end's sweep: idle timeout and lingering closes. */
void qapf_conn_sweep(struct qapf_conn *c, double now);
const char *qapf_state_name(enum qapf_state st);

#endif
