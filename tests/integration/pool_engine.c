/* The warm pool against the real engine and the real sandbox image: warm
 * slots, leases that keep R state and are isolated from each other, the
 * hardening as the engine reports it and as R sees it from inside, limits,
 * interrupts, both recycling modes, and nothing left behind. Usage:
 *   pool_engine IMAGE UID WORKDIR      (WORKDIR holds cdm/test.sqlite) */
#include "../unit/check.h"
#include "pool/docker.h"
#include "pool/pool.h"
#include "proxy/buf.h"
#include "proxy/log.h"
#include "rserve/rjson.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <ev.h>

#define WORKSPACE_SIZE (16 << 20)
#define EXT4_MAGIC     0xEF53

static struct ev_loop *loop;
static struct docker *docker;
static const char *image, *workdir;
static unsigned uid;

/* ---- running the loop until something happened ---- */

static bool guard_fired;

static void on_guard(struct ev_loop *l, ev_timer *w, int revents)
{
    guard_fired = true;
}

static bool run_until(bool (*cond)(void *), void *arg, double seconds)
{
    ev_timer guard;

    guard_fired = false;
    ev_timer_init(&guard, on_guard, seconds, 0.);
    ev_timer_start(loop, &guard);
    while (!cond(arg) && !guard_fired)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &guard);
    return cond(arg);
}

static bool is_true(void *arg)
{
    return *(bool *)arg;
}

static bool pool_is_ready(void *arg)
{
    return pool_ready(arg);
}

static void pause_for(double seconds)
{
    bool never = false;

    run_until(is_true, &never, seconds);
}

/* ---- synchronous wrappers ---- */

struct grant_wait {
    bool done;
    struct slot *slot;
    char error[64];
    double seconds;
};

static void on_grant(const struct pool_grant *g, void *arg)
{
    struct grant_wait *gw = arg;

    gw->done = true;
    gw->slot = g->slot;
    gw->seconds = g->wait_seconds;
    snprintf(gw->error, sizeof(gw->error), "%s", g->error ? g->error : "");
}

/* Slots whose lease was lost; the test must not use them again. */
static struct slot *lost_slots[16];
static int n_lost;

static void on_lost(struct slot *s, const char *code, const char *cause, const char *reason,
                    void *arg)
{
    fprintf(stderr, "  lease lost: %s %s (%s)\n", code, cause, reason);
    if (n_lost < 16)
        lost_slots[n_lost++] = s;
}

static bool was_lost(const struct slot *s)
{
    for (int i = 0; i < n_lost; i++) {
        if (lost_slots[i] == s)
            return true;
    }
    return false;
}

static struct slot *acquire(struct pool *p, const char *owner, const char *cdm, char *error)
{
    struct grant_wait gw = {0};
    struct pool_acquire_args args = {.owner = owner, .cdm = cdm, .lost = on_lost};

    pool_acquire(p, &args, on_grant, &gw);
    run_until(is_true, &gw.done, 120);
    if (error)
        strcpy(error, gw.error);
    fprintf(stderr, "  acquire %-8s -> %s in %.3f ms\n", owner, gw.slot ? "lease" : gw.error,
            gw.seconds * 1e3);
    return gw.slot;
}

struct eval_wait {
    bool done;
    bool interrupted, lost;
    int outcome, status;
    double seconds;
    struct buf json;
};

static void on_eval(struct slot *s, const struct pool_eval_result *res, void *arg)
{
    struct eval_wait *ew = arg;
    struct sexp_arena arena;
    struct sexp *x;

    ew->done = true;
    ew->interrupted = res->interrupted;
    ew->lost = res->lost;
    ew->outcome = res->reply->outcome;
    ew->status = res->reply->status;
    ew->seconds = res->seconds;
    if (res->reply->outcome != RCONN_REPLY_OK)
        return;
    sexp_arena_init(&arena);
    if (sexp_decode_param(res->reply->payload, res->reply->len, &arena, NULL, &x) == QAP_OK)
        rjson_write(&ew->json, x, 1 << 20);
    sexp_arena_free(&arena);
}

