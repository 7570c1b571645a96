/* The /mcp endpoint: MCP sessions named by Mcp-Session-Id, each one MCP
 * conversation (mcp_conn) owned by a client identity; POST hands messages
 * to it and answers as JSON or, once a notification comes first, as an
 * event stream; GET opens (or resumes) a server stream; DELETE ends it. */
#include "mcp/http_impl.h"

#include "mcp/conn.h"
#include "mcp/jsonrpc.h"
#include "mcp/session.h"
#include "mcp/http_sse.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_MAX_MCP_SESSIONS              1024
#define HTTP_MAX_MCP_SESSIONS_PER_IDENTITY 64 /* so one token cannot take them all */
#define HTTP_REPLAY_EVENTS                 64
#define HTTP_REPLAY_BYTES                  (128 * 1024)

#define ERR_SESSION_NOT_FOUND (-32001)
#define ERR_SERVER            (-32000)

enum http_exchange_kind {
    HTTP_EX_POST,   /* one POST's messages, waiting for their answer */
    HTTP_EX_STREAM, /* the session's GET stream */
};

struct http_session;

/* Where the answer to one POST (or the server's own messages) goes. */
struct http_exchange {
    enum http_exchange_kind kind;
    struct http_session *session;
    struct http_conn *conn; /* NULL once the client left */
    json_t *ids;            /* POST: ids of the requests it carries (array) */
    unsigned stream;        /* the SSE stream number, once streaming (0: the GET stream) */
    bool accepts_sse;
    bool sse;     /* answering as an event stream */
    bool expects; /* carries a request (or an invalid element) that gets an answer */
    bool done;
    struct http_exchange *prev, *next;
};

struct http_session {
    char id[MCP_SESSION_ID_LEN + 1];
    char owner[80];
    struct http_identity *identity; /* NULL without tokens: the session is its own identity */
    struct mcp_http *srv;
    struct mcp_conn *conn;
    struct http_bucket bucket; /* without tokens: this session's request rate */
    double last_used;
    uint64_t next_seq;
    unsigned next_stream;
    struct http_replay replay;
    struct http_exchange *exchanges;
    struct http_exchange *current;    /* the POST being handed to the conversation now */
    struct http_exchange *standalone; /* the GET stream, or NULL */
    struct http_session *hnext;
};

static const char *const versions[] = {MCP_PROTOCOL_VERSIONS};

static unsigned bucket_of(const char *id)
{
    return (unsigned)strtoul((char[3]){id[0], id[1], '\0'}, NULL, 16) % HTTP_SESSION_HASH;
}

/* ---- exchanges ---- */

static void detach(struct http_exchange *ex)
{
    if (ex->conn)
        ex->conn->exchange = NULL;
    ex->conn = NULL;
}

static void exchange_free(struct http_exchange *ex)
{
    struct http_session *s = ex->session;

    detach(ex);
    if (ex->prev)
        ex->prev->next = ex->next;
    else
        s->exchanges = ex->next;
    if (ex->next)
        ex->next->prev = ex->prev;
    if (s->standalone == ex)
        s->standalone = NULL;
    json_decref(ex->ids);
    free(ex);
}

static struct http_exchange *exchange_new(struct http_session *s, struct http_conn *c,
                                          enum http_exchange_kind kind)
{
    struct http_exchange *ex = xcalloc(1, sizeof(*ex));
    const char *accept = http_reader_header(&c->reader, "Accept");

    ex->kind = kind;
    ex->session = s;
    ex->conn = c;
    ex->ids = json_array();
    ex->accepts_sse = accept && strstr(accept, "text/event-stream");
    c->exchange = ex;
    ex->next = s->exchanges;
    if (s->exchanges)
        s->exchanges->prev = ex;
    s->exchanges = ex;
    return ex;
}

