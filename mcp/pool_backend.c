/* The MCP backend of a daemon with a warm pool: each MCP session leases one
 * slot, evaluations and queries run on the slot's warm R connection, and the
 * file tools work on the host side of the slot's workspace. */
#include "mcp/pool_backend.h"

#include "mcp/cdminfo.h"
#include "mcp/path.h"
#include "mcp/rcode.h"
#include "mcp/session.h"
#include "mcp/workspace.h"
#include "mcp/wsarchive.h"
#include "proxy/buf.h"
#include "proxy/log.h"
#include "proxy/mem.h"
#include "rserve/rjson.h"
#include "rserve/sexp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The last value of an evaluation is returned as JSON up to this size; the
 * rest is cut and the result says so. */
#define VALUE_JSON_MAX ((size_t)1 << 20)

struct mcp_pool_backend {
    struct mcp_backend base; /* first: the MCP layer sees only this */
    struct ev_loop *loop;
    struct pool *pool;
    struct mcp_session_table sessions;
    struct mcp_pool_backend_config cfg;
};

enum job_kind {
    JOB_CREATE, /* waiting for a lease */
    JOB_EXEC,   /* omcp_exec() running on the lease */
    JOB_QUERY,  /* omcp_query() running on the lease */
};

struct mcp_job {
    enum job_kind kind;
    struct mcp_pool_backend *b;
    struct mcp_caller caller;
    struct mcp_session *session; /* NULL once the session was closed under the job */
    struct pool_waiter *waiter;  /* JOB_CREATE while the pool has not answered */
    double timeout;              /* JOB_EXEC: max_duration_secs, for the error */
    bool starting;               /* the operation that made the job has not returned */
    bool finished;               /* answered while starting: the starter frees it */
    bool cancelled;              /* the client gave up: answer nobody */
    double started;              /* ev_time() when the evaluation was sent */
    ev_timer progress;           /* reports elapsed time while R runs */
};

/* Seconds between progress notifications of a running evaluation. */
#define PROGRESS_INTERVAL 1.0

static json_t *must(json_t *value)
{
    if (!value)
        panic("out of memory building a tool result");
    return value;
}

static struct mcp_pool_backend *backend_of(struct mcp_backend *b)
{
    return (struct mcp_pool_backend *)b;
}

/* ---- jobs ---- */

static void on_progress(struct ev_loop *loop, ev_timer *w, int revents);

static struct mcp_job *job_new(enum job_kind kind, struct mcp_pool_backend *b,
                               const struct mcp_caller *caller, struct mcp_session *s)
{
    struct mcp_job *job = xcalloc(1, sizeof(*job));

    job->kind = kind;
    job->b = b;
    job->caller = *caller;
    job->session = s;
    job->starting = true;
    ev_timer_init(&job->progress, on_progress, 0., 0.);
    job->progress.data = job;
    return job;
}

/* The job's work is over: free it, or leave that to its starter. */
static void job_end(struct mcp_job *job)
{
    ev_timer_stop(job->b->loop, &job->progress);
    if (job->starting)
        job->finished = true;
    else
        free(job);
}

/* What a starter returns: the job while it runs, NULL once it has ended. */
static struct mcp_job *job_started(struct mcp_job *job)
{
    job->starting = false;
    if (!job->finished)
        return job;
    free(job);
    return NULL;
}

static void answer(const struct mcp_caller *caller, json_t *fields, json_t *content)
{
    struct mcp_result res = {.fields = fields, .content = content};

    caller->done(&res, caller->arg);
    json_decref(fields);
    json_decref(content);
}

/* ---- sessions ---- */

static json_t *session_fields(const struct mcp_session *s)
{
    char created[32], used[32];

    mcp_session_format_time(s->created_at, created);
    mcp_session_format_time(s->last_used, used);
    return must(json_pack("{s:s,s:s,s:s,s:s?,s:f}", "session_id", s->id, "created_at", created,
                          "last_used", used, "cdm", s->cdm, "idle_timeout_secs", s->idle_timeout));
}

static void fail_lost(const struct mcp_caller *caller, const struct mcp_session *s)
{
    const char *cause = s->lost_cause ? s->lost_cause : POOL_CAUSE_CLOSED;
    const char *why = strcmp(cause, POOL_CAUSE_OOM) == 0 ? "R ran out of memory and the kernel "
                                                           "ended it"
                      : s->lost_reason                   ? s->lost_reason
                                                         : "connection closed";

    mcp_fail(caller, "session_lost", false,
             must(json_pack("{s:s,s:s}", "reason", cause, "message",
                            s->lost_reason ? s->lost_reason : "")),
             "The session's R process is gone (%s); its variables are lost. Close it and create "
             "a new session",
             why);
}

/* Finds the caller's session for a call that needs its R connection or
 * workspace; answers the failure and returns NULL when it cannot be used. */
