/* The OMOP analyses on direct Rserve connections, without the proxy, for
 * bench/run.py's throughput comparison. Two arms:
 *   direct     warm slots of the pool, as the daemon leases them: each
 *              session runs the analyses once on its lease, evaluating the
 *              same R text omop_query sends (omcp_query(sql, params, ...));
 *   reference  the reference's way: a new container per session (create,
 *              start, Rserve ready, connect; the pool's warm-up comes on top)
 *              and a new Rserve connection per call, which opens the CDM
 *              itself before the same omcp_query().
 * For each concurrency N, `rounds` times: N sessions at once, each running
 * every analysis once; the pool refills between rounds, outside the clock.
 *
 * Usage: omcp-bench-omop --arm direct|reference --uid UID --cdm-dir DIR
 *            --workload FILE --concurrency 1,2,4 [--rounds R] [--cdm NAME]
 *            [--connect R] [--image IMAGE] [--work DIR]
 * FILE is JSON: {"analyses": [{"name": ..., "sql": ..., "params": {...}}]}.
 * --connect is the R that opens cdm_con in a fresh connection (reference
 * arm); the default opens the CDM by name as warm-up does. */
#include "bench/poolrun.h"
#include "bench/samples.h"
#include "mcp/rcode.h"
#include "pool/docker.h"
#include "pool/pool.h"
#include "proxy/log.h"
#include "rserve/rconn.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#define MAX_WIDTHS   8
#define MAX_SESSIONS 64

struct bench_opts {
    bool reference;
    const char *image;
    unsigned uid;
    const char *cdm_dir;
    const char *cdm;
    const char *workload;
    const char *connect;
    const char *work;
    unsigned widths[MAX_WIDTHS];
    size_t nwidths;
    unsigned rounds;
};

static struct bench_opts opts = {.image = "omcp-r-sandbox:latest", .cdm = "synthetic", .rounds = 2};
static struct ev_loop *loop;
static struct docker *docker;
static char run_dir[512], ws_root[512], label[512];

/* The analyses as the R text omop_query would evaluate. */
static char **sources;
static size_t nsources;
static char **names;

/* ---- the loop ---- */

/* ---- the workload ---- */

/* omcp_query(sql, params = list(...), max_rows = 1000L), built as the
 * daemon builds it; on the reference arm the CDM is opened first. */
static char *query_source(const char *sql, const json_t *params)
{
    struct buf src = BUF_INIT;

    if (opts.reference)
        buf_printf(&src, "%s; ", opts.connect);
    buf_puts(&src, "omcp_query(");
    mcp_rcode_string(&src, sql);
    buf_puts(&src, ", params = ");
    if (!mcp_rcode_params(&src, params)) {
        fprintf(stderr, "omcp-bench-omop: parameters of an analysis are not usable\n");
        exit(1);
    }
    buf_puts(&src, ", max_rows = 1000L)");
    return src.data;
}

static void load_workload(void)
{
    json_error_t jerr;
    json_t *root = json_load_file(opts.workload, 0, &jerr), *analyses, *a;
    size_t i;

    analyses = json_object_get(root, "analyses");
    if (!json_is_array(analyses) || !json_array_size(analyses)) {
        fprintf(stderr, "omcp-bench-omop: %s: no analyses (%s)\n", opts.workload, jerr.text);
        exit(1);
    }
    nsources = json_array_size(analyses);
    sources = calloc(nsources, sizeof(*sources));
    names = calloc(nsources, sizeof(*names));
    json_array_foreach(analyses, i, a)
    {
        json_t *params = json_object_get(a, "params"), *empty = json_object();

        sources[i] = query_source(json_string_value(json_object_get(a, "sql")),
                                  json_is_object(params) ? params : empty);
        names[i] = strdup(json_string_value(json_object_get(a, "name")));
        json_decref(empty);
    }
    json_decref(root);
}

/* True when omcp_query() answered with rows, not with an error: the reply
 * is decoded and its meta JSON read, as the daemon does. */
