/* Deploy helpers against real git, python3 -m venv and npm, all local: a
 * bare repository in a temp dir, no network. */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "base/strbuf.h"
#include "sys/deploy.h"
#include "sys/exec.h"

static char tmp[] = "/tmp/setec-deploy-XXXXXX";
static char bare[256], work[256];

struct out {
        struct strbuf b;
        int calls;
};

static void collect(void *ctx, const char *data, size_t len)
{
        struct out *o = ctx;
        o->calls++;
        strbuf_append(&o->b, data, len);
}

static const char *out_text(struct out *o)
{
        return o->b.data ? o->b.data : "";
}

/* Run a helper command of the test itself (not the code under test). */
static void sh(const char *cwd, const char *const *argv)
{
        static const char *const env[] = {"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
                                          "GIT_COMMITTER_NAME=t",
                                          "GIT_COMMITTER_EMAIL=t@example.com", NULL};
        struct exec_opts o = {.argv = argv, .cwd = cwd, .env = env, .timeout_ms = 60000};
        struct exec_result r = {0};
        assert_int_equal(exec_run(&o, &r), 0);
        if (r.status != 0)
                fail_msg("%s failed (%d): %s", argv[1], r.status, r.output);
        exec_result_free(&r);
}

static void put(const char *dir, const char *rel, const char *text)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
}

static char *get(const char *dir, const char *rel)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        char *t = NULL;
        size_t len;
        if (read_file(p, 1 << 20, &t, &len) < 0)
                return NULL;
        return t;
}

static void commit_push(const char *msg)
{
        sh(work, (const char *const[]){"git", "add", "-A", NULL});
        sh(work, (const char *const[]){"git", "commit", "-q", "-m", msg, NULL});
        sh(work, (const char *const[]){"git", "push", "-q", "origin", "HEAD:main", NULL});
}

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(tmp) || !exec_find("git"))
                return -1;
        snprintf(bare, sizeof(bare), "%s/repo.git", tmp);
        snprintf(work, sizeof(work), "%s/work", tmp);
        sh(tmp, (const char *const[]){"git", "init", "-q", "--bare", "-b", "main", bare, NULL});
        sh(tmp, (const char *const[]){"git", "clone", "-q", "--", bare, work, NULL});
        sh(work, (const char *const[]){"git", "checkout", "-q", "-b", "main", NULL});
        put(work, "index.html", "version 1\n");
        commit_push("one");
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        sh("/", (const char *const[]){"rm", "-rf", "--", tmp, NULL});
        return 0;
}

static void test_clone_and_pull(void **state)
{
        (void)state;
        char dest[300];
        snprintf(dest, sizeof(dest), "%s/site-a", tmp);
        struct out o = {.b = STRBUF_INIT(1 << 20)};
        assert_int_equal(deploy_git_clone(NULL, bare, "main", dest, collect, &o), 0);
        char *t = get(dest, "index.html");
        assert_non_null(t);
        assert_string_equal(t, "version 1\n");
        free(t);
        /* --progress: git's own output reached the callback */
        assert_true(o.calls > 0);
        assert_non_null(strstr(out_text(&o), "Cloning into"));
        strbuf_free(&o.b);

        put(work, "index.html", "version 2\n");
        commit_push("two");
        o = (struct out){.b = STRBUF_INIT(1 << 20)};
        assert_int_equal(deploy_git_pull(NULL, dest, collect, &o), 0);
        t = get(dest, "index.html");
        assert_string_equal(t, "version 2\n");
        free(t);
        assert_non_null(strstr(out_text(&o), "Fast-forward"));
        strbuf_free(&o.b);

        /* a diverged history is not merged: --ff-only fails, files stay */
        sh(dest, (const char *const[]){"git", "-c", "user.name=x", "-c", "user.email=x@x", "commit",
                                       "-q", "--allow-empty", "-m", "local", NULL});
        put(work, "index.html", "version 3\n");
        commit_push("three");
        o = (struct out){.b = STRBUF_INIT(1 << 20)};
        assert_int_equal(deploy_git_pull(NULL, dest, collect, &o), -EIO);
        t = get(dest, "index.html");
        assert_string_equal(t, "version 2\n");
        free(t);
        assert_true(strlen(out_text(&o)) > 0);
        strbuf_free(&o.b);
}

