/* One MCP client's conversation: lifecycle, dispatch, tool calls in flight. */
#include "mcp/conn.h"

#include "mcp/jsonrpc.h"
#include "proxy/buf.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum conn_phase {
    CONN_NEW,          /* waiting for initialize */
    CONN_INITIALIZING, /* initialize answered; notifications/initialized not yet seen */
    CONN_READY,        /* initialized */
};

/* The answers of one batch, sent together once every element is answered. */
struct batch {
    json_t *responses; /* array */
    int pending;       /* requests of the batch still in flight */
    bool parsed;       /* every element has been read */
};

/* A tools/call waiting for the backend. */
struct call {
    struct mcp_conn *conn;
    json_t *id;             /* the request id (a copy) */
    json_t *request;        /* keeps the arguments alive while the backend works */
    json_t *progress_token; /* or NULL when the client asked for no progress */
    double last_progress;
    const struct mcp_tool *tool;
    struct batch *batch; /* or NULL */
    struct mcp_job *job; /* the backend's handle, NULL while starting or when done at once */
    struct mcp_caller caller;
    struct timespec started;
    bool starting; /* inside the backend's start function */
    bool finished; /* done ran while starting */
    struct call *prev, *next;
};

/* Syslog order, as logging/setLevel names them. */
static const char *const log_levels[] = {"debug", "info",     "notice", "warning",
                                         "error", "critical", "alert",  "emergency"};
#define LOG_LEVEL_NONE 8 /* no logging/setLevel yet: send no log notifications */

struct mcp_conn {
    struct mcp_conn_config cfg;
    char *owner;
    enum conn_phase phase;
    const char *version; /* negotiated, a static string */
    struct mcp_version_features features;
    int log_level; /* index in log_levels, or LOG_LEVEL_NONE */
    struct call *calls;
    size_t in_flight;
    unsigned long long received; /* messages, for logs */
    bool closing;                /* being freed: answers go nowhere */
};

static const char *const versions[] = {MCP_PROTOCOL_VERSIONS};

static json_t *must(json_t *value)
{
    if (!value)
        panic("out of memory building an MCP message");
    return value;
}

struct mcp_conn *mcp_conn_new(const struct mcp_conn_config *cfg)
{
    struct mcp_conn *conn = xcalloc(1, sizeof(*conn));

    conn->cfg = *cfg;
    conn->owner = xstrdup(cfg->owner);
    conn->cfg.owner = conn->owner;
    conn->log_level = LOG_LEVEL_NONE;
    return conn;
}

const char *mcp_conn_version(const struct mcp_conn *conn)
{
    return conn->version;
}

size_t mcp_conn_in_flight(const struct mcp_conn *conn)
{
    return conn->in_flight;
}

/* Sends msg (stolen); about names the request it answers or belongs to. */
static void send_about(struct mcp_conn *conn, json_t *msg, const json_t *about, bool is_answer)
{
    size_t len;
    char *text = jsonrpc_dump(msg, &len);

    if (conn->cfg.send_about)
        conn->cfg.send_about(text, len, about, is_answer, conn->cfg.send_arg);
    else
        conn->cfg.send(text, len, conn->cfg.send_arg);
    free(text);
    json_decref(msg);
}

static void send_message(struct mcp_conn *conn, json_t *msg)
{
    send_about(conn, msg, NULL, true);
}

/* The first usable id among a batch's responses: the batch's name for routing. */
static const json_t *batch_about(json_t *responses)
{
    size_t i;
    json_t *one;

    json_array_foreach(responses, i, one)
    {
        json_t *id = json_object_get(one, "id");

        if (jsonrpc_id_valid(id))
            return id;
    }
    return NULL;
}

/* Sends a response, or adds it to its batch. Steals msg. */
static void answer(struct mcp_conn *conn, struct batch *batch, json_t *msg)
{
    if (batch) {
        json_array_append_new(batch->responses, msg);
    } else {
        json_t *id = json_object_get(msg, "id");

        send_about(conn, msg, jsonrpc_id_valid(id) ? id : NULL, true);
    }
}

static void answer_error(struct mcp_conn *conn, struct batch *batch, json_t *id, int code,
                         const char *message)
{
    answer(conn, batch, jsonrpc_error(id, code, message, NULL));
}

static void batch_flush(struct mcp_conn *conn, struct batch *batch)
{
    if (!batch->parsed || batch->pending > 0)
        return;
    /* A batch of notifications only is answered with nothing at all. */
    if (json_array_size(batch->responses) > 0 && !conn->closing)
        send_about(conn, json_incref(batch->responses), batch_about(batch->responses), true);
    json_decref(batch->responses);
    free(batch);
}

