/* Latency samples for the benchmarks: collected in milliseconds, reported
 * as p50, p90, p99, p99.9, max and count on one line, and compared as
 * ratios. When OMCP_BENCH_JSON names a file, every report also appends one
 * JSON line to it, for bench/run.py. */
#ifndef OMCP_SAMPLES_H
#define OMCP_SAMPLES_H

#include <stdbool.h>
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
/* Prints "name p50=… p90=… p99=… p99.9=… max=… count=…" in unit (ms or us). */
void samples_report(const char *name, struct samples *s, const char *unit);
/* Prints baseline/ours at p50 and p99: how many times faster ours is. */
void samples_ratio(const char *name, struct samples *baseline, struct samples *ours);
/* Prints one figure that is not a distribution (a rate, a size); bigger
 * says which direction is better. */
void samples_value(const char *name, const char *unit, double value, bool bigger);

/* True when OMCP_BENCH_HANDICAP=1: the benchmark programs (never the
 * daemon) then do the C codec's work twice, so that a test can check that
 * the regression gate notices. */
bool samples_handicap(void);

#endif
