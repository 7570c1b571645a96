/* The Rserve client and the codec against a real Rserve: a table of R
 * expressions whose JSON is asserted, error statuses, assign round trips,
 * OOB frames, a request timeout and, when a second server asks for it, a
 * crypt(3) login. Usage: rserve_live OPEN_SOCKET [AUTH_SOCKET USER PASSWORD] */
#include "../unit/check.h"
#include "proxy/log.h"
#include "rserve/rconn.h"
#include "rserve/rjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct ev_loop *loop;
static struct sexp_arena arena;
static int pending; /* replies still expected; the loop ends at zero */

/* want: the JSON of the value, or "!" and the status name of an error. */
struct live_case {
    const char *expr;
    const char *want;
};

static const struct live_case cases[] = {
    {"NULL", "null"},
    {"NA", "null"},
    {"NA_integer_", "null"},
    {"NA_real_", "null"},
    {"NA_character_", "null"},
    {"c(NaN, Inf, -Inf, 1.5, NA)", "[\"NaN\",\"Inf\",\"-Inf\",1.5,null]"},
    {"c(1L, NA, -3L)", "[1,null,-3]"},
    {"c(TRUE, NA, FALSE)", "[true,null,false]"},
    {"c(a = 1, b = NA)", "{\"a\":1,\"b\":null}"},
    {"c(x = \"a\")", "{\"x\":\"a\"}"},
    {"list(x = 1L, y = \"z\", list(TRUE, NULL))", "{\"x\":1,\"y\":\"z\",\"\":[true,null]}"},
    {"list()", "[]"},
    {"character(0)", "[]"},
    {"letters[1:3]", "[\"a\",\"b\",\"c\"]"},
    {"pairlist(a = 1, 2)", "{\"a\":1,\"\":2}"},
    {"factor(c(\"lo\", \"hi\", NA, \"lo\"), levels = c(\"lo\", \"hi\"))",
     "[\"lo\",\"hi\",null,\"lo\"]"},
    {"as.Date(c(\"2024-02-29\", NA, \"1969-12-31\"))", "[\"2024-02-29\",null,\"1969-12-31\"]"},
    {"as.POSIXct(c(\"2023-11-14 22:13:20.25\", NA), tz = \"UTC\")",
     "[\"2023-11-14T22:13:20.250Z\",null]"},
    {"as.POSIXct(\"2024-06-01 12:00:00\", tz = \"America/New_York\")", "\"2024-06-01T16:00:00Z\""},
    {"bit64::as.integer64(c(\"9007199254740993\", NA, \"-9223372036854775807\"))",
     "[9007199254740993,null,-9223372036854775807]"},
    {"matrix(1:6, 2, dimnames = list(c(\"r1\", \"r2\"), NULL))",
     "{\"dim\":[2,3],\"dimnames\":[[\"r1\",\"r2\"],null],\"values\":[1,2,3,4,5,6]}"},
    {"array(1:8, c(2, 2, 2))", "{\"dim\":[2,2,2],\"values\":[1,2,3,4,5,6,7,8]}"},
    {"table(c(\"a\", \"b\", \"a\"))",
     "{\"dim\":[2],\"dimnames\":[[\"a\",\"b\"]],\"values\":[2,1]}"},
    {"data.frame(id = 1:3, w = c(1.5, NA, 2), s = c(\"a\", \"b\", NA),"
     " f = factor(c(\"m\", \"f\", \"m\")), d = as.Date(\"2024-01-01\") + 0:2)",
     "{\"r_type\":\"data.frame\",\"nrow\":3,\"names\":[\"id\",\"w\",\"s\",\"f\",\"d\"],"
     "\"classes\":[\"integer\",\"numeric\",\"character\",\"factor\",\"Date\"],"
     "\"columns\":[[1,2,3],[1.5,null,2],[\"a\",\"b\",null],[\"m\",\"f\",\"m\"],"
     "[\"2024-01-01\",\"2024-01-02\",\"2024-01-03\"]]}"},
    {"data.frame(k = bit64::as.integer64(c(\"1\", \"12345678901234567\")))",
     "{\"r_type\":\"data.frame\",\"nrow\":2,\"names\":[\"k\"],\"classes\":[\"integer64\"],"
     "\"columns\":[[1,12345678901234567]]}"},
    {"data.frame(a = 1:2, row.names = c(\"x\", \"y\"))",
     "{\"r_type\":\"data.frame\",\"nrow\":2,\"names\":[\"a\"],\"classes\":[\"integer\"],"
     "\"row_names\":[\"x\",\"y\"],\"columns\":[[1,2]]}"},
    {"data.frame()", "{\"r_type\":\"data.frame\",\"nrow\":0,\"names\":[],\"classes\":[],"
                     "\"columns\":[]}"},
    {"complex(real = c(1, NA), imaginary = c(-0.5, 2))", "[{\"re\":1,\"im\":-0.5},null]"},
    {"as.raw(c(0, 255, 16))", "\"AP8Q\""},
    {"setClass(\"Acc\", representation(n = \"numeric\")); new(\"Acc\", n = 3)",
     "{\"r_type\":\"S4\",\"class\":[\"Acc\"]}"},
    {"function(x, y = 2) x + y", "{\"r_type\":\"closure\"}"},
    {"quote(foo)", "{\"r_type\":\"symbol\",\"name\":\"foo\"}"},
    {"quote(f(x, y = 1))", "{\"r_type\":\"language\",\"length\":3}"},
    {"expression(a + 1, b)", "{\"r_type\":\"expression\",\"length\":2}"},
    {"globalenv()", "{\"r_type\":\"unknown\",\"sexptype\":4}"},
    {"0.1 + 0.2", "0.30000000000000004"},
    {"2^53 + 2", "9.007199254740994e+15"},
    {"c(-0, 1e-300, .Machine$integer.max)", "[-0,1e-300,2147483647]"},
    {"\"\\u00e9\\\"\\n\"", "\"\xc3\xa9\\\"\\n\""},
    {"as.difftime(90, units = \"mins\")", "90"},
    {"as.POSIXct(NA)", "null"},
    {"invisible(5L)", "5"},
    {"stop(\"boom\")", "!eval_error"},
    {"1 +* 2", "!parse_error"},
    {"1 +", "!parse_incomplete"},
    {"x <- 41; x + 1", "42"},
};

