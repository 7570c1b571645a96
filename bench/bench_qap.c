/* The QAP1 front end against Rserve itself, in one run: a small eval at one
 * client straight to a slot's Rserve socket and through the proxy (unix and
 * TCP), with bare socket round trips for scale; 16 concurrent clients with
 * tiny and with ~1 ms evaluations; a 128 MB result and what it does to the
 * daemon's memory; 10,000 idle clients on a small pool and the daemon's RSS.
 *
 * Usage: omcp-bench-qap [--quick] [--daemon OMCP-RPROXY] [--uid UID] [--work DIR]
 *                       [--image IMAGE]
 * Runs the daemon twice (a pool of 16 slots, then one of 2), as root. Unset
 * options come from OMCP_BENCH_UID, OMCP_BENCH_IMAGE and OMCP_BENCH_WORK (as
 * bench/run.py sets them), the uid of the account omcp-sandbox, and the
 * daemon built next to this program (../proxy/omcp-rproxy). */
#include "bench/samples.h"
#include "rserve/qap.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <netinet/in.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct bench_opts {
    const char *daemon;
    const char *uid;
    const char *image;
    const char *work;
    bool quick;
};

static struct bench_opts opts = {.image = "omcp-r-sandbox:latest", .work = "/var/tmp"};
static char state_dir[600], log_path[600], sock_path[600];
static int tcp_port;
static pid_t daemon_pid;

/* Stops the daemon the way an operator would, so it removes its containers
 * and workspaces; SIGKILL only when it does not stop within a minute. */
static void daemon_stop(void)
{
    for (int i = 0; daemon_pid > 0 && i < 600; i++) {
        if (i == 0)
            kill(daemon_pid, SIGTERM);
        if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid)
            daemon_pid = 0;
        else
            usleep(100000);
    }
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
    }
    daemon_pid = 0;
}

static void die(const char *what)
{
    fprintf(stderr, "omcp-bench-qap: %s: %s\n", what, strerror(errno));
    daemon_stop();
    exit(1);
}

/* ---- a blocking QAP1 client ---- */

struct qclient {
    int fd;
    uint8_t *buf; /* the last response's payload */
    size_t cap;
};

static bool io_all(int fd, void *p, size_t n, bool out)
{
    for (size_t off = 0; off < n;) {
        ssize_t k = out ? send(fd, (char *)p + off, n - off, MSG_NOSIGNAL)
                        : recv(fd, (char *)p + off, n - off, 0);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        off += (size_t)k;
    }
    return true;
}

static int connect_to(const char *unix_path, int port)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(unix_path ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (unix_path) {
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", unix_path);
        if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0)
            return fd;
    } else {
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, (struct sockaddr *)&in, sizeof(in)) == 0)
            return fd;
    }
    close(fd);
    return -1;
}

static bool qclient_open(struct qclient *c, const char *unix_path, int port)
{
    uint8_t id[QAP_ID_SIZE];

    c->buf = NULL;
    c->cap = 0;
    c->fd = connect_to(unix_path, port);
    return c->fd >= 0 && io_all(c->fd, id, sizeof(id), false) && memcmp(id, "Rsrv", 4) == 0;
}

static void qclient_close(struct qclient *c)
{
    close(c->fd);
    free(c->buf);
}

/* CMD_eval (or voidEval) of R source; returns the response's status word,
 * or -1 when the connection failed. */
static long qclient_eval(struct qclient *c, const char *src, bool void_eval)
{
    uint8_t frame[QAP_HDR_SIZE + 4 + 1024];
    size_t n = strlen(src) + 1, padded = (n + 3) & ~(size_t)3;
    struct qap_hdr h;

    memset(frame, 0, sizeof(frame));
    qap_hdr_write(frame, void_eval ? QAP_CMD_VOID_EVAL : QAP_CMD_EVAL, 4 + padded, 0);
    qap_item_hdr_write(frame + QAP_HDR_SIZE, QAP_DT_STRING, QAP_DT_LARGE, padded);
    memcpy(frame + QAP_HDR_SIZE + 4, src, n);
    if (!io_all(c->fd, frame, QAP_HDR_SIZE + 4 + padded, true) ||
        !io_all(c->fd, frame, QAP_HDR_SIZE, false))
        return -1;
    qap_hdr_parse(frame, &h);
    if (h.len > c->cap) {
        free(c->buf);
        c->cap = (size_t)h.len;
        if (!(c->buf = malloc(c->cap)))
            die("malloc");
    }
    if (!io_all(c->fd, c->buf, (size_t)h.len, false))
        return -1;
    return (long)(h.cmd & 0xffffff) == QAP_RESP_OK ? 0 : (long)h.cmd;
}

