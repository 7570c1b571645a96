/* Fixed, I/O-free workloads whose instruction counts bench/run.py measures
 * under callgrind, where a noisy machine cannot move them: decode + JSON of
 * a QAP payload built here, one JSON-RPC tools/call parse with its schema
 * check, one state file encoding. Everything a workload needs is prepared
 * before instr_measure(), the only function callgrind counts
 * (--collect-atstart=no --toggle-collect=instr_measure).
 *
 * Usage: omcp-bench-instr [--list] [WORKLOAD [ITERATIONS]]
 * Without valgrind it prints the wall time per iteration. */
#include "bench/samples.h"
#include "mcp/jsonrpc.h"
#include "mcp/schema.h"
#include "mcp/tools.h"
#include "pool/state.h"
#include "rserve/rjson.h"
#include "rserve/sexp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define FRAME_ROWS  2000
#define STATE_SLOTS 100

/* ---- decode + JSON of a data frame ---- */

static struct buf frame_payload = BUF_INIT;

static struct sexp *strings(struct sexp_arena *a, const char *const *v, size_t n)
{
    struct sexp *x = sexp_new(a, SEXP_STR, n);

    for (size_t i = 0; i < n; i++)
        x->v.str[i] = v[i];
    return x;
}

/* A data frame as Rserve sends one: integer ids, doubles with NAs,
 * strings with NAs, a factor and a logical column. */
static struct sexp *frame_columns(struct sexp_arena *a)
{
    static const char *const levels[] = {"low", "mid", "high"};
    static char text[FRAME_ROWS][16];
    const char *names[FRAME_ROWS];
    int32_t ids[FRAME_ROWS], factor[FRAME_ROWS];
    double w[FRAME_ROWS];
    uint8_t flag[FRAME_ROWS];
    struct sexp *cols = sexp_new(a, SEXP_VEC, 5);

    for (int i = 0; i < FRAME_ROWS; i++) {
        ids[i] = i + 1;
        w[i] = (i * 7919 % 100003) / 100.0 - 500;
        if (i % 10 == 9)
            memcpy(&w[i], &(uint64_t){SEXP_NA_REAL_BITS}, sizeof(w[i]));
        snprintf(text[i], sizeof(text[i]), "item-%d", i * 31 % 10007);
        names[i] = i % 17 == 16 ? NULL : text[i];
        factor[i] = 1 + i % 3;
        flag[i] = (uint8_t)(i % 5 == 4 ? SEXP_NA_LOGICAL : i % 2);
    }
    cols->v.elts[0] = sexp_new_ints(a, ids, FRAME_ROWS);
    cols->v.elts[1] = sexp_new_reals(a, w, FRAME_ROWS);
    cols->v.elts[2] = strings(a, names, FRAME_ROWS);
    cols->v.elts[3] = sexp_new_ints(a, factor, FRAME_ROWS);
    sexp_set_attr(a, cols->v.elts[3], "levels", strings(a, levels, 3));
    sexp_set_attr(a, cols->v.elts[3], "class", sexp_new_str1(a, "factor"));
    cols->v.elts[4] = sexp_new_lgls(a, flag, FRAME_ROWS);
    return cols;
}

static void frame_prepare(void)
{
    static const char *const names[] = {"id", "w", "s", "f", "b"};
    struct sexp_arena a;
    struct sexp *df;

    sexp_arena_init(&a);
    df = frame_columns(&a);
    sexp_set_attr(&a, df, "names", strings(&a, names, 5));
    sexp_set_attr(&a, df, "class", sexp_new_str1(&a, "data.frame"));
    sexp_set_attr(&a, df, "row.names",
                  sexp_new_ints(&a, (int32_t[]){SEXP_NA_INTEGER, -FRAME_ROWS}, 2));
    sexp_encode_param(&frame_payload, df);
    sexp_arena_free(&a);
}

/* What a reply costs the daemon: decode the payload, write its JSON. */
static size_t frame_convert(void)
{
    struct sexp_arena arena;
    struct sexp *x;
    struct buf json = BUF_INIT;
    size_t len;

    sexp_arena_init(&arena);
    if (sexp_decode_param((const uint8_t *)frame_payload.data, frame_payload.len, &arena, NULL,
                          &x) != QAP_OK) {
        fprintf(stderr, "omcp-bench-instr: the frame does not decode\n");
        exit(1);
    }
    len = rjson_write(&json, x, 0).bytes;
    buf_free(&json);
    sexp_arena_free(&arena);
    return len;
}

static size_t frame_run(void)
{
    size_t len = frame_convert();

    if (samples_handicap())
        len += frame_convert();
    return len;
}

/* ---- JSON-RPC tools/call, parsed and checked ---- */

static const char tools_call[] =
    "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\",\"params\":{\"name\":\"omop_query\","
    "\"arguments\":{\"session_id\":\"6b8ad62e4e926a3d9f0c1e2b3a4d5c6e\",\"sql\":\"SELECT "
    "c.condition_concept_id, COUNT(DISTINCT c.person_id) AS persons FROM condition_occurrence c "
    "JOIN person p ON p.person_id = c.person_id WHERE c.condition_concept_id = "
    ":condition_concept_id GROUP BY c.condition_concept_id ORDER BY persons DESC LIMIT 10\","
    "\"params\":{\"condition_concept_id\":320128},\"max_rows\":500},"
    "\"_meta\":{\"progressToken\":\"p-42\"}}}";

