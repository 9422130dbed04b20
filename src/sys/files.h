/* File-system work on validated paths of sites and jobs: removing a tree
 * (never following links or crossing mounts) and asking whether a
 * directory is empty. */
#pragma once

#include <stdbool.h>

/* Remove what is inside dir; with self also dir. Failures are logged (a
 * rollback goes on). Callers pass only validated paths (inside
 * nginx.webroot). */
void files_rm_tree(const char *dir, bool self);
/* Remove path (a file, or a directory and everything below it) without
 * following links or entering another file system (a directory on another
 * device stays: -EXDEV); works on overlayfs, where files report the device
 * of their layer. path must be absolute and not "/". 0 (also when it was
 * absent) or -errno. */
int files_remove(const char *path);
/* true when dir is a directory (not a link) with no entries. */
bool files_dir_empty(const char *dir);
