/* Container create + start + remove through the Docker client, against
 * `docker run --rm` of the same hardened container in the same run, and
 * containers per second with several calls in flight.
 * Usage: omcp-bench-docker [COUNT] (default 30 per measurement). */
#include "bench/samples.h"
#include "pool/docker.h"
#include "proxy/log.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#define IMAGE "omcp-test-busybox:latest"

extern char **environ;

/* ---- through the client ---- */

static struct ev_loop *loop;
static struct docker *docker;
static char pool[64];

enum runner_step { STEP_CREATE, STEP_START, STEP_REMOVE };

struct runner {
    enum runner_step step;
    double began, step_began;
    char id[80]; /* the container being started */
};

static struct {
    int remaining; /* containers still to start */
    int active;    /* runners still going */
    int failures;
    struct samples total, create, start, remove;
} run;

static void runner_next(struct runner *r);

static void runner_done(const struct backend_result *res, void *arg)
{
    struct runner *r = arg;
    double t = samples_now_ms();

    if (res->error != BACKEND_OK) {
        fprintf(stderr, "bench: step %d failed: %s\n", r->step, res->message);
        run.failures++;
        run.active--;
        return;
    }
    samples_add(r->step == STEP_CREATE  ? &run.create
                : r->step == STEP_START ? &run.start
                                        : &run.remove,
                t - r->step_began);
    r->step_began = t;
    if (r->step == STEP_CREATE) {
        snprintf(r->id, sizeof(r->id), "%s", res->id);
        r->step = STEP_START;
        docker_start(docker, r->id, runner_done, r);
    } else if (r->step == STEP_START) {
        r->step = STEP_REMOVE;
        docker_remove(docker, r->id, runner_done, r);
    } else {
        samples_add(&run.total, t - r->began);
        runner_next(r);
    }
}

static void runner_next(struct runner *r)
{
    static const char *const cmd[] = {"true", NULL};
    static const char *const labels[] = {"org.omcp.test", "bench", NULL};
    struct backend_spec spec = {
        .image = IMAGE,
        .cmd = cmd,
        .uid = 1000,
        .gid = 1000,
        .memory_bytes = 128LL << 20,
        .cpu_quota_us = 50000,
        .pids_limit = 64,
        .tmp_size_bytes = 16LL << 20,
        .pool_label = pool,
        .instance_label = "bench",
        .labels = labels,
    };
    const char *err = NULL;

    if (run.remaining == 0) {
        run.active--;
        return;
    }
    run.remaining--;
    r->step = STEP_CREATE;
    r->began = r->step_began = samples_now_ms();
    if (!docker_create(docker, &spec, runner_done, r, &err)) {
        fprintf(stderr, "bench: create refused: %s\n", err);
        exit(1);
    }
}

/* Starts `count` containers with `in_flight` runners; returns seconds taken. */
static double run_client(int count, int in_flight)
{
    struct runner *runners = calloc((size_t)in_flight, sizeof(*runners));
    double began = samples_now_ms();

    samples_clear(&run.total);
    samples_clear(&run.create);
    samples_clear(&run.start);
    samples_clear(&run.remove);
    run.remaining = count;
    run.active = in_flight;
    for (int i = 0; i < in_flight; i++)
        runner_next(&runners[i]);
    while (run.active > 0)
        ev_run(loop, EVRUN_ONCE);
    free(runners);
    return (samples_now_ms() - began) / 1e3;
}

/* ---- one call repeated on a running container ---- */

struct repeat {
    int left;
    double began;
    struct samples ms;
    const char *id;
    bool exec; /* exec `true` rather than inspect */
};

static void repeat_next(struct repeat *r);

static void repeat_done(const struct backend_result *res, void *arg)
{
    struct repeat *r = arg;

    if (res->error != BACKEND_OK || res->exit_code != 0) {
        fprintf(stderr, "bench: %s\n", res->message ? res->message : "exec failed");
        exit(1);
    }
    samples_add(&r->ms, samples_now_ms() - r->began);
    repeat_next(r);
}

static void repeat_next(struct repeat *r)
{
    static const char *const argv[] = {"true", NULL};

    if (r->left <= 0) {
        r->left = -1;
        return;
    }
    r->left--;
    r->began = samples_now_ms();
    if (r->exec)
        docker_exec(docker, r->id, argv, repeat_done, r);
    else
        docker_inspect(docker, r->id, repeat_done, r);
}

static void run_repeat(struct repeat *r, int count)
{
    r->left = count;
    repeat_next(r);
    while (r->left >= 0)
        ev_run(loop, EVRUN_ONCE);
}

/* ---- the CLI baseline ---- */

static double run_argv(char **argv)
{
    posix_spawn_file_actions_t actions;
    double began = samples_now_ms();
    pid_t pid;
    int status;

    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ) != 0) {
        perror("bench: docker");
        exit(1);
    }
    posix_spawn_file_actions_destroy(&actions);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: docker %s failed\n", argv[1]);
        exit(1);
    }
    return samples_now_ms() - began;
}

/* The same hardened container as runner_next() asks for. */
static double run_cli_container(const char *command)
{
    char label[128];
    char *argv[] = {
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--user",
        "1000:1000",
        "--memory",
        "128m",
        "--memory-swap",
        "128m",
        "--cpu-quota",
        "50000",
        "--pids-limit",
        "64",
        "--tmpfs",
        "/tmp:rw,noexec,nosuid,nodev,size=16777216",
        "--label",
        label,
        IMAGE,
        (char *)command,
        NULL,
    };

    snprintf(label, sizeof(label), "org.omcp.pool=%s", pool);
    return run_argv(argv);
}