/* Evaluates src on s and returns the value as JSON ("" when R failed). */
static const char *eval(struct slot *s, const char *src, double timeout, struct eval_wait *ew)
{
    buf_free(&ew->json);
    memset(ew, 0, sizeof(*ew));
    buf_puts(&ew->json, "");
    if (was_lost(s)) {
        ew->lost = true;
        return ew->json.data;
    }
    pool_eval(s, src, timeout, on_eval, ew);
    run_until(is_true, &ew->done, timeout > 0 ? timeout + 30 : 60);
    return ew->json.data;
}

/* Evaluates src and checks that its JSON is want. */
static void expect(struct slot *s, const char *src, const char *want)
{
    struct eval_wait ew = {0};
    const char *got = eval(s, src, 30, &ew);

    if (strcmp(got, want) != 0)
        fprintf(stderr, "  R: %s\n     gave %s (outcome %d status %d), want %s\n", src, got,
                ew.outcome, ew.status, want);
    CHECK_STR(got, want);
    buf_free(&ew.json);
}

struct inspect_wait {
    bool done;
    enum backend_error error;
    json_t *json;
};

static void on_inspect(const struct backend_result *res, void *arg)
{
    struct inspect_wait *iw = arg;

    iw->done = true;
    iw->error = res->error;
    iw->json = res->json ? json_deep_copy(res->json) : NULL;
}

static json_t *inspect(const char *id, enum backend_error *error)
{
    struct inspect_wait iw = {0};

    docker_inspect(docker, id, on_inspect, &iw);
    run_until(is_true, &iw.done, 30);
    *error = iw.error;
    return iw.json;
}

struct list_wait {
    bool done;
    size_t n;
};

static void on_list(const struct backend_result *res, void *arg)
{
    struct list_wait *lw = arg;

    lw->done = true;
    lw->n = res->error == BACKEND_OK ? res->n_containers : (size_t)-1;
}

static size_t count_labelled(const char *label)
{
    struct list_wait lw = {0};

    docker_list(docker, BACKEND_LABEL_POOL, label, on_list, &lw);
    run_until(is_true, &lw.done, 30);
    return lw.n;
}

/* ---- the pool under test ---- */

static char run_dir[512], ws_root[512], cdm_dir[512], label[512];

static struct pool *pool_make(unsigned min_idle, unsigned max_slots, enum recycle_mode recycle)
{
    struct pool_config pc = {
        .backend = docker_backend(docker),
        .image = image,
        .uid = uid,
        .memory_bytes = 512 << 20,
        .cpus = 1.0,
        .pids_limit = 256,
        .tmp_size_bytes = 64 << 20,
        .workspace_size = WORKSPACE_SIZE,
        .min_idle = min_idle,
        .max_slots = max_slots,
        .max_starting = 2,
        .acquire_timeout = 60,
        .max_slot_age = 3600,
        .start_timeout = 90,
        .interrupt_grace = 3,
        .recycle = recycle,
        .run_dir = run_dir,
        .workspace_root = ws_root,
        .cdm_dir = cdm_dir,
        .cdm_default = "test",
        .pool_label = label,
    };
    const char *err = NULL;
    struct pool *p = pool_new(loop, &pc, &err);

    if (!p) {
        fprintf(stderr, "pool_new: %s\n", err);
        exit(1);
    }
    pool_start(p);
    return p;
}

static bool stopped;

static void on_stopped(struct pool *p, void *arg)
{
    stopped = true;
}

static void pool_finish(struct pool *p)
{
    stopped = false;
    pool_stop(p, 60, on_stopped, NULL);
    CHECK(run_until(is_true, &stopped, 90));
    pool_free(p);
}

static bool dir_is_empty(const char *path)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", path);
    return system(cmd) == 0;
}

/* ---- checks ---- */

static const char *json_str(json_t *j, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(j, a), b));
}

static long long json_int(json_t *j, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(j, a), b));
}

