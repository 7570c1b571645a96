/* omcp-rproxy: command line, start-up and the event loop. */
#include "mcp/backend.h"
#include "mcp/http.h"
#include "mcp/pool_backend.h"
#include "mcp/stdio.h"
#include "mcp/tools.h"
#include "pool/docker.h"
#include "pool/pool.h"
#include "pool/slotdir.h"
#include "proxy/buf.h"
#include "proxy/config.h"
#include "proxy/log.h"
#include "proxy/mem.h"
#include "proxy/qapf.h"

#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef OMCP_VERSION
#define OMCP_VERSION "0.0.0"
#endif

struct daemon {
    struct ev_loop *loop;
    struct config cfg;
    ev_signal sigint_watcher;
    ev_signal sigterm_watcher;
    ev_signal sighup_watcher;
    struct mcp_limits mcp_limits;
    struct mcp_stdio *stdio;      /* the MCP client on stdin/stdout, with STDIO=true */
    struct docker *docker;        /* the container engine's client */
    struct pool *pool;            /* the warm pool, once the engine client exists */
    struct mcp_backend *sessions; /* MCP sessions on the pool */
    struct mcp_http *http;        /* MCP over Streamable HTTP, when HTTP_LISTEN is set */
    bool http_drained;            /* the HTTP listener let its calls finish before the stop */
    struct qapf *qap;             /* QAP1 listeners and their clients */
    const char *stop_reason;
    bool stopping; /* the pool is removing its containers */
    int signals;   /* SIGINT and SIGTERM received; the second stops at once */
};

/* How long a stop waits for the pool to remove its containers. */
#define DAEMON_STOP_TIMEOUT 30.0

/* Descriptors kept for the daemon's own work, out of reach of clients. The
 * base covers what is always open or open for a moment: stdio, the log, the
 * event loop, inotify, listeners, the engine's event stream and ping, a
 * state write, a file tool's files, idle splice pipes. One workspace release
 * at a time walks up to SLOTDIR_MAX_DEPTH directories deep with one
 * descriptor per level. A slot in use holds at most its R connection, two
 * engine calls and two splice pipes (four descriptors); one being created
 * holds mkfs's stderr pipe and, for a moment, the image, the loop control
 * and the loop device. */
#define DAEMON_FD_BASE     64
#define DAEMON_FD_PER_SLOT 8

/* A setting given on the command line, applied after the file and the environment. */
struct cli_setting {
    char *key;
    char *value;
};

struct cli {
    const char *config_path;
    bool check_config;
    struct cli_setting *sets;
    int nsets;
    struct buf qap; /* --qap values joined with commas */
};

static void usage(FILE *out)
{
    fputs("usage: omcp-rproxy [--config FILE] [--http HOST:PORT] [--qap HOST:PORT]...\n"
          "                   [--qap unix:PATH]... [--stdio] [--set KEY=VALUE]...\n"
          "                   [--check-config] [--version] [--help]\n\n"
          "A warm pool of hardened Rserve containers, served over MCP and QAP1.\n\n"
          "  --config FILE     read settings from an INI file (KEY = VALUE lines)\n"
          "  --http HOST:PORT  MCP Streamable HTTP listener (sets HTTP_LISTEN; \"\" turns it "
          "off)\n"
          "  --qap ADDR        QAP1 listener, repeatable (sets QAP_LISTEN)\n"
          "  --stdio           serve one MCP client on stdin/stdout (sets STDIO)\n"
          "  --set KEY=VALUE   any setting below\n"
          "  --check-config    print the effective configuration and exit; non-zero if invalid\n\n"
          "Settings, lowest precedence first: defaults, --config file, environment, command "
          "line.\n\n",
          out);
    config_print_help(out);
}

static void cli_add(struct cli *cli, const char *key, const char *value)
{
    cli->sets = xrealloc(cli->sets, sizeof(*cli->sets) * (size_t)(cli->nsets + 1));
    cli->sets[cli->nsets].key = xstrdup(key);
    cli->sets[cli->nsets].value = xstrdup(value);
    cli->nsets++;
}

