/* Lexical path resolution under /sandbox and base64 for the file tools. */
#include "mcp/path.h"

#include "proxy/mem.h"

#include <stdlib.h>
#include <string.h>

#define SANDBOX_ROOT "sandbox"

struct path_parts {
    const char *start[MCP_PATH_MAX / 2 + 8]; /* each component (not NUL-terminated) */
    size_t len[MCP_PATH_MAX / 2 + 8];
    int count;
};

/* Splits on '/', dropping "." and empty parts and letting ".." remove the
 * previous part; ".." at the root stays at the root, as POSIX normpath does. */
static void path_split(const char *p, size_t n, struct path_parts *parts)
{
    size_t i = 0;

    parts->count = 0;
    while (i < n) {
        size_t j = i;

        while (j < n && p[j] != '/')
            j++;
        if (j - i == 2 && p[i] == '.' && p[i + 1] == '.') {
            if (parts->count > 0)
                parts->count--;
        } else if (j - i > 0 && !(j - i == 1 && p[i] == '.')) {
            parts->start[parts->count] = p + i;
            parts->len[parts->count] = j - i;
            parts->count++;
        }
        i = j + 1;
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && is_space((*p)[0]))
        (*p)++, (*n)--;
    while (*n > 0 && is_space((*p)[*n - 1]))
        (*n)--;
}

bool mcp_path_resolve(const char *path, size_t path_len, char *out, size_t out_size)
{
    static struct path_parts parts; /* one thread; large for a stack */
    static char joined[MCP_PATH_MAX + sizeof(SANDBOX_ROOT) + 2];
    size_t used = 0;

    trim(&path, &path_len);
    if (path_len == 0 || path_len >= MCP_PATH_MAX || memchr(path, '\0', path_len))
        return false;

    /* A relative path means "/sandbox/<path>"; fold it as an absolute one. */
    if (path[0] != '/') {
        memcpy(joined, "/" SANDBOX_ROOT "/", sizeof(SANDBOX_ROOT) + 1);
        memcpy(joined + sizeof(SANDBOX_ROOT) + 1, path, path_len);
        path_len += sizeof(SANDBOX_ROOT) + 1;
        path = joined;
    }

    path_split(path, path_len, &parts);
    if (parts.count == 0 || parts.len[0] != strlen(SANDBOX_ROOT) ||
        memcmp(parts.start[0], SANDBOX_ROOT, parts.len[0]) != 0)
        return false;

    if (parts.count == 1) {
        if (out_size < 2)
            return false;
        memcpy(out, ".", 2);
        return true;
    }
    for (int i = 1; i < parts.count; i++) {
        if (used + parts.len[i] + 2 > out_size)
            return false;
        if (i > 1)
            out[used++] = '/';
        memcpy(out + used, parts.start[i], parts.len[i]);
        used += parts.len[i];
    }
    out[used] = '\0';
    return true;
}

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

unsigned char *mcp_base64_decode(const char *text, size_t len, size_t *out_len)
{
    unsigned char *out = xmalloc(len / 4 * 3 + 3);
    unsigned quad[4];
    int nq = 0, pad = 0;
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        int v;

        if (is_space((char)c))
            continue;
        if (c == '=') {
            /* Padding only at the end of the last quantum: "xx==" or "xxx=". */
            if (nq < 2 || ++pad + nq > 4)
                goto invalid;
            continue;
        }
        v = base64_value(c);
        if (v < 0 || pad > 0)
            goto invalid;
        quad[nq++] = (unsigned)v;
        if (nq == 4) {
            out[n++] = (unsigned char)(quad[0] << 2 | quad[1] >> 4);
            out[n++] = (unsigned char)(quad[1] << 4 | quad[2] >> 2);
            out[n++] = (unsigned char)(quad[2] << 6 | quad[3]);
            nq = 0;
        }
    }
    if (nq != 0 && nq + pad != 4)
        goto invalid;
    if (nq == 0 && pad != 0)
        goto invalid;
    if (nq >= 2)
        out[n++] = (unsigned char)(quad[0] << 2 | quad[1] >> 4);
    if (nq == 3)
        out[n++] = (unsigned char)(quad[1] << 4 | quad[2] >> 2);
    *out_len = n;
    return out;

invalid:
    free(out);
    return NULL;
}

char *mcp_base64_encode(const unsigned char *bytes, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t n = 0, i = 0;

    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)bytes[i] << 16 | (unsigned)bytes[i + 1] << 8 | bytes[i + 2];

        out[n++] = alphabet[v >> 18];
        out[n++] = alphabet[(v >> 12) & 63];
        out[n++] = alphabet[(v >> 6) & 63];
        out[n++] = alphabet[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)bytes[i] << 16 | (i + 1 < len ? (unsigned)bytes[i + 1] << 8 : 0);

        out[n++] = alphabet[v >> 18];
        out[n++] = alphabet[(v >> 12) & 63];
        out[n++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        out[n++] = '=';
    }
    out[n] = '\0';
    return out;
}
