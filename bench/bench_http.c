/* MCP over Streamable HTTP, end to end: the daemon with a warm pool on a
 * loopback port, clients that each hold one MCP session and run
 * create_session, one trivial execute_in_session and close_session in a
 * loop (1 and 16 at once), then 2,000 idle HTTP connections held open and
 * the daemon's resident memory. Clients are plain blocking sockets, one
 * thread each, so the figures include HTTP, JSON and the daemon's loop. */
#include "bench/samples.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDLE_CONNECTIONS 2000
#define MAX_CLIENTS      16

static struct {
    const char *daemon, *cdm_dir;
    unsigned uid;
    bool quick;
} opt;

static int port;
static pid_t daemon_pid;
static char work[] = "/var/tmp/omcp-bench-http-XXXXXX";

struct client {
    int fd;
    char session[64]; /* Mcp-Session-Id */
    int next_id;
    unsigned cycles;
    struct samples ping, create, exec, close, cycle;
    bool failed;
    char resp[1 << 16];
};

static int connect_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one Content-Length response into c->resp; returns the status or -1. */
static int read_response(struct client *c, const char **body)
{
    size_t have = 0;
    char *end = NULL, *cl;
    long len;

    for (;;) {
        ssize_t n = read(c->fd, c->resp + have, sizeof(c->resp) - 1 - have);

        if (n <= 0)
            return -1;
        have += (size_t)n;
        c->resp[have] = '\0';
        if (!end && (end = strstr(c->resp, "\r\n\r\n")))
            end += 4;
        if (!end)
            continue;
        cl = strcasestr(c->resp, "\r\nContent-Length:");
        len = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
        if ((size_t)(end - c->resp) + (size_t)len <= have)
            break;
        if (have >= sizeof(c->resp) - 1)
            return -1;
    }
    *body = end;
    return atoi(c->resp + 9);
}

static int request(struct client *c, const char *method, const char *path, const char *json,
                   const char **body)
{
    char head[512];
    int n =
        snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Accept: application/json, text/event-stream\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                 method, path, c->session[0] ? "Mcp-Session-Id: " : "", c->session,
                 c->session[0] ? "\r\n" : "", json ? strlen(json) : 0);

    if (!write_all(c->fd, head, (size_t)n) || (json && !write_all(c->fd, json, strlen(json))))
        return -1;
    return read_response(c, body);
}

static bool mcp_open(struct client *c)
{
    const char *body, *sid;
    int status;

    c->fd = connect_port();
    if (c->fd < 0)
        return false;
    status = request(c, "POST", "/mcp",
                     "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
                     "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                     "\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}",
                     &body);
    sid = strcasestr(c->resp, "Mcp-Session-Id: ");
    if (status != 200 || !sid)
        return false;
    sscanf(sid + 16, "%63[0-9a-f]", c->session);
    status = request(c, "POST", "/mcp",
                     "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &body);
    return status == 202;
}

/* One tools/call; its text result in c->resp. */
static bool tool(struct client *c, const char *name, const char *args)
{
    char json[512];
    const char *body;

    snprintf(json, sizeof(json),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s}}",
             ++c->next_id, name, args);
    return request(c, "POST", "/mcp", json, &body) == 200 && !strstr(body, "\"isError\":true");
}

/* A JSON-RPC ping: HTTP, JSON and the loop, no R. */
static bool ping(struct client *c)
{
    char json[96];
    const char *body;
    double t0 = samples_now_ms();

    snprintf(json, sizeof(json), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}",
             ++c->next_id);
    if (request(c, "POST", "/mcp", json, &body) != 200)
        return false;
    samples_add(&c->ping, samples_now_ms() - t0);
    return true;
}

static bool cycle(struct client *c)
{
    char args[256], id[40];
    const char *sid;
    double t0, t1, t2, t3;

    if (!ping(c))
        return false;
    t0 = samples_now_ms();

    if (!tool(c, "create_session", "{}") || !(sid = strstr(c->resp, "\"structuredContent\"")) ||
        !(sid = strstr(sid, "\"session_id\":\"")))
        return false;
    sscanf(sid + 14, "%32[0-9a-f]", id);
    t1 = samples_now_ms();
    snprintf(args, sizeof(args), "{\"session_id\":\"%s\",\"code\":\"1+1\"}", id);
    if (!tool(c, "execute_in_session", args))
        return false;
    t2 = samples_now_ms();
    snprintf(args, sizeof(args), "{\"session_id\":\"%s\"}", id);
    if (!tool(c, "close_session", args))
        return false;
    t3 = samples_now_ms();
    samples_add(&c->create, t1 - t0);
    samples_add(&c->exec, t2 - t1);
    samples_add(&c->close, t3 - t2);
    samples_add(&c->cycle, t3 - t0);
    return true;
}

