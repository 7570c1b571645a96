/* The loop, pool settings and stop shared by the pool benchmarks. */
#include "bench/poolrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

void poolrun_places(struct poolrun_places *pl, const char *work, const char *who)
{
    if (work) {
        snprintf(pl->work, sizeof(pl->work), "%s", work);
    } else {
        snprintf(pl->work, sizeof(pl->work), "/var/tmp/%s-XXXXXX", who);
        if (!mkdtemp(pl->work)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    snprintf(pl->run_dir, sizeof(pl->run_dir), "%s/run", pl->work);
    snprintf(pl->ws_root, sizeof(pl->ws_root), "%s/workspaces", pl->work);
    snprintf(pl->label, sizeof(pl->label), "%s", pl->work);
}

void poolrun_places_remove(const struct poolrun_places *pl)
{
    rmdir(pl->run_dir);
    rmdir(pl->ws_root);
    rmdir(pl->work);
}

static void on_version(const struct backend_result *res, void *arg)
{
    *(int *)arg = res->error == BACKEND_OK ? 1 : 2;
}

struct docker *poolrun_docker(struct ev_loop *loop, const char *who)
{
    const char *err = NULL;
    struct docker *docker = docker_new(loop, NULL, &err);
    int version = 0;

    if (!docker) {
        fprintf(stderr, "%s: %s\n", who, err);
        exit(1);
    }
    docker_check_version(docker, on_version, &version);
    while (!version)
        ev_run(loop, EVRUN_ONCE);
    if (version != 1) {
        fprintf(stderr, "%s: no usable Docker engine\n", who);
        exit(1);
    }
    return docker;
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
