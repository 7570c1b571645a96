/* Frame boundaries and decisions of the QAP1 front end, over a bounded
 * buffer per direction. Every length comes from outside and is checked
 * before it moves anything. */
#include "proxy/qapf_frame.h"

#include <string.h>

/* The bits a client frame may carry when it answers an OOB_MSG: the OOB
 * class, the response flag, the message kind and its code. */
#define OOB_ANSWER_MASK (QAP_CMD_RESP | QAP_CMD_OOB | 0xfffu | 0x3000u)

static bool is_oob_answer(uint32_t cmd)
{
    return (cmd & QAP_CMD_OOB) && (cmd & ~(uint32_t)OOB_ANSWER_MASK) == 0;
}

/* Requests the proxy never forwards: what qap.h calls forbidden on a shared
 * server, key exchange and secure login (the proxy owns authentication), and
 * anything carrying response or OOB bits outside an OOB answer. */
static bool client_cmd_refused(uint32_t cmd)
{
    if (qap_cmd_is_forbidden(cmd))
        return true;
    if (cmd == QAP_CMD_KEY_REQ || cmd == QAP_CMD_SEC_LOGIN)
        return true;
    return (cmd & (QAP_CMD_RESP | QAP_CMD_OOB)) != 0;
}

enum qapf_action qapf_client_frame(struct qapf_seq *q, const struct qap_hdr *h, int *status)
{
    if (h->len > q->max_frame) {
        *status = QAP_ERR_DATA_OVERFLOW;
        return QAPF_TOO_BIG;
    }
    if (q->oob_pending) {
        if (!is_oob_answer(h->cmd))
            return QAPF_VIOLATION;
        q->oob_pending = false;
        return QAPF_PASS;
    }
    if (h->cmd == QAP_CMD_LOGIN)
        return QAPF_LOGIN;
    if (client_cmd_refused(h->cmd)) {
        *status = QAPF_REFUSED_STATUS;
        return QAPF_REFUSE;
    }
    q->in_flight++;
    return QAPF_PASS;
}

/* Rserve sets the response flag on the OOB frames it sends, so the class
 * is read from the OOB bit and the kind bits, not from the whole word. */
enum qapf_action qapf_server_frame(struct qapf_seq *q, const struct qap_hdr *h)
{
    uint32_t kind = h->cmd & 0xf000u;

    if (h->len > q->max_frame || q->in_flight == 0 || q->oob_pending)
        return QAPF_VIOLATION;
    if (h->cmd & QAP_CMD_OOB) {
        if (kind == (QAP_OOB_SEND & 0xf000u))
            return QAPF_PASS;
        if (kind != (QAP_OOB_MSG & 0xf000u))
            return QAPF_VIOLATION;
        q->oob_pending = true;
        return QAPF_PASS;
    }
    if ((h->cmd & 0xffffffu) != QAP_RESP_OK && (h->cmd & 0xffffffu) != QAP_RESP_ERR)
        return QAPF_VIOLATION;
    q->in_flight--;
    return QAPF_PASS;
}

/* Removes n bytes at out_end, shifting what was read after them. */
static void cut(struct qapf_stream *s, size_t n)
{
    memmove(s->buf + s->out_end, s->buf + s->out_end + n, s->in_end - s->out_end - n);
    s->in_end -= n;
}

enum qapf_scan qapf_stream_scan(struct qapf_stream *s, struct qap_hdr *hdr)
{
    size_t avail = s->in_end - s->out_end;

    if (s->left > 0) {
        size_t n = s->left < avail ? (size_t)s->left : avail;

        if (s->drop)
            cut(s, n);
        else
            s->out_end += n;
        s->left -= n;
        if (s->left > 0)
            return QAPF_SCAN_PAYLOAD;
        avail = s->in_end - s->out_end;
    }
    if (avail < QAP_HDR_SIZE)
        return QAPF_SCAN_MORE;
    qap_hdr_parse(s->buf + s->out_end, hdr);
    return QAPF_SCAN_HEADER;
}

void qapf_stream_pass(struct qapf_stream *s, const struct qap_hdr *hdr)
{
    s->frame_off = s->out_end;
    s->out_end += QAP_HDR_SIZE;
    s->left = hdr->len;
    s->drop = false;
}

void qapf_stream_drop(struct qapf_stream *s, const struct qap_hdr *hdr)
{
    cut(s, QAP_HDR_SIZE);
    s->left = hdr->len;
    s->drop = true;
}

void qapf_stream_take(struct qapf_stream *s, const struct qap_hdr *hdr, uint8_t *dst)
{
    memcpy(dst, s->buf + s->out_end + QAP_HDR_SIZE, (size_t)hdr->len);
    cut(s, QAP_HDR_SIZE + (size_t)hdr->len);
    s->left = 0;
    s->drop = false;
}

bool qapf_stream_insert(struct qapf_stream *s, const void *bytes, size_t len)
{
    if (s->cap - s->in_end < len)
        return false;
    memmove(s->buf + s->out_end + len, s->buf + s->out_end, s->in_end - s->out_end);
    memcpy(s->buf + s->out_end, bytes, len);
    s->out_end += len;
    s->in_end += len;
    return true;
}

void qapf_stream_compact(struct qapf_stream *s)
{
    if (s->out_off < s->out_end || s->out_off == 0)
        return;
    memmove(s->buf, s->buf + s->out_off, s->in_end - s->out_off);
    s->in_end -= s->out_off;
    s->out_end = s->out_off = 0;
}

void qapf_error_frame(uint8_t out[QAP_HDR_SIZE], int status)
{
    qap_hdr_write(out, qap_resp_err(status), 0, 0);
}
