/* Checks a JSON value against the JSON Schema subset the tool table uses. */
#include "mcp/schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool fail(struct mcp_schema_error *err, const char *path, const char *fmt, const char *what)
{
    const char *name = *path ? path : "arguments";

    snprintf(err->path, sizeof(err->path), "%s", path);
    snprintf(err->top, sizeof(err->top), "%.*s", (int)strcspn(path, ".["), path);
    snprintf(err->message, sizeof(err->message), fmt, name, what);
    return false;
}

static bool is_integral(const json_t *value)
{
    double d;

    if (json_is_integer(value))
        return true;
    if (!json_is_real(value))
        return false;
    d = json_real_value(value);
    return isfinite(d) && d == floor(d) && fabs(d) < 9.007199254740992e15;
}

static bool type_matches(const char *type, const json_t *value)
{
    if (strcmp(type, "string") == 0)
        return json_is_string(value);
    if (strcmp(type, "integer") == 0)
        return is_integral(value);
    if (strcmp(type, "number") == 0)
        return json_is_number(value);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(value);
    if (strcmp(type, "object") == 0)
        return json_is_object(value);
    if (strcmp(type, "array") == 0)
        return json_is_array(value);
    if (strcmp(type, "null") == 0)
        return json_is_null(value);
    return false;
}

static bool check_type(const json_t *schema, const json_t *value, const char *path,
                       struct mcp_schema_error *err)
{
    const json_t *type = json_object_get(schema, "type");
    char expected[96] = "";
    size_t i;
    json_t *one;

    if (!type)
        return true;
    if (json_is_string(type)) {
        if (type_matches(json_string_value(type), value))
            return true;
        return fail(err, path, "%s must be of type %s", json_string_value(type));
    }
    json_array_foreach(type, i, one)
    {
        if (json_is_string(one) && type_matches(json_string_value(one), value))
            return true;
        snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), "%s%s",
                 i ? " or " : "", json_string_value(one));
    }
    return fail(err, path, "%s must be of type %s", expected);
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static bool check_string(const json_t *schema, const json_t *value, const char *path,
                         struct mcp_schema_error *err)
{
    json_t *min = json_object_get(schema, "minLength");
    json_t *max = json_object_get(schema, "maxLength");
    size_t n = utf8_chars(json_string_value(value), json_string_length(value));
    char bound[32];

    if (min && n < (size_t)json_integer_value(min)) {
        snprintf(bound, sizeof(bound), "%lld", (long long)json_integer_value(min));
        return fail(err, path,
                    n == 0 ? "%s must not be empty%.0s" : "%s must have at least %s characters",
                    bound);
    }
    if (max && n > (size_t)json_integer_value(max)) {
        snprintf(bound, sizeof(bound), "%lld", (long long)json_integer_value(max));
        return fail(err, path, "%s must have at most %s characters", bound);
    }
    return true;
}

static bool check_number(const json_t *schema, const json_t *value, const char *path,
                         struct mcp_schema_error *err)
{
    double v = json_number_value(value);
    json_t *bound;
    char text[48];

    if ((bound = json_object_get(schema, "minimum")) && v < json_number_value(bound)) {
        snprintf(text, sizeof(text), "%g", json_number_value(bound));
        return fail(err, path, "%s must be >= %s", text);
    }
    if ((bound = json_object_get(schema, "exclusiveMinimum")) && v <= json_number_value(bound)) {
        snprintf(text, sizeof(text), "%g", json_number_value(bound));
        return fail(err, path, "%s must be > %s", text);
    }
    if ((bound = json_object_get(schema, "maximum")) && v > json_number_value(bound)) {
        snprintf(text, sizeof(text), "%g", json_number_value(bound));
        return fail(err, path, "%s must be <= %s", text);
    }
    return true;
}

static bool check_enum(const json_t *schema, const json_t *value, const char *path,
                       struct mcp_schema_error *err)
{
    json_t *choices = json_object_get(schema, "enum");
    char list[128] = "";
    size_t i;
    json_t *one;

    if (!choices)
        return true;
    json_array_foreach(choices, i, one)
    {
        if (json_equal(one, (json_t *)value))
            return true;
        if (json_is_string(one))
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"", i ? ", " : "",
                     json_string_value(one));
    }
    return fail(err, path, "%s must be one of %s", list);
}

static bool check_value(const json_t *schema, const json_t *value, const char *path,
                        struct mcp_schema_error *err);

static void join_path(char *out, size_t size, const char *path, const char *key)
{
    snprintf(out, size, "%s%s%s", path, *path ? "." : "", key);
}

static bool check_object(const json_t *schema, const json_t *value, const char *path,
                         struct mcp_schema_error *err)
{
    json_t *props = json_object_get(schema, "properties");
    json_t *required = json_object_get(schema, "required");
    json_t *extra = json_object_get(schema, "additionalProperties");
    char sub[128];
    const char *key;
    json_t *one;
    size_t i;

    json_array_foreach(required, i, one)
    {
        if (!json_object_get(value, json_string_value(one))) {
            join_path(sub, sizeof(sub), path, json_string_value(one));
            return fail(err, sub, "%s is required%s", "");
        }
    }
    json_object_foreach((json_t *)value, key, one)
    {
        json_t *sub_schema = json_object_get(props, key);

        join_path(sub, sizeof(sub), path, key);
        if (!sub_schema && json_is_false(extra))
            return fail(err, sub, "%s is not a known argument%s", "");
        if (!sub_schema && json_is_object(extra))
            sub_schema = extra;
        if (sub_schema && !check_value(sub_schema, one, sub, err))
            return false;
    }
    return true;
}

static bool check_array(const json_t *schema, const json_t *value, const char *path,
                        struct mcp_schema_error *err)
{
    json_t *items = json_object_get(schema, "items");
    char sub[128];
    json_t *one;
    size_t i;

    if (!items)
        return true;
    json_array_foreach(value, i, one)
    {
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (!check_value(items, one, sub, err))
            return false;
    }
    return true;
}

static bool check_value(const json_t *schema, const json_t *value, const char *path,
                        struct mcp_schema_error *err)
{
    if (!check_type(schema, value, path, err) || !check_enum(schema, value, path, err))
        return false;
    if (json_is_string(value))
        return check_string(schema, value, path, err);
    if (json_is_number(value))
        return check_number(schema, value, path, err);
    if (json_is_object(value))
        return check_object(schema, value, path, err);
    if (json_is_array(value))
        return check_array(schema, value, path, err);
    return true;
}

bool mcp_schema_check(const json_t *schema, const json_t *value, struct mcp_schema_error *err)
{
    memset(err, 0, sizeof(*err));
    return check_value(schema, value, "", err);
}
