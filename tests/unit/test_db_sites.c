/* sites and deployments rows: CRUD, order, duplicates, partial update,
 * delete keeping history, ports, deployment lifecycle. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/util.h"
#include "db/db.h"
#include "db/sites.h"

static char dir[64], dbpath[128];
static struct db *db;

static void exec_sql(const char *sql)
{
        char *msg = NULL;
        int rc = sqlite3_exec(db_conn(db), sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
                fail_msg("%s: %s", sql, msg);
}

static long long count(const char *sql)
{
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_prepare_v2(db_conn(db), sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        long long n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return n;
}

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/setec-dbsites-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(dbpath, sizeof(dbpath), "%s/setec.db", dir);
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
        }
        rmdir(dir);
        return 0;
}

static struct site mk(const char *domain, enum app_type t, int port)
{
        static char root[300];
        snprintf(root, sizeof(root), "/var/www/%s", domain);
        return (struct site){
            .domain = (char *)domain,
            .aliases = (char *)"",
            .app_type = t,
            .app_root = root,
            .app_port = port,
            .app_entry = (char *)"",
            .git_repo = (char *)"",
            .git_branch = (char *)"main",
            .ssl_cert_path = (char *)"",
            .ssl_key_path = (char *)"",
            .ssl_auto = true,
            .enabled = true,
        };
}

static bool rfc3339(const char *t)
{
        return t && strlen(t) == 20 && t[4] == '-' && t[10] == 'T' && t[19] == 'Z';
}

static void test_insert_get_list(void **state)
{
        struct site a = mk("b.example.com", APP_STATIC, 0);
        a.aliases = (char *)"www.b.example.com";
        long long ida = sites_insert(db, &a);
        assert_true(ida > 0);
        struct site b = mk("a.example.com", APP_PYTHON, 8001);
        b.app_entry = (char *)"app.py";
        b.git_repo = (char *)"https://example.com/r.git";
        long long idb = sites_insert(db, &b);
        assert_true(idb > ida);
        /* duplicate domain */
        struct site c = mk("b.example.com", APP_NODE, 0);
        assert_int_equal(sites_insert(db, &c), -EEXIST);

        struct site g = {0};
        assert_int_equal(sites_get(db, idb, &g), 0);
        assert_string_equal(g.domain, "a.example.com");
        assert_int_equal(g.app_type, APP_PYTHON);
        assert_int_equal(g.app_port, 8001);
        assert_string_equal(g.app_entry, "app.py");
        assert_string_equal(g.git_repo, "https://example.com/r.git");
        assert_string_equal(g.app_root, "/var/www/a.example.com");
        assert_true(g.enabled);
        assert_true(g.ssl_auto);
        assert_false(g.ssl_enabled);
        assert_true(rfc3339(g.created_at));
        assert_true(rfc3339(g.updated_at));
        site_clear(&g);

        assert_int_equal(sites_get_by_domain(db, "b.example.com", &g), 0);
        assert_int_equal(g.id, ida);
        assert_string_equal(g.aliases, "www.b.example.com");
        site_clear(&g);
        assert_int_equal(sites_get(db, 9999, &g), -ENOENT);
        assert_int_equal(sites_get_by_domain(db, "none.example.com", &g), -ENOENT);

        struct site *list;
        size_t n;
        assert_int_equal(sites_list(db, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].domain, "a.example.com"); /* by domain */
        assert_string_equal(list[1].domain, "b.example.com");
        sites_list_free(list, n);
}

static void test_empty_list(void **state)
{
        struct site *list = (void *)1;
        size_t n = 7;
        assert_int_equal(sites_list(db, &list, &n), 0);
        assert_int_equal(n, 0);
        assert_null(list);
}

static void test_reference_row_nulls(void **state)
{
        /* rows written by the reference may have NULLs and odd types */
        exec_sql("INSERT INTO sites (id, domain, aliases, app_type, app_root, app_port,"
                 " app_entry, git_repo, git_branch, ssl_enabled, enabled, created_at)"
                 " VALUES (5, 'ref.example.com', NULL, 'weird', '/var/www/ref', NULL, NULL,"
                 " NULL, NULL, 'true', 0, '2024-01-02T03:04:05Z')");
        struct site g = {0};
        assert_int_equal(sites_get(db, 5, &g), 0);
        assert_string_equal(g.aliases, "");
        assert_int_equal(g.app_type, APP_STATIC);
        assert_int_equal(g.app_port, 0);
        assert_string_equal(g.git_branch, "main");
        assert_true(g.ssl_enabled);
        assert_false(g.enabled);
        /* rows made before the per-site nginx settings: today's vhost */
        assert_string_equal(g.max_body_size, "");
        assert_int_equal(g.security_headers, SITE_HEADERS_DEFAULT);
        site_clear(&g);
        exec_sql("UPDATE sites SET security_headers = 'bogus' WHERE id = 5");
        assert_int_equal(sites_get(db, 5, &g), 0);
        assert_string_equal(g.max_body_size, "");
        assert_int_equal(g.security_headers, SITE_HEADERS_DEFAULT);
        site_clear(&g);
}

