/* The tool table: what tools/list shows, the checks each tools/call passes
 * before it reaches the backend, and the shape of every tool result. */
#include "mcp/tools.h"

#include "mcp/path.h"
#include "mcp/schema.h"
#include "mcp/tools_table.h"
#include "proxy/config.h"
#include "proxy/mem.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum tool_hint {
    HINT_READ_ONLY = 1 << 0,   /* reads only; no state anywhere changes */
    HINT_DESTRUCTIVE = 1 << 1, /* may delete or overwrite what the session holds */
    HINT_IDEMPOTENT = 1 << 2,  /* a repeat with the same arguments changes nothing more */
};

/* One tools/call on its way to the backend. */
struct tool_call {
    json_t *args; /* an object (empty when the client sent none) */
    const struct mcp_limits *limits;
    struct mcp_backend *backend;
    const struct mcp_caller *caller;
};

struct mcp_tool {
    const char *name;
    const char *title;
    const char *description;
    const char *input;  /* JSON Schema of the arguments */
    const char *output; /* properties of a success result, besides "success" */
    unsigned hints;     /* enum tool_hint */
    struct mcp_job *(*start)(const struct tool_call *call);
};

static struct mcp_job *start_create_session(const struct tool_call *call);
static struct mcp_job *start_list_sessions(const struct tool_call *call);
static struct mcp_job *start_close_session(const struct tool_call *call);
static struct mcp_job *start_execute(const struct tool_call *call);
static struct mcp_job *start_list_files(const struct tool_call *call);
static struct mcp_job *start_read_file(const struct tool_call *call);
static struct mcp_job *start_write_file(const struct tool_call *call);
static struct mcp_job *start_export_workspace(const struct tool_call *call);
static struct mcp_job *start_import_workspace(const struct tool_call *call);
static struct mcp_job *start_install_package(const struct tool_call *call);
static struct mcp_job *start_omop_query(const struct tool_call *call);
static struct mcp_job *start_describe_cdm(const struct tool_call *call);
static struct mcp_job *start_pool_status(const struct tool_call *call);

