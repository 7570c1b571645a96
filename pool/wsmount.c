/* Size-limited workspaces: a sparse image per workspace, formatted by
 * mkfs.ext4 in a child the loop watches, then attached to a loop device
 * (autoclear: it frees itself at unmount) and mounted noexec,nosuid,nodev in
 * a few syscalls. A full workspace is ENOSPC inside the sandbox; the host's
 * disk holds at most the image's size per workspace. */
#include "pool/wsmount.h"

#include "pool/slotdir.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* Default ext4 options, cache flushes included: a workspace outlives its
 * container and a crash of the daemon, so an fsync inside the sandbox must
 * reach the disk under the image. */
#define WSMOUNT_OPTIONS      NULL
#define WSMOUNT_FLAGS        (MS_NOEXEC | MS_NOSUID | MS_NODEV)
#define WSMOUNT_LOOP_TRIES   8 /* LOOP_CTL_GET_FREE races with other users of loop devices */
#define WSMOUNT_UMOUNT_TRIES 8 /* mounts stacked on one directory */
#define WSMOUNT_ERR_MAX      240

/* One mkfs in flight. */
struct wsmount_job {
    struct wsmount_job *prev, *next;
    struct ev_loop *loop;
    ev_child child;
    char *path;
    char *image;
    int err_fd; /* read end of mkfs's stderr, read once it has exited */
    wsmount_done_fn done;
    void *arg;
    double began;
};

static struct wsmount_job *jobs;
static const char *unusable; /* why no workspace can be mounted here, once known */

