/* Database handle: per-thread connections and schema migration. */
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "db/db-internal.h"

struct conn {
        struct db *db;
        sqlite3 *sql;
        sqlite3_stmt *cache[DB_CACHE_SLOTS];
        struct conn *prev, *next;
};

#define DB_WAL_HDR_WORDS 6 /* 48 bytes */

struct db {
        char *path;
        pthread_key_t key;
        pthread_mutex_t lock; /* guards conns */
        struct conn *conns;   /* every open connection, so db_close can close them all */

        /* db_generation(): the first copy of the WAL-index header, the 48
         * bytes at the start of "<path>-shm" (sqlite.org/walformat.html §2.1),
         * changes with every commit of any process using the file. It is
         * read through a read-only shared mapping: no system call. */
        const volatile uint64_t *wal_hdr; /* NULL: not mapped */
        int shm_fd; /* -1: none; closed after the connections: see wal_hdr_map() */
        atomic_uint_fast64_t seen[DB_WAL_HDR_WORDS];
        atomic_uint_fast64_t gen;
};

sqlite3_stmt *db_prepare(sqlite3 *conn, const char *sql)
{
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(conn, sql, -1, &s, NULL) != SQLITE_OK) {
                log_error("db: prepare failed: %s", sqlite3_errmsg(conn));
                sqlite3_finalize(s);
                return NULL;
        }
        return s;
}

int db_exec(sqlite3 *conn, const char *sql)
{
        char *err = NULL;
        if (sqlite3_exec(conn, sql, NULL, NULL, &err) != SQLITE_OK) {
                log_error("db: %s", err ? err : sqlite3_errmsg(conn));
                sqlite3_free(err);
                return -EIO;
        }
        return 0;
}

char *db_column_strdup(sqlite3_stmt *s, int col)
{
        const unsigned char *t = sqlite3_column_text(s, col);
        return t ? strdup((const char *)t) : NULL;
}

void db_list_free(void *list, size_t n, size_t elem_size, void (*clear)(void *elem))
{
        if (!list)
                return;
        for (size_t i = 0; i < n; i++)
                clear((char *)list + i * elem_size);
        free(list);
}

int db_collect(sqlite3 *conn, sqlite3_stmt *s, size_t elem_size,
               int (*from_row)(sqlite3_stmt *s, void *elem), void (*clear)(void *elem),
               const char *what, void **list, size_t *len)
{
        char *arr = NULL;
        size_t n = 0, cap = 0;
        int rc, r = 0;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        char *p = reallocarray(arr, ncap, elem_size);
                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        arr = p;
                        cap = ncap;
                }
                if ((r = from_row(s, arr + n * elem_size)) < 0)
                        break;
                n++;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = db_step_error(conn, rc, what);
        if (r < 0 || n == 0) {
                db_list_free(arr, r < 0 ? n : 0, elem_size, clear);
                arr = NULL;
                n = 0;
        }
        *list = arr;
        *len = n;
        return r;
}

int db_step_error(sqlite3 *conn, int rc, const char *what)
{
        log_error("db: %s: %s (%d)", what, sqlite3_errmsg(conn), sqlite3_extended_errcode(conn));
        return -EIO;
}

int db_step_changed(sqlite3 *conn, sqlite3_stmt *s, const char *what)
{
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return db_step_error(conn, rc, what);
        return sqlite3_changes(conn) > 0 ? 0 : -ENOENT;
}

int db_step_row(sqlite3 *conn, sqlite3_stmt *s, const char *what)
{
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return db_step_error(conn, rc, what);
        return 0;
}

/* setec_rfc3339(x): any timestamp layout time_parse() knows, rewritten as RFC
 * 3339 UTC; anything else (NULL, numbers, garbage) is returned unchanged so a
 * migration never loses data. */
