/* Metrics in the Prometheus text format: a registry of sources, each a
 * function that appends its families when /metrics is scraped, and helpers
 * that write one family's lines. A front end (MCP over HTTP, QAP1, ...)
 * registers its own source with metrics_register() and the HTTP listener
 * renders every source in order; nothing is counted here. */
#ifndef OMCP_METRICS_H
#define OMCP_METRICS_H

#include "proxy/buf.h"
#include "proxy/hist.h"

#include <stdbool.h>
#include <stdint.h>

/* Appends complete metric families (HELP, TYPE and samples) to out. */
typedef void (*metrics_source_fn)(struct buf *out, void *arg);

#define METRICS_MAX_SOURCES 16

/* Adds a source; false when the registry is full. The same fn and arg twice is one source. */
bool metrics_register(metrics_source_fn fn, void *arg);
void metrics_unregister(metrics_source_fn fn, void *arg);
/* Every registered source, in the order they were registered. */
void metrics_render(struct buf *out);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void metrics_family(struct buf *out, const char *name, const char *type, const char *help);
/* One sample: labels is "" or a label list without braces (`state="idle"`). */
void metrics_sample(struct buf *out, const char *name, const char *labels, double value);
void metrics_sample_u64(struct buf *out, const char *name, const char *labels, uint64_t value);
/* A whole histogram family from a struct hist: cumulative buckets at
 * hist_bounds, +Inf, _sum and _count. */
void metrics_histogram(struct buf *out, const char *name, const char *help, const struct hist *h);
/* value with \, " and newlines escaped, as a label value must be. */
void metrics_label_value(struct buf *out, const char *value);

#endif
