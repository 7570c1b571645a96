/* QAP1 framing: header and item codecs, command classification, status
 * names and the ID string. Nothing here allocates or trusts a length. */
#include "rserve/qap.h"

#include <string.h>

static const char *const status_names[] = {
    [QAP_OK] = "ok",
    [QAP_ETRUNC] = "truncated",
    [QAP_EBADLEN] = "bad_length",
    [QAP_ETOOBIG] = "too_big",
    [QAP_EBADTYPE] = "bad_type",
    [QAP_EDEPTH] = "too_deep",
    [QAP_EBADID] = "bad_id_string",
    [QAP_EBADSTR] = "unterminated_string",
    [QAP_EPROTOCOL] = "protocol_violation",
};

const char *qap_status_name(enum qap_status st)
{
    if ((unsigned)st < sizeof(status_names) / sizeof(status_names[0]))
        return status_names[st];
    return "unknown";
}

void qap_hdr_parse(const uint8_t bytes[QAP_HDR_SIZE], struct qap_hdr *hdr)
{
    hdr->cmd = qap_get_u32(bytes);
    hdr->len = (uint64_t)qap_get_u32(bytes + 4) | (uint64_t)qap_get_u32(bytes + 12) << 32;
    hdr->msg_id = qap_get_u32(bytes + 8);
}

void qap_hdr_write(uint8_t bytes[QAP_HDR_SIZE], uint32_t cmd, uint64_t len, uint32_t msg_id)
{
    qap_put_u32(bytes, cmd);
    qap_put_u32(bytes + 4, (uint32_t)len);
    qap_put_u32(bytes + 8, msg_id);
    qap_put_u32(bytes + 12, (uint32_t)(len >> 32));
}

enum qap_status qap_hdr_check(const uint8_t bytes[QAP_HDR_SIZE], uint64_t max_len,
                              struct qap_hdr *hdr)
{
    qap_hdr_parse(bytes, hdr);
    return hdr->len > max_len ? QAP_ETOOBIG : QAP_OK;
}

enum qap_frame_kind qap_frame_kind(uint32_t cmd)
{
    /* Bits 24..30 of a response carry its status; the OOB code sits in the
     * low 12 bits. The class is what remains. */
    uint32_t cls = cmd & 0x00fff000u;

    if (cls == QAP_OOB_SEND)
        return QAP_FRAME_OOB_SEND;
    if (cls == QAP_OOB_MSG)
        return QAP_FRAME_OOB_MSG;
    if ((cmd & 0x00ffffffu) == QAP_RESP_OK || (cmd & 0x00ffffffu) == QAP_RESP_ERR)
        return QAP_FRAME_RESPONSE;
    return QAP_FRAME_REQUEST;
}

bool qap_cmd_is_serialized(uint32_t cmd)
{
    return cmd <= 0xff && (cmd & QAP_CMD_SPECIAL_MASK) == QAP_CMD_SPECIAL_MASK;
}

bool qap_cmd_is_forbidden(uint32_t cmd)
{
    if (cmd & QAP_CMD_PROXY)
        return true;
    if ((cmd & 0xfffffff0u) == QAP_CMD_CTRL)
        return true;
    switch (cmd) {
    case QAP_CMD_SHUTDOWN:
    case QAP_CMD_SWITCH:
    case QAP_CMD_SET_BUFFER_SIZE:
    case QAP_CMD_DETACH_SESSION:
    case QAP_CMD_DETACHED_VOID_EVAL:
    case QAP_CMD_ATTACH_SESSION:
        return true;
    default:
        return false;
    }
}

struct code_name {
    uint32_t code;
    const char *name;
};