static const char *const mkfs_paths[] = {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", NULL};

/* ---- plain directories ---- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* No workspace can be mounted on this host: the workspace at path stays a
 * plain directory. The reason is remembered and warned about once. */
static void fall_back(const char *path, const char *why, int err)
{
    static bool warned;

    if (!unusable)
        unusable = why;
    if (warned) {
        log_debug("workspace=%s msg=\"plain directory\" reason=%s", base_name(path),
                  log_quote(why));
        return;
    }
    warned = true;
    log_warn("workspace=%s msg=\"workspace is a plain directory: not size-limited and not "
             "noexec\" reason=%s errno=%d",
             base_name(path), log_quote(why), err);
}

/* This workspace could not get its image (no room, no descriptors, mkfs
 * failed): a plain directory in its place would be weaker than promised,
 * so the prepare fails and the caller does not use it. */
static void give_up(const char *path, const char *why, int err)
{
    log_warn("workspace=%s msg=\"workspace could not be size-limited; not used\" reason=%s "
             "errno=%d error=%s",
             base_name(path), log_quote(why), err, log_quote(err ? strerror(err) : "none"));
}

/* A mount that failed for a reason every mount here would share. */
static bool lasting_mount_error(int err)
{
    return err == EPERM || err == ENODEV || err == ENOENT;
}

const char *wsmount_outcome_name(enum wsmount_outcome outcome)
{
    switch (outcome) {
    case WSMOUNT_LIMITED:
        return "limited";
    case WSMOUNT_PLAIN:
        return "plain";
    case WSMOUNT_FAILED:
        return "failed";
    }
    return "?";
}

static const char *mkfs_path(void)
{
    for (const char *const *p = mkfs_paths; *p; p++) {
        if (access(*p, X_OK) == 0)
            return *p;
    }
    return NULL;
}

/* Why no workspace can be mounted at all, or NULL. */
static const char *why_unusable(struct ev_loop *loop, int *err)
{
    *err = 0;
    if (unusable)
        return unusable;
    if (geteuid() != 0)
        return "not root";
    if (access("/dev/loop-control", R_OK | W_OK) != 0) {
        *err = errno;
        return "no /dev/loop-control";
    }
    if (!ev_is_default_loop(loop))
        return "mkfs is watched with a child watcher, which needs the default loop";
    if (!mkfs_path())
        return "mkfs.ext4 not found";
    return NULL;
}

/* dockerd sees the mounts of the host's mount namespace; a namespace of the
 * daemon's own (a service's PrivateMounts, say) hides them from it. */
static void warn_if_own_namespace(void)
{
    static bool checked;
    char self[64] = "", init[64] = "";

    if (checked)
        return;
    checked = true;
    if (readlink("/proc/self/ns/mnt", self, sizeof(self) - 1) > 0 &&
        readlink("/proc/1/ns/mnt", init, sizeof(init) - 1) > 0 && strcmp(self, init) != 0)
        log_warn("msg=\"the daemon has a mount namespace of its own: the container engine may "
                 "not see workspace mounts\"");
}

static void warn_if_disk_short(const char *path, int64_t size)
{
    struct statvfs sv;

    if (statvfs(path, &sv) == 0 && (double)sv.f_bavail * sv.f_frsize < (double)size)
        log_warn("workspace=%s msg=\"less free disk than WORKSPACE_SIZE: the image may fill the "
                 "disk\" free_bytes=%.0f size=%lld",
                 base_name(path), (double)sv.f_bavail * sv.f_frsize, (long long)size);
}

/* ---- attach and mount ---- */

static char *image_path(const char *path)
{
    size_t n = strlen(path);
    char *image = xmalloc(n + 5);

    memcpy(image, path, n);
    memcpy(image + n, ".img", 5);
    return image;
}

/* Binds the open image file to a free loop device that detaches itself
 * once its last user (the mount) is gone. Returns the device, open. */
static int loop_attach(int file, const char *image, char *dev, size_t dev_len)
{
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    int fd = -1;

    if (ctl < 0)
        return -1;
    for (int i = 0; i < WSMOUNT_LOOP_TRIES; i++) {
        struct loop_config lc = {.fd = (unsigned)file, .info = {.lo_flags = LO_FLAGS_AUTOCLEAR}};
        int n = ioctl(ctl, LOOP_CTL_GET_FREE);

        if (n < 0)
            break;
        snprintf(dev, dev_len, "/dev/loop%d", n);
        snprintf((char *)lc.info.lo_file_name, LO_NAME_SIZE, "%s", image);
        if ((fd = open(dev, O_RDWR | O_CLOEXEC)) < 0)
            break;
        if (ioctl(fd, LOOP_CONFIGURE, &lc) == 0)
            break;
        close(fd);
        fd = -1;
        if (errno != EBUSY) /* EBUSY: another process took it first */
            break;
    }
    int saved = errno;
    close(ctl);
    errno = saved;
    return fd;
}

/* Mounts image at path; the device detaches itself when the mount goes,
 * or at once when the mount fails. */
static bool mount_image(const char *image, const char *path, const char **why)
{
    char dev[32];
    int file, fd, saved;
    bool ok;

    file = open(image, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (file < 0) {
        *why = "cannot open the image";
        return false;
    }
    fd = loop_attach(file, image, dev, sizeof(dev));
    saved = errno;
    close(file);
    if (fd < 0) {
        errno = saved;
        *why = "no loop device could be attached";
        return false;
    }
    ok = mount(dev, path, "ext4", WSMOUNT_FLAGS, WSMOUNT_OPTIONS) == 0;
    saved = errno;
    close(fd);
    errno = saved;
    if (!ok)
        *why = "mount refused";
    return ok;
}

/* The fresh filesystem's root becomes the workspace as slot directories
 * are: mode 0700, nothing in it. */
static void root_tidy(const char *path)
{
    char *lost = xmalloc(strlen(path) + 12);

    sprintf(lost, "%s/lost+found", path);
    rmdir(lost);
    free(lost);
    chmod(path, 0700);
}

/* ---- mkfs in a child ---- */

static void job_unlink(struct wsmount_job *job)
{
    if (job->prev)
        job->prev->next = job->next;
    else
        jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    job->prev = job->next = NULL;
}

static void job_free(struct wsmount_job *job)
{
    if (job->err_fd >= 0)
        close(job->err_fd);
    free(job->path);
    free(job->image);
    free(job);
}

/* Frees the job, then tells its owner: done may release the workspace. */
static void job_finish(struct wsmount_job *job, enum wsmount_outcome outcome)
{
    wsmount_done_fn done = job->done;
    void *arg = job->arg;

    job_free(job);
    done(arg, outcome);
}

static void read_stderr(int fd, char *out, size_t len)
{
    ssize_t n = read(fd, out, len - 1);

    out[n > 0 ? n : 0] = '\0';
    for (char *c = out; *c; c++) {
        if (*c == '\n')
            *c = ' ';
    }
}

static void on_mkfs_exit(struct ev_loop *loop, ev_child *w, int revents)
{
    struct wsmount_job *job = w->data;
    double mkfs_ms = (ev_time() - job->began) * 1e3, mount_began;
    char err[WSMOUNT_ERR_MAX];
    const char *why = NULL;

    ev_child_stop(loop, w);
    job_unlink(job);
    if (!WIFEXITED(w->rstatus) || WEXITSTATUS(w->rstatus) != 0) {
        read_stderr(job->err_fd, err, sizeof(err));
        log_warn("workspace=%s msg=\"mkfs.ext4 failed\" status=%d stderr=%s", base_name(job->path),
                 w->rstatus, log_quote(err));
        unlink(job->image);
        give_up(job->path, "mkfs.ext4 failed", 0);
        job_finish(job, WSMOUNT_FAILED);
        return;
    }
    mount_began = ev_time();
    if (!mount_image(job->image, job->path, &why)) {
        int saved = errno;

        unlink(job->image);
        if (lasting_mount_error(saved)) {
            fall_back(job->path, why, saved);
            job_finish(job, WSMOUNT_PLAIN);
        } else {
            give_up(job->path, why, saved);
            job_finish(job, WSMOUNT_FAILED);
        }
        return;
    }
    root_tidy(job->path);
    log_info("workspace=%s msg=\"workspace mounted\" mkfs_ms=%.1f mount_ms=%.1f",
             base_name(job->path), mkfs_ms, (ev_time() - mount_began) * 1e3);
    job_finish(job, WSMOUNT_LIMITED);
}

/* Starts mkfs.ext4 on the image; its stderr goes to a pipe read at exit
 * (a few lines at most, far below the pipe's capacity). */
static bool mkfs_spawn(struct wsmount_job *job, unsigned uid, pid_t *pid)
{
    static char *const env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
    char ext[160];
    char *argv[] = {"mkfs.ext4", "-q", "-F", "-T", "default",  "-O", "^has_journal",
                    "-m",        "0",  "-E", ext,  job->image, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    int pipefd[2], rc;

    snprintf(ext, sizeof(ext),
             "root_owner=%u:%u,lazy_itable_init=1,nodiscard,assume_storage_prezeroed=1", uid, uid);
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0)
        return false;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    rc = posix_spawn(pid, mkfs_path(), &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(pipefd[1]);
    job->err_fd = pipefd[0];
    errno = rc;
    return rc == 0;
}

static bool image_create(const char *image, int64_t size)
{
    int fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    bool ok;

    if (fd < 0)
        return false;
    ok = ftruncate(fd, size) == 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return ok;
}

void wsmount_prepare(struct ev_loop *loop, const char *path, int64_t size, unsigned uid,
                     wsmount_done_fn done, void *arg)
{
    struct wsmount_job *job;
    const char *why;
    pid_t pid;
    int err;

    if (size <= 0) { /* asked for: no message beyond debug */
        log_debug("workspace=%s msg=\"plain directory\" reason=\"no size\"", base_name(path));
        done(arg, WSMOUNT_PLAIN);
        return;
    }
    if ((why = why_unusable(loop, &err)) != NULL) {
        fall_back(path, why, err);
        done(arg, WSMOUNT_PLAIN);
        return;
    }
    warn_if_own_namespace();
    warn_if_disk_short(path, size);
    job = xcalloc(1, sizeof(*job));
    job->loop = loop;
    job->path = xstrdup(path);
    job->image = image_path(path);
    job->err_fd = -1;
    job->done = done;
    job->arg = arg;
    job->began = ev_time();
    if (!image_create(job->image, size) || !mkfs_spawn(job, uid, &pid)) {
        err = errno;
        unlink(job->image);
        give_up(path, "cannot create the image or start mkfs.ext4", err);
        job_finish(job, WSMOUNT_FAILED);
        return;
    }
    ev_child_init(&job->child, on_mkfs_exit, pid, 0);
    job->child.data = job;
    ev_child_start(loop, &job->child);
    job->next = jobs;
    if (jobs)
        jobs->prev = job;
    jobs = job;
}

/* ---- release ---- */

/* A mkfs still running for path is killed; its owner is not told. */
static void job_cancel(const char *path)
{
    for (struct wsmount_job *job = jobs; job; job = job->next) {
        if (strcmp(job->path, path) != 0)
            continue;
        /* Pending means libev has reaped it already: its pid may be reused. */
        if (!ev_is_pending(&job->child))
            kill(job->child.pid, SIGKILL);
        ev_child_stop(job->loop, &job->child);
        job_unlink(job);
        log_info("workspace=%s msg=\"mkfs cancelled\"", base_name(path));
        job_free(job);
        return;
    }
}

/* Unmounts every mount stacked on path, counting them; a busy one is
 * detached lazily. */
static bool unmount_all(const char *path, int *unmounted)
{
    for (int i = 0; i < WSMOUNT_UMOUNT_TRIES; i++) {
        if (umount2(path, UMOUNT_NOFOLLOW) == 0) {
            (*unmounted)++;
            continue;
        }
        if (errno == EBUSY && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
            log_warn("workspace=%s msg=\"workspace busy; unmounted lazily\"", base_name(path));
            (*unmounted)++;
            continue;
        }
        /* EINVAL: not a mount point (any more); EPERM: not root, so never mounted. */
        return errno == EINVAL || errno == ENOENT || errno == EPERM;
    }
    return false;
}

bool wsmount_release(const char *path)
{
    char *image = image_path(path);
    double began = ev_time();
    int unmounted = 0, err;
    bool ok;

    job_cancel(path);
    /* Deleting the files first drops their dirty pages: unmount then has
     * only metadata left to write into an image that is deleted anyway. */
    slotdir_empty(path);
    ok = unmount_all(path, &unmounted);
    ok = slotdir_remove(path) && ok;
    if (unlink(image) != 0 && errno != ENOENT)
        ok = false;
    err = errno;
    if (unmounted)
        log_info("workspace=%s msg=\"workspace unmounted and deleted\" ms=%.1f", base_name(path),
                 (ev_time() - began) * 1e3);
    free(image);
    errno = err;
    return ok;
}

/* ---- start-up ---- */

static bool is_mount_root(const char *root, const char *path)
{
    struct stat above, at;

    return stat(root, &above) == 0 && lstat(path, &at) == 0 && above.st_dev != at.st_dev;
}

/* A kept workspace whose image is there but not mounted: the host
 * restarted under it. Its files are in the image. */
static void remount_kept(const char *root, const char *path)
{
    char *image = image_path(path);
    const char *why = NULL;
    struct stat st;

    if (lstat(image, &st) == 0 && S_ISREG(st.st_mode) && !is_mount_root(root, path)) {
        if (mount_image(image, path, &why))
            log_info("workspace=%s msg=\"kept workspace mounted again\"", base_name(path));
        else
            log_warn("workspace=%s msg=\"cannot mount a kept workspace again\" reason=%s "
                     "errno=%d",
                     base_name(path), log_quote(why), errno);
    }
    free(image);
}

/* The workspace an entry of root belongs to: itself, or the directory an
 * image is named after. */
static char *entry_workspace(const char *root, const char *name)
{
    size_t n = strlen(name);
    char *path = xmalloc(strlen(root) + n + 2);

    sprintf(path, "%s/%s", root, name);
    if (n > 4 && strcmp(name + n - 4, ".img") == 0)
        path[strlen(path) - 4] = '\0';
    return path;
}

void wsmount_cleanup(const char *root, bool (*keep)(const char *path, void *arg), void *arg)
{
    DIR *d = opendir(root);
    struct dirent *de;
    struct stat st;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "omcp-", 5) != 0 ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* not a workspace, or released with its pair already */
        char *path = entry_workspace(root, de->d_name);

        if (keep(path, arg)) {
            if (S_ISREG(st.st_mode))
                remount_kept(root, path);
        } else {
            log_info("workspace=%s msg=\"removing leftover workspace\"", base_name(path));
            if (!wsmount_release(path))
                log_warn("workspace=%s msg=\"cannot remove a leftover workspace\" errno=%d",
                         base_name(path), errno);
        }
        free(path);
    }
    closedir(d);
}
