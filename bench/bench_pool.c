/* The warm pool against the real engine, in one run: acquire latency from a
 * warm pool (one at a time and in bursts) against the cold start a session
 * costs without one; the first CDM query on a warmed lease against a fresh
 * fork without warm-up; sustained sessions per second in both recycling
 * modes; containers started per second by POOL_MAX_STARTING.
 *
 * Usage: omcp-bench-pool [--quick] --uid UID --cdm-dir DIR [--cdm NAME] [--image IMAGE]
 *                        [--work DIR] [--only PARTS]
 * PARTS is a comma-separated subset of sequential, bursts, cold, fork,
 * sustained, starts (default: all); a ratio is printed when both of its
 * parts ran.
 * The CDM named (default synthetic) must be DIR/NAME.sqlite with a person table. */
#include "bench/poolrun.h"
#include "bench/samples.h"
#include "pool/docker.h"
#include "pool/pool.h"
#include "proxy/log.h"
#include "rserve/rconn.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

/* The parts of the run, for --only. */
enum bench_part {
    PART_SEQUENTIAL = 1 << 0,
    PART_BURSTS = 1 << 1,
    PART_COLD = 1 << 2,
    PART_FORK = 1 << 3,
    PART_SUSTAINED = 1 << 4,
    PART_STARTS = 1 << 5,
    PART_ALL = (1 << 6) - 1,
};

static const char *const part_names[] = {"sequential", "bursts",    "cold",
                                         "fork",       "sustained", "starts"};

struct bench_opts {
    bool quick;
    unsigned parts; /* enum bench_part bits */
    const char *image;
    unsigned uid;
    const char *cdm_dir;
    const char *cdm;
    const char *work;
};

static struct bench_opts opts = {
    .image = "omcp-r-sandbox:latest", .cdm = "synthetic", .parts = PART_ALL};
static struct ev_loop *loop;
static struct docker *docker;
static struct poolrun_places places;

/* ---- the loop ---- */

static void pause_for(double seconds)
{
    poolrun_until(loop, NULL, NULL, seconds);
}

/* ---- pools ---- */

static void pool_configure(struct pool_config *pc, unsigned min_idle, unsigned max_slots,
                           unsigned max_starting, enum recycle_mode recycle)
{
    *pc = (struct pool_config){
        .backend = docker_backend(docker),
        .image = opts.image,
        .uid = opts.uid,
        .min_idle = min_idle,
        .max_slots = max_slots,
        .max_starting = max_starting,
        .acquire_timeout = 120,
        .start_timeout = 120,
        .recycle = recycle,
        .run_dir = places.run_dir,
        .workspace_root = places.ws_root,
        .cdm_dir = opts.cdm_dir,
        .cdm_default = opts.cdm,
        .pool_label = places.label,
    };
    poolrun_defaults(pc);
}

static struct pool *pool_make(unsigned min_idle, unsigned max_slots, unsigned max_starting,
                              enum recycle_mode recycle)
{
    struct pool_config pc;

    pool_configure(&pc, min_idle, max_slots, max_starting, recycle);
    return poolrun_make(loop, &pc, "bench");
}

static void wait_ready(struct pool *p, const char *what)
{
    double t = samples_now_ms();

    if (!poolrun_until(loop, poolrun_is_ready, p, 600)) {
        fprintf(stderr, "bench: %s: pool not ready after 600 s\n", what);
        exit(1);
    }
    fprintf(stderr, "bench: %s: pool warm in %.1f s\n", what, (samples_now_ms() - t) / 1e3);
}

/* ---- acquire, eval, release ---- */

struct lease {
    bool granted, evaluated;
    struct slot *slot;
    double began;
    struct samples *acquire_ms; /* where the acquire latency goes, or NULL */
    struct samples *eval_ms;
};

static void on_grant(const struct pool_grant *g, void *arg)
{
    struct lease *l = arg;

    l->granted = true;
    l->slot = g->slot;
    if (l->acquire_ms)
        samples_add(l->acquire_ms, samples_now_ms() - l->began);
    if (!g->slot)
        fprintf(stderr, "bench: acquire failed: %s: %s\n", g->error, g->message);
}

static void lease_start(struct pool *p, struct lease *l)
{
    struct pool_acquire_args args = {.owner = "bench"};

    l->granted = l->evaluated = false;
    l->slot = NULL;
    l->began = samples_now_ms();
    pool_acquire(p, &args, on_grant, l);
}

