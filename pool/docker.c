/* Docker Engine API client: each call is one libcurl easy handle on a multi
 * handle whose sockets and single timer are libev watchers. User callbacks
 * run only after curl_multi_socket_action returns, never inside libcurl. */
#include "pool/docker.h"
#include "pool/docker_json.h"
#include "proxy/buf.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <curl/curl.h>
#include <ev.h>

#define CONNECT_TIMEOUT_MS 5000
#define EVENT_LINE_MAX     (1u << 20)
#define API_PREFIX         "/v1.41"

enum call_kind {
    CALL_VERSION,
    CALL_CREATE,
    CALL_START,
    CALL_KILL,
    CALL_REMOVE,
    CALL_INSPECT,
    CALL_UPDATE,
    CALL_LIST,
    CALL_EXEC_CREATE, /* then EXEC_START, then EXEC_INSPECT on the same call */
    CALL_EXEC_START,
    CALL_EXEC_INSPECT,
    CALL_EVENTS,
    CALL_PING,
};

static const char *const call_names[] = {
    "version", "create", "start", "kill", "remove", "inspect", "update",
    "list",    "exec",   "exec",  "exec", "events", "ping",
};
_Static_assert(sizeof(call_names) / sizeof(call_names[0]) == CALL_PING + 1,
               "a name for every call kind");

struct backend_call {
    struct docker *d;
    struct backend_call *prev, *next; /* on d->calls while in flight, then on d->reap */
    enum call_kind kind;
    CURL *easy;
    struct curl_slist *headers;
    char *request_body;
    struct buf response;       /* the answer's body (events: only a non-200 body) */
    struct docker_lines lines; /* events: records not yet dispatched */
    struct buf message;        /* why the call failed, for the result */
    char errbuf[CURL_ERROR_SIZE];
    char *exec_id;
    ev_tstamp started;
    backend_done_fn done;
    backend_event_fn on_event;
    void *arg;
    bool in_multi;    /* the easy handle is on d->multi */
    bool too_large;   /* the write callback refused more bytes */
    bool lines_ready; /* events: records arrived since the last dispatch */
    bool finished;    /* callbacks ran or the call was cancelled */
};

/* One watched socket of libcurl's, attached to it with curl_multi_assign. */
struct docker_socket {
    ev_io io;
    struct docker *d;
    struct docker_socket *prev, *next;
};

struct docker {
    struct backend backend; /* first: docker_backend() hands out its address */
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer timer; /* libcurl's one timeout */
    char *host;
    char *socket_path;
    long timeout_ms;
    size_t max_response;
    char engine_version[64];
    char api_version[16];
    struct backend_call *calls; /* in flight */
    struct backend_call *reap;  /* finished, freed once no callback runs */
    struct docker_socket *sockets;
    size_t n_calls;
    int callback_depth; /* > 0 while a user callback runs */
};

static void call_send(struct backend_call *c, const char *method, const char *path, json_t *body);
static void call_complete(struct backend_call *c, struct backend_result *res);

/* ---- DOCKER_HOST ---- */

char *docker_host_socket_path(const char *docker_host, const char **err)
{
    struct sockaddr_un sun;
    const char *path;

    if (!docker_host || !*docker_host)
        docker_host = DOCKER_DEFAULT_HOST;
    if (strncmp(docker_host, "unix://", 7) != 0) {
        *err = strstr(docker_host, "://")
                   ? "only a local unix:// Docker engine is supported: sandboxes reach Rserve "
                     "through a socket directory on this host (tcp://, ssh:// and npipe:// "
                     "are not)"
                   : "DOCKER_HOST must look like unix:///var/run/docker.sock";
        return NULL;
    }
    path = docker_host + 7;
    if (path[0] != '/') {
        *err = "DOCKER_HOST unix:// needs an absolute socket path";
        return NULL;
    }
    if (strlen(path) >= sizeof(sun.sun_path)) {
        *err = "DOCKER_HOST socket path is longer than a unix socket address allows";
        return NULL;
    }
    return xstrdup(path);
}

