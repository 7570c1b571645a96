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
 * With --serve the rounds come from the driver instead, one command a line
 * on standard input, so that it can take turns with the other arms while
 * this pool stays warm: "settle" waits until the pool is quiet at its warm
 * target; "round N" runs N sessions once, waits for the pool to be quiet
 * again (so its refill is in nobody's round) and answers one JSON line,
 * {"c", "seconds", "latencies_ms", "starts_ms", "failures"}, on standard
 * output. The widest --concurrency sizes the pool.
 *
 * Usage: omcp-bench-omop --arm direct|reference --uid UID --cdm-dir DIR
 *            --workload FILE --concurrency 1,2,4 [--rounds R | --serve]
 *            [--cdm NAME] [--connect R] [--image IMAGE] [--work DIR]
 *            [--db-host DIR --db-port N --db-user ROLE] [--recycle container|process]
 * FILE is JSON: {"analyses": [{"name": ..., "sql": ..., "params": {...}}]}.
 * --connect is the R that opens cdm_con in a fresh connection (reference
 * arm); the default opens the CDM by name as warm-up does. --db-* name a
 * PostgreSQL CDM cluster as the daemon's DB_HOST, DB_PORT and
 * DB_SANDBOX_USER do; --recycle as POOL_RECYCLE (the direct arm). */
#include "bench/poolrun.h"
#include "bench/samples.h"
#include "mcp/rcode.h"
#include "pool/docker.h"
#include "pool/pool.h"
#include "proxy/log.h"
#include "rserve/rconn.h"

#include <errno.h>
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
    bool serve;           /* rounds on the driver's command */
    bool recycle_process; /* POOL_RECYCLE=process: a released slot keeps its container */
    const char *db_host;  /* the PostgreSQL CDM cluster's socket directory, or "" */
    int db_port;
    const char *db_user; /* its read-only role */
};

static struct bench_opts opts = {.image = "omcp-r-sandbox:latest",
                                 .cdm = "synthetic",
                                 .rounds = 2,
                                 .db_host = "",
                                 .db_port = 5432,
                                 .db_user = "omcp_cdm_reader"};
static struct ev_loop *loop;
static struct docker *docker;
static struct poolrun_places places;
static unsigned warm_target; /* idle slots a settled pool holds */

/* The analyses as the R text omop_query would evaluate. */
static char **sources;
static size_t nsources;
static char **names;

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
        .recycle = opts.recycle_process ? RECYCLE_PROCESS : RECYCLE_CONTAINER,
        .run_dir = places.run_dir,
        .workspace_root = places.ws_root,
        .workspace_size = (int64_t)500 << 20, /* the daemon's WORKSPACE_SIZE */
        .cdm_dir = opts.cdm_dir,
        .cdm_default = opts.cdm,
        .pg_socket_dir = opts.db_host,
        .pg_port = opts.db_port,
        .pg_user = opts.db_user,
        .pool_label = places.label,
    };

    poolrun_defaults(&pc);
    /* The reference starts its containers under the session's CPU quota;
     * the pool lifts it until a slot is warm. */
    if (opts.reference)
        pc.start_cpus = pc.cpus;
    return poolrun_make(loop, &pc, "omcp-bench-omop");
}

/* Nothing is starting, warming or being removed, and the warm target is
 * idle (the reference arm's target is none: every container of the last
 * round is gone). */
static bool pool_is_settled(void *arg)
{
    const struct pool_stats *st = pool_stats(arg);

    for (int i = 0; i < SLOT_NSTATES; i++)
        if (i != SLOT_IDLE && st->slots[i])
            return false;
    return st->slots[SLOT_IDLE] >= warm_target;
}

