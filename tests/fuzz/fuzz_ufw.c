/* ufw's listings (`ufw show added`, `ufw status numbered`, `ufw status
 * verbose`): ufw prints comments and interface names that someone else
 * chose, so any text either parses into complete rules or is refused, and
 * numbering the parsed rules never reads out of bounds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "fuzz.h"
#include "sys/firewall.h"

static void check_rule(const struct fw_rule *r)
{
        CHECK(r->action && r->direction && r->protocol && r->port && r->source && r->destination &&
              r->interface && r->comment && r->text && r->spec);
        size_t n = 0;
        while (r->spec[n])
                n++;
        CHECK(n > 0 && n < 64);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        log_set_level(LOG_ERROR); /* unparsable lines are logged: not here */
        char *text = strndup((const char *)data, size);
        CHECK(text);

        struct fw_rule *rules = NULL;
        size_t n = 0;
        int r = fw_parse_added(text, &rules, &n);
        CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == 0)
                for (size_t i = 0; i < n; i++)
                        check_rule(&rules[i]);
        else
                CHECK(!rules && n == 0);

        bool active = false;
        struct fw_numbered *num = NULL;
        size_t m = 0;
        int rn = fw_parse_numbered(text, &active, &num, &m);
        CHECK(rn == 0 || rn == -EINVAL || rn == -ENOMEM);
        if (rn == 0)
                for (size_t i = 0; i < m; i++)
                        CHECK(num[i].to && num[i].action && num[i].direction && num[i].from &&
                              num[i].comment);

        if (r == 0) {
                fw_assign_ids(rules, n, rn == 0 && active ? num : NULL, rn == 0 ? m : 0);
                for (size_t i = 0; i < n; i++) {
                        CHECK(rules[i].id > 0);
                        const char *argv[80];
                        size_t spec = 0;
                        while (rules[i].spec[spec])
                                spec++;
                        int a = fw_delete_argv(&rules[i], argv, spec + 4);
                        CHECK(a == -EINVAL || (a > 0 && (size_t)a <= spec + 4));
                }
        }
        fw_rules_free(rules, n);
        fw_numbered_free(num, rn == 0 ? m : 0);

        struct fw_status st;
        memset(&st, 0, sizeof(st));
        int rv = fw_parse_verbose(text, &st);
        CHECK(rv == 0 || rv == -EINVAL || rv == -ENOMEM);
        fw_status_free(&st);

        /* the first line on its own, as a rule line */
        char *nl = strchr(text, '\n');
        if (nl)
                *nl = '\0';
        struct fw_rule one;
        memset(&one, 0, sizeof(one));
        r = fw_parse_rule_line(text, &one);
        CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == 0)
                check_rule(&one);
        /* fw_rule_clear is not public: free through a one-element copy */
        if (r == 0) {
                struct fw_rule *copy = malloc(sizeof(*copy));
                CHECK(copy);
                *copy = one;
                fw_rules_free(copy, 1);
        }
        free(text);
        return 0;
}
