/* Helpers shared by the files of the db layer only; nothing outside src/db
 * includes this. */
#pragma once

#include <sqlite3.h>

#include "base/util.h"
#include "db/db.h"

/* SQL expression for "now" in the one stored timestamp format. */
#define DB_NOW_SQL "strftime('%Y-%m-%dT%H:%M:%SZ','now')"

struct db_migration {
        const char *name;
        const char *sql; /* several statements, run in one transaction */
};

extern const struct db_migration db_migrations[];
extern const int db_migrations_count;

static inline void sqlite3_finalizep(sqlite3_stmt **s)
{
        sqlite3_finalize(*s); /* NULL is a no-op */
}
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* Statements of hot paths, prepared once per connection and kept. */
enum db_cache_slot { DB_STMT_SESSION, DB_CACHE_SLOTS };

/* The calling thread's cached statement for slot (prepared from sql on first
 * use), reset and with bindings cleared; do not finalize it. NULL on error. */
sqlite3_stmt *db_cached_stmt(struct db *db, enum db_cache_slot slot, const char *sql);

/* Prepare one statement, logging the SQLite message on failure. NULL on error. */
sqlite3_stmt *db_prepare(sqlite3 *conn, const char *sql);
/* Run SQL without results (BEGIN, COMMIT...). 0 or -EIO (logged; -EBUSY when locked). */
int db_exec(sqlite3 *conn, const char *sql);
/* malloc'd copy of a text column; NULL for SQL NULL (or out of memory). */
char *db_column_strdup(sqlite3_stmt *s, int col);
/* Step s to its end, turning each row into one element (elem_size bytes) of a
 * growing array with from_row(s, element). On success *list and *len hold the
 * array (NULL/0 when empty); on failure (-ENOMEM, -EIO; `what` names it in
 * the log) the rows read so far are cleared with clear and freed, and *list
 * and *len are NULL/0. */
int db_collect(sqlite3 *conn, sqlite3_stmt *s, size_t elem_size,
               int (*from_row)(sqlite3_stmt *s, void *elem), void (*clear)(void *elem),
               const char *what, void **list, size_t *len);
/* Clear each of the n elements (elem_size bytes) of list with clear, then free
 * list (NULL: nothing). What every *_list_free() of the layer does. */
void db_list_free(void *list, size_t n, size_t elem_size, void (*clear)(void *elem));

/* Map an sqlite3_step() failure to -errno and log it. */
int db_step_error(sqlite3 *conn, int rc, const char *what);
/* Step an UPDATE/DELETE s once: 0 when it changed a row, -ENOENT when it
 * changed none, -EIO on failure (`what` names it in the log). */
int db_step_changed(sqlite3 *conn, sqlite3_stmt *s, const char *what);
/* Step a SELECT s for its one row: 0 with the row current, -ENOENT when there
 * is none, -EIO on failure (`what` names it in the log). */
int db_step_row(sqlite3 *conn, sqlite3_stmt *s, const char *what);
