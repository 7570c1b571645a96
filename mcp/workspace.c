/* Host-side file access beneath a workspace directory for the file tools:
 * openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
 * for every open, atomic replacement by rename, XXH3 checksums. */
#include "mcp/workspace.h"

#include "mcp/session.h"
#include "proxy/buf.h"
#include "proxy/mem.h"
#include "proxy/utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xxhash.h>

#define WS_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static void ws_fail(struct mcp_ws_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ws_fail(struct mcp_ws_error *err, const char *code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

/* Names what went wrong with an open of rel, from its errno. */
static void ws_fail_errno(struct mcp_ws_error *err, const char *rel, int e)
{
    switch (e) {
    case ENOENT:
        ws_fail(err, "file_not_found", "/sandbox/%s does not exist", rel);
        break;
    case EXDEV:
    case ELOOP:
        ws_fail(err, "invalid_path", "/sandbox/%s goes through a symbolic link or leaves /sandbox",
                rel);
        break;
    case ENOTDIR:
        ws_fail(err, "not_a_directory", "a part of /sandbox/%s is not a directory", rel);
        break;
    case EISDIR:
        ws_fail(err, "not_a_file", "/sandbox/%s is a directory", rel);
        break;
    case ENAMETOOLONG:
        ws_fail(err, "invalid_path", "/sandbox/%s has a name that is too long", rel);
        break;
    default:
        ws_fail(err, "io_error", "/sandbox/%s: %s", rel, strerror(e));
    }
}

static int ws_open_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (unsigned)flags | O_CLOEXEC, .mode = mode, .resolve = WS_RESOLVE};

    return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

static int ws_open_root(const char *root, struct mcp_ws_error *err)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        ws_fail(err, "io_error", "the session's workspace cannot be opened: %s", strerror(errno));
    return fd;
}

int mcp_ws_open_dir(const char *root, const char *rel, struct mcp_ws_error *err)
{
    int rootfd = ws_open_root(root, err), dfd;

    if (rootfd < 0)
        return -1;
    dfd = ws_open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY, 0);
    if (dfd < 0)
        ws_fail_errno(err, rel, errno);
    close(rootfd);
    return dfd;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory open as dfd, sorted; closes nothing. */
static char **ws_names(int dfd, size_t *n)
{
    int copy = dup(dfd);
    DIR *dir = copy >= 0 ? fdopendir(copy) : NULL;
    char **names = NULL;
    struct dirent *de;

    *n = 0;
    if (!dir) {
        if (copy >= 0)
            close(copy);
        return NULL;
    }
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        names = xrealloc(names, sizeof(*names) * (*n + 1));
        names[(*n)++] = xstrdup(de->d_name);
    }
    closedir(dir);
    if (*n)
        qsort(names, *n, sizeof(*names), compare_names);
    return names;
}

static json_t *ws_entry(int dfd, const char *rel, const char *name)
{
    struct stat st;
    char when[32];
    struct buf path = BUF_INIT;
    json_t *entry;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return NULL;
    buf_printf(&path, "/sandbox/%s%s%s", strcmp(rel, ".") == 0 ? "" : rel,
               strcmp(rel, ".") == 0 ? "" : "/", name);
    mcp_session_format_time((double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9, when);
    entry = json_pack("{s:s,s:s,s:b,s:I,s:s}", "name", name, "path", path.data, "is_dir",
                      S_ISDIR(st.st_mode), "size", (json_int_t)st.st_size, "modified_at", when);
    if (S_ISLNK(st.st_mode))
        json_object_set_new(entry, "is_link", json_true());
    buf_free(&path);
    return entry;
}

json_t *mcp_ws_list(const char *root, const char *rel, struct mcp_ws_error *err)
{
    int rootfd = ws_open_root(root, err), dfd;
    json_t *files = NULL;
    char **names;
    size_t n;

    if (rootfd < 0)
        return NULL;
    dfd = ws_open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY, 0);
    if (dfd < 0) {
        ws_fail_errno(err, rel, errno);
        goto close_root;
    }
    names = ws_names(dfd, &n);
    files = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *entry = ws_entry(dfd, rel, names[i]);

        if (entry)
            json_array_append_new(files, entry);
        free(names[i]);
    }
    free(names);
    close(dfd);

close_root:
    close(rootfd);
    return files;
}

