/* The QAP1 front end: its listeners, accepting (paused on EMFILE), the
 * limit on clients, one sweep timer for every connection's timeouts, and
 * the reaper that frees closed connections on the next loop pass. */
#include "proxy/qapf_impl.h"

#include "proxy/log.h"
#include "proxy/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define QAPF_BACKLOG      1024
#define QAPF_ACCEPT_BURST 64 /* accepts per readiness event */

void qapf_config_from(struct qapf_config *qc, const struct config *cfg)
{
    *qc = (struct qapf_config){
        .listen = cfg->qap_listen.addrs,
        .nlisten = cfg->qap_listen.count,
        .allow_remote = cfg->qap_allow_remote,
        .password_file = cfg->qap_password_file,
        .max_clients = (unsigned)cfg->qap_max_clients,
        .idle_timeout = cfg->qap_idle_timeout,
        .request_timeout = cfg->qap_request_timeout,
        .max_frame = (uint64_t)cfg->max_frame_bytes,
    };
}

const struct qapf_stats *qapf_stats(const struct qapf *f)
{
    return &f->stats;
}

/* ---- accepting ---- */

/* A unix peer is named by the credentials the kernel vouches for. */
static void peer_name(int fd, const struct sockaddr_storage *sa, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(out, n, "%s:%u", host, (unsigned)ntohs(in->sin_port));
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, n, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
    } else {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
            snprintf(out, n, "unix:pid=%d,uid=%u", (int)cred.pid, (unsigned)cred.uid);
        else
            snprintf(out, n, "unix");
    }
}

static void listeners_pause(struct qapf *f, bool pause)
{
    for (int i = 0; i < f->nlisteners; i++) {
        if (pause)
            ev_io_stop(f->loop, &f->listeners[i].io);
        else if (f->listeners[i].fd >= 0)
            ev_io_start(f->loop, &f->listeners[i].io);
    }
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct qapf *f = w->data;

    listeners_pause(f, false);
}

/* Out of descriptors: stop accepting for a moment rather than spin on a
 * listener that stays readable. Logged once, and again only after every
 * waiting client was accepted. */
static void accept_pause(struct qapf *f, const struct qapf_listener *l)
{
    if (!f->accept_starved)
        log_warn("front_end=qap1 listen=%s msg=\"out of file descriptors; accepting paused\" "
                 "errno=%d clients=%u retry_secs=%.1f",
                 log_quote(l->name), errno, f->stats.clients, QAPF_ACCEPT_RETRY);
    f->accept_starved = true;
    listeners_pause(f, true);
    ev_timer_set(&f->accept_retry, QAPF_ACCEPT_RETRY, 0.);
    ev_timer_start(f->loop, &f->accept_retry);
}

static void accept_resumed(struct qapf *f, const struct qapf_listener *l)
{
    log_info("front_end=qap1 listen=%s msg=\"accepting again; no client waits\" clients=%u",
             log_quote(l->name), f->stats.clients);
    f->accept_starved = false;
}

static void accept_one(struct qapf *f, struct qapf_listener *l, int fd,
                       const struct sockaddr_storage *sa)
{
    char peer[QAPF_PEER_MAX];
    int one = 1;

    peer_name(fd, sa, peer, sizeof(peer));
    f->stats.accepted++;
    if (f->stats.clients >= f->cfg.max_clients) {
        f->stats.turned_away++;
        log_warn("front_end=qap1 listen=%s msg=\"client turned away\" peer=%s "
                 "reason=\"QAP_MAX_CLIENTS reached\" clients=%u",
                 log_quote(l->name), log_quote(peer), f->stats.clients);
        close(fd);
        return;
    }
    if (sa->ss_family != AF_UNIX)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    qapf_conn_new(f, fd, l, peer);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct qapf_listener *l = w->data;
    struct qapf *f = l->front;

    for (int i = 0; i < QAPF_ACCEPT_BURST && !f->closed; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_pause(f, l);
            else if ((errno == EAGAIN || errno == EWOULDBLOCK) && f->accept_starved)
                accept_resumed(f, l);
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                     errno != ECONNABORTED)
                log_warn("front_end=qap1 listen=%s msg=\"accept failed\" errno=%d",
                         log_quote(l->name), errno);
            return;
        }
        accept_one(f, l, fd, &sa);
    }
}

/* ---- listeners ---- */

static bool addr_is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return true;
}

/* "HOST:PORT" with a numeric host ("[v6]:port" for IPv6; "localhost" is
 * 127.0.0.1), or "unix:/path". No name lookup: it would block. */
static bool parse_addr(const char *text, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(text, ':');
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    size_t hl;

    memset(sa, 0, sizeof(*sa));
    if (strncmp(text, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)sa;

        if (strlen(text + 5) >= sizeof(un->sun_path))
            return false;
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, text + 5);
        *len = sizeof(*un);
        return true;
    }
    if (!colon || (hl = (size_t)(colon - text)) >= sizeof(host))
        return false;
    memcpy(host, text, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)atoi(colon + 1));
        *len = sizeof(*in6);
        return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1;
    }
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)atoi(colon + 1));
    *len = sizeof(*in);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    return inet_pton(AF_INET, host, &in->sin_addr) == 1;
}

/* A stale socket file of an earlier run is replaced; anything else at the
 * path is left alone and the bind fails. */
static void unlink_stale_socket(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
}

