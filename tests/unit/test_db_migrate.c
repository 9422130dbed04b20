/* Schema creation and migration, including opening a setec.db written by the
 * Go reference. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/util.h"
#include "in_child.h"
#include "db/db.h"
#include "db/users.h"

static const char *const tables[] = {
    "sites",          "system_users",   "manager_users", "deployments", "cron_jobs",
    "firewall_rules", "float_sessions", "backups",       "audit_log",   "revoked_tokens",
};

struct tmp {
        char dir[64];
        char sub[128];
        char path[192];
};

static void tmp_init(struct tmp *t)
{
        snprintf(t->dir, sizeof(t->dir), "/tmp/setec-db-test-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        snprintf(t->sub, sizeof(t->sub), "%s/data", t->dir);
        snprintf(t->path, sizeof(t->path), "%s/setec.db", t->sub);
}

static void tmp_cleanup(struct tmp *t)
{
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                char p[256];
                snprintf(p, sizeof(p), "%s%s", t->path, suffixes[i]);
                unlink(p);
        }
        rmdir(t->sub);
        rmdir(t->dir);
}

/* Text of the first column of the first row, malloc'd; NULL for SQL NULL. */
static char *query_text(sqlite3 *c, const char *sql)
{
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        const unsigned char *t = sqlite3_column_text(s, 0);
        char *r = t ? strdup((const char *)t) : NULL;
        sqlite3_finalize(s);
        return r;
}

static long long query_int(sqlite3 *c, const char *sql)
{
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        long long v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return v;
}

static void assert_query_text(sqlite3 *c, const char *sql, const char *expected)
{
        char *v = query_text(c, sql);
        if (!expected)
                assert_null(v);
        else
                assert_string_equal(v, expected);
        free(v);
}

static char *read_file(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        long n = ftell(f);
        assert_true(n >= 0);
        rewind(f);
        char *buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        buf[n] = '\0';
        fclose(f);
        *len = (size_t)n;
        return buf;
}

