/* Latency histograms with fixed bucket bounds, as Prometheus exposes them:
 * a count per bucket, a total count and a sum. Recording is a few compares. */
#ifndef OMCP_HIST_H
#define OMCP_HIST_H

#include <stdint.h>

/* Upper bounds of the buckets, in seconds; the last bucket is +Inf. */
#define HIST_BUCKETS 18
extern const double hist_bounds[HIST_BUCKETS - 1];

struct hist {
    uint64_t counts[HIST_BUCKETS]; /* per bucket, not cumulative */
    uint64_t count;
    double sum; /* seconds */
    double max; /* seconds */
};

void hist_record(struct hist *h, double seconds);
/* The upper bound of the bucket holding quantile q (0..1): an estimate good
 * to the bucket's width; 0 for an empty histogram. */
double hist_quantile(const struct hist *h, double q);

#endif