static json_t *omop_schema;

static void call_prepare(void)
{
    struct mcp_version_features features = {true, true};
    json_t *list = mcp_tools_list(&features), *tool;
    size_t i;

    json_array_foreach(json_object_get(list, "tools"), i, tool)
    {
        if (strcmp(json_string_value(json_object_get(tool, "name")), "omop_query") == 0)
            omop_schema = json_incref(json_object_get(tool, "inputSchema"));
    }
    json_decref(list);
    if (!omop_schema) {
        fprintf(stderr, "omcp-bench-instr: no omop_query tool\n");
        exit(1);
    }
}

static size_t call_run(void)
{
    struct jsonrpc_error err;
    struct jsonrpc_msg msg;
    struct mcp_schema_error serr;
    json_t *value = jsonrpc_parse(tools_call, sizeof(tools_call) - 1, 1 << 20, &err);
    bool ok;

    if (!value)
        return 0;
    jsonrpc_classify(value, &msg);
    ok = msg.kind == JSONRPC_REQUEST &&
         mcp_tool_find(json_string_value(json_object_get(msg.params, "name"))) &&
         mcp_schema_check(omop_schema, json_object_get(msg.params, "arguments"), &serr);
    json_decref(value);
    return ok;
}

/* ---- the state file, encoded ---- */

static struct state pool_state;

static char *copy(const char *fmt, size_t i)
{
    char text[128];

    snprintf(text, sizeof(text), fmt, i);
    return strdup(text);
}

static void state_prepare(void)
{
    pool_state = (struct state){.instance = "6b8ad62e4e926a3d", .written_at = 1.8e9};
    pool_state.slots = calloc(STATE_SLOTS, sizeof(*pool_state.slots));
    pool_state.n_slots = STATE_SLOTS;
    for (size_t i = 0; i < STATE_SLOTS; i++) {
        struct state_slot *s = &pool_state.slots[i];

        *s = (struct state_slot){
            .name = copy("omcp-6b8ad62e4e926a3d-%zu", i),
            .container = copy("%064zx", i * 7919),
            .workspace = copy("/var/lib/omcp-rproxy/workspaces/omcp-6b8ad62e4e926a3d-%zu", i),
            .sock_dir = copy("/var/lib/omcp-rproxy/run/omcp-6b8ad62e4e926a3d-%zu", i),
            .state = i % 4 ? "leased" : "idle",
            .created_at = 1.8e9,
            .leased = i % 4 != 0,
        };
        if (s->leased)
            s->lease = (struct state_lease){.session = copy("%032zx", i * 104729),
                                            .owner = "http:team-a",
                                            .cdm = "synthetic",
                                            .created_at = 1.8e9,
                                            .last_used = 1.8e9 + 60,
                                            .idle_timeout = 300};
    }
}

static size_t state_run(void)
{
    size_t len;

    free(state_encode(&pool_state, &len));
    return len;
}

/* ---- the table ---- */

struct workload {
    const char *name;
    const char *what;
    void (*prepare)(void);
    size_t (*run)(void);
};

static const struct workload workloads[] = {
    {"codec", "decode + JSON of a 2000-row data frame (5 columns) from its QAP payload",
     frame_prepare, frame_run},
    {"tools_call", "one JSON-RPC tools/call (omop_query) parsed and its arguments checked",
     call_prepare, call_run},
    {"state", "one state file of 100 slots encoded in memory", state_prepare, state_run},
};

#define WORKLOAD_COUNT (sizeof(workloads) / sizeof(workloads[0]))

/* The region callgrind counts; the result keeps the work from being
 * optimised away. */
__attribute__((noinline)) static size_t instr_measure(const struct workload *w, unsigned iterations)
{
    size_t sum = 0;

    for (unsigned i = 0; i < iterations; i++)
        sum += w->run();
    return sum;
}

static void run_workload(const struct workload *w, unsigned iterations)
{
    double began;
    size_t sum;

    w->prepare();
    w->run(); /* first-use costs (schema tables, allocator) stay outside */
    began = samples_now_ms();
    sum = instr_measure(w, iterations);
    printf("%-12s %u iterations, %.3f ms each, result %zu%s\n", w->name, iterations,
           (samples_now_ms() - began) / iterations, sum, samples_handicap() ? " (handicap)" : "");
}

int main(int argc, char **argv)
{
    unsigned iterations = argc > 2 ? (unsigned)atoi(argv[2]) : 10;

    json_object_seed(1); /* jansson's hash seed is random otherwise, and so its counts */
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < WORKLOAD_COUNT; i++)
            printf("%s\t%s\n", workloads[i].name, workloads[i].what);
        return 0;
    }
    for (size_t i = 0; i < WORKLOAD_COUNT; i++) {
        if (argc > 1 && strcmp(argv[1], workloads[i].name) != 0)
            continue;
        run_workload(&workloads[i], iterations ? iterations : 1);
        if (argc > 1)
            return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "omcp-bench-instr: no workload %s (see --list)\n", argv[1]);
        return 2;
    }
    return 0;
}
