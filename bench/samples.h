/* Latency samples for the benchmarks: collected in milliseconds, reported
 * as p50, p90, p99, max and count on one line, and compared as ratios. */
#ifndef OMCP_SAMPLES_H
#define OMCP_SAMPLES_H

#include <stddef.h>

struct samples {
    double *ms;
    size_t n;
};

/* Milliseconds on the monotonic clock. */
double samples_now_ms(void);
void samples_add(struct samples *s, double ms);
void samples_clear(struct samples *s);
/* The nearest-rank quantile q (0..1); 0 when empty. Sorts the samples. */
double samples_quantile(struct samples *s, double q);
/* Prints "name p50=… p90=… p99=… max=… count=…" in unit (ms or us). */
void samples_report(const char *name, struct samples *s, const char *unit);
/* Prints baseline/ours at p50 and p99: how many times faster ours is. */
void samples_ratio(const char *name, struct samples *baseline, struct samples *ours);

#endif
