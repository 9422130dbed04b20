#include "cli/cli.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "api/app.h"
#include "api/authcache.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"
#include "cli/setup.h"
#include "core/password.h"
#include "db/audit.h"
#include "db/jobs.h"
#include "db/users.h"
#include "helper/helper.h"
#include "sys/exec.h"
#include "sys/portowner.h"

#ifndef SETEC_VERSION
#define SETEC_VERSION "dev"
#endif

static const char usage[] =
    "Usage:\n"
    "  setec-manager [-c|--config PATH] [serve]          run the panel (default)\n"
    "  setec-manager [-c PATH] setup [--firewall]        first-time setup, then exit;\n"
    "                          --firewall also enables ufw with the default rules\n"
    "  setec-manager [-c PATH] admin add USER [--role R] [--password-stdin]\n"
    "  setec-manager [-c PATH] admin passwd USER [--password-stdin]\n"
    "  setec-manager [-c PATH] admin list | admin delete USER\n"
    "  setec-manager [-c PATH] check                     validate config and environment\n"
    "  setec-manager --version | --help\n"
    "\n"
    "Config: --config, else $SETEC_CONFIG, else /etc/setec-manager/config.yaml,\n"
    "else /opt/setec-manager/config.yaml; a missing file means built-in defaults.\n";

static void warn_line(const char *msg)
{
        log_warn("%s", msg);
}

static int load_config(struct config *cfg, const char *explicit_path, const char **used)
{
        const char *path = config_locate(explicit_path);
        *used = path;
        bool missing = false;
        char err[512] = "";
        int r = config_load(cfg, path, &missing, warn_line, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "setec-manager: %s: %s\n", path, err[0] ? err : strerror(-r));
                return r;
        }
        if (missing)
                log_warn("config file %s not found: using built-in defaults", path);
        config_apply_logging(cfg);
        return 0;
}

/* ---------- serve ---------- */

/* Open the database (migrating it), load or create the token key, create the
 * first admin and the panel certificate when missing. 0 or -1 (logged). */
static int open_data(struct config *cfg, struct db **db, unsigned char key[TOKEN_KEY_LEN])
{
        int r = db_open(cfg->database.path, db);
        if (r < 0) {
                log_error("cannot open database %s: %s", cfg->database.path, strerror(-r));
                return -1;
        }
        _cleanup_strbuf_ struct strbuf keypath = STRBUF_INIT(0);
        strbuf_printf(&keypath, "%s/.jwt_key", cfg->data_dir);
        r = token_key_load(keypath.data, key);
        if (r < 0) {
                log_error("cannot load the token key %s: %s%s", keypath.data, strerror(-r),
                          r == -EINVAL ? " (wrong size: remove it to create a new one, which "
                                         "logs everybody out)"
                                       : "");
                return -1;
        }
        if (setup_first_admin(cfg, *db) < 0 || (cfg->server.tls && setup_panel_cert(cfg) < 0))
                return -1;
        return 0;
}

/* open_data() first runs in a short-lived child: the code and memory only a
 * first start touches (key generation, certificate signing, migrations,
 * password hashing) then never become resident in the long-running server,
 * whose own open_data() finds everything in place. 0, or -1 when the child
 * failed (it has logged why). */
static int prepare(void *arg)
{
        struct db *db = NULL;
        unsigned char key[TOKEN_KEY_LEN];
        int r = open_data(arg, &db, key);
        explicit_bzero(key, sizeof(key));
        db_close(db);
        return r;
}

static int prepare_in_child(struct config *cfg)
{
        int r = exec_in_child(prepare, cfg);
        if (r < 0 && r != -ECHILD)
                log_error("cannot fork to prepare the data directory: %s", strerror(-r));
        return r < 0 ? -1 : 0;
}

/* Audit rows older than audit.max_age_days go (at start, then daily). */
static void prune_audit(struct app *app)
{
        long n = audit_prune(app->db, app->cfg->audit.max_age_days);
        if (n < 0)
                log_warn("could not prune the audit log: %s", strerror((int)-n));
        else if (n > 0)
                log_info("pruned %ld audit rows older than %d days", n,
                         app->cfg->audit.max_age_days);
}

/* Ended job rows older than jobs.max_age_days go (at start, then daily). */
static void prune_jobs(struct app *app)
{
        long n = jobs_prune(app->db, app->cfg->jobs.max_age_days);
        if (n < 0)
                log_warn("could not prune the jobs: %s", strerror((int)-n));
        else if (n > 0)
                log_info("pruned %ld jobs older than %d days", n, app->cfg->jobs.max_age_days);
}

