/* The Docker Engine API's JSON, without I/O: the hardened create body, the
 * answers of version, inspect, list and events, and the events stream's
 * newline-delimited framing. Everything here reads bytes from outside. */
#ifndef OMCP_DOCKER_JSON_H
#define OMCP_DOCKER_JSON_H

#include "pool/backend.h"
#include "proxy/buf.h"

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The API version every request is pinned to (Docker 20.10, Debian 12). */
#define DOCKER_API_MAJOR 1
#define DOCKER_API_MINOR 41

/* Builds the body of POST /containers/create; NULL with *err when the spec
 * is incomplete or unsafe (uid 0, a ':' in a bind path, no pids limit...). */
json_t *docker_create_body(const struct backend_spec *spec, const char **err);

/* Parses "1.41" into major and minor; false for anything else. */
bool docker_api_version_parse(const char *text, int *major, int *minor);

/* Checks a GET /version answer. On success fills engine_version and
 * api_version (either may be left empty); else writes why into why. */
bool docker_version_check(json_t *body, char *engine_version, size_t engine_len, char *api_version,
                          size_t api_len, struct buf *why);

/* The engine's own words from an error answer: its "message" field, or the
 * body's text, cut to a sane length. Appends to out. */
void docker_error_message(const char *body, size_t len, json_t *json, struct buf *out);

/* True for an error answer that means the container is in the wrong state
 * (not running, already stopped), however the engine numbered it. */
bool docker_error_is_conflict(json_t *json);

/* Fills c from GET /containers/{id}/json; strings stay owned by body. */
bool docker_parse_inspect(json_t *body, struct backend_container *c);

/* Fills a fresh array from GET /containers/json; the caller frees *out. */
bool docker_parse_list(json_t *body, struct backend_container **out, size_t *n);

/* Fills ev from one events-stream object; false for non-container events. */
bool docker_parse_event(json_t *body, struct backend_event *ev);

/* Reassembles newline-delimited records from arbitrarily split bytes. */
struct docker_lines {
    struct buf pending; /* bytes not yet returned */
    size_t start;       /* where the next record begins in pending */
    size_t max_line;    /* longest record accepted */
};

void docker_lines_init(struct docker_lines *l, size_t max_line);
void docker_lines_free(struct docker_lines *l);
/* Adds bytes; false when an unfinished record is already longer than max_line. */
bool docker_lines_feed(struct docker_lines *l, const char *bytes, size_t n);
/* Returns the next complete record without its newline (and without a
 * trailing '\r'), skipping empty ones; false when none is complete. */
bool docker_lines_next(struct docker_lines *l, const char **line, size_t *len);

#endif