static struct mcp_session *usable_session(struct mcp_pool_backend *b,
                                          const struct mcp_caller *caller, const char *id,
                                          bool needs_r)
{
    struct mcp_session *s = mcp_session_find(&b->sessions, id, caller->owner);

    if (!s) {
        mcp_fail(caller, "session_not_found", false, NULL,
                 "Session not found: no open session of this client has that session_id");
        return NULL;
    }
    if (s->state == MCP_SESSION_LOST && needs_r) {
        fail_lost(caller, s);
        return NULL;
    }
    if (s->state == MCP_SESSION_ACQUIRING && s->restored && needs_r) {
        mcp_fail(caller, "session_busy", true, NULL,
                 "The session is being restored after a restart of the server; try again in a "
                 "moment");
        return NULL;
    }
    if ((s->state == MCP_SESSION_ACQUIRING && !s->restored) || (needs_r && s->busy)) {
        mcp_fail(caller, "session_busy", true, NULL,
                 "The session is running another call; wait for it or cancel it");
        return NULL;
    }
    s->last_used = ev_time();
    if (s->slot)
        pool_touch(s->slot);
    return s;
}

static void session_lost(struct mcp_session *s, const char *cause, const char *reason)
{
    if (s->state == MCP_SESSION_LOST)
        return;
    s->lost_cause = cause;
    mcp_session_set_state(s, MCP_SESSION_LOST, reason);
}

/* The lease ended without the client asking: an idle timeout closes the
 * session, anything else leaves it lost until the client closes it. */
static void on_lease_lost(struct slot *slot, const char *code, const char *cause,
                          const char *reason, void *arg)
{
    struct mcp_session *s = arg;
    struct mcp_pool_backend *b = s->backend;

    if (strcmp(code, "idle_timeout") == 0) {
        log_info("session=%.8s msg=\"session closed\" reason=%s", s->id, log_quote(reason));
        mcp_session_remove(&b->sessions, s);
        return;
    }
    session_lost(s, cause, reason);
}

/* Ends a session: its lease is released (an evaluation in flight is
 * answered as closed) and it leaves the table. */
static void session_close(struct mcp_pool_backend *b, struct mcp_session *s, const char *reason)
{
    struct mcp_job *busy = s->busy;

    s->busy = NULL;
    if (busy)
        busy->session = NULL;
    if (busy && busy->kind == JOB_CREATE) {
        pool_acquire_cancel(b->pool, busy->waiter);
        mcp_fail(&busy->caller, "pool_stopping", true, NULL, "the daemon is shutting down");
        job_end(busy);
    }
    log_info("session=%.8s msg=\"session closed\" owner=%s reason=%s", s->id, log_quote(s->owner),
             log_quote(reason));
    if (s->state == MCP_SESSION_READY)
        pool_release(s->slot, reason);
    else if (s->state == MCP_SESSION_LOST && s->workspace)
        pool_forget_workspace(b->pool, s->workspace);
    mcp_session_remove(&b->sessions, s);
}

static void on_granted(const struct pool_grant *grant, void *arg)
{
    struct mcp_job *job = arg;
    struct mcp_session *s = job->session;
    json_t *fields;

    job->waiter = NULL;
    s->busy = NULL;
    if (!grant->slot) {
        mcp_session_remove(&job->b->sessions, s);
        if (!job->cancelled)
            mcp_fail(&job->caller, grant->error, grant->retryable, NULL, "%s", grant->message);
        job_end(job);
        return;
    }
    s->slot = grant->slot;
    free(s->workspace);
    s->workspace = xstrdup(pool_slot_workspace(grant->slot));
    free(s->cdm);
    s->cdm = *pool_slot_cdm(grant->slot) ? xstrdup(pool_slot_cdm(grant->slot)) : NULL;
    mcp_session_set_state(s, MCP_SESSION_READY, "slot leased");
    log_info("session=%.8s msg=\"session created\" owner=%s slot=%u cdm=%s acquire_ms=%.3f", s->id,
             log_quote(s->owner), pool_slot_id(grant->slot), s->cdm ? s->cdm : "-",
             grant->wait_seconds * 1e3);
    fields = session_fields(s);
    json_object_set_new(fields, "acquire_ms", must(json_real(grant->wait_seconds * 1e3)));
    json_object_set_new(fields, "cdm_opened_at_acquire", json_boolean(grant->cdm_opened));
    answer(&job->caller, fields, NULL);
    job_end(job);
}

