/* backups rows: insert, get, list order, delete, site lookup, snapshot. */
#include <errno.h>
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
#include "db/backups.h"
#include "db/db.h"

static char dir[64], dbpath[128], snap[128];
static struct db *db;

static void exec_sql(const char *sql)
{
        char *msg = NULL;
        int rc = sqlite3_exec(db_conn(db), sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
                fail_msg("%s: %s", sql, msg);
}

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/setec-dbbk-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(dbpath, sizeof(dbpath), "%s/setec.db", dir);
        snprintf(snap, sizeof(snap), "%s/snap.db", dir);
        assert_int_equal(db_open(dbpath, &db), 0);
        return 0;
}

static int teardown(void **state)
{
        db_close(db);
        db = NULL;
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        char p[256];
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                snprintf(p, sizeof(p), "%s%s", dbpath, suffixes[i]);
                unlink(p);
                snprintf(p, sizeof(p), "%s%s", snap, suffixes[i]);
                unlink(p);
        }
        rmdir(dir);
        return 0;
}

static void test_crud(void **state)
{
        exec_sql(
            "INSERT INTO sites (id, domain, app_root) VALUES (7, 'example.com', '/var/www/ex')");
        long long a = backups_insert(db, 7, "site", "/b/site-a.tar.gz", 100);
        long long b = backups_insert(db, 0, "full", "/b/full-b.tar.gz", 200);
        long long c = backups_insert(db, 7, "site", "/b/site-c.tar.gz", 300);
        assert_true(a > 0 && b > a && c > b);
        /* an older row (as the reference wrote them) sorts last */
        exec_sql("INSERT INTO backups (site_id, backup_type, file_path, size_bytes, created_at)"
                 " VALUES (NULL, NULL, '/b/old.tar.gz', NULL, '2020-01-01T00:00:00Z')");

        struct backup_rec r;
        assert_int_equal(backups_get(db, b, &r), 0);
        assert_int_equal(r.id, b);
        assert_int_equal(r.site_id, 0);
        assert_string_equal(r.type, "full");
        assert_string_equal(r.path, "/b/full-b.tar.gz");
        assert_int_equal(r.size, 200);
        assert_int_equal(strlen(r.created_at), 20);
        assert_int_equal(r.created_at[19], 'Z');
        backup_rec_clear(&r);
        assert_int_equal(backups_get(db, 9999, &r), -ENOENT);

        struct backup_rec *list;
        size_t n;
        assert_int_equal(backups_list(db, &list, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(list[0].id, c); /* same second: higher id first */
        assert_int_equal(list[1].id, b);
        assert_int_equal(list[2].id, a);
        assert_string_equal(list[3].path, "/b/old.tar.gz");
        assert_string_equal(list[3].type, "site"); /* the schema's default */
        assert_int_equal(list[3].size, 0);
        assert_int_equal(list[0].site_id, 7);
        backups_list_free(list, n);

        assert_int_equal(backups_delete(db, b), 0);
        assert_int_equal(backups_delete(db, b), -ENOENT);
        assert_int_equal(backups_get(db, b, &r), -ENOENT);

        char *domain, *root;
        assert_int_equal(backups_site_lookup(db, 7, &domain, &root), 0);
        assert_string_equal(domain, "example.com");
        assert_string_equal(root, "/var/www/ex");
        free(domain);
        free(root);
        assert_int_equal(backups_site_lookup(db, 8, &domain, &root), -ENOENT);
        assert_null(domain);
}

static void test_empty_list(void **state)
{
        struct backup_rec *list = (void *)1;
        size_t n = 5;
        assert_int_equal(backups_list(db, &list, &n), 0);
        assert_int_equal(n, 0);
        backups_list_free(list, n);
}

static void test_snapshot(void **state)
{
        exec_sql("INSERT INTO sites (domain, app_root) VALUES ('snap.example.com', '/var/www/s')");
        assert_true(backups_insert(db, 0, "full", "/b/x.tar.gz", 1) > 0);
        assert_int_equal(db_snapshot(db, snap), 0);
        struct stat sb;
        assert_int_equal(stat(snap, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);

        sqlite3 *c;
        assert_int_equal(sqlite3_open_v2(snap, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_stmt *s;
        assert_int_equal(sqlite3_prepare_v2(c,
                                            "SELECT (SELECT count(*) FROM sites),"
                                            " (SELECT count(*) FROM backups)",
                                            -1, &s, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(s, 0), 1);
        assert_int_equal(sqlite3_column_int(s, 1), 1);
        sqlite3_finalize(s);
        sqlite3_close(c);

        /* never overwrites */
        assert_int_equal(db_snapshot(db, snap), -EEXIST);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
            cmocka_unit_test_setup_teardown(test_empty_list, setup, teardown),
            cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
