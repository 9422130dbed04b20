/* The helper's app tree, deploy, backup and AUTARCH ops driven through
 * helper_serve_call with hostile requests: each must be refused and do
 * nothing (no file made, removed or given away, no program run).
 *
 * Every call is served in a forked child inside a private mount namespace
 * whose /usr/local/sbin (first in exec's PATH) holds recorders named like
 * the programs the ops run (git, npm, go, useradd, userdel): a program that
 * ran leaves its argv in a file. The valid requests show that the
 * recorders and the file checks do see what happens. Needs root (chown,
 * unshare); skipped otherwise. */
#include <stdbool.h>

#include "core/config.h"
#include "core/ini.h"

static struct config cfg;
#include "helper_ops.h"

static char www[256], backups[256], autarch[256], outside[256];

static const char *const progs[] = {"git", "npm", "go", "useradd", "userdel", NULL};

static char *pth(const char *base, const char *rel)
{
        static char buf[4][600];
        static int k;
        k = (k + 1) % 4;
        snprintf(buf[k], sizeof(buf[k]), "%s/%s", base, rel);
        return buf[k];
}

static bool exists(const char *p)
{
        struct stat st;
        return lstat(p, &st) == 0;
}

static uid_t owner(const char *p)
{
        struct stat st;
        return lstat(p, &st) == 0 ? st.st_uid : (uid_t)-1;
}

static int setup(void **state)
{
        (void)state;
        if (geteuid() != 0)
                return 0;
        if (ops_setup("/tmp/setec-helper-dep-XXXXXX", progs) < 0)
                return -1;
        snprintf(www, sizeof(www), "%s/www", ops_dir);
        snprintf(backups, sizeof(backups), "%s/backups", ops_dir);
        snprintf(autarch, sizeof(autarch), "%s/opt/autarch", ops_dir);
        snprintf(outside, sizeof(outside), "%s/outside", ops_dir);
        if (mkdir(www, 0755) < 0 || mkdir(backups, 0700) < 0 || mkdir(outside, 0755) < 0)
                return -1;
        /* what the hostile requests aim at */
        if (write_file_atomic(pth(outside, "victim"), "x", 1, 0644) < 0 ||
            mkdir(pth(www, "site"), 0755) < 0 ||
            write_file_atomic(pth(www, "site/index.html"), "hi", 2, 0644) < 0 ||
            symlink(outside, pth(www, "site/link")) < 0 ||
            write_file_atomic(pth(outside, "a.tar.gz"), "x", 1, 0644) < 0)
                return -1;
        if (config_defaults(&cfg) < 0)
                return -1;
        free(cfg.nginx.webroot);
        cfg.nginx.webroot = strdup(www);
        free(cfg.backups.dir);
        cfg.backups.dir = strdup(backups);
        free(cfg.autarch.install_dir);
        cfg.autarch.install_dir = strdup(autarch);
        free(cfg.server.user);
        cfg.server.user = strdup("");
        return 0;
}

static void test_tree_prepare_refused(void **state)
{
        (void)state;
        need_root();
        /* outside the webroot, through "..", the webroot itself, via a link */
        REFUSED(req(HOP_TREE_PREPARE, "ss", pth(outside, "new"), ""), -EPERM);
        assert_false(exists(pth(outside, "new")));
        REFUSED(req(HOP_TREE_PREPARE, "ss", pth(www, "../outside/new2"), ""), -EPERM);
        assert_false(exists(pth(outside, "new2")));
        REFUSED(req(HOP_TREE_PREPARE, "ss", www, "root"), -EPERM);
        REFUSED(req(HOP_TREE_PREPARE, "ss", pth(www, "site/link/new3"), ""), -EPERM);
        assert_false(exists(pth(outside, "new3")));
        REFUSED(req(HOP_TREE_PREPARE, "ss", "/etc/setec-evil", ""), -EPERM);
        assert_false(exists("/etc/setec-evil"));
        /* users that are no site user */
        const char *users[] = {"nobody", "setec", "setec-s0", "setec-s1x", "autarch", "-r", "a b"};
        for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
                REFUSED(req(HOP_TREE_PREPARE, "ss", pth(www, "new4"), users[i]), -EPERM);
                assert_false(exists(pth(www, "new4")));
        }
        /* the autarch user only in its own tree */
        REFUSED(req(HOP_TREE_CHOWN, "ss", pth(www, "site"), "autarch"), -EPERM);
}