static struct mcp_job *create_session(struct mcp_backend *mb, const struct mcp_caller *caller,
                                      const struct mcp_create_args *args)
{
    struct mcp_pool_backend *b = backend_of(mb);
    struct mcp_session *s;
    struct mcp_job *job;
    struct pool_acquire_args acquire = {.owner = caller->owner,
                                        .cdm = args->cdm,
                                        .idle_timeout = args->idle_timeout_secs,
                                        .lost = on_lease_lost,
                                        .keep_workspace = true};

    s = mcp_session_add(&b->sessions, caller->owner, args->cdm, args->idle_timeout_secs, ev_time());
    if (!s) {
        mcp_fail(caller, "backend_unavailable", true, NULL, "no random session id could be made");
        return NULL;
    }
    s->backend = b;
    acquire.lost_arg = s;
    acquire.session = s->id;
    acquire.created_at = s->created_at;
    job = job_new(JOB_CREATE, b, caller, s);
    s->busy = job;
    job->waiter = pool_acquire(b->pool, &acquire, on_granted, job);
    return job_started(job);
}

static struct mcp_job *list_sessions(struct mcp_backend *mb, const struct mcp_caller *caller)
{
    struct mcp_pool_backend *b = backend_of(mb);
    json_t *list = must(json_array());

    for (struct mcp_session *s = b->sessions.head; s; s = s->next) {
        json_t *entry;

        if (strcmp(s->owner, caller->owner) != 0 || s->state == MCP_SESSION_ACQUIRING)
            continue;
        entry = session_fields(s);
        json_object_set_new(entry, "id", must(json_string(s->id)));
        json_object_set_new(entry, "state", must(json_string(mcp_session_state_name(s->state))));
        json_object_set_new(entry, "history_count", must(json_integer(s->calls)));
        json_array_append_new(list, entry);
    }
    answer(
        caller,
        must(json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(list), "sessions", list)),
        NULL);
    return NULL;
}

static struct mcp_job *close_session(struct mcp_backend *mb, const struct mcp_caller *caller,
                                     const char *session_id)
{
    struct mcp_pool_backend *b = backend_of(mb);
    struct mcp_session *s = mcp_session_find(&b->sessions, session_id, caller->owner);
    char message[96];

    if (!s || (s->state == MCP_SESSION_ACQUIRING && !s->restored)) {
        mcp_fail(caller, "session_not_found", false, NULL,
                 "Session not found: no open session of this client has that session_id");
        return NULL;
    }
    snprintf(message, sizeof(message), "Session %s closed", s->id);
    session_close(b, s, "closed by the client");
    answer(caller, must(json_pack("{s:s}", "message", message)), NULL);
    return NULL;
}

/* ---- evaluations ---- */

/* The field of a named R list, or NULL. */
static const struct sexp *list_field(const struct sexp *list, const char *name)
{
    const struct sexp *names = sexp_attr(list, "names");

    if (!list || list->kind != SEXP_VEC || !names || names->kind != SEXP_STR || names->n != list->n)
        return NULL;
    for (uint64_t i = 0; i < list->n; i++)
        if (names->v.str[i] && strcmp(names->v.str[i], name) == 0)
            return list->v.elts[i];
    return NULL;
}

/* Decodes the list omcp_exec() or omcp_query() answers with: its meta JSON
 * as an object, and its value (may be NULL). False when it is not that. */
static bool decode_answer(const struct rconn_reply *reply, struct sexp_arena *arena, json_t **meta,
                          const struct sexp **value)
{
    const struct sexp *root, *text;
    struct sexp *tree;

    if (sexp_decode_param(reply->payload, reply->len, arena, NULL, &tree) != QAP_OK)
        return false;
    root = tree;
    text = list_field(root, "meta");
    if (!text || text->kind != SEXP_STR || text->n != 1 || !text->v.str[0])
        return false;
    *meta = json_loads(text->v.str[0], 0, NULL);
    *value = list_field(root, "value");
    return json_is_object(*meta);
}

static json_t *value_json(const struct sexp *value, bool *truncated)
{
    struct buf out = {0};
    struct rjson_result r = rjson_write(&out, value, VALUE_JSON_MAX);
    json_t *json = json_loadb(out.data, out.len, JSON_DECODE_ANY, NULL);

    buf_free(&out);
    *truncated = r.truncated;
    return json ? json : json_null();
}

/* The plots of meta as MCP image content. */
static json_t *plot_content(json_t *meta)
{
    json_t *plots = json_object_get(meta, "plots"), *content = NULL, *png;
    size_t i;

    json_array_foreach(plots, i, png)
    {
        if (!json_is_string(png))
            continue;
        if (!content)
            content = must(json_array());
        json_array_append_new(content, must(json_pack("{s:s,s:O,s:s}", "type", "image", "data", png,
                                                      "mimeType", "image/png")));
    }
    return content;
}

