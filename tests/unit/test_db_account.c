/* sessions, API tokens, TOTP state and recovery codes, audit reading. */
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
#include "db/account.h"
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
        snprintf(f->dir, sizeof(f->dir), "/tmp/setec-db-account-XXXXXX");
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

static void test_sessions(void **state)
{
        struct fixture *f = *state;
        long long uid = users_create(f->db, "alice", "h", "viewer");
        assert_true(uid > 0);
        time_t now = time(NULL);
        struct panel_user u = {0};
        assert_int_equal(users_get_by_id(f->db, uid, &u), 0);
        long long pwc = u.pw_changed;
        panel_user_clear(&u);
        assert_int_equal(sessions_add(f->db, "a1", uid, pwc, "10.0.0.1", "ua-1", now + 100), 0);
        assert_int_equal(sessions_add(f->db, "a2", uid, pwc, "10.0.0.2", "ua-2", now + 100), 0);
        assert_int_equal(sessions_add(f->db, "old", uid, pwc, "10.0.0.3", "ua-3", now - 1), 0);
        struct session_row *l;
        size_t n;
        assert_int_equal(sessions_list(f->db, uid, now, &l, &n), 0);
        assert_int_equal(n, 2); /* the expired one is not listed */
        assert_string_equal(l[0].jti, "a2");
        long long id2 = l[0].id;
        sessions_list_free(l, n);
        assert_int_equal(sessions_end(f->db, uid + 1, id2, NULL), -ENOENT); /* not yours */
        char jti[33];
        assert_int_equal(sessions_end(f->db, uid, id2, jti), 0);
        assert_string_equal(jti, "a2");
        assert_int_equal(tokens_is_revoked(f->db, "a2"), 1);
        assert_int_equal(sessions_list(f->db, uid, now, &l, &n), 0);
        assert_int_equal(n, 1);
        sessions_list_free(l, n);
        /* a new password generation hides the older sessions */
        assert_int_equal(users_update(f->db, uid, "h2", NULL), 0);
        assert_int_equal(sessions_list(f->db, uid, now, &l, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(sessions_touch(f->db, "a1"), 0);
}

static void test_api_tokens(void **state)
{
        struct fixture *f = *state;
        long long uid = users_create(f->db, "bob", "h", "admin");
        long long id = apitokens_create(f->db, uid, "ci", "read", "abc123", 2000000000);
        assert_true(id > 0);
        struct token_auth t;
        assert_int_equal(apitokens_lookup(f->db, "nope", &t), -ENOENT);
        assert_int_equal(apitokens_lookup(f->db, "abc123", &t), 0);
        assert_int_equal(t.user_id, uid);
        assert_string_equal(t.scope, "read");
        assert_string_equal(t.role, "admin");
        assert_int_equal(t.last_used, 0);
        assert_int_equal(apitokens_touch(f->db, id, 1234), 0);
        struct api_token *l;
        size_t n;
        assert_int_equal(apitokens_list(f->db, &l, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(l[0].last_used, 1234);
        assert_string_equal(l[0].username, "bob");
        apitokens_list_free(l, n);
        assert_int_equal(apitokens_delete(f->db, id), 0);
        assert_int_equal(apitokens_delete(f->db, id), -ENOENT);
        assert_int_equal(apitokens_lookup(f->db, "abc123", &t), -ENOENT);
}

static void test_totp_state(void **state)
{
        struct fixture *f = *state;
        long long uid = users_create(f->db, "carol", "h", "viewer");
        struct totp_state t;
        assert_int_equal(totp_state_get(f->db, uid, &t), 0);
        assert_false(t.enabled);
        assert_int_equal(totp_set_pending(f->db, uid, "SECRETA"), 0);
        const char *hashes[] = {"h1", "h2"};
        assert_int_equal(totp_enable(f->db, uid, "OTHER", 10, hashes, 2), -ESTALE);
        assert_int_equal(totp_enable(f->db, uid, "SECRETA", 10, hashes, 2), 0);
        assert_int_equal(totp_state_get(f->db, uid, &t), 0);
        assert_true(t.enabled);
        assert_string_equal(t.secret, "SECRETA");
        assert_string_equal(t.pending, "");
        assert_int_equal(t.last_step, 10);
        assert_int_equal(totp_use_step(f->db, uid, 10), -EALREADY);
        assert_int_equal(totp_use_step(f->db, uid, 11), 0);
        assert_int_equal(totp_use_step(f->db, uid, 11), -EALREADY);
        assert_int_equal(totp_recovery_left(f->db, uid), 2);
        assert_int_equal(totp_use_recovery(f->db, uid, "h1"), 0);
        assert_int_equal(totp_use_recovery(f->db, uid, "h1"), -ENOENT);
        assert_int_equal(totp_recovery_left(f->db, uid), 1);
        assert_int_equal(totp_disable(f->db, uid), 0);
        assert_int_equal(totp_state_get(f->db, uid, &t), 0);
        assert_false(t.enabled);
        assert_int_equal(totp_recovery_left(f->db, uid), 0);
}

static void test_audit_list(void **state)
{
        struct fixture *f = *state;
        for (int i = 0; i < 5; i++)
                assert_int_equal(audit_add(f->db, i % 2 ? "ann" : "ben", "1.2.3.4",
                                           i % 2 ? "POST /api/sites" : "DELETE /api/sites/1",
                                           "status=200"),
                                 0);
        struct audit_row *l;
        size_t n;
        long long total;
        struct audit_filter af = {.limit = 2};
        assert_int_equal(audit_list(f->db, &af, &l, &n, &total), 0);
        assert_int_equal(total, 5);
        assert_int_equal(n, 2);
        assert_true(l[0].id > l[1].id); /* newest first */
        audit_list_free(l, n);
        af = (struct audit_filter){.user = "ann", .limit = 50};
        assert_int_equal(audit_list(f->db, &af, &l, &n, &total), 0);
        assert_int_equal(total, 2);
        audit_list_free(l, n);
        af = (struct audit_filter){.action = "DELETE", .limit = 50, .sort = "id", .asc = true};
        assert_int_equal(audit_list(f->db, &af, &l, &n, &total), 0);
        assert_int_equal(n, 3);
        assert_true(l[0].id < l[1].id);
        audit_list_free(l, n);
        af = (struct audit_filter){.since = "2999-01-01T00:00:00Z", .limit = 50};
        assert_int_equal(audit_list(f->db, &af, &l, &n, &total), 0);
        assert_int_equal(total, 0);
        /* a sort key outside the table's columns falls back to id */
        af = (struct audit_filter){.sort = "id; DROP TABLE audit_log", .limit = 50};
        assert_int_equal(audit_list(f->db, &af, &l, &n, &total), 0);
        assert_int_equal(total, 5);
        audit_list_free(l, n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
            cmocka_unit_test_setup_teardown(test_api_tokens, setup, teardown),
            cmocka_unit_test_setup_teardown(test_totp_state, setup, teardown),
            cmocka_unit_test_setup_teardown(test_audit_list, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
