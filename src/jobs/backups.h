/* Backups as jobs of the engine (jobs/engine.h):
 *
 * backup_create (subject "site:<id>" for a site's app_root, "backup:full"
 *   for a full backup): snapshot (full only: a consistent copy of the
 *   database), archive (<backups.dir>/<prefix>-<UTC stamp>[-N].tar.gz via
 *   sys/archive, written under a ".partial" name; undo: removed), record
 *   (the backups row, then retention: max_age_days, max_count).
 * backup_verify (subject "backup:<id>"): re-hash against the manifest.
 * backup_restore (subject "site:<id>", the site it replaces): extract over
 *   the site's app_root.
 *
 * ctx is a struct backup_job; it says how the job ended (the seed's
 * answers are built from it by api/backups.c). */
#pragma once

#include <stdbool.h>

#include "core/config.h"
#include "jobs/engine.h"
#include "sys/archive.h"

struct db;

struct backup_job {
        const struct config *cfg;
        struct db *db;
        bool full;           /* create: a full backup, else the site's */
        long long site_id;   /* create (site), restore: the site */
        long long backup_id; /* verify, restore: the row; create: the new row */
        char *root;          /* create (site), restore: the site's app_root */
        char *prefix;        /* create: the file name's start */
        char *path;          /* the archive */
        char *snapshot;      /* create (full): the database snapshot (removed at the end) */
        long long size;
        struct archive_stats st;
        int keep;   /* create: keep the newest `keep` backups of this site (or full); 0 = none */
        bool valid; /* verify */
        int status; /* a failure's HTTP status (0: none) */
        char *err;  /* a failure's message, as the seed words it */
};

extern const struct job_kind backup_create_kind, backup_verify_kind, backup_restore_kind;

struct backup_job *backup_job_new(const struct config *cfg, struct db *db);
void backup_job_free(void *ctx);

/* A create job for site_id's app_root (files "site-<domain>-..."), or for a
 * full backup when site_id <= 0. 0; -ENOENT no such site; -EPERM its
 * app_root is not inside nginx.webroot; -ENOTDIR it is no directory (not a
 * link either); -ENOMEM. *root (may be NULL) gets the app_root for a
 * message, malloc'd, also on failure. */
int backup_job_prepare(const struct config *cfg, struct db *db, long long site_id,
                       struct backup_job **out, char **root);

/* A scheduled backup (the scheduler's "backup" job type): a create job
 * started as user "scheduler", keeping the newest `keep` backups of the
 * site (0: the config's retention only). 0 started, -EBUSY (a job holds
 * the site), or the errors of backup_job_prepare / job_start. */
int backup_start_scheduled(const struct config *cfg, struct db *db, long long site_id, int keep);

/* Remove an archive the panel made (a regular "*.tar.gz"; anything else is
 * left alone: a hand-edited row must not make the panel delete an arbitrary
 * file). 0 or -errno. */
int backup_remove_archive(const char *path);
