/* manager_users, token revocation, audit rows, per-thread connections. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/timeutil.h"
#include "base/util.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/users.h"

struct fixture {
        char dir[64];
        char path[128];
        struct db *db;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/setec-db-users-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/setec.db", f->dir);
        assert_int_equal(db_open(f->path, &f->db), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        db_close(f->db);
        static const char *const suffixes[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                char p[160];
                snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
                unlink(p);
        }
        rmdir(f->dir);
        free(f);
        return 0;
}

static long long query_int(struct db *db, const char *sql)
{
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_prepare_v2(db_conn(db), sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        long long v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return v;
}

static void exec_ok(struct db *db, const char *sql)
{
        char *err = NULL;
        if (sqlite3_exec(db_conn(db), sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
}

/* "YYYY-MM-DDTHH:MM:SSZ" and parseable, within a minute of now. */
static void assert_rfc3339_now(const char *s)
{
        assert_non_null(s);
        assert_int_equal(strlen(s), TIME_RFC3339_LEN - 1);
        assert_int_equal(s[4], '-');
        assert_int_equal(s[10], 'T');
        assert_int_equal(s[19], 'Z');
        time_t t;
        assert_int_equal(time_parse(s, &t), 0);
        long long d = (long long)(time(NULL) - t);
        assert_true(d >= 0 && d < 60);
}

static void test_create_get(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        long long id = users_create(db, "alice", "$y$hash-a", "admin");
        assert_true(id > 0);

        struct panel_user u;
        assert_int_equal(users_get_by_id(db, id, &u), 0);
        assert_int_equal(u.id, id);
        assert_string_equal(u.username, "alice");
        assert_string_equal(u.password_hash, "$y$hash-a");
        assert_string_equal(u.role, "admin");
        assert_false(u.force_change);
        assert_null(u.last_login);
        assert_rfc3339_now(u.created_at);
        assert_true(llabs((long long)time(NULL) - u.pw_changed) < 60);
        panel_user_clear(&u);
        assert_null(u.username);

        assert_int_equal(users_get_by_name(db, "alice", &u), 0);
        assert_int_equal(u.id, id);
        panel_user_clear(&u);

        assert_int_equal(users_get_by_name(db, "ALICE", &u), -ENOENT);
        assert_int_equal(users_get_by_id(db, id + 100, &u), -ENOENT);

        assert_int_equal(users_create(db, "alice", "$y$other", "viewer"), -EEXIST);
        assert_int_equal(users_count(db, NULL), 1);
}