/* ---- calls: life cycle ---- */

static struct backend_call *call_new(struct docker *d, enum call_kind kind, backend_done_fn done,
                                     void *arg)
{
    struct backend_call *c = xcalloc(1, sizeof(*c));

    c->d = d;
    c->kind = kind;
    c->done = done;
    c->arg = arg;
    c->easy = curl_easy_init();
    if (!c->easy)
        panic("curl_easy_init failed");
    c->next = d->calls;
    if (d->calls)
        d->calls->prev = c;
    d->calls = c;
    d->n_calls++;
    return c;
}

static void call_free(struct backend_call *c)
{
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free(c->request_body);
    free(c->exec_id);
    buf_free(&c->response);
    buf_free(&c->message);
    docker_lines_free(&c->lines);
    free(c);
}

static void reap_finished(struct docker *d)
{
    while (d->callback_depth == 0 && d->reap) {
        struct backend_call *c = d->reap;

        d->reap = c->next;
        call_free(c);
    }
}

/* Takes the call out of flight; it is freed once no callback is running. */
static void call_retire(struct backend_call *c)
{
    struct docker *d = c->d;

    if (c->in_multi)
        curl_multi_remove_handle(d->multi, c->easy);
    c->in_multi = false;
    c->finished = true;
    if (c->prev)
        c->prev->next = c->next;
    else
        d->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = d->reap;
    d->reap = c;
    d->n_calls--;
}

static void call_fail(struct backend_call *c, struct backend_result *res, enum backend_error error,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void call_fail(struct backend_call *c, struct backend_result *res, enum backend_error error,
                      const char *fmt, ...)
{
    va_list ap;

    buf_reset(&c->message);
    va_start(ap, fmt);
    buf_vprintf(&c->message, fmt, ap);
    va_end(ap);
    res->error = error;
    res->message = c->message.data;
}

/* Runs the done callback once and retires the call. */
static void call_done(struct backend_call *c, struct backend_result *res)
{
    struct docker *d = c->d;

    if (res->error != BACKEND_OK && !res->message)
        res->message = c->message.len ? c->message.data : backend_error_name(res->error);
    if (log_enabled(L_DEBUG))
        log_debug("docker_call=%s status=%ld error=%s ms=%.1f", call_names[c->kind],
                  res->http_status, backend_error_name(res->error),
                  (ev_now(d->loop) - c->started) * 1e3);
    call_retire(c);
    d->callback_depth++;
    if (c->done)
        c->done(res, c->arg);
    d->callback_depth--;
}

void docker_cancel(struct docker *d, struct backend_call *call)
{
    if (!call || call->finished)
        return;
    call_retire(call);
    reap_finished(d);
}

/* ---- turning a transfer into a result ---- */

static void transport_error(struct backend_call *c, CURLcode code, struct backend_result *res)
{
    struct docker *d = c->d;
    long os_errno = 0;

    curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &os_errno);
    switch (code) {
    case CURLE_COULDNT_CONNECT:
        call_fail(c, res, BACKEND_ENGINE_UNREACHABLE,
                  "no Docker engine answers at %s (%s); is dockerd running, and is DOCKER_HOST "
                  "right?",
                  d->host, os_errno ? strerror((int)os_errno) : c->errbuf);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        call_fail(c, res, BACKEND_TIMEOUT, "the Docker engine did not answer within %ld ms",
                  d->timeout_ms);
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        call_fail(c, res, BACKEND_ENGINE_UNREACHABLE,
                  "connection to the Docker engine at %s lost: %s", d->host, c->errbuf);
        break;
    case CURLE_WRITE_ERROR:
        if (c->too_large) {
            call_fail(c, res, BACKEND_TOO_LARGE, "the Docker engine's answer passed %zu bytes",
                      c->kind == CALL_EVENTS ? (size_t)EVENT_LINE_MAX : d->max_response);
            break;
        }
        /* fall through */
    default:
        call_fail(c, res, BACKEND_BAD_RESPONSE, "bad answer from the Docker engine: %s",
                  c->errbuf[0] ? c->errbuf : curl_easy_strerror(code));
        break;
    }
}