/* The JSON of a reply, or "!" and its error name; NULL when undecodable. */
static char *reply_text(const struct rconn_reply *reply)
{
    struct buf out = BUF_INIT;
    struct sexp *x;
    enum qap_status st;

    if (reply->outcome == RCONN_REPLY_ERROR) {
        buf_printf(&out, "!%s", qap_err_name(reply->status));
        return buf_steal(&out, NULL);
    }
    if (reply->outcome == RCONN_REPLY_FAILED) {
        buf_printf(&out, "!failed: %s", reply->reason);
        return buf_steal(&out, NULL);
    }
    st = sexp_decode_param(reply->payload, reply->len, &arena, NULL, &x);
    if (st != QAP_OK) {
        buf_printf(&out, "!decode: %s", qap_status_name(st));
        return buf_steal(&out, NULL);
    }
    rjson_write(&out, x, 0);
    return buf_steal(&out, NULL);
}

static void reply_done(struct rconn *c)
{
    if (--pending == 0)
        ev_break(loop, EVBREAK_ALL);
}

static void on_case(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    const struct live_case *lc = ctx;
    char *got = reply_text(reply);

    check_count++;
    if (strcmp(got, lc->want) != 0) {
        check_failures++;
        fprintf(stderr, "FAIL %s\n  got  %s\n  want %s\n", lc->expr, got, lc->want);
    }
    free(got);
    reply_done(c);
}

/* ---- assign round trips ---- */

struct round_trip {
    const char *name;
    const char *r_literal; /* what R must find identical() to the value */
    struct sexp *value;
    struct buf sent; /* the value's encoding */
};

static struct round_trip trips[16];
static size_t n_trips;