static void test_tree_chown_remove_refused(void **state)
{
        (void)state;
        need_root();
        REFUSED(req(HOP_TREE_CHOWN, "ss", pth(outside, "victim"), "root"), -EPERM);
        REFUSED(req(HOP_TREE_CHOWN, "ss", pth(www, "site"), "daemon"), -EPERM);
        REFUSED(req(HOP_TREE_CHOWN, "ss", pth(www, "site/link/victim"), "root"), -EPERM);
        REFUSED(req(HOP_TREE_CHOWN, "ss", www, "root"), -EPERM);
        REFUSED(req(HOP_TREE_REMOVE, "si", pth(outside, "victim"), 1LL), -EPERM);
        REFUSED(req(HOP_TREE_PLACEHOLDER, "ss", pth(outside, "victim"), "a.test"), -EPERM);
        REFUSED(req(HOP_TREE_PLACEHOLDER, "ss", pth(www, "../outside"), "a.test"), -EPERM);
        REFUSED(req(HOP_TREE_REMOVE, "si", pth(www, "../outside/victim"), 1LL), -EPERM);
        REFUSED(req(HOP_TREE_REMOVE, "si", pth(www, "site/link/victim"), 1LL), -EPERM);
        REFUSED(req(HOP_TREE_REMOVE, "si", www, 0LL), -EPERM);
        REFUSED(req(HOP_TREE_REMOVE, "si", pth(www, "site/"), 1LL), -EPERM);
        REFUSED(req(HOP_TREE_REMOVE, "si", "/", 1LL), -EPERM);
        assert_true(exists(pth(outside, "victim")));
        assert_true(exists(pth(www, "site/index.html")));
        /* wrong shapes: nothing runs */
        REFUSED(req(HOP_TREE_REMOVE, "ss", pth(www, "site"), "1"), -EINVAL);
        REFUSED(req(HOP_TREE_CHOWN, "s", pth(www, "site")), -EINVAL);
        REFUSED(req(HOP_TREE_PREPARE, "is", 1LL, "root"), -EINVAL);
        assert_true(exists(pth(www, "site/index.html")));
}

static void test_tree_valid(void **state)
{
        (void)state;
        need_root();
        struct result r = req(HOP_TREE_PREPARE, "ss", pth(www, "made/deep"), "root");
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.extra, 1);
        assert_true(exists(pth(www, "made/deep")));
        r = req(HOP_TREE_PREPARE, "ss", pth(www, "made/deep"), "");
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.extra, 0);
        assert_int_equal(req(HOP_TREE_CHOWN, "ss", pth(www, "made"), "root").rc, 0);
        assert_int_equal(req(HOP_TREE_REMOVE, "si", pth(www, "made"), 1LL).rc, 0);
        assert_false(exists(pth(www, "made")));
        /* AUTARCH's tree, the install dir itself included */
        r = req(HOP_TREE_PREPARE, "ss", autarch, "");
        assert_int_equal(r.rc, 0);
        assert_true(exists(autarch));
        assert_int_equal(req(HOP_TREE_REMOVE, "si", autarch, 1LL).rc, 0);
        assert_false(exists(autarch));
        assert_int_equal(owner(pth(outside, "victim")), 0);
}

static void test_deploy_refused(void **state)
{
        (void)state;
        need_root();
        const char *site = pth(www, "site");
        /* site id 0 or negative */
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_pull", 0LL, site, "", ""), -EINVAL);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_pull", -3LL, site, "", ""), -EINVAL);
        /* dirs outside the webroot, "..", the webroot, through a link */
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_pull", 1LL, outside, "", ""), -EPERM);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_pull", 1LL, pth(www, "../outside"), "", ""),
                -EPERM);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_pull", 1LL, www, "", ""), -EPERM);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_pull", 1LL, pth(www, "site/link"), "", ""),
                -EPERM);
        /* unknown steps */
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "rm", 1LL, site, "", ""), -EINVAL);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "", 1LL, site, "", ""), -EINVAL);
        /* repositories and branches git could read as options, other transports */
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_clone", 1LL, pth(www, "new"),
                    "--upload-pack=touch /tmp/x", "main"),
                -EINVAL);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_clone", 1LL, pth(www, "new"), "ext::sh -c x",
                    "main"),
                -EINVAL);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_clone", 1LL, pth(www, "new"), "/etc", "main"),
                -EINVAL);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_clone", 1LL, pth(www, "new"),
                    "https://example.com/r.git", "--orphan"),
                -EINVAL);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_pull", 1LL, site, "/etc", ""), -EINVAL);
        /* a site without its user (static): app code never as root */
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "python", 999999LL, site, "", ""), -EPERM);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "node", 999999LL, site, "", ""), -EPERM);
        /* git as root only in root's tree */
        assert_int_equal(chown(pth(www, "site"), 1, 1), 0);
        REFUSED(req(HOP_DEPLOY_STEP, "sisss", "git_pull", 999999LL, site, "", ""), -EPERM);
        assert_int_equal(chown(pth(www, "site"), 0, 0), 0);
        /* wrong shape */
        REFUSED(req(HOP_DEPLOY_STEP, "ssss", "git_pull", site, "", ""), -EINVAL);
        REFUSED(req(HOP_DEPLOY_STEP, "sisssi", "git_pull", 1LL, site, "", "", 1LL), -EINVAL);
        assert_false(exists(pth(www, "new")));
}