static void http_error(struct backend_call *c, long status, json_t *json,
                       struct backend_result *res)
{
    buf_reset(&c->message);
    docker_error_message(c->response.data ? c->response.data : "", c->response.len, json,
                         &c->message);
    if (!c->message.len)
        buf_printf(&c->message, "the Docker engine answered HTTP %ld", status);
    res->message = c->message.data;
    res->error = status == 404   ? BACKEND_NOT_FOUND
                 : status == 409 ? BACKEND_CONFLICT
                                 : BACKEND_ENGINE_ERROR;
    /* Podman's compatible API answers 500 where Docker answers 409. */
    if (status == 500 && docker_error_is_conflict(json))
        res->error = BACKEND_CONFLICT;
}

/* Fills res from a finished transfer; the parsed body goes to *json. */
static void classify(struct backend_call *c, CURLcode code, struct backend_result *res,
                     json_t **json)
{
    json_error_t jerr;
    long status = 0;

    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    res->http_status = status;
    if (code != CURLE_OK) {
        transport_error(c, code, res);
        return;
    }
    /* exec start answers with the command's raw output, ping with "OK". */
    bool raw = c->kind == CALL_EXEC_START || c->kind == CALL_PING;

    if (c->response.len && !raw)
        *json = json_loadb(c->response.data, c->response.len, 0, &jerr);
    res->json = *json;
    if ((status >= 200 && status < 300) || status == 304) {
        if (c->response.len && !raw && !*json)
            call_fail(c, res, BACKEND_BAD_RESPONSE,
                      "malformed JSON from the Docker engine: %s at byte %d", jerr.text,
                      jerr.position);
        return;
    }
    http_error(c, status, *json, res);
}

static void call_finished(struct backend_call *c, CURLcode code)
{
    struct backend_result res = {0};
    json_t *json = NULL;

    curl_multi_remove_handle(c->d->multi, c->easy);
    c->in_multi = false;
    classify(c, code, &res, &json);
    call_complete(c, &res);
    json_decref(json);
}

/* ---- events ---- */

static void dispatch_lines(struct backend_call *c)
{
    struct docker *d = c->d;
    const char *line;
    size_t len;

    while (!c->finished && docker_lines_next(&c->lines, &line, &len)) {
        json_error_t jerr;
        json_t *json = json_loadb(line, len, 0, &jerr);
        struct backend_event ev;

        if (!json) {
            struct backend_result res = {.http_status = 200};

            /* A lost event could be a missed death: end the stream so
             * that the caller reconnects and reconciles. */
            call_fail(c, &res, BACKEND_BAD_RESPONSE, "malformed event from the Docker engine: %s",
                      jerr.text);
            call_done(c, &res);
            return;
        }
        if (docker_parse_event(json, &ev) && c->on_event) {
            d->callback_depth++;
            c->on_event(&ev, c->arg);
            d->callback_depth--;
        }
        json_decref(json);
    }
}

/* Callbacks may cancel any call, so restart the walk after each stream. */
static void dispatch_events(struct docker *d)
{
    bool again = true;

    while (again) {
        again = false;
        for (struct backend_call *c = d->calls; c; c = c->next) {
            if (c->kind == CALL_EVENTS && c->lines_ready) {
                c->lines_ready = false;
                dispatch_lines(c);
                again = true;
                break;
            }
        }
    }
}

/* ---- the libev side of libcurl ---- */