static bool ws_read_all(int fd, unsigned char *out, size_t size, size_t *len)
{
    size_t got = 0;

    while (got < size) {
        ssize_t n = read(fd, out + got, size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    *len = got;
    return true;
}

unsigned char *mcp_ws_read(const char *root, const char *rel, int64_t max_bytes, size_t *len,
                           struct mcp_ws_error *err)
{
    int rootfd = ws_open_root(root, err), fd;
    unsigned char *bytes = NULL;
    struct stat st;

    if (rootfd < 0)
        return NULL;
    fd = ws_open_beneath(rootfd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
    if (fd < 0) {
        ws_fail_errno(err, rel, errno);
        goto close_root;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ws_fail(err, "not_a_file", "/sandbox/%s is not a regular file", rel);
        goto close_file;
    }
    if (st.st_size > max_bytes) {
        ws_fail(err, "file_too_large", "/sandbox/%s has %lld bytes; at most %lld can be read", rel,
                (long long)st.st_size, (long long)max_bytes);
        goto close_file;
    }
    bytes = xmalloc((size_t)st.st_size + 1);
    if (!ws_read_all(fd, bytes, (size_t)st.st_size, len)) {
        ws_fail(err, "io_error", "/sandbox/%s: %s", rel, strerror(errno));
        free(bytes);
        bytes = NULL;
        goto close_file;
    }
    bytes[*len] = '\0';

close_file:
    close(fd);
close_root:
    close(rootfd);
    return bytes;
}

/* Hands what the daemon created to the sandbox account. A daemon that is
 * not root cannot; its files then stay its own, readable by the sandbox. */
static void ws_give(int dfd, const char *name, uid_t uid)
{
    int flags = *name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;

    if (fchownat(dfd, name, uid, uid, flags) != 0 && errno != EPERM)
        errno = 0;
}

/* Opens (creating as needed) each directory of the first dir_len bytes of
 * rel beneath rootfd; returns the innermost one's descriptor or -1. */
static int ws_make_dirs(int rootfd, const char *rel, size_t dir_len, uid_t uid,
                        struct mcp_ws_error *err)
{
    char *dirs = xstrndup(rel, dir_len);
    int dfd = dup(rootfd);

    for (char *comp = strtok(dirs, "/"); comp && dfd >= 0; comp = strtok(NULL, "/")) {
        int next;

        if (mkdirat(dfd, comp, 0755) == 0)
            ws_give(dfd, comp, uid);
        next = ws_open_beneath(dfd, comp, O_RDONLY | O_DIRECTORY, 0);
        if (next < 0)
            ws_fail_errno(err, rel, errno);
        close(dfd);
        dfd = next;
    }
    free(dirs);
    return dfd;
}

bool mcp_ws_mkdir(const char *root, const char *rel, uid_t uid, struct mcp_ws_error *err)
{
    int rootfd = ws_open_root(root, err), dfd;

    if (rootfd < 0)
        return false;
    dfd = ws_make_dirs(rootfd, rel, strlen(rel), uid, err);
    close(rootfd);
    if (dfd < 0)
        return false;
    close(dfd);
    return true;
}

static bool ws_write_all(int fd, const unsigned char *bytes, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, bytes, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes += n;
        len -= (size_t)n;
    }
    return true;
}

/* Writes the bytes to a new temporary file in dfd and renames it to name. */
static bool ws_replace(int dfd, const char *rel, const char *name, const void *bytes, size_t len,
                       uid_t uid, struct mcp_ws_error *err)
{
    char tmp[64];
    unsigned rnd = 0;
    int fd;

    (void)getrandom(&rnd, sizeof(rnd), 0);
    snprintf(tmp, sizeof(tmp), ".omcp-write-%d-%08x.tmp", (int)getpid(), rnd);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        ws_fail(err, "io_error", "/sandbox/%s: cannot create a file: %s", rel, strerror(errno));
        return false;
    }
    ws_give(fd, "", uid);
    if (!ws_write_all(fd, bytes, len) || fdatasync(fd) != 0) {
        ws_fail(err, "io_error", "/sandbox/%s: %s", rel, strerror(errno));
        goto unlink_tmp;
    }
    close(fd);
    fd = -1;
    if (renameat(dfd, tmp, dfd, name) == 0)
        return true;
    ws_fail_errno(err, rel, errno);

unlink_tmp:
    if (fd >= 0)
        close(fd);
    unlinkat(dfd, tmp, 0);
    return false;
}

/* A rename would replace a link or swallow a directory: a link planted by
 * the sandbox is refused as a path that is not ours to follow or remove. */
static bool ws_may_replace(int dfd, const char *rel, const char *name, struct mcp_ws_error *err)
{
    struct stat st;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return true;
    if (S_ISLNK(st.st_mode)) {
        ws_fail(err, "invalid_path", "/sandbox/%s is a symbolic link", rel);
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        ws_fail(err, "not_a_file", "/sandbox/%s is a directory", rel);
        return false;
    }
    return true;
}

bool mcp_ws_write(const char *root, const char *rel, const void *bytes, size_t len, uid_t uid,
                  struct mcp_ws_error *err)
{
    const char *slash = strrchr(rel, '/');
    const char *name = slash ? slash + 1 : rel;
    int rootfd, dfd;
    bool ok = false;

    if (strcmp(rel, ".") == 0 || !*name) {
        ws_fail(err, "invalid_path", "a file name under /sandbox is needed");
        return false;
    }
    rootfd = ws_open_root(root, err);
    if (rootfd < 0)
        return false;
    dfd = ws_make_dirs(rootfd, rel, slash ? (size_t)(slash - rel) : 0, uid, err);
    if (dfd >= 0) {
        ok =
            ws_may_replace(dfd, rel, name, err) && ws_replace(dfd, rel, name, bytes, len, uid, err);
        close(dfd);
    }
    close(rootfd);
    return ok;
}

void mcp_ws_checksum(const void *bytes, size_t len, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)XXH3_64bits(bytes, len));
}

json_t *mcp_ws_text(const unsigned char *bytes, size_t len)
{
    struct buf text = BUF_INIT;
    json_t *value;

    buf_reserve(&text, len + 1);
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(bytes + i, len - i);

        if (n == 0) {
            buf_append(&text, "\xef\xbf\xbd", 3);
            i++;
            continue;
        }
        buf_append(&text, bytes + i, n);
        i += n;
    }
    value = json_stringn(text.data ? text.data : "", text.len);
    buf_free(&text);
    return value;
}