static void test_fresh_database(void **state)
{
        struct tmp t;
        tmp_init(&t);
        struct db *db = NULL;
        assert_int_equal(db_open(t.path, &db), 0);
        assert_non_null(db);

        assert_true(db_latest_version() >= 2);
        assert_int_equal(db_schema_version(db), db_latest_version());

        sqlite3 *c = db_conn(db);
        assert_non_null(c);
        for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
                sqlite3_stmt *s = NULL;
                assert_int_equal(sqlite3_prepare_v2(c,
                                                    "SELECT COUNT(*) FROM sqlite_master"
                                                    " WHERE type = 'table' AND name = ?",
                                                    -1, &s, NULL),
                                 SQLITE_OK);
                sqlite3_bind_text(s, 1, tables[i], -1, SQLITE_STATIC);
                assert_int_equal(sqlite3_step(s), SQLITE_ROW);
                if (sqlite3_column_int(s, 0) != 1)
                        fail_msg("table %s missing", tables[i]);
                sqlite3_finalize(s);
        }
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                                      " AND name IN ('idx_deployments_site_id',"
                                      " 'idx_backups_site_id', 'idx_audit_log_created_at')"),
                         3);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM pragma_table_info('manager_users')"
                                      " WHERE name = 'pw_changed' AND type = 'INTEGER'"),
                         1);
        assert_query_text(c, "PRAGMA journal_mode", "wal");
        assert_int_equal(query_int(c, "PRAGMA foreign_keys"), 1);
        assert_int_equal(query_int(c, "PRAGMA synchronous"), 1); /* NORMAL */
        assert_int_equal(query_int(c, "PRAGMA busy_timeout"), 5000);

        struct stat st;
        assert_int_equal(stat(t.path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(t.sub, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700);

        db_close(db);
        tmp_cleanup(&t);
}

static void test_existing_file_mode_tightened(void **state)
{
        struct tmp t;
        tmp_init(&t);
        assert_int_equal(mkdir(t.sub, 0755), 0);
        int fd = open(t.path, O_CREAT | O_WRONLY, 0644);
        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, 0644), 0);
        close(fd);

        struct db *db = NULL;
        assert_int_equal(db_open(t.path, &db), 0);
        struct stat st;
        assert_int_equal(stat(t.path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        /* An existing directory is the admin's choice and is left alone. */
        assert_int_equal(stat(t.sub, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0755);
        db_close(db);
        tmp_cleanup(&t);
}

static void build_reference_db(const char *path)
{
        size_t len;
        char *sql = read_file(FIXTURES "/reference-schema.sql", &len);
        sqlite3 *c = NULL;
        assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
        char *err = NULL;
        if (sqlite3_exec(c, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("fixture: %s", err);
        assert_int_equal(query_int(c, "PRAGMA user_version"), 0);
        sqlite3_close(c);
        free(sql);
}

static const char reference_hash[] = "$2b$10$e.trRJC3sjaAgNE77UC6e.Mro42YCFdZg/xgU8kgoZUoWGFYneLFC";

static void test_migrate_from_reference(void **state)
{
        struct tmp t;
        tmp_init(&t);
        assert_int_equal(mkdir(t.sub, 0700), 0);
        build_reference_db(t.path);

        struct db *db = NULL;
        assert_int_equal(db_open(t.path, &db), 0);
        assert_int_equal(db_schema_version(db), db_latest_version());
        sqlite3 *c = db_conn(db);

        /* Every row survived. */
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM manager_users"), 1);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM sites"), 1);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM deployments"), 1);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM cron_jobs"), 1);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM float_sessions"), 1);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM backups"), 1);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM audit_log"), 1);
        assert_int_equal(sites_count(db), 1);

        /* The user through the users API: hash byte-identical, times RFC 3339 UTC. */
        struct panel_user u;
        assert_int_equal(users_get_by_name(db, "admin", &u), 0);
        assert_int_equal(u.id, 1);
        assert_string_equal(u.password_hash, reference_hash);
        assert_string_equal(u.role, "admin");
        assert_false(u.force_change);
        assert_string_equal(u.last_login, "2026-03-11T21:30:00Z");
        assert_string_equal(u.created_at, "2026-03-01T09:15:42Z");
        assert_int_equal(u.pw_changed, 0);
        panel_user_clear(&u);

        assert_query_text(c, "SELECT created_at FROM sites", "2026-03-01T09:20:00Z");
        assert_query_text(c, "SELECT updated_at FROM sites", "2026-03-02T10:00:06Z");
        assert_query_text(c, "SELECT ssl_cert_path FROM sites",
                          "/etc/letsencrypt/live/example.com/fullchain.pem");
        assert_int_equal(query_int(c, "SELECT app_port FROM sites"), 8000);
        assert_query_text(c, "SELECT started_at FROM deployments", "2026-03-02T10:00:00Z");
        assert_query_text(c, "SELECT finished_at FROM deployments", "2026-03-02T10:00:05Z");
        assert_query_text(c, "SELECT output FROM deployments", "Already up to date.\n");
        assert_query_text(c, "SELECT last_run FROM cron_jobs", NULL);
        assert_query_text(c, "SELECT next_run FROM cron_jobs", "2026-03-12T02:00:00Z");
        assert_query_text(c, "SELECT connected_at FROM float_sessions", "2026-03-11T12:00:00Z");
        assert_query_text(c, "SELECT last_ping FROM float_sessions", "2026-03-11T12:01:00Z");
        assert_query_text(c, "SELECT expires_at FROM float_sessions", "2026-03-12T12:00:00Z");
        assert_query_text(c, "SELECT created_at FROM backups", "2026-03-02T10:00:10Z");
        assert_query_text(c, "SELECT created_at FROM audit_log", "2026-03-01T09:20:00Z");
        assert_query_text(c, "SELECT detail FROM audit_log", "example.com");
        assert_query_text(c, "PRAGMA journal_mode", "wal");

        /* New rows go on after the migrated ones. */
        assert_int_equal(users_create(db, "second", "$y$x", "viewer"), 2);
        assert_int_equal(users_create(db, "admin", "$y$x", "viewer"), -EEXIST);
        db_close(db);

        struct stat st;
        assert_int_equal(stat(t.path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);

        /* Re-opening changes nothing: closing checkpointed the WAL into the
         * main file, so identical bytes mean no write happened. */
        size_t len1, len2;
        char *before = read_file(t.path, &len1);
        assert_int_equal(db_open(t.path, &db), 0);
        assert_int_equal(db_schema_version(db), db_latest_version());
        c = db_conn(db);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM manager_users"), 2);
        assert_query_text(c, "SELECT last_login FROM manager_users WHERE id = 1",
                          "2026-03-11T21:30:00Z");
        db_close(db);
        char *after = read_file(t.path, &len2);
        assert_int_equal(len1, len2);
        assert_memory_equal(before, after, len1);
        free(before);
        free(after);
        tmp_cleanup(&t);
}