/* A bind ends with suffix, or has it before the options an engine added. */
static bool binds_include(json_t *binds, const char *suffix)
{
    size_t i;
    json_t *v;

    json_array_foreach(binds, i, v)
    {
        const char *s = json_string_value(v);
        const char *at = s ? strstr(s, suffix) : NULL;

        /* Podman adds its own options after a ','. */
        if (at && (at[strlen(suffix)] == '\0' || at[strlen(suffix)] == ','))
            return true;
    }
    return false;
}

/* pool/health.c: the container cgroup's OOM-kill count, -1 when its cgroup
 * is not found under any layout the pool knows. */
long long health_oom_kills(const char *container);

/* The hardening of a pool container, field by field, as the engine has it. */
static void check_inspect(const char *id)
{
    enum backend_error error;
    json_t *j = inspect(id, &error);
    json_t *host = json_object_get(j, "HostConfig");
    char want_user[32];

    CHECK_INT(error, BACKEND_OK);
    CHECK_INT(health_oom_kills(id), 0); /* the pool can tell an OOM kill */
    snprintf(want_user, sizeof(want_user), "%u:%u", uid, uid);
    CHECK_STR(json_str(j, "Config", "User"), want_user);
    /* Docker keeps "ALL", Podman names each capability; check_inside() reads
     * the effective and bounding sets. */
    CHECK(json_array_size(json_object_get(host, "CapDrop")) >= 1);
    CHECK_INT(json_array_size(json_object_get(host, "CapAdd")), 0);
    CHECK_STR(json_string_value(json_array_get(json_object_get(host, "SecurityOpt"), 0)),
              "no-new-privileges");
    CHECK(json_is_true(json_object_get(host, "ReadonlyRootfs")));
    CHECK(!json_is_true(json_object_get(host, "Privileged")));
    CHECK_STR(json_str(j, "HostConfig", "NetworkMode"), "none");
    CHECK_INT(json_int(j, "HostConfig", "Memory"), 512 << 20);
    CHECK_INT(json_int(j, "HostConfig", "MemorySwap"), 512 << 20);
    CHECK_INT(json_int(j, "HostConfig", "CpuQuota"), 100000);
    CHECK_INT(json_int(j, "HostConfig", "CpuPeriod"), 100000);
    CHECK_INT(json_int(j, "HostConfig", "PidsLimit"), 256);
    CHECK(strstr(json_string_value(json_object_get(json_object_get(host, "Tmpfs"), "/tmp")),
                 "noexec") != NULL);
    CHECK_INT(json_object_size(json_object_get(host, "PortBindings")), 0);
    CHECK(binds_include(json_object_get(host, "Binds"), ":/cdm/test.sqlite:ro"));
    CHECK(binds_include(json_object_get(host, "Binds"), ":/run/rserve:rw"));
    CHECK(binds_include(json_object_get(host, "Binds"), ":/sandbox:rw"));
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_object_get(j, "Config"), "Labels"), BACKEND_LABEL_POOL)),
              label);
    json_decref(j);
}

