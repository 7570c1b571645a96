/* The QAP1 front end's frame reader and decisions: which client commands
 * pass and which are refused, the pairing of requests and responses with
 * OOB frames in between, and frames passed, cut and inserted in a buffer. */
#include "check.h"
#include "proxy/qapf_frame.h"

#include <stdint.h>
#include <string.h>

static struct qap_hdr hdr(uint32_t cmd, uint64_t len)
{
    return (struct qap_hdr){.cmd = cmd, .len = len};
}

static void test_refused_commands(void)
{
    static const uint32_t refused[] = {
        QAP_CMD_SHUTDOWN,
        QAP_CMD_SWITCH,
        QAP_CMD_SET_BUFFER_SIZE,
        QAP_CMD_DETACH_SESSION,
        QAP_CMD_DETACHED_VOID_EVAL,
        QAP_CMD_ATTACH_SESSION,
        QAP_CMD_CTRL,
        QAP_CMD_CTRL_EVAL,
        QAP_CMD_CTRL_SHUTDOWN,
        QAP_CMD_CTRL_SOURCE,
        0x4f,
        QAP_CMD_PROXY | 1,
        QAP_CMD_KEY_REQ,
        QAP_CMD_SEC_LOGIN,
        QAP_RESP_OK,
        QAP_OOB_MSG,
        QAP_OOB_SEND | 3,
    };
    struct qapf_seq q = {.max_frame = 1 << 20};

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct qap_hdr h = hdr(refused[i], 8);
        int status = 0;

        CHECK_INT(qapf_client_frame(&q, &h, &status), QAPF_REFUSE);
        CHECK_INT(status, QAPF_REFUSED_STATUS);
    }
    CHECK_INT(q.in_flight, 0);
}

static void test_passed_commands(void)
{
    static const uint32_t passed[] = {QAP_CMD_EVAL,     QAP_CMD_VOID_EVAL,    QAP_CMD_SET_SEXP,
                                      QAP_CMD_SER_EVAL, QAP_CMD_SER_ASSIGN,   QAP_CMD_ASSIGN_SEXP,
                                      QAP_CMD_OC_CALL,  QAP_CMD_SET_ENCODING, QAP_CMD_READ_FILE};
    struct qapf_seq q = {.max_frame = 1 << 20};
    struct qap_hdr h;
    int status = 0;

    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
        h = hdr(passed[i], 8);
        CHECK_INT(qapf_client_frame(&q, &h, &status), QAPF_PASS);
    }
    CHECK_INT(q.in_flight, sizeof(passed) / sizeof(passed[0]));
    h = hdr(QAP_CMD_LOGIN, 8);
    CHECK_INT(qapf_client_frame(&q, &h, &status), QAPF_LOGIN);
    h = hdr(QAP_CMD_EVAL, (1 << 20) + 1);
    CHECK_INT(qapf_client_frame(&q, &h, &status), QAPF_TOO_BIG);
    CHECK_INT(status, QAP_ERR_DATA_OVERFLOW);
}

/* eval; the slot sends OOB_SEND, then OOB_MSG (with the response flag set,
 * as Rserve does); the client answers; then the response. */
static void test_oob_pairing(void)
{
    struct qapf_seq q = {.max_frame = 1 << 20};
    struct qap_hdr h = hdr(QAP_CMD_EVAL, 10);
    int status = 0;

    CHECK_INT(qapf_client_frame(&q, &h, &status), QAPF_PASS);
    h = hdr(QAP_OOB_SEND | QAP_CMD_RESP | 7, 20);
    CHECK_INT(qapf_server_frame(&q, &h), QAPF_PASS);
    CHECK(!q.oob_pending);
    h = hdr(QAP_OOB_MSG | QAP_CMD_RESP | 7, 20);
    CHECK_INT(qapf_server_frame(&q, &h), QAPF_PASS);
    CHECK(q.oob_pending);
    h = hdr(QAP_RESP_OK, 4); /* no response while the OOB answer is due */
    CHECK_INT(qapf_server_frame(&q, &h), QAPF_VIOLATION);

    h = hdr(QAP_CMD_SHUTDOWN, 0); /* an OOB answer is due: a command is a violation */
    CHECK_INT(qapf_client_frame(&q, &h, &status), QAPF_VIOLATION);
    h = hdr(QAP_OOB_MSG | QAP_CMD_RESP | 7, 12);
    CHECK_INT(qapf_client_frame(&q, &h, &status), QAPF_PASS);
    CHECK(!q.oob_pending);
    CHECK_INT(q.in_flight, 1);

    h = hdr(qap_resp_err(QAP_ERR_R_EVAL), 0);
    CHECK_INT(qapf_server_frame(&q, &h), QAPF_PASS);
    CHECK_INT(q.in_flight, 0);
    h = hdr(QAP_RESP_OK, 0); /* nothing in flight: nothing may come */
    CHECK_INT(qapf_server_frame(&q, &h), QAPF_VIOLATION);
    h = hdr(QAP_OOB_SEND, 0);
    CHECK_INT(qapf_server_frame(&q, &h), QAPF_VIOLATION);
}

