/* Slot directories: creation with an owner, and removal that opens every
 * level with O_NOFOLLOW relative to its parent, so a link swapped in by a
 * sandbox is removed as a link and never followed. */
#include "pool/slotdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Empties the directory open as dfd; closes dfd. */
static bool empty_at(int dfd, int depth)
{
    DIR *dir = fdopendir(dfd);
    struct dirent *de;
    bool ok = true;

    if (!dir) {
        close(dfd);
        return false;
    }
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(dir), de->d_name, 0) == 0 || errno == ENOENT)
            continue;
        if (errno != EISDIR && errno != EPERM) {
            ok = false;
            continue;
        }
        int sub = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 || depth >= SLOTDIR_MAX_DEPTH || !empty_at(sub, depth + 1)) {
            if (sub >= 0 && depth >= SLOTDIR_MAX_DEPTH)
                close(sub);
            ok = false;
            continue;
        }
        if (unlinkat(dirfd(dir), de->d_name, AT_REMOVEDIR) != 0 && errno != ENOENT)
            ok = false;
    }
    closedir(dir);
    return ok;
}

bool slotdir_empty(const char *path)
{
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (dfd < 0)
        return false;
    return empty_at(dfd, 0);
}

bool slotdir_remove(const char *path)
{
    if (!slotdir_empty(path))
        return errno == ENOENT;
    return rmdir(path) == 0 || errno == ENOENT;
}

bool slotdir_make(const char *path, uid_t uid, mode_t mode)
{
    if (mkdir(path, mode) != 0) {
        if (errno != EEXIST || !slotdir_empty(path))
            return false;
    }
    if (chown(path, uid, uid) != 0 && geteuid() == 0)
        return false;
    return chmod(path, mode) == 0;
}

bool slotdir_make_parents(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return false;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    return mkdir(buf, 0755) == 0 || errno == EEXIST;
}