static void test_clone_into_nonempty_fails(void **state)
{
        (void)state;
        char dest[300];
        snprintf(dest, sizeof(dest), "%s/site-full", tmp);
        assert_int_equal(mkdir_p(dest, 0755), 0);
        put(dest, "keep", "mine\n");
        struct out o = {.b = STRBUF_INIT(1 << 20)};
        assert_int_equal(deploy_git_clone(NULL, bare, "main", dest, collect, &o), -EIO);
        assert_non_null(strstr(out_text(&o), "already exists and is not an empty directory"));
        char *t = get(dest, "keep");
        assert_string_equal(t, "mine\n");
        free(t);
        strbuf_free(&o.b);
}

static void test_missing_branch(void **state)
{
        (void)state;
        char dest[300];
        snprintf(dest, sizeof(dest), "%s/site-b", tmp);
        struct out o = {.b = STRBUF_INIT(1 << 20)};
        assert_int_equal(deploy_git_clone(NULL, bare, "no-such-branch", dest, collect, &o), -EIO);
        /* git's own message, for the deployment log */
        assert_non_null(strstr(out_text(&o), "no-such-branch"));
        assert_non_null(strstr(out_text(&o), "not found"));
        strbuf_free(&o.b);
        /* a missing repository too */
        char nope[300];
        snprintf(nope, sizeof(nope), "%s/nope.git", tmp);
        o = (struct out){.b = STRBUF_INIT(1 << 20)};
        assert_int_equal(deploy_git_clone(NULL, nope, "main", dest, collect, &o), -EIO);
        assert_non_null(strstr(out_text(&o), "does not exist"));
        strbuf_free(&o.b);
}

static void test_option_injection_refused(void **state)
{
        (void)state;
        char dest[300], marker[300], evil[700];
        snprintf(dest, sizeof(dest), "%s/site-evil", tmp);
        snprintf(marker, sizeof(marker), "%s/pwned", tmp);
        snprintf(evil, sizeof(evil), "--upload-pack=touch %s", marker);
        struct out o = {.b = STRBUF_INIT(1 << 20)};
        assert_int_equal(deploy_git_clone(NULL, evil, "main", dest, collect, &o), -EINVAL);
        assert_int_equal(deploy_git_clone(NULL, "-u", "main", dest, collect, &o), -EINVAL);
        assert_int_equal(deploy_git_clone(NULL, bare, "-b", dest, collect, &o), -EINVAL);
        assert_int_equal(deploy_git_clone(NULL, bare, "main", "-x", collect, &o), -EINVAL);
        assert_int_equal(deploy_git_clone(NULL, bare, "main", "relative/dir", collect, &o),
                         -EINVAL);
        assert_int_equal(deploy_git_clone(NULL, bare, "a..b", dest, collect, &o), -EINVAL);
        assert_int_equal(deploy_git_clone(NULL, bare, "main\n", dest, collect, &o), -EINVAL);
        assert_int_equal(deploy_git_clone(NULL, "", "main", dest, collect, &o), -EINVAL);
        assert_int_equal(deploy_git_clone(NULL, NULL, "main", dest, collect, &o), -EINVAL);
        assert_int_equal(deploy_git_pull(NULL, "-C/", collect, &o), -EINVAL);
        assert_int_equal(deploy_python(NULL, "--help", collect, &o), -EINVAL);
        assert_int_equal(deploy_node(NULL, "rel", collect, &o), -EINVAL);
        /* nothing ran: no output, no marker, no directory */
        assert_int_equal(o.calls, 0);
        assert_int_equal(access(marker, F_OK), -1);
        assert_int_equal(access(dest, F_OK), -1);
        strbuf_free(&o.b);
}

