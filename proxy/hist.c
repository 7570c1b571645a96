/* Fixed-bucket latency histograms. */
#include "proxy/hist.h"

const double hist_bounds[HIST_BUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0, 30.0,
};

void hist_record(struct hist *h, double seconds)
{
    int i = 0;

    while (i < HIST_BUCKETS - 1 && seconds > hist_bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += seconds;
    if (seconds > h->max)
        h->max = seconds;
}

double hist_quantile(const struct hist *h, double q)
{
    uint64_t want, seen = 0;

    if (!h->count)
        return 0;
    want = (uint64_t)(q * (double)h->count + 0.999999);
    if (want < 1)
        want = 1;
    for (int i = 0; i < HIST_BUCKETS - 1; i++) {
        seen += h->counts[i];
        if (seen >= want)
            return hist_bounds[i];
    }
    return h->max;
}
