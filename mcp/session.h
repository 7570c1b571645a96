/* MCP sessions: the table of R sessions the MCP front end hands out, each
 * with a random id, the identity that owns it and its times. Lookups by
 * another owner find nothing, as if the session did not exist. */
#ifndef OMCP_MCP_SESSION_H
#define OMCP_MCP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

/* 128 random bits as 32 lowercase hex digits. */
#define MCP_SESSION_ID_LEN 32

/* Where a session is; only mcp_session_set_state() changes it. */
enum mcp_session_state {
    MCP_SESSION_ACQUIRING, /* waiting for a warm slot */
    MCP_SESSION_READY,     /* bound to a leased slot */
    MCP_SESSION_LOST,      /* its slot died; calls answer session_lost until it is closed */
};

struct slot;
struct mcp_job;
struct mcp_pool_backend;

struct mcp_session {
    char id[MCP_SESSION_ID_LEN + 1];
    char *owner;
    char *cdm;           /* the CDM bound to cdm_con, or NULL for none */
    double created_at;   /* wall-clock seconds */
    double last_used;    /* wall-clock seconds */
    double idle_timeout; /* seconds without a call before the pool ends it */
    unsigned calls;      /* execute_in_session and omop_query calls answered */
    bool restored;       /* brought back from the state file after a restart */
    bool r_reset_told;   /* a restored session's first evaluation said R started afresh */
    enum mcp_session_state state;
    const char *lost_cause;           /* MCP_SESSION_LOST: a POOL_CAUSE_* word (static) */
    char *lost_reason;                /* MCP_SESSION_LOST: why */
    char *workspace;                  /* host directory of /sandbox, kept when the slot is lost */
    struct mcp_pool_backend *backend; /* the backend that holds the table */
    struct slot *slot;                /* MCP_SESSION_READY: the lease */
    struct mcp_job *busy;             /* the call running on the R connection, or NULL */
    struct mcp_session *next;
};

struct mcp_session_table {
    struct mcp_session *head;
    unsigned count;
};

/* Fills out with MCP_SESSION_ID_LEN hex digits of getrandom(2) and a NUL.
 * False when the kernel has no randomness to give. */
bool mcp_session_new_id(char out[MCP_SESSION_ID_LEN + 1]);

/* Adds a session in state ACQUIRING with a fresh id; NULL when no id could
 * be made. cdm may be NULL. */
struct mcp_session *mcp_session_add(struct mcp_session_table *t, const char *owner, const char *cdm,
                                    double idle_timeout, double now);

/* Adds a session the state file named, in state ACQUIRING, with its id. */
struct mcp_session *mcp_session_restore(struct mcp_session_table *t, const char *id,
                                        const char *owner, const char *cdm, double idle_timeout,
                                        double created_at, double last_used);

/* The session with this id if owner owns it, else NULL. */
struct mcp_session *mcp_session_find(const struct mcp_session_table *t, const char *id,
                                     const char *owner);

/* How many sessions owner has; with owner NULL, all of them. */
unsigned mcp_session_count(const struct mcp_session_table *t, const char *owner);

void mcp_session_set_state(struct mcp_session *s, enum mcp_session_state st, const char *reason);

/* Unlinks and frees s; the caller has ended its lease and its call. */
void mcp_session_remove(struct mcp_session_table *t, struct mcp_session *s);

const char *mcp_session_state_name(enum mcp_session_state st);

/* Writes t (wall-clock seconds) as ISO 8601 UTC with milliseconds:
 * "2026-01-31T12:00:00.123Z". */
void mcp_session_format_time(double t, char out[32]);

#endif
