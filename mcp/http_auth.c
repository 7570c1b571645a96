/* Origin check, bearer tokens as identities, and per-identity rate buckets. */
#include "mcp/http_auth.h"

#include "proxy/mem.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void digest_of(const char *token, size_t len, unsigned char out[HTTP_TOKEN_DIGEST])
{
    unsigned int n = HTTP_TOKEN_DIGEST;

    if (!EVP_Digest(token, len, out, &n, EVP_sha256(), NULL))
        panic("SHA-256 unavailable");
}

bool http_equal_ct(const unsigned char *x, const unsigned char *y, size_t n)
{
    volatile unsigned char diff = 0;

    for (size_t i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len > 32)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Adds one TOKEN or NAME:TOKEN entry. */
static bool add_token(struct http_auth *a, char *entry, const char *where, char *err, size_t n)
{
    char *colon = strchr(entry, ':'), *token = entry;
    struct http_identity id = {0};

    if (colon && valid_name(entry, (size_t)(colon - entry))) {
        snprintf(id.name, sizeof(id.name), "%.*s", (int)(colon - entry), entry);
        token = colon + 1;
    }
    if (strlen(token) < HTTP_TOKEN_MIN_LEN) {
        snprintf(err, n, "%s: a token is shorter than %d characters", where, HTTP_TOKEN_MIN_LEN);
        return false;
    }
    digest_of(token, strlen(token), id.digest);
    if (!id.name[0])
        snprintf(id.name, sizeof(id.name), "t-%02x%02x%02x%02x", id.digest[0], id.digest[1],
                 id.digest[2], id.digest[3]);
    for (unsigned i = 0; i < a->count; i++) {
        if (http_equal_ct(a->ids[i].digest, id.digest, HTTP_TOKEN_DIGEST) ||
            strcmp(a->ids[i].name, id.name) == 0) {
            snprintf(err, n, "%s: token or name %s given twice", where, id.name);
            return false;
        }
    }
    a->ids = xrealloc(a->ids, sizeof(*a->ids) * (a->count + 1));
    a->ids[a->count++] = id;
    return true;
}

static bool load_list(struct http_auth *a, const char *tokens, char *err, size_t n)
{
    char *copy = xstrdup(tokens), *save = NULL;
    bool ok = true;

    for (char *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        if (*tok)
            ok = add_token(a, tok, "HTTP_TOKENS", err, n);
    }
    explicit_bzero(copy, strlen(tokens));
    free(copy);
    return ok;
}

static bool load_file(struct http_auth *a, const char *path, char *err, size_t n)
{
    FILE *f = fopen(path, "r");
    char line[1024], where[64];
    unsigned lineno = 0;
    bool ok = true;

    if (!f) {
        snprintf(err, n, "HTTP_TOKENS_FILE %s: %s", path, strerror(errno));
        return false;
    }
    while (ok && fgets(line, sizeof(line), f)) {
        char *entry = trim(line);

        lineno++;
        if (!*entry || *entry == '#')
            continue;
        snprintf(where, sizeof(where), "HTTP_TOKENS_FILE line %u", lineno);
        ok = add_token(a, entry, where, err, n);
    }
    explicit_bzero(line, sizeof(line));
    fclose(f);
    return ok;
}

static void load_origins(struct http_auth *a, const char *origins)
{
    char *copy = xstrdup(origins), *save = NULL;

    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        size_t len = strlen(tok);

        while (len > 0 && tok[len - 1] == '/')
            tok[--len] = '\0';
        for (char *p = tok; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        a->origins = xrealloc(a->origins, sizeof(char *) * (a->norigins + 1));
        a->origins[a->norigins++] = xstrdup(tok);
    }
    free(copy);
}

bool http_auth_load(struct http_auth *a, const char *tokens, const char *tokens_file,
                    const char *origins, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    if (tokens && *tokens && !load_list(a, tokens, err, errlen))
        goto failed;
    if (tokens_file && *tokens_file && !load_file(a, tokens_file, err, errlen))
        goto failed;
    if (origins && *origins)
        load_origins(a, origins);
    return true;

failed:
    http_auth_free(a);
    return false;
}

void http_auth_free(struct http_auth *a)
{
    if (a->ids)
        explicit_bzero(a->ids, sizeof(*a->ids) * a->count);
    free(a->ids);
    for (unsigned i = 0; i < a->norigins; i++)
        free(a->origins[i]);
    free(a->origins);
    memset(a, 0, sizeof(*a));
}

struct http_identity *http_auth_identify(const struct http_auth *a, const char *authorization)
{
    unsigned char digest[HTTP_TOKEN_DIGEST];
    struct http_identity *found = NULL;
    const char *token;

    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    token = authorization + 7;
    while (*token == ' ')
        token++;
    digest_of(token, strlen(token), digest);
    for (unsigned i = 0; i < a->count; i++)
        if (http_equal_ct(a->ids[i].digest, digest, HTTP_TOKEN_DIGEST))
            found = &a->ids[i];
    return found;
}

/* scheme://host[:port] where host is a loopback name, port all digits. */
static bool loopback_origin(const char *origin)
{
    static const char *const hosts[] = {"localhost", "127.0.0.1", "[::1]"};
    const char *rest;

    if (strncasecmp(origin, "http://", 7) == 0)
        rest = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        rest = origin + 8;
    else
        return false;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        size_t n = strlen(hosts[i]);
        const char *port = rest + n;

        if (strncasecmp(rest, hosts[i], n) != 0)
            continue;
        if (*port == '\0')
            return true;
        if (*port != ':' || !port[1] || strlen(port + 1) > 5)
            return false;
        return strspn(port + 1, "0123456789") == strlen(port + 1);
    }
    return false;
}

bool http_auth_origin_allowed(const struct http_auth *a, const char *origin)
{
    if (!origin)
        return true;
    if (!a->origins)
        return loopback_origin(origin);
    for (unsigned i = 0; i < a->norigins; i++)
        if (strcasecmp(a->origins[i], origin) == 0)
            return true;
    return false;
}

bool http_bucket_take(struct http_bucket *b, double rate, double burst, double now)
{
    if (rate <= 0)
        return true;
    if (b->last == 0)
        b->tokens = burst;
    else if (now > b->last)
        b->tokens += (now - b->last) * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last = now;
    if (b->tokens < 1)
        return false;
    b->tokens -= 1;
    return true;
}

double http_bucket_wait(const struct http_bucket *b, double rate)
{
    if (rate <= 0 || b->tokens >= 1)
        return 0;
    return (1 - b->tokens) / rate;
}

bool http_listen_is_loopback(const char *listen)
{
    return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "localhost:", 10) == 0 ||
           strncmp(listen, "[::1]:", 6) == 0;
}