static const struct mcp_tool tools[] = {
    {"create_session", "Create an R session",
     "Start a new persistent R session in an isolated sandbox (no network) and return its "
     "session_id. Variables persist across execute_in_session calls of the same session; files "
     "live in its workspace /sandbox; cdm_con is an open read-only DBI connection to an OMOP CDM. "
     "Close it with close_session when done; idle sessions close after `timeout` seconds.",
     CREATE_SESSION_INPUT, CREATE_SESSION_OUTPUT, 0, start_create_session},
    {"list_sessions", "List my R sessions",
     "List the R sessions this client created and that are still open, with their creation and "
     "last-use times.",
     TOOL_NO_ARGS, LIST_SESSIONS_OUTPUT, HINT_READ_ONLY, start_list_sessions},
    {"close_session", "Close an R session",
     "Close an R session: its R process ends and its workspace files are deleted. A closed or "
     "unknown session_id fails with session_not_found.",
     CLOSE_SESSION_INPUT, MESSAGE_OUTPUT, HINT_DESTRUCTIVE | HINT_IDEMPOTENT, start_close_session},
    {"execute_in_session", "Run R code",
     "Evaluate R code in a session like R's console and return printed output, messages and "
     "warnings in order, the last value (as text and as JSON), plots as PNG images, and the "
     "elapsed time. R errors fail with execution_error carrying R's message and call; code that "
     "runs past limits.max_duration_secs is interrupted (execution_timeout) and the session "
     "stays usable.",
     EXECUTE_INPUT, EXECUTE_OUTPUT, HINT_DESTRUCTIVE, start_execute},
    {"list_session_files", "List workspace files",
     "List the files and directories at a path of the session's workspace (/sandbox).",
     LIST_FILES_INPUT, LIST_FILES_OUTPUT, HINT_READ_ONLY, start_list_files},
    {"read_session_file", "Read a workspace file",
     "Read a file from the session's workspace (/sandbox) as text or, with encoding base64, as "
     "exact bytes. Files larger than MAX_FILE_READ_BYTES fail with file_too_large. The result "
     "carries the file's size and XXH3 checksum.",
     READ_FILE_INPUT, READ_FILE_OUTPUT, HINT_READ_ONLY, start_read_file},
    {"write_session_file", "Write a workspace file",
     "Create or replace a file in the session's workspace (/sandbox), atomically. Text is stored "
     "as UTF-8; with encoding base64 the decoded bytes are stored exactly. The result carries "
     "the size and XXH3 checksum of what was stored.",
     WRITE_FILE_INPUT, WRITE_FILE_OUTPUT, HINT_DESTRUCTIVE | HINT_IDEMPOTENT, start_write_file},
    {"export_session_workspace", "Export the workspace as a tar archive",
     "Pack a directory of the session's workspace (/sandbox; all of it by default) into a tar "
     "archive returned as base64, with its size and XXH3 checksum. Symbolic links and special "
     "files are left out. Fails with file_too_large past MAX_FILE_READ_BYTES.",
     EXPORT_INPUT, EXPORT_OUTPUT, HINT_READ_ONLY, start_export_workspace},
    {"import_session_workspace", "Import a tar archive into the workspace",
     "Unpack a tar archive (plain or gzip, base64) into a directory of the session's workspace, "
     "replacing files of the same names. The whole archive is checked first: links, special "
     "files and names that leave /sandbox refuse it and nothing is written.",
     IMPORT_INPUT, IMPORT_OUTPUT, HINT_DESTRUCTIVE | HINT_IDEMPOTENT, start_import_workspace},
    {"install_package", "Install an R package",
     "Install an R package into this session's library. The sandbox has no network: this works "
     "only for pure-R packages in the operator's local repository; without one, or for packages "
     "with compiled code, it fails with an error saying so.",
     INSTALL_INPUT, INSTALL_OUTPUT, HINT_IDEMPOTENT, start_install_package},
    {"omop_query", "Query the OMOP CDM",
     "Run one read-only SQL query on the session's OMOP CDM connection (cdm_con) and return "
     "column names and types, rows (at most max_rows; truncated tells whether more existed) and "
     "the elapsed time. Statements that write are refused and change nothing.",
     OMOP_QUERY_INPUT, OMOP_QUERY_OUTPUT, HINT_READ_ONLY, start_omop_query},
    {"describe_cdm", "Describe the OMOP CDMs",
     "Describe the OMOP CDMs this server offers: name, CDM version, source, tables with row "
     "counts and vocabularies. Pass a name as create_session's cdm to use one.",
     TOOL_NO_ARGS, DESCRIBE_CDM_OUTPUT, HINT_READ_ONLY, start_describe_cdm},
    {"pool_status", "Show the sandbox pool",
     "Show the warm pool of R sandboxes: slots by state, sessions with their ages, limits and "
     "counters. Useful to see why create_session fails with max_sessions_reached.",
     TOOL_NO_ARGS, POOL_STATUS_OUTPUT, HINT_READ_ONLY, start_pool_status},
};

#define TOOL_COUNT (sizeof(tools) / sizeof(tools[0]))

/* Parsed once: the schemas never change while the daemon runs. */
static json_t *input_schemas[TOOL_COUNT];
static json_t *output_schemas[TOOL_COUNT];

static json_t *must(json_t *value)
{
    if (!value)
        panic("out of memory building a tool result");
    return value;
}

static json_t *parse_schema(const char *name, const char *text)
{
    json_error_t jerr;
    json_t *schema = json_loads(text, 0, &jerr);

    if (!schema)
        panic("schema of tool %s is not JSON: %s at %d", name, jerr.text, jerr.position);
    return schema;
}

static json_t *error_schema(void)
{
    return parse_schema(
        "error",
        "{\"type\":\"object\",\"description\":\"present when success is false\","
        "\"properties\":{\"code\":{\"type\":\"string\",\"description\":\"machine-readable: "
        "session_not_found, execution_error, execution_timeout, invalid_path, file_too_large, "
        "max_sessions_reached, session_lost, backend_unavailable, ...\"},"
        "\"message\":{\"type\":\"string\"},\"retryable\":{\"type\":\"boolean\"},"
        "\"details\":{\"type\":\"object\"}},\"required\":[\"code\",\"message\",\"retryable\"]}");
}

