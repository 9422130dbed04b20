#include "cli/setup.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "core/password.h"
#include "db/users.h"
#include "helper/helper.h"
#include "sys/firewall.h"
#include "sys/services.h"
#include "sys/sysinfo.h"
#include "sys/tlscert.h"

int setup_first_admin(struct config *cfg, struct db *db)
{
        long long n = users_count(db, NULL);
        if (n < 0)
                return (int)n;
        if (n > 0)
                return 0;
        const char *env = getenv("SETEC_ADMIN_PASSWORD");
        char generated[21];
        const char *pw = env;
        if (str_empty(env)) {
                int r = rand_password(generated, 20);
                if (r < 0)
                        return r;
                pw = generated;
        } else if (!valid_password(env)) {
                log_error("SETEC_ADMIN_PASSWORD must be 1-1024 bytes without CR or LF");
                return -EINVAL;
        }
        _cleanup_free_ char *hash = password_hash(pw);
        if (!hash)
                return -ENOMEM;
        long long id = users_create(db, "admin", hash, "admin");
        if (id < 0)
                return (int)id;
        if (pw == generated) {
                _cleanup_strbuf_ struct strbuf path = STRBUF_INIT(0);
                _cleanup_strbuf_ struct strbuf line = STRBUF_INIT(0);
                strbuf_printf(&path, "%s/initial-admin-password", cfg->data_dir);
                strbuf_printf(&line, "%s\n", generated);
                int r = write_file_atomic(path.data, line.data, line.len, 0600);
                /* The password goes to the 0600 file, and to a person at a
                 * terminal; never into a log (under systemd stderr is the
                 * journal, which viewers of the panel can read). */
                if (isatty(STDERR_FILENO))
                        fprintf(stderr,
                                "\n  Setec Manager: first start, panel admin created\n"
                                "    username: admin\n    password: %s\n"
                                "  (also written to %s%s; change it after logging in)\n\n",
                                generated, path.data, r < 0 ? " - FAILED" : "");
                else if (r < 0)
                        log_error("first start: panel admin 'admin' created, but its password "
                                  "could not be written to %s (%s): set one with "
                                  "`setec-manager admin passwd admin`",
                                  path.data, strerror(-r));
                else
                        log_info("first start: panel admin 'admin' created; its password is in "
                                 "%s (mode 0600)",
                                 path.data);
        } else {
                fprintf(stderr, "Setec Manager: panel admin 'admin' created with the password "
                                "from $SETEC_ADMIN_PASSWORD\n");
        }
        return 0;
}

int setup_panel_cert(struct config *cfg)
{
        if (!cfg->server.tls)
                return 0;
        if (access(cfg->server.cert, F_OK) == 0)
                return 0;
        char host[256];
        sysinfo_hostname(host, sizeof(host));
        int r = tlscert_create_selfsigned(cfg->server.cert, cfg->server.key, host);
        if (r < 0)
                log_error("could not create the self-signed certificate %s: %s", cfg->server.cert,
                          strerror(-r));
        else
                log_info("created a self-signed ECDSA P-256 certificate at %s", cfg->server.cert);
        return r;
}

static const char ssl_params[] =
    "# written by setec-manager setup\n"
    "ssl_protocols TLSv1.2 TLSv1.3;\n"
    /* Mozilla's intermediate profile (ECDHE with AEAD only; its DHE suites
     * need a dhparam file and add nothing for current clients) */
    "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;\n"
    "ssl_prefer_server_ciphers off;\n"
    "ssl_session_timeout 1d;\n"
    "ssl_session_cache shared:SSL:10m;\n"
    "ssl_session_tickets off;\n"
    "add_header Strict-Transport-Security \"max-age=63072000\" always;\n";

static const char proxy_params[] = "# written by setec-manager setup\n"
                                   "proxy_set_header Host $host;\n"
                                   "proxy_set_header X-Real-IP $remote_addr;\n"
                                   "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
                                   "proxy_set_header X-Forwarded-Proto $scheme;\n";
/* No proxy_buffering off here: nginx buffers answers (a slow client does not
 * hold an app worker), and an app that streams (SSE) sends
 * X-Accel-Buffering: no on that answer. */

