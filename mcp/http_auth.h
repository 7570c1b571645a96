/* Who may use the HTTP listener: the Origin check against DNS rebinding,
 * bearer tokens (each token is a client identity, compared in constant time
 * and never kept or logged in clear), and the token bucket that bounds each
 * identity's request rate. Pure functions; no I/O but reading the token file. */
#ifndef OMCP_MCP_HTTP_AUTH_H
#define OMCP_MCP_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_TOKEN_MIN_LEN 16 /* shorter tokens are refused as guessable */
#define HTTP_IDENTITY_NAME 48
#define HTTP_TOKEN_DIGEST  32 /* SHA-256 */

/* A request-rate allowance: refilled at rate per second, up to burst. */
struct http_bucket {
    double tokens;
    double last; /* when tokens was last brought up to date, seconds */
};

struct http_identity {
    char name[HTTP_IDENTITY_NAME]; /* NAME from NAME:TOKEN, else "t-" + 8 hex of the digest */
    unsigned char digest[HTTP_TOKEN_DIGEST];
    struct http_bucket bucket;
    unsigned sessions; /* MCP sessions open under this identity */
};

struct http_auth {
    struct http_identity *ids;
    unsigned count;
    char **origins; /* allowed Origin values, lower case; NULL: loopback origins */
    unsigned norigins;
};

/* Reads tokens (comma-separated) and the token file (one per line, # comments),
 * each TOKEN or NAME:TOKEN, and the allowed origins (comma-separated). False
 * with err filled when a token is too short, repeated, or the file unreadable. */
bool http_auth_load(struct http_auth *a, const char *tokens, const char *tokens_file,
                    const char *origins, char *err, size_t errlen);
void http_auth_free(struct http_auth *a);

/* The identity of an "Authorization: Bearer TOKEN" header, or NULL. Every
 * configured token is compared, each in constant time. */
struct http_identity *http_auth_identify(const struct http_auth *a, const char *authorization);

/* True for a request without Origin (not a browser) and for an allowed one. */
bool http_auth_origin_allowed(const struct http_auth *a, const char *origin);

/* n bytes equal, in time independent of where they differ. */
bool http_equal_ct(const unsigned char *x, const unsigned char *y, size_t n);

/* Takes one request's allowance at time now; false when none is left.
 * rate <= 0 means no limit. A fresh bucket (last == 0) starts full. */
bool http_bucket_take(struct http_bucket *b, double rate, double burst, double now);
/* Seconds until one request's allowance is back. */
double http_bucket_wait(const struct http_bucket *b, double rate);

/* True when the listen address (HOST:PORT) is a loopback one. */
bool http_listen_is_loopback(const char *listen);

#endif
