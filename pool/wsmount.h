/* Size-limited workspaces: each workspace directory gets a sparse ext4 image
 * of its own, <directory>.img beside it, loop-mounted noexec,nosuid,nodev on
 * the directory. Where loop devices cannot be used (not root, no
 * /dev/loop-control, mount refused) the workspace stays a plain directory. */
#ifndef OMCP_WSMOUNT_H
#define OMCP_WSMOUNT_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

/* limited: the workspace is the mounted image; false: a plain directory. */
typedef void (*wsmount_done_fn)(void *arg, bool limited);

/* Makes the existing, empty directory path a workspace of size bytes whose
 * root belongs to uid:uid. mkfs runs as a child of the (default) loop, so
 * done usually runs later; it runs before this returns when the workspace
 * stays a plain directory (size 0 asks for that). done never runs once
 * wsmount_release(path) was called. */
void wsmount_prepare(struct ev_loop *loop, const char *path, int64_t size, unsigned uid,
                     wsmount_done_fn done, void *arg);

/* Unmounts path (lazily when it is busy), removes it with everything
 * beneath it and deletes its image; a prepare in flight for it is
 * cancelled. Synchronous. false when something could not be removed. */
bool wsmount_release(const char *path);

/* At start: every omcp-* workspace or image in root that keep() does not
 * claim is released; a kept workspace whose image is not mounted (the host
 * restarted) is mounted again. */
void wsmount_cleanup(const char *root, bool (*keep)(const char *path, void *arg), void *arg);

#endif
