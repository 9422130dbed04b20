/* File-system helpers (libc only). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with mode for created directories. 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);
/* Write data to a temp file beside path, fchmod mode, fsync, rename over
 * path, fsync the directory. Nothing is left behind on failure. 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* write() all of buf, retrying on EINTR and short writes. 0 or -errno. */
int write_all(int fd, const void *buf, size_t n);
/* fsync the directory holding path (so a rename or create in it is durable). */
int fsync_parent_dir(const char *path);
/* Read a whole file of at most max bytes (NUL-terminated copy in *out).
 * -EFBIG when larger. 0 or -errno. */
int read_file(const char *path, size_t max, char **out, size_t *len);
/* dirname() into a malloc'd string ("." for a bare name). NULL on ENOMEM. */
char *path_dirname(const char *path);
