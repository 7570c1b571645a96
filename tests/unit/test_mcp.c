/* The MCP conversation as a client sees it, with a fake backend standing in
 * for the pool: lifecycle, tools/list, argument checks, results, cancel,
 * progress, logging, batches. */
#include "mcp/conn.h"
#include "mcp/jsonrpc.h"
#include "mcp/path.h"
#include "mcp/tools.h"
#include "proxy/config.h"
#include "proxy/log.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

/* jansson's json_is_* macros evaluate their argument twice; these do not. */
static bool is_object(json_t *v)
{
    return json_is_object(v);
}

static bool is_array(json_t *v)
{
    return json_is_array(v);
}

static bool is_true(json_t *v)
{
    return json_is_true(v);
}

static bool is_false(json_t *v)
{
    return json_is_false(v);
}

static bool is_null(json_t *v)
{
    return json_is_null(v);
}

static bool is_boolean(json_t *v)
{
    return json_is_boolean(v);
}

/* ---- a fake backend: records calls; answers at once or holds them ---- */

struct fake_job {
    int unused;
};

static struct {
    bool hold;              /* keep calls pending instead of answering */
    struct mcp_caller held; /* the last held call */
    struct fake_job job;
    int calls;
    int cancels;
    int owners_gone;
    char op[32];
    char owner[64];
    char session_id[64];
    char path[256];
    char code[64];
    double duration;
    long long output_bytes;
    size_t content_len;
    bool base64;
    const char *fail_code; /* answer with this error, or succeed when NULL */
    json_t *fields;        /* success fields to answer with */
    json_t *content;       /* extra content blocks */
} fake;

static struct mcp_job *fake_answer(const char *op, const struct mcp_caller *caller)
{
    struct mcp_result res = {0};

    fake.calls++;
    snprintf(fake.op, sizeof(fake.op), "%s", op);
    snprintf(fake.owner, sizeof(fake.owner), "%s", caller->owner);
    if (fake.hold) {
        fake.held = *caller;
        return (struct mcp_job *)&fake.job;
    }
    res.error = fake.fail_code;
    res.message = fake.fail_code ? "it failed" : NULL;
    res.fields = fake.fields;
    res.content = fake.content;
    caller->done(&res, caller->arg);
    return NULL;
}

static struct mcp_job *fake_create(struct mcp_backend *b, const struct mcp_caller *c,
                                   const struct mcp_create_args *a)
{
    fake.duration = a->idle_timeout_secs;
    return fake_answer("create_session", c);
}

static struct mcp_job *fake_none(struct mcp_backend *b, const struct mcp_caller *c)
{
    return fake_answer("none", c);
}

static struct mcp_job *fake_close(struct mcp_backend *b, const struct mcp_caller *c,
                                  const char *session_id)
{
    snprintf(fake.session_id, sizeof(fake.session_id), "%s", session_id);
    return fake_answer("close_session", c);
}

static struct mcp_job *fake_execute(struct mcp_backend *b, const struct mcp_caller *c,
                                    const struct mcp_exec_args *a)
{
    snprintf(fake.session_id, sizeof(fake.session_id), "%s", a->session_id);
    snprintf(fake.code, sizeof(fake.code), "%s", a->code);
    fake.duration = a->max_duration_secs;
    fake.output_bytes = a->max_output_bytes;
    return fake_answer("execute", c);
}

static struct mcp_job *fake_file(struct mcp_backend *b, const struct mcp_caller *c,
                                 const struct mcp_file_args *a)
{
    snprintf(fake.path, sizeof(fake.path), "%s", a->path);
    fake.content_len = a->content_len;
    fake.base64 = a->base64;
    return fake_answer("file", c);
}

static struct mcp_job *fake_install(struct mcp_backend *b, const struct mcp_caller *c,
                                    const struct mcp_install_args *a)
{
    return fake_answer(a->source, c);
}

static struct mcp_job *fake_query(struct mcp_backend *b, const struct mcp_caller *c,
                                  const struct mcp_query_args *a)
{
    fake.output_bytes = a->max_rows;
    return fake_answer("omop_query", c);
}

