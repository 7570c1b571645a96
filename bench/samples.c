/* Latency samples, their report lines and their JSON lines. */
#include "bench/samples.h"

#include <math.h>
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

/* ---- JSON lines ---- */

/* The file named by OMCP_BENCH_JSON, opened to append, or NULL. */
static FILE *json_open(void)
{
    const char *path = getenv("OMCP_BENCH_JSON");
    FILE *f;

    if (!path || !*path)
        return NULL;
    if (!(f = fopen(path, "a")))
        perror(path);
    return f;
}

/* Names are ours, but a quote or backslash must not break the line. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

/* JSON has no NaN or infinity: an empty sample set gives a 0/0 ratio. */
static void json_number(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ",\"%s\":%.9g", key, v);
    else
        fprintf(f, ",\"%s\":null", key);
}

static void json_report(const char *name, const char *unit, const double q[5], size_t n)
{
    static const char *const keys[5] = {"p50", "p90", "p99", "p999", "max"};
    FILE *f = json_open();

    if (!f)
        return;
    fputs("{\"name\":", f);
    json_string(f, name);
    fputs(",\"unit\":", f);
    json_string(f, unit);
    for (int i = 0; i < 5; i++)
        json_number(f, keys[i], q[i]);
    fprintf(f, ",\"count\":%zu}\n", n);
    fclose(f);
}

/* ---- report lines ---- */

void samples_report(const char *name, struct samples *s, const char *unit)
{
    double scale = strcmp(unit, "us") == 0 ? 1e3 : 1;
    double q[5] = {samples_quantile(s, 0.5) * scale, samples_quantile(s, 0.9) * scale,
                   samples_quantile(s, 0.99) * scale, samples_quantile(s, 0.999) * scale,
                   samples_quantile(s, 1.0) * scale};

    printf("%-38s p50=%9.3f p90=%9.3f p99=%9.3f p99.9=%9.3f max=%9.3f %s count=%zu\n", name, q[0],
           q[1], q[2], q[3], q[4], unit, s->n);
    json_report(name, unit, q, s->n);
}

void samples_ratio(const char *name, struct samples *baseline, struct samples *ours)
{
    double p50 = samples_quantile(baseline, 0.5) / samples_quantile(ours, 0.5);
    double p99 = samples_quantile(baseline, 0.99) / samples_quantile(ours, 0.99);
    FILE *f;

    printf("%-38s p50=%9.1fx p99=%9.1fx\n", name, p50, p99);
    if (!(f = json_open()))
        return;
    fputs("{\"name\":", f);
    json_string(f, name);
    fputs(",\"kind\":\"ratio\"", f);
    json_number(f, "p50", p50);
    json_number(f, "p99", p99);
    fputs(",\"better\":\"bigger\"}\n", f);
    fclose(f);
}

void samples_value(const char *name, const char *unit, double value, bool bigger)
{
    FILE *f;

    printf("%-38s %9.2f %s\n", name, value, unit);
    if (!(f = json_open()))
        return;
    fputs("{\"name\":", f);
    json_string(f, name);
    fputs(",\"kind\":\"value\",\"unit\":", f);
    json_string(f, unit);
    json_number(f, "value", value);
    fprintf(f, ",\"better\":\"%s\"}\n", bigger ? "bigger" : "smaller");
    fclose(f);
}

bool samples_handicap(void)
{
    const char *h = getenv("OMCP_BENCH_HANDICAP");

    return h && strcmp(h, "1") == 0;
}