static void cli_free(struct cli *cli)
{
    for (int i = 0; i < cli->nsets; i++) {
        free(cli->sets[i].key);
        free(cli->sets[i].value);
    }
    free(cli->sets);
    buf_free(&cli->qap);
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"http", required_argument, NULL, 'H'},
        {"qap", required_argument, NULL, 'q'},
        {"stdio", no_argument, NULL, 's'},
        {"set", required_argument, NULL, 'S'},
        {"check-config", no_argument, NULL, 'C'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *eq;
    int c;

    while ((c = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            cli->config_path = optarg;
            break;
        case 'H':
            cli_add(cli, "HTTP_LISTEN", optarg);
            break;
        case 'q':
            if (cli->qap.len)
                buf_putc(&cli->qap, ',');
            buf_puts(&cli->qap, optarg);
            break;
        case 's':
            cli_add(cli, "STDIO", "true");
            break;
        case 'S':
            eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "omcp-rproxy: --set wants KEY=VALUE, got '%s'\n", optarg);
                return 2;
            }
            *eq = '\0';
            cli_add(cli, optarg, eq + 1);
            break;
        case 'C':
            cli->check_config = true;
            break;
        case 'V':
            printf("omcp-rproxy %s\n", OMCP_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "omcp-rproxy: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (cli->qap.len)
        cli_add(cli, "QAP_LISTEN", cli->qap.data);
    return -1;
}

static bool load_config(struct config *cfg, const struct cli *cli, struct config_errors *errs)
{
    config_init(cfg);
    if (cli->config_path)
        config_load_file(cfg, cli->config_path, errs);
    config_load_env(cfg, errs);
    for (int i = 0; i < cli->nsets; i++)
        config_set(cfg, cli->sets[i].key, cli->sets[i].value, SRC_CLI, errs);
    config_finish(cfg, errs);
    return errs->count == 0;
}

static void on_pool_stopped(struct pool *p, void *arg)
{
    struct daemon *d = arg;

    ev_break(d->loop, EVBREAK_ALL);
}

/* Sessions end first, while their slots still exist; then the pool removes
 * every container and the loop ends. */
static void daemon_stop(struct daemon *d, const char *reason);

static void on_http_drained(struct mcp_http *h, void *arg)
{
    struct daemon *d = arg;

    d->http_drained = true;
    daemon_stop(d, d->stop_reason);
}

static void daemon_stop(struct daemon *d, const char *reason)
{
    d->stopping = true;
    d->stop_reason = reason;
    qapf_stop_listening(d->qap); /* QAP1 clients of now are closed below */
    if (d->http && !d->http_drained) {
        /* HTTP calls in flight finish first (up to HTTP_DRAIN_TIMEOUT). */
        mcp_http_drain(d->http, d->cfg.http_drain_timeout, on_http_drained, d);
        return;
    }
    mcp_pool_backend_close_all(d->sessions, reason);
    qapf_close(d->qap, reason);
    pool_stop(d->pool, DAEMON_STOP_TIMEOUT, on_pool_stopped, d);
}

/* The first signal stops the pool (its containers are removed), or lets a
 * stop already under way go on; a second one stops at once. */
static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct daemon *d = w->data;

    log_info("msg=\"stopping\" signal=%s", w->signum == SIGINT ? "SIGINT" : "SIGTERM");
    if (++d->signals > 1 || !d->pool) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    if (!d->stopping)
        daemon_stop(d, "signal");
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
    if (!log_reopen())
        log_error("msg=\"cannot reopen log file\" errno=%d", errno);
    else
        log_info("msg=\"log file reopened\"");
}

static void on_stdio_closed(struct mcp_stdio *io, const char *reason, void *arg)
{
    struct daemon *d = arg;

    if (d->pool)
        daemon_stop(d, "stdio client gone");
    else
        ev_break(d->loop, EVBREAK_ALL);
}

