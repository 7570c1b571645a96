/* The Docker client against the real engine: a hardened container's whole
 * life (create, start, inspect, exec, list, kill, remove) with its events,
 * and an engine that is not there. Usage:
 *   docker_engine life IMAGE POOL_LABEL WORKDIR
 *   docker_engine probe          (prints the version check's verdict) */
#include "../unit/check.h"
#include "pool/docker.h"
#include "proxy/log.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

static struct ev_loop *loop;
static struct docker *docker;

struct outcome {
    int calls;
    enum backend_error error;
    long status;
    char message[512];
    char id[80];
    int exit_code;
    size_t n_containers;
    bool found_in_list;
    bool running;
    long long pid;
    json_t *json; /* a copy of the answer, for field-by-field checks */
};

static const char *wanted_id; /* the list callback looks for this one */

static void on_done(const struct backend_result *res, void *arg)
{
    struct outcome *o = arg;

    o->calls++;
    o->error = res->error;
    o->status = res->http_status;
    snprintf(o->message, sizeof(o->message), "%s", res->message ? res->message : "");
    snprintf(o->id, sizeof(o->id), "%s", res->id ? res->id : "");
    o->exit_code = res->exit_code;
    o->n_containers = res->n_containers;
    for (size_t i = 0; i < res->n_containers; i++) {
        if (wanted_id && strcmp(res->containers[i].id, wanted_id) == 0)
            o->found_in_list = true;
    }
    if (res->n_containers) {
        o->running = res->containers[0].running;
        o->pid = res->containers[0].pid;
    }
    o->json = res->json ? json_deep_copy(res->json) : NULL;
}

static bool guard_fired;

static void on_guard(struct ev_loop *l, ev_timer *w, int revents)
{
    guard_fired = true;
}

static void run_until(int *count, int want, double seconds)
{
    ev_timer guard;

    guard_fired = false;
    ev_timer_init(&guard, on_guard, seconds, 0.);
    ev_timer_start(loop, &guard);
    while (*count < want && !guard_fired)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &guard);
}

/* Waits for one call; resets o first so that steps can reuse it. */
static struct outcome *wait_call(struct backend_call *call, struct outcome *o, const char *what)
{
    CHECK(call != NULL);
    run_until(&o->calls, 1, 60);
    if (o->calls != 1)
        fprintf(stderr, "%s: no answer within 60 s\n", what);
    fprintf(stderr, "  %-24s %-18s http=%ld %s\n", what, backend_error_name(o->error), o->status,
            o->message);
    return o;
}

/* Runs one call to its end; o keeps the answer until the next STEP. */
#define STEP(o, call, what) \
    (json_decref((o).json), memset(&(o), 0, sizeof(o)), wait_call((call), &(o), (what)))

struct event_log {
    int events;
    char actions[64][24];
    int exit_codes[64];
    int ended;
    const char *id;
};

static void on_event(const struct backend_event *ev, void *arg)
{
    struct event_log *log = arg;

    if (log->events >= 64 || !log->id || strcmp(ev->id, log->id) != 0)
        return;
    snprintf(log->actions[log->events], sizeof(log->actions[0]), "%s", ev->action);
    log->exit_codes[log->events] = ev->exit_code;
    log->events++;
}

static void on_stream_end(const struct backend_result *res, void *arg)
{
    struct event_log *log = arg;

    fprintf(stderr, "event stream ended: %s %s\n", backend_error_name(res->error), res->message);
    log->ended++;
}

/* Waits until the stream has shown `action` for our container. */
static int wait_event(struct event_log *log, const char *action)
{
    for (int spins = 0; spins < 300; spins++) {
        for (int i = 0; i < log->events; i++) {
            if (strcmp(log->actions[i], action) == 0)
                return i;
        }
        int none = 0;
        run_until(&none, 1, 0.1);
    }
    fprintf(stderr, "no %s event within 30 s\n", action);
    return -1;
}

static const char *json_path_str(json_t *j, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(j, a), b));
}

static long long json_path_int(json_t *j, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(j, a), b));
}

static bool starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A bind as asked, or as Podman reports it: with its own options after a ','. */
static bool bind_listed(json_t *binds, const char *want)
{
    size_t i, n = strlen(want);
    json_t *v;

    json_array_foreach(binds, i, v)
    {
        const char *s = json_string_value(v);

        if (starts_with(s, want) && (s[n] == '\0' || s[n] == ','))
            return true;
    }
    return false;
}

/* What docker inspect says must match what was asked, field by field. Where
 * the engine adds options of its own (Podman: the tmpfs and bind propagation,
 * "ALL" spelled out as each capability) only what was asked is checked; the
 * capabilities are checked from inside as well. */
