/* The QAP1 front end's view of the byte streams between a client and its
 * slot: where frames begin and end in a bounded buffer, and what happens to
 * each (passed, refused, answered by the proxy). Pure: no I/O, no clock. */
#ifndef OMCP_QAPF_FRAME_H
#define OMCP_QAPF_FRAME_H

#include "rserve/qap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the front end does with one frame. */
enum qapf_action {
    QAPF_PASS,      /* forward it unchanged */
    QAPF_REFUSE,    /* drop it; the client is answered with an error status */
    QAPF_LOGIN,     /* the proxy answers it itself (it owns authentication) */
    QAPF_TOO_BIG,   /* above the frame limit: answered with an error, then closed */
    QAPF_VIOLATION, /* a frame that cannot come at this point: the connection closes */
};

/* The status of every refused command: Rserve's "the server does not allow
 * this command" (ERR_accessDenied). */
#define QAPF_REFUSED_STATUS QAP_ERR_ACCESS_DENIED

/* The pairing of requests and responses, shared by both directions. */
struct qapf_seq {
    uint64_t max_frame;
    uint32_t in_flight; /* requests passed to the slot, not answered yet */
    bool oob_pending;   /* the slot sent OOB_MSG: the client's next frame answers it */
};

/* Decides on a frame the client sent; sets *status for QAPF_REFUSE and
 * QAPF_TOO_BIG. A passed request counts as in flight. */
enum qapf_action qapf_client_frame(struct qapf_seq *q, const struct qap_hdr *h, int *status);
/* Decides on a frame the slot sent: QAPF_PASS or QAPF_VIOLATION. A
 * response ends the request at the head. */
enum qapf_action qapf_server_frame(struct qapf_seq *q, const struct qap_hdr *h);

/* One direction's bytes in a bounded buffer:
 *   [0, out_off)       sent
 *   [out_off, out_end) scanned and cleared to send
 *   [out_end, in_end)  read, not scanned yet
 *   [in_end, cap)      room to read into */
struct qapf_stream {
    uint8_t *buf;
    size_t cap;
    size_t out_off, out_end, in_end;
    size_t frame_off; /* where the header of the last passed frame starts */
    uint64_t left;    /* payload bytes of the current frame not scanned yet */
    bool drop;        /* the current frame's payload is cut out, not sent */
};

enum qapf_scan {
    QAPF_SCAN_HEADER,  /* a whole header at out_end waits for a decision */
    QAPF_SCAN_PAYLOAD, /* inside a payload; every byte read is scanned */
    QAPF_SCAN_MORE,    /* part of a header; read more */
};

/* Scans what was read: payload bytes of the current frame are cleared to
 * send or cut out; stops at the next header, parsed into *hdr, which stays
 * in place until qapf_stream_pass() or qapf_stream_drop(). */
enum qapf_scan qapf_stream_scan(struct qapf_stream *s, struct qap_hdr *hdr);
/* The header at out_end is sent, and its payload after it. */
void qapf_stream_pass(struct qapf_stream *s, const struct qap_hdr *hdr);
/* The header at out_end and its payload are cut out. */
void qapf_stream_drop(struct qapf_stream *s, const struct qap_hdr *hdr);
/* The header at out_end and its whole payload, which is read already, are
 * taken out; the payload is copied to dst (room for hdr->len bytes). */
void qapf_stream_take(struct qapf_stream *s, const struct qap_hdr *hdr, uint8_t *dst);
/* Inserts bytes at out_end, cleared to send, before anything not scanned
 * yet; false when there is no room now. */
bool qapf_stream_insert(struct qapf_stream *s, const void *bytes, size_t len);
/* After bytes were sent: moves what is left to the front once all cleared
 * bytes are out, so the buffer has room again. */
void qapf_stream_compact(struct qapf_stream *s);

/* A 16-byte error response with the given status, no payload. */
void qapf_error_frame(uint8_t out[QAP_HDR_SIZE], int status);

#endif
