/* Helpers shared by backends, and the backend of a daemon that has no warm
 * pool: it refuses every session tool with backend_unavailable. */
#include "mcp/backend.h"

#include <stdarg.h>
#include <stdio.h>

void mcp_fail(const struct mcp_caller *caller, const char *code, bool retryable, json_t *details,
              const char *fmt, ...)
{
    struct mcp_result res = {.error = code, .retryable = retryable, .details = details};
    char message[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    res.message = message;
    caller->done(&res, caller->arg);
    json_decref(details);
}

static struct mcp_job *unavailable(const struct mcp_caller *caller)
{
    mcp_fail(caller, "backend_unavailable", false, NULL,
             "This omcp-rproxy was built without its warm pool of R containers, so no R "
             "session, workspace or CDM can be reached; only the MCP protocol itself works");
    return NULL;
}

static struct mcp_job *create_session(struct mcp_backend *b, const struct mcp_caller *caller,
                                      const struct mcp_create_args *args)
{
    return unavailable(caller);
}

static struct mcp_job *no_args(struct mcp_backend *b, const struct mcp_caller *caller)
{
    return unavailable(caller);
}

static struct mcp_job *close_session(struct mcp_backend *b, const struct mcp_caller *caller,
                                     const char *session_id)
{
    return unavailable(caller);
}

static struct mcp_job *execute(struct mcp_backend *b, const struct mcp_caller *caller,
                               const struct mcp_exec_args *args)
{
    return unavailable(caller);
}

static struct mcp_job *file_op(struct mcp_backend *b, const struct mcp_caller *caller,
                               const struct mcp_file_args *args)
{
    return unavailable(caller);
}

static struct mcp_job *install_package(struct mcp_backend *b, const struct mcp_caller *caller,
                                       const struct mcp_install_args *args)
{
    return unavailable(caller);
}

static struct mcp_job *omop_query(struct mcp_backend *b, const struct mcp_caller *caller,
                                  const struct mcp_query_args *args)
{
    return unavailable(caller);
}

static void cancel(struct mcp_backend *b, struct mcp_job *job)
{
    /* Never called: this backend returns no jobs. */
}

static const struct mcp_backend_ops unavailable_ops = {
    .name = "unavailable",
    .create_session = create_session,
    .list_sessions = no_args,
    .close_session = close_session,
    .execute = execute,
    .list_files = file_op,
    .read_file = file_op,
    .write_file = file_op,
    .export_workspace = file_op,
    .import_workspace = file_op,
    .install_package = install_package,
    .omop_query = omop_query,
    .describe_cdm = no_args,
    .pool_status = no_args,
    .cancel = cancel,
    .owner_gone = NULL,
};

struct mcp_backend *mcp_backend_unavailable(void)
{
    static struct mcp_backend backend = {&unavailable_ops};

    return &backend;
}