static bool answer_ok(const struct rconn_reply *reply)
{
    struct sexp_arena arena;
    struct sexp *tree;
    const struct sexp *names_attr, *meta = NULL;
    json_t *json = NULL;
    bool ok = false;

    if (reply->outcome != RCONN_REPLY_OK) {
        fprintf(stderr, "omcp-bench-omop: %s\n",
                reply->outcome == RCONN_REPLY_ERROR ? qap_err_name(reply->status) : reply->reason);
        return false;
    }
    sexp_arena_init(&arena);
    if (sexp_decode_param(reply->payload, reply->len, &arena, NULL, &tree) != QAP_OK ||
        tree->kind != SEXP_VEC || !(names_attr = sexp_attr(tree, "names")) ||
        names_attr->kind != SEXP_STR)
        goto out;
    for (uint64_t i = 0; i < tree->n && i < names_attr->n; i++)
        if (names_attr->v.str[i] && strcmp(names_attr->v.str[i], "meta") == 0)
            meta = tree->v.elts[i];
    if (meta && meta->kind == SEXP_STR && meta->n == 1 && meta->v.str[0])
        json = json_loads(meta->v.str[0], 0, NULL);
    ok = json_is_object(json) && !json_object_get(json, "error");
    if (!ok && json)
        fprintf(stderr, "omcp-bench-omop: %.300s\n", meta->v.str[0]);
out:
    json_decref(json);
    sexp_arena_free(&arena);
    return ok;
}

/* ---- pools ---- */

static struct pool *pool_make(unsigned min_idle, unsigned max_slots, unsigned max_starting)
{
    struct pool_config pc = {
        .backend = docker_backend(docker),
        .image = opts.image,
        .uid = opts.uid,
        .min_idle = min_idle,
        .max_slots = max_slots,
        .max_starting = max_starting,
        .acquire_timeout = 300,
        .start_timeout = 300,
        .recycle = RECYCLE_CONTAINER,
        .run_dir = run_dir,
        .workspace_root = ws_root,
        .cdm_dir = opts.cdm_dir,
        .cdm_default = opts.cdm,
        .pool_label = label,
    };

    poolrun_defaults(&pc);
    return poolrun_make(loop, &pc, "omcp-bench-omop");
}

/* No slot left at all: every container of the last round is removed. */
static bool pool_is_empty(void *arg)
{
    const struct pool_stats *st = pool_stats(arg);
    unsigned n = 0;

    for (int i = 0; i < SLOT_NSTATES; i++)
        n += st->slots[i];
    return n == 0;
}

/* ---- one session: acquire, every analysis once, release ---- */

struct round;

/* Reference arm: one call's own connection, freed after the round. */
struct call {
    struct rconn conn;
    struct session *session;
    bool counted; /* its latency is in; the next call may start */
    struct call *next_closed;
};

struct session {
    struct round *round;
    struct slot *slot;
    size_t next;       /* the analysis to run next */
    double call_began; /* the current analysis, for its latency */
    ev_timer kick;     /* starts the next call on a later loop pass */
};

struct round {
    struct pool *pool;
    struct session sessions[MAX_SESSIONS];
    unsigned n, finished;
    struct samples *latency, *start;
    unsigned failures;
    double began;
    struct call *closed; /* connections to free once the round is over */
};

static void session_end(struct session *s)
{
    if (s->slot)
        pool_release(s->slot, "bench session done");
    s->slot = NULL;
    s->round->finished++;
}

/* Called inside a reply callback: the next call starts from the loop. */
static void call_answered(struct session *s, bool ok)
{
    samples_add(s->round->latency, samples_now_ms() - s->call_began);
    if (!ok) {
        fprintf(stderr, "omcp-bench-omop: %s failed\n", names[s->next]);
        s->round->failures++;
    }
    s->next++;
    ev_timer_set(&s->kick, 0., 0.);
    ev_timer_start(loop, &s->kick);
}

static void on_eval(struct slot *slot, const struct pool_eval_result *res, void *arg)
{
    call_answered(arg, answer_ok(res->reply));
}

static void fresh_answered(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct call *call = ctx;
    bool ok = answer_ok(reply);

    if (!call->counted) {
        call->counted = true;
        call_answered(call->session, ok);
    }
    rconn_close(c, "bench call done");
}

static void fresh_ready(struct rconn *c)
{
    struct call *call = c->owner;

    rconn_eval(c, sources[call->session->next], fresh_answered, call);
}