/* Notes the ids of the requests in value, and whether anything is answered. */
static void exchange_expect(struct http_exchange *ex, json_t *value)
{
    struct jsonrpc_msg msg;
    size_t i;
    json_t *one;

    if (!json_is_array(value)) {
        jsonrpc_classify(value, &msg);
        ex->expects = msg.kind == JSONRPC_REQUEST || msg.kind == JSONRPC_INVALID;
        if (msg.kind == JSONRPC_REQUEST)
            json_array_append(ex->ids, msg.id);
        return;
    }
    json_array_foreach(value, i, one)
    {
        jsonrpc_classify(one, &msg);
        ex->expects |= msg.kind == JSONRPC_REQUEST || msg.kind == JSONRPC_INVALID;
        if (msg.kind == JSONRPC_REQUEST)
            json_array_append(ex->ids, msg.id);
    }
}

static struct http_exchange *exchange_by_id(struct http_session *s, const json_t *id)
{
    size_t i;
    json_t *one;

    for (struct http_exchange *ex = s->exchanges; ex; ex = ex->next) {
        if (ex->done || ex->kind != HTTP_EX_POST)
            continue;
        json_array_foreach(ex->ids, i, one)
        {
            if (json_equal(one, (json_t *)id))
                return ex;
        }
    }
    return NULL;
}

static struct http_exchange *exchange_by_stream(struct http_session *s, unsigned stream)
{
    for (struct http_exchange *ex = s->exchanges; ex; ex = ex->next)
        if (!ex->done && ex->kind == HTTP_EX_POST && ex->sse && ex->stream == stream)
            return ex;
    return NULL;
}

/* "Mcp-Session-Id: …" once the session is initialized. */
static void session_header(const struct http_session *s, char *out, size_t n)
{
    if (mcp_conn_version(s->conn))
        snprintf(out, n, "Mcp-Session-Id: %s\r\n", s->id);
    else
        out[0] = '\0';
}

/* ---- the conversation's way out ---- */

/* One event of a stream: numbered, kept for resumption, written if a client listens. */
static void session_event(struct http_session *s, unsigned stream, struct http_conn *c,
                          const char *bytes, size_t len)
{
    struct buf ev = BUF_INIT;

    s->next_seq++;
    http_sse_format(&ev, stream, s->next_seq, bytes, len);
    http_replay_add(&s->replay, stream, s->next_seq, ev.data, ev.len);
    if (c)
        http_stream_send(c, ev.data, ev.len);
    buf_free(&ev);
}

static void exchange_answer(struct http_exchange *ex, const char *bytes, size_t len)
{
    struct http_session *s = ex->session;
    struct http_conn *c = ex->conn;
    char header[96];

    ex->done = true;
    if (ex->sse) {
        session_event(s, ex->stream, c, bytes, len);
        detach(ex);
        if (c)
            http_stream_close(c);
    } else if (c) {
        session_header(s, header, sizeof(header));
        detach(ex);
        http_respond(c, 200, "application/json", header, bytes, len);
    } else {
        log_debug("mcp_session=%.8s msg=\"answer dropped: its client left\"", s->id);
    }
    if (ex != s->current)
        exchange_free(ex);
}

/* A notification that belongs to a POST: the answer becomes an event stream
 * when the client accepts one; otherwise the notification is dropped. */
static void exchange_notify(struct http_exchange *ex, const char *bytes, size_t len)
{
    struct http_session *s = ex->session;
    char header[96];

    if (!ex->sse) {
        if (!ex->conn || !ex->accepts_sse)
            return;
        ex->sse = true;
        ex->stream = ++s->next_stream;
        session_header(s, header, sizeof(header));
        http_stream_open(ex->conn, "text/event-stream", header);
    }
    session_event(s, ex->stream, ex->conn, bytes, len);
}

static void session_send(const char *bytes, size_t len, const json_t *about, bool answer, void *arg)
{
    struct http_session *s = arg;
    struct http_exchange *ex = about ? exchange_by_id(s, about) : NULL;

    if (!ex && s->current && !s->current->done)
        ex = s->current;
    if (ex && answer)
        exchange_answer(ex, bytes, len);
    else if (ex)
        exchange_notify(ex, bytes, len);
    else if (!answer)
        session_event(s, 0, s->standalone ? s->standalone->conn : NULL, bytes, len);
    else
        log_debug("mcp_session=%.8s msg=\"answer without a waiting request dropped\"", s->id);
}