/* Sends notifications/message when the client asked for this level; about
 * is the request the event belongs to. */
static void client_log(struct mcp_conn *conn, const json_t *about, int level, json_t *data)
{
    if (level >= conn->log_level)
        send_about(conn,
                   jsonrpc_notification("notifications/message",
                                        must(json_pack("{s:s,s:s,s:o}", "level", log_levels[level],
                                                       "logger", "omcp-rproxy", "data", data))),
                   about, false);
    else
        json_decref(data);
}

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 +
           (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static void call_unlink(struct call *call)
{
    struct mcp_conn *conn = call->conn;

    if (call->prev)
        call->prev->next = call->next;
    else
        conn->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    conn->in_flight--;
}

/* Forgets a call: its answer, if any, has been given or will never be. */
static void call_free(struct call *call)
{
    struct batch *batch = call->batch;
    struct mcp_conn *conn = call->conn;

    call_unlink(call);
    json_decref(call->id);
    json_decref(call->request);
    free(call);
    if (batch) {
        batch->pending--;
        batch_flush(conn, batch);
    }
}

/* Arguments whose text is the user's work, not a parameter: the audit line
 * gives their size only. */
static bool audit_size_only(const char *key)
{
    return strcmp(key, "code") == 0 || strcmp(key, "sql") == 0 || strcmp(key, "content") == 0;
}

/* The call's arguments as logfmt pairs: scalars as they are (long strings
 * cut), bodies by their size, objects flattened one level deep. */
static void audit_args(struct buf *out, const char *prefix, json_t *args)
{
    const char *key;
    json_t *value;
    char cut[129];

    json_object_foreach(args, key, value)
    {
        if (json_is_string(value) && audit_size_only(key)) {
            buf_printf(out, " %s%s_bytes=%zu", prefix, key, json_string_length(value));
        } else if (json_is_string(value)) {
            snprintf(cut, sizeof(cut), "%s", json_string_value(value));
            buf_printf(out, " %s%s=%s", prefix, key, log_quote(cut));
        } else if (json_is_number(value)) {
            buf_printf(out, " %s%s=%g", prefix, key, json_number_value(value));
        } else if (json_is_boolean(value)) {
            buf_printf(out, " %s%s=%s", prefix, key, json_is_true(value) ? "true" : "false");
        } else if (json_is_object(value) && !*prefix) {
            char nested[64];

            snprintf(nested, sizeof(nested), "%s.", key);
            audit_args(out, nested, value);
        }
    }
}

/* One audit line per tool call, with who asked, what, and how it ended. */
static void log_outcome(struct call *call, const struct mcp_result *res, double ms)
{
    struct mcp_conn *conn = call->conn;
    const char *tool = mcp_tool_name(call->tool);
    struct buf args = BUF_INIT;

    if (log_enabled(L_INFO)) {
        audit_args(&args, "",
                   json_object_get(json_object_get(call->request, "params"), "arguments"));
        log_info("owner=%s tool=%s msg=\"tool call\" outcome=%s ms=%.2f%s", log_quote(conn->owner),
                 tool, res->error ? log_quote(res->error) : "ok", ms, args.len ? args.data : "");
        buf_free(&args);
    }
    if (conn->cfg.outcome)
        conn->cfg.outcome(tool, res->error, ms / 1e3, conn->cfg.outcome_arg);
    if (res->error)
        client_log(conn, call->id, 3,
                   must(json_pack("{s:s,s:s,s:s,s:f}", "event", "tool_failed", "tool", tool, "code",
                                  res->error, "ms", ms)));
    else
        client_log(conn, call->id, 1,
                   must(json_pack("{s:s,s:s,s:f}", "event", "tool_done", "tool", tool, "ms", ms)));
}

/* The backend's answer to a tools/call. */
static void call_done(const struct mcp_result *res, void *arg)
{
    struct call *call = arg;
    struct mcp_conn *conn = call->conn;

    log_outcome(call, res, elapsed_ms(&call->started));
    answer(conn, call->batch, jsonrpc_result(call->id, mcp_tool_result(res, &conn->features)));
    call->job = NULL;
    if (call->starting)
        call->finished = true; /* mcp_conn still holds it; freed when the start returns */
    else
        call_free(call);
}

static void call_progress(double progress, double total, const char *message, void *arg)
{
    struct call *call = arg;
    json_t *params;

    /* Progress must grow with each notification; drop what would not. */
    if (!call->progress_token || progress <= call->last_progress)
        return;
    call->last_progress = progress;
    params =
        must(json_pack("{s:O,s:f}", "progressToken", call->progress_token, "progress", progress));
    if (total > 0)
        json_object_set_new(params, "total", must(json_real(total)));
    if (message && strcmp(call->conn->version, "2024-11-05") != 0)
        json_object_set_new(params, "message", must(json_string(message)));
    send_about(call->conn, jsonrpc_notification("notifications/progress", params), call->id, false);
}

static struct call *call_new(struct mcp_conn *conn, json_t *id, json_t *request,
                             const struct mcp_tool *tool, struct batch *batch)
{
    struct call *call = xcalloc(1, sizeof(*call));
    json_t *meta = json_object_get(json_object_get(request, "params"), "_meta");
    json_t *token = json_object_get(meta, "progressToken");

    call->conn = conn;
    call->id = must(json_copy(id));
    call->request = json_incref(request);
    if (json_is_string(token) || json_is_integer(token))
        call->progress_token = token;
    call->last_progress = -1;
    call->tool = tool;
    call->batch = batch;
    call->caller = (struct mcp_caller){conn->owner, call_done, call_progress, call};
    clock_gettime(CLOCK_MONOTONIC, &call->started);

    call->next = conn->calls;
    if (conn->calls)
        conn->calls->prev = call;
    conn->calls = call;
    conn->in_flight++;
    if (batch)
        batch->pending++;
    return call;
}

/* create_session when the owner already holds max_owner_sessions sessions. */
static bool owner_limit_reached(struct mcp_conn *conn, const struct mcp_tool *tool)
{
    struct mcp_backend *b = conn->cfg.backend;

    return conn->cfg.max_owner_sessions && b->ops->owner_sessions &&
           strcmp(mcp_tool_name(tool), "create_session") == 0 &&
           b->ops->owner_sessions(b, conn->owner) >= conn->cfg.max_owner_sessions;
}

static void refuse_owner_limit(struct call *call)
{
    unsigned max = call->conn->cfg.max_owner_sessions;

    mcp_fail(&call->caller, "max_sessions_reached", true,
             must(json_pack("{s:s,s:i}", "scope", "identity", "max_sessions", (int)max)),
             "this client identity already holds %u sessions, its limit; close one with "
             "close_session first",
             max);
}

static void tools_call(struct mcp_conn *conn, json_t *request, const struct jsonrpc_msg *msg,
                       struct batch *batch)
{
    json_t *name = json_object_get(msg->params, "name");
    json_t *args = json_object_get(msg->params, "arguments");
    const struct mcp_tool *tool;
    struct call *call;
    char why[160];

    if (!json_is_object(msg->params) || !json_is_string(name)) {
        answer_error(conn, batch, msg->id, JSONRPC_INVALID_PARAMS,
                     "Invalid params: tools/call needs params.name, a string");
        return;
    }
    tool = mcp_tool_find(json_string_value(name));
    if (!tool) {
        snprintf(why, sizeof(why), "Unknown tool: %.100s", json_string_value(name));
        answer_error(conn, batch, msg->id, JSONRPC_INVALID_PARAMS, why);
        return;
    }
    if (args && !json_is_object(args) && !json_is_null(args)) {
        answer_error(conn, batch, msg->id, JSONRPC_INVALID_PARAMS,
                     "Invalid params: params.arguments must be an object");
        return;
    }

    call = call_new(conn, msg->id, request, tool, batch);
    if (owner_limit_reached(conn, tool)) {
        refuse_owner_limit(call);
        return;
    }
    call->starting = true;
    call->job = mcp_tool_start(tool, json_is_object(args) ? args : NULL, conn->cfg.limits,
                               conn->cfg.backend, &call->caller);
    call->starting = false;
    if (call->finished)
        call_free(call);
}

/* notifications/cancelled: the client no longer wants the answer. */
static void cancel_call(struct mcp_conn *conn, const json_t *params)
{
    json_t *id = json_object_get(params, "requestId");
    const char *reason = json_string_value(json_object_get(params, "reason"));

    for (struct call *call = conn->calls; call; call = call->next) {
        if (!json_equal(call->id, id))
            continue;
        log_info("owner=%s tool=%s msg=\"tool call cancelled by the client\" reason=%s",
                 log_quote(conn->owner), mcp_tool_name(call->tool),
                 log_quote(reason ? reason : ""));
        if (call->job)
            conn->cfg.backend->ops->cancel(conn->cfg.backend, call->job);
        call_free(call);
        return;
    }
}

static const char *negotiate(const char *asked)
{
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        if (asked && strcmp(asked, versions[i]) == 0)
            return versions[i];
    return versions[0];
}

static json_t *initialize_result(struct mcp_conn *conn)
{
    json_t *info = must(json_pack("{s:s,s:s}", "name", "omcp-rproxy", "version",
                                  conn->cfg.server_version ? conn->cfg.server_version : "0"));

    if (conn->features.structured)
        json_object_set_new(info, "title", must(json_string("omcp-rproxy: R sandboxes")));
    return must(json_pack(
        "{s:s,s:{s:{s:b},s:{}},s:o,s:s}", "protocolVersion", conn->version, "capabilities", "tools",
        "listChanged", 0, "logging", "serverInfo", info, "instructions",
        "Persistent, isolated R sessions with an OMOP CDM connection. Call create_session, "
        "then execute_in_session with its session_id (variables persist; cdm_con is a "
        "read-only DBI connection), omop_query for SQL, the *_session_file tools for "
        "/sandbox, and close_session when done. Failures carry "
        "{success:false, error:{code, message, retryable, details}}."));
}

static void initialize(struct mcp_conn *conn, const struct jsonrpc_msg *msg, struct batch *batch)
{
    json_t *asked = json_object_get(msg->params, "protocolVersion");

    if (conn->phase != CONN_NEW) {
        answer_error(conn, batch, msg->id, JSONRPC_INVALID_REQUEST,
                     "Invalid Request: initialize was already done");
        return;
    }
    if (batch) {
        answer_error(conn, batch, msg->id, JSONRPC_INVALID_REQUEST,
                     "Invalid Request: initialize must not be part of a batch");
        return;
    }
    if (!json_is_object(msg->params) || !json_is_string(asked)) {
        answer_error(conn, batch, msg->id, JSONRPC_INVALID_PARAMS,
                     "Invalid params: initialize needs params.protocolVersion, a string");
        return;
    }

    conn->version = negotiate(json_string_value(asked));
    conn->features.annotations = strcmp(conn->version, "2025-03-26") >= 0;
    conn->features.structured = strcmp(conn->version, "2025-06-18") >= 0;
    conn->phase = CONN_INITIALIZING;
    log_info("owner=%s msg=\"mcp initialize\" asked=%s version=%s client=%s",
             log_quote(conn->owner), log_quote(json_string_value(asked)), conn->version,
             log_quote(json_string_value(
                 json_object_get(json_object_get(msg->params, "clientInfo"), "name"))));
    answer(conn, batch, jsonrpc_result(msg->id, initialize_result(conn)));
}

static void set_level(struct mcp_conn *conn, const struct jsonrpc_msg *msg, struct batch *batch)
{
    const char *level = json_string_value(json_object_get(msg->params, "level"));

    for (int i = 0; level && i < LOG_LEVEL_NONE; i++) {
        if (strcmp(level, log_levels[i]) == 0) {
            conn->log_level = i;
            answer(conn, batch, jsonrpc_result(msg->id, NULL));
            return;
        }
    }
    answer_error(conn, batch, msg->id, JSONRPC_INVALID_PARAMS,
                 "Invalid params: level must be one of debug, info, notice, warning, error, "
                 "critical, alert, emergency");
}

static void tools_list(struct mcp_conn *conn, const struct jsonrpc_msg *msg, struct batch *batch)
{
    /* All tools fit on one page, so no cursor was ever handed out. */
    if (json_object_get(msg->params, "cursor")) {
        answer_error(conn, batch, msg->id, JSONRPC_INVALID_PARAMS,
                     "Invalid params: unknown cursor");
        return;
    }
    answer(conn, batch, jsonrpc_result(msg->id, mcp_tools_list(&conn->features)));
}

static void request(struct mcp_conn *conn, json_t *value, const struct jsonrpc_msg *msg,
                    struct batch *batch)
{
    char why[160];

    if (strcmp(msg->method, "ping") == 0) {
        answer(conn, batch, jsonrpc_result(msg->id, NULL));
        return;
    }
    if (strcmp(msg->method, "initialize") == 0) {
        initialize(conn, msg, batch);
        return;
    }
    if (conn->phase == CONN_NEW) {
        answer_error(conn, batch, msg->id, JSONRPC_INVALID_REQUEST,
                     "Invalid Request: the server is not initialized; send initialize first");
        return;
    }
    if (msg->params && !json_is_object(msg->params)) {
        answer_error(conn, batch, msg->id, JSONRPC_INVALID_PARAMS,
                     "Invalid params: MCP params must be an object");
        return;
    }

    if (strcmp(msg->method, "tools/list") == 0)
        tools_list(conn, msg, batch);
    else if (strcmp(msg->method, "tools/call") == 0)
        tools_call(conn, value, msg, batch);
    else if (strcmp(msg->method, "logging/setLevel") == 0)
        set_level(conn, msg, batch);
    else {
        snprintf(why, sizeof(why), "Method not found: %.100s", msg->method);
        answer_error(conn, batch, msg->id, JSONRPC_METHOD_NOT_FOUND, why);
    }
}

static void notification(struct mcp_conn *conn, const struct jsonrpc_msg *msg)
{
    if (strcmp(msg->method, "notifications/initialized") == 0) {
        if (conn->phase == CONN_INITIALIZING)
            conn->phase = CONN_READY;
    } else if (strcmp(msg->method, "notifications/cancelled") == 0) {
        cancel_call(conn, msg->params);
    } else {
        log_debug("owner=%s msg=\"notification ignored\" method=%s", log_quote(conn->owner),
                  log_quote(msg->method));
    }
}

/* One message, or one element of a batch. */
static void element(struct mcp_conn *conn, json_t *value, struct batch *batch)
{
    struct jsonrpc_msg msg;

    jsonrpc_classify(value, &msg);
    switch (msg.kind) {
    case JSONRPC_REQUEST:
        request(conn, value, &msg, batch);
        break;
    case JSONRPC_NOTIFICATION:
        notification(conn, &msg);
        break;
    case JSONRPC_RESPONSE:
        /* This server sends no requests, so no response is awaited. */
        log_debug("owner=%s msg=\"unexpected response ignored\"", log_quote(conn->owner));
        break;
    case JSONRPC_INVALID:
        answer_error(conn, batch, msg.id, msg.error_code, msg.error_message);
        break;
    }
}

static void receive_batch(struct mcp_conn *conn, json_t *array)
{
    struct batch *batch;
    size_t i;
    json_t *value;

    /* Batches exist in 2025-03-26 only: earlier and later versions refuse them. */
    if (!conn->version || strcmp(conn->version, "2025-03-26") != 0) {
        mcp_conn_refuse(conn, JSONRPC_INVALID_REQUEST,
                        conn->version ? "Invalid Request: this protocol version has no batches"
                                      : "Invalid Request: no batch before initialize");
        return;
    }
    if (json_array_size(array) == 0) {
        mcp_conn_refuse(conn, JSONRPC_INVALID_REQUEST, "Invalid Request: empty batch");
        return;
    }

    batch = xcalloc(1, sizeof(*batch));
    batch->responses = must(json_array());
    json_array_foreach(array, i, value)
    {
        element(conn, value, batch);
    }
    batch->parsed = true;
    batch_flush(conn, batch);
}

void mcp_conn_refuse(struct mcp_conn *conn, int code, const char *message)
{
    log_info("owner=%s msg=\"message refused\" code=%d why=%s", log_quote(conn->owner), code,
             log_quote(message));
    send_message(conn, jsonrpc_error(NULL, code, message, NULL));
}

void mcp_conn_receive_value(struct mcp_conn *conn, json_t *value)
{
    conn->received++;
    if (json_is_array(value))
        receive_batch(conn, value);
    else
        element(conn, value, NULL);
}

void mcp_conn_receive(struct mcp_conn *conn, const char *bytes, size_t len)
{
    struct jsonrpc_error err;
    json_t *value = jsonrpc_parse(bytes, len, conn->cfg.limits->max_message_bytes, &err);

    if (!value) {
        conn->received++;
        mcp_conn_refuse(conn, err.code, err.message);
        return;
    }
    mcp_conn_receive_value(conn, value);
    json_decref(value);
}

void mcp_conn_free(struct mcp_conn *conn, const char *reason)
{
    size_t cancelled = conn->in_flight;

    conn->closing = true;
    while (conn->calls) {
        struct call *call = conn->calls;

        if (call->job)
            conn->cfg.backend->ops->cancel(conn->cfg.backend, call->job);
        call_free(call);
    }
    if (conn->cfg.backend->ops->owner_gone && !conn->cfg.owner_shared)
        conn->cfg.backend->ops->owner_gone(conn->cfg.backend, conn->owner);
    log_info("owner=%s msg=\"mcp client gone\" reason=%s messages=%llu cancelled=%zu",
             log_quote(conn->owner), log_quote(reason), conn->received, cancelled);
    free(conn->owner);
    free(conn);
}