static void fake_cancel(struct mcp_backend *b, struct mcp_job *job)
{
    CHECK(job == (struct mcp_job *)&fake.job);
    fake.cancels++;
}

static void fake_owner_gone(struct mcp_backend *b, const char *owner)
{
    fake.owners_gone++;
}

static const struct mcp_backend_ops fake_ops = {
    .name = "fake",
    .create_session = fake_create,
    .list_sessions = fake_none,
    .close_session = fake_close,
    .execute = fake_execute,
    .list_files = fake_file,
    .read_file = fake_file,
    .write_file = fake_file,
    .export_workspace = fake_file,
    .import_workspace = fake_file,
    .install_package = fake_install,
    .omop_query = fake_query,
    .describe_cdm = fake_none,
    .pool_status = fake_none,
    .cancel = fake_cancel,
    .owner_gone = fake_owner_gone,
};
static struct mcp_backend fake_backend = {&fake_ops};

/* ---- a client: collects what the server sends ---- */

static json_t *sent; /* array of messages, in order */

static void collect(const char *bytes, size_t len, void *arg)
{
    json_error_t err;
    json_t *msg = json_loadb(bytes, len, 0, &err);

    CHECK(msg != NULL);
    CHECK(memchr(bytes, '\n', len) == NULL);
    json_array_append_new(sent, msg);
}

static struct mcp_limits limits;

static struct mcp_conn *conn_open(void)
{
    struct mcp_conn_config cfg = {.limits = &limits,
                                  .backend = &fake_backend,
                                  .owner = "owner-A",
                                  .server_version = "1.2.3",
                                  .send = collect};

    json_array_clear(sent);
    memset(&fake, 0, sizeof(fake));
    return mcp_conn_new(&cfg);
}

static void say(struct mcp_conn *conn, const char *text)
{
    mcp_conn_receive(conn, text, strlen(text));
}

/* The one message sent since the last call (NULL unless exactly one), borrowed. */
static json_t *reply(void)
{
    static json_t *last;

    json_decref(last);
    last = NULL;
    if (json_array_size(sent) != 1) {
        json_array_clear(sent);
        return NULL;
    }
    last = json_incref(json_array_get(sent, 0));
    json_array_clear(sent);
    return last;
}

static long long error_code(json_t *msg)
{
    return json_integer_value(json_object_get(json_object_get(msg, "error"), "code"));
}

static struct mcp_conn *conn_ready(const char *version)
{
    struct mcp_conn *conn = conn_open();
    char text[256];

    snprintf(text, sizeof(text),
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
             "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
             "\"version\":\"1\"}}}",
             version);
    say(conn, text);
    CHECK_STR(
        json_string_value(json_object_get(json_object_get(reply(), "result"), "protocolVersion")),
        version);
    say(conn, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    CHECK(reply() == NULL);
    return conn;
}

/* Calls a tool; returns the result object (borrowed until the next reply()). */
static json_t *call_tool(struct mcp_conn *conn, const char *name, const char *args)
{
    char text[4096];

    snprintf(text, sizeof(text),
             "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s}}",
             name, args);
    say(conn, text);
    return json_object_get(reply(), "result");
}

static const char *envelope_code(json_t *result)
{
    json_t *sc = json_object_get(result, "structuredContent");

    return json_string_value(json_object_get(json_object_get(sc, "error"), "code"));
}

/* ---- tests ---- */

static void test_lifecycle(void)
{
    struct mcp_conn *conn = conn_open();
    json_t *msg;

    /* Before initialize: ping works, anything else is refused. */
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    msg = reply();
    CHECK_INT(error_code(msg), JSONRPC_INVALID_REQUEST);
    CHECK_INT(json_integer_value(json_object_get(msg, "id")), 1);
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
    CHECK(is_object(json_object_get(reply(), "result")));

    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":{}}");
    CHECK_INT(error_code(reply()), JSONRPC_INVALID_PARAMS);