static bool pool_settle(struct pool *p)
{
    if (poolrun_until(loop, pool_is_settled, p, 900))
        return true;
    fprintf(stderr, "omcp-bench-omop: pool not settled within 900 s\n");
    return false;
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

/* One round on a settled pool; the refill after it is waited for too, so
 * no round (of this arm or another) runs beside it. Returns its seconds. */
static double round_measured(struct round *r)
{
    double seconds;

    pool_settle(r->pool);
    seconds = round_run(r);
    round_free_closed(r);
    pool_settle(r->pool);
    return seconds;
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
    for (unsigned i = 0; i < opts.rounds; i++)
        seconds += round_measured(r);
    report(n, &lat, &start, seconds, r->failures);
    samples_clear(&lat);
    samples_clear(&start);
    free(r);
}

/* ---- serving the driver ---- */

/* The driver's commands, read while the loop keeps the pool's timers
 * running. */
struct command_reader {
    ev_io io;
    char text[256]; /* bytes read; a command ends at a newline */
    size_t len;
    size_t taken; /* bytes of the command handed out last */
    bool eof;
};

static void on_command_bytes(struct ev_loop *l, ev_io *w, int revents)
{
    struct command_reader *cr =
        (struct command_reader *)((char *)w - offsetof(struct command_reader, io));
    ssize_t n = read(w->fd, cr->text + cr->len, sizeof(cr->text) - 1 - cr->len);

    if (n > 0)
        cr->len += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        cr->eof = true;
    if (cr->len == sizeof(cr->text) - 1) /* no newline in a full buffer: not a command */
        cr->eof = true;
}

static bool command_ready(void *arg)
{
    struct command_reader *cr = arg;

    return cr->eof || memchr(cr->text, '\n', cr->len);
}

/* The next command without its newline, or NULL at the end of input. */
static const char *command_next(struct command_reader *cr)
{
    char *nl;

    memmove(cr->text, cr->text + cr->taken, cr->len - cr->taken);
    cr->len -= cr->taken;
    cr->taken = 0;
    poolrun_until(loop, command_ready, cr, 365 * 86400.);
    nl = memchr(cr->text, '\n', cr->len);
    if (!nl)
        return NULL;
    *nl = '\0';
    cr->taken = (size_t)(nl - cr->text) + 1;
    return cr->text;
}

static void reply(json_t *answer)
{
    json_dumpf(answer, stdout, JSON_COMPACT);
    putchar('\n');
    fflush(stdout);
    json_decref(answer);
}

static json_t *samples_json(const struct samples *s)
{
    json_t *list = json_array();

    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(list, json_real(s->ms[i]));
    return list;
}

static void serve_round(struct pool *p, unsigned n)
{
    struct samples lat = {0}, start = {0};
    struct round *r = calloc(1, sizeof(*r));
    double seconds;

    *r = (struct round){.pool = p, .n = n, .latency = &lat, .start = &start};
    seconds = round_measured(r);
    reply(json_pack("{s:I, s:f, s:o, s:o, s:I}", "c", (json_int_t)n, "seconds", seconds,
                    "latencies_ms", samples_json(&lat), "starts_ms", samples_json(&start),
                    "failures", (json_int_t)r->failures));
    samples_clear(&lat);
    samples_clear(&start);
    free(r);
}

/* Commands until the end of input: "settle", "round N" (N up to widest). */
static void serve(struct pool *p, unsigned widest)
{
    struct command_reader cr = {0};
    const char *command;
    unsigned n;

    ev_io_init(&cr.io, on_command_bytes, STDIN_FILENO, EV_READ);
    ev_io_start(loop, &cr.io);
    while ((command = command_next(&cr))) {
        if (strcmp(command, "settle") == 0)
            reply(json_pack("{s:b}", "settled", pool_settle(p)));
        else if (sscanf(command, "round %u", &n) == 1 && n >= 1 && n <= widest)
            serve_round(p, n);
        else
            reply(json_pack("{s:s}", "error", "unknown command"));
    }
    ev_io_stop(loop, &cr.io);
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
                    "--workload FILE --concurrency LIST [--rounds R | --serve] [--cdm NAME] "
                    "[--connect R] [--image IMAGE] [--work DIR] [--db-host DIR --db-port N "
                    "--db-user ROLE] [--recycle container|process]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option options[] = {
        {"arm", required_argument, NULL, 'a'},      {"uid", required_argument, NULL, 'u'},
        {"cdm-dir", required_argument, NULL, 'd'},  {"cdm", required_argument, NULL, 'c'},
        {"workload", required_argument, NULL, 'l'}, {"concurrency", required_argument, NULL, 'n'},
        {"rounds", required_argument, NULL, 'r'},   {"connect", required_argument, NULL, 'o'},
        {"image", required_argument, NULL, 'i'},    {"work", required_argument, NULL, 'w'},
        {"serve", no_argument, NULL, 's'},          {"db-host", required_argument, NULL, 'H'},
        {"db-port", required_argument, NULL, 'P'},  {"db-user", required_argument, NULL, 'U'},
        {"recycle", required_argument, NULL, 'R'},  {NULL, 0, NULL, 0},
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
        case 's':
            opts.serve = true;
            break;
        case 'H':
            opts.db_host = optarg;
            break;
        case 'P':
            opts.db_port = atoi(optarg);
            break;
        case 'U':
            opts.db_user = optarg;
            break;
        case 'R':
            if (strcmp(optarg, "container") != 0 && strcmp(optarg, "process") != 0)
                usage();
            opts.recycle_process = strcmp(optarg, "process") == 0;
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

int main(int argc, char **argv)
{
    unsigned widest = 0;
    struct pool *p;

    parse_args(argc, argv);
    log_min_level = L_WARN;
    load_workload();
    poolrun_places(&places, opts.work, "omcp-bench-omop");
    loop = ev_default_loop(0);
    docker = poolrun_docker(loop, "omcp-bench-omop");
    for (size_t i = 0; i < opts.nwidths; i++)
        widest = opts.widths[i] > widest ? opts.widths[i] : widest;
    fprintf(stderr, "omcp-bench-omop: %s arm, %zu analyses, %s, CDM %s/%s\n",
            opts.reference ? "reference" : "direct", nsources,
            opts.serve ? "rounds on command" : "rounds in turn", opts.cdm_dir, opts.cdm);

    /* The direct arm's pool holds exactly the widest round's slots, all
     * warm, so no container starts while a round runs; the reference arm
     * starts every container on demand. */
    warm_target = opts.reference ? 0 : widest;
    p = opts.reference ? pool_make(0, widest, widest) : pool_make(widest, widest, 4);
    if (opts.serve)
        serve(p, widest);
    else
        for (size_t i = 0; i < opts.nwidths; i++)
            bench_width(p, opts.widths[i]);
    poolrun_finish(loop, p);
    docker_free(docker);
    poolrun_places_remove(&places);
    return 0;
}