static void check_hardening(json_t *j, const char *workdir)
{
    json_t *hc = json_object_get(j, "HostConfig");
    json_t *binds = json_object_get(hc, "Binds");
    char want[512];

    CHECK_STR(json_path_str(j, "Config", "User"), "1000:1000");
    CHECK(json_array_size(json_object_get(hc, "CapDrop")) >= 1);
    CHECK(json_array_size(json_object_get(hc, "CapAdd")) == 0);
    CHECK_STR(json_string_value(json_array_get(json_object_get(hc, "SecurityOpt"), 0)),
              "no-new-privileges");
    CHECK(json_is_true(json_object_get(hc, "ReadonlyRootfs")));
    CHECK(json_is_false(json_object_get(hc, "Privileged")));
    CHECK(starts_with(json_path_str(hc, "Tmpfs", "/tmp"), "rw,noexec,nosuid,nodev,size=16777216"));
    CHECK_INT(json_path_int(j, "HostConfig", "Memory"), 128LL << 20);
    CHECK_INT(json_path_int(j, "HostConfig", "MemorySwap"), 128LL << 20);
    CHECK_INT(json_path_int(j, "HostConfig", "CpuQuota"), 50000);
    CHECK_INT(json_path_int(j, "HostConfig", "CpuPeriod"), 100000);
    CHECK_INT(json_path_int(j, "HostConfig", "PidsLimit"), 64);
    CHECK_STR(json_path_str(j, "HostConfig", "NetworkMode"), "none");
    CHECK_INT(json_object_size(json_object_get(json_object_get(j, "NetworkSettings"), "Ports")), 0);
    snprintf(want, sizeof(want), "%s/cdm:/cdm:ro", workdir);
    CHECK(bind_listed(binds, want));
    snprintf(want, sizeof(want), "%s/run:/run/rserve:rw", workdir);
    CHECK(bind_listed(binds, want));
}

static const char *const *argv_of(const char *a, const char *b, const char *c)
{
    static const char *argv[4];

    argv[0] = a;
    argv[1] = b;
    argv[2] = c;
    argv[3] = NULL;
    return argv;
}

/* From inside: what the sandbox can and cannot do. */
static void check_inside(const char *id)
{
    struct outcome o = {0};

    STEP(o, docker_exec(docker, id, argv_of("id", "-u", NULL), on_done, &o), "exec id -u");
    CHECK_INT(o.error, BACKEND_OK);
    CHECK_INT(o.exit_code, 0);
    STEP(o,
         docker_exec(docker, id,
                     argv_of("sh", "-c",
                             "grep -Eq '^CapEff:[[:space:]]+0+$' /proc/1/status &&"
                             " grep -Eq '^CapBnd:[[:space:]]+0+$' /proc/1/status"),
                     on_done, &o),
         "exec no capabilities");
    CHECK_INT(o.exit_code, 0);
    STEP(o, docker_exec(docker, id, argv_of("touch", "/rootfs-write", NULL), on_done, &o),
         "exec touch /");
    CHECK(o.exit_code != 0);
    STEP(o, docker_exec(docker, id, argv_of("touch", "/tmp/ok", NULL), on_done, &o),
         "exec touch /tmp/ok");
    CHECK_INT(o.exit_code, 0);
    STEP(o, docker_exec(docker, id, argv_of("touch", "/cdm/x", NULL), on_done, &o),
         "exec touch /cdm/x");
    CHECK(o.exit_code != 0);
    STEP(o, docker_exec(docker, id, argv_of("kill", "-0", "1"), on_done, &o), "exec kill -0 1");
    CHECK_INT(o.exit_code, 0);
    STEP(o, docker_exec(docker, id, argv_of("kill", "-INT", "999999"), on_done, &o),
         "exec kill -INT 999999");
    CHECK(o.exit_code != 0);
    STEP(o, docker_exec(docker, "no-such-container", argv_of("true", NULL, NULL), on_done, &o),
         "exec in nothing");
    CHECK_INT(o.error, BACKEND_NOT_FOUND);
    json_decref(o.json);
}

static struct backend_spec test_spec(const char *image, const char *pool, const char *workdir,
                                     struct backend_mount *mounts, char paths[3][256])
{
    static const char *const cmd[] = {"sleep", "300", NULL};
    static const char *const labels[] = {"org.omcp.test", "docker_engine", NULL};

    snprintf(paths[0], 256, "%s/run", workdir);
    snprintf(paths[1], 256, "%s/ws", workdir);
    snprintf(paths[2], 256, "%s/cdm", workdir);
    for (int i = 0; i < 3; i++)
        mkdir(paths[i], 0755);
    mounts[0] = (struct backend_mount){paths[0], "/run/rserve", false};
    mounts[1] = (struct backend_mount){paths[1], "/sandbox", false};
    mounts[2] = (struct backend_mount){paths[2], "/cdm", true};
    return (struct backend_spec){
        .image = image,
        .cmd = cmd,
        .uid = 1000,
        .gid = 1000,
        .memory_bytes = 128LL << 20,
        .cpu_quota_us = 50000,
        .cpu_period_us = 100000,
        .pids_limit = 64,
        .tmp_size_bytes = 16LL << 20,
        .pool_label = pool,
        .instance_label = "docker-engine-test",
        .labels = labels,
        .mounts = mounts,
        .n_mounts = 3,
    };
}