static bool start_stdio(struct daemon *d)
{
    struct mcp_conn_config cfg = {
        .limits = &d->mcp_limits, .backend = d->sessions, .server_version = OMCP_VERSION};

    d->stdio = mcp_stdio_start(d->loop, STDIN_FILENO, STDOUT_FILENO, &cfg, on_stdio_closed, d);
    if (!d->stdio) {
        log_error("front_end=stdio msg=\"cannot serve stdin/stdout\" errno=%d", errno);
        return false;
    }
    return true;
}

static void on_engine_checked(const struct backend_result *res, void *arg)
{
    struct daemon *d = arg;

    if (res->error == BACKEND_OK)
        log_info("msg=\"container engine\" host=%s version=%s api=%s",
                 log_quote(docker_host(d->docker)), docker_engine_version(d->docker),
                 docker_engine_api_version(d->docker));
    else
        log_error("msg=\"container engine not usable; the pool retries\" error=%s reason=%s",
                  backend_error_name(res->error), log_quote(res->message));
}

/* Raises the soft open-file limit to the hard one, keeps the reserve out of
 * the clients' reach, and lowers the front ends' client caps to what is
 * left, saying so once. */
static void share_descriptors(struct daemon *d)
{
    uint64_t reserve =
        DAEMON_FD_BASE + SLOTDIR_MAX_DEPTH + DAEMON_FD_PER_SLOT * (uint64_t)d->cfg.max_sandboxes;
    int64_t http = d->cfg.http_max_connections, qap = d->cfg.qap_max_clients;
    uint64_t nofile, room;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;

        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            log_info("msg=\"open-file limit raised\" from=%llu to=%llu", (unsigned long long)was,
                     (unsigned long long)rl.rlim_max);
        else if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return;
    }
    nofile = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX / 2 : (uint64_t)rl.rlim_cur;
    room = nofile > reserve ? nofile - reserve : 0;
    log_info("msg=\"open files\" nofile=%llu reserve=%llu for_clients=%llu",
             (unsigned long long)nofile, (unsigned long long)reserve, (unsigned long long)room);
    if (!config_fit_clients(&d->cfg, room))
        return;
    log_warn("msg=\"client caps lowered to fit the open-file limit\" nofile=%llu reserve=%llu "
             "http_max_connections=%lld http_configured=%lld qap_max_clients=%lld "
             "qap_configured=%lld",
             (unsigned long long)nofile, (unsigned long long)reserve,
             (long long)d->cfg.http_max_connections, (long long)http,
             (long long)d->cfg.qap_max_clients, (long long)qap);
}

/* The engine client and the warm pool. An engine that does not answer yet
 * is not fatal: the pool retries with backoff and heals when it returns. */
static bool start_pool(struct daemon *d)
{
    struct pool_config pc;
    struct mcp_pool_backend_config bc;
    const char *err = NULL;

    d->docker = docker_new(d->loop, d->cfg.docker_host, &err);
    if (!d->docker) {
        log_error("msg=\"cannot use DOCKER_HOST\" reason=%s", log_quote(err));
        return false;
    }
    docker_check_version(d->docker, on_engine_checked, d);
    pool_config_from(&pc, &d->cfg, docker_backend(d->docker));
    d->pool = pool_new(d->loop, &pc, &err);
    if (!d->pool) {
        log_error("msg=\"cannot start the pool\" reason=%s", log_quote(err));
        return false;
    }
    mcp_limits_from_config(&d->mcp_limits, &d->cfg);
    mcp_pool_backend_config_from(&bc, &d->cfg);
    d->sessions = mcp_pool_backend_new(d->loop, d->pool, &bc);
    pool_start(d->pool); /* sessions of an earlier run come back through the backend */
    return true;
}

/* The QAP1 listeners, once the pool exists; none when QAP_LISTEN is empty. */
static bool start_qap(struct daemon *d)
{
    struct qapf_config qc;
    const char *err = NULL;

    if (d->cfg.qap_listen.count == 0)
        return true;
    qapf_config_from(&qc, &d->cfg);
    d->qap = qapf_new(d->loop, d->pool, &qc, &err);
    return d->qap != NULL;
}