static size_t put_frame(uint8_t *p, uint32_t cmd, const char *payload)
{
    size_t len = strlen(payload);

    qap_hdr_write(p, cmd, len, 0);
    memcpy(p + QAP_HDR_SIZE, payload, len);
    return QAP_HDR_SIZE + len;
}

/* eval "a", shutdown "xxxx", eval "bb" in one read: the shutdown is cut
 * out, the two evals stay, and an error inserted at the end goes out last. */
static void test_stream_pass_drop_insert(void)
{
    uint8_t buf[256], err[QAP_HDR_SIZE];
    struct qapf_stream s = {.buf = buf, .cap = sizeof(buf)};
    struct qap_hdr h;
    size_t n = 0;

    n += put_frame(buf + n, QAP_CMD_EVAL, "a");
    n += put_frame(buf + n, QAP_CMD_SHUTDOWN, "xxxx");
    n += put_frame(buf + n, QAP_CMD_EVAL, "bb");
    s.in_end = n - 1; /* the last byte has not arrived */

    CHECK_INT(qapf_stream_scan(&s, &h), QAPF_SCAN_HEADER);
    CHECK_INT(h.cmd, QAP_CMD_EVAL);
    qapf_stream_pass(&s, &h);
    CHECK_INT(qapf_stream_scan(&s, &h), QAPF_SCAN_HEADER);
    CHECK_INT(h.cmd, QAP_CMD_SHUTDOWN);
    qapf_stream_drop(&s, &h);
    CHECK_INT(qapf_stream_scan(&s, &h), QAPF_SCAN_HEADER);
    CHECK_INT(h.cmd, QAP_CMD_EVAL);
    qapf_stream_pass(&s, &h);
    CHECK_INT(qapf_stream_scan(&s, &h), QAPF_SCAN_PAYLOAD);
    buf[s.in_end++] = 'b';
    CHECK_INT(qapf_stream_scan(&s, &h), QAPF_SCAN_MORE);
    CHECK_INT(s.out_end, 2 * QAP_HDR_SIZE + 3);

    qapf_error_frame(err, QAPF_REFUSED_STATUS);
    CHECK(qapf_stream_insert(&s, err, sizeof(err)));
    CHECK_INT(s.out_end, 3 * QAP_HDR_SIZE + 3);
    CHECK_INT(qap_get_u32(buf + QAP_HDR_SIZE + 1), QAP_CMD_EVAL);
    CHECK(memcmp(buf + 2 * QAP_HDR_SIZE + 1, "bb", 2) == 0);
    CHECK_INT(qap_get_u32(buf + 2 * QAP_HDR_SIZE + 3), qap_resp_err(QAPF_REFUSED_STATUS));

    s.out_off = s.out_end; /* all sent */
    qapf_stream_compact(&s);
    CHECK_INT(s.in_end, 0);
    CHECK_INT(s.out_off, 0);
}

/* A dropped payload that arrives over several reads is cut as it comes. */
static void test_stream_drop_across_reads(void)
{
    uint8_t buf[64];
    struct qapf_stream s = {.buf = buf, .cap = sizeof(buf)};
    struct qap_hdr h;

    qap_hdr_write(buf, QAP_CMD_ATTACH_SESSION, 100, 0);
    memset(buf + QAP_HDR_SIZE, 'x', 40);
    s.in_end = QAP_HDR_SIZE + 40;
    CHECK_INT(qapf_stream_scan(&s, &h), QAPF_SCAN_HEADER);
    qapf_stream_drop(&s, &h);
    CHECK_INT(qapf_stream_scan(&s, &h), QAPF_SCAN_PAYLOAD);
    CHECK_INT(s.in_end, 0);
    CHECK_INT(s.left, 60);
    memset(buf, 'y', 60);
    s.in_end = 60;
    CHECK_INT(qapf_stream_scan(&s, &h), QAPF_SCAN_MORE);
    CHECK_INT(s.in_end, 0);
    CHECK_INT(s.out_end, 0);
}

int main(void)
{
    RUN(test_refused_commands);
    RUN(test_passed_commands);
    RUN(test_oob_pairing);
    RUN(test_stream_pass_drop_insert);
    RUN(test_stream_drop_across_reads);
    return check_report();
}