static void life_of_a_container(const char *image, const char *pool, const char *workdir)
{
    struct backend_mount mounts[3];
    char paths[3][256];
    struct backend_spec spec = test_spec(image, pool, workdir, mounts, paths);
    struct event_log log = {0};
    struct backend_call *stream;
    struct outcome o = {0};
    const char *err = NULL;
    char id[80];
    int die;

    STEP(o, docker_check_version(docker, on_done, &o), "version");
    CHECK_INT(o.error, BACKEND_OK);
    stream = docker_events(docker, BACKEND_LABEL_POOL, pool, 0, on_event, on_stream_end, &log);

    STEP(o, docker_create(docker, &spec, on_done, &o, &err), "create");
    CHECK_INT(o.error, BACKEND_OK);
    CHECK_INT(o.status, 201);
    snprintf(id, sizeof(id), "%s", o.id);
    log.id = id;
    wanted_id = id;

    STEP(o, docker_start(docker, id, on_done, &o), "start");
    CHECK_INT(o.error, BACKEND_OK);
    CHECK(wait_event(&log, "start") >= 0);

    STEP(o, docker_inspect(docker, id, on_done, &o), "inspect");
    CHECK_INT(o.error, BACKEND_OK);
    CHECK(o.running);
    CHECK(o.pid > 1);
    check_hardening(o.json, workdir);

    check_inside(id);

    STEP(o, docker_list(docker, BACKEND_LABEL_POOL, pool, on_done, &o), "list");
    CHECK_INT(o.error, BACKEND_OK);
    CHECK_INT(o.n_containers, 1);
    CHECK(o.found_in_list);

    STEP(o, docker_kill(docker, id, SIGKILL, on_done, &o), "kill");
    CHECK_INT(o.error, BACKEND_OK);
    die = wait_event(&log, "die");
    CHECK(die >= 0);
    if (die >= 0)
        CHECK_INT(log.exit_codes[die], 137);
    STEP(o, docker_inspect(docker, id, on_done, &o), "inspect after kill");
    CHECK(!o.running);
    STEP(o, docker_kill(docker, id, SIGKILL, on_done, &o), "kill again");
    CHECK_INT(o.error, BACKEND_CONFLICT);

    STEP(o, docker_remove(docker, id, on_done, &o), "remove");
    CHECK_INT(o.error, BACKEND_OK);
    CHECK(wait_event(&log, "destroy") >= 0);
    STEP(o, docker_inspect(docker, id, on_done, &o), "inspect removed");
    CHECK_INT(o.error, BACKEND_NOT_FOUND);
    CHECK(strcasestr(o.message, "no such container") != NULL);
    STEP(o, docker_remove(docker, id, on_done, &o), "remove again");
    CHECK_INT(o.error, BACKEND_NOT_FOUND);

    STEP(o, docker_list(docker, BACKEND_LABEL_POOL, pool, on_done, &o), "list after remove");
    CHECK_INT(o.n_containers, 0);
    spec.image = "omcp-test-no-such-image:never";
    STEP(o, docker_create(docker, &spec, on_done, &o, &err), "create without image");
    CHECK_INT(o.error, BACKEND_NOT_FOUND);

    json_decref(o.json);
    docker_cancel(docker, stream);
    CHECK_INT(log.ended, 0);
    CHECK_INT(docker_calls_in_flight(docker), 0);
}

/* Prints the verdict of a version check, as an operator would see it. */
static int probe(void)
{
    struct outcome o = {0};
    ev_tstamp start = ev_time();

    wait_call(docker_check_version(docker, on_done, &o), &o, "version");
    printf("error=%s seconds=%.3f message=\"%s\"\n", backend_error_name(o.error), ev_time() - start,
           o.message);
    return o.error == BACKEND_OK ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *host = getenv("DOCKER_HOST");
    const char *err = NULL;
    int status;

    log_min_level = L_WARN;
    loop = ev_default_loop(0);
    docker = docker_new(loop, host, &err);
    if (!docker) {
        printf("error=unsupported message=\"%s\"\n", err);
        return 2;
    }
    if (argc == 2 && strcmp(argv[1], "probe") == 0) {
        status = probe();
        docker_free(docker);
        return status;
    }
    if (argc != 5 || strcmp(argv[1], "life") != 0) {
        fprintf(stderr, "usage: %s life IMAGE POOL_LABEL WORKDIR | probe\n", argv[0]);
        return 2;
    }
    life_of_a_container(argv[2], argv[3], argv[4]);
    docker_free(docker);
    return check_report();
}
