/* ACME renewalInfo (RFC 9773) bodies, as a CA (or whoever answers in its
 * place) sends them: any body either parses into a window whose end is not
 * before its start, or is refused with -EINVAL; the timestamps parsed agree
 * with gmtime() on whole seconds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/acme.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        char *text = strndup((const char *)data, size);
        CHECK(text);
        struct acme_renewal_window w;
        int r = acme_renewal_info_parse(text, &w);
        CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == 0)
                CHECK(w.end >= w.start);
        else
                CHECK(!w.explanation_url && w.start == 0 && w.end == 0);
        acme_renewal_window_clear(&w);

        /* the timestamp parser alone, on the raw text */
        time_t t = 0;
        r = acme_parse_time(text, &t);
        CHECK(r == 0 || r == -EINVAL);
        if (r == 0 && strlen(text) >= 19 && (text[19] == 'Z' || text[19] == 'z') &&
            text[20] == '\0') {
                /* plain "YYYY-MM-DDTHH:MM:SSZ": the seconds past midnight agree */
                struct tm tm;
                CHECK(gmtime_r(&t, &tm));
                int h = (text[11] - '0') * 10 + (text[12] - '0');
                int m = (text[14] - '0') * 10 + (text[15] - '0');
                int s = (text[17] - '0') * 10 + (text[18] - '0');
                CHECK((tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) % 86400 ==
                      (h * 3600 + m * 60 + s) % 86400);
        }
        free(text);
        return 0;
}