    /* An unknown version is answered with the newest. */
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"initialize\",\"params\":"
              "{\"protocolVersion\":\"1999-01-01\",\"capabilities\":{},"
              "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    msg = json_object_get(reply(), "result");
    CHECK_STR(json_string_value(json_object_get(msg, "protocolVersion")), "2025-11-25");
    CHECK(is_object(json_object_get(json_object_get(msg, "capabilities"), "tools")));
    CHECK(is_object(json_object_get(json_object_get(msg, "capabilities"), "logging")));
    CHECK_STR(json_string_value(json_object_get(json_object_get(msg, "serverInfo"), "version")),
              "1.2.3");
    CHECK_STR(mcp_conn_version(conn), "2025-11-25");

    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"initialize\",\"params\":"
              "{\"protocolVersion\":\"2025-11-25\"}}");
    CHECK_INT(error_code(reply()), JSONRPC_INVALID_REQUEST);

    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/list\"}");
    CHECK_INT(error_code(reply()), JSONRPC_METHOD_NOT_FOUND);
    say(conn, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}");
    CHECK(reply() == NULL);
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}");
    CHECK(reply() == NULL);
    say(conn, "not json");
    msg = reply();
    CHECK_INT(error_code(msg), JSONRPC_PARSE_ERROR);
    CHECK(is_null(json_object_get(msg, "id")));
    mcp_conn_free(conn, "test");
    CHECK_INT(fake.owners_gone, 1);
}

static void test_versions(void)
{
    static const char *const all[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

    for (size_t i = 0; i < 4; i++) {
        struct mcp_conn *conn = conn_ready(all[i]);

        mcp_conn_free(conn, "test");
    }
}

static void test_tools_list(void)
{
    struct mcp_conn *conn = conn_ready("2025-06-18");
    json_t *tools, *tool;
    size_t i;

    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    tools = json_object_get(json_object_get(reply(), "result"), "tools");
    CHECK_INT(json_array_size(tools), 13);
    CHECK_INT(mcp_tool_count(), 13);
    json_array_foreach(tools, i, tool)
    {
        json_t *in = json_object_get(tool, "inputSchema");
        json_t *out = json_object_get(tool, "outputSchema");
        json_t *hints = json_object_get(tool, "annotations");

        CHECK(mcp_tool_find(json_string_value(json_object_get(tool, "name"))) != NULL);
        CHECK(strlen(json_string_value(json_object_get(tool, "description"))) > 40);
        CHECK_STR(json_string_value(json_object_get(in, "type")), "object");
        CHECK_STR(json_string_value(json_object_get(out, "type")), "object");
        CHECK(json_object_get(json_object_get(out, "properties"), "error") != NULL);
        CHECK(is_boolean(json_object_get(hints, "readOnlyHint")));
    }
    tool = json_array_get(tools, 6); /* write_session_file */
    CHECK_STR(json_string_value(json_object_get(tool, "name")), "write_session_file");
    CHECK(is_true(json_object_get(json_object_get(tool, "annotations"), "destructiveHint")));
    tool = json_array_get(tools, 10); /* omop_query */
    CHECK_STR(json_string_value(json_object_get(tool, "name")), "omop_query");
    CHECK(is_true(json_object_get(json_object_get(tool, "annotations"), "readOnlyHint")));

    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":"
              "{\"cursor\":\"x\"}}");
    CHECK_INT(error_code(reply()), JSONRPC_INVALID_PARAMS);
    mcp_conn_free(conn, "test");

    /* 2024-11-05 knows neither annotations nor outputSchema. */
    conn = conn_ready("2024-11-05");
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    tool = json_array_get(json_object_get(json_object_get(reply(), "result"), "tools"), 0);
    CHECK(json_object_get(tool, "annotations") == NULL);
    CHECK(json_object_get(tool, "outputSchema") == NULL);
    CHECK(json_object_get(tool, "inputSchema") != NULL);
    mcp_conn_free(conn, "test");
}