static void test_nginx_settings(void **state)
{
        struct site a = mk("n.example.com", APP_STATIC, 0);
        a.max_body_size = (char *)"200m";
        a.security_headers = SITE_HEADERS_STRICT;
        long long id = sites_insert(db, &a);
        assert_true(id > 0);
        struct site g = {0};
        assert_int_equal(sites_get(db, id, &g), 0);
        assert_string_equal(g.max_body_size, "200m");
        assert_int_equal(g.security_headers, SITE_HEADERS_STRICT);
        site_clear(&g);
        /* a site without them (NULL) is stored with the defaults */
        struct site b = mk("m.example.com", APP_STATIC, 0);
        long long idb = sites_insert(db, &b);
        assert_int_equal(sites_get(db, idb, &g), 0);
        assert_string_equal(g.max_body_size, "");
        assert_int_equal(g.security_headers, SITE_HEADERS_DEFAULT);
        site_clear(&g);
        /* partial updates of each */
        a.id = id;
        a.security_headers = SITE_HEADERS_OFF;
        a.max_body_size = (char *)"should-not-be-written";
        assert_int_equal(sites_update(db, &a, SITE_COL_SECURITY_HEADERS), 0);
        assert_int_equal(sites_get(db, id, &g), 0);
        assert_string_equal(g.max_body_size, "200m");
        assert_int_equal(g.security_headers, SITE_HEADERS_OFF);
        site_clear(&g);
        a.max_body_size = (char *)"";
        assert_int_equal(sites_update(db, &a, SITE_COL_MAX_BODY_SIZE), 0);
        assert_int_equal(sites_get(db, id, &g), 0);
        assert_string_equal(g.max_body_size, "");
        site_clear(&g);
}

static void test_partial_update(void **state)
{
        struct site a = mk("u.example.com", APP_NODE, 8100);
        a.aliases = (char *)"x.example.com";
        long long id = sites_insert(db, &a);
        assert_true(id > 0);
        struct site other = mk("taken.example.com", APP_STATIC, 0);
        assert_true(sites_insert(db, &other) > 0);

        struct site ch = mk("renamed.example.com", APP_STATIC, 0);
        ch.id = id;
        ch.ssl_enabled = true;
        ch.aliases = (char *)"should-not-be-written.example.com";
        assert_int_equal(sites_update(db, &ch, SITE_COL_DOMAIN | SITE_COL_SSL_ENABLED), 0);
        struct site g = {0};
        assert_int_equal(sites_get(db, id, &g), 0);
        assert_string_equal(g.domain, "renamed.example.com");
        assert_true(g.ssl_enabled);
        assert_string_equal(g.aliases, "x.example.com"); /* untouched */
        assert_int_equal(g.app_type, APP_NODE);          /* untouched */
        assert_int_equal(g.app_port, 8100);
        site_clear(&g);

        ch.domain = (char *)"taken.example.com";
        assert_int_equal(sites_update(db, &ch, SITE_COL_DOMAIN), -EEXIST);
        ch.id = 4242;
        assert_int_equal(sites_update(db, &ch, SITE_COL_ENABLED), -ENOENT);
        /* every column at once */
        ch.id = id;
        ch.domain = (char *)"all.example.com";
        assert_int_equal(sites_update(db, &ch, SITE_COL_ALL), 0);
        assert_int_equal(sites_get(db, id, &g), 0);
        assert_string_equal(g.aliases, "should-not-be-written.example.com");
        assert_int_equal(g.app_type, APP_STATIC);
        site_clear(&g);
}

static void test_delete_keeps_history(void **state)
{
        struct site a = mk("d.example.com", APP_STATIC, 0);
        long long id = sites_insert(db, &a);
        long long dep = deployments_insert(db, id, "clone");
        assert_true(dep > 0);
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO backups (site_id, backup_type, file_path) VALUES (%lld, 'site',"
                 " '/b/x.tar.gz')",
                 id);
        exec_sql(sql);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO cron_jobs (site_id, job_type, schedule) VALUES (%lld, 'backup',"
                 " '@daily')",
                 id);
        exec_sql(sql);
        assert_int_equal(sites_delete(db, id), 0); /* foreign keys are on */
        struct site g = {0};
        assert_int_equal(sites_get(db, id, &g), -ENOENT);
        struct deployment d = {0};
        assert_int_equal(deployments_get(db, dep, &d), 0);
        assert_int_equal(d.site_id, 0);
        deployment_clear(&d);
        assert_int_equal(count("SELECT COUNT(*) FROM backups WHERE site_id IS NULL"), 1);
        assert_int_equal(count("SELECT COUNT(*) FROM cron_jobs"), 0);
        assert_int_equal(sites_delete(db, id), -ENOENT);
}

