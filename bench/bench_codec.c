/* The R value -> JSON path in C against R's own jsonlite, in one run on one
 * host Rserve: a 10^6-element double vector and a 10^5-row data frame of
 * mixed column types. The C figure is decode + JSON of the QAP payload,
 * fetched once; the R figure is jsonlite::toJSON timed inside R, so that
 * neither counts the transport.
 *
 * Usage: omcp-bench-codec [--quick] SOCKET
 * SOCKET is the unix socket of an Rserve without a CPU quota (bench/codec.sh
 * starts one). */
#include "bench/samples.h"
#include "proxy/log.h"
#include "rserve/rconn.h"
#include "rserve/rjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

/* The values, made once in R's global environment. Doubles are full
 * precision; the frame's doubles have two decimals and every tenth is NA. */
static const char setup_source[] =
    "set.seed(20240601)\n"
    "bench_dbl <- rnorm(1e6)\n"
    "local({\n"
    "  n <- 1e5\n"
    "  i <- seq_len(n)\n"
    "  bench_df <<- data.frame(\n"
    "    id = i,\n"
    "    w = ifelse(i %% 10 == 0, NA, round(rnorm(n) * 100, 2)),\n"
    "    s = ifelse(i %% 17 == 0, NA, paste0(\"item-\", sample(1e4, n, TRUE))),\n"
    "    f = factor(sample(c(\"low\", \"mid\", \"high\"), n, TRUE)),\n"
    "    d = as.Date(\"2000-01-01\") + sample(0:9000, n, TRUE),\n"
    "    b = sample(c(TRUE, FALSE, NA), n, TRUE),\n"
    "    stringsAsFactors = FALSE)\n"
    "})\n"
    "invisible(jsonlite::toJSON(1))\n";

/* One value measured both ways; jsonlite_alt is a second R figure. */
struct codec_case {
    const char *label;
    const char *r_name;
    const char *jsonlite;
    const char *jsonlite_alt;
};

static const struct codec_case cases[] = {
    {"dbl[1e6]", "bench_dbl", "jsonlite::toJSON(bench_dbl, digits = NA)", NULL},
    {"df[1e5x6]", "bench_df", "jsonlite::toJSON(bench_df, digits = NA)",
     "jsonlite::toJSON(bench_df, digits = NA, dataframe = \"columns\")"},
};

struct bench_opts {
    bool quick;
    const char *socket;
    unsigned turns;   /* C and R alternate this many times per value */
    unsigned c_count; /* C decode + JSON runs per value and turn */
    unsigned r_count; /* jsonlite runs per value and turn, inside R */
};

static struct bench_opts opts;
static struct ev_loop *loop;
static struct rconn conn;

/* ---- a blocking eval over the non-blocking client ---- */

struct sync_reply {
    bool done;
    enum rconn_outcome outcome;
    int status;
    const char *reason;
    uint8_t *payload; /* owned, free() it */
    size_t len;
};

static void on_reply(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct sync_reply *r = ctx;

    r->done = true;
    r->outcome = reply->outcome;
    r->status = reply->status;
    r->reason = reply->reason;
    r->len = reply->len;
    r->payload = reply->outcome == RCONN_REPLY_OK ? rconn_take_payload(c) : NULL;
}

/* Evaluates source and returns the reply's payload; exits when R fails. */
static uint8_t *r_eval(const char *source, size_t *len)
{
    struct sync_reply r = {0};

    rconn_eval(&conn, source, on_reply, &r);
    while (!r.done)
        ev_run(loop, EVRUN_ONCE);
    if (r.outcome != RCONN_REPLY_OK) {
        fprintf(stderr, "omcp-bench-codec: R failed (%s): %.200s\n",
                r.outcome == RCONN_REPLY_ERROR ? qap_err_name(r.status) : r.reason, source);
        exit(1);
    }
    *len = r.len;
    return r.payload;
}

static void on_closed(struct rconn *c, const char *reason)
{
    if (strcmp(reason, "bench done") != 0) {
        fprintf(stderr, "omcp-bench-codec: connection to %s closed: %s\n", opts.socket, reason);
        exit(1);
    }
}

static const struct rconn_callbacks callbacks = {NULL, NULL, on_closed};

static void connect_rserve(void)
{
    struct rconn_config cfg = {.max_frame = (uint64_t)1 << 30, .connect_timeout = 30};

    rconn_init(&conn, loop, &cfg, &callbacks, NULL);
    rconn_connect_unix(&conn, opts.socket);
}

/* ---- the C path ---- */

/* One decode + JSON of payload into a buffer of its own, as a reply would
 * get, so that growing the buffer is counted; returns the JSON's size. */
static size_t c_convert(const uint8_t *payload, size_t len)
{
    struct sexp_arena arena;
    struct sexp *x;
    struct buf json = BUF_INIT;
    size_t json_len;

    sexp_arena_init(&arena);
    if (sexp_decode_param(payload, len, &arena, NULL, &x) != QAP_OK) {
        fprintf(stderr, "omcp-bench-codec: the payload does not decode\n");
        exit(1);
    }
    json_len = rjson_write(&json, x, 0).bytes;
    buf_free(&json);
    sexp_arena_free(&arena);
    return json_len;
}