static void test_call_errors(void)
{
    struct mcp_conn *conn = conn_ready("2025-06-18");

    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
              "{\"name\":\"rm_rf\",\"arguments\":{}}}");
    CHECK_INT(error_code(reply()), JSONRPC_INVALID_PARAMS);
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
              "{\"name\":\"list_sessions\",\"arguments\":[1]}}");
    CHECK_INT(error_code(reply()), JSONRPC_INVALID_PARAMS);
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}");
    CHECK_INT(error_code(reply()), JSONRPC_INVALID_PARAMS);

    CHECK_STR(envelope_code(call_tool(conn, "close_session", "{}")), "invalid_arguments");
    CHECK_STR(envelope_code(call_tool(conn, "close_session", "{\"session_id\":5}")),
              "invalid_arguments");
    CHECK_STR(envelope_code(call_tool(conn, "list_sessions", "{\"extra\":1}")),
              "invalid_arguments");
    CHECK_STR(envelope_code(call_tool(conn, "execute_in_session",
                                      "{\"session_id\":\"s\",\"code\":\"  \\n\"}")),
              "invalid_code");
    CHECK_STR(envelope_code(call_tool(conn, "execute_in_session",
                                      "{\"session_id\":\"s\",\"code\":\"1\",\"limits\":"
                                      "{\"max_duration_secs\":0}}")),
              "invalid_limits");
    CHECK_STR(envelope_code(call_tool(conn, "execute_in_session",
                                      "{\"session_id\":\"s\",\"code\":\"1\",\"limits\":"
                                      "{\"max_output_bytes\":1.5}}")),
              "invalid_limits");
    CHECK_STR(envelope_code(call_tool(conn, "execute_in_session",
                                      "{\"session_id\":\"s\",\"code\":\"123456789\"}")),
              "code_too_large");
    CHECK_STR(envelope_code(call_tool(conn, "read_session_file",
                                      "{\"session_id\":\"s\",\"path\":\"../etc/passwd\"}")),
              "invalid_path");
    CHECK_STR(envelope_code(call_tool(conn, "read_session_file",
                                      "{\"session_id\":\"s\",\"path\":\"/etc/passwd\"}")),
              "invalid_path");
    CHECK_STR(envelope_code(call_tool(conn, "write_session_file",
                                      "{\"session_id\":\"s\",\"path\":\"a\",\"content\":\"!!\","
                                      "\"encoding\":\"base64\"}")),
              "invalid_content");
    CHECK_STR(envelope_code(call_tool(conn, "write_session_file",
                                      "{\"session_id\":\"s\",\"path\":\"a\",\"content\":"
                                      "\"0123456789abcdefg\"}")),
              "file_too_large");
    CHECK_STR(envelope_code(call_tool(conn, "install_package",
                                      "{\"session_id\":\"s\",\"package_name\":\"x\","
                                      "\"source\":\"pip\"}")),
              "invalid_source");
    CHECK_STR(envelope_code(call_tool(conn, "install_package",
                                      "{\"session_id\":\"s\",\"package_name\":\"x\\\");q(\"}")),
              "invalid_package_name");
    CHECK_STR(envelope_code(call_tool(conn, "omop_query",
                                      "{\"session_id\":\"s\",\"sql\":\"select 1\","
                                      "\"params\":{\"a\":[1]}}")),
              "invalid_arguments");
    CHECK_INT(fake.calls, 0); /* nothing refused reached the backend */
    mcp_conn_free(conn, "test");
}

static void test_call_arguments(void)
{
    struct mcp_conn *conn = conn_ready("2025-06-18");
    json_t *result;

    result = call_tool(conn, "execute_in_session", "{\"session_id\":\"s1\",\"code\":\"x <- 1\"}");
    CHECK(is_false(json_object_get(result, "isError")));
    CHECK_STR(fake.op, "execute");
    CHECK_STR(fake.owner, "owner-A");
    CHECK_STR(fake.session_id, "s1");
    CHECK_STR(fake.code, "x <- 1");
    CHECK(fake.duration == limits.default_exec_timeout);
    CHECK_INT(fake.output_bytes, limits.max_output_bytes);

    call_tool(conn, "execute_in_session",
              "{\"session_id\":\"s1\",\"code\":\"1\",\"limits\":{\"max_duration_secs\":2.5,"
              "\"max_output_bytes\":100}}");
    CHECK(fake.duration == 2.5);
    CHECK_INT(fake.output_bytes, 100);

    call_tool(conn, "create_session", "{}");
    CHECK(fake.duration == limits.default_idle_timeout);
    call_tool(conn, "create_session", "{\"timeout\":60,\"cdm\":null}");
    CHECK(fake.duration == 60);

    call_tool(conn, "write_session_file",
              "{\"session_id\":\"s\",\"path\":\"/sandbox/d/../f.bin\",\"content\":\"AAEC/w==\","
              "\"encoding\":\"base64\"}");
    CHECK_STR(fake.path, "f.bin");
    CHECK_INT(fake.content_len, 4);
    CHECK(fake.base64);
    call_tool(conn, "list_session_files", "{\"session_id\":\"s\"}");
    CHECK_STR(fake.path, ".");
    call_tool(conn, "install_package",
              "{\"session_id\":\"s\",\"package_name\":\"a/b\","
              "\"source\":\"github\"}");
    CHECK_STR(fake.op, "GitHub");
    call_tool(conn, "omop_query", "{\"session_id\":\"s\",\"sql\":\"select 1\"}");
    CHECK_INT(fake.output_bytes, 1000);
    mcp_conn_free(conn, "test");
}

