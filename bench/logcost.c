/* CPU per access-log line: the path of the panel before issue 11 (log_info:
 * strftime + snprintf + one write per line to stderr) against today's (the
 * line built by hand as http/server.c access_log() does, then log_buffered).
 * Build and run from the top directory after a release build:
 *   cc -O2 -I src bench/logcost.c build/libsetec_base.a -lpthread -o /tmp/logcost
 *   /tmp/logcost 200000 2>/tmp/logcost.log
 * stderr should be a file (as under the bench, or the journal's pipe). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/log.h"

/* the same building blocks as http/server.c */
static double cpu(void)
{
        struct timespec t;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        return t.tv_sec + t.tv_nsec / 1e9;
}

struct line {
        char *p, *end;
};
static void put(struct line *l, const char *s, size_t n)
{
        if (n > (size_t)(l->end - l->p))
                n = (size_t)(l->end - l->p);
        memcpy(l->p, s, n);
        l->p += n;
}
static void put_str(struct line *l, const char *s)
{
        put(l, s, strlen(s));
}
static void put_uint(struct line *l, unsigned long long v)
{
        char d[24];
        size_t i = sizeof(d);
        do {
                d[--i] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        put(l, d + i, sizeof(d) - i);
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 200000;
        const char *peer = "127.0.0.1", *method = "GET", *uri = "/api/auth/status", *user = "admin";
        int status = 200;
        size_t len = 521;
        double ms = 0.153;
        double t0 = cpu();
        for (int i = 0; i < n; i++)
                log_info("%s \"%s %s\" %d %zu %.1fms%s%s", peer, method, uri, status, len, ms,
                         " user=", user);
        double t1 = cpu();
        for (int i = 0; i < n; i++) {
                char buf[2048];
                struct line l = {buf, buf + sizeof(buf)};
                put_str(&l, peer);
                put(&l, " \"", 2);
                put_str(&l, method);
                put(&l, " ", 1);
                put_str(&l, uri);
                put(&l, "\" ", 2);
                put_uint(&l, status);
                put(&l, " ", 1);
                put_uint(&l, len);
                put(&l, " ", 1);
                unsigned long long tenths = (unsigned long long)(ms * 10.0 + 0.5);
                put_uint(&l, tenths / 10);
                char frac[2] = {'.', (char)('0' + tenths % 10)};
                put(&l, frac, 2);
                put(&l, "ms", 2);
                put(&l, " user=", 6);
                put_str(&l, user);
                log_buffered(LOG_INFO, buf, (size_t)(l.p - buf));
        }
        log_flush();
        double t2 = cpu();
        fprintf(stdout,
                "old log_info: %.2f us/line; new log_buffered: %.2f us/line (%d lines each)\n",
                (t1 - t0) * 1e6 / n, (t2 - t1) * 1e6 / n, n);
        return 0;
}
