#include "sys/deploy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/exec.h"

#define STEP_TIMEOUT_MS (10u * 60u * 1000u)
/* The deployment record keeps what the callback saw; this only bounds the
 * copy exec keeps for us. */
#define KEEP_OUTPUT (64u * 1024u)

/* Never prompt for credentials: there is nobody to answer. */
static const char *const git_env[] = {"GIT_TERMINAL_PROMPT=0", NULL};

static void emit(deploy_output_fn out, void *ctx, const char *s)
{
        if (out)
                out(ctx, s, strlen(s));
}

static int run_step(const char *const *argv, const char *cwd, const char *const *env,
                    deploy_output_fn out, void *ctx)
{
        struct exec_opts o = {
            .argv = argv,
            .cwd = cwd,
            .env = env,
            .timeout_ms = STEP_TIMEOUT_MS,
            .max_output = KEEP_OUTPUT,
            .on_output = out,
            .ctx = ctx,
        };
        struct exec_result res = {0};
        int r = exec_run(&o, &res);
        if (r < 0) {
                _cleanup_strbuf_ struct strbuf m = STRBUF_INIT(0);
                strbuf_printf(&m, "%s: cannot run: %s\n", argv[0], strerror(-r));
                emit(out, ctx, m.data ? m.data : "");
                return r;
        }
        if (res.timed_out) {
                emit(out, ctx, "timed out\n");
                r = -ETIMEDOUT;
        } else if (res.status != 0) {
                log_debug("deploy: %s exited with %d", argv[0], res.status);
                r = -EIO;
        }
        exec_result_free(&res);
        return r;
}

static bool safe_arg(const char *s)
{
        if (str_empty(s) || s[0] == '-')
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static bool safe_dir(const char *s)
{
        return safe_arg(s) && s[0] == '/';
}

static bool exists(const char *dir, const char *rel)
{
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        if (strbuf_printf(&p, "%s/%s", dir, rel) < 0)
                return false;
        return access(p.data, F_OK) == 0;
}

int deploy_git_clone(const char *repo, const char *branch, const char *dest, deploy_output_fn out,
                     void *ctx)
{
        /* The repo is validated upstream too; this layer refuses anything
         * git could read as an option on its own. */
        if (!safe_arg(repo) || !valid_git_branch(branch) || !safe_dir(dest))
                return -EINVAL;
        const char *const argv[] = {"git", "clone", "--branch", branch, "--progress",
                                    "--",  repo,    dest,       NULL};
        return run_step(argv, NULL, git_env, out, ctx);
}

int deploy_git_pull(const char *dir, deploy_output_fn out, void *ctx)
{
        if (!safe_dir(dir))
                return -EINVAL;
        /* The tree belongs to the app user, we are root: without this git
         * refuses it as "dubious ownership". Only for this one directory. */
        _cleanup_strbuf_ struct strbuf safe = STRBUF_INIT(0);
        if (strbuf_printf(&safe, "safe.directory=%s", dir) < 0)
                return -ENOMEM;
        const char *const argv[] = {"git", "-c", safe.data, "-C", dir, "pull", "--ff-only", NULL};
        return run_step(argv, NULL, git_env, out, ctx);
}

int deploy_python(const char *dir, deploy_output_fn out, void *ctx)
{
        if (!safe_dir(dir))
                return -EINVAL;
        _cleanup_strbuf_ struct strbuf venv = STRBUF_INIT(0);
        _cleanup_strbuf_ struct strbuf pip = STRBUF_INIT(0);
        _cleanup_strbuf_ struct strbuf req = STRBUF_INIT(0);
        if (strbuf_printf(&venv, "%s/venv", dir) < 0 ||
            strbuf_printf(&pip, "%s/venv/bin/pip", dir) < 0 ||
            strbuf_printf(&req, "%s/requirements.txt", dir) < 0)
                return -ENOMEM;
        int r;
        if (!exists(dir, "venv/bin/python3")) {
                /* The system interpreter: a venv of some per-user python (pyenv)
                 * would point into a home directory the unit cannot see. */
                const char *py =
                    access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
                const char *const argv[] = {py, "-m", "venv", "--", venv.data, NULL};
                emit(out, ctx, "$ python3 -m venv venv\n");
                r = run_step(argv, dir, NULL, out, ctx);
                if (r < 0)
                        return r;
        }
        if (access(req.data, F_OK) != 0)
                return 0;
        const char *const argv[] = {
            pip.data, "install", "--disable-pip-version-check", "--no-input", "-r", req.data, NULL};
        emit(out, ctx, "$ pip install -r requirements.txt\n");
        return run_step(argv, dir, NULL, out, ctx);
}

int deploy_node(const char *dir, deploy_output_fn out, void *ctx)
{
        if (!safe_dir(dir))
                return -EINVAL;
        bool lock = exists(dir, "package-lock.json");
        if (!lock && !exists(dir, "package.json"))
                return 0;
        const char *const argv[] = {"npm", lock ? "ci" : "install", "--no-audit", "--no-fund",
                                    NULL};
        emit(out, ctx, lock ? "$ npm ci\n" : "$ npm install\n");
        return run_step(argv, dir, NULL, out, ctx);
}

static bool port_free(int port)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        return ok;
}

int deploy_pick_port(int lo, int hi, const int *used, size_t n)
{
        if (lo < 1 || hi > 65535 || lo > hi)
                return 0;
        for (int p = lo; p <= hi; p++) {
                bool taken = false;
                for (size_t i = 0; i < n && !taken; i++)
                        taken = used[i] == p;
                if (!taken && port_free(p))
                        return p;
        }
        return 0;
}
