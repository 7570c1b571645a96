/* A non-blocking QAP1 client connection to one Rserve process on a libev
 * loop: connect (unix or TCP), greeting, optional login, then requests
 * answered in order through callbacks, with OOB frames passed to the owner. */
#ifndef OMCP_RCONN_H
#define OMCP_RCONN_H

#include "proxy/buf.h"
#include "rserve/qap.h"
#include "rserve/sexp.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the connection is; only rconn_set_state() changes it. */
enum rconn_state {
    RCONN_NEW,        /* not connected yet */
    RCONN_CONNECTING, /* connect(2) in progress */
    RCONN_GREETING,   /* reading the 32-byte ID string */
    RCONN_LOGIN,      /* login sent, waiting for its answer */
    RCONN_IDLE,       /* ready, no request in flight */
    RCONN_BUSY,       /* one request in flight */
    RCONN_OOB_WAIT,   /* an OOB_MSG waits for the owner's answer */
    RCONN_HANDED_OFF, /* the socket has another reader; kept open, unused */
    RCONN_CLOSED,     /* closed; every request has been answered */
};

enum rconn_outcome {
    RCONN_REPLY_OK,     /* RESP_OK; payload holds the result parameters */
    RCONN_REPLY_ERROR,  /* RESP_ERR; status holds the server's code */
    RCONN_REPLY_FAILED, /* no answer: the connection closed first */
};

struct rconn_reply {
    enum rconn_outcome outcome;
    int status;             /* for RCONN_REPLY_ERROR: see qap_err_name() */
    const uint8_t *payload; /* valid during the callback only */
    size_t len;
    const char *reason; /* for RCONN_REPLY_FAILED */
};

struct rconn;

typedef void (*rconn_reply_cb)(struct rconn *c, void *ctx, const struct rconn_reply *reply);

struct rconn_callbacks {
    /* The greeting (and login, if configured) succeeded. */
    void (*ready)(struct rconn *c);
    /* An OOB frame arrived while a request is in flight, in wire order.
     * For QAP_FRAME_OOB_MSG the owner answers with rconn_oob_answer(),
     * now or later; without this callback OOB_MSG is answered with NULL. */
    void (*oob)(struct rconn *c, uint32_t cmd, const uint8_t *payload, size_t len);
    /* The connection closed; reason says who ended it and why. */
    void (*closed)(struct rconn *c, const char *reason);
};

struct rconn_config {
    uint64_t max_frame;     /* largest payload accepted; longer frames close the connection */
    double connect_timeout; /* seconds from connect to ready; 0: none */
    double request_timeout; /* seconds per request once sent; 0: none */
    const char *user;       /* login when the server asks for it; NULL: none */
    const char *password;
};

#define RCONN_DEFAULT_MAX_FRAME ((uint64_t)256 << 20)

struct rconn_req; /* queued request, private */

struct rconn {
    struct ev_loop *loop;
    ev_io io;       /* the socket; events follow what the state needs */
    ev_timer timer; /* connect or request deadline */
    int fd;
    unsigned id; /* for logs */
    enum rconn_state state;
    struct rconn_config cfg;
    const struct rconn_callbacks *cb;
    void *owner;
    struct qap_id server; /* what the greeting announced */

    uint8_t greeting[QAP_ID_SIZE];
    uint8_t hdr[QAP_HDR_SIZE];
    size_t hdr_got;       /* bytes of greeting or header read so far */
    struct qap_hdr frame; /* header of the frame being read */
    uint8_t *payload;     /* frame.len bytes once the header is in */
    size_t payload_got;

    struct buf out; /* bytes of the frame being written */
    size_t out_off;
    struct rconn_req *queue_head, *queue_tail; /* the head is in flight when BUSY */
};

/* Prepares c; cfg may be NULL for defaults. The owner keeps the struct
 * alive until closed() has run, and never frees it inside one of its
 * callbacks (the connection still runs when a callback returns): it marks
 * it and frees it on a later loop pass. */
void rconn_init(struct rconn *c, struct ev_loop *loop, const struct rconn_config *cfg,
                const struct rconn_callbacks *cb, void *owner);
/* Starts connecting; failures are reported through closed(). */
void rconn_connect_unix(struct rconn *c, const char *path);
/* host is a numeric IPv4 or IPv6 address (no name lookup: it would block). */
void rconn_connect_tcp(struct rconn *c, const char *host, unsigned port);
/* Starts on a socket that is already connected (a socket pair, an accepted
 * connection); c owns fd from now on and makes it non-blocking. */
void rconn_connect_fd(struct rconn *c, int fd);

/* Queues a request: payload is the frame's parameters, copied. The callback
 * runs exactly once, also when the connection closes first. */
void rconn_request(struct rconn *c, uint32_t cmd, const void *payload, size_t len,
                   rconn_reply_cb cb, void *ctx);
/* CMD_eval of R source text; the reply payload is one DT_SEXP. */
void rconn_eval(struct rconn *c, const char *source, rconn_reply_cb cb, void *ctx);
void rconn_void_eval(struct rconn *c, const char *source, rconn_reply_cb cb, void *ctx);
/* CMD_setSEXP: binds name to value in R's global environment. */
void rconn_assign(struct rconn *c, const char *name, const struct sexp *value, rconn_reply_cb cb,
                  void *ctx);
/* Answers the pending OOB_MSG with value (NULL for R's NULL). */
void rconn_oob_answer(struct rconn *c, const struct sexp *value);

/* Inside a reply callback: takes ownership of the payload (free() it),
 * sparing a copy of a large result. */
uint8_t *rconn_take_payload(struct rconn *c);

/* Gives an idle connection's socket to another reader: c stops reading at
 * once, also when called from inside one of its own callbacks, and keeps
 * the socket open until closed. Returns a duplicate descriptor, or -1 with
 * errno EBUSY when a request is queued or in flight and ENOTCONN when c is
 * not ready. Requests made afterwards fail at once. */
int rconn_hand_off(struct rconn *c);

/* Closes the connection, fails queued requests and calls closed(). Safe to
 * call from any callback and more than once. */
void rconn_close(struct rconn *c, const char *reason);

const char *rconn_state_name(enum rconn_state st);

#endif