static void test_deploy_valid_runs(void **state)
{
        (void)state;
        need_root();
        /* a static site's pull in root's tree runs git (the recorder) */
        struct result r =
            req(HOP_DEPLOY_STEP, "sisss", "git_pull", 999999LL, pth(www, "site"), "", "");
        _cleanup_free_ char *seen = recorded();
        assert_int_equal(r.rc, 0);
        assert_non_null(strstr(seen, "git -C "));
        assert_non_null(strstr(seen, "pull --ff-only"));
}

static void test_backup_refused(void **state)
{
        (void)state;
        need_root();
        const char *site = pth(www, "site");
        /* dest outside backups.dir, "..", not a .tar.gz, hidden, in a subdir */
        REFUSED(req(HOP_BACKUP_CREATE, "ssss", "site", site, "", pth(outside, "b.tar.gz")), -EPERM);
        REFUSED(
            req(HOP_BACKUP_CREATE, "ssss", "site", site, "", pth(backups, "../outside/b.tar.gz")),
            -EPERM);
        REFUSED(req(HOP_BACKUP_CREATE, "ssss", "site", site, "", pth(backups, "b.txt")), -EPERM);
        REFUSED(req(HOP_BACKUP_CREATE, "ssss", "site", site, "", pth(backups, ".b.tar.gz")),
                -EPERM);
        REFUSED(req(HOP_BACKUP_CREATE, "ssss", "site", site, "", pth(backups, "x/b.tar.gz")),
                -EPERM);
        assert_false(exists(pth(outside, "b.tar.gz")));
        /* a site root outside the webroot, the webroot, /etc */
        const char *roots[] = {outside, www, "/etc", pth(www, "site/link")};
        for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
                REFUSED(
                    req(HOP_BACKUP_CREATE, "ssss", "site", roots[i], "", pth(backups, "b.tar.gz")),
                    -EPERM);
        /* full: the snapshot must be one of backups.dir */
        REFUSED(req(HOP_BACKUP_CREATE, "ssss", "full", "", "/etc/shadow", pth(backups, "f.tar.gz")),
                -EPERM);
        REFUSED(req(HOP_BACKUP_CREATE, "ssss", "full", "", pth(backups, ".setec-db-snapshot-1"),
                    pth(backups, "f.tar.gz")),
                -EPERM); /* missing */
        REFUSED(req(HOP_BACKUP_CREATE, "ssss", "other", site, "", pth(backups, "b.tar.gz")),
                -EINVAL);
        assert_false(exists(pth(backups, "b.tar.gz")));
        assert_false(exists(pth(backups, "f.tar.gz")));
        /* restore: the archive in backups.dir, the target inside the webroot */
        REFUSED(req(HOP_BACKUP_RESTORE, "ss", pth(outside, "a.tar.gz"), site), -EPERM);
        REFUSED(req(HOP_BACKUP_RESTORE, "ss", pth(backups, "../outside/a.tar.gz"), site), -EPERM);
        REFUSED(req(HOP_BACKUP_RESTORE, "ss", pth(backups, "none.tar.gz"), site), -EPERM);
        REFUSED(req(HOP_BACKUP_RESTORE, "ss", pth(backups, "none.tar.gz"), outside), -EPERM);
        REFUSED(req(HOP_BACKUP_RESTORE, "ss", pth(backups, "none.tar.gz"), www), -EPERM);
        REFUSED(req(HOP_BACKUP_RESTORE, "s", pth(backups, "none.tar.gz")), -EINVAL);
        assert_true(exists(pth(www, "site/index.html")));
}