/* ---- sessions ---- */

static struct http_session *session_find(struct mcp_http *srv, const char *id,
                                         const struct http_identity *identity)
{
    struct http_session *s;

    if (strlen(id) != MCP_SESSION_ID_LEN)
        return NULL;
    for (s = srv->sessions[bucket_of(id)]; s; s = s->hnext)
        if (http_equal_ct((const unsigned char *)s->id, (const unsigned char *)id,
                          MCP_SESSION_ID_LEN))
            break;
    /* Another identity's session is as unknown as one that never existed. */
    return s && s->identity == identity ? s : NULL;
}

static void session_owner(struct http_session *s)
{
    char tag[MCP_SESSION_ID_LEN + 1];

    if (s->identity) {
        snprintf(s->owner, sizeof(s->owner), "http:%s", s->identity->name);
        return;
    }
    /* A random tag, not the session id: owners are logged, session ids are secrets. */
    if (!mcp_session_new_id(tag))
        panic("no randomness for an MCP session owner");
    snprintf(s->owner, sizeof(s->owner), "http:session:%.16s", tag);
}

static struct http_session *session_new(struct mcp_http *srv, struct http_identity *identity)
{
    struct http_session *s;
    struct mcp_conn_config cfg = {.limits = srv->cfg.limits,
                                  .backend = srv->cfg.backend,
                                  .server_version = srv->cfg.server_version,
                                  .send_about = session_send,
                                  .outcome = http_metrics_outcome,
                                  .outcome_arg = srv,
                                  .max_owner_sessions = srv->cfg.max_sessions_per_identity,
                                  .owner_shared = identity != NULL};
    unsigned b;

    if (srv->nsessions >= HTTP_MAX_MCP_SESSIONS)
        return NULL;
    s = xcalloc(1, sizeof(*s));
    if (!mcp_session_new_id(s->id)) {
        free(s);
        return NULL;
    }
    s->srv = srv;
    s->identity = identity;
    session_owner(s);
    cfg.owner = s->owner;
    cfg.send_arg = s;
    s->conn = mcp_conn_new(&cfg);
    http_replay_init(&s->replay, HTTP_REPLAY_EVENTS, HTTP_REPLAY_BYTES);
    if (identity)
        identity->sessions++;
    b = bucket_of(s->id);
    s->hnext = srv->sessions[b];
    srv->sessions[b] = s;
    srv->nsessions++;
    return s;
}

static void session_unlink(struct http_session *s)
{
    struct http_session **p = &s->srv->sessions[bucket_of(s->id)];

    while (*p && *p != s)
        p = &(*p)->hnext;
    if (*p)
        *p = s->hnext;
    s->srv->nsessions--;
}

/* Answers what still waits, frees the conversation (its calls are cancelled)
 * and, when the identity has no other MCP session, closes its R sessions. */
static void session_end(struct http_session *s, const char *reason)
{
    struct mcp_backend *b = s->srv->cfg.backend;

    log_info("mcp_session=%.8s owner=%s msg=\"mcp session ended\" reason=%s", s->id,
             log_quote(s->owner), log_quote(reason));
    session_unlink(s);
    while (s->exchanges) {
        struct http_exchange *ex = s->exchanges;
        struct http_conn *c = ex->conn;

        detach(ex);
        exchange_free(ex);
        if (c && c->streaming)
            http_stream_close(c);
        else if (c)
            http_respond_jsonrpc_error(c, 404, ERR_SESSION_NOT_FOUND,
                                       "Not Found: the MCP session ended", NULL);
    }
    mcp_conn_free(s->conn, reason);
    if (s->identity && --s->identity->sessions == 0 && b->ops->owner_gone)
        b->ops->owner_gone(b, s->owner);
    http_replay_free(&s->replay);
    free(s);
}