static void on_assigned(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct round_trip *t = ctx;

    if (reply->outcome != RCONN_REPLY_OK) {
        check_failures++;
        fprintf(stderr, "FAIL assign %s: status %s\n", t->name, qap_err_name(reply->status));
    }
    check_count++;
    reply_done(c);
}

/* The value read back encodes to the bytes that were sent. */
static void on_read_back(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct round_trip *t = ctx;
    struct buf again = BUF_INIT;
    struct sexp *x = NULL;

    if (reply->outcome == RCONN_REPLY_OK &&
        sexp_decode_param(reply->payload, reply->len, &arena, NULL, &x) == QAP_OK)
        sexp_encode(&again, x);
    check_count++;
    if (!x || again.len != t->sent.len || memcmp(again.data, t->sent.data, again.len) != 0) {
        check_failures++;
        fprintf(stderr, "FAIL read back %s: %zu bytes, sent %zu\n", t->name, again.len,
                t->sent.len);
    }
    buf_free(&again);
    reply_done(c);
}

static void add_trip(const char *name, const char *r_literal, struct sexp *value)
{
    struct round_trip *t = &trips[n_trips++];

    t->name = name;
    t->r_literal = r_literal;
    t->value = value;
    sexp_encode(&t->sent, value);
}

static struct sexp *strs(size_t n, const char *const *v)
{
    struct sexp *x = sexp_new(&arena, SEXP_STR, n);

    for (size_t i = 0; i < n; i++)
        x->v.str[i] = v[i];
    return x;
}

static struct sexp *na_reals(void)
{
    double v[6] = {1.5, 0, NAN, INFINITY, -INFINITY, 0.25};
    uint64_t na = SEXP_NA_REAL_BITS;

    memcpy(&v[1], &na, 8);
    return sexp_new_reals(&arena, v, 6);
}

static struct sexp *small_frame(void)
{
    static const int32_t ids[2] = {1, 2}, rn[2] = {SEXP_NA_INTEGER, -2};
    static const char *const names[2] = {"id", "w"};
    struct sexp *df = sexp_new(&arena, SEXP_VEC, 2);
    double w[2] = {0.5, 0};
    uint64_t na = SEXP_NA_REAL_BITS;

    memcpy(&w[1], &na, 8);
    df->v.elts[0] = sexp_new_ints(&arena, ids, 2);
    df->v.elts[1] = sexp_new_reals(&arena, w, 2);
    sexp_set_attr(&arena, df, "names", strs(2, names));
    sexp_set_attr(&arena, df, "class", sexp_new_str1(&arena, "data.frame"));
    sexp_set_attr(&arena, df, "row.names", sexp_new_ints(&arena, rn, 2));
    return df;
}

static struct sexp *factor_value(void)
{
    static const int32_t codes[2] = {2, 1};
    static const char *const levels[2] = {"a", "b"};
    struct sexp *f = sexp_new_ints(&arena, codes, 2);

    sexp_set_attr(&arena, f, "levels", strs(2, levels));
    sexp_set_attr(&arena, f, "class", sexp_new_str1(&arena, "factor"));
    return f;
}

static struct sexp *call_value(void)
{
    struct sexp *call = sexp_new(&arena, SEXP_LANG, 3);
    double one = 1;

    call->v.elts[0] = sexp_new_sym(&arena, "f");
    call->v.elts[1] = sexp_new_sym(&arena, "x");
    call->v.elts[2] = sexp_new_reals(&arena, &one, 1);
    return call;
}

static struct sexp *tagged_pairlist(void)
{
    struct sexp *pl = sexp_new(&arena, SEXP_LIST, 2);
    double v[2] = {1, 2};

    pl->tags = sexp_arena_alloc(&arena, 2 * sizeof(struct sexp *));
    pl->v.elts[0] = sexp_new_reals(&arena, v, 1);
    pl->v.elts[1] = sexp_new_reals(&arena, v + 1, 1);
    pl->tags[0] = sexp_new_sym(&arena, "a");
    pl->tags[1] = sexp_new(&arena, SEXP_NIL, 0);
    return pl;
}