static void on_eval(struct slot *s, const struct pool_eval_result *res, void *arg)
{
    struct lease *l = arg;

    l->evaluated = true;
    if (l->eval_ms)
        samples_add(l->eval_ms, res->seconds * 1e3);
    if (res->reply->outcome != RCONN_REPLY_OK)
        fprintf(stderr, "bench: eval failed (outcome %d)\n", res->reply->outcome);
}

static bool lease_eval(struct lease *l, const char *src)
{
    l->evaluated = false;
    pool_eval(l->slot, src, 60, on_eval, l);
    return poolrun_until(loop, poolrun_is_true, &l->evaluated, 90);
}

#define FIRST_QUERY "DBI::dbGetQuery(cdm_con, 'SELECT count(*) AS n FROM person')$n"

/* One at a time at a steady rate: acquire, the first CDM query, release. */
static void bench_sequential(struct samples *acquire, struct samples *query)
{
    /* At one a second a release's replacement is warm before the pool
     * runs dry; a faster cadence would measure the refill, not the acquire. */
    int count = opts.quick ? 15 : 200;
    double interval = 1.0;
    struct pool *p = pool_make(8, 16, 4, RECYCLE_CONTAINER);
    struct lease l = {.acquire_ms = acquire, .eval_ms = query};

    wait_ready(p, "sequential");
    for (int i = 0; i < count; i++) {
        lease_start(p, &l);
        poolrun_until(loop, poolrun_is_true, &l.granted, 150);
        if (!l.slot)
            continue;
        lease_eval(&l, FIRST_QUERY);
        pool_release(l.slot, "bench");
        pause_for(interval);
    }
    poolrun_finish(loop, p);
}

static bool all_granted(void *arg)
{
    struct lease *ls = arg;

    for (int i = 0; i < 8; i++) {
        if (!ls[i].granted)
            return false;
    }
    return true;
}

/* Bursts of eight acquirers at once, the pool refilled between bursts. */
static void bench_bursts(struct samples *acquire)
{
    int bursts = opts.quick ? 4 : 25;
    struct pool *p = pool_make(8, 16, 4, RECYCLE_CONTAINER);
    struct lease ls[8];

    wait_ready(p, "bursts");
    for (int b = 0; b < bursts; b++) {
        for (int i = 0; i < 8; i++) {
            ls[i] = (struct lease){.acquire_ms = acquire};
            lease_start(p, &ls[i]);
        }
        poolrun_until(loop, all_granted, ls, 150);
        for (int i = 0; i < 8; i++) {
            if (ls[i].slot)
                pool_release(ls[i].slot, "bench");
        }
        wait_ready(p, "bursts refill");
    }
    poolrun_finish(loop, p);
}

/* The reference's way: no pool, so a session waits for create, start,
 * Rserve ready, connect (and here also warm-up, which only adds to it). */
static void bench_cold(struct samples *cold)
{
    int count = opts.quick ? 3 : 10;
    struct pool_config pc;
    struct pool *p;
    struct lease l = {.acquire_ms = cold};

    /* The reference starts its containers under the session's CPU quota. */
    pool_configure(&pc, 0, 1, 1, RECYCLE_CONTAINER);
    pc.start_cpus = pc.cpus;
    p = poolrun_make(loop, &pc, "bench");

    poolrun_until(loop, NULL, NULL, 1); /* leftover cleanup */
    for (int i = 0; i < count; i++) {
        lease_start(p, &l);
        poolrun_until(loop, poolrun_is_true, &l.granted, 150);
        if (l.slot)
            pool_release(l.slot, "bench");
        pause_for(1.5); /* the retired container is removed */
    }
    poolrun_finish(loop, p);
}

/* ---- a fresh fork without warm-up ---- */

struct fork_run {
    struct rconn conn;
    bool ready, closed, answered;
    double began;
};

static void fork_ready(struct rconn *c)
{
    ((struct fork_run *)c->owner)->ready = true;
}

static void fork_closed(struct rconn *c, const char *reason)
{
    ((struct fork_run *)c->owner)->closed = true;
}

static const struct rconn_callbacks fork_callbacks = {.ready = fork_ready, .closed = fork_closed};

static void fork_answered(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct fork_run *f = ctx;

    f->answered = true;
    if (reply->outcome != RCONN_REPLY_OK)
        fprintf(stderr, "bench: cold query failed (outcome %d)\n", reply->outcome);
}

static bool fork_ready_or_closed(void *arg)
{
    struct fork_run *f = arg;

    return f->ready || f->closed;
}

