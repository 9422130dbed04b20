#include "core/ini.h"

#include "base/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bounds that keep the duplicate checks cheap on hostile input. */
#define MAX_SECTIONS 1024
#define MAX_KEYS     1024

struct span {
        const char *p;
        size_t n;
};

static bool fail(struct ini_error *err, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(struct ini_error *err, unsigned line, const char *fmt, ...)
{
        if (err) {
                err->line = line;
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
                va_end(ap);
        }
        return false;
}

static bool blank(char c)
{
        return c == ' ' || c == '\t';
}

static struct span trim(const char *p, size_t n)
{
        while (n > 0 && blank(*p)) {
                p++;
                n--;
        }
        while (n > 0 && (blank(p[n - 1]) || p[n - 1] == '\r'))
                n--;
        return (struct span){p, n};
}

/* One line: [p, p+n) without its '\n'. Control characters other than tab
 * (and a CR right before the newline) are refused. */
static bool line_chars_ok(const char *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)p[i];
                if (c == '\t')
                        continue;
                if (c == '\r' && i + 1 == n)
                        continue;
                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return true;
}

static bool seen(const struct span *list, size_t n, struct span s, bool nocase)
{
        for (size_t i = 0; i < n; i++)
                if (list[i].n == s.n &&
                    (nocase ? strncasecmp(list[i].p, s.p, s.n) : memcmp(list[i].p, s.p, s.n)) == 0)
                        return true;
        return false;
}

/* "key = value" / "key: value": the key is what comes before the first
 * '=' or ':'. false when neither is there. */
static bool split_option(struct span line, struct span *key, struct span *value)
{
        for (size_t i = 0; i < line.n; i++)
                if (line.p[i] == '=' || line.p[i] == ':') {
                        *key = trim(line.p, i);
                        *value = trim(line.p + i + 1, line.n - i - 1);
                        return true;
                }
        return false;
}

static size_t indent_of(const char *p, size_t n)
{
        size_t i = 0;
        while (i < n && blank(p[i]))
                i++;
        return i;
}

/* A name for a message, cut at a UTF-8 character boundary. */
static void printable(struct span s, char *buf, size_t len)
{
        size_t n = s.n < len - 1 ? s.n : len - 1;
        if (n < s.n)
                while (n > 0 && ((unsigned char)s.p[n] & 0xc0) == 0x80)
                        n--;
        memcpy(buf, s.p, n);
        buf[n] = '\0';
}

bool ini_check(const char *text, size_t len, struct ini_error *err)
{
        if (err) {
                err->line = 0;
                err->msg[0] = '\0';
        }
        if (!text && len > 0)
                return fail(err, 0, "no text");
        if (len > INI_MAX_SIZE)
                return fail(err, 0, "the file is larger than %d bytes", INI_MAX_SIZE);

        /* on the heap: as thread-local arrays these 32 KB were set up in every thread */
        _cleanup_free_ struct span *sections = calloc(MAX_SECTIONS + MAX_KEYS, sizeof(*sections));
        if (!sections)
                return fail(err, 0, "out of memory");
        struct span *keys = sections + MAX_SECTIONS;
        size_t nsections = 0, nkeys = 0;
        bool in_section = false, have_option = false;
        size_t option_indent = 0;
        unsigned lineno = 0;
        size_t pos = 0;
        while (pos < len) {
                const char *p = text + pos;
                const char *nl = memchr(p, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - p) : len - pos;
                pos += n + (nl ? 1 : 0);
                lineno++;
                if (!line_chars_ok(p, n))
                        return fail(err, lineno, "line %u: control character", lineno);
                struct span s = trim(p, n);
                if (s.n == 0)
                        continue; /* blank (inside a value too, as configparser) */
                if (s.p[0] == '#' || s.p[0] == ';')
                        continue;
                size_t indent = indent_of(p, n);
                if (have_option && indent > option_indent)
                        continue; /* continuation of the value above */

                if (s.p[0] == '[') {
                        if (s.p[s.n - 1] != ']')
                                return fail(err, lineno, "line %u: section header without ']'",
                                            lineno);
                        struct span name = {s.p + 1, s.n - 2};
                        if (name.n == 0)
                                return fail(err, lineno, "line %u: empty section name", lineno);
                        if (memchr(name.p, ']', name.n) || memchr(name.p, '[', name.n))
                                return fail(err, lineno, "line %u: '[' or ']' in a section name",
                                            lineno);
                        if (seen(sections, nsections, name, false)) {
                                char nm[64];
                                printable(name, nm, sizeof(nm));
                                return fail(err, lineno, "line %u: section [%s] already defined",
                                            lineno, nm);
                        }
                        if (nsections == MAX_SECTIONS)
                                return fail(err, lineno, "line %u: more than %d sections", lineno,
                                            MAX_SECTIONS);
                        sections[nsections++] = name;
                        nkeys = 0;
                        in_section = true;
                        have_option = false;
                        continue;
                }
                if (!in_section)
                        return fail(err, lineno, "line %u: a key outside any [section]", lineno);
                struct span key, value;
                if (!split_option(s, &key, &value))
                        return fail(err, lineno, "line %u: expected 'key = value'", lineno);
                if (key.n == 0)
                        return fail(err, lineno, "line %u: empty key", lineno);
                if (seen(keys, nkeys, key, true)) {
                        char k[64];
                        printable(key, k, sizeof(k));
                        return fail(err, lineno, "line %u: key '%s' already set in this section",
                                    lineno, k);
                }
                if (nkeys == MAX_KEYS)
                        return fail(err, lineno, "line %u: more than %d keys in a section", lineno,
                                    MAX_KEYS);
                keys[nkeys++] = key;
                have_option = true;
                option_indent = indent;
        }
        return true;
}

bool ini_get(const char *text, size_t len, const char *section, const char *key, char *out,
             size_t outlen)
{
        if (!text || !section || !key || !out || outlen == 0 || len > INI_MAX_SIZE)
                return false;
        size_t seclen = strlen(section), keylen = strlen(key);
        bool in = false;
        size_t pos = 0;
        while (pos < len) {
                const char *p = text + pos;
                const char *nl = memchr(p, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - p) : len - pos;
                pos += n + (nl ? 1 : 0);
                struct span s = trim(p, n);
                if (s.n == 0 || s.p[0] == '#' || s.p[0] == ';')
                        continue;
                if (s.p[0] == '[' && s.p[s.n - 1] == ']' && s.n >= 2) {
                        in = s.n - 2 == seclen && memcmp(s.p + 1, section, seclen) == 0;
                        continue;
                }
                if (!in || indent_of(p, n) > 0)
                        continue;
                struct span k, v;
                if (!split_option(s, &k, &v) || k.n != keylen || strncasecmp(k.p, key, keylen))
                        continue;
                if (v.n >= outlen || memchr(v.p, '\0', v.n))
                        return false;
                memcpy(out, v.p, v.n);
                out[v.n] = '\0';
                return true;
        }
        return false;
}
