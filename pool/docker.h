/* The Docker Engine API over a unix socket, through libcurl's multi interface
 * driven by the daemon's libev loop: nothing here ever blocks. */
#ifndef OMCP_DOCKER_H
#define OMCP_DOCKER_H

#include "pool/backend.h"

#include <stddef.h>

struct ev_loop;
struct docker;

#define DOCKER_DEFAULT_HOST         "unix:///var/run/docker.sock"
#define DOCKER_DEFAULT_TIMEOUT_MS   30000
#define DOCKER_DEFAULT_MAX_RESPONSE (4u << 20)
/* A ping that takes longer than this counts as an engine that hangs. */
#define DOCKER_PING_TIMEOUT_MS 1000

/* Extracts the socket path from a DOCKER_HOST value (NULL or "" means the
 * default). Returns a string the caller frees, or NULL with *err saying why
 * (tcp://, ssh://, a bare path...). */
char *docker_host_socket_path(const char *docker_host, const char **err);

/* A client for the engine at docker_host. Sends nothing yet. NULL with *err
 * when docker_host is not a unix:// address. */
struct docker *docker_new(struct ev_loop *loop, const char *docker_host, const char **err);
/* Cancels every call without running its callbacks. Not from a callback. */
void docker_free(struct docker *d);

/* Deadline of each call but the events stream, and the largest answer kept. */
void docker_set_timeout(struct docker *d, long timeout_ms);
void docker_set_max_response(struct docker *d, size_t bytes);

/* GET /version: checks that the engine answers and speaks API 1.41 or newer.
 * Fails with BACKEND_ENGINE_UNREACHABLE (message names the socket) or
 * BACKEND_UNSUPPORTED (message names both versions). Every other call is
 * sent to /v1.41/... whether this ran or not; run it first. */
struct backend_call *docker_check_version(struct docker *d, backend_done_fn done, void *arg);
/* What the last successful check saw, or "". */
const char *docker_engine_version(const struct docker *d);
const char *docker_engine_api_version(const struct docker *d);
/* "unix:///path" as configured, for messages. */
const char *docker_host(const struct docker *d);

/* The backend interface (pool/backend.h) of this client. */
struct backend *docker_backend(struct docker *d);

/* The calls, as in struct backend_ops. */
struct backend_call *docker_create(struct docker *d, const struct backend_spec *spec,
                                   backend_done_fn done, void *arg, const char **err);
struct backend_call *docker_start(struct docker *d, const char *id, backend_done_fn done,
                                  void *arg);
struct backend_call *docker_kill(struct docker *d, const char *id, int signal, backend_done_fn done,
                                 void *arg);
struct backend_call *docker_remove(struct docker *d, const char *id, backend_done_fn done,
                                   void *arg);
struct backend_call *docker_inspect(struct docker *d, const char *id, backend_done_fn done,
                                    void *arg);
struct backend_call *docker_limit_cpu(struct docker *d, const char *id, int64_t quota_us,
                                      int64_t period_us, backend_done_fn done, void *arg);
struct backend_call *docker_list(struct docker *d, const char *key, const char *value,
                                 backend_done_fn done, void *arg);
struct backend_call *docker_exec(struct docker *d, const char *id, const char *const *argv,
                                 backend_done_fn done, void *arg);
/* GET /_ping, with its own short deadline (DOCKER_PING_TIMEOUT_MS). */
struct backend_call *docker_ping(struct docker *d, backend_done_fn done, void *arg);
/* since_nano: replay events from then on (the last event's time_nano after
 * a reconnect), or 0 for events from now. */
struct backend_call *docker_events(struct docker *d, const char *key, const char *value,
                                   long long since_nano, backend_event_fn on_event,
                                   backend_done_fn ended, void *arg);
void docker_cancel(struct docker *d, struct backend_call *call);

/* Calls in flight, for metrics and tests. */
size_t docker_calls_in_flight(const struct docker *d);

#endif