static void test_results(void)
{
    struct mcp_conn *conn = conn_ready("2025-06-18");
    json_t *result, *sc, *text;
    json_error_t err;

    fake.fields = json_pack("{s:s,s:{s:f}}", "output", "[1] 2", "meta", "elapsed_secs", 0.5);
    fake.content =
        json_pack("[{s:s,s:s,s:s}]", "type", "image", "data", "iVBOR", "mimeType", "image/png");
    result = call_tool(conn, "execute_in_session", "{\"session_id\":\"s\",\"code\":\"1+1\"}");
    sc = json_object_get(result, "structuredContent");
    CHECK(is_true(json_object_get(sc, "success")));
    CHECK_STR(json_string_value(json_object_get(sc, "output")), "[1] 2");
    CHECK_INT(json_array_size(json_object_get(result, "content")), 2);
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(result, "content"), 1), "type")),
              "image");
    /* The text block is the same JSON, readable by a client without structuredContent. */
    text = json_loads(json_string_value(json_object_get(
                          json_array_get(json_object_get(result, "content"), 0), "text")),
                      0, &err);
    CHECK(json_equal(text, sc));
    json_decref(text);

    /* A failure keeps the envelope and the fields that belong with it. */
    fake.fail_code = "execution_error";
    result = call_tool(conn, "execute_in_session", "{\"session_id\":\"s\",\"code\":\"stop()\"}");
    sc = json_object_get(result, "structuredContent");
    CHECK(is_true(json_object_get(result, "isError")));
    CHECK(is_false(json_object_get(sc, "success")));
    CHECK_STR(envelope_code(result), "execution_error");
    CHECK_STR(json_string_value(json_object_get(json_object_get(sc, "error"), "message")),
              "it failed");
    CHECK(is_false(json_object_get(json_object_get(sc, "error"), "retryable")));
    CHECK(is_object(json_object_get(json_object_get(sc, "error"), "details")));
    CHECK_STR(json_string_value(json_object_get(sc, "output")), "[1] 2");
    json_decref(fake.fields);
    json_decref(fake.content);
    mcp_conn_free(conn, "test");

    /* Before 2025-06-18 the JSON is in the text only. */
    conn = conn_ready("2025-03-26");
    result = call_tool(conn, "list_sessions", "{}");
    CHECK(json_object_get(result, "structuredContent") == NULL);
    text = json_loads(json_string_value(json_object_get(
                          json_array_get(json_object_get(result, "content"), 0), "text")),
                      0, &err);
    CHECK(is_true(json_object_get(text, "success")));
    json_decref(text);
    mcp_conn_free(conn, "test");
}

static void test_unavailable_backend(void)
{
    struct mcp_conn_config cfg = {.limits = &limits,
                                  .backend = mcp_backend_unavailable(),
                                  .owner = "o",
                                  .server_version = "1",
                                  .send = collect};
    struct mcp_conn *conn;
    json_t *result;

    json_array_clear(sent);
    conn = mcp_conn_new(&cfg);
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
              "{\"protocolVersion\":\"2025-06-18\"}}");
    reply();
    result = call_tool(conn, "pool_status", "{}");
    CHECK(is_true(json_object_get(result, "isError")));
    CHECK_STR(envelope_code(result), "backend_unavailable");
    mcp_conn_free(conn, "test");
}

