/* The client connection against a scripted server on a socket pair: the
 * bytes a server would send are written before the loop runs, so every
 * frame is already waiting when the connection reads. */
#include "check.h"
#include "proxy/log.h"
#include "rserve/rconn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct ev_loop *loop;

struct script {
    struct rconn conn;
    int server; /* the scripted server's end */
    int handed; /* descriptor from rconn_hand_off(), -1 before */
    int replies;
    int closed;
    int late_outcome; /* of a request made after the hand-off */
};

static void write_all(int fd, const void *p, size_t len)
{
    if (write(fd, p, len) != (ssize_t)len)
        abort();
}

static void server_greet(int fd)
{
    struct qap_id id = {.server_version = "0103", .r_version = "R151"};
    uint8_t bytes[QAP_ID_SIZE];

    qap_id_write(bytes, &id);
    write_all(fd, bytes, sizeof(bytes));
}

/* A response whose payload is len bytes of fill. */
static void server_respond(int fd, size_t len, uint8_t fill)
{
    uint8_t hdr[QAP_HDR_SIZE], body[64];

    memset(body, fill, sizeof(body));
    qap_hdr_write(hdr, QAP_RESP_OK, len, 0);
    write_all(fd, hdr, sizeof(hdr));
    write_all(fd, body, len);
}

static void on_late(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct script *s = ctx;

    s->late_outcome = reply->outcome;
}

/* The first reply hands the socket off, as a front end that forwards
 * frames does the moment it has a lease. */
static void on_reply_hand_off(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct script *s = ctx;

    s->replies++;
    CHECK_INT(reply->outcome, RCONN_REPLY_OK);
    s->handed = rconn_hand_off(c);
    CHECK(s->handed >= 0);
    ev_break(loop, EVBREAK_ONE);
}

static void on_closed(struct rconn *c, const char *reason)
{
    struct script *s = c->owner;

    s->closed++;
}

static const struct rconn_callbacks callbacks = {NULL, NULL, on_closed};

static void script_start(struct script *s)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    memset(s, 0, sizeof(*s));
    s->server = sv[1];
    s->handed = -1;
    s->late_outcome = -1;
    rconn_init(&s->conn, loop, NULL, &callbacks, s);
    rconn_connect_fd(&s->conn, sv[0]);
}

/* The frame after the handed-off reply belongs to the new reader: the
 * connection must not read it, though it is already in the socket when
 * the callback returns. */
static void test_hand_off_inside_reply(void)
{
    struct script s;
    uint8_t got[QAP_HDR_SIZE + 8];
    struct qap_hdr h;
    ssize_t n;

    script_start(&s);
    server_greet(s.server);
    rconn_void_eval(&s.conn, "NULL", on_reply_hand_off, &s);
    server_respond(s.server, 0, 0);
    server_respond(s.server, 8, 0xab); /* the new reader's answer */
    ev_run(loop, 0);

    CHECK_INT(s.replies, 1);
    CHECK_INT(s.closed, 0);
    CHECK_INT(s.conn.state, RCONN_HANDED_OFF);
    CHECK(!ev_is_active(&s.conn.io));
    n = recv(s.handed, got, sizeof(got), MSG_DONTWAIT);
    CHECK_INT(n, sizeof(got));
    qap_hdr_parse(got, &h);
    CHECK_INT(h.cmd, QAP_RESP_OK);
    CHECK_INT(h.len, 8);
    CHECK_INT(got[QAP_HDR_SIZE], 0xab);

    rconn_void_eval(&s.conn, "NULL", on_late, &s);
    CHECK_INT(s.late_outcome, RCONN_REPLY_FAILED);
    rconn_close(&s.conn, "test done");
    CHECK_INT(s.closed, 1);
    close(s.handed);
    close(s.server);
}

static void on_reply_count(struct rconn *c, void *ctx, const struct rconn_reply *reply)
{
    struct script *s = ctx;

    s->replies++;
    ev_break(loop, EVBREAK_ONE);
}

/* Not before the greeting, not with a request in flight. */
static void test_hand_off_refused(void)
{
    struct script s;

    script_start(&s);
    errno = 0;
    CHECK_INT(rconn_hand_off(&s.conn), -1);
    CHECK_INT(errno, ENOTCONN);

    server_greet(s.server);
    rconn_void_eval(&s.conn, "NULL", on_reply_count, &s);
    ev_run(loop, EVRUN_NOWAIT); /* reads the greeting, sends the request */
    CHECK_INT(s.conn.state, RCONN_BUSY);
    errno = 0;
    CHECK_INT(rconn_hand_off(&s.conn), -1);
    CHECK_INT(errno, EBUSY);

    server_respond(s.server, 0, 0);
    ev_run(loop, 0);
    CHECK_INT(s.replies, 1);
    CHECK_INT(s.conn.state, RCONN_IDLE);
    rconn_close(&s.conn, "test done");
    close(s.server);
}

int main(void)
{
    loop = ev_default_loop(0);
    log_min_level = L_ERROR + 1;
    RUN(test_hand_off_inside_reply);
    RUN(test_hand_off_refused);
    return check_report();
}