/* What R inside a pool container can and cannot do. */
static void check_inside(struct slot *s)
{
    expect(s, "grepl('^ *(lo|Inter|face)', readLines('/proc/net/dev')) |> all()", "true");
    expect(s, "length(readLines('/proc/net/route'))", "1"); /* the header only */
    expect(s, "inherits(try(writeLines('x', '/etc/omcp-probe'), silent = TRUE), 'try-error')",
           "true");
    expect(s, "inherits(try(writeLines('x', '/opt/omcp-probe'), silent = TRUE), 'try-error')",
           "true");
    expect(s,
           "writeLines('#!/bin/sh\\nexit 0', '/tmp/p.sh'); Sys.chmod('/tmp/p.sh', '755');"
           "system('/tmp/p.sh', ignore.stderr = TRUE) != 0",
           "true");
    expect(s, "file.exists('/var/run/docker.sock') || file.exists('/run/docker.sock')", "false");
    expect(s,
           "sub('CapEff:\\\\s*', '', grep('^CapEff', readLines('/proc/self/status'),"
           " value = TRUE))",
           "\"0000000000000000\"");
    expect(s,
           "sub('CapBnd:\\\\s*', '', grep('^CapBnd', readLines('/proc/self/status'),"
           " value = TRUE))",
           "\"0000000000000000\"");
    expect(s,
           "sub('NoNewPrivs:\\\\s*', '', grep('^NoNewPrivs', readLines('/proc/self/status'),"
           " value = TRUE))",
           "\"1\"");
    expect(s, "unname(Sys.info()['effective_user'])", "\"sandboxuser\"");
    expect(s, "file.create('/sandbox/ok.txt') && file.create('/tmp/ok.txt')", "true");
    expect(s,
           "inherits(try(DBI::dbExecute(cdm_con, 'DELETE FROM person'), silent = TRUE),"
           " 'try-error')",
           "true");
    expect(s, "DBI::dbGetQuery(cdm_con, 'SELECT count(*) AS n FROM person')$n", "3");
    expect(s, "readLines('/sys/fs/cgroup/memory/memory.limit_in_bytes')", "\"536870912\"");
    /* The pids limit holds: of 400 forks asked for, the cgroup allows fewer
     * than 256, and the session survives it. */
    expect(s,
           "n <- system2('perl', c('-e', shQuote(paste('my @k; while (@k < 400) { my $p =',"
           " ' fork(); last unless defined $p; if (!$p) { sleep 10; exit 0 } push @k, $p }',"
           " 'print scalar(@k); kill 9, @k; waitpid($_, 0) for @k;'))), stdout = TRUE);"
           " n <- as.integer(n); n >= 200 && n < 256",
           "true");
    expect(s, "1 + 1", "2");
}

/* The workspace is a 16 MiB filesystem of its own, mounted noexec, nosuid,
 * nodev: a full one is an R error that the session survives. */
static void check_workspace(struct slot *s)
{
    struct statfs sf;

    CHECK(statfs(pool_slot_workspace(s), &sf) == 0 && sf.f_type == EXT4_MAGIC);
    expect(s,
           "m <- grep(' /sandbox ', readLines('/proc/self/mounts'), value = TRUE);"
           " length(m) == 1 && all(sapply(c(' ext4 ', 'noexec', 'nosuid', 'nodev'), grepl, m))",
           "true");
    expect(s, "file.exists('/sandbox/lost+found')", "false");
    expect(s,
           "k <- as.numeric(strsplit(system('df -k /sandbox', intern = TRUE)[2], ' +')[[1]][2]);"
           " k > 12000 && k <= 16384",
           "true");
    expect(s,
           "writeLines('#!/bin/sh\\nexit 0', '/sandbox/x.sh'); Sys.chmod('/sandbox/x.sh', '755');"
           " out <- suppressWarnings(system2('/sandbox/x.sh', stdout = TRUE, stderr = TRUE));"
           " attr(out, 'status') == 126 && any(grepl('Permission denied', out))",
           "true");
    expect(s, "system('/sandbox/x.sh', ignore.stderr = TRUE)", "126");
    expect(s,
           "e <- try(writeLines(rep(strrep('x', 1000), 32000), '/sandbox/big.txt'),"
           " silent = TRUE); inherits(e, 'try-error') && grepl('No space left on device', e)",
           "true");
    expect(s, "x + 0L", "42");
    expect(s,
           "unlink('/sandbox/big.txt'); writeLines('fits', '/sandbox/after.txt');"
           " readLines('/sandbox/after.txt')",
           "\"fits\"");
}

