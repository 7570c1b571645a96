/* Fuzzes the client's frame reader: the input is what a server sends (ID
 * string, then frames), fed through a socket pair to an rconn on a libev
 * loop with three requests queued. Every parameter of every reply and OOB
 * frame is walked and its SEXP decoded and written as JSON. */
#include "proxy/log.h"
#include "rserve/rconn.h"
#include "rserve/rjson.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct ev_loop *loop;
static int answered;

/* Walks a payload's parameters the way a reader of any command would. */
static void walk_params(const uint8_t *p, size_t len)
{
    struct sexp_limits lim = {.max_depth = 64, .max_arena = 8 << 20};
    struct qap_item it;
    size_t off = 0;

    while (off < len && qap_item_parse(p + off, len - off, QAP_DT_LARGE, &it) == QAP_OK) {
        if (it.type == QAP_DT_SEXP) {
            struct sexp_arena a;
            struct sexp *x;
            struct buf out = BUF_INIT;

            sexp_arena_init(&a);
            if (sexp_decode(it.body, it.len, &a, &lim, &x) == QAP_OK)
                rjson_write(&out, x, 4096);
            buf_free(&out);
            sexp_arena_free(&a);
        }
        off += it.hdr_len + it.len;
    }
}

static void on_reply(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    answered++;
    if (reply->outcome == RCONN_REPLY_OK)
        walk_params(reply->payload, reply->len);
}

static void on_oob(struct rconn *c, uint32_t cmd, const uint8_t *payload, size_t len)
{
    walk_params(payload, len);
    if (qap_frame_kind(cmd) == QAP_FRAME_OOB_MSG)
        rconn_oob_answer(c, NULL);
}

static void on_closed(struct rconn *c, const char *reason)
{
    if (answered != 3)
        abort(); /* every request is answered exactly once */
}

static const struct rconn_callbacks callbacks = {NULL, on_oob, on_closed};

static void queue_requests(struct rconn *c)
{
    struct sexp_arena a;
    double v[2] = {1.5, -2};

    sexp_arena_init(&a);
    rconn_eval(c, "1 + 1", on_reply, NULL);
    rconn_void_eval(c, "x <- 1", on_reply, NULL);
    rconn_assign(c, "y", sexp_new_reals(&a, v, 2), on_reply, NULL);
    sexp_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rconn_config cfg = {.max_frame = 1 << 16, .user = "u", .password = "p"};
    struct rconn c;
    int sv[2];

    if (size > 1 << 16)
        return 0;
    if (!loop) {
        loop = ev_default_loop(0);
        log_min_level = L_ERROR + 1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (size && write(sv[1], data, size) != (ssize_t)size)
        abort();
    shutdown(sv[1], SHUT_WR);
    answered = 0;
    rconn_init(&c, loop, &cfg, &callbacks, NULL);
    queue_requests(&c);
    rconn_connect_fd(&c, sv[0]);
    ev_run(loop, 0);
    rconn_close(&c, "fuzz input done");
    close(sv[1]);
    return 0;
}
