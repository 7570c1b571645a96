/* What GET /metrics shows for the pool, the MCP tool calls that went through
 * this listener, and the listener itself. Each is a metrics source (see
 * proxy/metrics.h), so other front ends add theirs beside these. */
#include "mcp/http_impl.h"

#include "pool/pool.h"
#include "proxy/metrics.h"

#include <stdio.h>
#include <string.h>

void http_metrics_outcome(const char *tool, const char *error, double seconds, void *arg)
{
    struct mcp_http *srv = arg;
    const char *outcome = error ? error : "ok";
    struct http_tally *t;

    for (unsigned i = 0; i < srv->ntally; i++) {
        t = &srv->tally[i];
        if (t->tool == tool && strcmp(t->outcome, outcome) == 0) {
            t->count++;
            return;
        }
    }
    if (srv->ntally == HTTP_TALLY_MAX)
        return; /* codes are a closed set; this cannot fill up */
    t = &srv->tally[srv->ntally++];
    t->tool = tool;
    snprintf(t->outcome, sizeof(t->outcome), "%s", outcome);
    t->count = 1;
}

static void pool_gauges(struct buf *out, const struct pool *pool, const struct pool_stats *st)
{
    char labels[64];

    metrics_family(out, "omcp_pool_slots", "gauge", "Slots of the warm pool by state.");
    for (int i = 0; i < SLOT_NSTATES; i++) {
        snprintf(labels, sizeof(labels), "state=\"%s\"", slot_state_name((enum slot_state)i));
        metrics_sample_u64(out, "omcp_pool_slots", labels, st->slots[i]);
    }
    metrics_family(out, "omcp_pool_waiters", "gauge", "Acquires waiting for a slot.");
    metrics_sample_u64(out, "omcp_pool_waiters", "", st->waiters);
    metrics_family(out, "omcp_pool_ready", "gauge", "1 when the pool holds its warm target.");
    metrics_sample_u64(out, "omcp_pool_ready", "", pool_ready(pool));
    metrics_family(out, "omcp_pool_engine_up", "gauge", "1 when the container engine answers.");
    metrics_sample_u64(out, "omcp_pool_engine_up", "", st->engine_up);
    metrics_family(out, "omcp_pool_state_writable", "gauge",
                   "1 while the state file can be written (else new leases are refused).");
    metrics_sample_u64(out, "omcp_pool_state_writable", "", !st->state_failing);
    metrics_family(out, "omcp_pool_kept_workspaces", "gauge",
                   "Workspaces of lost leases kept for their owners.");
    metrics_sample_u64(out, "omcp_pool_kept_workspaces", "", st->kept_workspaces);
}

static void pool_counter(struct buf *out, const char *name, const char *help, uint64_t value)
{
    metrics_family(out, name, "counter", help);
    metrics_sample_u64(out, name, "", value);
}

static void pool_source(struct buf *out, void *arg)
{
    struct mcp_http *srv = arg;
    const struct pool_stats *st;

    if (!srv->cfg.pool)
        return;
    st = pool_stats(srv->cfg.pool);
    pool_gauges(out, srv->cfg.pool, st);
    pool_counter(out, "omcp_pool_slots_created_total", "Containers created.", st->created);
    pool_counter(out, "omcp_pool_slots_retired_total", "Slots retired.", st->retired);
    pool_counter(out, "omcp_pool_leases_total", "Leases granted.", st->leases);
    pool_counter(out, "omcp_pool_recycled_total", "Slots recycled in process mode.", st->recycled);
    pool_counter(out, "omcp_pool_acquire_failed_total", "Acquires that failed.",
                 st->acquire_failed);
    pool_counter(out, "omcp_pool_leases_lost_total", "Leases lost (R or container died).",
                 st->lost);
    pool_counter(out, "omcp_pool_interrupts_total", "Evaluations interrupted.", st->interrupts);
    pool_counter(out, "omcp_pool_start_failed_total", "Container starts that failed.",
                 st->start_failed);
    pool_counter(out, "omcp_pool_state_write_failures_total",
                 "State file writes that failed (disk full, read-only, ...).",
                 st->state_write_failures);
    metrics_histogram(out, "omcp_pool_acquire_seconds", "Time from acquire to lease.",
                      &st->acquire);
    metrics_histogram(out, "omcp_pool_eval_seconds", "Time of one R evaluation.", &st->eval);
    metrics_histogram(out, "omcp_pool_container_start_seconds",
                      "Time from container create until warm.", &st->start);
    metrics_histogram(out, "omcp_pool_warmup_seconds", "Time from connected until warm.",
                      &st->warmup);
}