static json_t *exec_fields(json_t *meta, const struct sexp *value, double seconds)
{
    json_t *fields = must(json_object()), *info;
    bool has_value = json_is_true(json_object_get(meta, "has_value"));
    bool value_truncated = false;

    json_object_set(fields, "output", json_object_get(meta, "output"));
    if (json_is_string(json_object_get(meta, "result")))
        json_object_set(fields, "result", json_object_get(meta, "result"));
    if (has_value && value)
        json_object_set_new(fields, "value", value_json(value, &value_truncated));
    json_object_set(fields, "stream", json_object_get(meta, "stream"));
    json_object_set_new(
        fields, "plots",
        must(json_integer((json_int_t)json_array_size(json_object_get(meta, "plots")))));
    info = must(json_pack("{s:f,s:O}", "elapsed_secs", seconds, "output_truncated",
                          json_object_get(meta, "output_truncated")));
    if (json_is_string(json_object_get(meta, "output_file")))
        json_object_set(info, "output_file", json_object_get(meta, "output_file"));
    if (json_is_true(json_object_get(meta, "value_omitted")) || value_truncated)
        json_object_set_new(info, "value_truncated", json_true());
    json_object_set_new(fields, "meta", info);
    return fields;
}

/* An evaluation that R answered: its output, value and plots, or R's error. */
static void exec_answer(struct mcp_job *job, const struct pool_eval_result *res)
{
    struct sexp_arena arena;
    const struct sexp *value = NULL;
    json_t *meta = NULL, *fields, *error;
    const char *call, *text;

    sexp_arena_init(&arena);
    if (!decode_answer(res->reply, &arena, &meta, &value)) {
        mcp_fail(&job->caller, "execution_error", false, NULL,
                 "the sandbox answered with something that is not an evaluation result");
        goto out;
    }
    fields = exec_fields(meta, value, res->seconds);
    if (job->session && job->session->restored && !job->session->r_reset_told) {
        /* The first evaluation after a restart says that R began afresh. */
        json_object_set_new(json_object_get(fields, "meta"), "r_session_restarted", json_true());
        job->session->r_reset_told = true;
    }
    error = json_object_get(meta, "error");
    if (!json_is_object(error)) {
        answer(&job->caller, fields, plot_content(meta));
        goto out;
    }
    call = json_string_value(json_object_get(error, "call"));
    text = json_string_value(json_object_get(error, "text"));
    {
        struct mcp_result r = {.error = "execution_error", .fields = fields};
        char message[1024];

        snprintf(message, sizeof(message), "%s%s%s%s",
                 call ? "Error in " : "Error: ", call ? call : "", call ? " : " : "",
                 text ? text : "");
        r.message = message;
        r.details = must(json_pack("{s:s?,s:s?}", "call", call, "message", text));
        r.content = plot_content(meta);
        job->caller.done(&r, job->caller.arg);
        json_decref(r.details);
        json_decref(r.content);
        json_decref(fields);
    }
out:
    json_decref(meta);
    sexp_arena_free(&arena);
}

static void query_answer(struct mcp_job *job, const struct pool_eval_result *res)
{
    struct sexp_arena arena;
    const struct sexp *value;
    json_t *meta = NULL, *error;

    sexp_arena_init(&arena);
    if (!decode_answer(res->reply, &arena, &meta, &value)) {
        mcp_fail(&job->caller, "query_error", false, NULL,
                 "the sandbox answered with something that is not a query result");
        goto out;
    }
    error = json_object_get(meta, "error");
    if (json_is_object(error)) {
        mcp_fail(&job->caller, "query_error", false, NULL, "%s",
                 json_string_value(json_object_get(error, "message")));
        goto out;
    }
    if (job->session && job->session->cdm)
        json_object_set_new(meta, "cdm", must(json_string(job->session->cdm)));
    answer(&job->caller, json_incref(meta), NULL);
out:
    json_decref(meta);
    sexp_arena_free(&arena);
}

/* An evaluation on the lease ended: the slot may be gone (lost), R may have
 * been interrupted (timeout or cancel), or it answered. */
static void on_eval_done(struct slot *slot, const struct pool_eval_result *res, void *arg)
{
    struct mcp_job *job = arg;
    struct mcp_session *s = job->session;

    if (s) {
        s->busy = NULL;
        s->calls++;
        s->last_used = ev_time();
        if (res->lost)
            session_lost(s, res->cause,
                         res->reply->reason ? res->reply->reason : "connection closed");
    }
    if (job->cancelled)
        ;
    else if (!s)
        mcp_fail(&job->caller, "session_not_found", false, NULL,
                 "The session was closed while this call ran");
    else if (res->lost)
        fail_lost(&job->caller, s);
    else if (res->interrupted)
        mcp_fail(&job->caller, "execution_timeout", false,
                 must(json_pack("{s:f}", "max_duration_secs", job->timeout)),
                 "Execution timed out after %g seconds and R was interrupted; the session and "
                 "its variables are kept",
                 job->timeout);
    else if (res->reply->outcome != RCONN_REPLY_OK)
        mcp_fail(&job->caller, "execution_error", false, NULL, "Rserve answered with error %s",
                 qap_err_name(res->reply->status));
    else if (job->kind == JOB_EXEC)
        exec_answer(job, res);
    else
        query_answer(job, res);
    job_end(job);
}