static void test_python_venv(void **state)
{
        (void)state;
        char dir[300];
        snprintf(dir, sizeof(dir), "%s/py", tmp);
        assert_int_equal(mkdir_p(dir, 0755), 0);
        put(dir, "requirements.txt", "# stdlib only\n");
        struct out o = {.b = STRBUF_INIT(4 << 20)};
        int r = deploy_python(NULL, dir, collect, &o);
        if (r != 0 && strstr(out_text(&o), "ensurepip")) {
                strbuf_free(&o.b);
                skip(); /* python3-venv missing: cannot make a venv here */
                return;
        }
        if (r != 0)
                fail_msg("deploy_python: %d\n%s", r, out_text(&o));
        char p[400];
        snprintf(p, sizeof(p), "%s/venv/bin/python3", dir);
        assert_int_equal(access(p, X_OK), 0);
        snprintf(p, sizeof(p), "%s/venv/bin/pip", dir);
        assert_int_equal(access(p, X_OK), 0);
        assert_non_null(strstr(out_text(&o), "pip install"));
        strbuf_free(&o.b);
        /* the venv's python is the system one, never a per-user build */
        snprintf(p, sizeof(p), "%s/venv/pyvenv.cfg", dir);
        char *cfg = get(dir, "venv/pyvenv.cfg");
        assert_non_null(cfg);
        assert_non_null(strstr(cfg, "home = /usr/bin"));
        free(cfg);

        /* second run: the venv is kept, requirements installed again */
        o = (struct out){.b = STRBUF_INIT(4 << 20)};
        assert_int_equal(deploy_python(NULL, dir, collect, &o), 0);
        assert_null(strstr(out_text(&o), "venv venv"));
        assert_non_null(strstr(out_text(&o), "pip install"));
        strbuf_free(&o.b);

        /* a requirement that cannot be satisfied fails the step */
        put(dir, "requirements.txt", "./no-such-local-package\n");
        o = (struct out){.b = STRBUF_INIT(4 << 20)};
        assert_int_equal(deploy_python(NULL, dir, collect, &o), -EIO);
        strbuf_free(&o.b);

        /* without requirements.txt only the venv matters */
        snprintf(p, sizeof(p), "%s/requirements.txt", dir);
        assert_int_equal(unlink(p), 0);
        o = (struct out){.b = STRBUF_INIT(4 << 20)};
        assert_int_equal(deploy_python(NULL, dir, collect, &o), 0);
        assert_null(strstr(out_text(&o), "pip install"));
        strbuf_free(&o.b);
}

static void test_node(void **state)
{
        (void)state;
        if (!exec_find("npm")) {
                skip();
                return;
        }
        char dir[300];
        snprintf(dir, sizeof(dir), "%s/node", tmp);
        assert_int_equal(mkdir_p(dir, 0755), 0);
        struct out o = {.b = STRBUF_INIT(4 << 20)};
        /* nothing to do without package.json */
        assert_int_equal(deploy_node(NULL, dir, collect, &o), 0);
        assert_int_equal(o.calls, 0);

        put(dir, "package.json", "{\"name\":\"t\",\"version\":\"1.0.0\",\"dependencies\":{}}\n");
        int r = deploy_node(NULL, dir, collect, &o);
        if (r != 0)
                fail_msg("npm install: %d\n%s", r, out_text(&o));
        assert_non_null(strstr(out_text(&o), "$ npm install"));
        /* npm install wrote the lockfile: the next run uses npm ci */
        char *lock = get(dir, "package-lock.json");
        assert_non_null(lock);
        free(lock);
        strbuf_free(&o.b);
        o = (struct out){.b = STRBUF_INIT(4 << 20)};
        r = deploy_node(NULL, dir, collect, &o);
        if (r != 0)
                fail_msg("npm ci: %d\n%s", r, out_text(&o));
        assert_non_null(strstr(out_text(&o), "$ npm ci"));
        strbuf_free(&o.b);

        /* a broken lockfile fails npm ci */
        put(dir, "package-lock.json", "not json");
        o = (struct out){.b = STRBUF_INIT(4 << 20)};
        assert_int_equal(deploy_node(NULL, dir, collect, &o), -EIO);
        strbuf_free(&o.b);
}