/* A result schema every answer fits: success, the error envelope on failure,
 * and the tool's fields (optional, since failures carry few of them). */
static json_t *output_schema(const struct mcp_tool *tool)
{
    json_t *props = parse_schema(tool->name, tool->output);
    json_t *schema = must(json_object());

    json_object_set_new(props, "success", must(json_pack("{s:s}", "type", "boolean")));
    json_object_set_new(props, "error", error_schema());
    json_object_set_new(schema, "type", must(json_string("object")));
    json_object_set_new(schema, "properties", props);
    json_object_set_new(schema, "required", must(json_pack("[s]", "success")));
    return schema;
}

static void tools_load(void)
{
    if (input_schemas[0])
        return;
    for (size_t i = 0; i < TOOL_COUNT; i++) {
        input_schemas[i] = parse_schema(tools[i].name, tools[i].input);
        output_schemas[i] = output_schema(&tools[i]);
    }
}

static json_t *annotations(const struct mcp_tool *tool)
{
    bool read_only = tool->hints & HINT_READ_ONLY;
    json_t *hints = must(json_object());

    json_object_set_new(hints, "title", must(json_string(tool->title)));
    json_object_set_new(hints, "readOnlyHint", json_boolean(read_only));
    if (!read_only) {
        json_object_set_new(hints, "destructiveHint", json_boolean(tool->hints & HINT_DESTRUCTIVE));
        json_object_set_new(hints, "idempotentHint", json_boolean(tool->hints & HINT_IDEMPOTENT));
    }
    /* Sandboxes have no network: every tool acts on a closed world. */
    json_object_set_new(hints, "openWorldHint", json_false());
    return hints;
}

json_t *mcp_tools_list(const struct mcp_version_features *features)
{
    json_t *list = must(json_array());

    tools_load();
    for (size_t i = 0; i < TOOL_COUNT; i++) {
        json_t *tool = must(json_object());

        json_object_set_new(tool, "name", must(json_string(tools[i].name)));
        if (features->structured)
            json_object_set_new(tool, "title", must(json_string(tools[i].title)));
        json_object_set_new(tool, "description", must(json_string(tools[i].description)));
        json_object_set_new(tool, "inputSchema", must(json_deep_copy(input_schemas[i])));
        if (features->structured)
            json_object_set_new(tool, "outputSchema", must(json_deep_copy(output_schemas[i])));
        if (features->annotations)
            json_object_set_new(tool, "annotations", annotations(&tools[i]));
        json_array_append_new(list, tool);
    }
    return must(json_pack("{s:o}", "tools", list));
}

const struct mcp_tool *mcp_tool_find(const char *name)
{
    for (size_t i = 0; i < TOOL_COUNT; i++)
        if (strcmp(tools[i].name, name) == 0)
            return &tools[i];
    return NULL;
}

const char *mcp_tool_name(const struct mcp_tool *tool)
{
    return tool->name;
}

size_t mcp_tool_count(void)
{
    return TOOL_COUNT;
}

void mcp_limits_from_config(struct mcp_limits *limits, const struct config *cfg)
{
    int64_t base64_write = (cfg->max_file_write_bytes + 2) / 3 * 4;
    int64_t message = base64_write + 4 * cfg->max_code_chars + (1 << 20);

    limits->default_idle_timeout = cfg->sandbox_timeout;
    limits->default_exec_timeout = cfg->default_exec_timeout;
    limits->max_output_bytes = cfg->max_output_bytes;
    limits->max_code_chars = cfg->max_code_chars;
    limits->max_file_write_bytes = cfg->max_file_write_bytes;
    /* The largest message a valid call needs (a file write in base64, or code
     * of MAX_CODE_CHARS in 4-byte UTF-8), with room for the envelope; never
     * more than MAX_FRAME_BYTES. */
    limits->max_message_bytes =
        (size_t)(message < cfg->max_frame_bytes ? message : cfg->max_frame_bytes);
}

