/* The container backend as the pool sees it: create, start, kill, remove,
 * inspect, list by label, signal a process inside, and watch events. */
#ifndef OMCP_BACKEND_H
#define OMCP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Labels every sandbox carries, so that a restarted daemon finds its own. */
#define BACKEND_LABEL_POOL     "org.omcp.pool"
#define BACKEND_LABEL_INSTANCE "org.omcp.instance"

enum backend_error {
    BACKEND_OK,
    BACKEND_ENGINE_UNREACHABLE, /* no socket, connection refused, engine gone mid-call */
    BACKEND_NOT_FOUND,          /* 404: no such container, image or exec */
    BACKEND_CONFLICT,           /* 409: name in use, container not running, ... */
    BACKEND_ENGINE_ERROR,       /* any other non-2xx answer; message is the engine's */
    BACKEND_BAD_RESPONSE,       /* malformed JSON, truncated body, unexpected shape */
    BACKEND_TOO_LARGE,          /* the answer passed the response size limit */
    BACKEND_TIMEOUT,            /* the call passed its deadline */
    BACKEND_CANCELLED,          /* the caller cancelled; the callback is not called */
    BACKEND_UNSUPPORTED,        /* the engine is too old or speaks another scheme */
};

/* One bind mount: a host directory seen at container_path. */
struct backend_mount {
    const char *host_path;      /* absolute, no ':' */
    const char *container_path; /* absolute, no ':' */
    bool read_only;
};

/* A hardened sandbox container. Everything not named here is closed:
 * no capabilities, no network, read-only root, no new privileges. */
struct backend_spec {
    const char *name;           /* container name, or NULL for one the engine picks */
    const char *image;          /* required */
    const char *const *cmd;     /* NULL-terminated argv, or NULL for the image's */
    const char *const *env;     /* NULL-terminated "KEY=value", or NULL */
    const char *workdir;        /* or NULL */
    unsigned uid, gid;          /* the sandbox account; 0 is refused */
    int64_t memory_bytes;       /* hard limit, swap included (no swap beyond it) */
    int64_t cpu_quota_us;       /* per cpu_period_us; 0 leaves the CPU unlimited */
    int64_t cpu_period_us;      /* 100000 when 0 */
    int64_t pids_limit;         /* required, > 0 */
    int64_t tmp_size_bytes;     /* size of the /tmp tmpfs, required, > 0 */
    const char *pool_label;     /* value of BACKEND_LABEL_POOL, required */
    const char *instance_label; /* value of BACKEND_LABEL_INSTANCE, required */
    const char *const *labels;  /* more labels: NULL-terminated key, value, key, value... */
    const struct backend_mount *mounts;
    size_t n_mounts;
};

/* A container as listed or inspected. Strings are borrowed for the callback. */
struct backend_container {
    const char *id;
    const char *name;     /* without Docker's leading '/'; may be NULL */
    const char *state;    /* "created", "running", "exited", ... */
    bool running;         /* inspect only; list sets it from state */
    bool oom_killed;      /* inspect only: PID 1 was OOM-killed */
    long long pid;        /* host pid of PID 1 while running (inspect only), else 0 */
    int exit_code;        /* inspect only */
    const char *pool;     /* label values, or NULL */
    const char *instance; /* label values, or NULL */
    json_t *labels;       /* the whole label object, borrowed; may be NULL */
};

/* The outcome of one call, valid only while the callback runs. */
struct backend_result {
    enum backend_error error;
    long http_status;    /* 0 when no answer arrived */
    const char *message; /* why it failed (the engine's words when it gave some), else NULL */
    json_t *json;        /* the parsed body, borrowed; NULL when there was none */
    const char *id;      /* create: the new container's id */
    int exit_code;       /* exec: the command's exit status */
    const struct backend_container *containers; /* inspect: one; list: n_containers */
    size_t n_containers;
};

/* One container event from the stream, valid while the callback runs. */
struct backend_event {
    const char *action; /* "create", "start", "die", "oom", "kill", "destroy", ... */
    const char *id;     /* the container's id */
    const char *pool;   /* label values from the event's attributes, or NULL */
    const char *instance;
    int exit_code;     /* die: the exit code, else -1 */
    int64_t time_nano; /* when the engine saw it */
    json_t *json;      /* the whole event, borrowed */
};

typedef void (*backend_done_fn)(const struct backend_result *res, void *arg);
typedef void (*backend_event_fn)(const struct backend_event *ev, void *arg);

struct backend_call;
struct backend;

/* A backend is a table of these; a second engine fills in its own. A call
 * returns a handle the caller may cancel until its callback runs, or NULL
 * when the arguments were refused (then *err, if given, says why and the
 * callback never runs). Callbacks run from the event loop, never from
 * inside the call that started them. */
struct backend_ops {
    const char *name;
    struct backend_call *(*create)(struct backend *b, const struct backend_spec *spec,
                                   backend_done_fn done, void *arg, const char **err);
    struct backend_call *(*start)(struct backend *b, const char *id, backend_done_fn done,
                                  void *arg);
    struct backend_call *(*kill)(struct backend *b, const char *id, int signal,
                                 backend_done_fn done, void *arg);
    struct backend_call *(*remove)(struct backend *b, const char *id, backend_done_fn done,
                                   void *arg);
    struct backend_call *(*inspect)(struct backend *b, const char *id, backend_done_fn done,
                                    void *arg);
    /* Sets a running container's CPU quota (quota_us per period_us). */
    struct backend_call *(*limit_cpu)(struct backend *b, const char *id, int64_t quota_us,
                                      int64_t period_us, backend_done_fn done, void *arg);
    /* Containers, running or not, whose label `key` has `value`. */
    struct backend_call *(*list)(struct backend *b, const char *key, const char *value,
                                 backend_done_fn done, void *arg);
    /* Runs argv inside the container as the container's user and reports its exit code. */
    struct backend_call *(*exec)(struct backend *b, const char *id, const char *const *argv,
                                 backend_done_fn done, void *arg);
    /* Streams events of containers labelled key=value until cancelled or the stream
     * ends; `ended` then runs once with the reason. Reconnecting is the caller's:
     * pass the last event's time_nano as since_nano to replay what was missed. */
    struct backend_call *(*events)(struct backend *b, const char *key, const char *value,
                                   long long since_nano, backend_event_fn on_event,
                                   backend_done_fn ended, void *arg);
    /* Asks whether the engine answers at all, within a second: a hung engine
     * fails with BACKEND_TIMEOUT long before an ordinary call would. */
    struct backend_call *(*ping)(struct backend *b, backend_done_fn done, void *arg);
    /* Stops a call; its callbacks will not run. Not for a call whose done
     * callback is running: that call is finished already. */
    void (*cancel)(struct backend *b, struct backend_call *call);
};

struct backend {
    const struct backend_ops *ops;
};

/* Names an error the way logs and the MCP error envelope spell it. */
const char *backend_error_name(enum backend_error error);

#endif