static void test_warm_and_leases(void)
{
    char error[64];
    double started = ev_time();
    struct pool *p = pool_make(2, 3, RECYCLE_CONTAINER);
    struct slot *a, *b, *c;
    char a_container[80], a_ws[520];
    enum backend_error ierr;
    json_t *gone;

    CHECK(run_until(pool_is_ready, p, 180));
    fprintf(stderr, "  warm: 2 idle slots %.2f s after start\n", ev_time() - started);
    CHECK_INT(pool_stats(p)->slots[SLOT_IDLE], 2);
    a = acquire(p, "owner-a", NULL, error);
    CHECK(a != NULL);
    if (!a)
        return;
    CHECK_STR(pool_slot_cdm(a), "test");
    expect(a, "x <- 42L; exists('cdm_con')", "true");
    expect(a, "x", "42");
    expect(a, "writeLines('secret of a', '/sandbox/a.txt'); getwd()", "\"/sandbox\"");

    b = acquire(p, "owner-b", NULL, error);
    CHECK(b != NULL && b != a);
    if (b) {
        expect(b, "exists('x')", "false");
        expect(b, "file.exists('/sandbox/a.txt')", "false");
        expect(b, "length(grep('^[0-9]+$', list.files('/proc'))) <= 3", "true");
        CHECK(strcmp(pool_slot_container(a), pool_slot_container(b)) != 0);
    }
    c = acquire(p, "owner-c", NULL, error);
    CHECK(c != NULL);
    CHECK(acquire(p, "owner-d", NULL, error) == NULL);
    CHECK_STR(error, "max_sessions_reached");
    CHECK(acquire(p, "owner-e", "no_such_cdm", error) == NULL);
    CHECK_STR(error, "cdm_not_found");

    check_inspect(pool_slot_container(a));
    check_inside(a);
    check_workspace(a);

    /* An evaluation past its limit is interrupted; the session keeps its state. */
    struct eval_wait ew = {0};
    eval(a, "Sys.sleep(60)", 1, &ew);
    CHECK(ew.interrupted);
    CHECK(!ew.lost);
    CHECK(ew.seconds < 3);
    fprintf(stderr, "  interrupt after 1 s limit: answered in %.3f s\n", ew.seconds);
    buf_free(&ew.json);
    expect(a, "x + 1L", "43");

    snprintf(a_container, sizeof(a_container), "%s", pool_slot_container(a));
    snprintf(a_ws, sizeof(a_ws), "%s", pool_slot_workspace(a));
    CHECK(!was_lost(a));
    pool_release(a, "test done with a");
    pause_for(3);
    gone = inspect(a_container, &ierr);
    CHECK_INT(ierr, BACKEND_NOT_FOUND);
    json_decref(gone);
    CHECK(access(a_ws, F_OK) != 0);
    strcat(a_ws, ".img");
    CHECK(access(a_ws, F_OK) != 0);
    if (b)
        pool_release(b, "test done with b");
    if (c)
        pool_release(c, "test done with c");
    CHECK(run_until(pool_is_ready, p, 180));
    fprintf(stderr, "  stats: created=%llu retired=%llu leases=%llu start p50<=%.2fs\n",
            (unsigned long long)pool_stats(p)->created, (unsigned long long)pool_stats(p)->retired,
            (unsigned long long)pool_stats(p)->leases, hist_quantile(&pool_stats(p)->start, 0.5));
    pool_finish(p);
    CHECK_INT(count_labelled(label), 0);
}

