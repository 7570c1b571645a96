/* The QAP1 front end: Rserve-compatible listeners (TCP and unix) whose
 * clients each get a leased slot of the warm pool, with frames forwarded
 * between them and commands that would harm the shared system refused. */
#ifndef OMCP_QAPF_H
#define OMCP_QAPF_H

#include "pool/pool.h"
#include "proxy/config.h"

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

struct qapf_config {
    char **listen; /* "HOST:PORT" or "unix:PATH" */
    int nlisten;
    bool allow_remote;         /* without authentication, a non-loopback listener is allowed */
    const char *password_file; /* NULL or "": no authentication */
    unsigned max_clients;      /* connections at once; more are closed at accept */
    double idle_timeout;       /* a silent client with nothing in flight is disconnected */
    double request_timeout;    /* per request; 0: none */
    uint64_t max_frame;        /* largest frame in either direction */
};

void qapf_config_from(struct qapf_config *qc, const struct config *cfg);

struct qapf;

/* Binds every listener; NULL with a reason in *err when one cannot be
 * used (bad address, in use, a remote address without authentication and
 * QAP_ALLOW_REMOTE unset, an unreadable password file). */
struct qapf *qapf_new(struct ev_loop *loop, struct pool *pool, const struct qapf_config *cfg,
                      const char **err);
/* Stops accepting; connections open now go on. Safe to call more than once. */
void qapf_stop_listening(struct qapf *f);
/* Stops accepting and closes every connection, releasing its slot. Safe to
 * call more than once. */
void qapf_close(struct qapf *f, const char *reason);
void qapf_free(struct qapf *f);

struct qapf_stats {
    unsigned clients;                       /* connections open now */
    uint64_t accepted, turned_away, closed; /* turned away: over QAP_MAX_CLIENTS */
    uint64_t refused;                       /* commands refused */
    uint64_t spliced_bytes, copied_bytes;   /* payload bytes by how they moved */
};

const struct qapf_stats *qapf_stats(const struct qapf *f);

#endif
