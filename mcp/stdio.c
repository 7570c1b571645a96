/* MCP over stdio: newline-delimited messages in, buffered non-blocking
 * writes out, all on the libev loop. */
#include "mcp/stdio.h"

#include "mcp/jsonrpc.h"
#include "proxy/buf.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STDIO_READ_CHUNK (64 * 1024)
#define STDIO_DRAIN_SECS 30.0 /* after end of input, how long calls in flight may finish */

struct mcp_stdio {
    struct ev_loop *loop;
    int in_fd, out_fd;
    int in_flags, out_flags; /* as found, restored at the end */
    ev_io reader;
    ev_io writer;
    ev_check finisher; /* after end of input: closes once nothing is left to do */
    ev_timer drain;    /* bounds the wait for calls in flight after end of input */
    struct mcp_conn *conn;
    struct buf in;   /* bytes read, not yet a whole line */
    struct buf out;  /* answers not yet written */
    size_t out_sent; /* bytes of out already written */
    size_t max_line;
    size_t high_water; /* stop reading while this much output waits */
    bool skipping;     /* inside an oversized line: drop bytes up to the next newline */
    bool eof;
    bool closed;
    char owner[48];
    mcp_stdio_closed_fn on_closed;
    void *arg;
};

static void stdio_close(struct mcp_stdio *io, const char *reason)
{
    if (io->closed)
        return;
    io->closed = true;
    ev_io_stop(io->loop, &io->reader);
    ev_io_stop(io->loop, &io->writer);
    ev_check_stop(io->loop, &io->finisher);
    ev_timer_stop(io->loop, &io->drain);
    log_info("front_end=stdio msg=\"client gone\" reason=%s", log_quote(reason));
    io->on_closed(io, reason, io->arg);
}

static void update_reader(struct mcp_stdio *io)
{
    bool want = !io->eof && !io->closed && io->out.len - io->out_sent < io->high_water;

    if (want && !ev_is_active(&io->reader))
        ev_io_start(io->loop, &io->reader);
    else if (!want && ev_is_active(&io->reader))
        ev_io_stop(io->loop, &io->reader);
}

/* Writes what it can; keeps the writer watcher on while output remains. */
static void flush_out(struct mcp_stdio *io)
{
    while (io->out_sent < io->out.len) {
        ssize_t n = write(io->out_fd, io->out.data + io->out_sent, io->out.len - io->out_sent);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            stdio_close(io, errno == EPIPE ? "output closed" : strerror(errno));
            return;
        }
        io->out_sent += (size_t)n;
    }
    if (io->out_sent == io->out.len) {
        buf_reset(&io->out);
        io->out_sent = 0;
        ev_io_stop(io->loop, &io->writer);
    } else if (!ev_is_active(&io->writer)) {
        ev_io_start(io->loop, &io->writer);
    }
    update_reader(io);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    flush_out((struct mcp_stdio *)((char *)w - offsetof(struct mcp_stdio, writer)));
}

/* The conversation's way out: one message per line. */
static void send_line(const char *bytes, size_t len, void *arg)
{
    struct mcp_stdio *io = arg;

    if (io->closed)
        return;
    buf_append(&io->out, bytes, len);
    buf_putc(&io->out, '\n');
    flush_out(io);
}

static void refuse_oversized(struct mcp_stdio *io)
{
    char message[128];

    snprintf(message, sizeof(message),
             "Invalid Request: message exceeds the limit of %zu bytes; skipped", io->max_line);
    mcp_conn_refuse(io->conn, JSONRPC_INVALID_REQUEST, message);
}

static bool blank_line(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            return false;
    return true;
}

static void handle_line(struct mcp_stdio *io, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (blank_line(line, len))
        return;
    mcp_conn_receive(io->conn, line, len);
}

/* Hands every whole line in the input buffer to the conversation, then
 * keeps only the unfinished tail, dropping it if it already passed the limit. */
static void handle_input(struct mcp_stdio *io)
{
    size_t start = 0;
    char *nl;

    while (!io->closed && (nl = memchr(io->in.data + start, '\n', io->in.len - start))) {
        size_t len = (size_t)(nl - (io->in.data + start));

        if (io->skipping)
            io->skipping = false; /* the oversized line ends here; answered already */
        else if (len > io->max_line)
            refuse_oversized(io);
        else
            handle_line(io, io->in.data + start, len);
        start += len + 1;
    }

    memmove(io->in.data, io->in.data + start, io->in.len - start);
    io->in.len -= start;
    if (io->in.len > io->max_line || (io->skipping && io->in.len > 0)) {
        if (!io->skipping)
            refuse_oversized(io);
        io->skipping = true;
        io->in.len = 0;
    }
    if (io->in.data)
        io->in.data[io->in.len] = '\0';
}