static void drain(struct docker *d)
{
    CURLMsg *msg;
    int left;

    d->callback_depth++;
    dispatch_events(d);
    while ((msg = curl_multi_info_read(d->multi, &left))) {
        struct backend_call *c = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        call_finished(c, msg->data.result);
    }
    d->callback_depth--;
    reap_finished(d);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct docker_socket *s = (struct docker_socket *)w;
    struct docker *d = s->d;
    int flags = 0, running;

    if (revents & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (revents & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(d->multi, w->fd, flags, &running);
    drain(d);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct docker *d = w->data;
    int running;

    curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(d);
}

static void socket_forget(struct docker *d, struct docker_socket *s)
{
    ev_io_stop(d->loop, &s->io);
    if (s->prev)
        s->prev->next = s->next;
    else
        d->sockets = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct docker *d = userp;
    struct docker_socket *s = socketp;
    int events = 0;

    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(d->multi, fd, NULL);
            socket_forget(d, s);
        }
        return 0;
    }
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->d = d;
        s->next = d->sockets;
        if (d->sockets)
            d->sockets->prev = s;
        d->sockets = s;
        ev_io_init(&s->io, on_io, fd, EV_READ);
        curl_multi_assign(d->multi, fd, s);
    }
    events |= (what & CURL_POLL_IN) ? EV_READ : 0;
    events |= (what & CURL_POLL_OUT) ? EV_WRITE : 0;
    ev_io_stop(d->loop, &s->io);
    ev_io_set(&s->io, fd, events);
    ev_io_start(d->loop, &s->io);
    return 0;
}

/* libcurl asks for at most one timer; 0 means "soon", run from the loop. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct docker *d = userp;

    ev_timer_stop(d->loop, &d->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&d->timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(d->loop, &d->timer);
    }
    return 0;
}

/* ---- sending ---- */

static size_t on_body(char *bytes, size_t size, size_t nmemb, void *userp)
{
    struct backend_call *c = userp;
    size_t n = size * nmemb;
    long status = 0;

    if (c->kind == CALL_EVENTS) {
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200) {
            c->too_large = !docker_lines_feed(&c->lines, bytes, n);
            c->lines_ready = true;
            return c->too_large ? 0 : n;
        }
    }
    if (c->response.len + n > c->d->max_response) {
        c->too_large = true;
        return 0;
    }
    buf_append(&c->response, bytes, n);
    return n;
}

static void call_setopt(struct backend_call *c, const char *method, const char *url)
{
    struct docker *d = c->d;
    CURL *e = c->easy;

    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, d->socket_path);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     c->kind == CALL_EVENTS ? 0L
                     : c->kind == CALL_PING ? (long)DOCKER_PING_TIMEOUT_MS
                                            : d->timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->request_body ? c->request_body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                         (long)(c->request_body ? strlen(c->request_body) : 0));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
}

/* Sends one request on c; body (may be NULL) is taken over. A call goes
 * through here again for each step of a chain (exec). */
static void call_send(struct backend_call *c, const char *method, const char *path, json_t *body)
{
    struct docker *d = c->d;
    char url[4096];

    free(c->request_body);
    c->request_body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    curl_slist_free_all(c->headers);
    c->headers = curl_slist_append(NULL, "Expect:");
    if (c->request_body)
        c->headers = curl_slist_append(c->headers, "Content-Type: application/json");
    buf_reset(&c->response);
    c->too_large = false;
    c->errbuf[0] = '\0';
    c->started = ev_now(d->loop);
    snprintf(url, sizeof(url), "http://localhost%s", path);
    call_setopt(c, method, url);
    if (curl_multi_add_handle(d->multi, c->easy) != CURLM_OK)
        panic("curl_multi_add_handle failed");
    c->in_multi = true;
    log_debug("docker_call=%s method=%s path=%s", call_names[c->kind], method, log_quote(path));
}

