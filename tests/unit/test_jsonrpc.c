/* JSON-RPC 2.0 reader and writer: what a peer sending odd bytes gets back. */
#include "mcp/jsonrpc.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text, struct jsonrpc_error *err)
{
    return jsonrpc_parse(text, strlen(text), 1 << 20, err);
}

/* Classifies text, which must parse. The value is kept alive in *keep. */
static struct jsonrpc_msg classify(const char *text, json_t **keep)
{
    struct jsonrpc_error err;
    struct jsonrpc_msg msg;

    *keep = parse(text, &err);
    CHECK(*keep != NULL);
    jsonrpc_classify(*keep, &msg);
    return msg;
}

static void test_parse_errors(void)
{
    struct jsonrpc_error err;
    const char big[] = "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}";

    CHECK(parse("{\"jsonrpc\":", &err) == NULL);
    CHECK_INT(err.code, JSONRPC_PARSE_ERROR);
    CHECK(parse("{} trailing", &err) == NULL);
    CHECK_INT(err.code, JSONRPC_PARSE_ERROR);
    CHECK(parse("{\"a\":1,\"a\":2}", &err) == NULL);
    CHECK_INT(err.code, JSONRPC_PARSE_ERROR);
    CHECK(parse("\"\xff\"", &err) == NULL);
    CHECK_INT(err.code, JSONRPC_PARSE_ERROR);

    /* Size is checked before parsing: even garbage over the limit is -32600. */
    CHECK(jsonrpc_parse("xxxxxxxxxxxxxxxxxxxx", 20, 19, &err) == NULL);
    CHECK_INT(err.code, JSONRPC_INVALID_REQUEST);
    CHECK(jsonrpc_parse(big, strlen(big), strlen(big) - 1, &err) == NULL);
    CHECK_INT(err.code, JSONRPC_INVALID_REQUEST);
    json_decref(jsonrpc_parse(big, strlen(big), strlen(big), &err));
}

static void test_requests(void)
{
    json_t *v;
    struct jsonrpc_msg m;

    m = classify("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\"}", &v);
    CHECK_INT(m.kind, JSONRPC_REQUEST);
    CHECK_STR(m.method, "ping");
    CHECK_STR(json_string_value(m.id), "a");
    CHECK(m.params == NULL);
    json_decref(v);

    m = classify("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"x\",\"params\":{\"k\":1}}", &v);
    CHECK_INT(m.kind, JSONRPC_REQUEST);
    CHECK_INT(json_integer_value(m.id), 7);
    CHECK(json_is_object(m.params));
    json_decref(v);

    m = classify("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &v);
    CHECK_INT(m.kind, JSONRPC_NOTIFICATION);
    CHECK(m.id == NULL);
    json_decref(v);

    m = classify("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}", &v);
    CHECK_INT(m.kind, JSONRPC_RESPONSE);
    json_decref(v);
}

static void test_invalid(void)
{
    static const char *const bad[] = {
        "[]",
        "42",
        "null",
        "{\"id\":1,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
        "{\"jsonrpc\":2,\"id\":1,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":\"s\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1}",
        "{\"jsonrpc\":\"2.0\\u0000\",\"id\":1,\"method\":\"ping\"}",
    };
    json_t *v;
    struct jsonrpc_msg m;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = classify(bad[i], &v);
        CHECK_INT(m.kind, JSONRPC_INVALID);
        CHECK_INT(m.error_code, JSONRPC_INVALID_REQUEST);
        json_decref(v);
    }

    /* A usable id is echoed in the error even when the rest is wrong. */
    m = classify("{\"jsonrpc\":\"1.0\",\"id\":\"k\",\"method\":\"ping\"}", &v);
    CHECK_STR(json_string_value(m.id), "k");
    json_decref(v);
    m = classify("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", &v);
    CHECK(m.id == NULL);
    json_decref(v);

    /* U+0000 is valid JSON but no argument may hold it: refused with the
     * request's id, wherever in the method or params it is. */
    m = classify("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                 "\"params\":{\"arguments\":{\"paths\":[\"a\",\"b\\u0000c\"]}}}",
                 &v);
    CHECK_INT(m.kind, JSONRPC_INVALID);
    CHECK_INT(m.error_code, JSONRPC_INVALID_PARAMS);
    CHECK_INT(json_integer_value(m.id), 7);
    json_decref(v);
    m = classify("{\"jsonrpc\":\"2.0\",\"id\":\"n\",\"method\":\"pi\\u0000ng\"}", &v);
    CHECK_INT(m.error_code, JSONRPC_INVALID_PARAMS);
    CHECK_STR(json_string_value(m.id), "n");
    json_decref(v);
    m = classify(
        "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\",\"params\":{\"s\":\"\\u0001\"}}", &v);
    CHECK_INT(m.kind, JSONRPC_REQUEST);
    json_decref(v);
}

static void test_writers(void)
{
    json_t *id = json_string("r\n1");
    json_t *msg = jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "bad\nline", NULL);
    size_t len;
    char *text = jsonrpc_dump(msg, &len);

    CHECK_STR(text, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
                    "\"message\":\"bad\\nline\"}}");
    CHECK_INT(len, strlen(text));
    free(text);
    json_decref(msg);

    msg = jsonrpc_result(id, json_pack("{s:i}", "n", 1));
    text = jsonrpc_dump(msg, &len);
    CHECK_STR(text, "{\"jsonrpc\":\"2.0\",\"id\":\"r\\n1\",\"result\":{\"n\":1}}");
    CHECK(memchr(text, '\n', len) == NULL);
    free(text);
    json_decref(msg);
    json_decref(id);

    msg = jsonrpc_notification("notifications/message", NULL);
    text = jsonrpc_dump(msg, &len);
    CHECK_STR(text, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}");
    free(text);
    json_decref(msg);
}

int main(void)
{
    RUN(test_parse_errors);
    RUN(test_requests);
    RUN(test_invalid);
    RUN(test_writers);
    return check_report();
}