/* A migration that fails leaves the database exactly at the previous version. */
static void test_failed_migration_rolls_back(void **state)
{
        struct tmp t;
        tmp_init(&t);
        assert_int_equal(mkdir(t.sub, 0700), 0);
        build_reference_db(t.path);
        sqlite3 *c = NULL;
        assert_int_equal(sqlite3_open(t.path, &c), SQLITE_OK);
        /* Makes migration 2's ALTER TABLE fail half way. */
        assert_int_equal(sqlite3_exec(c,
                                      "ALTER TABLE manager_users ADD COLUMN pw_changed INTEGER;"
                                      "PRAGMA user_version = 1;",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(c);

        struct db *db = NULL;
        assert_int_equal(db_open(t.path, &db), -EIO);
        assert_null(db);

        assert_int_equal(sqlite3_open(t.path, &c), SQLITE_OK);
        assert_int_equal(query_int(c, "PRAGMA user_version"), 1);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM sqlite_master"
                                      " WHERE name = 'revoked_tokens'"),
                         0);
        assert_query_text(c, "SELECT last_login FROM manager_users",
                          "2026-03-11 14:30:00.123456789 -0700 MST");
        sqlite3_close(c);
        tmp_cleanup(&t);
}

static void test_newer_schema_refused(void **state)
{
        struct tmp t;
        tmp_init(&t);
        struct db *db = NULL;
        assert_int_equal(db_open(t.path, &db), 0);
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", db_latest_version() + 1);
        assert_int_equal(sqlite3_exec(db_conn(db), pragma, NULL, NULL, NULL), SQLITE_OK);
        db_close(db);

        db = NULL;
        assert_int_equal(db_open(t.path, &db), -EPROTO);
        assert_null(db);
        tmp_cleanup(&t);
}

static void test_timestamp_function(void **state)
{
        struct tmp t;
        tmp_init(&t);
        struct db *db = NULL;
        assert_int_equal(db_open(t.path, &db), 0);
        sqlite3 *c = db_conn(db);
        assert_query_text(c, "SELECT setec_rfc3339('2026-03-11 14:30:00')", "2026-03-11T14:30:00Z");
        assert_query_text(c, "SELECT setec_rfc3339('2026-03-11T14:30:00Z')",
                          "2026-03-11T14:30:00Z");
        assert_query_text(c, "SELECT setec_rfc3339('2026-01-01 01:00:00.5 +0530 IST')",
                          "2025-12-31T19:30:00Z");
        assert_query_text(c, "SELECT setec_rfc3339('0001-01-01 00:00:00 +0000 UTC')",
                          "0001-01-01T00:00:00Z");
        /* What cannot be parsed is kept, never lost. */
        assert_query_text(c, "SELECT setec_rfc3339('not a time')", "not a time");
        assert_query_text(c, "SELECT setec_rfc3339(NULL)", NULL);
        assert_int_equal(query_int(c, "SELECT setec_rfc3339(42)"), 42);
        db_close(db);
        tmp_cleanup(&t);
}

static void test_bad_path(void **state)
{
        struct db *db = NULL;
        assert_int_equal(db_open("", &db), -EINVAL);
        /* The parent is a regular file. */
        char file[] = "/tmp/setec-db-notdir-XXXXXX";
        int fd = mkstemp(file);
        assert_true(fd >= 0);
        close(fd);
        char path[64];
        snprintf(path, sizeof(path), "%s/setec.db", file);
        assert_int_equal(db_open(path, &db), -ENOTDIR);
        assert_null(db);
        unlink(file);
}

