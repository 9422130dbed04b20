/* Schema history. Each entry is applied once, in order, in one transaction,
 * and PRAGMA user_version records how many have been applied. Never edit an
 * entry that has shipped: append a new one. */
#include "db/db-internal.h"

/* The Go reference's nine tables, verbatim in meaning (names, types,
 * defaults). IF NOT EXISTS because a reference setec.db already has them at
 * user_version 0 and must open without loss. */
static const char migration_1[] = "CREATE TABLE IF NOT EXISTS sites ("
                                  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " domain TEXT NOT NULL UNIQUE,"
                                  " aliases TEXT DEFAULT '',"
                                  " app_type TEXT NOT NULL DEFAULT 'static',"
                                  " app_root TEXT NOT NULL,"
                                  " app_port INTEGER DEFAULT 0,"
                                  " app_entry TEXT DEFAULT '',"
                                  " git_repo TEXT DEFAULT '',"
                                  " git_branch TEXT DEFAULT 'main',"
                                  " ssl_enabled BOOLEAN DEFAULT FALSE,"
                                  " ssl_cert_path TEXT DEFAULT '',"
                                  " ssl_key_path TEXT DEFAULT '',"
                                  " ssl_auto BOOLEAN DEFAULT TRUE,"
                                  " enabled BOOLEAN DEFAULT TRUE,"
                                  " created_at DATETIME DEFAULT CURRENT_TIMESTAMP,"
                                  " updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);"
                                  "CREATE TABLE IF NOT EXISTS system_users ("
                                  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " username TEXT NOT NULL UNIQUE,"
                                  " uid INTEGER,"
                                  " home_dir TEXT,"
                                  " shell TEXT DEFAULT '/bin/bash',"
                                  " created_at DATETIME DEFAULT CURRENT_TIMESTAMP);"
                                  "CREATE TABLE IF NOT EXISTS manager_users ("
                                  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " username TEXT NOT NULL UNIQUE,"
                                  " password_hash TEXT NOT NULL,"
                                  " role TEXT DEFAULT 'admin',"
                                  " force_change BOOLEAN DEFAULT FALSE,"
                                  " last_login DATETIME,"
                                  " created_at DATETIME DEFAULT CURRENT_TIMESTAMP);"
                                  "CREATE TABLE IF NOT EXISTS deployments ("
                                  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " site_id INTEGER REFERENCES sites(id),"
                                  " action TEXT NOT NULL,"
                                  " status TEXT DEFAULT 'pending',"
                                  " output TEXT DEFAULT '',"
                                  " started_at DATETIME DEFAULT CURRENT_TIMESTAMP,"
                                  " finished_at DATETIME);"
                                  "CREATE TABLE IF NOT EXISTS cron_jobs ("
                                  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " site_id INTEGER REFERENCES sites(id),"
                                  " job_type TEXT NOT NULL,"
                                  " schedule TEXT NOT NULL,"
                                  " enabled BOOLEAN DEFAULT TRUE,"
                                  " last_run DATETIME,"
                                  " next_run DATETIME);"
                                  "CREATE TABLE IF NOT EXISTS firewall_rules ("
                                  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " direction TEXT DEFAULT 'in',"
                                  " protocol TEXT DEFAULT 'tcp',"
                                  " port TEXT NOT NULL,"
                                  " source TEXT DEFAULT 'any',"
                                  " action TEXT DEFAULT 'allow',"
                                  " comment TEXT DEFAULT '',"
                                  " enabled BOOLEAN DEFAULT TRUE);"
                                  "CREATE TABLE IF NOT EXISTS float_sessions ("
                                  " id TEXT PRIMARY KEY,"
                                  " user_id INTEGER REFERENCES manager_users(id),"
                                  " client_ip TEXT,"
                                  " client_agent TEXT,"
                                  " usb_bridge BOOLEAN DEFAULT FALSE,"
                                  " connected_at DATETIME DEFAULT CURRENT_TIMESTAMP,"
                                  " last_ping DATETIME,"
                                  " expires_at DATETIME);"
                                  "CREATE TABLE IF NOT EXISTS backups ("
                                  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " site_id INTEGER REFERENCES sites(id),"
                                  " backup_type TEXT DEFAULT 'site',"
                                  " file_path TEXT NOT NULL,"
                                  " size_bytes INTEGER DEFAULT 0,"
                                  " created_at DATETIME DEFAULT CURRENT_TIMESTAMP);"
                                  "CREATE TABLE IF NOT EXISTS audit_log ("
                                  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " username TEXT NOT NULL,"
                                  " ip TEXT,"
                                  " action TEXT NOT NULL,"
                                  " detail TEXT DEFAULT '',"
                                  " created_at DATETIME DEFAULT CURRENT_TIMESTAMP);";

/* Our additions. The reference stored timestamps in two layouts (SQLite's
 * UTC "YYYY-MM-DD HH:MM:SS" and Go's time.String() with a local offset), and
 * compared them as strings; setec_rfc3339() (registered on every connection
 * by db.c) rewrites both into RFC 3339 UTC so string order is time order.
 * Values it cannot parse are left as they are. */