static void fresh_closed(struct rconn *c, const char *reason)
{
    struct call *call = c->owner;
    struct round *r = call->session->round;

    if (!call->counted) {
        fprintf(stderr, "omcp-bench-omop: connection closed: %s\n", reason);
        call->counted = true;
        call_answered(call->session, false);
    }
    call->next_closed = r->closed;
    r->closed = call;
}

static const struct rconn_callbacks fresh_callbacks = {.ready = fresh_ready,
                                                       .closed = fresh_closed};

static void session_next(struct ev_loop *l, ev_timer *w, int revents)
{
    struct session *s = (struct session *)((char *)w - offsetof(struct session, kick));
    struct call *call;

    if (s->next == nsources) {
        session_end(s);
        return;
    }
    s->call_began = samples_now_ms();
    if (!opts.reference) {
        pool_eval(s->slot, sources[s->next], 120, on_eval, s);
        return;
    }
    call = calloc(1, sizeof(*call));
    call->session = s;
    rconn_init(&call->conn, loop, NULL, &fresh_callbacks, call);
    rconn_connect_unix(&call->conn, pool_slot_socket(s->slot));
}

static void on_grant(const struct pool_grant *g, void *arg)
{
    struct session *s = arg;

    if (!g->slot) {
        fprintf(stderr, "omcp-bench-omop: acquire failed: %s: %s\n", g->error, g->message);
        s->round->failures += (unsigned)nsources;
        s->round->finished++;
        return;
    }
    samples_add(s->round->start, g->wait_seconds * 1e3);
    s->slot = g->slot;
    ev_timer_set(&s->kick, 0., 0.);
    ev_timer_start(loop, &s->kick);
}

static bool round_done(void *arg)
{
    struct round *r = arg;

    return r->finished == r->n;
}

/* N sessions at once; returns the seconds until the last one ended. */
static double round_run(struct round *r)
{
    struct pool_acquire_args args = {.owner = "bench"};

    r->finished = 0;
    r->began = samples_now_ms();
    for (unsigned i = 0; i < r->n; i++) {
        r->sessions[i] = (struct session){.round = r};
        ev_init(&r->sessions[i].kick, session_next);
        pool_acquire(r->pool, &args, on_grant, &r->sessions[i]);
    }
    if (!poolrun_until(loop, round_done, r, 900)) {
        fprintf(stderr, "omcp-bench-omop: a round did not end within 900 s\n");
        exit(1);
    }
    return (samples_now_ms() - r->began) / 1e3;
}

static void round_free_closed(struct round *r)
{
    while (r->closed) {
        struct call *next = r->closed->next_closed;

        free(r->closed);
        r->closed = next;
    }
}

/* ---- one concurrency ---- */

static void report(unsigned n, struct samples *lat, struct samples *start, double seconds,
                   unsigned failures)
{
    const char *arm = opts.reference ? "reference" : "direct";
    char name[96];

    snprintf(name, sizeof(name), "omop %s c=%u analysis", arm, n);
    samples_report(name, lat, "ms");
    snprintf(name, sizeof(name), "omop %s c=%u session start", arm, n);
    samples_report(name, start, "ms");
    snprintf(name, sizeof(name), "omop %s c=%u throughput", arm, n);
    samples_value(name, "analyses/s", seconds > 0 ? lat->n / seconds : 0, true);
    if (failures) {
        snprintf(name, sizeof(name), "omop %s c=%u failures", arm, n);
        samples_value(name, "analyses", failures, false);
    }
}

static void bench_width(struct pool *p, unsigned n)
{
    struct samples lat = {0}, start = {0};
    struct round *r = calloc(1, sizeof(*r));
    double seconds = 0;

    *r = (struct round){.pool = p, .n = n, .latency = &lat, .start = &start};
    for (unsigned i = 0; i < opts.rounds; i++) {
        if (opts.reference ? !poolrun_until(loop, pool_is_empty, p, 300)
                           : !poolrun_until(loop, poolrun_is_ready, p, 900))
            fprintf(stderr, "omcp-bench-omop: pool not settled before round %u\n", i + 1);
        seconds += round_run(r);
        round_free_closed(r);
    }
    report(n, &lat, &start, seconds, r->failures);
    samples_clear(&lat);
    samples_clear(&start);
    free(r);
}

/* ---- main ---- */

