/* The Docker client against a fake engine: a small HTTP/1.1 responder on a
 * unix socket in a temporary directory, one thread per connection, playing
 * answers a real engine gives (and some it should not). */
#include "check.h"
#include "pool/docker.h"
#include "pool/docker_json.h"
#include "proxy/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

/* ---- the fake engine ---- */

struct fake_request {
    char method[16];
    char path[2048];
    char body[8192];
};

typedef void (*fake_responder)(int fd, const struct fake_request *req);

static struct {
    char dir[64];
    char sock[100];
    char host[160];
    int listen_fd;
    pthread_t thread;
    pthread_mutex_t lock;
    fake_responder respond;
    int n_requests;
    struct fake_request last[8]; /* the last requests, newest at [n % 8] */
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void put(int fd, const char *bytes, size_t n)
{
    while (n) {
        ssize_t w = send(fd, bytes, n, MSG_NOSIGNAL);

        if (w <= 0)
            return;
        bytes += w;
        n -= (size_t)w;
    }
}

static void puts_fd(int fd, const char *s)
{
    put(fd, s, strlen(s));
}

static void reply(int fd, int status, const char *body)
{
    char head[256];

    snprintf(head, sizeof(head),
             "HTTP/1.1 %d Whatever\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
             status, strlen(body));
    puts_fd(fd, head);
    puts_fd(fd, body);
}

/* Reads one request: headers, then Content-Length bytes of body. */
static bool read_request(int fd, struct fake_request *req)
{
    char raw[16384];
    size_t len = 0;
    char *end = NULL, *cl;
    size_t body_len = 0, have;

    memset(req, 0, sizeof(*req));
    while (!end) {
        ssize_t r = read(fd, raw + len, sizeof(raw) - 1 - len);

        if (r <= 0)
            return false;
        len += (size_t)r;
        raw[len] = '\0';
        end = strstr(raw, "\r\n\r\n");
    }
    sscanf(raw, "%15s %2047s", req->method, req->path);
    cl = strcasestr(raw, "Content-Length:");
    if (cl && cl < end)
        body_len = strtoul(cl + 15, NULL, 10);
    have = len - (size_t)(end + 4 - raw);
    while (have < body_len && len < sizeof(raw) - 1) {
        ssize_t r = read(fd, raw + len, sizeof(raw) - 1 - len);

        if (r <= 0)
            break;
        len += (size_t)r;
        have += (size_t)r;
    }
    raw[len] = '\0';
    snprintf(req->body, sizeof(req->body), "%s", end + 4);
    return true;
}

static void *fake_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct fake_request req;
    fake_responder respond;

    if (read_request(fd, &req)) {
        pthread_mutex_lock(&fake.lock);
        fake.last[fake.n_requests % 8] = req;
        fake.n_requests++;
        respond = fake.respond;
        pthread_mutex_unlock(&fake.lock);
        if (respond)
            respond(fd, &req);
    }
    close(fd);
    return NULL;
}

