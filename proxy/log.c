/* logfmt lines written with one write(2) each, so lines from a crash or from
 * several processes sharing stderr never interleave. */
#include "proxy/log.h"
#include "proxy/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum log_level log_min_level = L_INFO;

static int log_fd = STDERR_FILENO;
static char *log_path;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

const char *log_level_name(enum log_level level)
{
    return level <= L_ERROR ? level_names[level] : "?";
}

bool log_level_parse(const char *name, enum log_level *level)
{
    for (unsigned i = 0; i <= L_ERROR; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *level = (enum log_level)i;
            return true;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *level = L_WARN;
        return true;
    }
    return false;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[4096];
    struct timespec ts;
    struct tm tm;
    size_t len;
    va_list ap;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    len = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line + len, sizeof(line) - len, ".%03ldZ level=%s ", ts.tv_nsec / 1000000,
                 log_level_name(level));
    len += (size_t)n;

    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    len += (size_t)n;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* cut, but keep the newline */
    line[len++] = '\n';

    while (write(log_fd, line, len) < 0 && errno == EINTR)
        ;
}

const char *log_quote(const char *s)
{
    static char ring[8][512];
    static unsigned next;
    char *out = ring[next++ % 8];
    size_t o = 0, cap = sizeof(ring[0]) - 4;

    if (!s)
        return "\"\"";
    out[o++] = '"';
    for (; *s && o < cap; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = '?';
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

bool log_open(const char *path)
{
    int fd;

    if (!path || !*path) {
        log_close();
        return true;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return false;
    log_close();
    log_fd = fd;
    log_path = xstrdup(path);
    return true;
}

bool log_reopen(void)
{
    char *path;
    bool ok;

    if (!log_path)
        return true;
    path = xstrdup(log_path);
    ok = log_open(path);
    free(path);
    return ok;
}

void log_close(void)
{
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = STDERR_FILENO;
    free(log_path);
    log_path = NULL;
}