/* ---- requests ---- */

static bool version_supported(const char *v)
{
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        if (strcmp(v, versions[i]) == 0)
            return true;
    return false;
}

static bool is_initialize(json_t *value)
{
    return json_is_object(value) && json_is_string(json_object_get(value, "method")) &&
           strcmp(json_string_value(json_object_get(value, "method")), "initialize") == 0 &&
           json_object_get(value, "id");
}

static bool rate_allows(struct http_conn *c, struct http_session *s, struct http_identity *id)
{
    struct mcp_http *srv = c->srv;
    struct http_bucket *b = id ? &id->bucket : s ? &s->bucket : &srv->anonymous;
    char extra[48], message[200];
    double wait;

    if (http_bucket_take(b, srv->cfg.rate_limit, srv->cfg.rate_burst, ev_now(srv->loop)))
        return true;
    srv->stats.rate_limited++;
    wait = http_bucket_wait(b, srv->cfg.rate_limit);
    snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", (int)wait + 1);
    snprintf(message, sizeof(message),
             "Too Many Requests: over %g requests per second for this client; retry after %.2f s",
             srv->cfg.rate_limit, wait);
    log_info("http_conn=%llu msg=\"rate limited\" identity=%s", c->id,
             log_quote(id  ? id->name
                       : s ? s->owner
                           : "anonymous"));
    http_respond_jsonrpc_error(c, 429, ERR_SERVER, message, extra);
    return false;
}

/* The session a request names in Mcp-Session-Id: answers 400 or 404 itself. */
static struct http_session *named_session(struct http_conn *c, struct http_identity *id)
{
    const char *sid = http_reader_header(&c->reader, "Mcp-Session-Id");
    struct http_session *s;

    if (!sid) {
        http_respond_jsonrpc_error(c, 400, ERR_SERVER,
                                   "Bad Request: Mcp-Session-Id header is required", NULL);
        return NULL;
    }
    s = session_find(c->srv, sid, id);
    if (!s)
        http_respond_jsonrpc_error(c, 404, ERR_SESSION_NOT_FOUND,
                                   "Not Found: no such MCP session (it may have ended)", NULL);
    return s;
}

/* A new session for an initialize request; answers the refusal itself. */
static struct http_session *initial_session(struct http_conn *c, json_t *value,
                                            struct http_identity *id)
{
    struct http_session *s;

    if (!is_initialize(value)) {
        http_respond_jsonrpc_error(c, 400, ERR_SERVER,
                                   "Bad Request: Mcp-Session-Id header is required", NULL);
        return NULL;
    }
    if (!rate_allows(c, NULL, id))
        return NULL;
    if (id && id->sessions >= HTTP_MAX_MCP_SESSIONS_PER_IDENTITY) {
        http_respond_jsonrpc_error(c, 429, ERR_SERVER,
                                   "Too Many Requests: this client holds too many MCP sessions; "
                                   "end one with DELETE /mcp",
                                   "Retry-After: 60\r\n");
        return NULL;
    }
    s = session_new(c->srv, id);
    if (!s)
        http_respond_jsonrpc_error(c, 503, ERR_SERVER, "Service Unavailable: too many MCP sessions",
                                   NULL);
    return s;
}

/* Hands value to the session's conversation; answers now or when it is ready. */
static void deliver(struct http_conn *c, struct http_session *s, json_t *value)
{
    struct http_exchange *ex = exchange_new(s, c, HTTP_EX_POST);

    s->last_used = ev_now(c->srv->loop);
    exchange_expect(ex, value);
    s->current = ex;
    mcp_conn_receive_value(s->conn, value);
    s->current = NULL;
    if (ex->done) {
        exchange_free(ex);
    } else if (!ex->expects) {
        exchange_free(ex);
        http_respond(c, 202, NULL, NULL, "", 0);
    }
}

