/* The metrics registry and the Prometheus text format's writers. */
#include "proxy/metrics.h"

#include <stddef.h>

struct metrics_source {
    metrics_source_fn fn;
    void *arg;
};

static struct metrics_source sources[METRICS_MAX_SOURCES];
static int nsources;

bool metrics_register(metrics_source_fn fn, void *arg)
{
    for (int i = 0; i < nsources; i++)
        if (sources[i].fn == fn && sources[i].arg == arg)
            return true;
    if (nsources == METRICS_MAX_SOURCES)
        return false;
    sources[nsources++] = (struct metrics_source){fn, arg};
    return true;
}

void metrics_unregister(metrics_source_fn fn, void *arg)
{
    for (int i = 0; i < nsources; i++) {
        if (sources[i].fn != fn || sources[i].arg != arg)
            continue;
        for (int j = i + 1; j < nsources; j++)
            sources[j - 1] = sources[j];
        nsources--;
        return;
    }
}

void metrics_render(struct buf *out)
{
    for (int i = 0; i < nsources; i++)
        sources[i].fn(out, sources[i].arg);
}

void metrics_family(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct buf *out, const char *name, const char *labels, double value)
{
    if (*labels)
        buf_printf(out, "%s{%s} %.17g\n", name, labels, value);
    else
        buf_printf(out, "%s %.17g\n", name, value);
}

void metrics_sample_u64(struct buf *out, const char *name, const char *labels, uint64_t value)
{
    if (*labels)
        buf_printf(out, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
    else
        buf_printf(out, "%s %llu\n", name, (unsigned long long)value);
}

void metrics_histogram(struct buf *out, const char *name, const char *help, const struct hist *h)
{
    uint64_t cumulative = 0;

    metrics_family(out, name, "histogram", help);
    for (int i = 0; i < HIST_BUCKETS - 1; i++) {
        cumulative += h->counts[i];
        buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, hist_bounds[i],
                   (unsigned long long)cumulative);
    }
    buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
    buf_printf(out, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name,
               (unsigned long long)h->count);
}

void metrics_label_value(struct buf *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            buf_putc(out, '\\');
        if (*p == '\n')
            buf_puts(out, "\\n");
        else
            buf_putc(out, *p);
    }
}
