/* R literals and SQL keywords for the session backend. */
#include "mcp/rcode.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void mcp_rcode_string(struct buf *out, const char *s)
{
    buf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\':
            buf_puts(out, "\\\\");
            break;
        case '"':
            buf_puts(out, "\\\"");
            break;
        case '\n':
            buf_puts(out, "\\n");
            break;
        case '\r':
            buf_puts(out, "\\r");
            break;
        case '\t':
            buf_puts(out, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                buf_printf(out, "\\x%02x", *p);
            else
                buf_putc(out, (char)*p);
        }
    }
    buf_putc(out, '"');
}

static bool rcode_name_ok(const char *name)
{
    if (!isalpha((unsigned char)name[0]) && name[0] != '_')
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

static bool rcode_scalar(struct buf *out, const json_t *value)
{
    double d;

    switch (json_typeof(value)) {
    case JSON_STRING:
        mcp_rcode_string(out, json_string_value(value));
        return true;
    case JSON_INTEGER:
        buf_printf(out, "%lld", (long long)json_integer_value(value));
        return true;
    case JSON_REAL:
        d = json_real_value(value);
        if (!isfinite(d))
            return false;
        buf_printf(out, "%.17g", d);
        return true;
    case JSON_TRUE:
        buf_puts(out, "TRUE");
        return true;
    case JSON_FALSE:
        buf_puts(out, "FALSE");
        return true;
    case JSON_NULL:
        buf_puts(out, "NA");
        return true;
    default:
        return false;
    }
}

bool mcp_rcode_params(struct buf *out, const json_t *params)
{
    const char *name;
    json_t *value;
    bool first = true;

    buf_puts(out, "list(");
    json_object_foreach((json_t *)params, name, value)
    {
        if (!rcode_name_ok(name))
            return false;
        buf_printf(out, "%s%s = ", first ? "" : ", ", name);
        if (!rcode_scalar(out, value))
            return false;
        first = false;
    }
    buf_putc(out, ')');
    return true;
}

/* Skips blanks, "-- line" and block comments. */
static const char *sql_skip(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p) || *p == '(')
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");

            p = end ? end + 2 : p + strlen(p);
            continue;
        }
        return p;
    }
}

void mcp_sql_first_keyword(const char *sql, char *out, size_t size)
{
    const char *p = sql_skip(sql);
    size_t n = 0;

    while (isalpha((unsigned char)*p) && n + 1 < size)
        out[n++] = (char)toupper((unsigned char)*p++);
    out[n] = '\0';
}

bool mcp_sql_reads_only(const char *keyword)
{
    static const char *const allowed[] = {"SELECT", "WITH", "VALUES", "EXPLAIN"};

    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strcmp(keyword, allowed[i]) == 0)
            return true;
    return false;
}