static int write_in(const char *dir, const char *name, const char *text, mode_t mode)
{
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        if (strbuf_printf(&p, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        int r = write_file_atomic(p.data, text, strlen(text), mode);
        if (r < 0)
                log_error("could not write %s: %s", p.data, strerror(-r));
        return r;
}

static int write_unit(struct config *cfg, const char *config_path)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return -errno;
        exe[n] = '\0';
        char cfgabs[PATH_MAX];
        if (!realpath(config_path, cfgabs))
                snprintf(cfgabs, sizeof(cfgabs), "%s", config_path);
        _cleanup_strbuf_ struct strbuf u = STRBUF_INIT(0);
        strbuf_printf(&u,
                      "[Unit]\n"
                      "Description=Setec Manager server panel\n"
                      "After=network-online.target\n"
                      "Wants=network-online.target\n\n"
                      "[Service]\n"
                      "Type=simple\n"
                      "ExecStart=\"%s\" --config \"%s\" serve\n"
                      "Restart=on-failure\n"
                      "RestartSec=5\n"
                      "KillSignal=SIGTERM\n"
                      "TimeoutStopSec=35\n"
                      "UMask=0077\n"
                      /* the panel raises its soft limit to this one and keeps
                       * its connection limit below it (http/server.c) */
                      "LimitNOFILE=65536\n"
                      /* The process started here splits (src/helper): the
                       * HTTP process drops to server.user itself (no
                       * capabilities, no_new_privs); the root helper manages
                       * nginx, units, ufw, users and app trees, so the unit
                       * keeps what it needs: nothing that hides /etc, /home
                       * or /usr, drops capabilities, or stops ufw's sysctl
                       * writes and netfilter modules. */
                      "PrivateTmp=yes\n"
                      "ProtectKernelLogs=yes\n"
                      "ProtectControlGroups=yes\n"
                      "ProtectClock=yes\n"
                      "ProtectHostname=yes\n"
                      "RestrictRealtime=yes\n"
                      "LockPersonality=yes\n"
                      "RestrictNamespaces=yes\n"
                      "SystemCallArchitectures=native\n\n"
                      "[Install]\n"
                      "WantedBy=multi-user.target\n",
                      exe, cfgabs);
        return write_in(cfg->systemd.unit_dir, PANEL_UNIT ".service", u.data, 0644);
}

/* AUTARCH DNS counts as installed when its unit file exists. */
static bool autarch_dns_installed(const struct config *cfg)
{
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        strbuf_printf(&p, "%s/autarch-dns.service", cfg->systemd.unit_dir);
        return p.data && access(p.data, F_OK) == 0;
}

int setup_run(struct config *cfg, const char *config_path, bool firewall)
{
        const struct {
                const char *path;
                mode_t mode;
        } dirs[] = {
            {cfg->data_dir, 0700},
            {cfg->acme.account_dir, 0700},
            {cfg->backups.dir, 0700},
            {cfg->hosting.dir, 0700},
            {cfg->nginx.webroot, 0755},
            {cfg->nginx.certbot_webroot, 0755},
            {cfg->nginx.sites_available, 0755},
            {cfg->nginx.sites_enabled, 0755},
            {cfg->nginx.snippets, 0755},
            {cfg->systemd.unit_dir, 0755},
        };
        int failures = 0;
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                int r = mkdir_p(dirs[i].path, dirs[i].mode);
                if (r < 0) {
                        log_error("could not create %s: %s", dirs[i].path, strerror(-r));
                        failures++;
                }
        }
        if (write_in(cfg->nginx.snippets, "ssl-params.conf", ssl_params, 0644) < 0)
                failures++;
        if (write_in(cfg->nginx.snippets, "proxy-params.conf", proxy_params, 0644) < 0)
                failures++;
        if (setup_panel_cert(cfg) < 0)
                failures++;
        struct db *db = NULL;
        int r = db_open(cfg->database.path, &db);
        if (r < 0) {
                log_error("could not open the database %s: %s", cfg->database.path, strerror(-r));
                failures++;
        } else {
                if (setup_first_admin(cfg, db) < 0)
                        failures++;
                db_close(db);
        }
        /* the user the HTTP process of serve runs as, owning what it writes */
        if (geteuid() == 0 && helper_prepare_http_user(cfg) < 0)
                failures++;
        if (firewall) {
                bool dns = autarch_dns_installed(cfg);
                if (firewall_apply_defaults(cfg, dns) < 0) {
                        failures++;
                } else {
                        printf("Firewall enabled: 22, 80, 443 and %d/tcp allowed%s\n",
                               cfg->server.port, dns ? ", 53 tcp+udp for AUTARCH DNS" : "");
                }
        }
        /* serve cannot run without it */
        char helper[PATH_MAX];
        if (helper_binary(helper) < 0) {
                log_error("the root helper %s is missing or not executable: serve needs it beside "
                          "setec-manager",
                          helper);
                failures++;
        }
        if (write_unit(cfg, config_path) < 0)
                failures++;
        else
                printf("Installed %s/" PANEL_UNIT ".service: start it with "
                       "'systemctl daemon-reload && systemctl enable --now " PANEL_UNIT "'\n",
                       cfg->systemd.unit_dir);
        printf("Panel URL: %s://%s:%d/\n", cfg->server.tls ? "https" : "http", cfg->server.host,
               cfg->server.port);
        return failures ? -EIO : 0;
}

static int __attribute__((format(printf, 1, 2))) problem(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        printf("problem: ");
        vprintf(fmt, ap);
        printf("\n");
        va_end(ap);
        return 1;
}

static bool in_path(const char *prog)
{
        if (strchr(prog, '/'))
                return access(prog, X_OK) == 0;
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char full[PATH_MAX];
                snprintf(full, sizeof(full), "%s/%s", d, prog);
                if (access(full, X_OK) == 0)
                        return true;
        }
        return false;
}

int setup_check(struct config *cfg)
{
        int n = 0;
        if (cfg->server.tls) {
                int r = tlscert_check(cfg->server.cert, cfg->server.key);
                if (r == -ENOENT)
                        printf("note: %s does not exist yet; serve/setup will create a "
                               "self-signed certificate\n",
                               cfg->server.cert);
                else if (r < 0)
                        n += problem("server.cert %s and server.key %s are not a matching "
                                     "readable PEM pair",
                                     cfg->server.cert, cfg->server.key);
        }
        if (access(cfg->data_dir, W_OK) < 0 && errno != ENOENT)
                n += problem("data dir %s is not writable (%s)", cfg->data_dir, strerror(errno));
        if (!in_path(cfg->nginx.binary))
                n += problem("nginx.binary '%s' not found", cfg->nginx.binary);
        char helper[PATH_MAX];
        if (helper_binary(helper) < 0)
                n += problem("the root helper %s is missing or not executable", helper);
        return n;
}
