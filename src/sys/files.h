/* File-system work on validated paths of sites and jobs: making an app tree
 * for its user, removing a tree (never following links or crossing mounts)
 * and asking whether a directory is empty. In the HTTP process the changing
 * calls go to the root helper (HOP_TREE_PREPARE, HOP_TREE_REMOVE,
 * HOP_TREE_PLACEHOLDER), which
 * takes only paths inside nginx.webroot or autarch.install_dir. */
#pragma once

#include <stdbool.h>

/* Remove what is inside dir; with self also dir. Failures are logged (a
 * rollback goes on). Callers pass only validated paths (inside
 * nginx.webroot). */
void files_rm_tree(const char *dir, bool self);
/* Remove path (a file, or a directory and everything below it) without
 * following links or leaving its file system: a directory on another
 * device stays (-EXDEV). Works on overlayfs, where files report the device
 * of their layer. path must be absolute and not "/". 0 (also when it was
 * absent) or -errno. */
int files_remove(const char *path);
/* mkdir -p path (0755, root's), then, unless user is "" or NULL, chown -R
 * it to user (units_chown_tree). *created (may be NULL) = whether path was
 * made. 0 or -errno. */
int files_tree_prepare(const char *path, const char *user, bool *created);
/* A placeholder index.html (0644) in the empty directory dir of a new
 * static site without a repository, naming domain, so the site answers a
 * page (not 403) until its files arrive. 0; -EINVAL (bad domain or dir),
 * -ENOTEMPTY (dir holds something: nothing is written), -errno. */
int files_placeholder(const char *dir, const char *domain);
/* true when dir is a directory (not a link) with no entries. */
bool files_dir_empty(const char *dir);
