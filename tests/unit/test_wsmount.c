/* Size-limited workspaces on their own, on real loop devices: the mount and
 * its flags, a full workspace as ENOSPC, release (also of a prepare still in
 * flight) leaving no mount, image or loop device, start-up cleanup, a
 * workspace that cannot get its image failing (out of descriptors, no room)
 * rather than becoming a plain directory, the plain-directory fallback of a
 * process that is not root, and what each step costs. Needs root and /dev/loop-control; exits 77
 * (skipped) without them. Usage: test_wsmount DIR (tests/integration/wsmount.sh makes DIR and
 * unmounts whatever a failed run left in it). */
#include "check.h"
#include "pool/slotdir.h"
#include "pool/wsmount.h"
#include "proxy/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#define TEST_UID      4242
#define TEST_SIZE     (16 << 20)
#define EXT4_MAGIC    0xEF53
#define COST_ROUNDS   8
#define COST_SIZE     (500LL << 20)
#define DIRTY_BYTES   (200 << 20)
#define LOOP_WAIT_SEC 5.0

static struct ev_loop *loop;
static char root[400];

struct prep {
    bool done, limited;
    enum wsmount_outcome outcome;
};

static void on_done(void *arg, enum wsmount_outcome outcome)
{
    struct prep *pr = arg;

    pr->done = true;
    pr->outcome = outcome;
    pr->limited = outcome == WSMOUNT_LIMITED;
}

static char *ws_path(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];

    snprintf(b, sizeof(bufs[0]), "%s/%s", root, name);
    return b;
}

/* Prepares root/name as a workspace of size bytes; true when it is mounted. */
static bool prepare(const char *name, int64_t size, double *seconds)
{
    struct prep pr = {0};
    double began = ev_time();

    CHECK(slotdir_make(ws_path(name), TEST_UID, 0700));
    wsmount_prepare(loop, ws_path(name), size, TEST_UID, on_done, &pr);
    while (!pr.done)
        ev_run(loop, EVRUN_ONCE);
    if (seconds)
        *seconds = ev_time() - began;
    return pr.limited;
}