/* A string argument, or NULL when absent or null. */
static const char *arg_string(const struct tool_call *call, const char *key)
{
    return json_string_value(json_object_get(call->args, key));
}

static bool arg_base64(const struct tool_call *call)
{
    const char *encoding = arg_string(call, "encoding");

    return encoding && strcmp(encoding, "base64") == 0;
}

static struct mcp_job *refuse(const struct tool_call *call, const char *code, json_t *details,
                              const char *message)
{
    mcp_fail(call->caller, code, false, details, "%s", message);
    return NULL;
}

static struct mcp_job *start_create_session(const struct tool_call *call)
{
    struct mcp_create_args args = {call->limits->default_idle_timeout, arg_string(call, "cdm")};
    json_t *timeout = json_object_get(call->args, "timeout");

    if (json_is_number(timeout))
        args.idle_timeout_secs = json_number_value(timeout);
    return call->backend->ops->create_session(call->backend, call->caller, &args);
}

static struct mcp_job *start_list_sessions(const struct tool_call *call)
{
    return call->backend->ops->list_sessions(call->backend, call->caller);
}

static struct mcp_job *start_close_session(const struct tool_call *call)
{
    return call->backend->ops->close_session(call->backend, call->caller,
                                             arg_string(call, "session_id"));
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

static struct mcp_job *start_execute(const struct tool_call *call)
{
    json_t *code = json_object_get(call->args, "code");
    json_t *limits = json_object_get(call->args, "limits");
    size_t len = json_string_length(code);
    struct mcp_exec_args args = {
        .session_id = arg_string(call, "session_id"),
        .code = json_string_value(code),
        .max_duration_secs = call->limits->default_exec_timeout,
        .max_output_bytes = call->limits->max_output_bytes,
    };

    if (blank(args.code, len))
        return refuse(call, "invalid_code", NULL, "code must be a non-empty string");
    if ((int64_t)utf8_chars(args.code, len) > call->limits->max_code_chars)
        return refuse(
            call, "code_too_large",
            must(json_pack("{s:I}", "max_code_chars", (json_int_t)call->limits->max_code_chars)),
            "code exceeds max allowed size");
    if (json_is_number(json_object_get(limits, "max_duration_secs")))
        args.max_duration_secs = json_number_value(json_object_get(limits, "max_duration_secs"));
    if (json_is_number(json_object_get(limits, "max_output_bytes")))
        args.max_output_bytes =
            (int64_t)json_number_value(json_object_get(limits, "max_output_bytes"));
    return call->backend->ops->execute(call->backend, call->caller, &args);
}

/* Resolves the "path" argument ("." when absent) into out; false after refusing. */
static bool resolve_path(const struct tool_call *call, char *out, size_t size)
{
    json_t *path = json_object_get(call->args, "path");

    if (!path) {
        snprintf(out, size, ".");
        return true;
    }
    if (mcp_path_resolve(json_string_value(path), json_string_length(path), out, size))
        return true;
    refuse(call, "invalid_path", must(json_pack("{s:O}", "path", path)),
           "path must resolve under /sandbox");
    return false;
}

typedef struct mcp_job *(*file_op_fn)(struct mcp_backend *b, const struct mcp_caller *caller,
                                      const struct mcp_file_args *args);

static struct mcp_job *start_file_op(const struct tool_call *call, file_op_fn op)
{
    static char path[MCP_PATH_MAX];
    struct mcp_file_args args = {arg_string(call, "session_id"), path, arg_base64(call), NULL, 0};