static void *client_main(void *arg)
{
    struct client *c = arg;

    if (!mcp_open(c)) {
        c->failed = true;
        return NULL;
    }
    for (unsigned i = 0; i < c->cycles; i++) {
        if (!cycle(c)) {
            fprintf(stderr, "bench-http: call failed: %.300s\n", c->resp);
            c->failed = true;
            break;
        }
    }
    request(c, "DELETE", "/mcp", NULL, &(const char *){NULL});
    close(c->fd);
    return NULL;
}

static void merge(struct samples *into, struct samples *from)
{
    for (size_t i = 0; i < from->n; i++)
        samples_add(into, from->ms[i]);
    samples_clear(from);
}

static int get_status(const char *path, char *out, size_t n)
{
    struct client *c = calloc(1, sizeof(*c));
    const char *body = NULL;
    int status;

    c->fd = connect_port();
    status = c->fd < 0 ? -1 : request(c, "GET", path, NULL, &body);
    if (out && body)
        snprintf(out, n, "%s", body);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return status;
}

static bool wait_ready(double seconds)
{
    for (double waited = 0; waited < seconds; waited += 0.2) {
        if (get_status("/readyz", NULL, 0) == 200)
            return true;
        usleep(200000);
    }
    return false;
}

static bool run_clients(unsigned n, unsigned cycles)
{
    static struct client clients[MAX_CLIENTS];
    struct samples pings = {0}, create = {0}, exec = {0}, closing = {0}, whole = {0};
    pthread_t threads[MAX_CLIENTS];
    char name[64];
    double began, secs;
    bool ok = true;

    memset(clients, 0, sizeof(clients));
    began = samples_now_ms();
    for (unsigned i = 0; i < n; i++) {
        clients[i].cycles = cycles;
        pthread_create(&threads[i], NULL, client_main, &clients[i]);
    }
    for (unsigned i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        ok &= !clients[i].failed;
        merge(&pings, &clients[i].ping);
        merge(&create, &clients[i].create);
        merge(&exec, &clients[i].exec);
        merge(&closing, &clients[i].close);
        merge(&whole, &clients[i].cycle);
    }
    secs = (samples_now_ms() - began) / 1e3;
    snprintf(name, sizeof(name), "http ping c=%u", n);
    samples_report(name, &pings, "ms");
    snprintf(name, sizeof(name), "http create_session c=%u", n);
    samples_report(name, &create, "ms");
    snprintf(name, sizeof(name), "http execute_in_session 1+1 c=%u", n);
    samples_report(name, &exec, "ms");
    snprintf(name, sizeof(name), "http close_session c=%u", n);
    samples_report(name, &closing, "ms");
    snprintf(name, sizeof(name), "http create+execute+close c=%u", n);
    samples_report(name, &whole, "ms");
    snprintf(name, sizeof(name), "http sessions per second c=%u", n);
    samples_value(name, "1/s", (double)whole.n / secs, true);
    samples_clear(&pings);
    samples_clear(&create);
    samples_clear(&exec);
    samples_clear(&closing);
    samples_clear(&whole);
    return ok;
}

/* Pings alone on a quiet daemon: the cost of the HTTP transport itself. */
static bool ping_only(unsigned count)
{
    static struct client c;
    bool ok;

    memset(&c, 0, sizeof(c));
    ok = mcp_open(&c);
    for (unsigned i = 0; ok && i < count; i++)
        ok = ping(&c);
    samples_report("http ping, pool quiet c=1", &c.ping, "ms");
    samples_clear(&c.ping);
    close(c.fd);
    return ok;
}

static double rss_mb(pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    double kb = 0;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb / 1024;
}

