/* Fuzzes the JSON-RPC reader and the MCP conversation behind it: the first
 * byte picks the protocol version, the rest is newline-separated messages.
 * Every answer must be one line of valid JSON. */
#include "mcp/conn.h"
#include "mcp/jsonrpc.h"
#include "proxy/config.h"
#include "proxy/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_answer(const char *bytes, size_t len, void *arg)
{
    json_t *msg = json_loadb(bytes, len, 0, NULL);

    if (!msg || memchr(bytes, '\n', len))
        abort();
    json_decref(msg);
}

static void classify_all(const uint8_t *data, size_t size)
{
    struct jsonrpc_error err;
    struct jsonrpc_msg msg;
    json_t *value = jsonrpc_parse((const char *)data, size, 1 << 20, &err);
    size_t i;
    json_t *one;

    if (!value)
        return;
    if (json_is_array(value)) {
        json_array_foreach(value, i, one)
        {
            jsonrpc_classify(one, &msg);
        }
    } else {
        jsonrpc_classify(value, &msg);
    }
    json_decref(value);
}

static void converse(const uint8_t *data, size_t size)
{
    static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
    static struct mcp_limits limits;
    struct mcp_conn_config cfg = {.limits = &limits,
                                  .backend = mcp_backend_unavailable(),
                                  .owner = "fuzz",
                                  .server_version = "0",
                                  .send = check_answer};
    char init[160];
    struct mcp_conn *conn;
    size_t start = 1;

    if (!limits.max_message_bytes) {
        struct config settings;

        config_init(&settings);
        mcp_limits_from_config(&limits, &settings);
        config_free(&settings);
        limits.max_message_bytes = 1 << 16;
    }
    conn = mcp_conn_new(&cfg);
    snprintf(init, sizeof(init),
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
             "{\"protocolVersion\":\"%s\"}}",
             versions[data[0] & 3]);
    if (data[0] & 4)
        mcp_conn_receive(conn, init, strlen(init));
    for (size_t i = 1; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            mcp_conn_receive(conn, (const char *)data + start, i - start);
            start = i + 1;
        }
    }
    mcp_conn_free(conn, "fuzz");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_min_level = L_ERROR + 1;
    classify_all(data, size);
    if (size > 0)
        converse(data, size);
    return 0;
}