static json_t *read_body(struct http_conn *c)
{
    const char *ctype = http_reader_header(&c->reader, "Content-Type");
    struct jsonrpc_error err;
    json_t *value;

    if (!ctype || strncasecmp(ctype, "application/json", 16) != 0) {
        http_respond_jsonrpc_error(c, 415, ERR_SERVER,
                                   "Unsupported Media Type: Content-Type must be application/json",
                                   NULL);
        return NULL;
    }
    value = jsonrpc_parse(c->reader.body.data ? c->reader.body.data : "", c->reader.body.len,
                          c->srv->cfg.limits->max_message_bytes, &err);
    if (!value)
        http_respond_jsonrpc_error(c, 400, err.code, err.message, NULL);
    return value;
}

static void post(struct http_conn *c, struct http_identity *id)
{
    const char *sid = http_reader_header(&c->reader, "Mcp-Session-Id");
    json_t *value = read_body(c);
    struct http_session *s;
    bool created = !sid;

    if (!value)
        return;
    s = created ? initial_session(c, value, id) : named_session(c, id);
    if (s && (created || rate_allows(c, s, id))) {
        deliver(c, s, value);
        if (created && !mcp_conn_version(s->conn))
            session_end(s, "initialize refused");
        else if (created)
            log_info("mcp_session=%.8s owner=%s msg=\"mcp session started\" version=%s", s->id,
                     log_quote(s->owner), mcp_conn_version(s->conn));
    }
    json_decref(value);
}

struct replay_target {
    struct http_conn *c;
};

static void replay_one(const char *text, size_t len, void *arg)
{
    http_stream_send(((struct replay_target *)arg)->c, text, len);
}

/* GET with Last-Event-ID of a POST's stream: what it missed, then the rest. */
static void resume_post(struct http_conn *c, struct http_session *s, unsigned stream, uint64_t seq)
{
    struct http_exchange *ex = exchange_by_stream(s, stream);
    struct replay_target target = {c};
    char header[96];
    unsigned n;

    session_header(s, header, sizeof(header));
    http_stream_open(c, "text/event-stream", header);
    n = http_replay_since(&s->replay, stream, seq, replay_one, &target);
    log_info("mcp_session=%.8s msg=\"stream resumed\" stream=%u replayed=%u pending=%s", s->id,
             stream, n, ex ? "yes" : "no");
    if (!ex) {
        http_stream_close(c);
        return;
    }
    if (ex->conn) {
        struct http_conn *old = ex->conn;

        detach(ex);
        http_stream_close(old);
    }
    ex->conn = c;
    c->exchange = ex;
}

static void open_standalone(struct http_conn *c, struct http_session *s, bool resume, uint64_t seq)
{
    struct replay_target target = {c};
    char header[96], priming[48];

    if (s->standalone) {
        struct http_conn *old = s->standalone->conn;

        exchange_free(s->standalone); /* a newer GET stream replaces it */
        if (old)
            http_stream_close(old);
    }
    s->standalone = exchange_new(s, c, HTTP_EX_STREAM);
    s->standalone->sse = true;
    session_header(s, header, sizeof(header));
    http_stream_open(c, "text/event-stream", header);
    snprintf(priming, sizeof(priming), "id: 0-%llu\ndata: \n\n", (unsigned long long)s->next_seq);
    http_stream_send(c, priming, strlen(priming));
    if (resume)
        http_replay_since(&s->replay, 0, seq, replay_one, &target);
}

static void get_stream(struct http_conn *c, struct http_identity *id)
{
    const char *accept = http_reader_header(&c->reader, "Accept");
    const char *last = http_reader_header(&c->reader, "Last-Event-ID");
    struct http_session *s;
    unsigned stream = 0;
    uint64_t seq = 0;
    bool resume;

    if (!accept || !strstr(accept, "text/event-stream")) {
        http_respond_jsonrpc_error(
            c, 406, ERR_SERVER, "Not Acceptable: GET /mcp needs Accept: text/event-stream", NULL);
        return;
    }
    s = named_session(c, id);
    if (!s || !rate_allows(c, s, id))
        return;
    s->last_used = ev_now(c->srv->loop);
    resume = last && http_sse_parse_id(last, &stream, &seq);
    if (resume && stream != 0)
        resume_post(c, s, stream, seq);
    else
        open_standalone(c, s, resume, seq);
}

