/* Certificate chains as an ACME CA sends them (and certificate files the
 * panel reads back): a chain either splits into a leaf that is one PEM
 * certificate and a rest made only of certificates, or is refused; the
 * leaf's information and ARI id read without fault. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
#include "base/util.h"
#include "fuzz.h"

#define BEGIN "-----BEGIN CERTIFICATE-----"
#define END   "-----END CERTIFICATE-----"

static void info(const char *pem, size_t len, bool must_parse)
{
        struct cert_info ci;
        int r = acme_cert_info_mem(pem, len, &ci);
        CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (must_parse)
                CHECK(r == 0 || r == -ENOMEM);
        if (r == 0) {
                CHECK(ci.issuer);
                for (size_t i = 0; i < ci.nnames; i++)
                        CHECK(ci.names[i]);
        } else {
                CHECK(!ci.subject_cn && !ci.issuer && !ci.names && ci.nnames == 0);
        }
        cert_info_clear(&ci);
        char *id = NULL;
        r = acme_ari_cert_id_mem(pem, len, &id);
        CHECK(r == 0 || r == -EINVAL || r == -ENOENT || r == -ENOMEM);
        if (r == 0) {
                CHECK(id && strchr(id, '.'));
                for (const char *p = id; *p; p++)
                        CHECK(*p == '.' || *p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
                              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'));
        }
        free(id);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        const char *pem = (const char *)data;
        info(pem, size, false);

        char *leaf = NULL, *chain = NULL;
        int r = acme_split_chain(pem, size, &leaf, &chain);
        CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == 0) {
                CHECK(leaf && chain);
                size_t ll = strlen(leaf);
                CHECK(startswith(leaf, BEGIN));
                CHECK(ll > strlen(END) + 1 && leaf[ll - 1] == '\n');
                CHECK(memcmp(leaf + ll - 1 - strlen(END), END, strlen(END)) == 0);
                /* one block only */
                CHECK(!strstr(leaf + 1, BEGIN));
                CHECK(chain[0] == '\0' || startswith(chain, BEGIN));
                info(leaf, ll, true);
        } else {
                CHECK(!leaf && !chain);
        }
        free(leaf);
        free(chain);
        return 0;
}