static int listen_socket(const struct sockaddr_storage *sa, socklen_t len)
{
    int one = 1;
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (sa->ss_family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    else
        unlink_stale_socket(((const struct sockaddr_un *)sa)->sun_path);
    if (bind(fd, (const struct sockaddr *)sa, len) < 0 || listen(fd, QAPF_BACKLOG) < 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static bool listener_open(struct qapf *f, struct qapf_listener *l, const char *addr,
                          const char **err)
{
    struct sockaddr_storage sa;
    socklen_t len;

    snprintf(l->name, sizeof(l->name), "%s", addr);
    l->front = f;
    l->fd = -1;
    if (!parse_addr(addr, &sa, &len)) {
        *err = "QAP_LISTEN: not a numeric HOST:PORT or unix:/PATH";
        return false;
    }
    l->local = addr_is_loopback(&sa);
    if (!l->local && f->auth) {
        *err = "QAP_LISTEN: password login is offered on loopback and unix listeners only (the "
               "password would cross the network in the clear)";
        return false;
    }
    if (!l->local && !f->cfg.allow_remote) {
        *err = "QAP_LISTEN: a listener that is not loopback or unix serves anyone who can reach "
               "it; set QAP_ALLOW_REMOTE=true to allow that";
        return false;
    }
    if ((l->fd = listen_socket(&sa, len)) < 0) {
        *err = strerror(errno);
        return false;
    }
    if (sa.ss_family == AF_UNIX)
        snprintf(l->unix_path, sizeof(l->unix_path), "%s", addr + 5);
    ev_io_init(&l->io, on_accept, l->fd, EV_READ);
    l->io.data = l;
    ev_io_start(f->loop, &l->io);
    log_info("front_end=qap1 listen=%s msg=\"listening\" local=%s auth=%s", log_quote(l->name),
             l->local ? "true" : "false", f->auth && l->local ? "password" : "none");
    return true;
}

static void listener_close(struct qapf *f, struct qapf_listener *l)
{
    if (l->fd < 0)
        return;
    ev_io_stop(f->loop, &l->io);
    close(l->fd);
    l->fd = -1;
    if (*l->unix_path)
        unlink(l->unix_path);
}

/* ---- sweeping and reaping ---- */

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct qapf *f = w->data;
    struct qapf_conn *c = f->conns.head, *next;
    double now = ev_now(loop);

    for (; c; c = next) {
        next = c->next; /* a close moves c to the reap list */
        qapf_conn_sweep(c, now);
    }
}

static void reap_all(struct qapf *f)
{
    struct qapf_conn *c;

    while ((c = f->reap.head) != NULL) {
        f->reap.head = c->next;
        qapf_conn_free(c);
    }
}

static void on_reap(struct ev_loop *loop, ev_check *w, int revents)
{
    struct qapf *f = w->data;

    reap_all(f);
    ev_check_stop(loop, w);
}

/* ---- life ---- */

static void greeting_build(struct qapf *f)
{
    struct qap_id id = {.server_version = "0103", .auth_plain = f->auth != NULL};

    qap_id_write(f->greeting, &id);
}

static bool front_auth_load(struct qapf *f, const char **err)
{
    if (!f->cfg.password_file || !*f->cfg.password_file)
        return true;
    f->auth = qapf_auth_load(f->cfg.password_file, err);
    if (!f->auth)
        return false;
    log_info("front_end=qap1 msg=\"password logins\" file=%s users=%u",
             log_quote(f->cfg.password_file), qapf_auth_users(f->auth));
    return true;
}

struct qapf *qapf_new(struct ev_loop *loop, struct pool *pool, const struct qapf_config *cfg,
                      const char **err)
{
    struct qapf *f = xcalloc(1, sizeof(*f));

    f->loop = loop;
    f->pool = pool;
    f->cfg = *cfg;
    qapf_pipes_init(&f->pipes, QAPF_PIPES_IDLE, QAPF_PIPES_MAX, QAPF_PIPE_SIZE);
    ev_timer_init(&f->accept_retry, on_accept_retry, QAPF_ACCEPT_RETRY, 0.);
    ev_timer_init(&f->sweep, on_sweep, QAPF_SWEEP_SECS, QAPF_SWEEP_SECS);
    ev_check_init(&f->reaper, on_reap);
    f->accept_retry.data = f->sweep.data = f->reaper.data = f;
    if (!front_auth_load(f, err))
        goto failed;
    greeting_build(f);
    f->listeners = xcalloc((size_t)(cfg->nlisten ? cfg->nlisten : 1), sizeof(*f->listeners));
    for (int i = 0; i < cfg->nlisten; i++, f->nlisteners++) {
        if (!listener_open(f, &f->listeners[i], cfg->listen[i], err)) {
            log_error("front_end=qap1 listen=%s msg=\"cannot listen\" reason=%s",
                      log_quote(cfg->listen[i]), log_quote(*err));
            goto failed;
        }
    }
    ev_timer_start(loop, &f->sweep);
    return f;

failed:
    qapf_close(f, "start failed");
    qapf_free(f);
    return NULL;
}

void qapf_stop_listening(struct qapf *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->nlisteners; i++)
        listener_close(f, &f->listeners[i]);
    ev_timer_stop(f->loop, &f->accept_retry);
}

void qapf_close(struct qapf *f, const char *reason)
{
    if (!f || f->closed)
        return;
    f->closed = true;
    qapf_stop_listening(f);
    ev_timer_stop(f->loop, &f->sweep);
    while (f->conns.head)
        qapf_conn_close(f->conns.head, reason);
    if (f->nlisteners)
        log_info("front_end=qap1 msg=\"closed\" reason=%s accepted=%llu refused=%llu",
                 log_quote(reason), (unsigned long long)f->stats.accepted,
                 (unsigned long long)f->stats.refused);
}

void qapf_free(struct qapf *f)
{
    if (!f)
        return;
    qapf_close(f, "freed");
    ev_check_stop(f->loop, &f->reaper);
    reap_all(f);
    qapf_pipes_free(&f->pipes);
    if (f->auth)
        qapf_auth_free(f->auth);
    free(f->listeners);
    free(f);
}
