/* The loop, pool settings and stop shared by the pool benchmarks. */
#include "bench/poolrun.h"

#include <stdio.h>
#include <stdlib.h>

static bool guard_fired;

static void on_guard(struct ev_loop *l, ev_timer *w, int revents)
{
    guard_fired = true;
}

bool poolrun_until(struct ev_loop *loop, bool (*cond)(void *), void *arg, double seconds)
{
    ev_timer guard;

    guard_fired = false;
    ev_timer_init(&guard, on_guard, seconds, 0.);
    ev_timer_start(loop, &guard);
    while ((!cond || !cond(arg)) && !guard_fired)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &guard);
    return cond && cond(arg);
}

bool poolrun_is_true(void *flag)
{
    return *(bool *)flag;
}

bool poolrun_is_ready(void *pool)
{
    return pool_ready(pool);
}

void poolrun_defaults(struct pool_config *pc)
{
    pc->memory_bytes = 512 << 20;
    pc->cpus = 0.5;
    pc->pids_limit = 256;
    pc->tmp_size_bytes = 64 << 20;
    pc->max_slot_age = 3600;
    pc->interrupt_grace = 5;
}

struct pool *poolrun_make(struct ev_loop *loop, const struct pool_config *pc, const char *who)
{
    const char *err = NULL;
    struct pool *p = pool_new(loop, pc, &err);

    if (!p) {
        fprintf(stderr, "%s: pool_new: %s\n", who, err);
        exit(1);
    }
    pool_start(p);
    return p;
}

static void on_stopped(struct pool *p, void *arg)
{
    *(bool *)arg = true;
}

void poolrun_finish(struct ev_loop *loop, struct pool *p)
{
    bool stopped = false;

    pool_stop(p, 60, on_stopped, &stopped);
    poolrun_until(loop, poolrun_is_true, &stopped, 90);
    pool_free(p);
}
