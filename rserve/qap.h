/* QAP1 framing: the ID string, the 16-byte frame header, command and
 * response codes, parameter headers (DT_*). Pure functions over bytes. */
#ifndef OMCP_QAP_H
#define OMCP_QAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QAP_ID_SIZE  32
#define QAP_HDR_SIZE 16

/* Commands a client sends. */
#define QAP_CMD_LOGIN              0x001
#define QAP_CMD_VOID_EVAL          0x002
#define QAP_CMD_EVAL               0x003
#define QAP_CMD_SHUTDOWN           0x004
#define QAP_CMD_SWITCH             0x005 /* protocol switch, e.g. to TLS */
#define QAP_CMD_KEY_REQ            0x006
#define QAP_CMD_SEC_LOGIN          0x007
#define QAP_CMD_OC_CALL            0x00f
#define QAP_CMD_OPEN_FILE          0x010
#define QAP_CMD_CREATE_FILE        0x011
#define QAP_CMD_CLOSE_FILE         0x012
#define QAP_CMD_READ_FILE          0x013
#define QAP_CMD_WRITE_FILE         0x014
#define QAP_CMD_REMOVE_FILE        0x015
#define QAP_CMD_SET_SEXP           0x020
#define QAP_CMD_ASSIGN_SEXP        0x021
#define QAP_CMD_DETACH_SESSION     0x030
#define QAP_CMD_DETACHED_VOID_EVAL 0x031
#define QAP_CMD_ATTACH_SESSION     0x032
#define QAP_CMD_CTRL               0x040 /* control family: 0x40..0x4f */
#define QAP_CMD_CTRL_EVAL          0x042
#define QAP_CMD_CTRL_SHUTDOWN      0x044
#define QAP_CMD_CTRL_SOURCE        0x045
#define QAP_CMD_SET_BUFFER_SIZE    0x081
#define QAP_CMD_SET_ENCODING       0x082
#define QAP_CMD_SPECIAL_MASK       0x0f0 /* payload is serialized R, no DT_ headers */
#define QAP_CMD_SER_EVAL           0x0f5
#define QAP_CMD_SER_ASSIGN         0x0f6
#define QAP_CMD_SER_EEVAL          0x0f7
#define QAP_CMD_OC_INIT            0x434f7352 /* "RsOC" */

/* Frame classes carried in the command word. */
#define QAP_CMD_RESP  0x10000
#define QAP_RESP_OK   (QAP_CMD_RESP | 0x1)
#define QAP_RESP_ERR  (QAP_CMD_RESP | 0x2)
#define QAP_CMD_OOB   0x20000
#define QAP_OOB_SEND  (QAP_CMD_OOB | 0x1000) /* unsolicited value; no answer expected */
#define QAP_OOB_MSG   (QAP_CMD_OOB | 0x2000) /* the client's next frame answers it */
#define QAP_CMD_PROXY 0x40000

/* Status codes in bits 24..30 of an error response. Codes below 0x40 come
 * from R: the parser's status for eval and assign, 127 for an R error. */
#define QAP_ERR_AUTH_FAILED     0x41
#define QAP_ERR_CONN_BROKEN     0x42
#define QAP_ERR_INV_CMD         0x43
#define QAP_ERR_INV_PAR         0x44
#define QAP_ERR_RERROR          0x45
#define QAP_ERR_IO_ERROR        0x46
#define QAP_ERR_NOT_OPEN        0x47
#define QAP_ERR_ACCESS_DENIED   0x48
#define QAP_ERR_UNSUPPORTED_CMD 0x49
#define QAP_ERR_UNKNOWN_CMD     0x4a
#define QAP_ERR_DATA_OVERFLOW   0x4b
#define QAP_ERR_OBJECT_TOO_BIG  0x4c
#define QAP_ERR_OUT_OF_MEM      0x4d
#define QAP_ERR_CTRL_CLOSED     0x4e
#define QAP_ERR_SESSION_BUSY    0x50
#define QAP_ERR_DETACH_FAILED   0x51
#define QAP_ERR_DISABLED        0x61
#define QAP_ERR_UNAVAILABLE     0x62
#define QAP_ERR_CRYPT_ERROR     0x63
#define QAP_ERR_SECURITY_CLOSE  0x64
#define QAP_ERR_R_EVAL          0x7f /* R raised an error (sent as -1) */

/* Parameter types (DT_*) at the top level of a frame's payload. */
#define QAP_DT_INT        1
#define QAP_DT_CHAR       2
#define QAP_DT_DOUBLE     3
#define QAP_DT_STRING     4
#define QAP_DT_BYTESTREAM 5
#define QAP_DT_SEXP       10
#define QAP_DT_ARRAY      11
#define QAP_DT_CUSTOM     32
#define QAP_DT_LARGE      64 /* flag: 56-bit length, header grows to 8 bytes */

