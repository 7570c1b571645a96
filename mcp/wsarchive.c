/* Tar export and import of a workspace with libarchive, on the host side. */
#include "mcp/wsarchive.h"

#include "mcp/path.h"
#include "proxy/buf.h"
#include "proxy/mem.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WSA_MAX_DEPTH 64 /* directories deeper than this are not exported */
#define WSA_CHUNK     (64 * 1024)

static void wsa_fail(struct mcp_ws_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void wsa_fail(struct mcp_ws_error *err, const char *code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

/* ---- export ---- */

struct wsa_export {
    struct archive *a;
    struct mcp_ws_archive_stats *st;
    struct mcp_ws_error *err;
    bool failed;
};

static void wsa_header(struct wsa_export *x, const char *name, const struct stat *st)
{
    struct archive_entry *e = archive_entry_new();

    archive_entry_set_pathname(e, name);
    archive_entry_set_mode(e, st->st_mode & (S_IFMT | 0777));
    archive_entry_set_size(e, S_ISREG(st->st_mode) ? st->st_size : 0);
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    if (archive_write_header(x->a, e) != ARCHIVE_OK)
        x->failed = true;
    archive_entry_free(e);
}

/* Copies the open regular file fd; its size was st_size when the header
 * was written, and the archive gets exactly that many bytes. */
static void wsa_copy(struct wsa_export *x, int fd, off_t size)
{
    char chunk[WSA_CHUNK];
    off_t left = size;

    while (left > 0 && !x->failed) {
        size_t want = left < (off_t)sizeof(chunk) ? (size_t)left : sizeof(chunk);
        ssize_t n = read(fd, chunk, want);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* the file shrank meanwhile: pad to the size announced */
            memset(chunk, 0, want);
            n = (ssize_t)want;
        }
        if (archive_write_data(x->a, chunk, (size_t)n) != n)
            x->failed = true;
        left -= n;
    }
    x->st->bytes += (uint64_t)size;
}

static void wsa_walk(struct wsa_export *x, int dfd, const char *prefix, int depth);

static void wsa_member(struct wsa_export *x, int dfd, const char *prefix, const char *name,
                       int depth)
{
    struct buf path = BUF_INIT;
    struct stat st;
    int fd;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) ||
        (S_ISDIR(st.st_mode) && depth >= WSA_MAX_DEPTH)) {
        x->st->skipped++;
        return;
    }
    buf_printf(&path, "%s%s", prefix, name);
    fd = openat(dfd, name,
                (S_ISDIR(st.st_mode) ? O_DIRECTORY : O_NONBLOCK) | O_RDONLY | O_NOFOLLOW |
                    O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        x->st->skipped++; /* replaced by a link or removed meanwhile */
    } else if (S_ISDIR(st.st_mode)) {
        wsa_header(x, path.data, &st);
        buf_putc(&path, '/');
        wsa_walk(x, fd, path.data, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
        wsa_header(x, path.data, &st);
        wsa_copy(x, fd, st.st_size);
        x->st->files++;
    }
    if (fd >= 0)
        close(fd);
    buf_free(&path);
}