static int run_server(struct config *cfg, const char *config_path)
{
        int r;
        struct app app = {.cfg = cfg, .started = time_monotonic()};
        _cleanup_free_ const char **proxies = NULL;
        _cleanup_free_ struct route *routes = NULL;
        size_t nroutes = 0;
        bool started = false;
        /* A dozen threads would each get a malloc arena of their own, every
         * one keeping freed memory resident; two are plenty for 2 MHD
         * threads and a few workers. Must come before the first thread. */
        mallopt(M_ARENA_MAX, 2);
        /* Signals are taken by sigwait below; every thread inherits the mask. */
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (prepare_in_child(cfg) < 0)
                return 1;
        /* from here on this process is the unprivileged HTTP side (when
         * started as root); the root helper does the system changes */
        if (helper_split(cfg, config_path) < 0)
                return 1;
        if (open_data(cfg, &app.db, app.jwt_key) < 0)
                goto fail;
        if (api_routes_build(&routes, &nroutes) < 0)
                goto fail;
        app.login_limit = ratelimit_new(5, 60, 4096);
        /* per account: 5 failures free, then 1 s, 2 s, 4 s ... up to 15 min;
         * forgotten an hour after the last failure */
        app.login_backoff = backoff_new(5, 1, 900, 3600, 4096);
        app.auth_cache = auth_cache_new();
        app.audit_tally = audit_tally_new();
        if (!app.login_limit || !app.login_backoff || !app.auth_cache || !app.audit_tally)
                goto fail;
        prune_audit(&app);
        prune_jobs(&app);

        struct http_server_opts o = {
            .host = cfg->server.host,
            .port = cfg->server.port,
            .tls = cfg->server.tls,
            .cert_path = cfg->server.cert,
            .key_path = cfg->server.key,
            .workers = 4,
            .max_body = 10u << 20,
            .max_body_memory = (size_t)cfg->server.max_body_memory_mb << 20,
            .max_conns = (unsigned)cfg->server.max_connections,
            .per_ip_conns = (unsigned)cfg->server.max_connections_per_ip,
            .timeout_s = 60,
            .trusted_proxies = (const char *const *)cfg->server.trusted_proxies.items,
            .routes = routes,
            .nroutes = nroutes,
            .app = &app,
            .gate = api_gate,
            .preauth = api_preauth,
            .after = api_after,
            .access_log = true,
        };
        /* items is not NULL-terminated by config: build a terminated copy */
        size_t np = cfg->server.trusted_proxies.n;
        proxies = calloc(np + 1, sizeof(char *));
        for (size_t i = 0; proxies && i < np; i++)
                proxies[i] = cfg->server.trusted_proxies.items[i];
        o.trusted_proxies = proxies;

        if (api_start(&app) < 0)
                goto fail;
        started = true;
        struct http_server *srv = NULL;
        r = http_server_start(&o, &srv);
        if (r == -EADDRINUSE) {
                char who[128] = "another process";
                port_owner(cfg->server.port, who, sizeof(who));
                log_error("port %d is already in use by %s (Cockpit also uses 9090): stop it "
                          "or set server.port in the config to a free port",
                          cfg->server.port, who);
                goto fail;
        }
        if (r == -EKEYREJECTED) {
                log_error("server.cert %s and server.key %s are not a readable, matching PEM "
                          "certificate and key",
                          cfg->server.cert, cfg->server.key);
                goto fail;
        }
        if (r < 0) {
                log_error("cannot listen on %s:%d: %s", cfg->server.host, cfg->server.port,
                          strerror(-r));
                goto fail;
        }
        /* Start-up (config, migrations, certificates) freed
         * more than it kept: give those pages back before idling. */
        malloc_trim(0);
        log_info("Setec Manager %s listening on %s://%s:%d/", SETEC_VERSION,
                 cfg->server.tls ? "https" : "http", cfg->server.host, cfg->server.port);

        /* The main thread waits for a signal, and once a second does the
         * housekeeping that needs no thread of its own: the buffered access
         * log is written, the tally of anonymous requests (at most once a
         * minute) and, once a day, old audit and job rows are pruned. */
        double last_prune = time_monotonic();
        bool lost_helper = false;
        for (;;) {
                struct timespec tick = {1, 0};
                int sig = sigtimedwait(&sigs, NULL, &tick);
                log_flush();
                if (!helper_alive()) {
                        log_error("stopping: nothing that changes the system can be done "
                                  "without the root helper");
                        lost_helper = true; /* a failure: systemd starts both again */
                        break;
                }
                double now = time_monotonic();
                audit_tally_flush(app.audit_tally, app.db, now, false);
                if (now - last_prune >= 24 * 3600) {
                        prune_audit(&app);
                        prune_jobs(&app);
                        last_prune = now;
                }
                if (sig < 0 || sig == SIGHUP)
                        continue; /* SIGHUP: reserved for reloading; ignored for now */
                log_info("signal %d: finishing in-flight requests", sig);
                break;
        }
        api_drain(&app);
        http_server_stop(srv, 30);
        api_stop(&app);
        audit_tally_flush(app.audit_tally, app.db, time_monotonic(), true);
        log_info("stopped");
        log_flush();
        ratelimit_free(app.login_limit);
        backoff_free(app.login_backoff);
        auth_cache_free(app.auth_cache);
        audit_tally_free(app.audit_tally);
        db_close(app.db);
        return lost_helper ? 1 : 0;
fail:
        if (started)
                api_stop(&app);
        log_flush();
        ratelimit_free(app.login_limit);
        backoff_free(app.login_backoff);
        auth_cache_free(app.auth_cache);
        audit_tally_free(app.audit_tally);
        db_close(app.db);
        return 1;
}