static size_t time_c(const uint8_t *payload, size_t len, struct samples *s)
{
    size_t json_len = c_convert(payload, len); /* warm-up */
    bool handicap = samples_handicap();

    for (unsigned i = 0; i < opts.c_count; i++) {
        double t0 = samples_now_ms();

        c_convert(payload, len);
        if (handicap)
            c_convert(payload, len);
        samples_add(s, samples_now_ms() - t0);
    }
    return json_len;
}

/* ---- the R path ---- */

/* Times expr in R, once per call after one warm-up call, and adds the
 * milliseconds R measured to s. */
static void time_r(const char *expr, struct samples *s)
{
    struct buf src = BUF_INIT;
    struct sexp_arena arena;
    struct sexp *ms;
    uint8_t *payload;
    size_t len;

    buf_printf(&src,
               "local({ f <- function() %s; f(); t <- numeric(%u)\n"
               "  for (i in seq_along(t)) { t0 <- proc.time()[[3]]; f()\n"
               "    t[i] <- (proc.time()[[3]] - t0) * 1000 }\n"
               "  t })",
               expr, opts.r_count);
    payload = r_eval(src.data, &len);
    sexp_arena_init(&arena);
    if (sexp_decode_param(payload, len, &arena, NULL, &ms) != QAP_OK || ms->kind != SEXP_REAL) {
        fprintf(stderr, "omcp-bench-codec: R's timings do not decode\n");
        exit(1);
    }
    for (uint64_t i = 0; i < ms->n; i++)
        samples_add(s, sexp_real_at(ms, i));
    sexp_arena_free(&arena);
    free(payload);
    buf_free(&src);
}

/* ---- one value ---- */

static void report_throughput(const char *label, struct samples *c, size_t qap_len, size_t json_len)
{
    double p50_s = samples_quantile(c, 0.5) / 1e3;
    char name[80];

    snprintf(name, sizeof(name), "C throughput %s", label);
    printf("%-38s qap_in=%7.1f MB/s json_out=%7.1f MB/s (at p50; qap %.1f MB, json %.1f MB)\n",
           name, (double)qap_len / 1e6 / p50_s, (double)json_len / 1e6 / p50_s,
           (double)qap_len / 1e6, (double)json_len / 1e6);
}

static void report_r(const char *label, const char *variant, struct samples *r, struct samples *c)
{
    char name[80];

    snprintf(name, sizeof(name), "R jsonlite %s%s", label, variant);
    samples_report(name, r, "ms");
    snprintf(name, sizeof(name), "ratio jsonlite/C %s%s", label, variant);
    samples_ratio(name, r, c);
}

static void bench_case(const struct codec_case *cc)
{
    struct samples c = {0}, r = {0}, r_alt = {0};
    char name[80];
    size_t qap_len, json_len = 0;
    uint8_t *payload = r_eval(cc->r_name, &qap_len);

    /* C and R take turns, so that a burst of load elsewhere on the machine
     * falls on both sides of the ratio. */
    for (unsigned turn = 0; turn < opts.turns; turn++) {
        json_len = time_c(payload, qap_len, &c);
        time_r(cc->jsonlite, &r);
        if (cc->jsonlite_alt)
            time_r(cc->jsonlite_alt, &r_alt);
    }
    free(payload);

    snprintf(name, sizeof(name), "C decode+JSON %s", cc->label);
    samples_report(name, &c, "ms");
    report_throughput(cc->label, &c, qap_len, json_len);
    report_r(cc->label, "", &r, &c);
    if (cc->jsonlite_alt)
        report_r(cc->label, " cols", &r_alt, &c);
    samples_clear(&c);
    samples_clear(&r);
    samples_clear(&r_alt);
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr, "usage: omcp-bench-codec [--quick] SOCKET\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            opts.quick = true;
        else if (argv[i][0] == '-' || opts.socket)
            usage();
        else
            opts.socket = argv[i];
    }
    if (!opts.socket)
        usage();
    opts.turns = opts.quick ? 3 : 5;
    opts.c_count = opts.quick ? 5 : 20;
    opts.r_count = opts.quick ? 2 : 4;
}

/* Names what is measured: R's and jsonlite's versions. */
static void print_versions(void)
{
    struct sexp_arena arena;
    struct sexp *x;
    size_t len;
    uint8_t *payload = r_eval("paste0(R.version.string, \", jsonlite \", "
                              "packageVersion(\"jsonlite\"))",
                              &len);

    sexp_arena_init(&arena);
    if (sexp_decode_param(payload, len, &arena, NULL, &x) == QAP_OK && x->kind == SEXP_STR &&
        x->n == 1 && x->v.str[0])
        printf("omcp-bench-codec: %s, Rserve protocol %s\n", x->v.str[0],
               conn.server.server_version);
    sexp_arena_free(&arena);
    free(payload);
}

int main(int argc, char **argv)
{
    size_t len;

    parse_args(argc, argv);
    log_min_level = L_WARN;
    loop = ev_default_loop(0);
    connect_rserve();
    free(r_eval(setup_source, &len));
    print_versions();
    printf("omcp-bench-codec: %s mode on %s, C count %u, R count %u (in %u turns); "
           "dbl: rnorm(1e6); df: int, double with NA, character with NA, factor, Date, logical\n",
           opts.quick ? "quick" : "full", opts.socket, opts.c_count * opts.turns,
           opts.r_count * opts.turns, opts.turns);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        bench_case(&cases[i]);
    printf("target: jsonlite/C at least 5x at p50\n");
    rconn_close(&conn, "bench done");
    return 0;
}
