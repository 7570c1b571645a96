/* QAP1 framing: headers, classification, status names, ID strings and
 * parameter headers, on hand-built bytes. */
#include "rserve/qap.h"
#include "tests/unit/check.h"

#include <stdint.h>
#include <string.h>

static void test_header_round_trip(void)
{
    uint8_t b[QAP_HDR_SIZE];
    struct qap_hdr h;

    qap_hdr_write(b, QAP_CMD_EVAL, 0x123456789abull, 77);
    CHECK(memcmp(b, "\x03\x00\x00\x00\xab\x89\x67\x45\x4d\x00\x00\x00\x23\x01\x00\x00", 16) == 0);
    qap_hdr_parse(b, &h);
    CHECK_INT(h.cmd, QAP_CMD_EVAL);
    CHECK(h.len == 0x123456789abull);
    CHECK_INT(h.msg_id, 77);
}

static void test_header_limit(void)
{
    uint8_t b[QAP_HDR_SIZE];
    struct qap_hdr h;

    qap_hdr_write(b, QAP_RESP_OK, 1001, 0);
    CHECK_INT(qap_hdr_check(b, 1000, &h), QAP_ETOOBIG);
    CHECK_INT(qap_hdr_check(b, 1001, &h), QAP_OK);
    /* The high word alone makes a frame too big. */
    memcpy(b + 4, "\0\0\0\0", 4);
    memcpy(b + 12, "\x01\0\0\0", 4);
    CHECK_INT(qap_hdr_check(b, UINT32_MAX, &h), QAP_ETOOBIG);
}

static void test_frame_kinds(void)
{
    CHECK_INT(qap_frame_kind(QAP_CMD_EVAL), QAP_FRAME_REQUEST);
    CHECK_INT(qap_frame_kind(QAP_CMD_SER_EVAL), QAP_FRAME_REQUEST);
    CHECK_INT(qap_frame_kind(QAP_RESP_OK), QAP_FRAME_RESPONSE);
    CHECK_INT(qap_frame_kind(qap_resp_err(QAP_ERR_INV_PAR)), QAP_FRAME_RESPONSE);
    CHECK_INT(qap_frame_kind(0x7f010002), QAP_FRAME_RESPONSE);
    CHECK_INT(qap_frame_kind(QAP_OOB_SEND | 0x5), QAP_FRAME_OOB_SEND);
    CHECK_INT(qap_frame_kind(QAP_OOB_MSG | 0xfff), QAP_FRAME_OOB_MSG);
    CHECK_INT(qap_oob_code(QAP_OOB_MSG | 0x123), 0x123);
    CHECK_INT(qap_resp_status(0x7f010002), QAP_ERR_R_EVAL);
    CHECK_INT(qap_resp_status(qap_resp_err(3)), 3);
    CHECK_STR(qap_cmd_name(QAP_OOB_SEND | 1), "oob_send");
    CHECK_STR(qap_cmd_name(QAP_RESP_OK), "resp_ok");
    CHECK_STR(qap_cmd_name(qap_resp_err(0x41)), "resp_err");
    CHECK_STR(qap_cmd_name(QAP_CMD_SET_SEXP), "setSEXP");
    CHECK_STR(qap_cmd_name(0x99), "unknown");
}

static void test_serialized_and_forbidden(void)
{
    static const uint32_t forbidden[] = {
        QAP_CMD_SHUTDOWN,       QAP_CMD_SWITCH,         QAP_CMD_SET_BUFFER_SIZE,
        QAP_CMD_DETACH_SESSION, QAP_CMD_ATTACH_SESSION, QAP_CMD_DETACHED_VOID_EVAL,
        QAP_CMD_CTRL_EVAL,      QAP_CMD_CTRL_SHUTDOWN,  QAP_CMD_CTRL_SOURCE,
        QAP_CMD_CTRL,           QAP_CMD_PROXY | 1,      QAP_CMD_PROXY,
    };
    static const uint32_t allowed[] = {
        QAP_CMD_LOGIN,     QAP_CMD_EVAL,         QAP_CMD_VOID_EVAL, QAP_CMD_SET_SEXP,
        QAP_CMD_OPEN_FILE, QAP_CMD_SET_ENCODING, QAP_CMD_SER_EVAL,  QAP_CMD_KEY_REQ,
    };

    CHECK(qap_cmd_is_serialized(QAP_CMD_SER_EVAL));
    CHECK(qap_cmd_is_serialized(QAP_CMD_SER_ASSIGN));
    CHECK(qap_cmd_is_serialized(QAP_CMD_SER_EEVAL));
    CHECK(!qap_cmd_is_serialized(QAP_CMD_EVAL));
    CHECK(!qap_cmd_is_serialized(QAP_OOB_SEND | 0xf5));
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
        CHECK(qap_cmd_is_forbidden(forbidden[i]));
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        CHECK(!qap_cmd_is_forbidden(allowed[i]));
}