static void test_process_recycling(void)
{
    char error[64], container[80];
    struct pool *p = pool_make(1, 1, RECYCLE_PROCESS);
    struct slot *s;
    long long pid;

    CHECK(run_until(pool_is_ready, p, 180));
    s = acquire(p, "owner-p1", NULL, error);
    CHECK(s != NULL);
    if (!s)
        return;
    snprintf(container, sizeof(container), "%s", pool_slot_container(s));
    pid = pool_slot_r_pid(s);
    expect(s,
           "y <- 'left behind'; writeLines('x', '/sandbox/p1.txt'); writeLines('x',"
           " '/tmp/p1.txt'); writeLines('x', file.path(tempdir(), 'p1.txt'));"
           " writeLines('x', '/dev/shm/p1.txt'); dir.create('/tmp/Rtmpstash');"
           " writeLines('x', '/tmp/Rtmpstash/p1.txt');"
           " system('ipcmk -M 4096 >/dev/null && ipcmk -Q >/dev/null') == 0 &&"
           " sum(grepl('^0x', system('ipcs -m -q', intern = TRUE))) == 2 &&"
           " system('sleep 300 &') == 0",
           "true");
    /* The Rserve parent is not dumpable (its binary is execute-only): a
     * session can neither read its memory map nor write its memory, where
     * code planted would run in every later session. */
    expect(s,
           "m <- function(path, mode) tryCatch({ close(file(path, mode)); 'opened' },"
           " warning = function(w) conditionMessage(w));"
           " paste(m('/proc/1/mem', 'r+b'), m('/proc/1/maps', 'r'), m('/proc/self/maps', 'r'),"
           " sep = ' | ')",
           "\"cannot open file '/proc/1/mem': Permission denied | cannot open file"
           " '/proc/1/maps': Permission denied | opened\"");
    pool_release(s, "first tenant done");
    CHECK(run_until(pool_is_ready, p, 60));
    s = acquire(p, "owner-p2", NULL, error);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_STR(pool_slot_container(s), container);
    CHECK(pool_slot_r_pid(s) != pid);
    expect(s, "exists('y')", "false");
    expect(s,
           "file.exists('/sandbox/p1.txt') || file.exists('/tmp/p1.txt') ||"
           " file.exists(file.path(tempdir(), 'p1.txt')) || file.exists('/dev/shm/p1.txt') ||"
           " file.exists('/tmp/Rtmpstash')",
           "false");
    /* System V shared memory and message queues of the first tenant. */
    expect(s, "sum(grepl('^0x', system('ipcs -m -q', intern = TRUE)))", "0");
    expect(s, "dir.exists(tempdir()) && file.access(tempdir(), 2) == 0", "true");
    expect(s,
           "any(grepl('sleep', sapply(grep('^[0-9]+$', list.files('/proc'), value = TRUE),"
           " function(p) paste(readLines(file.path('/proc', p, 'cmdline'), warn = FALSE),"
           " collapse = ''))))",
           "false");
    expect(s, "DBI::dbGetQuery(cdm_con, 'SELECT count(*) AS n FROM person')$n", "3");
    pool_release(s, "second tenant done");
    pool_finish(p);
    CHECK_INT(count_labelled(label), 0);
}

/* A container of this deployment left by an earlier run is removed at start. */
static void make_leftover(void)
{
    static const char *const argv[] = {"sleep", "600", NULL};
    struct backend_spec spec = {.image = image,
                                .cmd = argv,
                                .uid = uid,
                                .gid = uid,
                                .memory_bytes = 64 << 20,
                                .pids_limit = 16,
                                .tmp_size_bytes = 1 << 20,
                                .pool_label = label,
                                .instance_label = "earlier-run"};
    struct inspect_wait iw = {0};

    docker_create(docker, &spec, on_inspect, &iw, NULL);
    run_until(is_true, &iw.done, 30);
    CHECK_INT(iw.error, BACKEND_OK);
    json_decref(iw.json);
    CHECK_INT(count_labelled(label), 1);
}

static void on_version(const struct backend_result *res, void *arg)
{
    *(int *)arg = res->error == BACKEND_OK ? 1 : 2;
}

int main(int argc, char **argv)
{
    const char *err = NULL;
    int version = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: pool_engine IMAGE UID WORKDIR\n");
        return 2;
    }
    image = argv[1];
    uid = (unsigned)atoi(argv[2]);
    workdir = argv[3];
    log_min_level = getenv("OMCP_TEST_VERBOSE") ? L_DEBUG : L_WARN;
    snprintf(run_dir, sizeof(run_dir), "%s/state/run", workdir);
    snprintf(ws_root, sizeof(ws_root), "%s/state/workspaces", workdir);
    snprintf(cdm_dir, sizeof(cdm_dir), "%s/cdm", workdir);
    snprintf(label, sizeof(label), "%s/state", workdir);
    loop = ev_default_loop(0);
    docker = docker_new(loop, getenv("DOCKER_HOST"), &err);
    CHECK(docker != NULL);
    docker_check_version(docker, on_version, &version);
    while (!version)
        ev_run(loop, EVRUN_ONCE);
    CHECK_INT(version, 1);

    make_leftover();
    RUN(test_warm_and_leases);
    CHECK(dir_is_empty(run_dir));
    CHECK(dir_is_empty(ws_root));
    RUN(test_process_recycling);
    CHECK(dir_is_empty(run_dir));
    CHECK(dir_is_empty(ws_root));
    docker_free(docker);
    return check_report();
}