/* ---- the daemon ---- */

static int free_port(void)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    socklen_t len = sizeof(in);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&in, sizeof(in)) < 0 ||
        getsockname(fd, (struct sockaddr *)&in, &len) < 0)
        die("bind");
    port = ntohs(in.sin_port);
    close(fd);
    return port;
}

static unsigned count_in_log(const char *needle)
{
    char line[4096];
    unsigned n = 0;
    FILE *f = fopen(log_path, "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void daemon_exec(unsigned slots, const char *memory)
{
    char listen_tcp[64], listen_unix[640], n[16];
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    snprintf(n, sizeof(n), "%u", slots);
    setenv("STATE_DIR", state_dir, 1);
    setenv("SANDBOX_UID", opts.uid, 1);
    setenv("DOCKER_IMAGE", opts.image, 1);
    setenv("POOL_MIN_IDLE", n, 1);
    setenv("MAX_SANDBOXES", n, 1);
    setenv("SANDBOX_MEMORY", memory, 1);
    setenv("POOL_RECYCLE", "process", 1); /* released slots stay, with their sockets */
    setenv("CDM_DEFAULT", "", 1);
    setenv("HTTP_LISTEN", "", 1);
    setenv("QAP_MAX_CLIENTS", "19000", 1);
    setenv("POOL_ACQUIRE_TIMEOUT", "300", 1);
    setenv("LOG_LEVEL", "info", 1);
    snprintf(listen_tcp, sizeof(listen_tcp), "127.0.0.1:%d", tcp_port);
    snprintf(listen_unix, sizeof(listen_unix), "unix:%s", sock_path);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(opts.daemon, opts.daemon, "--qap", listen_tcp, "--qap", listen_unix, (char *)NULL);
    _exit(127);
}

static void daemon_start(unsigned slots, const char *memory)
{
    double t0 = samples_now_ms();

    tcp_port = free_port();
    unlink(log_path); /* counted from the start of this run */
    if ((daemon_pid = fork()) < 0)
        die("fork");
    if (daemon_pid == 0)
        daemon_exec(slots, memory);
    while (count_in_log("msg=\"warm\"") < slots) {
        if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid || samples_now_ms() - t0 > 900e3) {
            errno = ETIMEDOUT;
            die("the daemon did not get its pool warm (see its log)");
        }
        usleep(200000);
    }
    printf("daemon pid=%d slots=%u warm_after_s=%.1f\n", (int)daemon_pid, slots,
           (samples_now_ms() - t0) / 1e3);
}

/* Released slots are recycled (their processes killed, a fresh session
 * warmed); direct connections made before that ends would be killed too. */
static void settle(void)
{
    for (int i = 0; i < 600; i++) {
        usleep(100000);
        if (count_in_log("new=recycling") == count_in_log("old=recycling"))
            return;
    }
}

/* VmRSS or VmHWM of the daemon, in MB. */
static double daemon_mem_mb(const char *field)
{
    char path[64], line[256];
    double kb = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, strlen(field)) == 0)
            kb = atof(line + strlen(field) + 1);
    fclose(f);
    return kb / 1024.0;
}

/* The Rserve sockets of the slots: a connection there is a fresh fork of
 * the slot's Rserve, the baseline without the proxy. */
static size_t slot_sockets(glob_t *g)
{
    char pattern[700];

    snprintf(pattern, sizeof(pattern), "%s/run/*/rserve.sock", state_dir);
    if (glob(pattern, 0, NULL, g) != 0 || g->gl_pathc == 0)
        die("no slot sockets");
    return g->gl_pathc;
}

/* ---- bare round trips ---- */

static void *echo_thread(void *arg)
{
    int fd = *(int *)arg;
    uint8_t b[32];

    while (io_all(fd, b, 32, false) && io_all(fd, b, 32, true))
        ;
    return NULL;
}

static void bare_round_trips(struct samples *s, int a, int b, unsigned n)
{
    pthread_t t;
    uint8_t m[32] = {0};

    pthread_create(&t, NULL, echo_thread, &b);
    for (unsigned i = 0; i < n + 200; i++) {
        double t0 = samples_now_ms();

        if (!io_all(a, m, 32, true) || !io_all(a, m, 32, false))
            die("echo");
        if (i >= 200)
            samples_add(s, samples_now_ms() - t0);
    }
    shutdown(a, SHUT_RDWR);
    pthread_join(t, NULL);
    close(a);
    close(b);
}