static void *fake_accept(void *arg)
{
    for (;;) {
        int fd = accept(fake.listen_fd, NULL, NULL);
        pthread_t t;

        if (fd < 0)
            return NULL;
        pthread_create(&t, NULL, fake_connection, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static void fake_start(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    snprintf(fake.dir, sizeof(fake.dir), "/tmp/omcp-fake-docker-XXXXXX");
    if (!mkdtemp(fake.dir))
        abort();
    snprintf(fake.sock, sizeof(fake.sock), "%s/docker.sock", fake.dir);
    snprintf(fake.host, sizeof(fake.host), "unix://%s", fake.sock);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fake.sock);
    fake.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(fake.listen_fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
        listen(fake.listen_fd, 64) != 0)
        abort();
    pthread_create(&fake.thread, NULL, fake_accept, NULL);
}

static void fake_stop(void)
{
    shutdown(fake.listen_fd, SHUT_RDWR);
    close(fake.listen_fd);
    pthread_join(fake.thread, NULL);
    unlink(fake.sock);
    rmdir(fake.dir);
}

static void fake_set(fake_responder respond)
{
    pthread_mutex_lock(&fake.lock);
    fake.respond = respond;
    fake.n_requests = 0;
    memset(fake.last, 0, sizeof(fake.last));
    pthread_mutex_unlock(&fake.lock);
}

static struct fake_request fake_request(int i)
{
    struct fake_request r;

    pthread_mutex_lock(&fake.lock);
    r = fake.last[i % 8];
    pthread_mutex_unlock(&fake.lock);
    return r;
}

/* ---- running the loop until a callback ---- */

static struct ev_loop *loop;
static struct docker *docker;

struct outcome {
    int calls;
    enum backend_error error;
    long status;
    char message[512];
    char id[128];
    int exit_code;
    size_t n_containers;
    struct backend_container first;
    char first_id[128];
    char first_state[32];
    char first_pool[64];
};

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
    if (res->n_containers) {
        o->first = res->containers[0];
        snprintf(o->first_id, sizeof(o->first_id), "%s", o->first.id);
        snprintf(o->first_state, sizeof(o->first_state), "%s",
                 o->first.state ? o->first.state : "");
        snprintf(o->first_pool, sizeof(o->first_pool), "%s", o->first.pool ? o->first.pool : "");
    }
}

static bool guard_fired;

static void on_guard(struct ev_loop *l, ev_timer *w, int revents)
{
    guard_fired = true;
}

/* Runs the loop until *calls reaches want or `seconds` pass. */
static double run_until(int *calls, int want, double seconds)
{
    ev_timer guard;
    ev_tstamp start;

    ev_now_update(loop);
    start = ev_now(loop);
    guard_fired = false;
    ev_timer_init(&guard, on_guard, seconds, 0.);
    ev_timer_start(loop, &guard);
    while (*calls < want && !guard_fired)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &guard);
    ev_now_update(loop);
    return ev_now(loop) - start;
}

/* ---- responders ---- */

static void respond_version(int fd, const struct fake_request *req)
{
    reply(fd, 200, "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}");
}

static void respond_old_version(int fd, const struct fake_request *req)
{
    reply(fd, 200, "{\"Version\":\"19.03.15\",\"ApiVersion\":\"1.40\",\"MinAPIVersion\":\"1.12\"}");
}

static void respond_created(int fd, const struct fake_request *req)
{
    reply(fd, 201, "{\"Id\":\"c0ffee\",\"Warnings\":[]}");
}

static void respond_updated(int fd, const struct fake_request *req)
{
    reply(fd, 200, "{\"Warnings\":[]}");
}

static void respond_404(int fd, const struct fake_request *req)
{
    reply(fd, 404, "{\"message\":\"No such container: nope\"}");
}

static void respond_409(int fd, const struct fake_request *req)
{
    reply(fd, 409, "{\"message\":\"Container c0ffee is not running\"}");
}

static void respond_500(int fd, const struct fake_request *req)
{
    reply(fd, 500, "{\"message\":\"driver failed programming: disk full\"}");
}

static void respond_500_text(int fd, const struct fake_request *req)
{
    reply(fd, 500, "page on fire\n");
}

/* An engine's router without the route: plain text, no engine message. */
static void respond_no_route(int fd, const struct fake_request *req)
{
    reply(fd, 404, "Not Found\n");
}

static void respond_405(int fd, const struct fake_request *req)
{
    reply(fd, 405, "Method Not Allowed\n");
}

/* Podman's compatible API: a stopped container is a 500 with a cause. */
static void respond_state_improper(int fd, const struct fake_request *req)
{
    reply(fd, 500,
          "{\"cause\":\"container state improper\",\"message\":\"can only kill running "
          "containers. c0ffee is in state exited: container state improper\",\"response\":500}");
}

static void respond_malformed(int fd, const struct fake_request *req)
{
    reply(fd, 200, "{\"Id\": \"abc\", ");
}