static void on_progress(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct mcp_job *job = w->data;

    if (!job->cancelled)
        job->caller.progress(ev_time() - job->started, job->timeout, "R is running",
                             job->caller.arg);
}

static struct mcp_job *eval_start(struct mcp_pool_backend *b, const struct mcp_caller *caller,
                                  struct mcp_session *s, enum job_kind kind, const char *source,
                                  double timeout)
{
    struct mcp_job *job = job_new(kind, b, caller, s);

    job->timeout = timeout;
    job->started = ev_time();
    s->busy = job;
    if (caller->progress) {
        ev_timer_init(&job->progress, on_progress, PROGRESS_INTERVAL, PROGRESS_INTERVAL);
        job->progress.data = job;
        ev_timer_start(b->loop, &job->progress);
    }
    pool_eval(s->slot, source, timeout, on_eval_done, job);
    return job_started(job);
}

static struct mcp_job *execute(struct mcp_backend *mb, const struct mcp_caller *caller,
                               const struct mcp_exec_args *args)
{
    struct mcp_pool_backend *b = backend_of(mb);
    struct mcp_session *s = usable_session(b, caller, args->session_id, true);
    struct buf source = {0};
    struct mcp_job *job;

    if (!s)
        return NULL;
    buf_puts(&source, "omcp_exec(");
    mcp_rcode_string(&source, args->code);
    buf_printf(&source, ", max_output = %lld)", (long long)args->max_output_bytes);
    job = eval_start(b, caller, s, JOB_EXEC, source.data, args->max_duration_secs);
    buf_free(&source);
    return job;
}

static struct mcp_job *omop_query(struct mcp_backend *mb, const struct mcp_caller *caller,
                                  const struct mcp_query_args *args)
{
    struct mcp_pool_backend *b = backend_of(mb);
    struct mcp_session *s;
    struct buf source = {0};
    struct mcp_job *job = NULL;
    char keyword[16];

    mcp_sql_first_keyword(args->sql, keyword, sizeof(keyword));
    if (!mcp_sql_reads_only(keyword)) {
        mcp_fail(caller, "query_not_read_only", false,
                 must(json_pack("{s:s}", "statement", keyword)),
                 "omop_query runs read-only statements only (SELECT, WITH, EXPLAIN); %s is "
                 "refused and nothing was run",
                 *keyword ? keyword : "an empty statement");
        return NULL;
    }
    if (!(s = usable_session(b, caller, args->session_id, true)))
        return NULL;
    buf_puts(&source, "omcp_query(");
    mcp_rcode_string(&source, args->sql);
    buf_puts(&source, ", params = ");
    if (!mcp_rcode_params(&source, args->params)) {
        mcp_fail(caller, "invalid_params", false, NULL,
                 "params must map names ([A-Za-z_][A-Za-z0-9_]*) to strings, numbers, booleans "
                 "or null");
        goto out;
    }
    buf_printf(&source, ", max_rows = %lldL)", (long long)args->max_rows);
    job = eval_start(b, caller, s, JOB_QUERY, source.data, b->cfg.default_exec_timeout);
out:
    buf_free(&source);
    return job;
}

/* ---- cancellation ---- */

static void cancel(struct mcp_backend *mb, struct mcp_job *job)
{
    struct mcp_pool_backend *b = backend_of(mb);

    job->cancelled = true;
    ev_timer_stop(b->loop, &job->progress);
    if (job->kind == JOB_CREATE) {
        if (job->waiter)
            pool_acquire_cancel(b->pool, job->waiter);
        mcp_session_remove(&b->sessions, job->session);
        free(job);
        return;
    }
    /* The job ends when R answers the interrupt, or when the slot is lost. */
    if (job->session && job->session->slot)
        pool_interrupt(job->session->slot);
}

static void owner_gone(struct mcp_backend *mb, const char *owner)
{
    struct mcp_pool_backend *b = backend_of(mb);
    struct mcp_session *s, *next;

    for (s = b->sessions.head; s; s = next) {
        next = s->next;
        if (strcmp(s->owner, owner) == 0)
            session_close(b, s, "client gone");
    }
}

static unsigned owner_sessions(struct mcp_backend *mb, const char *owner)
{
    struct mcp_pool_backend *b = backend_of(mb);
    unsigned n = 0;

    if (!owner)
        return b->sessions.count;
    for (struct mcp_session *s = b->sessions.head; s; s = s->next)
        if (strcmp(s->owner, owner) == 0)
            n++;
    return n;
}

/* ---- files ---- */

static void ws_failed(const struct mcp_caller *caller, const struct mcp_ws_error *err,
                      const char *rel)
{
    mcp_fail(caller, err->code, false, must(json_pack("{s:s+}", "path", "/sandbox/", rel)), "%s",
             err->message);
}

