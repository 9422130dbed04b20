/* Site jobs: create (provisioning), deploy, update and delete as job kinds
 * of the engine (jobs/engine.h), subject "site:<id>", with their steps and
 * undo steps.
 *
 * An app site's code (git, pip, npm, the unit) runs as the site's own
 * system user "setec-s<id>" (sys/accounts), never as root; static sites'
 * git runs as the panel (root owns their tree).
 *
 * create: site row (undo: delete it), systemd, site user (undo: remove the
 *   user this job made, before any of its files go), app_root owned by the
 *   site user (undo: remove what this job made or filled), git clone,
 *   dependencies (pip/npm), unit (install with User= the site user, enable,
 *   start; undo: remove the unit), dns (with dns_provider: A/AAAA of the
 *   domain and aliases at the provider; undo: remove the sets it made,
 *   restore the ones it replaced), nginx (a failed transaction restores its
 *   own files).
 * deploy: systemd, owner (the site user made when missing, the tree chowned
 *   to it and the unit rewritten: a site from before per-site users), git
 *   pull, dependencies, restart.
 * update: site row (undo: restore the old row), unit (undo: back to the old
 *   unit; a site made static loses its user, root owns its tree), nginx.
 * delete: nginx (undo: put the vhost back), unit, site user (removed, the
 *   kept files given back to root), site row.
 *
 * Each job's ctx is a struct site_job; its `out` says how a failure is
 * answered (the seed's "<step> failed: ..." text, the step and an HTTP
 * status). After a crash, an interrupted create is rolled back (unit, vhost,
 * row, the site user it made, the app_root it made). */
#pragma once

#include <stdbool.h>

#include "core/config.h"
#include "core/site.h"
#include "jobs/engine.h"

struct db;

#define SITE_PORT_LO 8000
#define SITE_PORT_HI 8999

struct site_outcome {
        const char *step; /* the failed step, NULL on success */
        char *error;      /* "<step> failed: ..." */
        int status;       /* HTTP status for the failure */
};

struct prov_ctx;
struct dns_record;

/* One record set the dns step wrote, for its undo: the set as it was before
 * (old, nold; none = it did not exist and the undo removes it). */
struct site_dns_change {
        char *zone, *name, *type;
        struct dns_record *old;
        size_t nold;
};

/* A create with dns_provider: the provider context (ready, credentials
 * loaded by the api layer; release frees it) and this server's addresses. */
struct site_dns {
        struct prov_ctx *ctx;
        void (*release)(struct site_dns *d);
        const char *key; /* the API key, scrubbed from every message */
        char provider[64];
        char ipv4[46], ipv6[46]; /* "" = none */
        struct site_dns_change *changes;
        size_t nchanges;
};

struct site_job {
        const struct config *cfg;
        struct db *db;
        struct site site; /* the site (create, deploy, delete) or its new state (update) */
        struct site old;  /* update: the row before */
        unsigned mask;    /* update: the columns given */
        struct site_outcome out;
        /* what ran, for the undo steps */
        bool made_root, filled_root, unit_tried, row_updated, units_changed, vhost_dropped;
        bool made_user, user_dropped;
        char user[32]; /* the site's system user "setec-s<id>" (sys/accounts), "" for static */
        long long deployment_id; /* the seed's deployments row (create, deploy), else 0 */
        struct site_dns *dns;    /* create with dns_provider, else NULL (freed with the job) */
};

extern const struct job_kind site_create_kind, site_deploy_kind, site_update_kind, site_delete_kind;

/* A zeroed ctx for cfg and db; NULL on ENOMEM. */
struct site_job *site_job_new(const struct config *cfg, struct db *db);
void site_job_free(void *ctx);
/* "site:<id>" into out (>= 32 bytes). */
void site_subject(long long id, char *out, size_t len);

/* Insert the row of a new site: the domain must be free and app sites get
 * their port checked or picked (SITE_PORT_LO-HI), all under one lock with
 * the update step's checks. 0 (s->id set) or -errno with *status (HTTP) and
 * *err (malloc'd) saying why. */
int site_reserve(struct db *db, struct site *s, int *status, char **err);
/* Remove a unit for good; when systemd cannot be reached the file still
 * goes. 0 or -errno. */
int site_remove_unit(const struct config *cfg, const char *unit);
/* start/stop/restart the unit of s (not a job: quick). 0, or -1 with out set. */
int site_unit_op(const struct site *s, int op, const char *what, struct site_outcome *out);
void site_outcome_clear(struct site_outcome *o);