static void parse_widths(const char *text)
{
    char *copy = strdup(text), *save = NULL;

    for (char *t = strtok_r(copy, ",", &save); t && opts.nwidths < MAX_WIDTHS;
         t = strtok_r(NULL, ",", &save)) {
        unsigned n = (unsigned)atoi(t);

        if (n < 1 || n > MAX_SESSIONS) {
            fprintf(stderr, "omcp-bench-omop: concurrency %s is not 1..%d\n", t, MAX_SESSIONS);
            exit(2);
        }
        opts.widths[opts.nwidths++] = n;
    }
    free(copy);
}

static void usage(void)
{
    fprintf(stderr, "usage: omcp-bench-omop --arm direct|reference --uid UID --cdm-dir DIR "
                    "--workload FILE --concurrency LIST [--rounds R] [--cdm NAME] [--connect R] "
                    "[--image IMAGE] [--work DIR]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option options[] = {
        {"arm", required_argument, NULL, 'a'},
        {"uid", required_argument, NULL, 'u'},
        {"cdm-dir", required_argument, NULL, 'd'},
        {"cdm", required_argument, NULL, 'c'},
        {"workload", required_argument, NULL, 'l'},
        {"concurrency", required_argument, NULL, 'n'},
        {"rounds", required_argument, NULL, 'r'},
        {"connect", required_argument, NULL, 'o'},
        {"image", required_argument, NULL, 'i'},
        {"work", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    const char *arm = NULL;
    int c;

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'a':
            arm = optarg;
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
        case 'l':
            opts.workload = optarg;
            break;
        case 'n':
            parse_widths(optarg);
            break;
        case 'r':
            opts.rounds = (unsigned)atoi(optarg);
            break;
        case 'o':
            opts.connect = optarg;
            break;
        case 'i':
            opts.image = optarg;
            break;
        case 'w':
            opts.work = optarg;
            break;
        default:
            usage();
        }
    }
    if (!arm || (strcmp(arm, "direct") != 0 && strcmp(arm, "reference") != 0) || !opts.uid ||
        !opts.cdm_dir || !opts.workload || !opts.nwidths || !opts.rounds)
        usage();
    opts.reference = strcmp(arm, "reference") == 0;
    if (!opts.connect) {
        static char connect[256];

        snprintf(connect, sizeof(connect), "omcp_open_cdm(\"%s\")", opts.cdm);
        opts.connect = connect;
    }
}

static void on_version(const struct backend_result *res, void *arg)
{
    *(int *)arg = res->error == BACKEND_OK ? 1 : 2;
}

static void prepare(void)
{
    const char *err = NULL;
    int version = 0;
    char tmpl[] = "/var/tmp/omcp-bench-omop-XXXXXX";

    if (!opts.work && !(opts.work = mkdtemp(tmpl))) {
        perror("mkdtemp");
        exit(1);
    }
    opts.work = strdup(opts.work);
    snprintf(run_dir, sizeof(run_dir), "%s/run", opts.work);
    snprintf(ws_root, sizeof(ws_root), "%s/workspaces", opts.work);
    snprintf(label, sizeof(label), "%s", opts.work);
    loop = ev_default_loop(0);
    docker = docker_new(loop, NULL, &err);
    docker_check_version(docker, on_version, &version);
    while (!version)
        ev_run(loop, EVRUN_ONCE);
    if (version != 1) {
        fprintf(stderr, "omcp-bench-omop: no usable Docker engine\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    unsigned widest = 0;
    struct pool *p;

    parse_args(argc, argv);
    log_min_level = L_WARN;
    load_workload();
    prepare();
    for (size_t i = 0; i < opts.nwidths; i++)
        widest = opts.widths[i] > widest ? opts.widths[i] : widest;
    printf("omcp-bench-omop: %s arm, %zu analyses, %u rounds, CDM %s/%s\n",
           opts.reference ? "reference" : "direct", nsources, opts.rounds, opts.cdm_dir, opts.cdm);

    /* The direct arm's pool holds exactly the widest round's slots, all
     * warm, so no container starts while a round runs; the reference arm
     * starts every container on demand. */
    p = opts.reference ? pool_make(0, widest, widest) : pool_make(widest, widest, 4);
    for (size_t i = 0; i < opts.nwidths; i++)
        bench_width(p, opts.widths[i]);
    poolrun_finish(loop, p);
    docker_free(docker);
    rmdir(run_dir);
    rmdir(ws_root);
    rmdir(opts.work);
    return 0;
}
