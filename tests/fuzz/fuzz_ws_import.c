/* Fuzzes the workspace import: arbitrary bytes as a tar archive (plain or
 * gzip) unpacked into a scratch workspace. Whatever it accepts must stay
 * beneath the workspace: the directory beside it never changes. */
#include "mcp/wsarchive.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len);

static char base[] = "/tmp/omcp-fuzz-ws-XXXXXX";
static char root[sizeof(base) + 8], beside[sizeof(base) + 8];

static void fuzz_cleanup(void)
{
    char cmd[96];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", base);
}

static void fuzz_setup(void)
{
    if (!mkdtemp(base))
        abort();
    atexit(fuzz_cleanup);
    snprintf(root, sizeof(root), "%s/ws", base);
    snprintf(beside, sizeof(beside), "%s/out", base);
    if (mkdir(root, 0700) != 0 || mkdir(beside, 0700) != 0)
        abort();
}

/* The scratch workspace is emptied between inputs so it cannot grow. */
static void fuzz_reset(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir '%s'", root, root);
    if (system(cmd) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len)
{
    struct mcp_ws_archive_stats st;
    struct mcp_ws_error err;
    struct stat before, after;

    if (!*root)
        fuzz_setup();
    stat(beside, &before);
    if (mcp_ws_import(root, ".", bytes, len, 1 << 16, 1 << 18, getuid(), &st, &err))
        fuzz_reset();
    stat(beside, &after);
    if (before.st_mtim.tv_nsec != after.st_mtim.tv_nsec || before.st_nlink != after.st_nlink)
        abort(); /* something landed outside the workspace */
    return 0;
}