/* Connect to the slot's Rserve (a new fork), open the CDM and query it. */
static void fork_query(const char *socket_path, struct samples *ms)
{
    char src[512];
    struct fork_run f = {0};

    snprintf(src, sizeof(src),
             "con <- DBI::dbConnect(RSQLite::SQLite(), '/cdm/%s.sqlite', flags ="
             " RSQLite::SQLITE_RO); DBI::dbGetQuery(con, 'SELECT count(*) AS n FROM person')$n",
             opts.cdm);
    f.began = samples_now_ms();
    rconn_init(&f.conn, loop, NULL, &fork_callbacks, &f);
    rconn_connect_unix(&f.conn, socket_path);
    poolrun_until(loop, fork_ready_or_closed, &f, 30);
    if (f.ready) {
        rconn_eval(&f.conn, src, fork_answered, &f);
        poolrun_until(loop, poolrun_is_true, &f.answered, 60);
        samples_add(ms, samples_now_ms() - f.began);
    }
    rconn_close(&f.conn, "bench done");
}

static void bench_fork_query(struct samples *cold_fork)
{
    int count = opts.quick ? 10 : 30;
    struct pool *p = pool_make(1, 2, 1, RECYCLE_CONTAINER);
    struct lease l = {0};

    wait_ready(p, "fork query");
    lease_start(p, &l);
    poolrun_until(loop, poolrun_is_true, &l.granted, 150);
    for (int i = 0; l.slot && i < count; i++)
        fork_query(pool_slot_socket(l.slot), cold_fork);
    if (l.slot)
        pool_release(l.slot, "bench");
    poolrun_finish(loop, p);
}

/* ---- sustained rate ---- */

struct client {
    struct pool *pool;
    struct lease lease;
    bool running;
    unsigned sessions;
};

static void client_next(struct client *c);

static void client_evaluated(struct slot *s, const struct pool_eval_result *res, void *arg)
{
    struct client *c = arg;

    if (res->reply->outcome == RCONN_REPLY_OK)
        c->sessions++;
    pool_release(s, "bench");
    client_next(c);
}

static void client_granted(const struct pool_grant *g, void *arg)
{
    struct client *c = arg;

    on_grant(g, &c->lease);
    if (!g->slot) {
        c->running = false; /* reported by on_grant; no retry storm */
        return;
    }
    pool_eval(g->slot, "1L", 60, client_evaluated, c);
}

static void client_next(struct client *c)
{
    struct pool_acquire_args args = {.owner = "bench"};

    if (!c->running)
        return;
    c->lease.began = samples_now_ms();
    pool_acquire(c->pool, &args, client_granted, c);
}

/* Four clients in a loop of acquire, one eval, release for `seconds`. */
static double bench_sustained(enum recycle_mode mode, struct samples *acquire)
{
    double seconds = opts.quick ? 15 : 60;
    struct pool *p = pool_make(8, 16, 4, mode);
    struct client clients[4];
    unsigned total = 0;

    wait_ready(p, mode == RECYCLE_CONTAINER ? "sustained container" : "sustained process");
    for (int i = 0; i < 4; i++) {
        clients[i] = (struct client){.pool = p, .running = true};
        clients[i].lease.acquire_ms = acquire;
        client_next(&clients[i]);
    }
    pause_for(seconds);
    for (int i = 0; i < 4; i++) {
        clients[i].running = false;
        total += clients[i].sessions;
    }
    pause_for(2); /* the last evaluations end */
    poolrun_finish(loop, p);
    return total / seconds;
}

/* ---- start rate ---- */

static double bench_start_rate(unsigned max_starting)
{
    unsigned n = opts.quick ? 4 : 8;
    struct pool *p = pool_make(n, n, max_starting, RECYCLE_CONTAINER);
    double t = samples_now_ms(), rate;

    wait_ready(p, "start rate");
    rate = n / ((samples_now_ms() - t) / 1e3);
    poolrun_finish(loop, p);
    return rate;
}

/* ---- main ---- */

static unsigned parse_parts(const char *list)
{
    char *copy = strdup(list), *save = NULL;
    unsigned parts = 0;

    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i = 0;

        while (i < sizeof(part_names) / sizeof(part_names[0]) && strcmp(t, part_names[i]) != 0)
            i++;
        if (i == sizeof(part_names) / sizeof(part_names[0])) {
            fprintf(stderr, "omcp-bench-pool: no part %s\n", t);
            exit(2);
        }
        parts |= 1u << i;
    }
    free(copy);
    return parts;
}

