/* What the state file costs: one whole write (msgpack encoding, write,
 * fsync, rename) of a pool with N leased slots and their sessions, against
 * writing and fsyncing the same number of raw bytes in the same run, and a
 * read back. Usage: omcp-bench-state [DIR] (default: a new directory under
 * /var/tmp, on the disk a state directory would use). */
#include "bench/samples.h"
#include "pool/state.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 50

/* A pool of n leased slots whose strings look like the daemon's own. */
static struct state make_state(size_t n, char *strings, size_t per)
{
    struct state st = {.instance = "6b8ad62e4e926a3d", .written_at = 1.8e9};

    st.slots = calloc(n, sizeof(*st.slots));
    st.n_slots = n;
    for (size_t i = 0; i < n; i++) {
        char *at = strings + i * per;
        struct state_slot *s = &st.slots[i];

        snprintf(at, 48, "omcp-6b8ad62e4e926a3d-%zu", i);
        snprintf(at + 48, 80, "%064zx", i * 7919);
        snprintf(at + 128, 96, "/var/lib/omcp-rproxy/workspaces/omcp-6b8ad62e4e926a3d-%zu", i);
        snprintf(at + 224, 96, "/var/lib/omcp-rproxy/run/omcp-6b8ad62e4e926a3d-%zu", i);
        snprintf(at + 320, 40, "%032zx", i * 104729);
        *s = (struct state_slot){.name = at,
                                 .container = at + 48,
                                 .workspace = at + 128,
                                 .sock_dir = at + 224,
                                 .state = "leased",
                                 .created_at = 1.8e9,
                                 .leased = true};
        s->lease = (struct state_lease){.session = at + 320,
                                        .owner = "http:team-a",
                                        .cdm = "synthetic",
                                        .created_at = 1.8e9,
                                        .last_used = 1.8e9 + 60,
                                        .idle_timeout = 300};
    }
    return st;
}

/* The baseline: the same bytes written, fsynced and renamed, no encoding. */
static double raw_write(const char *path, const char *tmp, size_t bytes)
{
    char *junk = calloc(1, bytes);
    double began = samples_now_ms();
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (fd < 0 || write(fd, junk, bytes) != (ssize_t)bytes || fsync(fd) != 0 || close(fd) != 0 ||
        rename(tmp, path) != 0) {
        perror("bench: raw write");
        exit(1);
    }
    free(junk);
    return samples_now_ms() - began;
}

static void bench_size(const char *dir, size_t n)
{
    size_t per = 360, bytes = 0;
    char *strings = calloc(n, per), path[512], raw[512], tmp[512], name[64];
    struct state st = make_state(n, strings, per), back;
    struct samples ours = {0}, base = {0}, load = {0};
    const char *err = NULL;

    snprintf(path, sizeof(path), "%s/pool-state.msgpack", dir);
    snprintf(raw, sizeof(raw), "%s/raw", dir);
    snprintf(tmp, sizeof(tmp), "%s/raw.tmp", dir);
    for (int r = 0; r < ROUNDS; r++) {
        double began = samples_now_ms();

        if (!state_save(path, &st, &bytes, &err)) {
            fprintf(stderr, "bench: state_save: %s\n", err);
            exit(1);
        }
        samples_add(&ours, samples_now_ms() - began);
        samples_add(&base, raw_write(raw, tmp, bytes));
        began = samples_now_ms();
        if (!state_load(path, &back, &err) || back.n_slots != n) {
            fprintf(stderr, "bench: state_load: %s\n", err ? err : "wrong count");
            exit(1);
        }
        samples_add(&load, samples_now_ms() - began);
        state_free(&back);
    }
    printf("%zu sessions: %zu bytes (%.0f bytes a session)\n", n, bytes, (double)bytes / n);
    snprintf(name, sizeof(name), "state write, %zu sessions", n);
    samples_report(name, &ours, "ms");
    snprintf(name, sizeof(name), "raw write+fsync, %zu sessions' bytes", n);
    samples_report(name, &base, "ms");
    snprintf(name, sizeof(name), "ratio raw / state write, %zu sessions", n);
    samples_ratio(name, &base, &ours);
    snprintf(name, sizeof(name), "state read back, %zu sessions", n);
    samples_report(name, &load, "ms");
    samples_clear(&ours);
    samples_clear(&base);
    samples_clear(&load);
    free(st.slots);
    free(strings);
}

int main(int argc, char **argv)
{
    char made[] = "/var/tmp/omcp-bench-state-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(made);
    char cmd[128];

    if (!dir) {
        perror("bench: mkdtemp");
        return 1;
    }
    bench_size(dir, 10);
    bench_size(dir, 1000);
    if (argc <= 1) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", made);
        if (system(cmd) != 0)
            fprintf(stderr, "bench: cannot remove %s\n", made);
    }
    return 0;
}