static const struct code_name cmd_names[] = {
    {QAP_CMD_LOGIN, "login"},
    {QAP_CMD_VOID_EVAL, "voidEval"},
    {QAP_CMD_EVAL, "eval"},
    {QAP_CMD_SHUTDOWN, "shutdown"},
    {QAP_CMD_SWITCH, "switch"},
    {QAP_CMD_KEY_REQ, "keyReq"},
    {QAP_CMD_SEC_LOGIN, "secLogin"},
    {QAP_CMD_OC_CALL, "OCcall"},
    {QAP_CMD_OPEN_FILE, "openFile"},
    {QAP_CMD_CREATE_FILE, "createFile"},
    {QAP_CMD_CLOSE_FILE, "closeFile"},
    {QAP_CMD_READ_FILE, "readFile"},
    {QAP_CMD_WRITE_FILE, "writeFile"},
    {QAP_CMD_REMOVE_FILE, "removeFile"},
    {QAP_CMD_SET_SEXP, "setSEXP"},
    {QAP_CMD_ASSIGN_SEXP, "assignSEXP"},
    {QAP_CMD_DETACH_SESSION, "detachSession"},
    {QAP_CMD_DETACHED_VOID_EVAL, "detachedVoidEval"},
    {QAP_CMD_ATTACH_SESSION, "attachSession"},
    {QAP_CMD_CTRL_EVAL, "ctrlEval"},
    {QAP_CMD_CTRL_SHUTDOWN, "ctrlShutdown"},
    {QAP_CMD_CTRL_SOURCE, "ctrlSource"},
    {QAP_CMD_SET_BUFFER_SIZE, "setBufferSize"},
    {QAP_CMD_SET_ENCODING, "setEncoding"},
    {QAP_CMD_SER_EVAL, "serEval"},
    {QAP_CMD_SER_ASSIGN, "serAssign"},
    {QAP_CMD_SER_EEVAL, "serEEval"},
    {QAP_CMD_OC_INIT, "OCinit"},
};

const char *qap_cmd_name(uint32_t cmd)
{
    switch (qap_frame_kind(cmd)) {
    case QAP_FRAME_RESPONSE:
        return (cmd & 0xffffff) == QAP_RESP_OK ? "resp_ok" : "resp_err";
    case QAP_FRAME_OOB_SEND:
        return "oob_send";
    case QAP_FRAME_OOB_MSG:
        return "oob_msg";
    case QAP_FRAME_REQUEST:
        break;
    }
    for (size_t i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
        if (cmd_names[i].code == cmd)
            return cmd_names[i].name;
    return "unknown";
}

struct err_entry {
    int status;
    const char *name;
    const char *message;
};

static const struct err_entry err_table[] = {
    {0, "ok", "no error"},
    {1, "parse_ok", "the expression parsed"},
    {2, "parse_incomplete", "the R expression is incomplete"},
    {3, "parse_error", "the R expression has a syntax error"},
    {4, "parse_eof", "the R expression ended unexpectedly"},
    {QAP_ERR_AUTH_FAILED, "auth_failed", "authentication failed or was required"},
    {QAP_ERR_CONN_BROKEN, "conn_broken", "the connection broke or a frame was malformed"},
    {QAP_ERR_INV_CMD, "inv_cmd", "invalid command"},
    {QAP_ERR_INV_PAR, "inv_par", "invalid parameters for the command"},
    {QAP_ERR_RERROR, "r_error", "R reported an error"},
    {QAP_ERR_IO_ERROR, "io_error", "input/output error on the server"},
    {QAP_ERR_NOT_OPEN, "not_open", "file operation without an open file"},
    {QAP_ERR_ACCESS_DENIED, "access_denied", "access denied"},
    {QAP_ERR_UNSUPPORTED_CMD, "unsupported_cmd", "command known but not supported here"},
    {QAP_ERR_UNKNOWN_CMD, "unknown_cmd", "unknown command"},
    {QAP_ERR_DATA_OVERFLOW, "data_overflow", "incoming frame too big"},
    {QAP_ERR_OBJECT_TOO_BIG, "object_too_big", "result too big to send"},
    {QAP_ERR_OUT_OF_MEM, "out_of_mem", "server out of memory"},
    {QAP_ERR_CTRL_CLOSED, "ctrl_closed", "control pipe to the server closed"},
    {QAP_ERR_SESSION_BUSY, "session_busy", "session is still busy"},
    {QAP_ERR_DETACH_FAILED, "detach_failed", "session could not be detached"},
    {QAP_ERR_DISABLED, "disabled", "feature disabled"},
    {QAP_ERR_UNAVAILABLE, "unavailable", "feature or resource unavailable"},
    {QAP_ERR_CRYPT_ERROR, "crypt_error", "cryptography error"},
    {QAP_ERR_SECURITY_CLOSE, "security_close", "server closed the connection for security"},
    {QAP_ERR_R_EVAL, "eval_error", "R raised an error while evaluating"},
};

static const struct err_entry *err_lookup(int status)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].status == status)
            return &err_table[i];
    return NULL;
}

