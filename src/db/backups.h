/* The backups table (reference schema, unchanged) and a consistent copy of
 * the live database for full backups. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct db;

struct backup_rec {
        long long id;
        long long site_id; /* 0 when NULL (full backups) */
        char *type;        /* "site" or "full" */
        char *path;
        long long size;
        char *created_at; /* RFC 3339 UTC */
        char *domain;     /* the site's domain now; NULL for full backups and deleted sites */
};

void backup_rec_clear(struct backup_rec *b);
void backups_list_free(struct backup_rec *list, size_t n);

/* Insert a row (site_id <= 0: NULL) stamped now. The new id or -errno. */
long long backups_insert(struct db *db, long long site_id, const char *type, const char *path,
                         long long size);
/* 0, -ENOENT or -errno. */
int backups_get(struct db *db, long long id, struct backup_rec *out);
/* Newest first (created_at, then id). */
int backups_list(struct db *db, struct backup_rec **out, size_t *n);
/* 0 or -ENOENT. */
int backups_delete(struct db *db, long long id);

/* The site's domain and app_root (malloc'd). 0, -ENOENT or -errno. */
int backups_site_lookup(struct db *db, long long site_id, char **domain, char **app_root);

/* Copy the whole database into a new file dest (mode 0600) with SQLite's
 * online backup API: a consistent snapshot even while others write.
 * 0 or -errno (dest removed on failure). */
int db_snapshot(struct db *db, const char *dest);