static const char migration_2[] =
    "ALTER TABLE manager_users ADD COLUMN pw_changed INTEGER DEFAULT 0;"
    "CREATE TABLE IF NOT EXISTS revoked_tokens ("
    " jti TEXT PRIMARY KEY,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS idx_deployments_site_id ON deployments(site_id);"
    "CREATE INDEX IF NOT EXISTS idx_backups_site_id ON backups(site_id);"
    "CREATE INDEX IF NOT EXISTS idx_audit_log_created_at ON audit_log(created_at);"
    "UPDATE sites SET created_at = setec_rfc3339(created_at),"
    " updated_at = setec_rfc3339(updated_at);"
    "UPDATE system_users SET created_at = setec_rfc3339(created_at);"
    "UPDATE manager_users SET last_login = setec_rfc3339(last_login),"
    " created_at = setec_rfc3339(created_at);"
    "UPDATE deployments SET started_at = setec_rfc3339(started_at),"
    " finished_at = setec_rfc3339(finished_at);"
    "UPDATE cron_jobs SET last_run = setec_rfc3339(last_run),"
    " next_run = setec_rfc3339(next_run);"
    "UPDATE float_sessions SET connected_at = setec_rfc3339(connected_at),"
    " last_ping = setec_rfc3339(last_ping), expires_at = setec_rfc3339(expires_at);"
    "UPDATE backups SET created_at = setec_rfc3339(created_at);"
    "UPDATE audit_log SET created_at = setec_rfc3339(created_at);";

/* Every issuance or renewal of a site certificate and its outcome (the SSL
 * page shows them; scheduled renewals back off on consecutive failures). */
static const char migration_3[] =
    "CREATE TABLE IF NOT EXISTS cert_attempts ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " domain TEXT NOT NULL,"
    " kind TEXT NOT NULL,"   /* issue, renew, auto */
    " result TEXT NOT NULL," /* success, failed */
    " error TEXT,"
    " not_after TEXT,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS idx_cert_attempts_domain ON cert_attempts(domain, id);";

/* The job engine's jobs (jobs/engine.h): steps as JSON text, the output
 * (its last MiB), recovery data; recover_pending marks jobs a crash
 * interrupted until their kind has repaired their subject. */
static const char migration_jobs[] =
    "CREATE TABLE IF NOT EXISTS jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " state TEXT NOT NULL," /* queued, running, done, failed, cancelled */
    " step TEXT NOT NULL DEFAULT '',"
    " steps TEXT NOT NULL DEFAULT '[]',"
    " output TEXT NOT NULL DEFAULT '',"
    " error TEXT NOT NULL DEFAULT '',"
    " data TEXT NOT NULL DEFAULT '{}',"
    " user TEXT NOT NULL DEFAULT '',"
    " deployment_id INTEGER,"
    " recover_pending INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL,"
    " started_at TEXT,"
    " finished_at TEXT);"
    "CREATE INDEX IF NOT EXISTS idx_jobs_state ON jobs(state);"
    "CREATE INDEX IF NOT EXISTS idx_jobs_subject ON jobs(subject, id);";

/* The hosting provider a site's A/AAAA records were made at (issue 14). */
static const char migration_site_dns_provider[] =
    "ALTER TABLE sites ADD COLUMN dns_provider TEXT NOT NULL DEFAULT '';";

/* Everyday use (issue 15): the sessions a login issued (listed and ended by
 * their owner), API tokens (only a SHA-256 of each is kept), and TOTP 2FA
 * per panel user: totp_pending holds a secret between setup and enable,
 * totp_last_step the last time step used (each code once), and the
 * recovery codes are kept hashed, each used once. */
static const char migration_account[] =
    "CREATE TABLE IF NOT EXISTS sessions ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " jti TEXT NOT NULL UNIQUE,"
    " user_id INTEGER NOT NULL REFERENCES manager_users(id) ON DELETE CASCADE,"
    " pwc INTEGER NOT NULL DEFAULT 0,"
    " client_ip TEXT,"
    " user_agent TEXT,"
    " created_at TEXT NOT NULL,"
    " last_seen_at TEXT NOT NULL,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS idx_sessions_user ON sessions(user_id);"
    "CREATE TABLE IF NOT EXISTS api_tokens ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES manager_users(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " token_hash TEXT NOT NULL UNIQUE,"
    " created_at TEXT NOT NULL,"
    " expires INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL DEFAULT 0);"
    "ALTER TABLE manager_users ADD COLUMN totp_secret TEXT;"
    "ALTER TABLE manager_users ADD COLUMN totp_pending TEXT;"
    "ALTER TABLE manager_users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE manager_users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE IF NOT EXISTS totp_recovery ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES manager_users(id) ON DELETE CASCADE,"
    " code_hash TEXT NOT NULL,"
    " used_at TEXT);"
    "CREATE INDEX IF NOT EXISTS idx_totp_recovery_user ON totp_recovery(user_id);";

/* Backup schedules (issue 15): a cron_jobs row of job_type "backup" keeps
 * the newest `keep` backups of its site (NULL: the config's retention only). */
static const char migration_cron_keep[] = "ALTER TABLE cron_jobs ADD COLUMN keep INTEGER;";

/* Per-site nginx settings (issue 11): the body size ('' = the config's
 * nginx.client_max_body_size) and the security headers mode; old rows keep
 * what every vhost had before. */
static const char migration_site_nginx[] =
    "ALTER TABLE sites ADD COLUMN max_body_size TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE sites ADD COLUMN security_headers TEXT NOT NULL DEFAULT 'default';";

const struct db_migration db_migrations[] = {
    {"reference schema", migration_1},
    {"pw_changed, revoked_tokens, indexes, RFC 3339 timestamps", migration_2},
    {"cert_attempts", migration_3},
    {"jobs", migration_jobs},
    {"sites.dns_provider", migration_site_dns_provider},
    {"sessions, api_tokens, TOTP 2FA", migration_account},
    {"cron_jobs.keep (backup schedules)", migration_cron_keep},
    {"sites.max_body_size, sites.security_headers", migration_site_nginx},
};

const int db_migrations_count = (int)ARRAY_SIZE(db_migrations);