static void fn_rfc3339(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
        if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
                sqlite3_result_value(ctx, argv[0]);
                return;
        }
        time_t t;
        struct tm tm;
        if (time_parse((const char *)sqlite3_value_text(argv[0]), &t) < 0 || !gmtime_r(&t, &tm) ||
            tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
                sqlite3_result_value(ctx, argv[0]);
                return;
        }
        /* Formatted by hand rather than strftime so year 1 (Go's zero time)
         * keeps four digits. */
        char buf[64];
        snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static sqlite3 *conn_open(const char *path)
{
        sqlite3 *sql = NULL;
        if (sqlite3_open_v2(path, &sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK) {
                log_error("db: cannot open %s: %s", path,
                          sql ? sqlite3_errmsg(sql) : "out of memory");
                sqlite3_close_v2(sql);
                return NULL;
        }
        sqlite3_extended_result_codes(sql, 1);
        sqlite3_busy_timeout(sql, 5000);
        /* Every thread has a connection of its own: keep each small. The
         * default lookaside (87 KiB, all touched at open) and page cache
         * (up to 2 MiB) would cost ~1 MiB of resident memory per thread;
         * hot paths do not read SQLite (see db_generation()). */
        sqlite3_db_config(sql, SQLITE_DBCONFIG_LOOKASIDE, NULL, 256, 32);
        if (db_exec(sql, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
                         "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-512;") < 0 ||
            sqlite3_create_function(sql, "setec_rfc3339", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                    fn_rfc3339, NULL, NULL) != SQLITE_OK) {
                log_error("db: cannot configure connection to %s: %s", path, sqlite3_errmsg(sql));
                sqlite3_close_v2(sql);
                return NULL;
        }
        return sql;
}

static void conn_close(struct conn *c)
{
        for (int i = 0; i < DB_CACHE_SLOTS; i++)
                sqlite3_finalize(c->cache[i]);
        sqlite3_close_v2(c->sql);
        free(c);
}

sqlite3_stmt *db_cached_stmt(struct db *db, enum db_cache_slot slot, const char *sql)
{
        if (!db_conn(db))
                return NULL;
        struct conn *c = pthread_getspecific(db->key);
        if (!c->cache[slot]) {
                if (sqlite3_prepare_v3(c->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->cache[slot],
                                       NULL) != SQLITE_OK) {
                        log_error("db: prepare failed: %s", sqlite3_errmsg(c->sql));
                        sqlite3_finalize(c->cache[slot]);
                        c->cache[slot] = NULL;
                        return NULL;
                }
        }
        sqlite3_reset(c->cache[slot]);
        sqlite3_clear_bindings(c->cache[slot]);
        return c->cache[slot];
}

/* Thread-exit destructor. db_close() deletes the key before closing what is
 * left, so this never runs on a closed db unless a thread exits during
 * db_close(), which the caller rules out by joining its threads first. */
static void conn_destroy(void *p)
{
        struct conn *c = p;
        struct db *db = c->db;

        pthread_mutex_lock(&db->lock);
        if (c->prev)
                c->prev->next = c->next;
        else
                db->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        pthread_mutex_unlock(&db->lock);
        conn_close(c);
}

/* Map the WAL index once the database is in WAL mode (after migrate()).
 * SQLite never truncates or replaces it while a connection is open: the
 * connection db_open() made in the opening thread must stay open until
 * db_close(), which unmaps it before closing the connections.
 *
 * That holds only while this process keeps SQLite's shared lock on the
 * "DMS" byte of the -shm, which tells other processes a connection is
 * using it. It is a POSIX record lock: closing the descriptor opened here
 * would drop it (and every other lock of the process on the file), and the
 * next process to open the database would take itself for the first one,
 * truncate the -shm under this process's mappings (SIGBUS on the next
 * write) and rebuild it. So the descriptor stays open until db_close(),
 * mapped or not. For the same reason a process keeps one struct db per
 * database file (serve does): another's db_close() would drop the locks of
 * this one's connections. */
static void wal_hdr_map(struct db *db)
{
        _cleanup_strbuf_ struct strbuf shm = STRBUF_INIT(0);
        if (strbuf_printf(&shm, "%s-shm", db->path) < 0)
                return;
        int fd = db->shm_fd = open(shm.data, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                goto off;
        if (st.st_size < (off_t)(DB_WAL_HDR_WORDS * 8)) {
                errno = ENODATA;
                goto off;
        }
        void *m = mmap(NULL, DB_WAL_HDR_WORDS * 8, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
                goto off;
        db->wal_hdr = m;
        for (size_t i = 0; i < DB_WAL_HDR_WORDS; i++)
                atomic_store(&db->seen[i], db->wal_hdr[i]);
        return;
off:
        log_warn("db: cannot map %s (%s); nothing read from the database is kept between "
                 "requests",
                 shm.data, strerror(errno));
}

uint64_t db_generation(struct db *db)
{
        if (!db->wal_hdr)
                return atomic_fetch_add(&db->gen, 1) + 1;
        uint64_t now[DB_WAL_HDR_WORDS];
        bool changed = false;
        for (size_t i = 0; i < DB_WAL_HDR_WORDS; i++) {
                now[i] = db->wal_hdr[i];
                changed |= now[i] != atomic_load(&db->seen[i]);
        }
        /* Count first, remember second: a thread that finds the new header
         * already remembered also finds the new count. A torn read only
         * counts a change too many. */
        if (changed) {
                atomic_fetch_add(&db->gen, 1);
                for (size_t i = 0; i < DB_WAL_HDR_WORDS; i++)
                        atomic_store(&db->seen[i], now[i]);
        }
        return atomic_load(&db->gen);
}

sqlite3 *db_conn(struct db *db)
{
        if (!db)
                return NULL;
        struct conn *c = pthread_getspecific(db->key);
        if (c)
                return c->sql;

        c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->db = db;
        c->sql = conn_open(db->path);
        if (!c->sql) {
                free(c);
                return NULL;
        }
        if (pthread_setspecific(db->key, c) != 0) {
                sqlite3_close_v2(c->sql);
                free(c);
                return NULL;
        }
        pthread_mutex_lock(&db->lock);
        c->next = db->conns;
        if (db->conns)
                db->conns->prev = c;
        db->conns = c;
        pthread_mutex_unlock(&db->lock);
        return c->sql;
}

static int read_user_version(sqlite3 *sql)
{
        _cleanup_stmt_ sqlite3_stmt *s = db_prepare(sql, "PRAGMA user_version");
        if (!s)
                return -EIO;
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return db_step_error(sql, rc, "read user_version");
        return sqlite3_column_int(s, 0);
}

int db_latest_version(void)
{
        return db_migrations_count;
}

int db_schema_version(struct db *db)
{
        sqlite3 *sql = db_conn(db);
        return sql ? read_user_version(sql) : -EIO;
}

/* One migration per transaction; the version is read inside BEGIN IMMEDIATE
 * so two processes opening the same file cannot apply a step twice. */
static int migrate(sqlite3 *sql, const char *path)
{
        for (;;) {
                if (db_exec(sql, "BEGIN IMMEDIATE") < 0)
                        return -EIO;
                int v = read_user_version(sql);
                if (v < 0)
                        goto fail;
                if (v > db_latest_version()) {
                        log_error("db: %s has schema version %d, newer than this build (%d)", path,
                                  v, db_latest_version());
                        db_exec(sql, "ROLLBACK");
                        return -EPROTO;
                }
                if (v == db_latest_version())
                        return db_exec(sql, "COMMIT");

                const struct db_migration *m = &db_migrations[v];
                char pragma[64];
                snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
                if (db_exec(sql, m->sql) < 0 || db_exec(sql, pragma) < 0 ||
                    db_exec(sql, "COMMIT") < 0) {
                        log_error("db: migration %d (%s) of %s failed", v + 1, m->name, path);
                        goto fail;
                }
                log_info("db: %s migrated to schema version %d (%s)", path, v + 1, m->name);
        }
fail:
        if (!sqlite3_get_autocommit(sql))
                db_exec(sql, "ROLLBACK");
        return -EIO;
}

static int mkdir_parents(const char *path)
{
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';

        struct stat st;
        if (stat(dir, &st) == 0)
                return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        int r = mkdir_parents(dir);
        if (r < 0)
                return r;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int prepare_file(const char *path)
{
        int r = mkdir_parents(path);
        if (r < 0) {
                log_error("db: cannot create the directory of %s: %s", path, strerror(-r));
                return r;
        }
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || fchmod(fd, 0600) < 0) {
                r = -errno;
                log_error("db: cannot create %s: %s", path, strerror(-r));
                return r;
        }
        return 0;
}

int db_open(const char *path, struct db **out)
{
        if (!path || !*path || !out)
                return -EINVAL;
        int r = prepare_file(path);
        if (r < 0)
                return r;

        struct db *db = calloc(1, sizeof(*db));
        if (!db)
                return -ENOMEM;
        db->path = strdup(path);
        if (!db->path) {
                free(db);
                return -ENOMEM;
        }
        if ((r = pthread_key_create(&db->key, conn_destroy)) != 0) {
                free(db->path);
                free(db);
                return -r;
        }
        pthread_mutex_init(&db->lock, NULL);
        db->shm_fd = -1;

        sqlite3 *sql = db_conn(db);
        r = sql ? migrate(sql, path) : -EIO;
        if (r < 0) {
                db_close(db);
                return r;
        }
        wal_hdr_map(db);
        *out = db;
        return 0;
}

void db_close(struct db *db)
{
        if (!db)
                return;
        if (db->wal_hdr)
                munmap((void *)db->wal_hdr, DB_WAL_HDR_WORDS * 8);
        pthread_key_delete(db->key);
        pthread_mutex_lock(&db->lock);
        struct conn *c = db->conns;
        while (c) {
                struct conn *next = c->next;
                conn_close(c);
                c = next;
        }
        db->conns = NULL;
        pthread_mutex_unlock(&db->lock);
        if (db->shm_fd >= 0)
                close(db->shm_fd);
        pthread_mutex_destroy(&db->lock);
        free(db->path);
        free(db);
}
