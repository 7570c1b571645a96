/* JSON-RPC 2.0 as MCP uses it: parse one message or a batch (size checked
 * before parsing), classify each element, and build answers. */
#ifndef OMCP_MCP_JSONRPC_H
#define OMCP_MCP_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define JSONRPC_PARSE_ERROR      (-32700)
#define JSONRPC_INVALID_REQUEST  (-32600)
#define JSONRPC_METHOD_NOT_FOUND (-32601)
#define JSONRPC_INVALID_PARAMS   (-32602)
#define JSONRPC_INTERNAL_ERROR   (-32603)

enum jsonrpc_kind {
    JSONRPC_REQUEST,      /* method and id: must be answered */
    JSONRPC_NOTIFICATION, /* method, no id: never answered */
    JSONRPC_RESPONSE,     /* result or error for a request the peer got from us */
    JSONRPC_INVALID,      /* answer with error_code, echoing id when it was usable */
};

/* One classified element. Pointers borrow from the parsed value. */
struct jsonrpc_msg {
    enum jsonrpc_kind kind;
    json_t *id;         /* request id (string or number); NULL when absent or unusable */
    const char *method; /* requests and notifications */
    json_t *params;     /* object or array, or NULL when absent */
    int error_code;     /* JSONRPC_INVALID: what to answer */
    const char *error_message;
};

struct jsonrpc_error {
    int code;
    char message[256];
};

/* Parses len bytes. Input larger than max_bytes is refused before any parsing
 * (JSONRPC_INVALID_REQUEST); malformed JSON is JSONRPC_PARSE_ERROR. Any JSON
 * value comes back, scalars included, so the caller can answer -32600 for
 * them. Returns a new reference or NULL with err filled in. */
json_t *jsonrpc_parse(const char *bytes, size_t len, size_t max_bytes, struct jsonrpc_error *err);

/* Classifies one element of a message (the message itself or one batch entry). */
void jsonrpc_classify(json_t *value, struct jsonrpc_msg *msg);

/* True when id may identify a request: a string or a number (never null). */
bool jsonrpc_id_valid(const json_t *id);

/* Builders; each returns a new object. result and data are stolen; id is
 * borrowed (copied), and NULL stands for JSON null. */
json_t *jsonrpc_result(json_t *id, json_t *result);
json_t *jsonrpc_error(json_t *id, int code, const char *message, json_t *data);
json_t *jsonrpc_notification(const char *method, json_t *params);

/* Serialises a message compactly on one line (no raw newline can appear: JSON
 * escapes them inside strings). Returns malloc'd bytes; *len excludes the NUL. */
char *jsonrpc_dump(const json_t *msg, size_t *len);

#endif