    if (!resolve_path(call, path, sizeof(path)))
        return NULL;
    return op(call->backend, call->caller, &args);
}

static struct mcp_job *start_list_files(const struct tool_call *call)
{
    return start_file_op(call, call->backend->ops->list_files);
}

static struct mcp_job *start_read_file(const struct tool_call *call)
{
    return start_file_op(call, call->backend->ops->read_file);
}

static struct mcp_job *start_write_file(const struct tool_call *call)
{
    static char path[MCP_PATH_MAX];
    json_t *content = json_object_get(call->args, "content");
    struct mcp_file_args args = {arg_string(call, "session_id"), path, arg_base64(call), NULL, 0};
    unsigned char *decoded = NULL;
    struct mcp_job *job = NULL;

    if (!resolve_path(call, path, sizeof(path)))
        return NULL;

    args.content = (const unsigned char *)json_string_value(content);
    args.content_len = json_string_length(content);
    if (args.base64) {
        decoded =
            mcp_base64_decode(json_string_value(content), args.content_len, &args.content_len);
        if (!decoded)
            return refuse(call, "invalid_content", NULL, "content is not valid base64");
        args.content = decoded;
    }
    if ((int64_t)args.content_len > call->limits->max_file_write_bytes) {
        refuse(call, "file_too_large",
               must(json_pack("{s:I}", "max_file_write_bytes",
                              (json_int_t)call->limits->max_file_write_bytes)),
               "content exceeds max write size");
        goto free_decoded;
    }
    job = call->backend->ops->write_file(call->backend, call->caller, &args);

free_decoded:
    free(decoded);
    return job;
}

static struct mcp_job *start_export_workspace(const struct tool_call *call)
{
    return start_file_op(call, call->backend->ops->export_workspace);
}

static struct mcp_job *start_import_workspace(const struct tool_call *call)
{
    static char path[MCP_PATH_MAX];
    json_t *archive = json_object_get(call->args, "archive");
    struct mcp_file_args args = {arg_string(call, "session_id"), path, true, NULL, 0};
    struct mcp_job *job;
    unsigned char *decoded;

    if (!resolve_path(call, path, sizeof(path)))
        return NULL;
    decoded = mcp_base64_decode(json_string_value(archive), json_string_length(archive),
                                &args.content_len);
    if (!decoded)
        return refuse(call, "invalid_content", NULL, "archive is not valid base64");
    args.content = decoded;
    if ((int64_t)args.content_len > call->limits->max_file_write_bytes)
        job = refuse(call, "file_too_large",
                     must(json_pack("{s:I}", "max_file_write_bytes",
                                    (json_int_t)call->limits->max_file_write_bytes)),
                     "archive exceeds max write size");
    else
        job = call->backend->ops->import_workspace(call->backend, call->caller, &args);
    free(decoded);
    return job;
}

/* CRAN names: a letter, then letters, digits and dots. GitHub: owner/repo
 * with an optional @ref, from a conservative character set. Either way the
 * name can never break out of the R string it is placed in. */
static bool package_name_valid(const char *name, bool github)
{
    const char *allowed = github ? "-._/@" : ".";

    if (!isalpha((unsigned char)name[0]))
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(allowed, *p))
            return false;
    return !github || strchr(name, '/');
}

static struct mcp_job *start_install_package(const struct tool_call *call)
{
    const char *source = arg_string(call, "source");
    struct mcp_install_args args = {arg_string(call, "session_id"),
                                    arg_string(call, "package_name"), "CRAN"};
    bool github = false;

    if (source && strcasecmp(source, "GitHub") == 0)
        github = true;
    else if (source && strcasecmp(source, "CRAN") != 0)
        return refuse(call, "invalid_source", NULL, "Invalid source. Use CRAN or GitHub.");
    if (github)
        args.source = "GitHub";
    if (!package_name_valid(args.package_name, github))
        return refuse(call, "invalid_package_name",
                      must(json_pack("{s:s}", "package_name", args.package_name)),
                      github ? "package_name must be owner/repo or owner/repo@ref for GitHub"
                             : "package_name must be an R package name: a letter, then "
                               "letters, digits or dots");
    return call->backend->ops->install_package(call->backend, call->caller, &args);
}