static bool idle_connections(void)
{
    static int fds[IDLE_CONNECTIONS];
    struct rlimit rl;
    char metrics[1 << 15], *gauge;
    double before = rss_mb(daemon_pid);
    int held = 0;
    long seen = -1;

    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    for (int i = 0; i < IDLE_CONNECTIONS; i++)
        if ((fds[i] = connect_port()) >= 0)
            held++;
    sleep(1);
    if (get_status("/metrics", metrics, sizeof(metrics)) == 200 &&
        (gauge = strstr(metrics, "\nomcp_http_connections ")))
        seen = strtol(gauge + 23, NULL, 10) - 1; /* less the /metrics request itself */
    samples_value("http idle connections held", "conns", (double)seen, true);
    samples_value("daemon RSS before idle connections", "MB", before, false);
    samples_value("daemon RSS with 2000 idle connections", "MB", rss_mb(daemon_pid), false);
    for (int i = 0; i < IDLE_CONNECTIONS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return held == IDLE_CONNECTIONS && seen >= IDLE_CONNECTIONS;
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), p;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    p = ntohs(a.sin_port);
    close(fd);
    return p;
}

static void start_daemon(unsigned warm)
{
    char listen[32], state[128], idle[16], max[16], uid[16], log[160];

    port = free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(state, sizeof(state), "%s/state", work);
    snprintf(idle, sizeof(idle), "%u", warm);
    snprintf(max, sizeof(max), "%u", warm + 4);
    snprintf(uid, sizeof(uid), "%u", opt.uid);
    snprintf(log, sizeof(log), "%s/daemon.log", work);
    daemon_pid = fork();
    if (daemon_pid == 0) {
        setenv("STATE_DIR", state, 1);
        if (opt.cdm_dir)
            setenv("CDM_DIR", opt.cdm_dir, 1);
        setenv("SANDBOX_UID", uid, 1);
        setenv("POOL_MIN_IDLE", idle, 1);
        setenv("MAX_SANDBOXES", max, 1);
        setenv("POOL_RECYCLE", "process", 1);
        setenv("QAP_LISTEN", "", 1);
        setenv("HTTP_RATE_LIMIT", "0", 1);
        setenv("HTTP_MAX_SESSIONS_PER_IDENTITY", "0", 1);
        setenv("LOG_LEVEL", getenv("BENCH_LOG_LEVEL") ? getenv("BENCH_LOG_LEVEL") : "warn", 1);
        if (!freopen(log, "w", stderr))
            _exit(127);
        execl(opt.daemon, opt.daemon, "--http", listen, (char *)NULL);
        _exit(127);
    }
}

static int stop_daemon(void)
{
    int status = 0;

    kill(daemon_pid, SIGTERM);
    waitpid(daemon_pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void parse_args(int argc, char **argv)
{
    static const struct option options[] = {
        {"daemon", required_argument, NULL, 'd'},
        {"uid", required_argument, NULL, 'u'},
        {"cdm-dir", required_argument, NULL, 'c'},
        {"quick", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'd')
            opt.daemon = optarg;
        else if (c == 'u')
            opt.uid = (unsigned)strtoul(optarg, NULL, 10);
        else if (c == 'c')
            opt.cdm_dir = optarg;
        else if (c == 'q')
            opt.quick = true;
    }
    if (!opt.daemon || !opt.uid) {
        fprintf(stderr, "usage: omcp-bench-http [--quick] --daemon OMCP-RPROXY --uid UID "
                        "[--cdm-dir DIR]\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    char cmd[256];
    bool ok;
    int status;

    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(work))
        return 1;
    start_daemon(MAX_CLIENTS + 4);
    ok = wait_ready(300);
    if (!ok)
        fprintf(stderr, "bench-http: the pool did not get ready; see %s/daemon.log\n", work);
    ok = ok && ping_only(opt.quick ? 200 : 2000);
    ok = ok && run_clients(1, opt.quick ? 50 : 200);
    ok = ok && wait_ready(120) && run_clients(MAX_CLIENTS, opt.quick ? 10 : 50);
    ok = ok && idle_connections();
    status = stop_daemon();
    printf("daemon exit status %d\n", status);
    if (ok && status == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf --one-file-system %s", work);
        if (system(cmd) != 0)
            fprintf(stderr, "bench-http: %s not removed\n", work);
    }
    return ok && status == 0 ? 0 : 1;
}
