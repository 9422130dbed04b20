/* Backup archives: tar.gz (pax restricted) written with libarchive, with a
 * MANIFEST.sha256 member (sha256sum format) as the last entry so it can be
 * computed while the files stream through; verification re-reads every
 * member; extraction refuses any entry that would land outside its target. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

#define ARCHIVE_MANIFEST_NAME "MANIFEST.sha256"

struct archive_src {
        const char *path; /* file or directory on disk (a symlink here is followed) */
        const char *name; /* its name inside the archive: relative, no "..", no trailing '/' */
};

struct archive_stats {
        uint64_t files;   /* regular files (the manifest's lines) */
        uint64_t entries; /* every member but the manifest */
        uint64_t bytes;   /* file content bytes */
};

/* Write srcs into a new archive dest. The data goes to "<dest>.partial"
 * (0600, O_EXCL), is fsync'd and renamed to dest without replacing anything,
 * so a complete archive is the only thing that ever appears under dest.
 * Paths listed in exclude (NULL-terminated, absolute) are skipped with
 * everything below them. Symlinks are stored as symlinks, special files are
 * skipped, owner/mode/mtime are kept. -EEXIST when dest or its partial
 * exists; other -errno with a message in err. st may be NULL. */
int archive_create(const char *dest, const struct archive_src *srcs, size_t nsrcs,
                   const char *const *exclude, struct archive_stats *st, char *err, size_t errlen);

/* A backup into dest (a new "*.tar.gz" directly in backups.dir): full =
 * nginx.webroot, the nginx config dir (dirname of nginx.sites_available),
 * the data dir (without the live database and its -wal/-shm/-journal) and
 * the database snapshot file `snapshot` under database.path's name; else
 * the one site tree `root` (inside nginx.webroot) under its base name.
 * backups.dir is never archived. The archive is given to server.user ("" =
 * left as it is). In the HTTP process this is one call to the root helper
 * (HOP_BACKUP_CREATE), which checks every path against its own config.
 * Returns what archive_create returns. */
int archive_backup_create(const struct config *cfg, const char *dest, bool full, const char *root,
                          const char *snapshot, struct archive_stats *st, char *err, size_t errlen);

/* Re-read the archive, hash every regular file and compare with the
 * manifest (same files, same order, same sums). 0 when everything matches,
 * -EBADMSG (corrupt stream, missing manifest, mismatch) or -errno with a
 * message in err. st may be NULL. */
int archive_verify(const char *path, struct archive_stats *st, char *err, size_t errlen);

/* Extract into the existing directory dest. Every member must sit below one
 * common top-level name, which is stripped (the archive of a site "www/..."
 * extracts into dest/...). Absolute names, ".." components, hard links
 * leaving dest and writes through symlinks are refused and stop the
 * extraction (-EPERM); the manifest is checked while extracting (-EBADMSG).
 * On failure dest may hold a partial tree: the caller removes it. */
int archive_extract_safe(const char *path, const char *dest, struct archive_stats *st, char *err,
                         size_t errlen);

/* Replace directory target with the archive's content: extract into
 * "<target>.restore-XXXXXX" beside it, then swap the two atomically
 * (renameat2 RENAME_EXCHANGE; two renames with roll-back where the file
 * system lacks it) and remove the old tree. On any failure target is left
 * as it was. -ENOTDIR when target exists and is not a directory. In the
 * HTTP process this is one call to the root helper (HOP_BACKUP_RESTORE:
 * path inside backups.dir, target inside nginx.webroot). */
int archive_restore_dir(const char *path, const char *target, struct archive_stats *st, char *err,
                        size_t errlen);