/* The largest length a 4-byte item header carries; longer items use the
 * 8-byte form. */
#define QAP_SMALL_MAX 0xfffff0u

/* Results of the pure parsers; stable, with names for logs. */
enum qap_status {
    QAP_OK = 0,
    QAP_ETRUNC,    /* fewer bytes than a length says */
    QAP_EBADLEN,   /* a length that cannot be right (misaligned, past the end) */
    QAP_ETOOBIG,   /* above the configured limit */
    QAP_EBADTYPE,  /* unknown or unexpected type code */
    QAP_EDEPTH,    /* nesting deeper than allowed */
    QAP_EBADID,    /* not an Rserve QAP1 ID string */
    QAP_EBADSTR,   /* string without its terminating NUL */
    QAP_EPROTOCOL, /* a frame that is not allowed at this point */
};

const char *qap_status_name(enum qap_status st);

struct qap_hdr {
    uint32_t cmd;
    uint32_t msg_id; /* echoed by servers that enable message ids, else 0 */
    uint64_t len;    /* payload bytes after the header */
};

void qap_hdr_parse(const uint8_t bytes[QAP_HDR_SIZE], struct qap_hdr *hdr);
void qap_hdr_write(uint8_t bytes[QAP_HDR_SIZE], uint32_t cmd, uint64_t len, uint32_t msg_id);
/* Parses and checks the length against max_len before anything is read. */
enum qap_status qap_hdr_check(const uint8_t bytes[QAP_HDR_SIZE], uint64_t max_len,
                              struct qap_hdr *hdr);

enum qap_frame_kind {
    QAP_FRAME_REQUEST,
    QAP_FRAME_RESPONSE,
    QAP_FRAME_OOB_SEND,
    QAP_FRAME_OOB_MSG,
};

enum qap_frame_kind qap_frame_kind(uint32_t cmd);
/* True for requests whose payload is serialized R without DT_ headers. */
bool qap_cmd_is_serialized(uint32_t cmd);
/* True for commands that change or end the shared server: a proxy refuses
 * them (shutdown, buffer size, protocol switch, sessions, control, proxy). */
bool qap_cmd_is_forbidden(uint32_t cmd);
const char *qap_cmd_name(uint32_t cmd);
/* The status of a response (bits 24..30). */
static inline int qap_resp_status(uint32_t cmd)
{
    return (int)((cmd >> 24) & 0x7f);
}
static inline uint32_t qap_resp_err(int status)
{
    return QAP_RESP_ERR | ((uint32_t)(status & 0x7f) << 24);
}
static inline unsigned qap_oob_code(uint32_t cmd)
{
    return cmd & 0xfff;
}
/* A stable snake_case name and a sentence for a response status. */
const char *qap_err_name(int status);
const char *qap_err_message(int status);

/* What the 32-byte greeting announces. */
struct qap_id {
    char server_version[5]; /* "0103" */
    char r_version[5];      /* "R" + 3 digits, when announced, else "" */
    bool auth_plain;        /* ARpt */
    bool auth_crypt;        /* ARuc */
    bool auth_md5;          /* ARm5 */
    bool tls;               /* the server offers a TLS switch */
    char salt[3];           /* two characters for crypt(3), "" if none */
};

enum qap_status qap_id_parse(const uint8_t bytes[QAP_ID_SIZE], struct qap_id *id);
/* Writes a greeting with the given attributes; for servers and proxies. */
void qap_id_write(uint8_t bytes[QAP_ID_SIZE], const struct qap_id *id);

/* One parameter (or XT item) header: type code, payload length, header size. */
struct qap_item {
    uint8_t type;   /* with the LARGE flag cleared */
    uint64_t len;   /* payload bytes */
    size_t hdr_len; /* 4 or 8 */
    const uint8_t *body;
};

/* Reads the item header at p (avail bytes); checks that the payload fits. */
enum qap_status qap_item_parse(const uint8_t *p, size_t avail, uint8_t large_flag,
                               struct qap_item *item);
/* Writes a header of 4 or 8 bytes for a payload of len bytes; returns its size. */
size_t qap_item_hdr_write(uint8_t *p, uint8_t type, uint8_t large_flag, uint64_t len);
static inline size_t qap_item_hdr_size(uint64_t len)
{
    return len > QAP_SMALL_MAX ? 8 : 4;
}

static inline uint32_t qap_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void qap_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