static void sandbox_path(char *out, size_t size, const char *rel)
{
    snprintf(out, size, strcmp(rel, ".") == 0 ? "/sandbox" : "/sandbox/%s", rel);
}

static struct mcp_job *list_files(struct mcp_backend *mb, const struct mcp_caller *caller,
                                  const struct mcp_file_args *args)
{
    struct mcp_session *s = usable_session(backend_of(mb), caller, args->session_id, false);
    struct mcp_ws_error err;
    char path[MCP_PATH_MAX + 16];
    json_t *files;

    if (!s)
        return NULL;
    if (!(files = mcp_ws_list(s->workspace, args->path, &err))) {
        ws_failed(caller, &err, args->path);
        return NULL;
    }
    sandbox_path(path, sizeof(path), args->path);
    answer(caller,
           must(json_pack("{s:s,s:I,s:o}", "path", path, "count",
                          (json_int_t)json_array_size(files), "files", files)),
           NULL);
    return NULL;
}

static struct mcp_job *read_file(struct mcp_backend *mb, const struct mcp_caller *caller,
                                 const struct mcp_file_args *args)
{
    struct mcp_pool_backend *b = backend_of(mb);
    struct mcp_session *s = usable_session(b, caller, args->session_id, false);
    struct mcp_ws_error err;
    char path[MCP_PATH_MAX + 16], sum[17];
    unsigned char *bytes;
    json_t *content;
    size_t len;

    if (!s)
        return NULL;
    bytes = mcp_ws_read(s->workspace, args->path, b->cfg.max_file_read_bytes, &len, &err);
    if (!bytes) {
        ws_failed(caller, &err, args->path);
        return NULL;
    }
    if (args->base64) {
        char *text = mcp_base64_encode(bytes, len);

        content = must(json_string(text));
        free(text);
    } else {
        content = mcp_ws_text(bytes, len);
    }
    mcp_ws_checksum(bytes, len, sum);
    free(bytes);
    sandbox_path(path, sizeof(path), args->path);
    answer(caller,
           must(json_pack("{s:o,s:s,s:s,s:I,s:s}", "content", content, "encoding",
                          args->base64 ? "base64" : "text", "path", path, "size", (json_int_t)len,
                          "xxh3", sum)),
           NULL);
    return NULL;
}

static struct mcp_job *write_file(struct mcp_backend *mb, const struct mcp_caller *caller,
                                  const struct mcp_file_args *args)
{
    struct mcp_pool_backend *b = backend_of(mb);
    struct mcp_session *s = usable_session(b, caller, args->session_id, false);
    struct mcp_ws_error err;
    char path[MCP_PATH_MAX + 16], sum[17], message[MCP_PATH_MAX + 64];

    if (!s)
        return NULL;
    if (!mcp_ws_write(s->workspace, args->path, args->content, args->content_len,
                      (uid_t)b->cfg.sandbox_uid, &err)) {
        ws_failed(caller, &err, args->path);
        return NULL;
    }
    mcp_ws_checksum(args->content, args->content_len, sum);
    sandbox_path(path, sizeof(path), args->path);
    snprintf(message, sizeof(message), "Wrote %zu bytes to %s", args->content_len, path);
    answer(caller,
           must(json_pack("{s:s,s:s,s:I,s:s}", "message", message, "path", path, "size",
                          (json_int_t)args->content_len, "xxh3", sum)),
           NULL);
    return NULL;
}

static struct mcp_job *export_workspace(struct mcp_backend *mb, const struct mcp_caller *caller,
                                        const struct mcp_file_args *args)
{
    struct mcp_pool_backend *b = backend_of(mb);
    struct mcp_session *s = usable_session(b, caller, args->session_id, false);
    struct mcp_ws_archive_stats st;
    struct mcp_ws_error err;
    char path[MCP_PATH_MAX + 16], sum[17];
    unsigned char *tar;
    char *text;

    if (!s)
        return NULL;
    tar = mcp_ws_export(s->workspace, args->path, b->cfg.max_file_read_bytes, &st, &err);
    if (!tar) {
        ws_failed(caller, &err, args->path);
        return NULL;
    }
    mcp_ws_checksum(tar, st.archive_len, sum);
    text = mcp_base64_encode(tar, st.archive_len);
    free(tar);
    sandbox_path(path, sizeof(path), args->path);
    answer(caller,
           must(json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:s}", "archive", text, "format", "tar",
                          "path", path, "files", (json_int_t)st.files, "skipped",
                          (json_int_t)st.skipped, "bytes", (json_int_t)st.bytes, "size",
                          (json_int_t)st.archive_len, "xxh3", sum)),
           NULL);
    free(text);
    return NULL;
}

