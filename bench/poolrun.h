/* What the benchmarks that drive a warm pool share: running the loop until
 * a condition holds, the hardened settings every benchmark pool uses, and a
 * stop that waits for its containers to be removed. */
#ifndef OMCP_BENCH_POOLRUN_H
#define OMCP_BENCH_POOLRUN_H

#include "pool/docker.h"
#include "pool/pool.h"

#include <ev.h>
#include <stdbool.h>

/* Runs loop until cond(arg) holds or seconds pass; cond NULL just waits.
 * Returns whether cond held. */
bool poolrun_until(struct ev_loop *loop, bool (*cond)(void *), void *arg, double seconds);
bool poolrun_is_true(void *flag); /* a bool */
bool poolrun_is_ready(void *pool);

/* Where a benchmark pool keeps its slots: the work directory (given, or a
 * fresh /var/tmp/WHO-XXXXXX), its run/ and workspaces/, and the pool label
 * (the work directory's path: no two runs share it). */
struct poolrun_places {
    char work[256], run_dir[512], ws_root[512], label[512];
};

/* Fills pl below work (NULL: a new directory named after who); exits on
 * failure. */
void poolrun_places(struct poolrun_places *pl, const char *work, const char *who);
/* Removes the directories of pl once they are empty. */
void poolrun_places_remove(const struct poolrun_places *pl);

/* A Docker client on loop whose engine answered the version check; exits
 * naming who when there is none. */
struct docker *poolrun_docker(struct ev_loop *loop, const char *who);

/* The sandbox limits of every benchmark pool (those of the daemon's
 * defaults: 512 MB, half a CPU, 256 pids, 64 MB /tmp); the caller sets
 * backend, image, uid, sizes, timeouts and places. */
void poolrun_defaults(struct pool_config *pc);

/* pool_new + pool_start, exiting with who on failure. */
struct pool *poolrun_make(struct ev_loop *loop, const struct pool_config *pc, const char *who);

/* Stops the pool, waits up to 90 s for its containers to go, frees it. */
void poolrun_finish(struct ev_loop *loop, struct pool *p);

#endif