/* The uid written by a planted program (0 = root ran it: the defect). */
static long uid_in(const char *dir, const char *rel)
{
        char *t = get(dir, rel);
        if (!t)
                return -1;
        long v = strtol(t, NULL, 10);
        free(t);
        return v;
}

/* Every step as the site user: clone, pull, venv, pip. A core.fsmonitor
 * planted in the tree's .git/config and a replaced venv/bin/pip run as that
 * user, never as root; root's own pull of the user's tree is refused by git
 * (no safe.directory override). Needs root. */
static void test_steps_run_as_site_user(void **state)
{
        (void)state;
        if (geteuid() != 0) {
                skip();
                return;
        }
        struct exec_user nobody;
        assert_int_equal(exec_user_lookup("nobody", &nobody), 0);
        assert_int_equal(chmod(tmp, 0755), 0); /* the user reads the source repository */
        char dest[300], hook[400], line[4200];
        snprintf(dest, sizeof(dest), "%s/site-user", tmp);
        assert_int_equal(mkdir(dest, 0755), 0);
        assert_int_equal(chown(dest, nobody.uid, nobody.gid), 0);
        /* git.ca_bundle reaches git as GIT_SSL_CAINFO */
        struct deploy_as as = {
            .user = "nobody", .local_source = bare, .ca_bundle = "/etc/setec-test/ca.pem"};
        setenv("SETEC_SECRET_FOR_TEST", "leak", 1);
        struct out o = {.b = STRBUF_INIT(1 << 20)};
        int r = deploy_git_clone(&as, bare, "main", dest, collect, &o);
        if (r != 0)
                fail_msg("clone as nobody: %d\n%s", r, out_text(&o));
        strbuf_free(&o.b);
        struct stat st;
        snprintf(line, sizeof(line), "%s/index.html", dest);
        assert_int_equal(stat(line, &st), 0);
        assert_int_equal(st.st_uid, nobody.uid);
        /* the trusted-source config file is gone after the step */
        glob_t g;
        assert_int_equal(glob("/tmp/setec-gitconfig-*", 0, NULL, &g), GLOB_NOMATCH);

        /* plant a core.fsmonitor that records who runs it */
        snprintf(hook, sizeof(hook), "%s/fsmonitor.sh", tmp);
        snprintf(line, sizeof(line),
                 "#!/bin/sh\nid -u > %s/fsmonitor-uid\nenv > %s/fsmonitor-env\nexit 1\n", dest,
                 dest);
        assert_int_equal(write_file_atomic(hook, line, strlen(line), 0755), 0);
        snprintf(line, sizeof(line), "%s/.git/config", dest);
        FILE *f = fopen(line, "a");
        assert_non_null(f);
        fprintf(f, "[core]\n\tfsmonitor = %s\n", hook);
        fclose(f);
        put(work, "index.html", "version u2\n");
        commit_push("u2");

        /* root (as = NULL) is refused the user's tree: git's ownership check */
        o = (struct out){.b = STRBUF_INIT(1 << 20)};
        assert_int_equal(deploy_git_pull(NULL, dest, collect, &o), -EIO);
        assert_non_null(strstr(out_text(&o), "dubious ownership"));
        assert_int_equal(uid_in(dest, "fsmonitor-uid"), -1);
        strbuf_free(&o.b);

        o = (struct out){.b = STRBUF_INIT(1 << 20)};
        r = deploy_git_pull(&as, dest, collect, &o);
        if (r != 0)
                fail_msg("pull as nobody: %d\n%s", r, out_text(&o));
        strbuf_free(&o.b);
        char *t = get(dest, "index.html");
        assert_string_equal(t, "version u2\n");
        free(t);
        assert_int_equal(uid_in(dest, "fsmonitor-uid"), (long)nobody.uid);
        /* git's environment: the fixed minimum plus what was named, nothing of ours */
        t = get(dest, "fsmonitor-env");
        assert_non_null(t);
        assert_non_null(strstr(t, "GIT_SSL_CAINFO=/etc/setec-test/ca.pem\n"));
        assert_non_null(strstr(t, "GIT_TERMINAL_PROMPT=0\n"));
        /* (git puts its exec-path in front for its helpers) */
        assert_non_null(strstr(t, ":" EXEC_PATH "\n"));
        snprintf(line, sizeof(line), "HOME=%s\n", nobody.home);
        assert_non_null(strstr(t, line));
        assert_null(strstr(t, "SETEC_SECRET_FOR_TEST"));
        free(t);
        unsetenv("SETEC_SECRET_FOR_TEST");

        /* venv as the user, then a replaced venv/bin/pip: it runs as the user */
        put(dest, "requirements.txt", "# stdlib only\n");
        o = (struct out){.b = STRBUF_INIT(4 << 20)};
        r = deploy_python(&as, dest, collect, &o);
        if (r != 0 && strstr(out_text(&o), "ensurepip")) {
                strbuf_free(&o.b);
                return; /* python3-venv missing */
        }
        if (r != 0)
                fail_msg("venv as nobody: %d\n%s", r, out_text(&o));
        strbuf_free(&o.b);
        snprintf(line, sizeof(line), "%s/venv/bin/python3", dest);
        assert_int_equal(lstat(line, &st), 0);
        assert_int_equal(st.st_uid, nobody.uid);
        snprintf(line, sizeof(line), "#!/bin/sh\nid -u > %s/pip-uid\n", dest);
        snprintf(hook, sizeof(hook), "%s/venv/bin/pip", dest);
        unlink(hook);
        assert_int_equal(write_file_atomic(hook, line, strlen(line), 0755), 0);
        o = (struct out){.b = STRBUF_INIT(4 << 20)};
        assert_int_equal(deploy_python(&as, dest, collect, &o), 0);
        strbuf_free(&o.b);
        assert_int_equal(uid_in(dest, "pip-uid"), (long)nobody.uid);

        /* a user name that resolves to root is refused */
        struct deploy_as root_as = {.user = "root"};
        o = (struct out){.b = STRBUF_INIT(1 << 20)};
        assert_int_equal(deploy_python(&root_as, dest, collect, &o), -EPERM);
        strbuf_free(&o.b);
}