static struct mcp_job *import_workspace(struct mcp_backend *mb, const struct mcp_caller *caller,
                                        const struct mcp_file_args *args)
{
    struct mcp_pool_backend *b = backend_of(mb);
    struct mcp_session *s = usable_session(b, caller, args->session_id, false);
    struct mcp_ws_archive_stats st;
    struct mcp_ws_error err;
    char path[MCP_PATH_MAX + 16], message[MCP_PATH_MAX + 96];

    if (!s)
        return NULL;
    if (!mcp_ws_import(s->workspace, args->path, args->content, args->content_len,
                       b->cfg.workspace_size, b->cfg.workspace_size, (uid_t)b->cfg.sandbox_uid, &st,
                       &err)) {
        ws_failed(caller, &err, args->path);
        return NULL;
    }
    sandbox_path(path, sizeof(path), args->path);
    snprintf(message, sizeof(message), "Unpacked %u files (%llu bytes) into %s", st.files,
             (unsigned long long)st.bytes, path);
    answer(caller,
           must(json_pack("{s:s,s:s,s:I,s:I}", "message", message, "path", path, "files",
                          (json_int_t)st.files, "bytes", (json_int_t)st.bytes)),
           NULL);
    return NULL;
}

/* ---- the rest ---- */

static struct mcp_job *install_package(struct mcp_backend *mb, const struct mcp_caller *caller,
                                       const struct mcp_install_args *args)
{
    if (!usable_session(backend_of(mb), caller, args->session_id, true))
        return NULL;
    mcp_fail(
        caller, "install_unavailable", false,
        must(json_pack("{s:s,s:s}", "package_name", args->package_name, "source", args->source)),
        "Cannot install %s: the sandbox has no network and this server has no local "
        "package repository configured. Use the packages already in the image "
        "(library() lists them)",
        args->package_name);
    return NULL;
}

static struct mcp_job *describe_cdm(struct mcp_backend *mb, const struct mcp_caller *caller)
{
    struct mcp_pool_backend *b = backend_of(mb);
    const char *const *names = pool_cdms(b->pool);
    json_t *cdms = must(json_array());
    const char *fallback = NULL;

    for (size_t i = 0; names && names[i]; i++) {
        json_array_append_new(cdms, mcp_cdm_describe(b->cfg.cdm_dir, names[i]));
        if (strcmp(names[i], b->cfg.cdm_default) == 0)
            fallback = names[i];
    }
    answer(caller, must(json_pack("{s:s?,s:o}", "default", fallback, "cdms", cdms)), NULL);
    return NULL;
}

static json_t *hist_json(const struct hist *h)
{
    return must(json_pack("{s:I,s:f,s:f,s:f}", "count", (json_int_t)h->count, "p50_ms",
                          hist_quantile(h, 0.5) * 1e3, "p99_ms", hist_quantile(h, 0.99) * 1e3,
                          "max_ms", h->max * 1e3));
}

static struct mcp_job *pool_status(struct mcp_backend *mb, const struct mcp_caller *caller)
{
    struct mcp_pool_backend *b = backend_of(mb);
    const struct pool_stats *st = pool_stats(b->pool);
    json_t *slots = must(json_object()), *sessions = must(json_array()), *counters;
    double now = ev_time();

    for (int i = 0; i < SLOT_NSTATES; i++)
        json_object_set_new(slots, slot_state_name((enum slot_state)i),
                            must(json_integer(st->slots[i])));
    for (struct mcp_session *s = b->sessions.head; s; s = s->next)
        if (strcmp(s->owner, caller->owner) == 0)
            json_array_append_new(
                sessions, must(json_pack("{s:s,s:s,s:f,s:f}", "session_id", s->id, "state",
                                         mcp_session_state_name(s->state), "age_secs",
                                         now - s->created_at, "idle_secs", now - s->last_used)));
    counters =
        must(json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "created", (json_int_t)st->created,
                       "retired", (json_int_t)st->retired, "leases", (json_int_t)st->leases,
                       "recycled", (json_int_t)st->recycled, "acquire_failed",
                       (json_int_t)st->acquire_failed, "lost", (json_int_t)st->lost, "interrupts",
                       (json_int_t)st->interrupts, "start_failed", (json_int_t)st->start_failed));
    json_object_set_new(counters, "adopted", must(json_integer((json_int_t)st->adopted)));
    json_object_set_new(counters, "kept_workspaces",
                        must(json_integer((json_int_t)st->kept_workspaces)));
    json_object_set_new(counters, "state_writes", must(json_integer((json_int_t)st->state_writes)));
    json_object_set_new(counters, "state_bytes", must(json_integer((json_int_t)st->state_bytes)));
    json_object_set_new(counters, "state_write_failures",
                        must(json_integer((json_int_t)st->state_write_failures)));
    answer(caller,
           must(json_pack("{s:o,s:I,s:I,s:b,s:b,s:b,s:I,s:I,s:o,s:o,s:{s:o,s:o,s:o}}", "slots",
                          slots, "max_sandboxes", (json_int_t)b->cfg.max_sandboxes, "warm_target",
                          (json_int_t)b->cfg.warm_target, "ready", pool_ready(b->pool), "engine_up",
                          st->engine_up, "state_writable", !st->state_failing, "waiters",
                          (json_int_t)st->waiters, "sessions_total", (json_int_t)b->sessions.count,
                          "sessions", sessions, "counters", counters, "latency", "acquire",
                          hist_json(&st->acquire), "container_start", hist_json(&st->start), "eval",
                          hist_json(&st->eval))),
           NULL);
    return NULL;
}