static void test_cancel_and_progress(void)
{
    struct mcp_conn *conn = conn_ready("2025-06-18");
    struct mcp_result ok = {0};
    json_t *msg;

    fake.hold = true;
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":\"long\",\"method\":\"tools/call\",\"params\":"
              "{\"name\":\"execute_in_session\",\"arguments\":{\"session_id\":\"s\","
              "\"code\":\"1\"},\"_meta\":{\"progressToken\":\"tok\"}}}");
    CHECK(reply() == NULL);
    CHECK_INT(mcp_conn_in_flight(conn), 1);

    fake.held.progress(1, 10, "warming", fake.held.arg);
    msg = reply();
    CHECK_STR(json_string_value(json_object_get(msg, "method")), "notifications/progress");
    CHECK_STR(json_string_value(json_object_get(json_object_get(msg, "params"), "progressToken")),
              "tok");
    fake.held.progress(1, 10, NULL, fake.held.arg); /* not larger: dropped */
    CHECK(reply() == NULL);

    say(conn, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
              "{\"requestId\":\"other\"}}");
    CHECK_INT(fake.cancels, 0);
    say(conn, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
              "{\"requestId\":\"long\",\"reason\":\"user\"}}");
    CHECK_INT(fake.cancels, 1);
    CHECK_INT(mcp_conn_in_flight(conn), 0);
    CHECK(reply() == NULL);

    /* A call that finishes later is answered then, with its own id. */
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"tools/call\",\"params\":"
              "{\"name\":\"list_sessions\"}}");
    CHECK(reply() == NULL);
    fake.held.done(&ok, fake.held.arg);
    msg = reply();
    CHECK_INT(json_integer_value(json_object_get(msg, "id")), 77);
    CHECK_INT(mcp_conn_in_flight(conn), 0);

    /* Calls still running when the client goes are cancelled. */
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":78,\"method\":\"tools/call\",\"params\":"
              "{\"name\":\"list_sessions\"}}");
    mcp_conn_free(conn, "test");
    CHECK_INT(fake.cancels, 2);
    CHECK_INT(json_array_size(sent), 0);
}

static void test_logging(void)
{
    struct mcp_conn *conn = conn_ready("2025-06-18");
    json_t *msg;

    fake.fail_code = "session_not_found";
    call_tool(conn, "close_session", "{\"session_id\":\"s\"}"); /* no level set: no log */

    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":"
              "{\"level\":\"loud\"}}");
    CHECK_INT(error_code(reply()), JSONRPC_INVALID_PARAMS);
    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":"
              "{\"level\":\"warning\"}}");
    CHECK(is_object(json_object_get(reply(), "result")));

    say(conn, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
              "{\"name\":\"close_session\",\"arguments\":{\"session_id\":\"s\"}}}");
    CHECK_INT(json_array_size(sent), 2);
    msg = json_array_get(sent, 0);
    CHECK_STR(json_string_value(json_object_get(msg, "method")), "notifications/message");
    CHECK_STR(json_string_value(json_object_get(json_object_get(msg, "params"), "level")),
              "warning");
    json_array_clear(sent);

    fake.fail_code = NULL; /* info is below warning */
    call_tool(conn, "close_session", "{\"session_id\":\"s\"}");
    mcp_conn_free(conn, "test");
}

