/* The pool's memory of what it runs, on disk: slots with their containers,
 * directories and leases, and the workspaces of sessions whose container is
 * gone. msgpack, written whole and atomically (temporary file, fsync,
 * rename); a file that is too large or malformed is refused, never trusted. */
#ifndef OMCP_POOL_STATE_H
#define OMCP_POOL_STATE_H

#include <stdbool.h>
#include <stddef.h>

#define STATE_VERSION     1
#define STATE_MAX_BYTES   ((size_t)64 << 20)
#define STATE_MAX_RECORDS 100000 /* slots, and orphans: MAX_SANDBOXES is at most 10000 */

/* Who holds a lease, as its owner described it at acquire. */
struct state_lease {
    char *session; /* the front end's session id */
    char *owner;   /* the identity that owns it */
    char *cdm;     /* the CDM open as cdm_con, or NULL */
    double created_at, last_used, idle_timeout;
};

struct state_slot {
    char *name;      /* container name and directory name */
    char *container; /* the engine's id, or NULL before create answered */
    char *workspace;
    char *sock_dir;
    char *state; /* the slot state's name */
    double created_at;
    bool leased;
    struct state_lease lease; /* when leased */
};

/* A workspace kept for a session whose container is gone. */
struct state_orphan {
    char *workspace;
    char *cause;
    struct state_lease lease;
};

struct state {
    char *instance;
    double written_at;
    struct state_slot *slots;
    size_t n_slots;
    struct state_orphan *orphans;
    size_t n_orphans;
};

/* The file's bytes for st without writing them: malloc'd, *len long. */
char *state_encode(const struct state *st, size_t *len);

/* Writes st to path; *bytes gets the file's size. False with *err. */
bool state_save(const char *path, const struct state *st, size_t *bytes, const char **err);

/* Reads path into st (zeroed first). False with *err NULL when there is no
 * file, or *err saying what is wrong with it. */
bool state_load(const char *path, struct state *st, const char **err);

/* Renames a file that could not be read to path.bad-<unix time>, so the
 * next start does not trip on it and a person can look at it. */
void state_set_aside(const char *path);

void state_free(struct state *st);

#endif