/* ---------- admin ---------- */

static char *read_password(bool from_stdin)
{
        struct strbuf b = STRBUF_INIT(2048);
        if (from_stdin) {
                int c;
                while ((c = getchar()) != EOF && c != '\n')
                        if (strbuf_append(&b, &(char){(char)c}, 1) < 0)
                                break;
                if (b.len && b.data[b.len - 1] == '\r')
                        b.data[--b.len] = '\0';
                return strbuf_steal(&b);
        }
        if (!isatty(STDIN_FILENO)) {
                fprintf(stderr, "setec-manager: no terminal: use --password-stdin\n");
                return NULL;
        }
        struct termios old, noecho;
        tcgetattr(STDIN_FILENO, &old);
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        char *pw[2] = {NULL, NULL};
        for (int i = 0; i < 2; i++) {
                fprintf(stderr, i ? "Repeat password: " : "Password: ");
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
                strbuf_reset(&b);
                int c;
                while ((c = getchar()) != EOF && c != '\n')
                        strbuf_append(&b, &(char){(char)c}, 1);
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
                fputc('\n', stderr);
                pw[i] = strbuf_steal(&b);
        }
        if (!pw[0] || !pw[1] || strcmp(pw[0], pw[1]) != 0) {
                fprintf(stderr, "setec-manager: passwords do not match\n");
                free(pw[0]);
                free(pw[1]);
                return NULL;
        }
        free(pw[1]);
        return pw[0];
}

static int admin_cmd(struct config *cfg, int argc, char **argv)
{
        if (argc < 1) {
                fputs(usage, stderr);
                return 2;
        }
        const char *sub = argv[0], *user = argc > 1 ? argv[1] : NULL, *role = "admin";
        bool from_stdin = false;
        for (int i = 2; i < argc; i++) {
                if (streq(argv[i], "--password-stdin"))
                        from_stdin = true;
                else if (streq(argv[i], "--role") && i + 1 < argc)
                        role = argv[++i];
                else {
                        fprintf(stderr, "setec-manager: unknown option '%s'\n", argv[i]);
                        return 2;
                }
        }
        bool needs_user = !streq(sub, "list");
        if (needs_user && (!user || !valid_username(user))) {
                fprintf(stderr, "setec-manager: a valid user name is required "
                                "(^[a-z_][a-z0-9_-]{0,31}$)\n");
                return 2;
        }
        if (!streq(role, "admin") && !streq(role, "viewer")) {
                fprintf(stderr, "setec-manager: --role must be admin or viewer\n");
                return 2;
        }
        struct db *db = NULL;
        int r = db_open(cfg->database.path, &db);
        if (r < 0) {
                fprintf(stderr, "setec-manager: cannot open %s: %s\n", cfg->database.path,
                        strerror(-r));
                return 1;
        }
        int rc = 0;
        if (streq(sub, "list")) {
                struct panel_user *list = NULL;
                size_t n = 0;
                if (users_list(db, &list, &n) < 0) {
                        rc = 1;
                } else {
                        printf("%-6s %-32s %-8s %s\n", "ID", "USERNAME", "ROLE", "LAST LOGIN");
                        for (size_t i = 0; i < n; i++)
                                printf("%-6lld %-32s %-8s %s\n", list[i].id, list[i].username,
                                       list[i].role, list[i].last_login ? list[i].last_login : "-");
                        users_list_free(list, n);
                }
        } else if (streq(sub, "add") || streq(sub, "passwd")) {
                _cleanup_free_ char *pw = read_password(from_stdin);
                _cleanup_free_ char *hash = NULL;
                if (!pw || !valid_password(pw)) {
                        fprintf(stderr, "setec-manager: password must be 1-1024 bytes without "
                                        "CR or LF\n");
                        rc = 2;
                } else if (!(hash = password_hash(pw))) {
                        rc = 1;
                } else if (streq(sub, "add")) {
                        long long id = users_create(db, user, hash, role);
                        if (id == -EEXIST)
                                fprintf(stderr, "setec-manager: user '%s' already exists\n", user);
                        else if (id > 0)
                                printf("created panel user '%s' (id %lld, role %s)\n", user, id,
                                       role);
                        rc = id > 0 ? 0 : 1;
                } else {
                        struct panel_user u = {0};
                        r = users_get_by_name(db, user, &u);
                        if (r == 0)
                                r = users_update(db, u.id, hash, NULL);
                        panel_user_clear(&u);
                        if (r < 0)
                                fprintf(stderr, "setec-manager: %s\n",
                                        r == -ENOENT ? "no such user" : strerror(-r));
                        else
                                printf("password of '%s' changed\n", user);
                        rc = r < 0 ? 1 : 0;
                }
        } else if (streq(sub, "delete")) {
                struct panel_user u = {0};
                r = users_get_by_name(db, user, &u);
                if (r == 0)
                        r = users_delete_or_demote_guarded(db, u.id, NULL);
                panel_user_clear(&u);
                if (r == -EBUSY)
                        fprintf(stderr, "setec-manager: refusing to delete the last admin\n");
                else if (r < 0)
                        fprintf(stderr, "setec-manager: %s\n",
                                r == -ENOENT ? "no such user" : strerror(-r));
                else
                        printf("deleted panel user '%s'\n", user);
                rc = r < 0 ? 1 : 0;
        } else {
                fputs(usage, stderr);
                rc = 2;
        }
        db_close(db);
        return rc;
}

