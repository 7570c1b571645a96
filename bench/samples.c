/* Latency samples and their report lines. */
#include "bench/samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double samples_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void samples_add(struct samples *s, double ms)
{
    s->ms = realloc(s->ms, (s->n + 1) * sizeof(*s->ms));
    if (!s->ms)
        abort();
    s->ms[s->n++] = ms;
}

void samples_clear(struct samples *s)
{
    free(s->ms);
    s->ms = NULL;
    s->n = 0;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double samples_quantile(struct samples *s, double q)
{
    size_t rank;

    if (!s->n)
        return 0;
    qsort(s->ms, s->n, sizeof(*s->ms), compare);
    rank = (size_t)(q * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->ms[rank - 1];
}

void samples_report(const char *name, struct samples *s, const char *unit)
{
    double scale = strcmp(unit, "us") == 0 ? 1e3 : 1;

    printf("%-38s p50=%9.3f p90=%9.3f p99=%9.3f max=%9.3f %s count=%zu\n", name,
           samples_quantile(s, 0.5) * scale, samples_quantile(s, 0.9) * scale,
           samples_quantile(s, 0.99) * scale, samples_quantile(s, 1.0) * scale, unit, s->n);
}

void samples_ratio(const char *name, struct samples *baseline, struct samples *ours)
{
    printf("%-38s p50=%9.1fx p99=%9.1fx\n", name,
           samples_quantile(baseline, 0.5) / samples_quantile(ours, 0.5),
           samples_quantile(baseline, 0.99) / samples_quantile(ours, 0.99));
}
