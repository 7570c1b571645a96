/* Fuzzes what the Docker client reads from the engine: the events stream's
 * framing (fed in pieces of varying size) and every answer parser. */
#include "pool/docker_json.h"
#include "proxy/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len);

/* The stream as the client sees it: split wherever the transport split it. */
static void feed_stream(const uint8_t *bytes, size_t len, size_t step)
{
    struct docker_lines lines;
    const char *line;
    size_t n;

    docker_lines_init(&lines, 4096);
    for (size_t at = 0; at < len; at += step) {
        size_t piece = len - at < step ? len - at : step;

        if (!docker_lines_feed(&lines, (const char *)bytes + at, piece))
            break;
        while (docker_lines_next(&lines, &line, &n)) {
            json_t *json = json_loadb(line, n, 0, NULL);
            struct backend_event ev;

            if (json && docker_parse_event(json, &ev) && (!ev.action || !ev.id))
                abort();
            json_decref(json);
        }
    }
    docker_lines_free(&lines);
}

static void parse_answers(const uint8_t *bytes, size_t len)
{
    json_t *json = json_loadb((const char *)bytes, len, 0, NULL);
    struct backend_container one, *list = NULL;
    struct buf why = BUF_INIT;
    char engine[64], api[16];
    size_t n = 0;

    docker_error_message((const char *)bytes, len, json, &why);
    if (strlen(why.data ? why.data : "") != why.len)
        abort(); /* an engine message must not smuggle a NUL or cut a log line */
    buf_reset(&why);
    if (json) {
        docker_parse_inspect(json, &one);
        if (docker_parse_list(json, &list, &n) && n != json_array_size(json))
            abort();
        free(list);
        docker_version_check(json, engine, sizeof(engine), api, sizeof(api), &why);
    }
    buf_free(&why);
    json_decref(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t len)
{
    log_min_level = L_ERROR;
    if (len == 0)
        return 0;
    feed_stream(bytes + 1, len - 1, (size_t)(bytes[0] % 64) + 1);
    parse_answers(bytes + 1, len - 1);
    return 0;
}