/* ---- sessions brought back after a restart ---- */

static struct mcp_session *restored_session(struct mcp_pool_backend *b,
                                            const struct pool_restored *r)
{
    struct mcp_session *s;

    for (s = b->sessions.head; s; s = s->next)
        if (strcmp(s->id, r->session) == 0)
            return s;
    if (strlen(r->session) != MCP_SESSION_ID_LEN || r->announced)
        return NULL; /* announced before and gone now: it was closed meanwhile */
    s = mcp_session_restore(&b->sessions, r->session, r->owner, r->cdm, r->idle_timeout,
                            r->created_at, r->last_used);
    s->backend = b;
    s->workspace = xstrdup(r->workspace);
    log_info("session=%.8s msg=\"session restored from the state file\" owner=%s", s->id,
             log_quote(s->owner));
    return s;
}

/* The pool reports each lease its state file named: pending while its
 * container is reconnected, then ready (R starts afresh, files intact) or
 * lost (files only). A session closed meanwhile lets go of what arrives. */
static void on_restored(const struct pool_restored *r, void *arg)
{
    struct mcp_pool_backend *b = arg;
    struct mcp_session *s = restored_session(b, r);

    if (!s && r->kind == POOL_RESTORE_READY) {
        pool_release(r->slot, "its session was closed while it was restored");
        return;
    }
    if (!s && r->kind == POOL_RESTORE_LOST) {
        pool_forget_workspace(b->pool, r->workspace);
        return;
    }
    if (!s || r->kind == POOL_RESTORE_PENDING)
        return;
    if (r->kind == POOL_RESTORE_READY) {
        s->slot = r->slot;
        pool_lease_watch(r->slot, on_lease_lost, s);
        mcp_session_set_state(s, MCP_SESSION_READY, "lease restored after a restart");
    } else {
        session_lost(s, r->cause, "the daemon restarted and the session's container was gone");
    }
}

static const struct mcp_backend_ops pool_backend_ops = {
    .name = "pool",
    .create_session = create_session,
    .list_sessions = list_sessions,
    .close_session = close_session,
    .execute = execute,
    .list_files = list_files,
    .read_file = read_file,
    .write_file = write_file,
    .export_workspace = export_workspace,
    .import_workspace = import_workspace,
    .install_package = install_package,
    .omop_query = omop_query,
    .describe_cdm = describe_cdm,
    .pool_status = pool_status,
    .cancel = cancel,
    .owner_gone = owner_gone,
    .owner_sessions = owner_sessions,
};

void mcp_pool_backend_config_from(struct mcp_pool_backend_config *bc, const struct config *cfg)
{
    bc->cdm_dir = cfg->cdm_dir;
    bc->cdm_default = cfg->cdm_default;
    bc->sandbox_uid = (unsigned)cfg->sandbox_uid;
    bc->max_file_read_bytes = cfg->max_file_read_bytes;
    bc->workspace_size = cfg->workspace_size;
    bc->default_exec_timeout = cfg->default_exec_timeout;
    bc->max_sandboxes = (unsigned)cfg->max_sandboxes;
    bc->warm_target = (unsigned)cfg->pool_min_idle;
}

struct mcp_backend *mcp_pool_backend_new(struct ev_loop *loop, struct pool *pool,
                                         const struct mcp_pool_backend_config *cfg)
{
    struct mcp_pool_backend *b = xcalloc(1, sizeof(*b));

    b->base.ops = &pool_backend_ops;
    b->loop = loop;
    b->pool = pool;
    b->cfg = *cfg;
    pool_set_restore(pool, on_restored, b);
    return &b->base;
}

unsigned mcp_pool_backend_sessions(const struct mcp_backend *mb)
{
    return ((const struct mcp_pool_backend *)mb)->sessions.count;
}

void mcp_pool_backend_close_all(struct mcp_backend *mb, const char *reason)
{
    struct mcp_pool_backend *b = backend_of(mb);

    while (b->sessions.head)
        session_close(b, b->sessions.head, reason);
}

void mcp_pool_backend_free(struct mcp_backend *mb)
{
    if (!mb)
        return;
    mcp_pool_backend_close_all(mb, "daemon stopping");
    free(backend_of(mb));
}