static int print_routes(void)
{
        struct route *routes = NULL;
        size_t n = 0;
        if (api_routes_build(&routes, &n) < 0)
                return 1;
        static const char *const auth[] = {"public", "user", "admin", "self"};
        for (size_t i = 0; i < n; i++)
                printf("%-6s %-55s %-6s%s\n", routes[i].method, routes[i].pattern,
                       auth[routes[i].auth], (routes[i].flags & ROUTE_PAGE) ? " page" : "");
        free(routes);
        return 0;
}

int cli_main(int argc, char **argv)
{
        const char *config_path = NULL;
        int i = 1;
        for (; i < argc; i++) {
                if (streq(argv[i], "-c") || streq(argv[i], "--config")) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "setec-manager: %s needs a path\n", argv[i]);
                                return 2;
                        }
                        config_path = argv[++i];
                } else if (startswith(argv[i], "--config=")) {
                        config_path = argv[i] + 9;
                } else if (streq(argv[i], "--version") || streq(argv[i], "-V")) {
                        printf("setec-manager %s\n", SETEC_VERSION);
                        return 0;
                } else if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        fputs(usage, stdout);
                        return 0;
                } else {
                        break;
                }
        }
        const char *cmd = i < argc ? argv[i++] : "serve";
        if (streq(cmd, "routes"))
                return print_routes();
        if (streq(cmd, "--setup"))
                cmd = "setup";
        if (!streq(cmd, "serve") && !streq(cmd, "setup") && !streq(cmd, "admin") &&
            !streq(cmd, "check")) {
                fprintf(stderr, "setec-manager: unknown command '%s'\n\n%s", cmd, usage);
                return 2;
        }
        bool firewall = false;
        if (streq(cmd, "setup") && i < argc && streq(argv[i], "--firewall")) {
                firewall = true;
                i++;
        }
        if (!streq(cmd, "admin") && i < argc) {
                fprintf(stderr, "setec-manager: unexpected argument '%s'\n", argv[i]);
                return 2;
        }
        struct config cfg = {0};
        const char *used = NULL;
        if (config_defaults(&cfg) < 0 || load_config(&cfg, config_path, &used) < 0) {
                config_free(&cfg);
                return 1;
        }
        int rc;
        if (streq(cmd, "serve")) {
                rc = run_server(&cfg, used);
        } else if (streq(cmd, "setup")) {
                rc = setup_run(&cfg, used, firewall) < 0 ? 1 : 0;
        } else if (streq(cmd, "check")) {
                int n = setup_check(&cfg);
                printf("%d problem%s found\n", n, n == 1 ? "" : "s");
                rc = n ? 1 : 0;
        } else {
                rc = admin_cmd(&cfg, argc - i, argv + i);
        }
        config_free(&cfg);
        return rc;
}