static void test_used_ports(void **state)
{
        struct site a = mk("p1.example.com", APP_PYTHON, 8001);
        struct site b = mk("p2.example.com", APP_NODE, 8002);
        struct site c = mk("p3.example.com", APP_STATIC, 0);
        long long ida = sites_insert(db, &a);
        assert_true(sites_insert(db, &b) > 0);
        assert_true(sites_insert(db, &c) > 0);
        int *ports;
        size_t n;
        assert_int_equal(sites_used_ports(db, 0, &ports, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(ports[0], 8001);
        assert_int_equal(ports[1], 8002);
        free(ports);
        assert_int_equal(sites_used_ports(db, ida, &ports, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(ports[0], 8002);
        free(ports);
}

static void test_root_conflict(void **state)
{
        struct site a = mk("roots.example.com", APP_STATIC, 0);
        long long ida = sites_insert(db, &a);
        assert_true(ida > 0);
        char other[256] = "";
        /* the same root, one inside it, one around it */
        assert_int_equal(
            sites_root_conflict(db, "/var/www/roots.example.com", 0, other, sizeof(other)), 0);
        assert_string_equal(other, "roots.example.com");
        assert_int_equal(
            sites_root_conflict(db, "/var/www/roots.example.com/sub", 0, other, sizeof(other)), 0);
        assert_int_equal(sites_root_conflict(db, "/var/www", 0, other, sizeof(other)), 0);
        /* a neighbour with a common prefix is not inside */
        assert_int_equal(
            sites_root_conflict(db, "/var/www/roots.example.com2", 0, other, sizeof(other)),
            -ENOENT);
        /* the site itself does not count */
        assert_int_equal(
            sites_root_conflict(db, "/var/www/roots.example.com", ida, other, sizeof(other)),
            -ENOENT);
}

static void test_deployments(void **state)
{
        struct site a = mk("dep.example.com", APP_STATIC, 0);
        long long id = sites_insert(db, &a);
        long long ids[12];
        for (int i = 0; i < 12; i++) {
                ids[i] = deployments_insert(db, id, i == 0 ? "clone" : "deploy");
                assert_true(ids[i] > 0);
        }
        struct deployment d = {0};
        assert_int_equal(deployments_get(db, ids[0], &d), 0);
        assert_string_equal(d.status, "running");
        assert_string_equal(d.type, "clone");
        assert_string_equal(d.output, "");
        assert_null(d.finished_at);
        assert_true(rfc3339(d.created_at));
        deployment_clear(&d);

        assert_int_equal(deployments_append_output(db, ids[0], "hello ", 6), 0);
        assert_int_equal(deployments_append_output(db, ids[0], "world\nxyz", 6), 0);
        assert_int_equal(deployments_get(db, ids[0], &d), 0);
        assert_string_equal(d.output, "hello world\n");
        deployment_clear(&d);
        assert_int_equal(deployments_set_output(db, ids[0], "replaced"), 0);
        assert_int_equal(deployments_finish(db, ids[0], true, NULL), 0);
        assert_int_equal(deployments_get(db, ids[0], &d), 0);
        assert_string_equal(d.status, "success");
        assert_string_equal(d.output, "replaced"); /* NULL keeps it */
        assert_true(rfc3339(d.finished_at));
        deployment_clear(&d);
        assert_int_equal(deployments_finish(db, ids[1], false, "boom"), 0);
        assert_int_equal(deployments_get(db, ids[1], &d), 0);
        assert_string_equal(d.status, "failed");
        assert_string_equal(d.output, "boom");
        deployment_clear(&d);
        assert_int_equal(deployments_finish(db, 99999, false, "x"), -ENOENT);
        assert_int_equal(deployments_get(db, 99999, &d), -ENOENT);

        struct deployment *list;
        size_t n;
        assert_int_equal(deployments_list(db, id, 10, &list, &n), 0);
        assert_int_equal(n, 10);
        assert_int_equal(list[0].id, ids[11]); /* newest first */
        assert_int_equal(list[9].id, ids[2]);
        deployments_list_free(list, n);
        assert_int_equal(deployments_list(db, id + 100, 10, &list, &n), 0);
        assert_int_equal(n, 0);
        assert_null(list);

        /* a restart: whatever still runs failed */
        int stale = deployments_fail_stale(db, "\n[interrupted]\n");
        assert_int_equal(stale, 10);
        assert_int_equal(deployments_get(db, ids[5], &d), 0);
        assert_string_equal(d.status, "failed");
        assert_string_equal(d.output, "\n[interrupted]\n");
        assert_non_null(d.finished_at);
        deployment_clear(&d);
        assert_int_equal(deployments_fail_stale(db, ""), 0);

        /* a deployment without a site (a failed create after its rollback) */
        long long orphan = deployments_insert(db, 0, "create");
        assert_int_equal(deployments_get(db, orphan, &d), 0);
        assert_int_equal(d.site_id, 0);
        deployment_clear(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_insert_get_list, setup, teardown),
            cmocka_unit_test_setup_teardown(test_empty_list, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reference_row_nulls, setup, teardown),
            cmocka_unit_test_setup_teardown(test_partial_update, setup, teardown),
            cmocka_unit_test_setup_teardown(test_nginx_settings, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delete_keeps_history, setup, teardown),
            cmocka_unit_test_setup_teardown(test_used_ports, setup, teardown),
            cmocka_unit_test_setup_teardown(test_root_conflict, setup, teardown),
            cmocka_unit_test_setup_teardown(test_deployments, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