static void bare_unix(struct samples *s, unsigned n)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    bare_round_trips(s, sv[0], sv[1], n);
}

static void bare_tcp(struct samples *s, unsigned n)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    socklen_t len = sizeof(in);
    int one = 1, l = socket(AF_INET, SOCK_STREAM, 0), a, b;

    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&in, sizeof(in)) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&in, &len) < 0)
        die("listen");
    a = connect_to(NULL, ntohs(in.sin_port));
    b = accept(l, NULL, NULL);
    setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    close(l);
    bare_round_trips(s, a, b, n);
}

/* ---- one client ---- */

static void timed_evals(struct qclient *c, struct samples *s, const char *src, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        double t0 = samples_now_ms();

        if (qclient_eval(c, src, false) != 0)
            die("eval failed");
        samples_add(s, samples_now_ms() - t0);
    }
}

static void ratio_line(const char *name, double direct, double proxy, const char *target)
{
    printf("%-44s direct=%.4g proxy=%.4g ratio=%.3f target %s\n", name, direct, proxy,
           direct > 0 ? proxy / direct : 0, target);
}

/* Direct and proxy in alternating blocks, so drift of a busy machine hits
 * both alike. */
static void bench_one_client(const char *slot_sock, unsigned n)
{
    struct samples direct = {0}, via_unix = {0}, via_tcp = {0}, bu = {0}, bt = {0};
    struct qclient d, pu, pt;
    unsigned block = n / 10;

    if (!qclient_open(&d, slot_sock, 0) || !qclient_open(&pu, sock_path, 0) ||
        !qclient_open(&pt, NULL, tcp_port))
        die("connect");
    for (int i = 0; i < 300; i++) /* a fresh fork's first evaluations are slower */
        if (qclient_eval(&d, "1", false) || qclient_eval(&pu, "1", false) ||
            qclient_eval(&pt, "1", false))
            die("warm-up eval");
    for (int b = 0; b < 10; b++) {
        timed_evals(&d, &direct, "1", block);
        timed_evals(&pu, &via_unix, "1", block);
        timed_evals(&pt, &via_tcp, "1", block);
    }
    bare_unix(&bu, n);
    bare_tcp(&bt, n);
    samples_report("eval 1, direct to the slot's socket", &direct, "us");
    samples_report("eval 1, proxy over unix", &via_unix, "us");
    samples_report("eval 1, proxy over TCP", &via_tcp, "us");
    samples_report("bare unix socket round trip", &bu, "us");
    samples_report("bare TCP loopback round trip", &bt, "us");
    {
        double dp = samples_quantile(&direct, 0.5), up = samples_quantile(&via_unix, 0.5);
        double tp = samples_quantile(&via_tcp, 0.5), bup = samples_quantile(&bu, 0.5);
        double btp = samples_quantile(&bt, 0.5);

        printf("added p50 over unix: %.1f us = %.2f x a bare unix round trip (target <= 1.5)\n",
               (up - dp) * 1e3, (up - dp) / bup);
        printf("added p50 over TCP:  %.1f us = %.2f x a bare TCP round trip (direct is unix)\n",
               (tp - dp) * 1e3, (tp - dp) / btp);
    }
    qclient_close(&d);
    qclient_close(&pu);
    qclient_close(&pt);
    samples_clear(&direct);
    samples_clear(&via_unix);
    samples_clear(&via_tcp);
    samples_clear(&bu);
    samples_clear(&bt);
}

/* ---- concurrent clients ---- */

struct worker {
    pthread_t thread;
    const char *path; /* unix socket, or NULL for the proxy's TCP listener */
    const char *src;
    double until_ms;
    unsigned long evals;
    struct samples lat;
    bool failed;
    pthread_barrier_t *start;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct qclient c;

    if (!qclient_open(&c, w->path, 0) || qclient_eval(&c, "1", false) != 0) {
        fprintf(stderr, "omcp-bench-qap: client of %s: %s\n", w->path, strerror(errno));
        w->failed = true;
        pthread_barrier_wait(w->start);
        return NULL;
    }
    for (int i = 0; i < 50; i++)
        qclient_eval(&c, w->src, false);
    pthread_barrier_wait(w->start);
    w->until_ms = samples_now_ms() + w->until_ms;
    while (samples_now_ms() < w->until_ms) {
        double t0 = samples_now_ms();

        if (qclient_eval(&c, w->src, false) != 0) {
            fprintf(stderr, "omcp-bench-qap: eval on %s failed\n", w->path);
            w->failed = true;
            break;
        }
        samples_add(&w->lat, samples_now_ms() - t0);
        w->evals++;
    }
    qclient_close(&c);
    return NULL;
}

