/* What the benchmarks that drive a warm pool share: running the loop until
 * a condition holds, the hardened settings every benchmark pool uses, and a
 * stop that waits for its containers to be removed. */
#ifndef OMCP_BENCH_POOLRUN_H
#define OMCP_BENCH_POOLRUN_H

#include "pool/pool.h"

#include <ev.h>
#include <stdbool.h>

/* Runs loop until cond(arg) holds or seconds pass; cond NULL just waits.
 * Returns whether cond held. */
bool poolrun_until(struct ev_loop *loop, bool (*cond)(void *), void *arg, double seconds);
bool poolrun_is_true(void *flag); /* a bool */
bool poolrun_is_ready(void *pool);

/* The sandbox limits of every benchmark pool (those of the daemon's
 * defaults: 512 MB, half a CPU, 256 pids, 64 MB /tmp); the caller sets
 * backend, image, uid, sizes, timeouts and places. */
void poolrun_defaults(struct pool_config *pc);

/* pool_new + pool_start, exiting with who on failure. */
struct pool *poolrun_make(struct ev_loop *loop, const struct pool_config *pc, const char *who);

/* Stops the pool, waits up to 90 s for its containers to go, frees it. */
void poolrun_finish(struct ev_loop *loop, struct pool *p);

#endif
