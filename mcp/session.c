/* The MCP session table: random ids, ownership checks, states and times. */
#include "mcp/session.h"

#include "proxy/log.h"
#include "proxy/mem.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

bool mcp_session_new_id(char out[MCP_SESSION_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[MCP_SESSION_ID_LEN / 2];
    size_t got = 0;

    while (got < sizeof(bytes)) {
        ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(bytes); i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[MCP_SESSION_ID_LEN] = '\0';
    return true;
}

struct mcp_session *mcp_session_add(struct mcp_session_table *t, const char *owner, const char *cdm,
                                    double idle_timeout, double now)
{
    struct mcp_session *s = xcalloc(1, sizeof(*s));

    if (!mcp_session_new_id(s->id)) {
        free(s);
        return NULL;
    }
    s->owner = xstrdup(owner);
    s->cdm = cdm ? xstrdup(cdm) : NULL;
    s->created_at = s->last_used = now;
    s->idle_timeout = idle_timeout;
    s->state = MCP_SESSION_ACQUIRING;
    s->next = t->head;
    t->head = s;
    t->count++;
    return s;
}

struct mcp_session *mcp_session_restore(struct mcp_session_table *t, const char *id,
                                        const char *owner, const char *cdm, double idle_timeout,
                                        double created_at, double last_used)
{
    struct mcp_session *s = xcalloc(1, sizeof(*s));

    snprintf(s->id, sizeof(s->id), "%s", id);
    s->owner = xstrdup(owner);
    s->cdm = cdm ? xstrdup(cdm) : NULL;
    s->created_at = created_at;
    s->last_used = last_used;
    s->idle_timeout = idle_timeout;
    s->state = MCP_SESSION_ACQUIRING;
    s->restored = true;
    s->next = t->head;
    t->head = s;
    t->count++;
    return s;
}

struct mcp_session *mcp_session_find(const struct mcp_session_table *t, const char *id,
                                     const char *owner)
{
    if (!id || !owner)
        return NULL;
    for (struct mcp_session *s = t->head; s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return strcmp(s->owner, owner) == 0 ? s : NULL;
    return NULL;
}

unsigned mcp_session_count(const struct mcp_session_table *t, const char *owner)
{
    unsigned n = 0;

    for (const struct mcp_session *s = t->head; s; s = s->next)
        if (!owner || strcmp(s->owner, owner) == 0)
            n++;
    return n;
}

void mcp_session_set_state(struct mcp_session *s, enum mcp_session_state st, const char *reason)
{
    log_info("session=%.8s msg=\"state\" from=%s to=%s reason=%s", s->id,
             mcp_session_state_name(s->state), mcp_session_state_name(st), log_quote(reason));
    s->state = st;
    if (st == MCP_SESSION_LOST) {
        free(s->lost_reason);
        s->lost_reason = xstrdup(reason);
        s->slot = NULL;
    }
}

void mcp_session_remove(struct mcp_session_table *t, struct mcp_session *s)
{
    for (struct mcp_session **p = &t->head; *p; p = &(*p)->next) {
        if (*p != s)
            continue;
        *p = s->next;
        t->count--;
        break;
    }
    free(s->owner);
    free(s->cdm);
    free(s->lost_reason);
    free(s->workspace);
    free(s);
}

const char *mcp_session_state_name(enum mcp_session_state st)
{
    static const char *const names[] = {"acquiring", "ready", "lost"};

    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

void mcp_session_format_time(double t, char out[32])
{
    time_t secs = (time_t)floor(t);
    int ms = (int)((t - (double)secs) * 1000.0);
    struct tm tm;
    size_t n;

    if (ms < 0 || ms > 999)
        ms = ms < 0 ? 0 : 999;
    gmtime_r(&secs, &tm);
    n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", ms);
}