/* MCP over HTTP, once the pool and its session backend exist. */
static bool start_http(struct daemon *d)
{
    struct mcp_http_config hc;
    const char *err = NULL;

    if (!*d->cfg.http_listen)
        return true;
    mcp_http_config_from(&hc, &d->cfg);
    hc.limits = &d->mcp_limits;
    hc.backend = d->sessions;
    hc.pool = d->pool;
    hc.server_version = OMCP_VERSION;
    d->http = mcp_http_start(d->loop, &hc, &err);
    if (!d->http)
        log_error("front_end=http listen=%s msg=\"cannot serve\" reason=%s",
                  log_quote(d->cfg.http_listen), log_quote(err));
    return d->http != NULL;
}

static void stop_pool(struct daemon *d)
{
    mcp_http_free(d->http);
    d->http = NULL;
    qapf_free(d->qap);
    d->qap = NULL;
    mcp_pool_backend_free(d->sessions);
    d->sessions = NULL;
    pool_free(d->pool);
    d->pool = NULL;
    if (d->docker)
        docker_free(d->docker);
    d->docker = NULL;
}

static void start_signals(struct daemon *d)
{
    signal(SIGPIPE, SIG_IGN);
    ev_signal_init(&d->sigint_watcher, on_stop_signal, SIGINT);
    ev_signal_init(&d->sigterm_watcher, on_stop_signal, SIGTERM);
    ev_signal_init(&d->sighup_watcher, on_sighup, SIGHUP);
    d->sigint_watcher.data = d->sigterm_watcher.data = d;
    ev_signal_start(d->loop, &d->sigint_watcher);
    ev_signal_start(d->loop, &d->sigterm_watcher);
    ev_signal_start(d->loop, &d->sighup_watcher);
}

static int run(struct daemon *d)
{
    d->loop = ev_default_loop(EVFLAG_AUTO);
    if (!d->loop) {
        log_error("msg=\"cannot start the event loop\"");
        return 1;
    }
    start_signals(d);
    log_info("msg=\"starting\" version=%s pid=%d", OMCP_VERSION, (int)getpid());
    config_log(&d->cfg);
    share_descriptors(d);
    if (!start_pool(d) || !start_qap(d) || !start_http(d) || (d->cfg.stdio && !start_stdio(d))) {
        stop_pool(d);
        ev_loop_destroy(d->loop);
        return 1;
    }

    d->stop_reason = "signal";
    ev_run(d->loop, 0);

    mcp_stdio_free(d->stdio);
    stop_pool(d);
    log_info("msg=\"stopped\" reason=%s", log_quote(d->stop_reason));
    ev_loop_destroy(d->loop);
    return 0;
}

int main(int argc, char **argv)
{
    struct config_errors errs = {NULL, 0};
    struct cli cli = {0};
    struct daemon d = {0};
    int status = parse_args(argc, argv, &cli);

    if (status >= 0)
        goto out;

    if (!load_config(&d.cfg, &cli, &errs)) {
        if (cli.check_config)
            config_print(&d.cfg, stdout);
        for (int i = 0; i < errs.count; i++)
            fprintf(stderr, "omcp-rproxy: invalid configuration: %s\n", errs.lines[i]);
        status = 2;
        goto out;
    }
    if (cli.check_config) {
        config_print(&d.cfg, stdout);
        status = 0;
        goto out;
    }

    log_min_level = (enum log_level)d.cfg.log_level;
    if (!log_open(d.cfg.log_file)) {
        fprintf(stderr, "omcp-rproxy: cannot open LOG_FILE %s: %s\n", d.cfg.log_file,
                strerror(errno));
        status = 1;
        goto out;
    }
    status = run(&d);

out:
    config_free(&d.cfg);
    config_errors_free(&errs);
    cli_free(&cli);
    log_close();
    return status;
}
