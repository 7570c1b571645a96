/* Size-limited workspaces: each workspace directory gets a sparse ext4 image
 * of its own, <directory>.img beside it, loop-mounted noexec,nosuid,nodev on
 * the directory. Where the host cannot do that at all (not root, no
 * /dev/loop-control, no mkfs.ext4, mount refused with EPERM or ENODEV) the
 * workspace stays a plain directory; where this one workspace could not get
 * its image (no room, no descriptors) the prepare fails. */
#ifndef OMCP_WSMOUNT_H
#define OMCP_WSMOUNT_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

/* How a prepare ended. */
enum wsmount_outcome {
    WSMOUNT_LIMITED, /* the workspace is its mounted image: size-limited, noexec */
    WSMOUNT_PLAIN,   /* a plain directory: asked for (size 0), or the host cannot mount any */
    WSMOUNT_FAILED,  /* this workspace could not get its image; the directory must not be used */
};

typedef void (*wsmount_done_fn)(void *arg, enum wsmount_outcome outcome);

/* A word for logs: limited, plain or failed. */
const char *wsmount_outcome_name(enum wsmount_outcome outcome);

/* Makes the existing, empty directory path a workspace of size bytes whose
 * root belongs to uid:uid. mkfs runs as a child of the (default) loop, so
 * done usually runs later; it runs before this returns when the outcome is
 * known at once (size 0, a host that cannot mount, an image that cannot be
 * made). On WSMOUNT_FAILED the directory is left as it was, with no image
 * beside it, and the caller releases it. done never runs once
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