static void test_list_ordered(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        struct panel_user *list = NULL;
        size_t n = 99;
        assert_int_equal(users_list(db, &list, &n), 0);
        assert_int_equal(n, 0);
        users_list_free(list, n);

        assert_true(users_create(db, "charlie", "h1", "viewer") > 0);
        assert_true(users_create(db, "alice", "h2", "admin") > 0);
        assert_true(users_create(db, "bob", "h3", "viewer") > 0);
        assert_int_equal(users_list(db, &list, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(list[0].username, "alice");
        assert_string_equal(list[1].username, "bob");
        assert_string_equal(list[2].username, "charlie");
        assert_string_equal(list[0].role, "admin");
        assert_string_equal(list[2].password_hash, "h1");
        users_list_free(list, n);

        assert_int_equal(users_count(db, NULL), 3);
        assert_int_equal(users_count(db, "admin"), 1);
        assert_int_equal(users_count(db, "viewer"), 2);
        assert_int_equal(users_count(db, "nobody"), 0);
}

static void test_update_partial(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        long long id = users_create(db, "dave", "old-hash", "viewer");
        assert_true(id > 0);
        exec_ok(db, "UPDATE manager_users SET force_change = 1, pw_changed = 5");

        /* Role only: hash, force_change and pw_changed stay. */
        assert_int_equal(users_update(db, id, NULL, "admin"), 0);
        struct panel_user u;
        assert_int_equal(users_get_by_id(db, id, &u), 0);
        assert_string_equal(u.role, "admin");
        assert_string_equal(u.password_hash, "old-hash");
        assert_true(u.force_change);
        assert_int_equal(u.pw_changed, 5);
        panel_user_clear(&u);

        /* Hash only: role stays, force_change cleared, pw_changed now. */
        assert_int_equal(users_update(db, id, "new-hash", NULL), 0);
        assert_int_equal(users_get_by_id(db, id, &u), 0);
        assert_string_equal(u.role, "admin");
        assert_string_equal(u.password_hash, "new-hash");
        assert_false(u.force_change);
        assert_true(llabs((long long)time(NULL) - u.pw_changed) < 60);
        panel_user_clear(&u);

        /* Nothing to change is still a successful lookup. */
        assert_int_equal(users_update(db, id, NULL, NULL), 0);
        assert_int_equal(users_update(db, id + 1000, NULL, "viewer"), -ENOENT);
        assert_int_equal(users_update(db, id + 1000, "h", NULL), -ENOENT);
}

static void test_touch_and_delete(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        long long id = users_create(db, "erin", "h", "viewer");
        assert_true(id > 0);
        assert_int_equal(users_touch_login(db, id), 0);
        struct panel_user u;
        assert_int_equal(users_get_by_id(db, id, &u), 0);
        assert_rfc3339_now(u.last_login);
        panel_user_clear(&u);
        assert_int_equal(users_touch_login(db, id + 1000), -ENOENT);

        /* Float sessions reference the user; foreign keys are enforced, so
         * the delete must take them along. */
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO float_sessions (id, user_id, client_ip) VALUES ('s1', %lld, '::1')",
                 id);
        exec_ok(db, sql);
        assert_int_equal(users_delete(db, id), 0);
        assert_int_equal(users_get_by_id(db, id, &u), -ENOENT);
        assert_int_equal(query_int(db, "SELECT COUNT(*) FROM float_sessions"), 0);
        assert_int_equal(users_delete(db, id), -ENOENT);
}

static void test_foreign_keys_enforced(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        assert_int_equal(sqlite3_exec(db_conn(db),
                                      "INSERT INTO deployments (site_id, action)"
                                      " VALUES (999, 'deploy')",
                                      NULL, NULL, NULL),
                         SQLITE_CONSTRAINT_FOREIGNKEY);
}

static void test_guarded_last_admin(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        long long a1 = users_create(db, "admin1", "h", "admin");
        long long a2 = users_create(db, "admin2", "h", "admin");
        long long v = users_create(db, "viewer", "h", "viewer");
        assert_true(a1 > 0 && a2 > 0 && v > 0);

        /* Two admins: removing one is fine. */
        assert_int_equal(users_delete_or_demote_guarded(db, a1, NULL), 0);
        struct panel_user u;
        assert_int_equal(users_get_by_id(db, a1, &u), -ENOENT);

        /* The last admin can be neither deleted nor demoted. */
        assert_int_equal(users_delete_or_demote_guarded(db, a2, NULL), -EBUSY);
        assert_int_equal(users_delete_or_demote_guarded(db, a2, "viewer"), -EBUSY);
        assert_int_equal(users_get_by_id(db, a2, &u), 0);
        assert_string_equal(u.role, "admin");
        panel_user_clear(&u);
        /* "Demoting" it to admin changes nothing and is allowed. */
        assert_int_equal(users_delete_or_demote_guarded(db, a2, "admin"), 0);

        /* Non-admins are not protected. */
        assert_int_equal(users_delete_or_demote_guarded(db, v, "viewer"), 0);
        assert_int_equal(users_delete_or_demote_guarded(db, v, NULL), 0);
        assert_int_equal(users_delete_or_demote_guarded(db, v, NULL), -ENOENT);
        assert_int_equal(users_delete_or_demote_guarded(db, v, "admin"), -ENOENT);

        /* Promote someone, then the former last admin may be demoted. */
        long long w = users_create(db, "w", "h", "viewer");
        assert_int_equal(users_delete_or_demote_guarded(db, w, "admin"), 0);
        assert_int_equal(users_delete_or_demote_guarded(db, a2, "viewer"), 0);
        assert_int_equal(users_count(db, "admin"), 1);
        assert_int_equal(users_delete_or_demote_guarded(db, w, NULL), -EBUSY);

        /* The failed attempts left no transaction open. */
        assert_true(sqlite3_get_autocommit(db_conn(db)));
}

static void test_tokens(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        long long now = (long long)time(NULL);
        assert_int_equal(tokens_is_revoked(db, "live"), 0);
        assert_int_equal(tokens_revoke(db, "live", now + 3600), 0);
        assert_int_equal(tokens_revoke(db, "live", now + 10), 0); /* keeps the later expiry */
        assert_int_equal(tokens_revoke(db, "old", now - 10), 0);
        assert_int_equal(tokens_is_revoked(db, "live"), 1);
        assert_int_equal(tokens_is_revoked(db, "other"), 0);
        assert_int_equal(query_int(db, "SELECT expires FROM revoked_tokens WHERE jti = 'live'"),
                         now + 3600);

        /* Enough lookups trigger a sweep of expired entries, and only those. */
        for (int i = 0; i < 600; i++)
                assert_int_equal(tokens_is_revoked(db, "other"), 0);
        assert_int_equal(query_int(db, "SELECT COUNT(*) FROM revoked_tokens WHERE jti = 'old'"), 0);
        assert_int_equal(tokens_is_revoked(db, "live"), 1);
}

static void test_pw_generation_always_moves(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        struct panel_user u = {0};
        long long id = users_create(db, "dave", "$y$a", "admin");
        assert_true(id > 0);
        assert_int_equal(users_get_by_id(db, id, &u), 0);
        long long before = u.pw_changed;
        panel_user_clear(&u);
        /* two changes within one second still give two new generations */
        assert_int_equal(users_update(db, id, "$y$b", NULL), 0);
        assert_int_equal(users_update(db, id, "$y$c", NULL), 0);
        assert_int_equal(users_get_by_id(db, id, &u), 0);
        assert_true(u.pw_changed >= before + 2);
        panel_user_clear(&u);
}

static void test_session_check(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        struct session_user su;
        long long id = users_create(db, "carol", "$y$x", "viewer");
        assert_true(id > 0);
        assert_int_equal(users_session_check(db, id, "jti-1", &su), 0);
        assert_string_equal(su.username, "carol");
        assert_string_equal(su.role, "viewer");
        assert_false(su.revoked);
        assert_true(su.pw_changed > 0);

        /* the cached statement sees every later change at once */
        assert_int_equal(users_update(db, id, NULL, "admin"), 0);
        assert_int_equal(tokens_revoke(db, "jti-1", (long long)time(NULL) + 60), 0);
        assert_int_equal(users_session_check(db, id, "jti-1", &su), 0);
        assert_string_equal(su.role, "admin");
        assert_true(su.revoked);
        assert_int_equal(users_session_check(db, id, "jti-2", &su), 0);
        assert_false(su.revoked);

        assert_int_equal(users_delete(db, id), 0);
        assert_int_equal(users_session_check(db, id, "jti-2", &su), -ENOENT);
        assert_int_equal(users_session_check(db, 999, "jti-2", &su), -ENOENT);
}

static void test_audit(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        assert_int_equal(audit_add(db, "alice", "192.0.2.1", "user.create", "bob"), 0);
        assert_int_equal(audit_add(db, NULL, NULL, "login.failed", NULL), 0);
        assert_int_equal(audit_add(db, "x", "::1", "a", "quote ' and \"; DROP TABLE x"), 0);

        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_prepare_v2(db_conn(db),
                                            "SELECT username, ip, action, detail, created_at"
                                            " FROM audit_log ORDER BY id",
                                            -1, &s, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal(sqlite3_column_text(s, 0), "alice");
        assert_string_equal(sqlite3_column_text(s, 1), "192.0.2.1");
        assert_string_equal(sqlite3_column_text(s, 2), "user.create");
        assert_string_equal(sqlite3_column_text(s, 3), "bob");
        assert_rfc3339_now((const char *)sqlite3_column_text(s, 4));
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal(sqlite3_column_text(s, 0), "");
        assert_int_equal(sqlite3_column_type(s, 1), SQLITE_NULL);
        assert_string_equal(sqlite3_column_text(s, 2), "login.failed");
        assert_string_equal(sqlite3_column_text(s, 3), "");
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal(sqlite3_column_text(s, 3), "quote ' and \"; DROP TABLE x");
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        sqlite3_finalize(s);
}

static void test_sites_count(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        assert_int_equal(sites_count(db), 0);
        exec_ok(db, "INSERT INTO sites (domain, app_root) VALUES ('a.example', '/srv/a'),"
                    " ('b.example', '/srv/b')");
        assert_int_equal(sites_count(db), 2);
}

/* ---- concurrency ---- */

#define THREADS    4
#define PER_THREAD 25

struct worker {
        struct db *db;
        int n;
        sqlite3 *conn;
        int failures;
        pthread_barrier_t *barrier;
        long long target;
        int result;
};

static void *create_users(void *p)
{
        struct worker *w = p;
        w->conn = db_conn(w->db);
        if (!w->conn || db_conn(w->db) != w->conn)
                w->failures++;
        pthread_barrier_wait(w->barrier);
        for (int i = 0; i < PER_THREAD; i++) {
                char name[32];
                snprintf(name, sizeof(name), "t%d-%d", w->n, i);
                long long id = users_create(w->db, name, "h", "viewer");
                struct panel_user u;
                if (id <= 0 || users_get_by_name(w->db, name, &u) != 0 || u.id != id)
                        w->failures++;
                else
                        panel_user_clear(&u);
                if (audit_add(w->db, name, "::1", "user.create", NULL) < 0)
                        w->failures++;
        }
        return NULL;
}

static void test_threads_own_connections(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, THREADS);
        struct worker w[THREADS];
        pthread_t th[THREADS];
        for (int i = 0; i < THREADS; i++) {
                w[i] = (struct worker){.db = db, .n = i, .barrier = &barrier};
                assert_int_equal(pthread_create(&th[i], NULL, create_users, &w[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_join(th[i], NULL), 0);
        pthread_barrier_destroy(&barrier);

        sqlite3 *mine = db_conn(db);
        for (int i = 0; i < THREADS; i++) {
                assert_int_equal(w[i].failures, 0);
                assert_non_null(w[i].conn);
                assert_ptr_not_equal(w[i].conn, mine);
                for (int j = i + 1; j < THREADS; j++)
                        assert_ptr_not_equal(w[i].conn, w[j].conn);
        }
        assert_int_equal(users_count(db, NULL), THREADS * PER_THREAD);
        assert_int_equal(query_int(db, "SELECT COUNT(*) FROM audit_log"), THREADS * PER_THREAD);
}

static void *remove_admin(void *p)
{
        struct worker *w = p;
        if (!db_conn(w->db))
                w->failures++;
        pthread_barrier_wait(w->barrier);
        w->result = users_delete_or_demote_guarded(w->db, w->target, w->n % 2 ? "viewer" : NULL);
        return NULL;
}

/* Two requests each removing a different one of the last two admins: exactly
 * one wins, and an admin always remains. */
static void test_concurrent_last_admin(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        for (int round = 0; round < 20; round++) {
                exec_ok(db, "DELETE FROM manager_users");
                long long ids[2];
                for (int i = 0; i < 2; i++) {
                        char name[32];
                        snprintf(name, sizeof(name), "adm%d-%d", round, i);
                        ids[i] = users_create(db, name, "h", "admin");
                        assert_true(ids[i] > 0);
                }
                pthread_barrier_t barrier;
                pthread_barrier_init(&barrier, NULL, 2);
                struct worker w[2];
                pthread_t th[2];
                for (int i = 0; i < 2; i++) {
                        w[i] = (struct worker){
                            .db = db, .n = round + i, .barrier = &barrier, .target = ids[i]};
                        assert_int_equal(pthread_create(&th[i], NULL, remove_admin, &w[i]), 0);
                }
                for (int i = 0; i < 2; i++)
                        assert_int_equal(pthread_join(th[i], NULL), 0);
                pthread_barrier_destroy(&barrier);

                assert_int_equal(w[0].failures + w[1].failures, 0);
                int ok = (w[0].result == 0) + (w[1].result == 0);
                int busy = (w[0].result == -EBUSY) + (w[1].result == -EBUSY);
                assert_int_equal(ok, 1);
                assert_int_equal(busy, 1);
                assert_int_equal(users_count(db, "admin"), 1);
        }
}

static long long audit_count(struct db *db, const char *where)
{
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM audit_log WHERE %s", where);
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_prepare_v2(db_conn(db), sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        long long n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return n;
}

static void test_audit_tally(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        struct audit_tally *t = audit_tally_new();
        assert_non_null(t);
        /* nothing counted: no row */
        assert_int_equal(audit_tally_flush(t, db, 0, true), 0);
        for (int i = 0; i < 500; i++)
                audit_tally_count(t, AUDIT_ANON_LOGOUT, "192.0.2.7");
        audit_tally_count(t, AUDIT_ANON_RATE_LIMITED, "192.0.2.8");
        assert_int_equal(audit_tally_pending(t, AUDIT_ANON_LOGOUT), 500);
        /* the first summary is written at once, the next a period later */
        assert_int_equal(audit_tally_flush(t, db, 10, false), 1);
        audit_tally_count(t, AUDIT_ANON_UNKNOWN_USER, NULL);
        assert_int_equal(audit_tally_flush(t, db, 10 + AUDIT_TALLY_PERIOD_S - 1, false), 0);
        assert_int_equal(audit_tally_pending(t, AUDIT_ANON_UNKNOWN_USER), 1);
        assert_int_equal(audit_tally_flush(t, db, 10 + AUDIT_TALLY_PERIOD_S, false), 1);
        audit_tally_count(t, AUDIT_ANON_ACCOUNT_THROTTLED, "::1");
        /* on stop: forced */
        assert_int_equal(audit_tally_flush(t, db, 11 + AUDIT_TALLY_PERIOD_S, true), 1);
        assert_int_equal(audit_count(db, "action = 'anonymous requests'"), 3);
        assert_int_equal(audit_count(db,
                                     "detail = 'logout=500 rate_limited=1 unknown_user=0 "
                                     "account_throttled=0' AND ip = '192.0.2.8' AND username = ''"),
                         1);
        assert_int_equal(audit_count(db, "detail LIKE '%unknown_user=1 %' AND ip = '192.0.2.8'"),
                         1);
        assert_int_equal(audit_count(db, "detail LIKE '%account_throttled=1' AND ip = '::1'"), 1);
        assert_int_equal(audit_tally_pending(t, AUDIT_ANON_LOGOUT), 0);
        audit_tally_free(t);
}

static void test_audit_prune(void **state)
{
        struct db *db = ((struct fixture *)*state)->db;
        assert_int_equal(audit_add(db, "alice", NULL, "recent", NULL), 0);
        assert_int_equal(
            sqlite3_exec(db_conn(db),
                         "INSERT INTO audit_log (username, action, created_at) VALUES"
                         " ('old', 'a', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-91 days')),"
                         " ('old', 'b', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-400 days')),"
                         " ('kept', 'c', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-89 days'))",
                         NULL, NULL, NULL),
            SQLITE_OK);
        assert_int_equal(audit_prune(db, 0), -EINVAL);
        assert_int_equal(audit_prune(db, 90), 2);
        assert_int_equal(audit_count(db, "username = 'old'"), 0);
        assert_int_equal(audit_count(db, "username IN ('kept', 'alice')"), 2);
        assert_int_equal(audit_prune(db, 90), 0);
        assert_int_equal(audit_prune(db, 1), 1);
        assert_int_equal(audit_count(db, "1"), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_create_get, setup, teardown),
            cmocka_unit_test_setup_teardown(test_audit_tally, setup, teardown),
            cmocka_unit_test_setup_teardown(test_audit_prune, setup, teardown),
            cmocka_unit_test_setup_teardown(test_list_ordered, setup, teardown),
            cmocka_unit_test_setup_teardown(test_update_partial, setup, teardown),
            cmocka_unit_test_setup_teardown(test_touch_and_delete, setup, teardown),
            cmocka_unit_test_setup_teardown(test_foreign_keys_enforced, setup, teardown),
            cmocka_unit_test_setup_teardown(test_guarded_last_admin, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
            cmocka_unit_test_setup_teardown(test_session_check, setup, teardown),
            cmocka_unit_test_setup_teardown(test_pw_generation_always_moves, setup, teardown),
            cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sites_count, setup, teardown),
            cmocka_unit_test_setup_teardown(test_threads_own_connections, setup, teardown),
            cmocka_unit_test_setup_teardown(test_concurrent_last_admin, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