static void test_batches(void)
{
    struct mcp_conn *conn = conn_ready("2025-03-26");
    struct mcp_result ok = {0};
    json_t *msg;

    say(conn, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
              "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},{\"bad\":1}]");
    msg = reply();
    CHECK(is_array(msg));
    CHECK_INT(json_array_size(msg), 2);
    CHECK_INT(error_code(json_array_get(msg, 1)), JSONRPC_INVALID_REQUEST);

    say(conn, "[]");
    CHECK_INT(error_code(reply()), JSONRPC_INVALID_REQUEST);
    say(conn, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]");
    CHECK(reply() == NULL);

    /* The batch answer waits for its slowest call. */
    fake.hold = true;
    say(conn, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":2,"
              "\"method\":\"tools/call\",\"params\":{\"name\":\"pool_status\"}}]");
    CHECK(reply() == NULL);
    fake.held.done(&ok, fake.held.arg);
    CHECK_INT(json_array_size(reply()), 2);
    mcp_conn_free(conn, "test");

    /* Other versions have no batches. */
    conn = conn_ready("2025-06-18");
    say(conn, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
    msg = reply();
    CHECK(is_object(msg));
    CHECK_INT(error_code(msg), JSONRPC_INVALID_REQUEST);
    mcp_conn_free(conn, "test");

    /* Held calls of a batch die with the conversation, without leaks. */
    conn = conn_ready("2025-03-26");
    fake.hold = true;
    say(conn, "[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
              "{\"name\":\"pool_status\"}}]");
    mcp_conn_free(conn, "test");
    CHECK_INT(fake.cancels, 1);
}

static void test_oversized(void)
{
    struct mcp_conn *conn = conn_ready("2025-06-18");
    char *big = malloc(limits.max_message_bytes + 2);

    memset(big, ' ', limits.max_message_bytes + 1);
    big[limits.max_message_bytes + 1] = '\0';
    memcpy(big, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 40);
    mcp_conn_receive(conn, big, limits.max_message_bytes + 1);
    CHECK_INT(error_code(reply()), JSONRPC_INVALID_REQUEST);
    mcp_conn_receive(conn, big, limits.max_message_bytes);
    CHECK(is_object(json_object_get(reply(), "result")));
    free(big);
    mcp_conn_free(conn, "test");
}

static void test_paths(void)
{
    static const char *const good[][2] = {
        {"a.txt", "a.txt"},       {"/sandbox", "."},         {".", "."},
        {"/sandbox/x/../y", "y"}, {"  d//e/./f  ", "d/e/f"}, {"../sandbox/z", "z"},
        {"/sandbox/", "."},       {"a/b/..", "a"},
    };
    static const char *const bad[] = {"",
                                      "  ",
                                      "..",
                                      "/etc/passwd",
                                      "/",
                                      "a/../../x",
                                      "/sandboxx/a",
                                      "/sandbox/../etc",
                                      "../../sandbox/../x"};
    char out[MCP_PATH_MAX];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK(mcp_path_resolve(good[i][0], strlen(good[i][0]), out, sizeof(out)));
        CHECK_STR(out, good[i][1]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(!mcp_path_resolve(bad[i], strlen(bad[i]), out, sizeof(out)));
    CHECK(!mcp_path_resolve("a\0b", 3, out, sizeof(out)));
}

static void test_base64(void)
{
    static const char *const bad[] = {"A", "AB=", "A===", "AB==C", "AB=C", "A*B=", "AAAA="};
    size_t len;
    unsigned char *bytes;

    bytes = mcp_base64_decode("AAEC/w==", 8, &len);
    CHECK_INT(len, 4);
    CHECK(bytes && bytes[0] == 0 && bytes[1] == 1 && bytes[2] == 2 && bytes[3] == 255);
    free(bytes);
    bytes = mcp_base64_decode("aGVs\nbG8=", 9, &len);
    CHECK(bytes && len == 5 && memcmp(bytes, "hello", 5) == 0);
    free(bytes);
    bytes = mcp_base64_decode("", 0, &len);
    CHECK(bytes && len == 0);
    free(bytes);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(mcp_base64_decode(bad[i], strlen(bad[i]), &len) == NULL);
}

int main(void)
{
    struct config cfg;

    log_min_level = L_ERROR;
    config_init(&cfg);
    mcp_limits_from_config(&limits, &cfg);
    CHECK(limits.max_message_bytes > 2000000); /* a file write in base64 fits */
    config_free(&cfg);
    limits.max_code_chars = 8;
    limits.max_file_write_bytes = 16;
    limits.max_message_bytes = 4096;
    sent = json_array();

    RUN(test_lifecycle);
    RUN(test_versions);
    RUN(test_tools_list);
    RUN(test_call_errors);
    RUN(test_call_arguments);
    RUN(test_results);
    RUN(test_unavailable_backend);
    RUN(test_cancel_and_progress);
    RUN(test_logging);
    RUN(test_batches);
    RUN(test_oversized);
    RUN(test_paths);
    RUN(test_base64);
    reply();
    json_decref(sent);
    return check_report();
}
