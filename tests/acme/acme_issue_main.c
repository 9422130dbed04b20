/* Test driver for src/acme: one issuance (or a certificate's details, or its
 * ARI window) per run, the result as one JSON object on stdout, progress on
 * stderr. Used by tests/system/test_acme_pebble.py; not part of the panel. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme/acme.h"
#include "base/timeutil.h"

static void on_progress(void *ctx, const char *line)
{
        fprintf(stderr, "acme: %s\n", line);
}

static json_t *time_json(time_t t)
{
        char buf[TIME_RFC3339_LEN];
        time_format_rfc3339(t, buf);
        return json_string(buf);
}

static int print(json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!s)
                return 2;
        puts(s);
        free(s);
        return 0;
}

static int usage(void)
{
        fputs("usage: acme-issue-test --directory URL [--ca-bundle FILE] --account-dir DIR\n"
              "         [--email ADDR] --webroot DIR --cert-dir DIR [--timeout S] NAME...\n"
              "       acme-issue-test --info PEM\n"
              "       acme-issue-test --directory URL [--ca-bundle FILE] --account-dir DIR --ari "
              "PEM\n",
              stderr);
        return 2;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"directory", required_argument, NULL, 'd'},
                                             {"ca-bundle", required_argument, NULL, 'c'},
                                             {"account-dir", required_argument, NULL, 'a'},
                                             {"email", required_argument, NULL, 'e'},
                                             {"webroot", required_argument, NULL, 'w'},
                                             {"cert-dir", required_argument, NULL, 'o'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"info", required_argument, NULL, 'i'},
                                             {"ari", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
        struct acme_opts o = {.ca_bundle = "", .email = "", .progress = on_progress};
        const char *info = NULL, *ari = NULL;
        int ch;
        while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (ch) {
                case 'd':
                        o.directory_url = optarg;
                        break;
                case 'c':
                        o.ca_bundle = optarg;
                        break;
                case 'a':
                        o.account_dir = optarg;
                        break;
                case 'e':
                        o.email = optarg;
                        break;
                case 'w':
                        o.webroot = optarg;
                        break;
                case 'o':
                        o.cert_dir = optarg;
                        break;
                case 't':
                        o.timeout_s = (unsigned)strtoul(optarg, NULL, 10);
                        break;
                case 'i':
                        info = optarg;
                        break;
                case 'r':
                        ari = optarg;
                        break;
                default:
                        return usage();
                }
        }

        if (info) {
                struct cert_info ci;
                int r = acme_cert_info(info, &ci);
                if (r < 0) {
                        print(json_pack("{s:b, s:s}", "ok", 0, "error", strerror(-r)));
                        return 1;
                }
                json_t *names = json_array();
                for (size_t i = 0; i < ci.nnames; i++)
                        json_array_append_new(names, json_string(ci.names[i]));
                char *id = NULL;
                (void)acme_ari_cert_id(info, &id);
                json_t *j = json_pack("{s:b, s:s?, s:s?, s:o, s:o, s:o, s:s?}", "ok", 1,
                                      "subject_cn", ci.subject_cn, "issuer", ci.issuer, "names",
                                      names, "not_before", time_json(ci.not_before), "not_after",
                                      time_json(ci.not_after), "ari_id", id);
                free(id);
                cert_info_clear(&ci);
                return print(j);
        }
        if (ari) {
                struct acme_renewal_window w;
                char *err = NULL;
                int r = acme_renewal_info(&o, ari, &w, &err);
                if (r == -EOPNOTSUPP)
                        return print(json_pack("{s:b, s:b}", "ok", 1, "supported", 0));
                if (r < 0) {
                        print(json_pack("{s:b, s:s}", "ok", 0, "error", err ? err : strerror(-r)));
                        free(err);
                        return 1;
                }
                json_t *j = json_pack("{s:b, s:b, s:o, s:o}", "ok", 1, "supported", 1, "start",
                                      time_json(w.start), "end", time_json(w.end));
                acme_renewal_window_clear(&w);
                return print(j);
        }

        if (optind >= argc || !o.directory_url || !o.account_dir || !o.webroot || !o.cert_dir)
                return usage();
        struct acme_result res;
        int r = acme_issue(&o, (const char *const *)(argv + optind), (size_t)(argc - optind), &res);
        json_t *j;
        if (r < 0)
                j = json_pack("{s:b, s:s, s:i}", "ok", 0, "error", res.error ? res.error : "?",
                              "errno", -r);
        else
                j = json_pack("{s:b, s:s, s:s, s:s?, s:o, s:o}", "ok", 1, "cert", res.cert_path,
                              "key", res.key_path, "issuer", res.issuer, "not_before",
                              time_json(res.not_before), "not_after", time_json(res.not_after));
        acme_result_clear(&res);
        print(j);
        return r < 0 ? 1 : 0;
}