static void wsa_walk(struct wsa_export *x, int dfd, const char *prefix, int depth)
{
    int copy = dup(dfd);
    DIR *dir = copy >= 0 ? fdopendir(copy) : NULL;
    struct dirent *de;

    if (!dir) {
        if (copy >= 0)
            close(copy);
        x->failed = true;
        return;
    }
    while (!x->failed && (de = readdir(dir)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            wsa_member(x, dirfd(dir), prefix, de->d_name, depth);
    closedir(dir);
}

unsigned char *mcp_ws_export(const char *root, const char *rel, int64_t max_bytes,
                             struct mcp_ws_archive_stats *st, struct mcp_ws_error *err)
{
    struct wsa_export x = {archive_write_new(), st, err, false};
    unsigned char *out = xmalloc((size_t)max_bytes + 1);
    int dfd = mcp_ws_open_dir(root, rel, err);

    memset(st, 0, sizeof(*st));
    if (dfd < 0)
        goto fail;
    archive_write_set_format_pax_restricted(x.a);
    archive_write_set_bytes_in_last_block(x.a, 1);
    if (archive_write_open_memory(x.a, out, (size_t)max_bytes, &st->archive_len) != ARCHIVE_OK)
        x.failed = true;
    if (!x.failed)
        wsa_walk(&x, dfd, "", 0);
    close(dfd);
    if (x.failed || archive_write_close(x.a) != ARCHIVE_OK) {
        wsa_fail(err, "file_too_large",
                 "the workspace does not fit in an archive of %lld bytes (MAX_FILE_READ_BYTES); "
                 "export a subdirectory instead",
                 (long long)max_bytes);
        goto fail;
    }
    archive_write_free(x.a);
    return out;

fail:
    archive_write_free(x.a);
    free(out);
    return NULL;
}

/* ---- import ---- */

static struct archive *wsa_reader(const void *tar, size_t len)
{
    struct archive *a = archive_read_new();

    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    if (archive_read_open_memory(a, tar, len) != ARCHIVE_OK) {
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* The member's name as a path under rel, checked like any file-tool path. */
static bool wsa_target(struct archive_entry *e, const char *rel, char *out, size_t size)
{
    const char *name = archive_entry_pathname(e);
    struct buf joined = BUF_INIT;
    bool ok;

    if (!name || !*name || name[0] == '/') {
        buf_free(&joined);
        return false;
    }
    buf_printf(&joined, "%s/%s", rel, name);
    ok = mcp_path_resolve(joined.data, joined.len, out, size) && strcmp(out, ".") != 0;
    buf_free(&joined);
    return ok;
}

/* Reads the member's data, at most max bytes (more fails); memory grows
 * with what arrives, not with what the header claims. */
static unsigned char *wsa_data(struct archive *a, int64_t max, size_t *len)
{
    struct buf data = BUF_INIT;
    char chunk[WSA_CHUNK];
    la_ssize_t n;

    while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
        if ((int64_t)(data.len + (size_t)n) > max) {
            n = -1;
            break;
        }
        buf_append(&data, chunk, (size_t)n);
    }
    if (n < 0) {
        buf_free(&data);
        return NULL;
    }
    return (unsigned char *)buf_steal(&data, len);
}

/* Checks every member (dry) or writes them. */
static bool wsa_pass(const char *root, const char *rel, const void *tar, size_t len,
                     int64_t max_file, int64_t max_total, uid_t uid, bool write,
                     struct mcp_ws_archive_stats *st, struct mcp_ws_error *err)
{
    struct archive *a = wsa_reader(tar, len);
    struct archive_entry *e;
    char target[MCP_PATH_MAX];
    int r;
    bool ok = true;

    if (!a) {
        wsa_fail(err, "invalid_archive", "the archive is not a tar archive");
        return false;
    }
    memset(st, 0, sizeof(*st));
    while (ok && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        mode_t type = archive_entry_filetype(e);
        unsigned char *data;
        size_t n = 0;

        if (!wsa_target(e, rel, target, sizeof(target))) {
            wsa_fail(err, "invalid_path", "member %s would land outside /sandbox",
                     archive_entry_pathname(e) ? archive_entry_pathname(e) : "(no name)");
            ok = false;
        } else if (archive_entry_hardlink(e) || (type != AE_IFREG && type != AE_IFDIR)) {
            wsa_fail(err, "invalid_archive",
                     "member %s is a link or a special file; only files and directories are "
                     "accepted",
                     archive_entry_pathname(e));
            ok = false;
        } else if (type == AE_IFREG) {
            data = wsa_data(a, max_file, &n);
            st->bytes += n;
            if (!data || (int64_t)st->bytes > max_total) {
                wsa_fail(err, "file_too_large",
                         "member %s passes the size limit (%lld bytes a file, %lld in all) or "
                         "cannot be read",
                         archive_entry_pathname(e), (long long)max_file, (long long)max_total);
                ok = false;
            } else if (write && !mcp_ws_write(root, target, data, n, uid, err)) {
                ok = false;
            }
            st->files++;
            free(data);
        } else if (write) {
            ok = mcp_ws_mkdir(root, target, uid, err); /* empty directories too */
        }
    }
    if (ok && r != ARCHIVE_EOF) {
        wsa_fail(err, "invalid_archive", "the archive is damaged: %s", archive_error_string(a));
        ok = false;
    }
    st->archive_len = len;
    archive_read_free(a);
    return ok;
}

bool mcp_ws_import(const char *root, const char *rel, const void *tar, size_t len, int64_t max_file,
                   int64_t max_total, uid_t uid, struct mcp_ws_archive_stats *st,
                   struct mcp_ws_error *err)
{
    if (!wsa_pass(root, rel, tar, len, max_file, max_total, uid, false, st, err))
        return false;
    if (strcmp(rel, ".") != 0 && !mcp_ws_mkdir(root, rel, uid, err))
        return false;
    return wsa_pass(root, rel, tar, len, max_file, max_total, uid, true, st, err);
}
