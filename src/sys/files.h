/* File-system work on validated paths of sites and jobs: removing a tree
 * (never following links or crossing mounts) and asking whether a
 * directory is empty. */
#pragma once

#include <stdbool.h>

/* Remove what is inside dir; with self also dir. Failures are logged (a
 * rollback goes on). Callers pass only validated paths (inside
 * nginx.webroot). */
void files_rm_tree(const char *dir, bool self);
/* true when dir is a directory (not a link) with no entries. */
bool files_dir_empty(const char *dir);