/* Evaluations per second of n clients for seconds; paths[i % npaths]. */
static double run_clients(unsigned n, char **paths, size_t npaths, const char *src, double seconds,
                          struct samples *lat)
{
    struct worker *w = calloc(n, sizeof(*w));
    pthread_barrier_t start;
    unsigned long total = 0;

    pthread_barrier_init(&start, NULL, n);
    for (unsigned i = 0; i < n; i++) {
        w[i] = (struct worker){
            .path = paths[i % npaths], .src = src, .until_ms = seconds * 1e3, .start = &start};
        pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
    }
    for (unsigned i = 0; i < n; i++) {
        pthread_join(w[i].thread, NULL);
        if (w[i].failed)
            die("a concurrent client failed");
        total += w[i].evals;
        for (size_t k = 0; k < w[i].lat.n; k++)
            samples_add(lat, w[i].lat.ms[k]);
        samples_clear(&w[i].lat);
    }
    pthread_barrier_destroy(&start);
    free(w);
    return (double)total / seconds;
}

static void bench_concurrent(glob_t *g, unsigned n, const char *name, const char *src,
                             double seconds, const char *target)
{
    struct samples ld = {0}, lp = {0};
    char *proxy[1] = {sock_path};
    char label[160];
    double direct = run_clients(n, g->gl_pathv, g->gl_pathc, src, seconds, &ld);
    double via = run_clients(n, proxy, 1, src, seconds, &lp);

    snprintf(label, sizeof(label), "%s, %u clients, direct", name, n);
    samples_report(label, &ld, "ms");
    snprintf(label, sizeof(label), "%s, %u clients, proxy", name, n);
    samples_report(label, &lp, "ms");
    snprintf(label, sizeof(label), "%s, %u clients, evals/s", name, n);
    ratio_line(label, direct, via, target);
    samples_clear(&ld);
    samples_clear(&lp);
}

/* ---- a large result ---- */

static double fetch_mb_s(const char *path, int rounds, double *rss_peak)
{
    struct qclient c;
    struct samples s = {0};
    double best;

    if (!qclient_open(&c, path, 0) ||
        qclient_eval(&c, "x <- as.raw(rep_len(0:255, 128 * 2^20)); NULL", true) != 0)
        die("large value");
    for (int i = 0; i < rounds; i++) {
        double t0 = samples_now_ms();

        if (qclient_eval(&c, "x", false) != 0)
            die("large eval");
        samples_add(&s, samples_now_ms() - t0);
        if (rss_peak && daemon_mem_mb("VmRSS:") > *rss_peak)
            *rss_peak = daemon_mem_mb("VmRSS:");
    }
    best = samples_quantile(&s, 0.5);
    qclient_close(&c);
    samples_clear(&s);
    return 128.0 / (best / 1e3);
}

static void bench_large(const char *slot_sock, int rounds)
{
    double rss0 = daemon_mem_mb("VmRSS:"), peak = rss0;
    double direct = fetch_mb_s(slot_sock, rounds, NULL);
    double via = fetch_mb_s(sock_path, rounds, &peak);

    ratio_line("128 MB result, MB/s (p50 of rounds)", direct, via, ">= 0.90");
    printf("daemon RSS around the 128 MB results: before=%.1f MB after=%.1f MB peak_seen=%.1f MB "
           "hwm=%.1f MB\n",
           rss0, daemon_mem_mb("VmRSS:"), peak, daemon_mem_mb("VmHWM:"));
}

/* ---- idle clients ---- */

static void bench_idle(unsigned n)
{
    int *fds = malloc(sizeof(int) * n);
    double rss0 = daemon_mem_mb("VmRSS:"), t0 = samples_now_ms();
    unsigned open = 0;
    struct qclient c;

    for (; open < n; open++) {
        uint8_t id[QAP_ID_SIZE];

        if ((fds[open] = connect_to(NULL, tcp_port)) < 0 ||
            !io_all(fds[open], id, sizeof(id), false))
            break;
    }
    sleep(2);
    printf("idle clients: %u of %u greeted in %.1f s; daemon RSS %.1f MB -> %.1f MB "
           "(%.2f KB per client; target < 64 MB)\n",
           open, n, (samples_now_ms() - t0) / 1e3, rss0, daemon_mem_mb("VmRSS:"),
           (daemon_mem_mb("VmRSS:") - rss0) * 1024 / (open ? open : 1));
    for (unsigned i = 0; i < open; i++)
        close(fds[i]);
    free(fds);
    sleep(1);
    if (!qclient_open(&c, sock_path, 0))
        die("a client after the idle ones");
    printf("a client after the idle ones left: eval status=%ld\n", qclient_eval(&c, "1", false));
    qclient_close(&c);
}

