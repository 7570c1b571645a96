/* Fuzzes the configuration reader: arbitrary bytes as an INI file. */
#include "proxy/config.h"
#include "proxy/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len)
{
    char path[] = "/tmp/fuzz-ini-XXXXXX";
    int fd = mkstemp(path);
    struct config cfg;
    struct config_errors errs = {0};

    if (fd < 0)
        return 0;
    if (write(fd, bytes, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    log_min_level = L_ERROR;
    config_init(&cfg);
    config_load_file(&cfg, path, &errs);
    config_finish(&cfg, &errs);
    config_free(&cfg);
    config_errors_free(&errs);
    unlink(path);
    return 0;
}
