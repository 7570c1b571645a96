/* JSON-RPC 2.0 reading and writing on top of jansson. The reader never trusts
 * its input: every field is checked for presence and type before use. */
#include "mcp/jsonrpc.h"

#include "proxy/mem.h"

#include <stdio.h>
#include <string.h>

json_t *jsonrpc_parse(const char *bytes, size_t len, size_t max_bytes, struct jsonrpc_error *err)
{
    json_error_t jerr;
    json_t *value;

    if (len > max_bytes) {
        err->code = JSONRPC_INVALID_REQUEST;
        snprintf(err->message, sizeof(err->message),
                 "Invalid Request: message of %zu bytes exceeds the limit of %zu", len, max_bytes);
        return NULL;
    }

    /* Duplicate keys are refused: two readers could otherwise see two
     * different requests in the same bytes. U+0000 in a string is valid
     * JSON; it is let through here so that the classifier can refuse it
     * with the message's own id. */
    value =
        json_loadb(bytes, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!value) {
        err->code = JSONRPC_PARSE_ERROR;
        snprintf(err->message, sizeof(err->message), "Parse error: %s at byte %d", jerr.text,
                 jerr.position);
        return NULL;
    }
    return value;
}

bool jsonrpc_id_valid(const json_t *id)
{
    return id && (json_is_string(id) || json_is_number(id));
}

static void classify_invalid(struct jsonrpc_msg *msg, const char *why)
{
    msg->kind = JSONRPC_INVALID;
    msg->error_code = JSONRPC_INVALID_REQUEST;
    msg->error_message = why;
}

/* True when a string anywhere in value holds U+0000: C strings, R source
 * and file names end there, so such a message is refused whole. */
static bool holds_nul(const json_t *value)
{
    const char *key;
    const json_t *item;
    size_t i;

    switch (json_typeof(value)) {
    case JSON_STRING:
        return strlen(json_string_value(value)) != json_string_length(value);
    case JSON_ARRAY:
        json_array_foreach(value, i, item)
        {
            if (holds_nul(item))
                return true;
        }
        return false;
    case JSON_OBJECT:
        json_object_foreach((json_t *)value, key, item)
        {
            if (holds_nul(item))
                return true;
        }
        return false;
    default:
        return false;
    }
}

/* An element carrying "method": a request when it has an id, else a notification. */
static void classify_call(json_t *value, json_t *method, struct jsonrpc_msg *msg)
{
    json_t *params = json_object_get(value, "params");
    json_t *id = json_object_get(value, "id");

    if (id && !jsonrpc_id_valid(id)) {
        classify_invalid(msg, "Invalid Request: id must be a string or a number");
        return;
    }
    msg->id = id;
    if (!json_is_string(method)) {
        classify_invalid(msg, "Invalid Request: method must be a string");
        return;
    }
    if (params && !json_is_object(params) && !json_is_array(params)) {
        classify_invalid(msg, "Invalid Request: params must be an object or an array");
        return;
    }
    if (holds_nul(method) || (params && holds_nul(params))) {
        classify_invalid(msg, "Invalid params: a string holds U+0000, which no argument may");
        msg->error_code = JSONRPC_INVALID_PARAMS;
        return;
    }
    msg->method = json_string_value(method);
    msg->params = params;
    msg->kind = id ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
}

void jsonrpc_classify(json_t *value, struct jsonrpc_msg *msg)
{
    json_t *version, *method, *id;

    memset(msg, 0, sizeof(*msg));
    if (!json_is_object(value)) {
        classify_invalid(msg, "Invalid Request: a message must be a JSON object");
        return;
    }

    /* Echo the id in errors whenever it is usable, even if the rest is not. */
    id = json_object_get(value, "id");
    if (jsonrpc_id_valid(id))
        msg->id = id;

    version = json_object_get(value, "jsonrpc");
    if (!json_is_string(version) || json_string_length(version) != 3 ||
        strcmp(json_string_value(version), "2.0") != 0) {
        classify_invalid(msg, "Invalid Request: jsonrpc must be \"2.0\"");
        return;
    }

    method = json_object_get(value, "method");
    if (method) {
        classify_call(value, method, msg);
        return;
    }
    if (json_object_get(value, "result") || json_object_get(value, "error")) {
        msg->kind = JSONRPC_RESPONSE;
        return;
    }
    classify_invalid(msg, "Invalid Request: no method, result or error");
}

static json_t *must(json_t *value)
{
    if (!value)
        panic("out of memory building a JSON-RPC message");
    return value;
}

static json_t *id_copy(json_t *id)
{
    return id ? must(json_copy(id)) : json_null();
}

json_t *jsonrpc_result(json_t *id, json_t *result)
{
    json_t *msg = must(json_object());

    json_object_set_new(msg, "jsonrpc", must(json_string("2.0")));
    json_object_set_new(msg, "id", id_copy(id));
    json_object_set_new(msg, "result", result ? result : must(json_object()));
    return msg;
}

json_t *jsonrpc_error(json_t *id, int code, const char *message, json_t *data)
{
    json_t *msg = must(json_object());
    json_t *error = must(json_object());

    json_object_set_new(error, "code", must(json_integer(code)));
    json_object_set_new(error, "message", must(json_string(message)));
    if (data)
        json_object_set_new(error, "data", data);
    json_object_set_new(msg, "jsonrpc", must(json_string("2.0")));
    json_object_set_new(msg, "id", id_copy(id));
    json_object_set_new(msg, "error", error);
    return msg;
}

json_t *jsonrpc_notification(const char *method, json_t *params)
{
    json_t *msg = must(json_object());

    json_object_set_new(msg, "jsonrpc", must(json_string("2.0")));
    json_object_set_new(msg, "method", must(json_string(method)));
    if (params)
        json_object_set_new(msg, "params", params);
    return msg;
}

char *jsonrpc_dump(const json_t *msg, size_t *len)
{
    char *text = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);

    if (!text)
        panic("cannot serialise a JSON-RPC message");
    *len = strlen(text);
    return text;
}