/* Past 16 MB an item needs the large header, both ways. */
static struct sexp *large_reals(void)
{
    size_t n = 3000000;
    double *v = malloc(n * sizeof(double));
    struct sexp *x;

    for (size_t i = 0; i < n; i++)
        v[i] = (double)i / 4;
    x = sexp_new_reals(&arena, v, n);
    free(v);
    return x;
}

static void build_trips(void)
{
    static const int32_t ints[3] = {7, SEXP_NA_INTEGER, -2147483647};
    static const uint8_t lgls[3] = {1, 0, SEXP_NA_LOGICAL};
    static const char *const sv[4] = {"a", NULL, "", "\xc3\xa9t\xc3\xa9"};
    static const double cplx[4] = {1, -0.5, 0, 2};
    static const char *const pq[2] = {"p", "q"};
    struct sexp *list = sexp_new(&arena, SEXP_VEC, 2);
    double one = 1;

    list->v.elts[0] = sexp_new_reals(&arena, &one, 1);
    list->v.elts[1] = sexp_new_str1(&arena, "b");
    sexp_set_attr(&arena, list, "names", strs(2, pq));
    add_trip("v_real", "c(1.5, NA, NaN, Inf, -Inf, 0.25)", na_reals());
    add_trip("v_int", "c(7L, NA, -2147483647L)", sexp_new_ints(&arena, ints, 3));
    add_trip("v_lgl", "c(TRUE, FALSE, NA)", sexp_new_lgls(&arena, lgls, 3));
    add_trip("v_str", "c(\"a\", NA, \"\", \"\\u00e9t\\u00e9\")", strs(4, sv));
    add_trip("v_raw", "as.raw(c(0, 1, 255, 16, 7))", sexp_new_raw(&arena, "\0\1\xff\x10\x07", 5));
    add_trip("v_cplx", "complex(real = c(1, 0), imaginary = c(-0.5, 2))",
             sexp_new_cplx(&arena, cplx, 2));
    add_trip("v_list", "list(p = 1, q = \"b\")", list);
    add_trip("v_df", "data.frame(id = 1:2, w = c(0.5, NA))", small_frame());
    add_trip("v_null", "NULL", sexp_new(&arena, SEXP_NIL, 0));
    add_trip("v_factor", "factor(c(\"b\", \"a\"))", factor_value());
    add_trip("v_call", "quote(f(x, 1))", call_value());
    add_trip("v_sym", "as.name(\"abc\")", sexp_new_sym(&arena, "abc"));
    add_trip("v_pairlist", "pairlist(a = 1, 2)", tagged_pairlist());
    add_trip("v_large", "(0:2999999) / 4", large_reals());
}

static struct live_case identical_cases[16];
static char identical_text[16][160];

static void queue_trips(struct rconn *c)
{
    for (size_t i = 0; i < n_trips; i++) {
        struct round_trip *t = &trips[i];

        snprintf(identical_text[i], sizeof(identical_text[i]), "identical(%s, %s)", t->name,
                 t->r_literal);
        identical_cases[i] = (struct live_case){identical_text[i], "true"};
        rconn_assign(c, t->name, t->value, on_assigned, t);
        rconn_eval(c, identical_text[i], on_case, &identical_cases[i]);
        rconn_eval(c, t->name, on_read_back, t);
        pending += 3;
    }
}

/* ---- OOB ---- */

static char oob_seen[2][64];
static int n_oob;

static void on_oob(struct rconn *c, uint32_t cmd, const uint8_t *payload, size_t len)
{
    struct rconn_reply as_reply = {RCONN_REPLY_OK, 0, payload, len, NULL};
    char *text = reply_text(&as_reply);

    if (n_oob < 2)
        snprintf(oob_seen[n_oob], sizeof(oob_seen[0]), "%s:%u:%s",
                 qap_frame_kind(cmd) == QAP_FRAME_OOB_MSG ? "msg" : "send", qap_oob_code(cmd),
                 text);
    n_oob++;
    free(text);
    if (qap_frame_kind(cmd) == QAP_FRAME_OOB_MSG)
        rconn_oob_answer(c, sexp_new_str1(&arena, "yes"));
}

