/* A minimal unit-test harness: CHECK macros count failures and report
 * file:line; a test program returns non-zero when any check failed. */
#ifndef OMCP_CHECK_H
#define OMCP_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        check_count++;                                                               \
        if (!(cond)) {                                                               \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_INT(got, want)                                                                  \
    do {                                                                                      \
        long long got_ = (long long)(got), want_ = (long long)(want);                         \
        check_count++;                                                                        \
        if (got_ != want_) {                                                                  \
            check_failures++;                                                                 \
            fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", __FILE__, __LINE__, #got, got_, \
                    want_);                                                                   \
        }                                                                                     \
    } while (0)

#define CHECK_STR(got, want)                                                                \
    do {                                                                                    \
        const char *got_ = (got), *want_ = (want);                                          \
        check_count++;                                                                      \
        if (!got_ || strcmp(got_, want_) != 0) {                                            \
            check_failures++;                                                               \
            fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got, \
                    got_ ? got_ : "(null)", want_);                                         \
        }                                                                                   \
    } while (0)

/* Runs one test function and names it in the output. */
#define RUN(test)                                                                       \
    do {                                                                                \
        int before_ = check_failures;                                                   \
        test();                                                                         \
        fprintf(stderr, "%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #test); \
    } while (0)

static inline int check_report(void)
{
    fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
