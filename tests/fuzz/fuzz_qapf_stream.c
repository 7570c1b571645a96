/* Fuzzes the QAP1 front end's reader of client frames: the input's first
 * 32 bytes steer the run (how many client bytes arrive at a time, how the
 * fake slot answers: a response, OOB_SEND, or OOB_MSG that the client must
 * answer), the rest is what the client sends. Client bytes go through the
 * front end's bounded buffer, scanner and decisions, exactly as the
 * connection drives them; what they clear for sending is what the slot
 * reads. The fake slot checks every frame it gets: no refused command, no
 * login, nothing with response or OOB bits except an answer to its own
 * OOB_MSG, and lengths that line up frame after frame. */
#include "proxy/qapf_frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CTL_SIZE  32
#define BUF_SIZE  512
#define MAX_FRAME 4096
#define LOGIN_MAX 256

struct harness {
    const uint8_t *ctl;
    unsigned tick;
    struct qapf_seq seq;
    struct qapf_stream up;
    uint8_t buf[BUF_SIZE];
    bool owed;  /* a reply of the proxy's own waits for in_flight == 0 */
    bool ended; /* the front end closed the connection */

    /* the fake slot's view of the bytes it receives */
    uint8_t hdr[QAP_HDR_SIZE];
    size_t hdr_got;
    uint64_t payload_left;
    unsigned pending;     /* requests received, not answered yet */
    bool oob_outstanding; /* the slot sent OOB_MSG; the next frame must answer it */
};

static uint8_t steer(struct harness *h)
{
    return h->ctl[h->tick++ % CTL_SIZE];
}

static bool refused_here(uint32_t cmd)
{
    return qap_cmd_is_forbidden(cmd) || cmd == QAP_CMD_KEY_REQ || cmd == QAP_CMD_SEC_LOGIN ||
           cmd == QAP_CMD_LOGIN || (cmd & (QAP_CMD_RESP | QAP_CMD_OOB));
}

/* The slot has a whole header: check it, and count a request. */
static void slot_header(struct harness *h)
{
    struct qap_hdr hd;

    qap_hdr_parse(h->hdr, &hd);
    if (hd.len > MAX_FRAME)
        abort(); /* the front end passed a frame above its limit */
    if (h->oob_outstanding) {
        if (!(hd.cmd & QAP_CMD_OOB) || (hd.cmd & QAP_CMD_PROXY))
            abort(); /* an OOB answer was due */
        h->oob_outstanding = false;
    } else {
        if (refused_here(hd.cmd))
            abort(); /* a refused command reached the slot */
        h->pending++;
    }
    h->payload_left = hd.len;
}

static void slot_receive(struct harness *h, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (h->payload_left > 0) {
            size_t k = h->payload_left < n ? (size_t)h->payload_left : n;

            h->payload_left -= k;
            p += k;
            n -= k;
            continue;
        }
        h->hdr[h->hdr_got++] = *p++;
        n--;
        if (h->hdr_got == QAP_HDR_SIZE) {
            h->hdr_got = 0;
            slot_header(h);
        }
    }
}

/* The slot answers what it can, as the front end reads its frames. */
static void slot_answer(struct harness *h)
{
    for (int k = 0; k < 8 && h->pending > 0 && !h->oob_outstanding && !h->ended; k++) {
        uint8_t how = steer(h) % 4;
        struct qap_hdr hd = {.cmd = QAP_RESP_OK, .len = 8};

        if (how == 1)
            hd.cmd = QAP_OOB_SEND | QAP_CMD_RESP | 5;
        else if (how == 2)
            hd.cmd = QAP_OOB_MSG | QAP_CMD_RESP | 6;
        if (qapf_server_frame(&h->seq, &hd) != QAPF_PASS)
            abort(); /* a well-paired slot frame was taken for a violation */
        if (how == 2)
            h->oob_outstanding = true;
        else if (how != 1)
            h->pending--;
        if (how == 3)
            break; /* the rest are answered later */
    }
    if (h->owed && h->seq.in_flight == 0)
        h->owed = false; /* the reply goes out; held frames may go on */
}

static void front_send(struct harness *h)
{
    struct qapf_stream *s = &h->up;

    slot_receive(h, s->buf + s->out_off, s->out_end - s->out_off);
    s->out_off = s->out_end;
    qapf_stream_compact(s);
}

/* One decision, as the connection makes it; false when scanning stops. */
static bool front_decide(struct harness *h, const struct qap_hdr *hd)
{
    uint8_t login[LOGIN_MAX];
    int status = 0;

    switch (qapf_client_frame(&h->seq, hd, &status)) {
    case QAPF_PASS:
        qapf_stream_pass(&h->up, hd);
        return true;
    case QAPF_REFUSE:
        qapf_stream_drop(&h->up, hd);
        h->owed = true;
        return true;
    case QAPF_LOGIN:
        if (hd->len > LOGIN_MAX) {
            h->ended = true;
            return false;
        }
        if (h->up.in_end - h->up.out_end < QAP_HDR_SIZE + hd->len)
            return false;
        qapf_stream_take(&h->up, hd, login);
        h->owed = true;
        return true;
    case QAPF_TOO_BIG:
    case QAPF_VIOLATION:
        h->ended = true;
        return false;
    }
    abort();
}

static void front_scan(struct harness *h)
{
    struct qap_hdr hd;

    while (!h->ended && qapf_stream_scan(&h->up, &hd) == QAPF_SCAN_HEADER && !h->owed)
        if (!front_decide(h, &hd))
            break;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct harness h = {.ctl = data, .seq = {.max_frame = MAX_FRAME}};
    size_t off = CTL_SIZE;

    if (size < CTL_SIZE || size > 1 << 16)
        return 0;
    h.up.buf = h.buf;
    h.up.cap = sizeof(h.buf);
    for (int idle = 0; !h.ended && idle < 4;) {
        size_t room = h.up.cap - h.up.in_end, n = 1 + steer(&h) % 97;

        if (n > room)
            n = room;
        if (n > size - off)
            n = size - off;
        memcpy(h.up.buf + h.up.in_end, data + off, n);
        h.up.in_end += n;
        off += n;
        front_scan(&h);
        front_send(&h);
        slot_answer(&h);
        idle = n == 0 ? idle + 1 : 0;
    }
    return 0;
}