/* Percent-encodes one path segment or query value. */
static void put_escaped(struct buf *b, const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);

    if (!e)
        panic("curl_easy_escape failed");
    buf_puts(b, e);
    curl_free(e);
}

/* ---- the calls ---- */

static struct backend_call *simple_call(struct docker *d, enum call_kind kind, const char *method,
                                        const char *id, const char *suffix, backend_done_fn done,
                                        void *arg)
{
    struct backend_call *c = call_new(d, kind, done, arg);
    struct buf path = BUF_INIT;

    buf_puts(&path, API_PREFIX "/containers/");
    put_escaped(&path, id ? id : "");
    buf_puts(&path, suffix);
    call_send(c, method, path.data, NULL);
    buf_free(&path);
    return c;
}

struct backend_call *docker_check_version(struct docker *d, backend_done_fn done, void *arg)
{
    struct backend_call *c = call_new(d, CALL_VERSION, done, arg);

    /* Unversioned on purpose: an old engine must still answer this one. */
    call_send(c, "GET", "/version", NULL);
    return c;
}

struct backend_call *docker_ping(struct docker *d, backend_done_fn done, void *arg)
{
    struct backend_call *c = call_new(d, CALL_PING, done, arg);

    call_send(c, "GET", "/_ping", NULL);
    return c;
}

struct backend_call *docker_create(struct docker *d, const struct backend_spec *spec,
                                   backend_done_fn done, void *arg, const char **err)
{
    const char *refusal = NULL;
    json_t *body = docker_create_body(spec, &refusal);
    struct buf path = BUF_INIT;
    struct backend_call *c;

    if (err)
        *err = refusal;

    if (!body)
        return NULL;
    buf_puts(&path, API_PREFIX "/containers/create");
    if (spec->name) {
        buf_puts(&path, "?name=");
        put_escaped(&path, spec->name);
    }
    c = call_new(d, CALL_CREATE, done, arg);
    call_send(c, "POST", path.data, body);
    buf_free(&path);
    return c;
}

struct backend_call *docker_start(struct docker *d, const char *id, backend_done_fn done, void *arg)
{
    return simple_call(d, CALL_START, "POST", id, "/start", done, arg);
}

struct backend_call *docker_kill(struct docker *d, const char *id, int signal, backend_done_fn done,
                                 void *arg)
{
    char suffix[32];

    snprintf(suffix, sizeof(suffix), "/kill?signal=%d", signal);
    return simple_call(d, CALL_KILL, "POST", id, suffix, done, arg);
}

struct backend_call *docker_remove(struct docker *d, const char *id, backend_done_fn done,
                                   void *arg)
{
    return simple_call(d, CALL_REMOVE, "DELETE", id, "?force=true&v=true", done, arg);
}

struct backend_call *docker_inspect(struct docker *d, const char *id, backend_done_fn done,
                                    void *arg)
{
    return simple_call(d, CALL_INSPECT, "GET", id, "/json", done, arg);
}

struct backend_call *docker_limit_cpu(struct docker *d, const char *id, int64_t quota_us,
                                      int64_t period_us, backend_done_fn done, void *arg)
{
    struct backend_call *c = call_new(d, CALL_UPDATE, done, arg);
    struct buf path = BUF_INIT;

    buf_puts(&path, API_PREFIX "/containers/");
    put_escaped(&path, id ? id : "");
    buf_puts(&path, "/update");
    call_send(c, "POST", path.data,
              json_pack("{s:I,s:I}", "CpuQuota", (json_int_t)quota_us, "CpuPeriod",
                        (json_int_t)period_us));
    buf_free(&path);
    return c;
}

/* Appends filters={"label":["key=value"],...} to a query string. */
static void put_label_filter(struct buf *b, const char *key, const char *value, bool events)
{
    char label[1024];
    json_t *filters = json_object();
    char *text;

    snprintf(label, sizeof(label), "%s=%s", key, value);
    json_object_set_new(filters, "label", json_pack("[s]", label));
    if (events)
        json_object_set_new(filters, "type", json_pack("[s]", "container"));
    text = json_dumps(filters, JSON_COMPACT);
    buf_puts(b, "filters=");
    put_escaped(b, text);
    free(text);
    json_decref(filters);
}

