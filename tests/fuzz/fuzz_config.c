/* config.yaml loading (core/config.h). The input is the file (a memfd,
 * opened by config_load through /proc/self/fd). A load either succeeds with
 * every value inside the limits config.c's key table and check_config()
 * promise, or fails naming the file, with the caller's config left as it
 * was. Every message (error or unknown-key warning) is printable: it goes to
 * logs and terminals. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/util.h"
#include "base/validate.h"
#include "core/config.h"
#include "fuzz.h"

static int memfd = -1;
static char path[64];

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
                        return false;
        return true;
}

static void warn(const char *msg)
{
        CHECK(msg && startswith(msg, "unknown config key '") && printable(msg));
}

static bool plain_text(const char *s)
{
        if (!s || strlen(s) > 4096)
                return false;
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static bool port(int p)
{
        return p >= 1 && p <= 65535;
}

static void check_list(const struct config_strlist *l, bool (*ok)(const char *))
{
        CHECK(l->n <= 256 && (l->n == 0 || l->items));
        for (size_t i = 0; i < l->n; i++)
                CHECK(plain_text(l->items[i]) && ok(l->items[i]));
}

static void check_loaded(const struct config *c)
{
        CHECK(streq(c->path, path));
        const char *const strs[] = {
            c->server.host,           c->server.cert,         c->server.key,
            c->server.acme_hostname,  c->database.path,       c->nginx.sites_available,
            c->nginx.sites_enabled,   c->nginx.snippets,      c->nginx.webroot,
            c->nginx.certbot_webroot, c->nginx.binary,        c->nginx.conf,
            c->nginx.reload,          c->nginx.access_log,    c->nginx.error_log,
            c->systemd.unit_dir,      c->git.local_root,      c->acme.email,
            c->acme.account_dir,      c->acme.directory_url,  c->acme.ca_bundle,
            c->acme.cert_dir,         c->autarch.install_dir, c->autarch.git_repo,
            c->autarch.git_branch,    c->float_.session_ttl,  c->backups.dir,
            c->logging.level,         c->logging.file,
        };
        for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
                CHECK(plain_text(strs[i]));
        /* derived from database.path unless given: a little longer */
        CHECK(c->hosting.dir && c->data_dir);
        CHECK(plain_text(c->data_dir) && strlen(c->hosting.dir) <= 4096 + strlen("/hosting"));
        for (const char *p = c->hosting.dir; *p; p++)
                CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);

        CHECK(port(c->server.port) && port(c->nginx.http_port) && port(c->nginx.https_port) &&
              port(c->autarch.web_port) && port(c->autarch.dns_port));
        CHECK(c->float_.max_sessions >= 1 && c->backups.max_age_days >= 0 &&
              c->backups.max_count >= 0 && c->logging.max_size_mb >= 1 &&
              c->logging.max_backups >= 0);
        CHECK(streq(c->nginx.reload, "systemd") || streq(c->nginx.reload, "signal"));
        CHECK(streq(c->logging.level, "debug") || streq(c->logging.level, "info") ||
              streq(c->logging.level, "warn") || streq(c->logging.level, "error"));
        long ttl = 0;
        CHECK(config_parse_duration(c->float_.session_ttl, &ttl) == 0 && ttl > 0 &&
              ttl == c->float_.session_ttl_s);
        check_list(&c->server.trusted_proxies, valid_ip_or_cidr);
        check_list(&c->monitor.services, valid_unit_name);

        /* check_config() */
        CHECK(!str_empty(c->database.path));
        CHECK(!c->server.tls || (!str_empty(c->server.cert) && !str_empty(c->server.key)));
        CHECK(str_empty(c->server.acme_hostname) || valid_domain(c->server.acme_hostname));
        CHECK(valid_git_repo(c->autarch.git_repo,
                             str_empty(c->git.local_root) ? NULL : c->git.local_root));
        CHECK(valid_git_branch(c->autarch.git_branch));
}

/* A failed load leaves the defaults the zeroed struct was given. */
static void check_untouched(const struct config *c)
{
        struct config d;
        CHECK(config_defaults(&d) == 0);
        CHECK(!c->path);
        CHECK(c->server.port == d.server.port && c->server.tls == d.server.tls);
        CHECK(streq(c->database.path, d.database.path) && streq(c->data_dir, d.data_dir));
        CHECK(streq(c->nginx.reload, d.nginx.reload) &&
              streq(c->float_.session_ttl, d.float_.session_ttl));
        CHECK(c->monitor.services.n == d.monitor.services.n && c->server.trusted_proxies.n == 0);
        config_free(&d);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        if (memfd < 0) {
                memfd = memfd_create("fuzz-config", MFD_CLOEXEC);
                CHECK(memfd >= 0);
                snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
        }
        CHECK(ftruncate(memfd, 0) == 0);
        CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);

        struct config cfg = {0};
        bool missing = true;
        char err[512];
        int r = config_load(&cfg, path, &missing, warn, err, sizeof(err));
        CHECK(!missing);
        if (r == 0) {
                check_loaded(&cfg);
        } else {
                CHECK(r == -EINVAL || r == -ENOMEM);
                CHECK(err[0] && startswith(err, path) && err[strlen(path)] == ':');
                CHECK(printable(err));
                check_untouched(&cfg);
        }
        config_free(&cfg);
        return 0;
}