static void on_version(const struct backend_result *res, void *arg)
{
    int *done = arg;

    if (res->error != BACKEND_OK) {
        fprintf(stderr, "bench: %s: %s\n", backend_error_name(res->error), res->message);
        exit(77);
    }
    *done = 1;
}

static void prepare(void)
{
    int done = 0;
    const char *err = NULL;
    char command[512];

    docker = docker_new(loop, getenv("DOCKER_HOST"), &err);
    if (!docker) {
        fprintf(stderr, "bench: %s\n", err);
        exit(77);
    }
    docker_check_version(docker, on_version, &done);
    while (!done)
        ev_run(loop, EVRUN_ONCE);
    snprintf(command, sizeof(command), "%s/tests/integration/docker_image.sh %s", OMCP_SOURCE_DIR,
             IMAGE);
    if (system(command) != 0)
        exit(1);
}

static void cleanup(void)
{
    char command[256];

    snprintf(command, sizeof(command),
             "ids=$(docker ps -aq --filter label=org.omcp.pool=%s); "
             "[ -z \"$ids\" ] || docker rm -f $ids >/dev/null",
             pool);
    if (system(command) != 0)
        fprintf(stderr, "bench: cleanup of %s failed\n", pool);
}

/* Start-up: one container at a time, the client and the CLI in turns so
 * that any drift of the machine hits both. */
static void bench_startup(int count)
{
    struct samples cli = {0}, ours = {0};

    for (int round = 0; round < count; round++) {
        run_client(1, 1);
        samples_add(&ours, run.total.ms[0]);
        samples_add(&cli, run_cli_container("true"));
    }
    samples_report("client create+start+remove", &ours, "ms");
    samples_report("docker run --rm (CLI)", &cli, "ms");
    samples_ratio("ratio CLI / client, run", &cli, &ours);
    run_client(count, 1);
    samples_report("  create", &run.create, "ms");
    samples_report("  start", &run.start, "ms");
    samples_report("  remove (force)", &run.remove, "ms");
    samples_clear(&cli);
    samples_clear(&ours);
}

/* Calls on a running container: inspect (health) and exec (interrupts). */
static void bench_calls(int count, const char *id)
{
    struct repeat inspect = {.id = id}, exec = {.id = id, .exec = true};
    struct samples cli_inspect = {0}, cli_exec = {0};
    char *inspect_argv[] = {"docker", "inspect", (char *)id, NULL};
    char *exec_argv[] = {"docker", "exec", (char *)id, "true", NULL};

    run_repeat(&inspect, count * 10);
    run_repeat(&exec, count);
    for (int i = 0; i < count; i++) {
        samples_add(&cli_inspect, run_argv(inspect_argv));
        samples_add(&cli_exec, run_argv(exec_argv));
    }
    samples_report("client inspect", &inspect.ms, "ms");
    samples_report("docker inspect (CLI)", &cli_inspect, "ms");
    samples_ratio("ratio CLI / client, inspect", &cli_inspect, &inspect.ms);
    samples_report("client exec true", &exec.ms, "ms");
    samples_report("docker exec true (CLI)", &cli_exec, "ms");
    samples_ratio("ratio CLI / client, exec", &cli_exec, &exec.ms);
    samples_clear(&inspect.ms);
    samples_clear(&exec.ms);
    samples_clear(&cli_inspect);
    samples_clear(&cli_exec);
}

static void on_created(const struct backend_result *res, void *arg)
{
    char *id = arg;

    if (res->error != BACKEND_OK) {
        fprintf(stderr, "bench: %s\n", res->message);
        exit(1);
    }
    if (res->id)
        snprintf(id, 80, "%s", res->id);
    else
        id[79] = 1; /* started */
}

/* A container that stays up for bench_calls(). */
static void start_sleeper(char id[80])
{
    static const char *const cmd[] = {"sleep", "600", NULL};
    struct backend_spec spec = {
        .image = IMAGE,
        .cmd = cmd,
        .uid = 1000,
        .gid = 1000,
        .memory_bytes = 128LL << 20,
        .pids_limit = 64,
        .tmp_size_bytes = 16LL << 20,
        .pool_label = pool,
        .instance_label = "bench",
    };
    const char *err = NULL;

    memset(id, 0, 80);
    docker_create(docker, &spec, on_created, id, &err);
    while (!id[0])
        ev_run(loop, EVRUN_ONCE);
    docker_start(docker, id, on_created, id);
    while (!id[79])
        ev_run(loop, EVRUN_ONCE);
    id[79] = 0;
}

int main(int argc, char **argv)
{
    static const int widths[] = {1, 2, 4, 8};
    int count = argc > 1 ? atoi(argv[1]) : 30;
    char sleeper[80];

    if (count < 1)
        count = 30;
    log_min_level = L_WARN;
    loop = ev_default_loop(0);
    snprintf(pool, sizeof(pool), "omcp-bench-%d", (int)getpid());
    prepare();
    printf("engine %s (API %s), image %s, %d per measurement\n", docker_engine_version(docker),
           docker_engine_api_version(docker), IMAGE, count);

    bench_startup(count);
    for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        char name[64];
        double seconds = run_client(count, widths[i]);

        snprintf(name, sizeof(name), "in flight %d: per container", widths[i]);
        samples_report(name, &run.total, "ms");
        snprintf(name, sizeof(name), "in flight %d: rate", widths[i]);
        samples_value(name, "containers/s", count / seconds, true);
    }
    start_sleeper(sleeper);
    bench_calls(count, sleeper);

    cleanup();
    docker_free(docker);
    return run.failures ? 1 : 0;
}