static void test_error_names(void)
{
    static const struct {
        int status;
        const char *name;
    } want[] = {
        {QAP_ERR_AUTH_FAILED, "auth_failed"},
        {QAP_ERR_CONN_BROKEN, "conn_broken"},
        {QAP_ERR_INV_CMD, "inv_cmd"},
        {QAP_ERR_INV_PAR, "inv_par"},
        {QAP_ERR_RERROR, "r_error"},
        {QAP_ERR_IO_ERROR, "io_error"},
        {QAP_ERR_NOT_OPEN, "not_open"},
        {QAP_ERR_ACCESS_DENIED, "access_denied"},
        {QAP_ERR_UNSUPPORTED_CMD, "unsupported_cmd"},
        {QAP_ERR_UNKNOWN_CMD, "unknown_cmd"},
        {QAP_ERR_DATA_OVERFLOW, "data_overflow"},
        {QAP_ERR_OBJECT_TOO_BIG, "object_too_big"},
        {QAP_ERR_OUT_OF_MEM, "out_of_mem"},
        {QAP_ERR_CTRL_CLOSED, "ctrl_closed"},
        {QAP_ERR_SESSION_BUSY, "session_busy"},
        {QAP_ERR_DETACH_FAILED, "detach_failed"},
        {QAP_ERR_DISABLED, "disabled"},
        {QAP_ERR_UNAVAILABLE, "unavailable"},
        {QAP_ERR_CRYPT_ERROR, "crypt_error"},
        {QAP_ERR_SECURITY_CLOSE, "security_close"},
        {QAP_ERR_R_EVAL, "eval_error"},
        {2, "parse_incomplete"},
        {3, "parse_error"},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK_STR(qap_err_name(want[i].status), want[i].name);
        CHECK(strcmp(qap_err_message(want[i].status), "unknown error status") != 0);
    }
    CHECK_STR(qap_err_name(0x33), "unknown_error");
    CHECK_STR(qap_err_message(0x33), "unknown error status");
    CHECK_STR(qap_status_name(QAP_ETOOBIG), "too_big");
    CHECK_STR(qap_status_name((enum qap_status)99), "unknown");
}

static void test_id_strings(void)
{
    struct qap_id id, back;
    uint8_t b[QAP_ID_SIZE];

    CHECK_INT(qap_id_parse((const uint8_t *)"Rsrv0103QAP1\r\n\r\n--------------\r\n", &id), QAP_OK);
    CHECK_STR(id.server_version, "0103");
    CHECK(!id.auth_plain && !id.auth_crypt && !id.tls && !id.salt[0]);

    CHECK_INT(qap_id_parse((const uint8_t *)"Rsrv0103QAP1\r\n\r\nARucKab ARptR422", &id), QAP_OK);
    CHECK(id.auth_crypt && id.auth_plain);
    CHECK_STR(id.salt, "ab");
    CHECK_STR(id.r_version, "R422");

    CHECK_INT(qap_id_parse((const uint8_t *)"Rsrv0103QAP1\r\n\r\nTLS\n----------\r\n", &id),
              QAP_OK);
    CHECK(id.tls);
    CHECK_INT(qap_id_parse((const uint8_t *)"Rsrv0103QAP2\r\n\r\n--------------\r\n", &id),
              QAP_EBADID);
    CHECK_INT(qap_id_parse((const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n------------", &id),
              QAP_EBADID);
    CHECK_INT(qap_id_parse((const uint8_t *)"Rsrv01x3QAP1\r\n\r\n--------------\r\n", &id),
              QAP_EBADID);

    memset(&id, 0, sizeof(id));
    id.auth_crypt = id.auth_plain = true;
    memcpy(id.salt, "xy", 3);
    qap_id_write(b, &id);
    CHECK_INT(qap_id_parse(b, &back), QAP_OK);
    CHECK(back.auth_crypt && back.auth_plain && !back.tls);
    CHECK_STR(back.salt, "xy");
    CHECK_STR(back.server_version, "0103");
}

static void test_items(void)
{
    uint8_t b[16] = {0};
    struct qap_item it;

    CHECK_INT(qap_item_hdr_write(b, QAP_DT_SEXP, QAP_DT_LARGE, 8), 4);
    CHECK_INT(qap_item_parse(b, 12, QAP_DT_LARGE, &it), QAP_OK);
    CHECK_INT(it.type, QAP_DT_SEXP);
    CHECK_INT(it.len, 8);
    CHECK(it.body == b + 4);
    CHECK_INT(qap_item_parse(b, 11, QAP_DT_LARGE, &it), QAP_ETRUNC);
    CHECK_INT(qap_item_parse(b, 3, QAP_DT_LARGE, &it), QAP_ETRUNC);

    CHECK_INT(qap_item_hdr_write(b, QAP_DT_SEXP, QAP_DT_LARGE, 0x1000000ull), 8);
    CHECK(memcmp(b, "\x4a\x00\x00\x00\x01\x00\x00\x00", 8) == 0);
    CHECK_INT(qap_item_parse(b, 16, QAP_DT_LARGE, &it), QAP_ETRUNC);
    CHECK_INT(qap_item_parse(b, 7, QAP_DT_LARGE, &it), QAP_ETRUNC);

    /* The large form with a small length is legal and reads the same. */
    qap_put_u32(b, QAP_DT_STRING | QAP_DT_LARGE | 4u << 8);
    qap_put_u32(b + 4, 0);
    CHECK_INT(qap_item_parse(b, 12, QAP_DT_LARGE, &it), QAP_OK);
    CHECK_INT(it.type, QAP_DT_STRING);
    CHECK_INT(it.len, 4);
    CHECK_INT(it.hdr_len, 8);
    CHECK_INT(qap_item_hdr_size(QAP_SMALL_MAX), 4);
    CHECK_INT(qap_item_hdr_size(QAP_SMALL_MAX + 1), 8);
}

int main(void)
{
    RUN(test_header_round_trip);
    RUN(test_header_limit);
    RUN(test_frame_kinds);
    RUN(test_serialized_and_forbidden);
    RUN(test_error_names);
    RUN(test_id_strings);
    RUN(test_items);
    return check_report();
}