/* db_generation() moves with every commit, of this process's connections or
 * of another connection to the file, and only then. */
static void test_generation(void **state)
{
        struct tmp t;
        tmp_init(&t);
        struct db *db = NULL;
        assert_int_equal(db_open(t.path, &db), 0);
        uint64_t g = db_generation(db);
        assert_int_equal(db_generation(db), g);

        /* a read changes nothing */
        free(query_text(db_conn(db), "SELECT COUNT(*) FROM manager_users"));
        assert_int_equal(db_generation(db), g);

        /* a commit through the db's own connection */
        assert_int_equal(sqlite3_exec(db_conn(db),
                                      "INSERT INTO audit_log(username, action) "
                                      "VALUES ('t', 'own')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        uint64_t g2 = db_generation(db);
        assert_true(g2 != g);
        assert_int_equal(db_generation(db), g2);

        /* a commit by a connection the db knows nothing about */
        sqlite3 *other = NULL;
        assert_int_equal(sqlite3_open(t.path, &other), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(other, "UPDATE audit_log SET action = 'other'", NULL, NULL, NULL),
            SQLITE_OK);
        uint64_t g3 = db_generation(db);
        assert_true(g3 != g2);
        assert_int_equal(db_generation(db), g3);
        /* a transaction that is rolled back commits nothing */
        assert_int_equal(
            sqlite3_exec(other, "BEGIN; DELETE FROM audit_log; ROLLBACK", NULL, NULL, NULL),
            SQLITE_OK);
        assert_int_equal(db_generation(db), g3);
        sqlite3_close(other);

        db_close(db);
        tmp_cleanup(&t);
}

/* The locks SQLite keeps while a connection is open, as another process sees
 * them: the shared lock on the "DMS" byte of the -shm (os_unix.c UNIX_SHM_DMS:
 * byte 128; without it the next process to open the file truncates the -shm
 * under our mappings) and, in WAL mode, the SHARED lock on the database
 * (PENDING_BYTE + 2, 510 bytes; without it the next process to close its last
 * connection deletes the WAL we write to). They are POSIX record locks, which
 * closing any descriptor of the file in this process would drop. */
static char locks_path[256];
static pid_t locks_owner;

static int read_locked_by_owner(const char *path, off_t start, off_t len)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
        int r = fcntl(fd, F_GETLK, &fl);
        close(fd);
        return r == 0 && fl.l_type == F_RDLCK && fl.l_pid == locks_owner;
}

static int check_locks(void)
{
        char shm[sizeof(locks_path) + 4];
        snprintf(shm, sizeof(shm), "%s-shm", locks_path);
        EXPECT(read_locked_by_owner(shm, 128, 1));
        EXPECT(read_locked_by_owner(locks_path, 0x40000000 + 2, 510));
        return 0;
}

static void test_sqlite_locks_kept(void **state)
{
        struct tmp t;
        tmp_init(&t);
        struct db *db = NULL;
        assert_int_equal(db_open(t.path, &db), 0);
        snprintf(locks_path, sizeof(locks_path), "%s", t.path);
        locks_owner = getpid();
        assert_int_equal(in_child(NULL, check_locks), 0);
        /* and after a write and a generation read */
        assert_int_equal(sqlite3_exec(db_conn(db),
                                      "INSERT INTO audit_log(username, action) "
                                      "VALUES ('t', 'locks')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        db_generation(db);
        assert_int_equal(in_child(NULL, check_locks), 0);
        db_close(db);
        tmp_cleanup(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fresh_database),
            cmocka_unit_test(test_existing_file_mode_tightened),
            cmocka_unit_test(test_migrate_from_reference),
            cmocka_unit_test(test_failed_migration_rolls_back),
            cmocka_unit_test(test_newer_schema_refused),
            cmocka_unit_test(test_timestamp_function),
            cmocka_unit_test(test_bad_path),
            cmocka_unit_test(test_generation),
            cmocka_unit_test(test_sqlite_locks_kept),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
