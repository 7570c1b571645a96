/* What the MCP tools ask of the pool: one asynchronous function per tool,
 * each answering through a completion callback, and a way to cancel. The MCP
 * layer validates arguments before any of these is called. */
#ifndef OMCP_MCP_BACKEND_H
#define OMCP_MCP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* How one tool call ended, valid only while the done callback runs.
 *
 * Success: error is NULL and fields holds the tool's result fields (the MCP
 * layer adds "success": true). Failure: error is an envelope code
 * ("session_not_found", "execution_error", ...), message says what happened
 * in words an agent can act on, and fields may still carry tool fields that
 * belong with the failure (an R error's output and meta, for example). */
struct mcp_result {
    const char *error;   /* NULL on success, else the envelope's error.code */
    const char *message; /* failure only: the envelope's error.message */
    bool retryable;      /* failure only: trying again later may succeed */
    json_t *details;     /* failure only, or NULL: the envelope's error.details */
    json_t *fields;      /* object of result fields, or NULL */
    json_t *content;     /* array of extra MCP content blocks (PNG plots as "image"), or NULL */
};

typedef void (*mcp_done_fn)(const struct mcp_result *res, void *arg);
/* progress grows with each report; total is 0 when unknown; message may be NULL. */
typedef void (*mcp_progress_fn)(double progress, double total, const char *message, void *arg);

/* Who asked, and where the answer goes. Valid until done runs or the call
 * is cancelled. */
struct mcp_caller {
    const char *owner;        /* identity that owns sessions: "stdio:pid=…", a token's hash… */
    mcp_done_fn done;         /* runs exactly once unless the call is cancelled first */
    mcp_progress_fn progress; /* optional reports before done */
    void *arg;                /* passed to done and progress */
};

struct mcp_create_args {
    double idle_timeout_secs; /* close the session after this long without a call */
    const char *cdm;          /* CDM name, or NULL for the configured default */
};

struct mcp_exec_args {
    const char *session_id;
    const char *code;
    double max_duration_secs; /* interrupt R after this long */
    int64_t max_output_bytes; /* keep this much output inline; save the rest to a file */
};

/* Paths are already checked and made relative to the workspace root (/sandbox):
 * no "..", no leading "/", "." for the root itself. */
struct mcp_file_args {
    const char *session_id;
    const char *path;
    bool base64;                  /* read: return base64; write: content was base64 */
    const unsigned char *content; /* write only: the bytes to store (decoded) */
    size_t content_len;
};

struct mcp_install_args {
    const char *session_id;
    const char *package_name;
    const char *source; /* "CRAN" or "GitHub" as the reference spells them */
};

struct mcp_query_args {
    const char *session_id;
    const char *sql;
    json_t *params;   /* object of named scalar parameters, borrowed; may be empty */
    int64_t max_rows; /* rows beyond this are dropped and the result says so */
};

/* A call in flight, owned by the backend. */
struct mcp_job;
struct mcp_backend;

/* Each operation either returns a job that the caller may cancel until done
 * runs, or NULL after done already ran (a backend may answer at once, for
 * example with session_not_found). Each operation must check that the
 * session belongs to caller->owner and answer session_not_found otherwise.
 * The argument structs and their strings are valid only during the call:
 * a job copies what it keeps; the caller struct lives until done or cancel. */
struct mcp_backend_ops {
    const char *name;
    struct mcp_job *(*create_session)(struct mcp_backend *b, const struct mcp_caller *caller,
                                      const struct mcp_create_args *args);
    struct mcp_job *(*list_sessions)(struct mcp_backend *b, const struct mcp_caller *caller);
    struct mcp_job *(*close_session)(struct mcp_backend *b, const struct mcp_caller *caller,
                                     const char *session_id);
    struct mcp_job *(*execute)(struct mcp_backend *b, const struct mcp_caller *caller,
                               const struct mcp_exec_args *args);
    struct mcp_job *(*list_files)(struct mcp_backend *b, const struct mcp_caller *caller,
                                  const struct mcp_file_args *args);
    struct mcp_job *(*read_file)(struct mcp_backend *b, const struct mcp_caller *caller,
                                 const struct mcp_file_args *args);
    struct mcp_job *(*write_file)(struct mcp_backend *b, const struct mcp_caller *caller,
                                  const struct mcp_file_args *args);
    /* The directory args->path as a tar archive (base64 in the result). */
    struct mcp_job *(*export_workspace)(struct mcp_backend *b, const struct mcp_caller *caller,
                                        const struct mcp_file_args *args);
    /* args->content is a tar archive to unpack under args->path. */
    struct mcp_job *(*import_workspace)(struct mcp_backend *b, const struct mcp_caller *caller,
                                        const struct mcp_file_args *args);
    struct mcp_job *(*install_package)(struct mcp_backend *b, const struct mcp_caller *caller,
                                       const struct mcp_install_args *args);
    struct mcp_job *(*omop_query)(struct mcp_backend *b, const struct mcp_caller *caller,
                                  const struct mcp_query_args *args);
    struct mcp_job *(*describe_cdm)(struct mcp_backend *b, const struct mcp_caller *caller);
    struct mcp_job *(*pool_status)(struct mcp_backend *b, const struct mcp_caller *caller);
    /* The client gave up (notifications/cancelled, or it went away): stop the
     * work, interrupting R if it runs. done will not run for this job. The
     * backend remains responsible for leaving the session usable. */
    void (*cancel)(struct mcp_backend *b, struct mcp_job *job);
    /* The client went away for good: the backend may close what it owns. */
    void (*owner_gone)(struct mcp_backend *b, const char *owner);
    /* Optional: sessions open (or being opened) for owner; NULL counts every owner's. */
    unsigned (*owner_sessions)(struct mcp_backend *b, const char *owner);
};

struct mcp_backend {
    const struct mcp_backend_ops *ops;
};

/* The backend of a daemon built without the warm pool: every tool that needs
 * a session, a CDM or the pool answers backend_unavailable (retryable: false).
 * Answers at once; never returns a job. Static, never freed. */
struct mcp_backend *mcp_backend_unavailable(void);

/* Helper for backends: answers a failure through caller->done. */
void mcp_fail(const struct mcp_caller *caller, const char *code, bool retryable, json_t *details,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
