/* Logging: one logfmt line per event (`ts=… level=… slot=7 msg="…"`),
 * filtered by level before any argument is formatted. */
#ifndef OMCP_LOG_H
#define OMCP_LOG_H

#include <stdbool.h>

enum log_level {
    L_DEBUG,
    L_INFO,
    L_WARN,
    L_ERROR,
};

extern enum log_level log_min_level;

#define log_enabled(level) ((level) >= log_min_level)

/* The format holds the fields after ts and level, for example
 * log_info("slot=%u msg=\"rserve ready\" ms=%.1f", id, ms). Strings that come
 * from outside go through log_quote(). */
#define log_at(level, ...)                   \
    do {                                     \
        if (log_enabled(level))              \
            log_write((level), __VA_ARGS__); \
    } while (0)
#define log_debug(...) log_at(L_DEBUG, __VA_ARGS__)
#define log_info(...)  log_at(L_INFO, __VA_ARGS__)
#define log_warn(...)  log_at(L_WARN, __VA_ARGS__)
#define log_error(...) log_at(L_ERROR, __VA_ARGS__)

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns s as a quoted logfmt value ("a \"b\"") in one of a ring of static
 * buffers, so up to eight may appear in one log call. Long values are cut. */
const char *log_quote(const char *s);

/* NULL or "" logs to stderr. Returns false (errno set) if the file cannot be
 * opened; logging then stays where it was. */
bool log_open(const char *path);
/* Reopens the log file after rotation (SIGHUP). */
bool log_reopen(void);
void log_close(void);

bool log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);

#endif