static const struct live_case oob_case = {
    "{ Rserve::self.oobSend(list(a = 1), 5L); Rserve::self.oobMessage(\"q?\", 7L) }", "\"yes\""};

static void check_oob(void)
{
    CHECK_INT(n_oob, 2);
    CHECK_STR(oob_seen[0], "send:5:{\"a\":1}");
    CHECK_STR(oob_seen[1], "msg:7:\"q?\"");
}

/* ---- connections ---- */

static const char *closed_reason[3];

static void on_closed(struct rconn *c, const char *reason)
{
    closed_reason[(size_t)c->owner] = reason;
}

static const struct rconn_callbacks callbacks = {NULL, on_oob, on_closed};

/* Everything is queued before the connection exists: the queue keeps order. */
static void run_main(struct rconn *c, const char *path)
{
    struct rconn_config cfg = {.request_timeout = 60, .connect_timeout = 10};

    rconn_init(c, loop, &cfg, &callbacks, (void *)0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rconn_eval(c, cases[i].expr, on_case, (void *)&cases[i]);
        pending++;
    }
    queue_trips(c);
    rconn_eval(c, oob_case.expr, on_case, (void *)&oob_case);
    pending++;
    rconn_connect_unix(c, path);
}

static const struct live_case timeout_case = {"Sys.sleep(5)", "!failed: request timeout"};

static void run_timeout(struct rconn *c, const char *path)
{
    struct rconn_config cfg = {.request_timeout = 0.3, .connect_timeout = 10};

    rconn_init(c, loop, &cfg, &callbacks, (void *)1);
    rconn_eval(c, timeout_case.expr, on_case, (void *)&timeout_case);
    pending++;
    rconn_connect_unix(c, path);
}

static const struct live_case login_case = {"paste(\"in\", \"as\", \"u\")", "\"in as u\""};
static const struct live_case refused_case = {"1", "!failed: login refused"};

static void run_login(struct rconn *good, struct rconn *bad, char **argv)
{
    struct rconn_config cfg = {.request_timeout = 10, .user = argv[3], .password = argv[4]};

    rconn_init(good, loop, &cfg, &callbacks, (void *)2);
    rconn_eval(good, login_case.expr, on_case, (void *)&login_case);
    rconn_connect_unix(good, argv[2]);
    cfg.password = "wrong";
    rconn_init(bad, loop, &cfg, &callbacks, (void *)2);
    rconn_eval(bad, refused_case.expr, on_case, (void *)&refused_case);
    rconn_connect_unix(bad, argv[2]);
    pending += 2;
}

static void on_guard(struct ev_loop *l, ev_timer *w, int revents)
{
    fprintf(stderr, "FAIL: still %d replies pending after 120 s\n", pending);
    check_failures++;
    ev_break(l, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
    struct rconn main_conn, slow_conn, login_good, login_bad;
    ev_timer guard;

    if (argc != 2 && argc != 5) {
        fprintf(stderr, "usage: %s OPEN_SOCKET [AUTH_SOCKET USER PASSWORD]\n", argv[0]);
        return 2;
    }
    loop = ev_default_loop(0);
    sexp_arena_init(&arena);
    build_trips();
    run_main(&main_conn, argv[1]);
    run_timeout(&slow_conn, argv[1]);
    if (argc == 5)
        run_login(&login_good, &login_bad, argv);
    ev_timer_init(&guard, on_guard, 120, 0);
    ev_timer_start(loop, &guard);
    ev_run(loop, 0);

    check_oob();
    CHECK_STR(closed_reason[1], "request timeout");
    CHECK(main_conn.state == RCONN_IDLE);
    rconn_close(&main_conn, "test done");
    if (argc == 5)
        rconn_close(&login_good, "test done");
    for (size_t i = 0; i < n_trips; i++)
        buf_free(&trips[i].sent);
    sexp_arena_free(&arena);
    return check_report();
}