static struct mcp_job *start_omop_query(const struct tool_call *call)
{
    json_t *params = json_object_get(call->args, "params");
    json_t *max_rows = json_object_get(call->args, "max_rows");
    json_t *empty = must(json_object());
    struct mcp_query_args args = {arg_string(call, "session_id"), arg_string(call, "sql"),
                                  json_is_object(params) ? params : empty, 1000};
    struct mcp_job *job;

    if (json_is_number(max_rows))
        args.max_rows = (int64_t)json_number_value(max_rows);
    job = call->backend->ops->omop_query(call->backend, call->caller, &args);
    json_decref(empty);
    return job;
}

static struct mcp_job *start_describe_cdm(const struct tool_call *call)
{
    return call->backend->ops->describe_cdm(call->backend, call->caller);
}

static struct mcp_job *start_pool_status(const struct tool_call *call)
{
    return call->backend->ops->pool_status(call->backend, call->caller);
}

/* The reference names argument problems after the argument; the rest are
 * invalid_arguments. */
static const char *schema_error_code(const char *argument)
{
    static const char *const codes[][2] = {
        {"limits", "invalid_limits"},    {"code", "invalid_code"},
        {"path", "invalid_path"},        {"content", "invalid_content"},
        {"encoding", "invalid_content"}, {"source", "invalid_source"},
    };

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(argument, codes[i][0]) == 0)
            return codes[i][1];
    return "invalid_arguments";
}

struct mcp_job *mcp_tool_start(const struct mcp_tool *tool, json_t *args,
                               const struct mcp_limits *limits, struct mcp_backend *backend,
                               const struct mcp_caller *caller)
{
    struct tool_call call = {args, limits, backend, caller};
    struct mcp_schema_error err;
    struct mcp_job *job;

    tools_load();
    call.args = args ? json_incref(args) : must(json_object());
    if (!mcp_schema_check(input_schemas[tool - tools], call.args, &err)) {
        job = refuse(&call, schema_error_code(err.top),
                     must(json_pack("{s:s}", "argument", err.path)), err.message);
        goto out;
    }
    job = tool->start(&call);

out:
    json_decref(call.args);
    return job;
}

/* A JSON string of s even when s is not valid UTF-8 (R output can be
 * anything): bytes that break UTF-8 become '?'. */
static json_t *text_value(const char *s)
{
    json_t *value = json_string(s ? s : "");
    char *copy;

    if (value)
        return value;
    copy = xstrdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    value = must(json_string(copy));
    free(copy);
    return value;
}

static json_t *envelope(const struct mcp_result *res)
{
    json_t *body = must(json_object());
    const char *key;
    json_t *value;

    json_object_set_new(body, "success", json_boolean(!res->error));
    if (res->error) {
        json_t *error = must(json_object());

        json_object_set_new(error, "code", text_value(res->error));
        json_object_set_new(error, "message", text_value(res->message));
        json_object_set_new(error, "retryable", json_boolean(res->retryable));
        json_object_set_new(error, "details",
                            json_is_object(res->details) ? json_incref(res->details)
                                                         : must(json_object()));
        json_object_set_new(body, "error", error);
    }
    json_object_foreach(res->fields, key, value)
    {
        if (strcmp(key, "success") != 0 && strcmp(key, "error") != 0)
            json_object_set(body, key, value);
    }
    return body;
}

json_t *mcp_tool_result(const struct mcp_result *res, const struct mcp_version_features *features)
{
    json_t *body = envelope(res);
    json_t *content = must(json_array());
    json_t *result = must(json_object());
    char *text = json_dumps(body, JSON_INDENT(2));
    size_t i;
    json_t *block;

    if (!text)
        panic("cannot serialise a tool result");
    json_array_append_new(content, must(json_pack("{s:s,s:s}", "type", "text", "text", text)));
    free(text);
    json_array_foreach(res->content, i, block)
    {
        json_array_append(content, block);
    }

    json_object_set_new(result, "content", content);
    /* Before 2025-06-18 clients know no structuredContent: the text carries the JSON. */
    if (features->structured)
        json_object_set_new(result, "structuredContent", body);
    else
        json_decref(body);
    json_object_set_new(result, "isError", json_boolean(res->error != NULL));
    return result;
}