static void parse_args(int argc, char **argv)
{
    static const struct option options[] = {
        {"quick", no_argument, NULL, 'q'},      {"image", required_argument, NULL, 'i'},
        {"uid", required_argument, NULL, 'u'},  {"cdm-dir", required_argument, NULL, 'd'},
        {"cdm", required_argument, NULL, 'c'},  {"work", required_argument, NULL, 'w'},
        {"only", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'q':
            opts.quick = true;
            break;
        case 'i':
            opts.image = optarg;
            break;
        case 'u':
            opts.uid = (unsigned)atoi(optarg);
            break;
        case 'd':
            opts.cdm_dir = optarg;
            break;
        case 'c':
            opts.cdm = optarg;
            break;
        case 'w':
            opts.work = optarg;
            break;
        case 'o':
            opts.parts = parse_parts(optarg);
            break;
        default:
            exit(2);
        }
    }
    if (!opts.uid || !opts.cdm_dir) {
        fprintf(stderr, "usage: omcp-bench-pool [--quick] --uid UID --cdm-dir DIR [--cdm NAME]"
                        " [--image IMAGE] [--work DIR] [--only PARTS]\n");
        exit(2);
    }
}

static bool part(unsigned bits)
{
    return (opts.parts & bits) == bits;
}

/* Containers per second by POOL_MAX_STARTING, each from an empty pool. */
static void bench_starts(void)
{
    static const unsigned widths[] = {1, 2, 4, 8};
    size_t nwidths = opts.quick ? 3 : 4;

    for (size_t i = 0; i < nwidths; i++) {
        double rate = bench_start_rate(widths[i]);
        char name[64];

        snprintf(name, sizeof(name), "POOL_MAX_STARTING=%u", widths[i]);
        samples_value(name, "containers/s", rate, true);
    }
}

int main(int argc, char **argv)
{
    struct samples seq = {0}, burst = {0}, cold = {0}, warm_query = {0}, fork_ms = {0};
    struct samples sus_container = {0}, sus_process = {0};
    double rate_container = 0, rate_process = 0;

    parse_args(argc, argv);
    log_min_level = L_WARN;
    poolrun_places(&places, opts.work, "omcp-bench-pool");
    loop = ev_default_loop(0);
    docker = poolrun_docker(loop, "omcp-bench-pool");
    printf("omcp-bench-pool: %s mode, image %s, CDM %s/%s.sqlite\n", opts.quick ? "quick" : "full",
           opts.image, opts.cdm_dir, opts.cdm);

    if (part(PART_SEQUENTIAL))
        bench_sequential(&seq, &warm_query);
    if (part(PART_BURSTS))
        bench_bursts(&burst);
    if (part(PART_COLD))
        bench_cold(&cold);
    if (part(PART_FORK))
        bench_fork_query(&fork_ms);
    if (part(PART_SUSTAINED)) {
        rate_container = bench_sustained(RECYCLE_CONTAINER, &sus_container);
        rate_process = bench_sustained(RECYCLE_PROCESS, &sus_process);
    }

    printf("\n");
    if (part(PART_SEQUENTIAL))
        samples_report("acquire, warm pool, 1 at a time", &seq, "ms");
    if (part(PART_BURSTS))
        samples_report("acquire, warm pool, bursts of 8", &burst, "ms");
    if (part(PART_COLD))
        samples_report("cold start (create..connect..warm)", &cold, "ms");
    if (part(PART_COLD | PART_SEQUENTIAL))
        samples_ratio("ratio cold / warm acquire", &cold, &seq);
    if (part(PART_SEQUENTIAL))
        samples_report("first CDM query, warmed lease", &warm_query, "ms");
    if (part(PART_FORK))
        samples_report("first CDM query, fresh fork", &fork_ms, "ms");
    if (part(PART_FORK | PART_SEQUENTIAL))
        samples_ratio("ratio fresh fork / warmed lease", &fork_ms, &warm_query);
    if (part(PART_SUSTAINED)) {
        samples_report("acquire under load, container mode", &sus_container, "ms");
        samples_report("acquire under load, process mode", &sus_process, "ms");
        samples_value("sustained, POOL_RECYCLE=container", "sessions/s", rate_container, true);
        samples_value("sustained, POOL_RECYCLE=process", "sessions/s", rate_process, true);
    }
    if (part(PART_STARTS))
        bench_starts();
    docker_free(docker);
    poolrun_places_remove(&places);
    return 0;
}