static void delete_session(struct http_conn *c, struct http_identity *id)
{
    struct http_session *s = named_session(c, id);

    if (!s)
        return;
    session_end(s, "deleted by the client");
    http_respond(c, 204, NULL, NULL, "", 0);
}

/* Bearer token when any is configured; NULL identity otherwise. */
static bool authenticate(struct http_conn *c, struct http_identity **id)
{
    struct mcp_http *srv = c->srv;

    *id = NULL;
    if (!srv->auth.count)
        return true;
    *id = http_auth_identify(&srv->auth, http_reader_header(&c->reader, "Authorization"));
    if (*id)
        return true;
    srv->stats.auth_failed++;
    log_info("http_conn=%llu msg=\"bearer token missing or unknown\"", c->id);
    http_respond_jsonrpc_error(c, 401, ERR_SERVER, "Unauthorized: a valid bearer token is required",
                               "WWW-Authenticate: Bearer\r\n");
    return false;
}

void http_mcp_handle(struct http_conn *c)
{
    const char *method = http_reader_method(&c->reader);
    const char *version = http_reader_header(&c->reader, "MCP-Protocol-Version");
    struct http_identity *id;

    if (!authenticate(c, &id))
        return;
    if (version && !version_supported(version)) {
        http_respond_jsonrpc_error(c, 400, ERR_SERVER,
                                   "Bad Request: unsupported MCP-Protocol-Version", NULL);
        return;
    }
    if (strcmp(method, "POST") == 0)
        post(c, id);
    else if (strcmp(method, "GET") == 0)
        get_stream(c, id);
    else if (strcmp(method, "DELETE") == 0)
        delete_session(c, id);
    else
        http_respond_jsonrpc_error(c, 405, ERR_SERVER, "Method Not Allowed",
                                   "Allow: GET, POST, DELETE\r\n");
}

void http_mcp_conn_gone(struct http_conn *c)
{
    struct http_exchange *ex = c->exchange;

    if (!ex)
        return;
    detach(ex);
    if (ex->kind == HTTP_EX_STREAM)
        exchange_free(ex);
    else
        log_debug("mcp_session=%.8s msg=\"client left before the answer\" sse=%d", ex->session->id,
                  ex->sse);
}

static bool session_idle(const struct http_session *s, double now)
{
    return !s->exchanges && mcp_conn_in_flight(s->conn) == 0 &&
           now - s->last_used >= s->srv->cfg.session_timeout;
}

void http_mcp_sweep(struct mcp_http *srv, double now)
{
    for (unsigned b = 0; b < HTTP_SESSION_HASH; b++) {
        struct http_session *s = srv->sessions[b], *next;

        for (; s; s = next) {
            next = s->hnext;
            if (session_idle(s, now))
                session_end(s, "idle MCP session");
        }
    }
}

size_t http_mcp_in_flight(const struct mcp_http *srv)
{
    size_t n = 0;

    for (unsigned b = 0; b < HTTP_SESSION_HASH; b++)
        for (const struct http_session *s = srv->sessions[b]; s; s = s->hnext)
            n += mcp_conn_in_flight(s->conn);
    return n;
}

void http_mcp_end_streams(struct mcp_http *srv)
{
    for (unsigned b = 0; b < HTTP_SESSION_HASH; b++) {
        for (struct http_session *s = srv->sessions[b]; s; s = s->hnext) {
            struct http_conn *c = s->standalone ? s->standalone->conn : NULL;

            if (!s->standalone)
                continue;
            exchange_free(s->standalone);
            if (c)
                http_stream_close(c);
        }
    }
}

void http_mcp_end_all(struct mcp_http *srv, const char *reason)
{
    for (unsigned b = 0; b < HTTP_SESSION_HASH; b++)
        while (srv->sessions[b])
            session_end(srv->sessions[b], reason);
}