struct backend_call *docker_list(struct docker *d, const char *key, const char *value,
                                 backend_done_fn done, void *arg)
{
    struct backend_call *c = call_new(d, CALL_LIST, done, arg);
    struct buf path = BUF_INIT;

    buf_puts(&path, API_PREFIX "/containers/json?all=true&");
    put_label_filter(&path, key, value, false);
    call_send(c, "GET", path.data, NULL);
    buf_free(&path);
    return c;
}

struct backend_call *docker_exec(struct docker *d, const char *id, const char *const *argv,
                                 backend_done_fn done, void *arg)
{
    struct backend_call *c = call_new(d, CALL_EXEC_CREATE, done, arg);
    struct buf path = BUF_INIT;
    json_t *cmd = json_array();

    for (size_t i = 0; argv && argv[i]; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    buf_puts(&path, API_PREFIX "/containers/");
    put_escaped(&path, id ? id : "");
    buf_puts(&path, "/exec");
    call_send(c, "POST", path.data,
              json_pack("{s:b,s:b,s:b,s:b,s:o}", "AttachStdin", 0, "AttachStdout", 1,
                        "AttachStderr", 1, "Tty", 0, "Cmd", cmd));
    buf_free(&path);
    return c;
}

struct backend_call *docker_events(struct docker *d, const char *key, const char *value,
                                   long long since_nano, backend_event_fn on_event,
                                   backend_done_fn ended, void *arg)
{
    struct backend_call *c = call_new(d, CALL_EVENTS, ended, arg);
    struct buf path = BUF_INIT;

    c->on_event = on_event;
    docker_lines_init(&c->lines, EVENT_LINE_MAX);
    buf_puts(&path, API_PREFIX "/events?");
    put_label_filter(&path, key, value, true);
    if (since_nano > 0)
        buf_printf(&path, "&since=%lld.%09lld", since_nano / 1000000000LL,
                   since_nano % 1000000000LL);
    call_send(c, "GET", path.data, NULL);
    buf_free(&path);
    return c;
}

/* ---- completing each kind ---- */

static void complete_version(struct backend_call *c, struct backend_result *res)
{
    struct docker *d = c->d;

    if (res->error != BACKEND_OK)
        return;
    buf_reset(&c->message);
    if (!docker_version_check(res->json, d->engine_version, sizeof(d->engine_version),
                              d->api_version, sizeof(d->api_version), &c->message)) {
        res->error = BACKEND_UNSUPPORTED;
        res->message = c->message.data;
        return;
    }
    log_info("msg=\"docker engine\" host=%s version=%s api=%s pinned=%d.%d", log_quote(d->host),
             log_quote(d->engine_version), log_quote(d->api_version), DOCKER_API_MAJOR,
             DOCKER_API_MINOR);
}

/* exec is three requests on one call, so that the caller's handle holds. */
static bool exec_next_step(struct backend_call *c, struct backend_result *res)
{
    struct buf path = BUF_INIT;

    if (res->error != BACKEND_OK)
        return false;
    if (c->kind == CALL_EXEC_CREATE) {
        const char *id = json_string_value(json_object_get(res->json, "Id"));

        if (!id) {
            call_fail(c, res, BACKEND_BAD_RESPONSE, "exec create answer has no Id");
            return false;
        }
        c->exec_id = xstrdup(id);
        c->kind = CALL_EXEC_START;
        buf_puts(&path, API_PREFIX "/exec/");
        put_escaped(&path, c->exec_id);
        buf_puts(&path, "/start");
        call_send(c, "POST", path.data, json_pack("{s:b,s:b}", "Detach", 0, "Tty", 0));
    } else {
        c->kind = CALL_EXEC_INSPECT;
        buf_puts(&path, API_PREFIX "/exec/");
        put_escaped(&path, c->exec_id);
        buf_puts(&path, "/json");
        call_send(c, "GET", path.data, NULL);
    }
    buf_free(&path);
    return true;
}

static void complete_kind(struct backend_call *c, struct backend_result *res,
                          struct backend_container *one, struct backend_container **list)
{
    switch (c->kind) {
    case CALL_VERSION:
        complete_version(c, res);
        break;
    case CALL_CREATE:
        res->id = json_string_value(json_object_get(res->json, "Id"));
        if (!res->id)
            call_fail(c, res, BACKEND_BAD_RESPONSE, "create answer has no Id");
        break;
    case CALL_INSPECT:
        if (!docker_parse_inspect(res->json, one))
            call_fail(c, res, BACKEND_BAD_RESPONSE, "inspect answer lacks Id or State");
        res->containers = one;
        res->n_containers = 1;
        break;
    case CALL_LIST:
        if (!docker_parse_list(res->json, list, &res->n_containers))
            call_fail(c, res, BACKEND_BAD_RESPONSE, "container list is not a list of containers");
        res->containers = *list;
        break;
    case CALL_EXEC_INSPECT:
        if (!json_is_integer(json_object_get(res->json, "ExitCode")))
            call_fail(c, res, BACKEND_BAD_RESPONSE, "exec inspect answer has no ExitCode");
        res->exit_code = (int)json_integer_value(json_object_get(res->json, "ExitCode"));
        break;
    default:
        break;
    }
}

/* An engine without the update endpoint answers from its router: 404
 * without the engine's JSON message (a missing container has one), or 405
 * or 501. */
static void update_unsupported(struct backend_call *c, struct backend_result *res)
{
    long status = res->http_status;

    if (c->kind != CALL_UPDATE || res->error == BACKEND_OK)
        return;
    if ((status == 404 && !json_object_get(res->json, "message")) || status == 405 || status == 501)
        call_fail(c, res, BACKEND_UNSUPPORTED,
                  "the engine has no container update endpoint (HTTP %ld)", status);
}

static void call_complete(struct backend_call *c, struct backend_result *res)
{
    struct backend_container one, *list = NULL;

    if ((c->kind == CALL_EXEC_CREATE || c->kind == CALL_EXEC_START) && exec_next_step(c, res))
        return;
    update_unsupported(c, res);
    if (res->error == BACKEND_OK)
        complete_kind(c, res, &one, &list);
    if (res->error != BACKEND_OK) {
        res->id = NULL;
        res->containers = NULL;
        res->n_containers = 0;
    }
    if (c->kind == CALL_EVENTS && res->error == BACKEND_OK)
        res->message = "the Docker engine ended the event stream";
    call_done(c, res);
    free(list);
}

/* ---- the client ---- */

struct docker *docker_new(struct ev_loop *loop, const char *host, const char **err)
{
    static bool curl_ready;
    char *socket_path = docker_host_socket_path(host, err);
    struct docker *d;

    if (!socket_path)
        return NULL;
    if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        panic("curl_global_init failed");
    curl_ready = true;

    d = xcalloc(1, sizeof(*d));
    d->loop = loop;
    d->socket_path = socket_path;
    d->host = xstrdup(host && *host ? host : DOCKER_DEFAULT_HOST);
    d->timeout_ms = DOCKER_DEFAULT_TIMEOUT_MS;
    d->max_response = DOCKER_DEFAULT_MAX_RESPONSE;
    d->multi = curl_multi_init();
    if (!d->multi)
        panic("curl_multi_init failed");
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
    ev_timer_init(&d->timer, on_timer, 0., 0.);
    d->timer.data = d;
    d->backend.ops = NULL; /* set by docker_backend() */
    return d;
}

void docker_free(struct docker *d)
{
    if (!d)
        return;
    while (d->calls)
        call_retire(d->calls);
    reap_finished(d);
    ev_timer_stop(d->loop, &d->timer);
    curl_multi_cleanup(d->multi);
    while (d->sockets)
        socket_forget(d, d->sockets);
    free(d->socket_path);
    free(d->host);
    free(d);
}

void docker_set_timeout(struct docker *d, long timeout_ms)
{
    d->timeout_ms = timeout_ms > 0 ? timeout_ms : DOCKER_DEFAULT_TIMEOUT_MS;
}

void docker_set_max_response(struct docker *d, size_t bytes)
{
    d->max_response = bytes ? bytes : DOCKER_DEFAULT_MAX_RESPONSE;
}

const char *docker_engine_version(const struct docker *d)
{
    return d->engine_version;
}

const char *docker_engine_api_version(const struct docker *d)
{
    return d->api_version;
}

const char *docker_host(const struct docker *d)
{
    return d->host;
}

size_t docker_calls_in_flight(const struct docker *d)
{
    return d->n_calls;
}

/* ---- as a backend ---- */

static struct docker *to_docker(struct backend *b)
{
    return (struct docker *)b;
}

static struct backend_call *op_create(struct backend *b, const struct backend_spec *spec,
                                      backend_done_fn done, void *arg, const char **err)
{
    return docker_create(to_docker(b), spec, done, arg, err);
}

static struct backend_call *op_start(struct backend *b, const char *id, backend_done_fn done,
                                     void *arg)
{
    return docker_start(to_docker(b), id, done, arg);
}

static struct backend_call *op_kill(struct backend *b, const char *id, int signal,
                                    backend_done_fn done, void *arg)
{
    return docker_kill(to_docker(b), id, signal, done, arg);
}

static struct backend_call *op_remove(struct backend *b, const char *id, backend_done_fn done,
                                      void *arg)
{
    return docker_remove(to_docker(b), id, done, arg);
}

static struct backend_call *op_inspect(struct backend *b, const char *id, backend_done_fn done,
                                       void *arg)
{
    return docker_inspect(to_docker(b), id, done, arg);
}

static struct backend_call *op_limit_cpu(struct backend *b, const char *id, int64_t quota_us,
                                         int64_t period_us, backend_done_fn done, void *arg)
{
    return docker_limit_cpu(to_docker(b), id, quota_us, period_us, done, arg);
}

static struct backend_call *op_list(struct backend *b, const char *key, const char *value,
                                    backend_done_fn done, void *arg)
{
    return docker_list(to_docker(b), key, value, done, arg);
}

static struct backend_call *op_exec(struct backend *b, const char *id, const char *const *argv,
                                    backend_done_fn done, void *arg)
{
    return docker_exec(to_docker(b), id, argv, done, arg);
}

static struct backend_call *op_events(struct backend *b, const char *key, const char *value,
                                      long long since_nano, backend_event_fn on_event,
                                      backend_done_fn ended, void *arg)
{
    return docker_events(to_docker(b), key, value, since_nano, on_event, ended, arg);
}

static struct backend_call *op_ping(struct backend *b, backend_done_fn done, void *arg)
{
    return docker_ping(to_docker(b), done, arg);
}

static void op_cancel(struct backend *b, struct backend_call *call)
{
    docker_cancel(to_docker(b), call);
}

static const struct backend_ops docker_ops = {
    .name = "docker",
    .create = op_create,
    .start = op_start,
    .kill = op_kill,
    .remove = op_remove,
    .inspect = op_inspect,
    .limit_cpu = op_limit_cpu,
    .list = op_list,
    .exec = op_exec,
    .events = op_events,
    .ping = op_ping,
    .cancel = op_cancel,
};

struct backend *docker_backend(struct docker *d)
{
    d->backend.ops = &docker_ops;
    return &d->backend;
}