static void tool_source(struct buf *out, void *arg)
{
    struct mcp_http *srv = arg;
    struct buf labels = BUF_INIT;
    struct mcp_backend *b = srv->cfg.backend;

    if (b->ops->owner_sessions) {
        metrics_family(out, "omcp_mcp_sessions", "gauge", "R sessions open, of every client.");
        metrics_sample_u64(out, "omcp_mcp_sessions", "", b->ops->owner_sessions(b, NULL));
    }
    metrics_family(out, "omcp_mcp_tool_calls_total", "counter",
                   "MCP tool calls by front end, tool and outcome (ok or the error code).");
    for (unsigned i = 0; i < srv->ntally; i++) {
        buf_reset(&labels);
        buf_puts(&labels, "front_end=\"http\",tool=\"");
        metrics_label_value(&labels, srv->tally[i].tool);
        buf_puts(&labels, "\",outcome=\"");
        metrics_label_value(&labels, srv->tally[i].outcome);
        buf_putc(&labels, '"');
        metrics_sample_u64(out, "omcp_mcp_tool_calls_total", labels.data, srv->tally[i].count);
    }
    buf_free(&labels);
}

static void http_counter(struct buf *out, const char *name, const char *help, uint64_t value)
{
    metrics_family(out, name, "counter", help);
    metrics_sample_u64(out, name, "", value);
}

static void http_responses(struct buf *out, const struct http_stats *st)
{
    char labels[32];

    metrics_family(out, "omcp_http_responses_total", "counter", "HTTP responses by status code.");
    for (int code = 100; code < 600; code++) {
        if (!st->by_code[code])
            continue;
        snprintf(labels, sizeof(labels), "code=\"%d\"", code);
        metrics_sample_u64(out, "omcp_http_responses_total", labels, st->by_code[code]);
    }
}

static void http_source(struct buf *out, void *arg)
{
    struct mcp_http *srv = arg;
    const struct http_stats *st = &srv->stats;

    metrics_family(out, "omcp_http_connections", "gauge", "HTTP connections open.");
    metrics_sample_u64(out, "omcp_http_connections", "", srv->nconns);
    metrics_family(out, "omcp_http_streams", "gauge", "Event streams open.");
    metrics_sample_u64(out, "omcp_http_streams", "", srv->nstreams);
    metrics_family(out, "omcp_http_mcp_sessions", "gauge", "MCP sessions over HTTP.");
    metrics_sample_u64(out, "omcp_http_mcp_sessions", "", srv->nsessions);
    http_counter(out, "omcp_http_connections_accepted_total", "Connections accepted.",
                 st->accepted);
    http_counter(out, "omcp_http_connections_refused_total",
                 "Connections refused at the connection limit.", st->refused);
    http_counter(out, "omcp_http_connections_evicted_total",
                 "Waiting connections closed to make room at the limit.", st->evicted);
    http_counter(out, "omcp_http_accept_paused_total", "Times accepting paused (EMFILE).",
                 st->accept_paused);
    metrics_family(out, "omcp_http_timeouts_total", "counter", "Connections timed out by phase.");
    metrics_sample_u64(out, "omcp_http_timeouts_total", "phase=\"header\"", st->header_timeouts);
    metrics_sample_u64(out, "omcp_http_timeouts_total", "phase=\"body\"", st->body_timeouts);
    metrics_sample_u64(out, "omcp_http_timeouts_total", "phase=\"idle\"", st->idle_timeouts);
    http_counter(out, "omcp_http_received_bytes_total", "Bytes read from clients.", st->bytes_in);
    http_counter(out, "omcp_http_sent_bytes_total", "Bytes written to clients.", st->bytes_out);
    http_counter(out, "omcp_http_rate_limited_total", "Requests refused with 429.",
                 st->rate_limited);
    http_counter(out, "omcp_http_auth_failed_total", "Requests without a valid bearer token.",
                 st->auth_failed);
    http_counter(out, "omcp_http_origin_refused_total", "Requests from a refused Origin.",
                 st->origin_refused);
    http_responses(out, st);
}

void http_metrics_register(struct mcp_http *srv)
{
    metrics_register(pool_source, srv);
    metrics_register(tool_source, srv);
    metrics_register(http_source, srv);
}

void http_metrics_unregister(struct mcp_http *srv)
{
    metrics_unregister(pool_source, srv);
    metrics_unregister(tool_source, srv);
    metrics_unregister(http_source, srv);
}
