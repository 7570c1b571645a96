/* The host directories of a slot: its socket directory and its workspace.
 * Removal never follows a link, so what a sandbox planted cannot point it
 * at host files. */
#ifndef OMCP_SLOTDIR_H
#define OMCP_SLOTDIR_H

#include <stdbool.h>
#include <sys/types.h>

/* Removal opens one directory per level and stops this deep: the most
 * descriptors one removal holds at once. */
#define SLOTDIR_MAX_DEPTH 256

/* Creates path (its parent must exist) owned by uid:uid with mode. An
 * existing directory is emptied first. false with errno on failure. */
bool slotdir_make(const char *path, uid_t uid, mode_t mode);
/* Removes everything beneath path, keeping path itself. */
bool slotdir_empty(const char *path);
/* Removes path and everything beneath it; a missing path is success. */
bool slotdir_remove(const char *path);
/* Creates path and its missing parents, mode 0755, owned by the caller. */
bool slotdir_make_parents(const char *path);

#endif
