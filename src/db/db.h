/* SQLite storage. One database file; every thread gets its own connection
 * (WAL, foreign_keys=ON, busy timeout 5 s), opened lazily by db_conn(). */
#pragma once

#include <sqlite3.h>
#include <stdint.h>

struct db;

/* Open (creating the file and its directory, 0700, when missing) and migrate
 * to the latest schema. The file is made 0600. 0 or -errno (-EIO on SQL error,
 * message logged). */
int db_open(const char *path, struct db **out);
void db_close(struct db *db);
/* The calling thread's connection (opened on first use), NULL on failure. */
sqlite3 *db_conn(struct db *db);
/* A number that changes whenever the database may have changed: after every
 * commit of this or any other process (the CLI, the sqlite3 shell). Equal
 * numbers from two calls mean nothing was committed in between, so what was
 * read in between may be kept. Costs no system call. When the database is
 * not in WAL mode it changes on every call. */
uint64_t db_generation(struct db *db);
/* Schema version after migration (PRAGMA user_version). */
int db_schema_version(struct db *db);
/* Latest version this build knows. */
int db_latest_version(void);