const char *qap_err_name(int status)
{
    const struct err_entry *e = err_lookup(status);

    return e ? e->name : "unknown_error";
}

const char *qap_err_message(int status)
{
    const struct err_entry *e = err_lookup(status);

    return e ? e->message : "unknown error status";
}

static bool all_digits(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* One 4-byte attribute after the fixed 12-byte prefix. Unknown attributes
 * are ignored, as a client must. */
static void id_attribute(const uint8_t *a, struct qap_id *id)
{
    if (memcmp(a, "ARpt", 4) == 0)
        id->auth_plain = true;
    else if (memcmp(a, "ARuc", 4) == 0)
        id->auth_crypt = true;
    else if (memcmp(a, "ARm5", 4) == 0)
        id->auth_md5 = true;
    else if (memcmp(a, "TLS", 3) == 0)
        id->tls = true;
    else if (a[0] == 'K') {
        id->salt[0] = (char)a[1];
        id->salt[1] = (char)a[2];
        id->salt[2] = '\0';
    } else if (a[0] == 'R' && all_digits(a + 1, 3)) {
        memcpy(id->r_version, a, 4);
        id->r_version[4] = '\0';
    }
}

enum qap_status qap_id_parse(const uint8_t bytes[QAP_ID_SIZE], struct qap_id *id)
{
    memset(id, 0, sizeof(*id));
    if (memcmp(bytes, "Rsrv", 4) != 0 || memcmp(bytes + 8, "QAP1", 4) != 0)
        return QAP_EBADID;
    if (!all_digits(bytes + 4, 4))
        return QAP_EBADID;
    memcpy(id->server_version, bytes + 4, 4);
    for (size_t off = 12; off < QAP_ID_SIZE; off += 4)
        id_attribute(bytes + off, id);
    return QAP_OK;
}

void qap_id_write(uint8_t bytes[QAP_ID_SIZE], const struct qap_id *id)
{
    size_t off = 16;

    memcpy(bytes, "Rsrv0103QAP1\r\n\r\n----------------", QAP_ID_SIZE);
    if (id->server_version[0])
        memcpy(bytes + 4, id->server_version, 4);
    if (id->auth_crypt && id->salt[0]) {
        memcpy(bytes + off, "ARuc", 4);
        bytes[off + 4] = 'K';
        memcpy(bytes + off + 5, id->salt, 2);
        bytes[off + 7] = ' ';
        off += 8;
    }
    if (id->auth_plain) {
        memcpy(bytes + off, "ARpt", 4);
        off += 4;
    }
    if (id->tls && off < QAP_ID_SIZE - 4) {
        memcpy(bytes + off, "TLS\n", 4);
        off += 4;
    }
    memcpy(bytes + QAP_ID_SIZE - 4, "--\r\n", 4);
}

enum qap_status qap_item_parse(const uint8_t *p, size_t avail, uint8_t large_flag,
                               struct qap_item *item)
{
    uint32_t word;

    if (avail < 4)
        return QAP_ETRUNC;
    word = qap_get_u32(p);
    item->type = (uint8_t)(word & 0xff);
    item->len = word >> 8;
    item->hdr_len = 4;
    if (item->type & large_flag) {
        if (avail < 8)
            return QAP_ETRUNC;
        item->type &= (uint8_t)~large_flag;
        item->len |= (uint64_t)qap_get_u32(p + 4) << 24;
        item->hdr_len = 8;
    }
    if (item->len > avail - item->hdr_len)
        return QAP_ETRUNC;
    item->body = p + item->hdr_len;
    return QAP_OK;
}

size_t qap_item_hdr_write(uint8_t *p, uint8_t type, uint8_t large_flag, uint64_t len)
{
    if (len <= QAP_SMALL_MAX) {
        qap_put_u32(p, (uint32_t)type | (uint32_t)len << 8);
        return 4;
    }
    qap_put_u32(p, (uint32_t)(type | large_flag) | (uint32_t)(len & 0xffffff) << 8);
    qap_put_u32(p + 4, (uint32_t)(len >> 24));
    return 8;
}