static void respond_truncated(int fd, const struct fake_request *req)
{
    puts_fd(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Content-Length: 400\r\n\r\n{\"Id\":\"abc\"");
}

static void respond_huge(int fd, const struct fake_request *req)
{
    static char body[64 * 1024];

    memset(body, ' ', sizeof(body) - 3);
    body[0] = '[';
    body[sizeof(body) - 3] = ']';
    body[sizeof(body) - 2] = '\0';
    reply(fd, 200, body);
}

static void respond_slowly(int fd, const struct fake_request *req)
{
    usleep(1500 * 1000);
    reply(fd, 200, "{}");
}

static void respond_nothing(int fd, const struct fake_request *req)
{
}

static void respond_inspect(int fd, const struct fake_request *req)
{
    reply(fd, 200,
          "{\"Id\":\"c0ffee\",\"Name\":\"/omcp-slot-1\",\"State\":{\"Status\":\"running\","
          "\"Running\":true,\"OOMKilled\":false,\"Pid\":4242,\"ExitCode\":0},"
          "\"Config\":{\"Labels\":{\"org.omcp.pool\":\"p1\",\"org.omcp.instance\":\"i1\"}}}");
}

static void respond_list(int fd, const struct fake_request *req)
{
    reply(fd, 200,
          "[{\"Id\":\"aaa\",\"Names\":[\"/one\"],\"State\":\"running\","
          "\"Labels\":{\"org.omcp.pool\":\"p1\"}},"
          "{\"Id\":\"bbb\",\"Names\":[\"/two\"],\"State\":\"exited\",\"Labels\":{}}]");
}

static void respond_exec(int fd, const struct fake_request *req)
{
    if (strstr(req->path, "/containers/c0ffee/exec")) {
        reply(fd, 201, "{\"Id\":\"e1\"}");
    } else if (strstr(req->path, "/exec/e1/start")) {
        /* The engine hijacks the connection and streams raw output. */
        puts_fd(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n");
        put(fd, "\x01\0\0\0\0\0\0\x03ok\n", 11);
    } else if (strstr(req->path, "/exec/e1/json")) {
        reply(fd, 200, "{\"ExitCode\":1,\"Running\":false}");
    } else {
        reply(fd, 404, "{\"message\":\"unexpected\"}");
    }
}

/* An event stream, chunked, with records split across chunks and writes. */
static void respond_events(int fd, const struct fake_request *req)
{
    static const char *const pieces[] = {
        "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"c0ffee\",",
        "\"Attributes\":{\"org.omcp.pool\":\"p1\"}},\"timeNano\":1700000000000000001}\n{\"Ty",
        "pe\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"n1\"}}\r\n",
        "\n",
        "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"c0ffee\",\"Attributes\":"
        "{\"exitCode\":\"137\"}},\"timeNano\":1700000000000000002}",
        "\n{\"Type\":\"container\",\"Action\":\"destroy\",\"Actor\":{\"ID\":\"c0ffee\"}}\n",
    };
    char size[32];

    puts_fd(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        size_t n = strlen(pieces[i]), half = n / 2;

        /* Each chunk goes out in four writes: split inside its size line
         * (between \r and \n), inside its data, and before its trailer. */
        snprintf(size, sizeof(size), "%zx\r\n", n);
        put(fd, size, strlen(size) - 1);
        usleep(20000);
        puts_fd(fd, "\n");
        put(fd, pieces[i], half);
        usleep(20000);
        put(fd, pieces[i] + half, n - half);
        puts_fd(fd, "\r\n");
        usleep(20000);
    }
    puts_fd(fd, "0\r\n\r\n");
}

static void respond_events_bad(int fd, const struct fake_request *req)
{
    const char *body = "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"x\"}}\n"
                       "{\"Type\":\"cont\n";
    char head[64];

    puts_fd(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    snprintf(head, sizeof(head), "%zx\r\n", strlen(body));
    puts_fd(fd, head);
    puts_fd(fd, body);
    puts_fd(fd, "\r\n");
    usleep(2000 * 1000); /* the client must end the stream without waiting for this */
}

static void respond_events_forever(int fd, const struct fake_request *req)
{
    const char *rec = "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"x\"}}\n";
    char head[64];

    puts_fd(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    snprintf(head, sizeof(head), "%zx\r\n", strlen(rec));
    for (int i = 0; i < 50; i++) {
        puts_fd(fd, head);
        puts_fd(fd, rec);
        puts_fd(fd, "\r\n");
        usleep(10000);
    }
}

/* ---- tests ---- */

static void call_and_wait(struct backend_call *call, struct outcome *o)
{
    CHECK(call != NULL);
    run_until(&o->calls, 1, 10);
    CHECK_INT(o->calls, 1);
}

static void test_docker_host(void)
{
    const char *err = NULL;
    char *path = docker_host_socket_path(NULL, &err);

    CHECK_STR(path, "/var/run/docker.sock");
    free(path);
    path = docker_host_socket_path("unix:///run/user/1000/podman/podman.sock", &err);
    CHECK_STR(path, "/run/user/1000/podman/podman.sock");
    free(path);
    err = NULL;
    CHECK(docker_host_socket_path("tcp://127.0.0.1:2375", &err) == NULL);
    CHECK(err && strstr(err, "unix://") && strstr(err, "tcp://"));
    CHECK(docker_host_socket_path("ssh://me@host", &err) == NULL);
    CHECK(docker_host_socket_path("/var/run/docker.sock", &err) == NULL);
    CHECK(docker_host_socket_path("unix://relative.sock", &err) == NULL);
    CHECK(docker_new(loop, "tcp://127.0.0.1:2375", &err) == NULL);
}

static void test_version_ok(void)
{
    struct outcome o = {0};

    fake_set(respond_version);
    call_and_wait(docker_check_version(docker, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_OK);
    CHECK_STR(docker_engine_version(docker), "20.10.24");
    CHECK_STR(docker_engine_api_version(docker), "1.41");
    CHECK_STR(fake_request(0).path, "/version");
}

static void test_version_too_old(void)
{
    struct outcome o = {0};

    fake_set(respond_old_version);
    call_and_wait(docker_check_version(docker, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_UNSUPPORTED);
    CHECK(strstr(o.message, "19.03.15") && strstr(o.message, "1.40") && strstr(o.message, "1.41"));
}

static const struct backend_mount mounts[] = {
    {"/var/lib/omcp/slots/1/run", "/run/rserve", false},
    {"/var/lib/omcp/slots/1/ws", "/sandbox", false},
    {"/srv/cdm/synthetic.sqlite", "/cdm/synthetic.sqlite", true},
};

static struct backend_spec good_spec(void)
{
    static const char *const cmd[] = {"/usr/bin/Rserve-start", NULL};
    static const char *const labels[] = {"org.omcp.slot", "1", NULL};
    struct backend_spec spec = {
        .name = "omcp-slot-1",
        .image = "omcp-r-sandbox:latest",
        .cmd = cmd,
        .uid = 1000,
        .gid = 1000,
        .memory_bytes = 512LL << 20,
        .cpu_quota_us = 50000,
        .cpu_period_us = 100000,
        .pids_limit = 256,
        .tmp_size_bytes = 64LL << 20,
        .pool_label = "p1",
        .instance_label = "i1",
        .labels = labels,
        .mounts = mounts,
        .n_mounts = 3,
    };
    return spec;
}

static void test_create_body(void)
{
    struct backend_spec spec = good_spec();
    const char *err = NULL;
    json_t *body = docker_create_body(&spec, &err);
    json_t *hc = json_object_get(body, "HostConfig");
    json_t *binds = json_object_get(hc, "Binds");

    CHECK(body != NULL);
    CHECK_STR(json_string_value(json_object_get(body, "User")), "1000:1000");
    CHECK_STR(json_string_value(json_array_get(json_object_get(hc, "CapDrop"), 0)), "ALL");
    CHECK_INT(json_array_size(json_object_get(hc, "CapDrop")), 1);
    CHECK_STR(json_string_value(json_array_get(json_object_get(hc, "SecurityOpt"), 0)),
              "no-new-privileges");
    CHECK(json_is_true(json_object_get(hc, "ReadonlyRootfs")));
    CHECK_STR(json_string_value(json_object_get(json_object_get(hc, "Tmpfs"), "/tmp")),
              "rw,noexec,nosuid,nodev,size=67108864");
    CHECK_INT(json_integer_value(json_object_get(hc, "Memory")), 512LL << 20);
    CHECK_INT(json_integer_value(json_object_get(hc, "MemorySwap")), 512LL << 20);
    CHECK_INT(json_integer_value(json_object_get(hc, "CpuQuota")), 50000);
    CHECK_INT(json_integer_value(json_object_get(hc, "CpuPeriod")), 100000);
    CHECK_INT(json_integer_value(json_object_get(hc, "PidsLimit")), 256);
    CHECK_STR(json_string_value(json_object_get(hc, "NetworkMode")), "none");
    CHECK_INT(json_object_size(json_object_get(hc, "PortBindings")), 0);
    CHECK_INT(json_object_size(json_object_get(body, "ExposedPorts")), 0);
    CHECK_STR(json_string_value(json_array_get(binds, 0)),
              "/var/lib/omcp/slots/1/run:/run/rserve:rw");
    CHECK_STR(json_string_value(json_array_get(binds, 2)),
              "/srv/cdm/synthetic.sqlite:/cdm/synthetic.sqlite:ro");
    CHECK_STR(json_string_value(json_object_get(json_object_get(body, "Labels"), "org.omcp.pool")),
              "p1");
    CHECK_STR(json_string_value(json_object_get(json_object_get(body, "Labels"), "org.omcp.slot")),
              "1");
    json_decref(body);
}

static void test_create_refusals(void)
{
    static const struct backend_mount colon[] = {{"/a:b", "/sandbox", false}};
    static const char *const sneaky[] = {"org.omcp.pool", "other", NULL};
    struct backend_spec spec = good_spec();
    const char *err = NULL;
    json_t *body;

    spec.uid = 0;
    CHECK(docker_create_body(&spec, &err) == NULL && err);
    CHECK(docker_create(docker, &spec, on_done, NULL, &err) == NULL);
    spec = good_spec();
    spec.pids_limit = 0;
    CHECK(docker_create_body(&spec, &err) == NULL);
    spec = good_spec();
    spec.mounts = colon;
    spec.n_mounts = 1;
    CHECK(docker_create_body(&spec, &err) == NULL);
    spec = good_spec();
    spec.pool_label = NULL;
    CHECK(docker_create_body(&spec, &err) == NULL);

    /* An extra label cannot take over the pool's own. */
    spec = good_spec();
    spec.labels = sneaky;
    body = docker_create_body(&spec, &err);
    CHECK_STR(json_string_value(json_object_get(json_object_get(body, "Labels"), "org.omcp.pool")),
              "p1");
    json_decref(body);
}

static void test_create(void)
{
    struct backend_spec spec = good_spec();
    struct outcome o = {0};
    const char *err = NULL;
    struct fake_request req;

    fake_set(respond_created);
    call_and_wait(docker_create(docker, &spec, on_done, &o, &err), &o);
    CHECK_INT(o.error, BACKEND_OK);
    CHECK_INT(o.status, 201);
    CHECK_STR(o.id, "c0ffee");
    req = fake_request(0);
    CHECK_STR(req.method, "POST");
    CHECK_STR(req.path, "/v1.41/containers/create?name=omcp-slot-1");
    CHECK(strstr(req.body, "\"CapDrop\":[\"ALL\"]") != NULL);
}

/* The session's quota, set on a running container. */
static void test_limit_cpu(void)
{
    struct outcome o = {0};
    struct fake_request req;
    json_t *body;

    fake_set(respond_updated);
    call_and_wait(docker_limit_cpu(docker, "c0ffee", 50000, 100000, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_OK);
    CHECK_INT(o.status, 200);
    req = fake_request(0);
    CHECK_STR(req.method, "POST");
    CHECK_STR(req.path, "/v1.41/containers/c0ffee/update");
    body = json_loads(req.body, 0, NULL);
    CHECK(body != NULL);
    CHECK_INT(json_integer_value(json_object_get(body, "CpuQuota")), 50000);
    CHECK_INT(json_integer_value(json_object_get(body, "CpuPeriod")), 100000);
    CHECK_INT(json_object_size(body), 2);
    json_decref(body);

    memset(&o, 0, sizeof(o));
    fake_set(respond_404);
    call_and_wait(docker_limit_cpu(docker, "nope", 50000, 100000, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_NOT_FOUND);

    /* An engine without the endpoint: the pool then creates with the quota. */
    memset(&o, 0, sizeof(o));
    fake_set(respond_no_route);
    call_and_wait(docker_limit_cpu(docker, "c0ffee", 50000, 100000, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_UNSUPPORTED);
    CHECK_INT(o.status, 404);
    memset(&o, 0, sizeof(o));
    fake_set(respond_405);
    call_and_wait(docker_limit_cpu(docker, "c0ffee", 50000, 100000, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_UNSUPPORTED);
    memset(&o, 0, sizeof(o));
    fake_set(respond_no_route);
    call_and_wait(docker_inspect(docker, "c0ffee", on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_NOT_FOUND);
}

/* What Podman's compatible API says differently from Docker. */
static void test_podman_answers(void)
{
    struct outcome o = {0};
    struct backend_event ev;
    json_t *event = json_loads("{\"status\":\"remove\",\"Type\":\"container\",\"Action\":"
                               "\"remove\",\"Actor\":{\"ID\":\"c0ffee\",\"Attributes\":{"
                               "\"containerExitCode\":\"0\",\"org.omcp.pool\":\"p1\"}},"
                               "\"timeNano\":1700000000000000003}",
                               0, NULL);

    fake_set(respond_state_improper);
    call_and_wait(docker_kill(docker, "c0ffee", SIGKILL, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_CONFLICT);
    CHECK_INT(o.status, 500);
    memset(&o, 0, sizeof(o));
    fake_set(respond_500);
    call_and_wait(docker_kill(docker, "c0ffee", SIGKILL, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_ENGINE_ERROR);

    CHECK(docker_parse_event(event, &ev));
    CHECK_STR(ev.action, "destroy");
    CHECK_STR(ev.pool, "p1");
    CHECK_INT(ev.exit_code, -1);
    json_decref(event);
}

static void test_errors_from_engine(void)
{
    struct outcome o = {0};

    fake_set(respond_404);
    call_and_wait(docker_inspect(docker, "nope", on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_NOT_FOUND);
    CHECK_INT(o.status, 404);
    CHECK_STR(o.message, "No such container: nope");

    memset(&o, 0, sizeof(o));
    fake_set(respond_409);
    call_and_wait(docker_kill(docker, "c0ffee", SIGINT, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_CONFLICT);
    CHECK_STR(o.message, "Container c0ffee is not running");
    CHECK_STR(fake_request(0).path, "/v1.41/containers/c0ffee/kill?signal=2");

    memset(&o, 0, sizeof(o));
    fake_set(respond_500);
    call_and_wait(docker_start(docker, "c0ffee", on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_ENGINE_ERROR);
    CHECK_INT(o.status, 500);
    CHECK_STR(o.message, "driver failed programming: disk full");

    memset(&o, 0, sizeof(o));
    fake_set(respond_500_text);
    call_and_wait(docker_remove(docker, "c0ffee", on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_ENGINE_ERROR);
    CHECK_STR(o.message, "page on fire");
    CHECK_STR(fake_request(0).method, "DELETE");
    CHECK_STR(fake_request(0).path, "/v1.41/containers/c0ffee?force=true&v=true");
}

static void test_bad_answers(void)
{
    struct outcome o = {0};

    fake_set(respond_malformed);
    call_and_wait(docker_inspect(docker, "c0ffee", on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_BAD_RESPONSE);
    CHECK(strstr(o.message, "malformed JSON") != NULL);

    memset(&o, 0, sizeof(o));
    fake_set(respond_truncated);
    call_and_wait(docker_inspect(docker, "c0ffee", on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_BAD_RESPONSE);

    memset(&o, 0, sizeof(o));
    fake_set(respond_huge);
    docker_set_max_response(docker, 1024);
    call_and_wait(docker_list(docker, "org.omcp.pool", "p1", on_done, &o), &o);
    docker_set_max_response(docker, 0);
    CHECK_INT(o.error, BACKEND_TOO_LARGE);

    memset(&o, 0, sizeof(o));
    fake_set(respond_nothing);
    call_and_wait(docker_inspect(docker, "c0ffee", on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_ENGINE_UNREACHABLE);
}

static void test_inspect_and_list(void)
{
    struct outcome o = {0};
    struct fake_request req;

    fake_set(respond_inspect);
    call_and_wait(docker_inspect(docker, "c0ffee", on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_OK);
    CHECK_INT(o.n_containers, 1);
    CHECK_INT(o.first.pid, 4242);
    CHECK(o.first.running);
    CHECK_STR(o.first_state, "running");
    CHECK_STR(o.first_pool, "p1");

    memset(&o, 0, sizeof(o));
    fake_set(respond_list);
    call_and_wait(docker_list(docker, "org.omcp.pool", "p1", on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_OK);
    CHECK_INT(o.n_containers, 2);
    CHECK_STR(o.first_id, "aaa");
    CHECK(o.first.running);
    req = fake_request(0);
    CHECK(strstr(req.path, "all=true") != NULL);
    CHECK(strstr(req.path, "filters=%7B%22label%22%3A%5B%22org.omcp.pool%3Dp1%22%5D%7D") != NULL);
}

static void test_exec(void)
{
    static const char *const argv[] = {"kill", "-INT", "77", NULL};
    struct outcome o = {0};

    fake_set(respond_exec);
    call_and_wait(docker_exec(docker, "c0ffee", argv, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_OK);
    CHECK_INT(o.exit_code, 1);
    CHECK_STR(fake_request(0).path, "/v1.41/containers/c0ffee/exec");
    CHECK(strstr(fake_request(0).body, "[\"kill\",\"-INT\",\"77\"]") != NULL);
    CHECK_STR(fake_request(1).path, "/v1.41/exec/e1/start");
    CHECK_STR(fake_request(2).path, "/v1.41/exec/e1/json");
}

static void test_unreachable(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char host[200];
    const char *err = NULL;
    struct docker *dead;
    struct outcome o = {0};
    int fd;

    /* No socket at all. */
    snprintf(host, sizeof(host), "unix://%s/absent.sock", fake.dir);
    dead = docker_new(loop, host, &err);
    call_and_wait(docker_check_version(dead, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_ENGINE_UNREACHABLE);
    CHECK(strstr(o.message, "absent.sock") && strstr(o.message, "No such file"));
    docker_free(dead);

    /* A socket nobody listens on: connection refused. */
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/refusing.sock", fake.dir);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
    snprintf(host, sizeof(host), "unix://%s", sun.sun_path);
    dead = docker_new(loop, host, &err);
    memset(&o, 0, sizeof(o));
    call_and_wait(docker_check_version(dead, on_done, &o), &o);
    CHECK_INT(o.error, BACKEND_ENGINE_UNREACHABLE);
    CHECK(strstr(o.message, "refused") != NULL);
    docker_free(dead);
    close(fd);
    unlink(sun.sun_path);
}

static void test_timeout(void)
{
    struct outcome o = {0};
    double took;

    fake_set(respond_slowly);
    docker_set_timeout(docker, 200);
    CHECK(docker_inspect(docker, "c0ffee", on_done, &o) != NULL);
    took = run_until(&o.calls, 1, 10);
    docker_set_timeout(docker, 0);
    CHECK_INT(o.error, BACKEND_TIMEOUT);
    CHECK(took >= 0.15 && took < 1.0);
}

static void test_cancel(void)
{
    struct outcome o = {0}, other = {0};
    struct backend_call *slow;

    fake_set(respond_slowly);
    slow = docker_inspect(docker, "c0ffee", on_done, &o);
    CHECK(docker_inspect(docker, "c0ffee", on_done, &other) != NULL);
    CHECK_INT(docker_calls_in_flight(docker), 2);
    docker_cancel(docker, slow);
    CHECK_INT(docker_calls_in_flight(docker), 1);
    run_until(&other.calls, 1, 10);
    CHECK_INT(other.calls, 1);
    CHECK_INT(o.calls, 0);
    CHECK_INT(docker_calls_in_flight(docker), 0);
}

struct event_log {
    int events;
    int ended;
    char actions[8][16];
    int exit_codes[8];
    long long last_time;
    char pool[16];
    enum backend_error end_error;
    int cancel_after; /* cancel the stream from inside the callback after n events */
    struct backend_call *stream;
};

static void on_event(const struct backend_event *ev, void *arg)
{
    struct event_log *log = arg;

    if (log->events < 8) {
        snprintf(log->actions[log->events], sizeof(log->actions[0]), "%s", ev->action);
        log->exit_codes[log->events] = ev->exit_code;
    }
    if (ev->pool)
        snprintf(log->pool, sizeof(log->pool), "%s", ev->pool);
    log->last_time = ev->time_nano;
    log->events++;
    if (log->cancel_after && log->events == log->cancel_after) {
        docker_cancel(docker, log->stream);
        log->ended++; /* counts as the end for run_until */
    }
}

static void on_stream_end(const struct backend_result *res, void *arg)
{
    struct event_log *log = arg;

    log->ended++;
    log->end_error = res->error;
}

static void test_events_stream(void)
{
    struct event_log log = {0};
    struct fake_request req;

    fake_set(respond_events);
    CHECK(docker_events(docker, "org.omcp.pool", "p1", 1700000000123456789LL, on_event,
                        on_stream_end, &log) != NULL);
    run_until(&log.ended, 1, 10);
    CHECK_INT(log.ended, 1);
    CHECK_INT(log.end_error, BACKEND_OK);
    CHECK_INT(log.events, 3);
    CHECK_STR(log.actions[0], "start");
    CHECK_STR(log.actions[1], "die");
    CHECK_STR(log.actions[2], "destroy");
    CHECK_INT(log.exit_codes[0], -1);
    CHECK_INT(log.exit_codes[1], 137);
    CHECK_STR(log.pool, "p1");
    req = fake_request(0);
    CHECK(strstr(req.path, "/v1.41/events?filters=") == req.path);
    CHECK(strstr(req.path, "since=1700000000.123456789") != NULL);
}

static void test_events_malformed(void)
{
    struct event_log log = {0};
    double took;

    fake_set(respond_events_bad);
    CHECK(docker_events(docker, "org.omcp.pool", "p1", 0, on_event, on_stream_end, &log));
    took = run_until(&log.ended, 1, 10);
    CHECK_INT(log.events, 1);
    CHECK_INT(log.end_error, BACKEND_BAD_RESPONSE);
    CHECK(took < 1.5);
}

static void test_events_cancel_inside(void)
{
    struct event_log log = {.cancel_after = 3};

    fake_set(respond_events_forever);
    log.stream = docker_events(docker, "org.omcp.pool", "p1", 0, on_event, on_stream_end, &log);
    run_until(&log.ended, 1, 10);
    CHECK_INT(log.ended, 1);
    CHECK_INT(log.end_error, BACKEND_OK); /* set by nobody: ended ran no callback */
    CHECK_INT(docker_calls_in_flight(docker), 0);
    run_until(&log.ended, 2, 0.2); /* nothing more arrives */
    CHECK_INT(log.events, 3);
}

static void test_many_at_once(void)
{
    struct outcome o[24];
    int done = 0;

    memset(o, 0, sizeof(o));
    fake_set(respond_inspect);
    for (int i = 0; i < 24; i++)
        CHECK(docker_inspect(docker, "c0ffee", on_done, &o[i]) != NULL);
    for (int spins = 0; spins < 200 && done < 24; spins++) {
        int unused = 0;

        run_until(&unused, 1, 0.05);
        done = 0;
        for (int i = 0; i < 24; i++)
            done += o[i].calls == 1 && o[i].error == BACKEND_OK;
    }
    CHECK_INT(done, 24);
}

static void test_lines(void)
{
    struct docker_lines l;
    const char *line;
    size_t len;

    docker_lines_init(&l, 8);
    CHECK(docker_lines_feed(&l, "ab", 2));
    CHECK(!docker_lines_next(&l, &line, &len));
    CHECK(docker_lines_feed(&l, "c\r\n\nde", 6));
    CHECK(docker_lines_next(&l, &line, &len));
    CHECK_INT(len, 3);
    CHECK(memcmp(line, "abc", 3) == 0);
    CHECK(!docker_lines_next(&l, &line, &len));
    CHECK(docker_lines_feed(&l, "f\n", 2));
    CHECK(docker_lines_next(&l, &line, &len) && len == 3 && memcmp(line, "def", 3) == 0);
    CHECK(!docker_lines_feed(&l, "0123456789", 10)); /* unfinished and too long */
    docker_lines_free(&l);
}

int main(void)
{
    const char *err = NULL;

    signal(SIGPIPE, SIG_IGN);
    log_min_level = L_ERROR;
    loop = ev_default_loop(0);
    fake_start();
    docker = docker_new(loop, fake.host, &err);
    CHECK(docker != NULL);

    RUN(test_docker_host);
    RUN(test_lines);
    RUN(test_create_body);
    RUN(test_create_refusals);
    RUN(test_version_ok);
    RUN(test_version_too_old);
    RUN(test_create);
    RUN(test_limit_cpu);
    RUN(test_podman_answers);
    RUN(test_errors_from_engine);
    RUN(test_bad_answers);
    RUN(test_inspect_and_list);
    RUN(test_exec);
    RUN(test_unreachable);
    RUN(test_timeout);
    RUN(test_cancel);
    RUN(test_events_stream);
    RUN(test_events_malformed);
    RUN(test_events_cancel_inside);
    RUN(test_many_at_once);

    docker_free(docker);
    fake_stop();
    return check_report();
}