static bool is_mounted(const char *path)
{
    struct stat a, b;
    char parent[600];

    snprintf(parent, sizeof(parent), "%s/..", path);
    return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* The loop device whose backing file is image, or -1. */
static int loop_of(const char *image)
{
    DIR *d = opendir("/sys/block");
    struct dirent *de;
    int found = -1;

    while (d && (de = readdir(d)) != NULL) {
        char path[300], backing[600] = "";
        FILE *f;

        if (strncmp(de->d_name, "loop", 4) != 0)
            continue;
        snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", de->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        if (fgets(backing, sizeof(backing), f) && strncmp(backing, image, strlen(image)) == 0 &&
            (backing[strlen(image)] == '\n' || backing[strlen(image)] == ' '))
            found = atoi(de->d_name + 4);
        fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

/* Autoclear may finish just after the unmount returns. */
static bool loop_gone(const char *image)
{
    for (double t = 0; t < LOOP_WAIT_SEC; t += 0.05) {
        if (loop_of(image) < 0)
            return true;
        usleep(50000);
    }
    return false;
}

static bool gone(const char *name)
{
    char image[600];

    snprintf(image, sizeof(image), "%s.img", ws_path(name));
    return !is_mounted(ws_path(name)) && access(ws_path(name), F_OK) != 0 &&
           access(image, F_OK) != 0 && loop_gone(image);
}

/* Writes until the filesystem refuses; returns the errno that stopped it. */
static int fill(const char *file, long long *written)
{
    static char block[1 << 16];
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = 0;

    *written = 0;
    if (fd < 0)
        return errno;
    for (;;) {
        ssize_t n = write(fd, block, sizeof(block));

        if (n <= 0) {
            err = n < 0 ? errno : ENOSPC;
            break;
        }
        *written += n;
    }
    if (fsync(fd) != 0 && !err)
        err = errno;
    close(fd);
    return err;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
        close(fd);
    }
}

static void test_mount_and_limits(void)
{
    const char *ws = ws_path("omcp-t-1");
    char file[600], image[600];
    struct statfs sf;
    struct statvfs sv;
    struct stat st;
    long long written;

    snprintf(image, sizeof(image), "%s.img", ws);
    CHECK(prepare("omcp-t-1", TEST_SIZE, NULL));
    CHECK(is_mounted(ws));
    CHECK(statfs(ws, &sf) == 0 && sf.f_type == EXT4_MAGIC);
    CHECK(statvfs(ws, &sv) == 0);
    CHECK((sv.f_flag & (ST_NOEXEC | ST_NOSUID | ST_NODEV)) == (ST_NOEXEC | ST_NOSUID | ST_NODEV));
    CHECK(stat(ws, &st) == 0 && st.st_uid == TEST_UID && st.st_gid == TEST_UID);
    CHECK_INT(st.st_mode & 07777, 0700);
    CHECK(access(ws_path("omcp-t-1/lost+found"), F_OK) != 0);
    CHECK(loop_of(image) >= 0);
    CHECK(stat(image, &st) == 0 && st.st_size == TEST_SIZE && st.st_blocks * 512 < (2 << 20));

    snprintf(file, sizeof(file), "%s/x.sh", ws);
    write_file(file, "#!/bin/sh\nexit 0\n", 0755);
    CHECK(access(file, X_OK) != 0 && errno == EACCES);

    snprintf(file, sizeof(file), "%s/big", ws);
    CHECK_INT(fill(file, &written), ENOSPC);
    fprintf(stderr, "  a %d MiB workspace took %.1f MiB before ENOSPC\n", TEST_SIZE >> 20,
            written / 1048576.0);
    CHECK(written > TEST_SIZE / 2 && written <= TEST_SIZE);
    CHECK(stat(image, &st) == 0 && st.st_blocks * 512 <= TEST_SIZE);
    CHECK(unlink(file) == 0);
    CHECK_INT(fill(file, &written), ENOSPC); /* deleting gave the space back */
    CHECK(written > TEST_SIZE / 2);

    CHECK(wsmount_release(ws));
    CHECK(gone("omcp-t-1"));
}

static bool done_called;

static void on_done_flag(void *arg, enum wsmount_outcome outcome)
{
    done_called = true;
}

static void test_release_while_preparing(void)
{
    const char *ws = ws_path("omcp-t-2");
    ev_tstamp until = ev_time() + 1.0;

    CHECK(slotdir_make(ws, TEST_UID, 0700));
    done_called = false;
    wsmount_prepare(loop, ws, TEST_SIZE, TEST_UID, on_done_flag, NULL);
    CHECK(!done_called);
    CHECK(wsmount_release(ws));
    while (ev_time() < until)
        ev_run(loop, EVRUN_NOWAIT);
    CHECK(!done_called);
    CHECK(gone("omcp-t-2"));
}

static bool keep_a_and_c(const char *path, void *arg)
{
    return strcmp(path, ws_path("omcp-t-a")) == 0 || strcmp(path, ws_path("omcp-t-c")) == 0;
}

static bool keep_nothing(const char *path, void *arg)
{
    return false;
}

/* Leftovers of an earlier run go; kept workspaces stay, mounted. */
static void test_cleanup(void)
{
    char marker[600];

    CHECK(prepare("omcp-t-a", TEST_SIZE, NULL));
    CHECK(prepare("omcp-t-b", TEST_SIZE, NULL));
    CHECK(prepare("omcp-t-c", TEST_SIZE, NULL));
    snprintf(marker, sizeof(marker), "%s/marker", ws_path("omcp-t-c"));
    write_file(marker, "kept\n", 0600);
    CHECK(umount2(ws_path("omcp-t-c"), 0) == 0); /* as after a restart of the host */
    write_file(ws_path("omcp-t-d.img"), "", 0600);
    CHECK(mkdir(ws_path("omcp-t-e"), 0700) == 0);
    write_file(ws_path("omcp-t-e/file"), "x", 0600);
    write_file(ws_path("unrelated"), "x", 0600);

    wsmount_cleanup(root, keep_a_and_c, NULL);
    CHECK(is_mounted(ws_path("omcp-t-a")));
    CHECK(gone("omcp-t-b"));
    CHECK(is_mounted(ws_path("omcp-t-c")));
    CHECK(access(marker, R_OK) == 0);
    CHECK(access(ws_path("omcp-t-d.img"), F_OK) != 0);
    CHECK(access(ws_path("omcp-t-e"), F_OK) != 0);
    CHECK(access(ws_path("unrelated"), F_OK) == 0);

    wsmount_cleanup(root, keep_nothing, NULL);
    CHECK(gone("omcp-t-a"));
    CHECK(gone("omcp-t-c"));
    unlink(ws_path("unrelated"));
}

/* A process that is not root gets plain directories, at once. */
static void test_fallback_not_root(void)
{
    int status = -1;
    pid_t pid;

    CHECK(slotdir_make(ws_path("omcp-t-f"), TEST_UID, 0700));
    CHECK(chmod(root, 0711) == 0); /* the child looks at its workspace */
    pid = fork();
    if (pid == 0) {
        struct prep pr = {0};

        if (setgid(TEST_UID) != 0 || setuid(TEST_UID) != 0)
            _exit(3);
        wsmount_prepare(loop, ws_path("omcp-t-f"), TEST_SIZE, TEST_UID, on_done, &pr);
        _exit(pr.done && pr.outcome == WSMOUNT_PLAIN && !is_mounted(ws_path("omcp-t-f")) ? 0 : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(wsmount_release(ws_path("omcp-t-f")));
    CHECK(gone("omcp-t-f"));
}

/* What a failed prepare must leave: the directory, empty and unmounted, and
 * no image beside it. */
static void check_failed(const char *path, const struct prep *pr)
{
    char image[600];

    snprintf(image, sizeof(image), "%s.img", path);
    CHECK(pr->done);
    CHECK_INT(pr->outcome, WSMOUNT_FAILED);
    CHECK(!is_mounted(path));
    CHECK(access(path, F_OK) == 0);
    CHECK(access(image, F_OK) != 0);
}

/* Out of descriptors, the image cannot be made: the prepare fails at once
 * instead of leaving a plain directory, and works again once descriptors
 * are back. */
static void test_failed_out_of_descriptors(void)
{
    const char *ws = ws_path("omcp-t-nofile");
    struct rlimit was, low;
    struct prep pr = {0};
    int lowest;

    CHECK(slotdir_make(ws, TEST_UID, 0700));
    CHECK(getrlimit(RLIMIT_NOFILE, &was) == 0);
    lowest = dup(0); /* every descriptor below it is taken */
    CHECK(lowest >= 0);
    close(lowest);
    low = was;
    low.rlim_cur = (rlim_t)lowest;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    wsmount_prepare(loop, ws, TEST_SIZE, TEST_UID, on_done, &pr);
    CHECK(setrlimit(RLIMIT_NOFILE, &was) == 0);
    check_failed(ws, &pr);
    CHECK(wsmount_release(ws));
    CHECK(gone("omcp-t-nofile"));

    CHECK(prepare("omcp-t-nofile", TEST_SIZE, NULL)); /* the host can still mount */
    CHECK(is_mounted(ws));
    CHECK(wsmount_release(ws));
    CHECK(gone("omcp-t-nofile"));
}

/* A workspace root without room for the image's metadata: mkfs fails, the
 * prepare fails; once there is room the same root gives limited workspaces.
 * A failure of one workspace never makes later ones plain directories. */
static void test_failed_no_room(void)
{
    char tiny[500], ws[600];
    struct prep pr = {0};

    snprintf(tiny, sizeof(tiny), "%s/tiny", root);
    snprintf(ws, sizeof(ws), "%s/omcp-t-room", tiny);
    CHECK(mkdir(tiny, 0700) == 0);
    if (mount("tmpfs", tiny, "tmpfs", MS_NOSUID | MS_NODEV, "size=16k") != 0) {
        fprintf(stderr, "  no tmpfs: skipped (errno %d)\n", errno);
        rmdir(tiny);
        return;
    }
    CHECK(slotdir_make(ws, TEST_UID, 0700));
    wsmount_prepare(loop, ws, TEST_SIZE, TEST_UID, on_done, &pr);
    while (!pr.done)
        ev_run(loop, EVRUN_ONCE);
    check_failed(ws, &pr);

    CHECK(mount("tmpfs", tiny, "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, "size=64m") == 0);
    pr = (struct prep){0};
    wsmount_prepare(loop, ws, TEST_SIZE, TEST_UID, on_done, &pr);
    while (!pr.done)
        ev_run(loop, EVRUN_ONCE);
    CHECK_INT(pr.outcome, WSMOUNT_LIMITED);
    CHECK(is_mounted(ws));
    CHECK(wsmount_release(ws));
    CHECK(access(ws, F_OK) != 0);
    CHECK(umount2(tiny, 0) == 0);
    CHECK(rmdir(tiny) == 0);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
    qsort(v, n, sizeof(*v), compare_doubles);
    fprintf(stderr, "  %-44s p50 %7.1f ms  max %7.1f ms  (n=%d)\n", what, v[n / 2] * 1e3,
            v[n - 1] * 1e3, n);
}

static double timed_release(const char *name)
{
    double began = ev_time();

    CHECK(wsmount_release(ws_path(name)));
    return ev_time() - began;
}

/* What a slot pays: prepare (image, mkfs, attach, mount) before its create
 * request, release after its container is gone. */
static void test_costs(void)
{
    double prep[COST_ROUNDS], rel[COST_ROUNDS], rel_dirty[COST_ROUNDS];
    long long written;
    char file[600];

    for (int i = 0; i < COST_ROUNDS; i++) {
        CHECK(prepare("omcp-t-cost", COST_SIZE, &prep[i]));
        rel[i] = timed_release("omcp-t-cost");
    }
    for (int i = 0; i < COST_ROUNDS; i++) {
        int fd;

        CHECK(prepare("omcp-t-cost", COST_SIZE, NULL));
        snprintf(file, sizeof(file), "%s/dirty", ws_path("omcp-t-cost"));
        fd = open(file, O_WRONLY | O_CREAT, 0600);
        for (written = 0; fd >= 0 && written < DIRTY_BYTES; written += 1 << 20) {
            static char mib[1 << 20];

            if (write(fd, mib, sizeof(mib)) != sizeof(mib))
                break;
        }
        if (fd >= 0)
            close(fd);
        CHECK_INT(written, DIRTY_BYTES);
        rel_dirty[i] = timed_release("omcp-t-cost");
    }
    report("prepare 500 MiB (mkfs, attach, mount)", prep, COST_ROUNDS);
    report("release, empty", rel, COST_ROUNDS);
    report("release, 200 MiB written and not synced", rel_dirty, COST_ROUNDS);
    CHECK(gone("omcp-t-cost"));
}

int main(int argc, char **argv)
{
    if (geteuid() != 0 || access("/dev/loop-control", R_OK | W_OK) != 0) {
        printf("SKIP: needs root and /dev/loop-control\n");
        return 77;
    }
    log_min_level = getenv("OMCP_TEST_VERBOSE") ? L_DEBUG : L_ERROR;
    loop = ev_default_loop(0);
    if (argc != 2 || strlen(argv[1]) >= sizeof(root) - 32) {
        fprintf(stderr, "usage: test_wsmount DIR\n");
        return 2;
    }
    snprintf(root, sizeof(root), "%s/ws", argv[1]);
    if (mkdir(root, 0700) != 0) {
        perror("mkdir");
        return 1;
    }
    RUN(test_mount_and_limits);
    RUN(test_release_while_preparing);
    RUN(test_cleanup);
    RUN(test_failed_out_of_descriptors);
    RUN(test_failed_no_room);
    RUN(test_fallback_not_root);
    if (!getenv("OMCP_TEST_QUICK"))
        RUN(test_costs);
    wsmount_cleanup(root, keep_nothing, NULL); /* whatever a failed check left */
    CHECK(rmdir(root) == 0);
    return check_report();
}