static void usage(void)
{
    fprintf(stderr, "usage: omcp-bench-qap [--quick] [--daemon OMCP-RPROXY] [--uid UID] "
                    "[--work DIR] [--image IMAGE]\n");
    exit(2);
}

static void options_from_environment(const char *argv0)
{
    static char uid[16], daemon[PATH_MAX + 32];
    const struct passwd *pw;
    char self[PATH_MAX], *slash;
    ssize_t n;

    if (!opts.uid && (opts.uid = getenv("OMCP_BENCH_UID")) == NULL &&
        (pw = getpwnam("omcp-sandbox")) != NULL) {
        snprintf(uid, sizeof(uid), "%u", (unsigned)pw->pw_uid);
        opts.uid = uid;
    }
    if (getenv("OMCP_BENCH_IMAGE"))
        opts.image = getenv("OMCP_BENCH_IMAGE");
    if (getenv("OMCP_BENCH_WORK")) {
        opts.work = getenv("OMCP_BENCH_WORK");
        mkdir(opts.work, 0755); /* may exist already */
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (!opts.daemon && n > 0) {
        self[n] = '\0';
        if ((slash = strrchr(self, '/')) != NULL) {
            *slash = '\0';
            snprintf(daemon, sizeof(daemon), "%s/../proxy/omcp-rproxy", self);
            if (access(daemon, X_OK) == 0)
                opts.daemon = daemon;
        }
    }
    (void)argv0;
}

static void parse_args(int argc, char **argv)
{
    static const struct option o[] = {
        {"daemon", required_argument, NULL, 'd'}, {"uid", required_argument, NULL, 'u'},
        {"image", required_argument, NULL, 'i'},  {"work", required_argument, NULL, 'w'},
        {"quick", no_argument, NULL, 'q'},        {NULL, 0, NULL, 0}};
    int ch;

    while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
        if (ch == 'd')
            opts.daemon = optarg;
        else if (ch == 'u')
            opts.uid = optarg;
        else if (ch == 'i')
            opts.image = optarg;
        else if (ch == 'w')
            opts.work = optarg;
        else if (ch == 'q')
            opts.quick = true;
        else
            usage();
    }
    options_from_environment(argv[0]);
    if (!opts.daemon || !opts.uid)
        usage();
}

int main(int argc, char **argv)
{
    unsigned clients, idle;
    glob_t g;
    char dir[480];

    parse_args(argc, argv);
    clients = opts.quick ? 4 : 16;
    idle = opts.quick ? 2000 : 10000;
    snprintf(dir, sizeof(dir), "%s/omcp-bench-qap-XXXXXX", opts.work);
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(state_dir, sizeof(state_dir), "%s/state-busy", dir);
    snprintf(log_path, sizeof(log_path), "%s/daemon.log", dir);
    snprintf(sock_path, sizeof(sock_path), "%s/qap.sock", dir);
    signal(SIGPIPE, SIG_IGN);
    printf("omcp-bench-qap: work=%s (daemon log: %s)\n", dir, log_path);

    daemon_start(clients, "1g");
    slot_sockets(&g);
    bench_one_client(g.gl_pathv[0], opts.quick ? 2000 : 10000);
    settle();
    bench_concurrent(&g, clients, "eval 1", "1", opts.quick ? 3 : 10, ">= 0.80");
    settle();
    bench_concurrent(&g, clients, "eval ~1 ms of R", "{s <- 0; for (i in 1:25000) s <- s + i; s}",
                     opts.quick ? 3 : 10, ">= 0.95");
    settle();
    bench_large(g.gl_pathv[0], opts.quick ? 2 : 5);
    globfree(&g);
    daemon_stop();

    snprintf(state_dir, sizeof(state_dir), "%s/state-idle", dir);
    daemon_start(2, "512m");
    bench_idle(idle);
    daemon_stop();
    printf("omcp-bench-qap: done; remove %s when its log is no longer needed\n", dir);
    return 0;
}