static void test_backup_valid(void **state)
{
        (void)state;
        need_root();
        const char *dest = pth(backups, "site-1.tar.gz");
        struct result r = req(HOP_BACKUP_CREATE, "ssss", "site", pth(www, "site"), "", dest);
        if (r.rc == -ENOSYS || strstr(r.msg, "libarchive"))
                skip();
        assert_int_equal(r.rc, 0);
        assert_true(r.extra >= 1); /* files */
        assert_true(exists(dest));
        r = req(HOP_BACKUP_RESTORE, "ss", dest, pth(www, "restored"));
        assert_int_equal(r.rc, 0);
        assert_true(exists(pth(www, "restored/index.html")));
}

static void test_autarch_refused(void **state)
{
        (void)state;
        need_root();
        assert_int_equal(mkdir_p(autarch, 0755), 0);
        const char *settings = pth(autarch, "autarch_settings.conf");
        /* bad INI texts: no section, a NUL inside, a duplicate section */
        REFUSED(req(HOP_AUTARCH_CONFIG_WRITE, "b", "key = 1\n", (size_t)8), -EINVAL);
        REFUSED(req(HOP_AUTARCH_CONFIG_WRITE, "b", "[a]\nk = 1\0\n", (size_t)11), -EINVAL);
        REFUSED(req(HOP_AUTARCH_CONFIG_WRITE, "b", "[a]\n[a]\n", (size_t)8), -EINVAL);
        REFUSED(req(HOP_AUTARCH_CONFIG_WRITE, "s", "[a]\nk = 1\n"), -EINVAL);
        assert_false(exists(settings));
        /* unknown steps, bad args, bad flags, wrong shapes */
        const char *steps[] = {"", "rm", "clone ", "CLONE", "../clone", "shell"};
        for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
                REFUSED(req(HOP_AUTARCH_STEP, "ssi", steps[i], "", 0LL), -EINVAL);
        REFUSED(req(HOP_AUTARCH_STEP, "ssi", "reset", "--hard", 0LL), -EINVAL);
        REFUSED(req(HOP_AUTARCH_STEP, "ssi", "reset", "HEAD~1", 0LL), -EINVAL);
        REFUSED(req(HOP_AUTARCH_STEP, "ssi", "clone_undo", "", 4LL), -EINVAL);
        REFUSED(req(HOP_AUTARCH_STEP, "ssi", "clone_undo", "", -1LL), -EINVAL);
        REFUSED(req(HOP_AUTARCH_STEP, "ss", "pull", ""), -EINVAL);
        REFUSED(req(HOP_AUTARCH_STEP, "sss", "pull", "", "x"), -EINVAL);
        assert_true(exists(autarch));
        /* a valid text is written 0600 */
        struct result r = req(HOP_AUTARCH_CONFIG_WRITE, "b", "[web]\nport = 1\n", (size_t)15);
        assert_int_equal(r.rc, 0);
        struct stat st;
        assert_int_equal(stat(settings, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        /* and read back (the autarch user's file) within a size */
        assert_int_equal(req(HOP_AUTARCH_CONFIG_READ, "i", 1024LL).rc, 0);
        REFUSED(req(HOP_AUTARCH_CONFIG_READ, "i", 4LL), -EFBIG);
        REFUSED(req(HOP_AUTARCH_CONFIG_READ, "i", -1LL), -EINVAL);
        REFUSED(req(HOP_AUTARCH_CONFIG_READ, "i", (long long)INI_MAX_SIZE + 1), -EINVAL);
        REFUSED(req(HOP_AUTARCH_CONFIG_READ, "s", "/etc/shadow"), -EINVAL);
}

static void test_unknown_op_and_malformed(void **state)
{
        (void)state;
        need_root();
        REFUSED(req(999, "s", "x"), -EOPNOTSUPP);
        REFUSED(req(HOP_TREE_PREPARE, "ssi", pth(www, "x"), "", 1LL), -EINVAL);
        assert_false(exists(pth(www, "x")));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_tree_prepare_refused),
            cmocka_unit_test(test_tree_chown_remove_refused),
            cmocka_unit_test(test_tree_valid),
            cmocka_unit_test(test_deploy_refused),
            cmocka_unit_test(test_deploy_valid_runs),
            cmocka_unit_test(test_backup_refused),
            cmocka_unit_test(test_backup_valid),
            cmocka_unit_test(test_autarch_refused),
            cmocka_unit_test(test_unknown_op_and_malformed),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