static void on_drain_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct mcp_stdio *io = (struct mcp_stdio *)((char *)w - offsetof(struct mcp_stdio, drain));

    stdio_close(io, "end of input; calls in flight abandoned");
}

/* After end of input: leave once every call is answered and written. */
static void on_check(struct ev_loop *loop, ev_check *w, int revents)
{
    struct mcp_stdio *io = (struct mcp_stdio *)((char *)w - offsetof(struct mcp_stdio, finisher));

    if (mcp_conn_in_flight(io->conn) == 0 && io->out.len == io->out_sent)
        stdio_close(io, "end of input");
}

static void input_ended(struct mcp_stdio *io, const char *why)
{
    /* A last message without its newline still counts. */
    if (io->in.len > 0 && !io->skipping)
        handle_line(io, io->in.data, io->in.len);
    io->in.len = 0;
    io->eof = true;
    log_debug("front_end=stdio msg=\"input ended\" why=%s in_flight=%zu", log_quote(why),
              mcp_conn_in_flight(io->conn));
    update_reader(io);
    if (io->closed)
        return;
    ev_check_start(io->loop, &io->finisher);
    ev_timer_start(io->loop, &io->drain);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct mcp_stdio *io = (struct mcp_stdio *)((char *)w - offsetof(struct mcp_stdio, reader));
    ssize_t n;

    buf_reserve(&io->in, STDIO_READ_CHUNK);
    n = read(io->in_fd, io->in.data + io->in.len, STDIO_READ_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        input_ended(io, n == 0 ? "eof" : strerror(errno));
        return;
    }
    io->in.len += (size_t)n;
    io->in.data[io->in.len] = '\0';
    handle_input(io);
}

static int set_nonblocking(int fd, int *old_flags)
{
    *old_flags = fcntl(fd, F_GETFL);
    if (*old_flags < 0)
        return -1;
    return fcntl(fd, F_SETFL, *old_flags | O_NONBLOCK);
}

struct mcp_stdio *mcp_stdio_start(struct ev_loop *loop, int in_fd, int out_fd,
                                  const struct mcp_conn_config *cfg, mcp_stdio_closed_fn closed,
                                  void *arg)
{
    struct mcp_stdio *io = xcalloc(1, sizeof(*io));
    struct mcp_conn_config conn_cfg = *cfg;

    if (set_nonblocking(in_fd, &io->in_flags) < 0)
        goto fail;
    if (set_nonblocking(out_fd, &io->out_flags) < 0) {
        fcntl(in_fd, F_SETFL, io->in_flags);
        goto fail;
    }
    io->loop = loop;
    io->in_fd = in_fd;
    io->out_fd = out_fd;
    io->max_line = cfg->limits->max_message_bytes;
    io->high_water = io->max_line > 4 << 20 ? io->max_line : 4 << 20;
    io->on_closed = closed;
    io->arg = arg;

    if (!conn_cfg.owner) {
        snprintf(io->owner, sizeof(io->owner), "stdio");
        conn_cfg.owner = io->owner;
    }
    conn_cfg.send = send_line;
    conn_cfg.send_arg = io;
    io->conn = mcp_conn_new(&conn_cfg);

    ev_io_init(&io->reader, on_readable, in_fd, EV_READ);
    ev_io_init(&io->writer, on_writable, out_fd, EV_WRITE);
    ev_check_init(&io->finisher, on_check);
    ev_timer_init(&io->drain, on_drain_timeout, STDIO_DRAIN_SECS, 0);
    ev_io_start(loop, &io->reader);
    log_info("front_end=stdio msg=\"serving one MCP client on stdin/stdout\" owner=%s "
             "max_message_bytes=%zu",
             log_quote(conn_cfg.owner), io->max_line);
    return io;

fail:
    free(io);
    return NULL;
}

void mcp_stdio_free(struct mcp_stdio *io)
{
    if (!io)
        return;
    ev_io_stop(io->loop, &io->reader);
    ev_io_stop(io->loop, &io->writer);
    ev_check_stop(io->loop, &io->finisher);
    ev_timer_stop(io->loop, &io->drain);
    mcp_conn_free(io->conn, io->closed ? "transport closed" : "daemon stopping");
    fcntl(io->in_fd, F_SETFL, io->in_flags);
    fcntl(io->out_fd, F_SETFL, io->out_flags);
    buf_free(&io->in);
    buf_free(&io->out);
    free(io);
}