static void test_pick_port(void **state)
{
        (void)state;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(fd, 1), 0);
        socklen_t len = sizeof(a);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        int bound = ntohs(a.sin_port);

        /* the only port of the range is bound: none */
        assert_int_equal(deploy_pick_port(bound, bound, NULL, 0), 0);
        /* the bound port is skipped */
        int lo = bound > 65000 ? bound - 2 : bound;
        int got = deploy_pick_port(lo, lo + 2, NULL, 0);
        assert_true(got >= lo && got <= lo + 2);
        assert_int_not_equal(got, bound);
        /* ports of other sites are skipped too */
        int used[] = {got};
        int got2 = deploy_pick_port(lo, lo + 2, used, 1);
        if (got2 != 0) {
                assert_int_not_equal(got2, bound);
                assert_int_not_equal(got2, got);
        }
        int all[] = {lo, lo + 1, lo + 2};
        assert_int_equal(deploy_pick_port(lo, lo + 2, all, 3), 0);
        /* bad ranges */
        assert_int_equal(deploy_pick_port(0, 10, NULL, 0), 0);
        assert_int_equal(deploy_pick_port(2000, 1000, NULL, 0), 0);
        assert_int_equal(deploy_pick_port(65535, 65536, NULL, 0), 0);
        close(fd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_clone_and_pull), cmocka_unit_test(test_clone_into_nonempty_fails),
            cmocka_unit_test(test_missing_branch), cmocka_unit_test(test_option_injection_refused),
            cmocka_unit_test(test_python_venv),    cmocka_unit_test(test_node),
            cmocka_unit_test(test_pick_port),      cmocka_unit_test(test_steps_run_as_site_user),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
