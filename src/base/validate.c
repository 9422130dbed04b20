/* Validators (CONTRACT.md §4). Every identifier checked here ends up in a file
 * name, an nginx/systemd config file or an argv, so the rules are allow-lists
 * of characters rather than deny-lists, and anything unusual is refused. */
#include "base/validate.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#define PATH_MAX_LEN 4096

static bool is_ascii_alnum(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(unsigned char c)
{
        return c >= '0' && c <= '9';
}

static bool is_ctl_or_space(unsigned char c)
{
        return c <= 0x20 || c == 0x7f;
}

/* Characters allowed in a path segment. Paths are pasted into nginx vhosts
 * and unit files, so whitespace, quotes, ';', '{', '}', '$', '#', '\\' and
 * non-ASCII bytes are refused even though the kernel would accept them. */
static bool is_path_char(unsigned char c)
{
        return is_ascii_alnum(c) || strchr("._-+@,~=:", c) != NULL;
}

/* Decimal without sign or leading zeros, value in [min,max]. */
static bool parse_dec(const char *s, size_t n, unsigned long min, unsigned long max,
                      unsigned long *out)
{
        if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
                return false;
        unsigned long v = 0;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit((unsigned char)s[i]))
                        return false;
                v = v * 10 + (unsigned long)(s[i] - '0');
        }
        if (v < min || v > max)
                return false;
        if (out)
                *out = v;
        return true;
}

static bool valid_domain_n(const char *s, size_t n)
{
        if (n == 0 || n > 253)
                return false;
        size_t label = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!is_ascii_alnum(c) && c != '-')
                        return false;
                if (c == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        /* no empty last label (trailing dot) and no trailing '-' */
        return label > 0 && s[n - 1] != '-';
}

bool valid_domain(const char *s)
{
        return s && valid_domain_n(s, strlen(s));
}

bool valid_aliases(const char *s)
{
        if (!s)
                return false;
        const char *p = s;
        while (*p) {
                if (*p == ' ') {
                        p++;
                        continue;
                }
                size_t n = strcspn(p, " ");
                if (!valid_domain_n(p, n))
                        return false;
                p += n;
        }
        return true;
}

bool valid_username(const char *s)
{
        if (!s)
                return false;
        size_t n = strlen(s);
        if (n == 0 || n > 32)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || is_digit((unsigned char)c) || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

bool valid_password(const char *s)
{
        if (!s)
                return false;
        size_t n = strlen(s);
        return n >= 1 && n <= 1024 && !strpbrk(s, "\r\n");
}

bool valid_unit_name(const char *s)
{
        if (!s)
                return false;
        size_t n = strlen(s);
        if (n == 0 || n > 255 || s[0] == '-' || s[0] == '.' || s[n - 1] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (!is_ascii_alnum(c) && !strchr(":_.\\@-", c))
                        return false;
        }
        return true;
}

bool valid_port_str(const char *s)
{
        return s && parse_dec(s, strlen(s), 1, 65535, NULL);
}

bool valid_port_range(const char *s)
{
        if (!s)
                return false;
        const char *colon = strchr(s, ':');
        if (!colon)
                return valid_port_str(s);
        unsigned long a, b;
        if (!parse_dec(s, (size_t)(colon - s), 1, 65535, &a) ||
            !parse_dec(colon + 1, strlen(colon + 1), 1, 65535, &b))
                return false;
        return a < b;
}

bool valid_ip_or_cidr(const char *s)
{
        if (!s)
                return false;
        size_t n = strlen(s);
        const char *slash = strchr(s, '/');
        size_t alen = slash ? (size_t)(slash - s) : n;
        /* the longest textual IPv6 address (with embedded IPv4) is 45 bytes */
        char addr[INET6_ADDRSTRLEN + 1];
        if (alen == 0 || alen >= sizeof(addr))
                return false;
        memcpy(addr, s, alen);
        addr[alen] = '\0';

        unsigned char bin[sizeof(struct in6_addr)];
        unsigned long maxp;
        if (inet_pton(AF_INET, addr, bin) == 1)
                maxp = 32;
        else if (inet_pton(AF_INET6, addr, bin) == 1)
                maxp = 128;
        else
                return false;
        if (!slash)
                return true;
        return parse_dec(slash + 1, strlen(slash + 1), 0, maxp, NULL);
}

bool valid_git_branch(const char *s)
{
        if (!s)
                return false;
        size_t n = strlen(s);
        /* git has no limit, but nothing sane needs more and it bounds what we store */
        if (n == 0 || n > 255)
                return false;
        if (s[0] == '-' || s[0] == '/' || s[n - 1] == '/' || s[n - 1] == '.')
                return false;
        if (strcmp(s, "@") == 0 || strcmp(s, "HEAD") == 0)
                return false;
        if (strstr(s, "..") || strstr(s, "@{") || strstr(s, "//"))
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c == 0x7f || c == ' ' || strchr("~^:?*[\\", c))
                        return false;
        }
        /* per component: no leading '.', no ".lock" suffix */
        const char *p = s;
        for (;;) {
                size_t cl = strcspn(p, "/");
                if (p[0] == '.')
                        return false;
                if (cl >= 5 && memcmp(p + cl - 5, ".lock", 5) == 0)
                        return false;
                if (!p[cl])
                        break;
                p += cl + 1;
        }
        return true;
}

/* host, "[v6]" or IP, n bytes */
static bool valid_host_n(const char *h, size_t n)
{
        if (n == 0)
                return false;
        if (h[0] == '[') {
                char a[INET6_ADDRSTRLEN + 1];
                unsigned char bin[sizeof(struct in6_addr)];
                if (n < 3 || h[n - 1] != ']' || n - 2 >= sizeof(a))
                        return false;
                memcpy(a, h + 1, n - 2);
                a[n - 2] = '\0';
                return inet_pton(AF_INET6, a, bin) == 1;
        }
        /* a dotted quad is also a syntactically valid domain */
        return valid_domain_n(h, n);
}

/* user name in ssh / scp-like URLs */
static bool valid_url_user_n(const char *u, size_t n)
{
        if (n == 0 || u[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)u[i];
                if (!is_ascii_alnum(c) && !strchr("._-", c))
                        return false;
        }
        return true;
}

/* RFC 3986 characters minus the quote, so nothing a config file or log
 * viewer could misread slips through inside a URL. */
static bool is_url_char(unsigned char c)
{
        return is_ascii_alnum(c) || strchr("-._~:/?#[]@!$&()*+,;=%", c) != NULL;
}

/* "[user@]host[:port]" followed by "/path" with a non-empty path */
static bool valid_authority_path(const char *a, bool allow_password)
{
        size_t alen = strcspn(a, "/");
        const char *path = a + alen;
        if (path[0] != '/' || path[1] == '\0')
                return false;

        const char *at = memchr(a, '@', alen);
        const char *host = a;
        if (at) {
                size_t ulen = (size_t)(at - a);
                const char *colon = memchr(a, ':', ulen);
                if (colon && !allow_password)
                        return false;
                /* https userinfo may carry a token; only the name part is restricted */
                if (!valid_url_user_n(a, colon ? (size_t)(colon - a) : ulen))
                        return false;
                if (colon) {
                        for (const char *p = colon + 1; p < at; p++)
                                if (*p == '@' || *p == '/')
                                        return false;
                }
                host = at + 1;
        }
        size_t hlen = (size_t)(a + alen - host);
        if (hlen && host[0] == '[') {
                const char *rb = memchr(host, ']', hlen);
                if (!rb)
                        return false;
                size_t bl = (size_t)(rb - host) + 1;
                if (bl < hlen &&
                    (host[bl] != ':' || !parse_dec(host + bl + 1, hlen - bl - 1, 1, 65535, NULL)))
                        return false;
                return valid_host_n(host, bl);
        }
        const char *colon = memchr(host, ':', hlen);
        if (colon) {
                if (!parse_dec(colon + 1, hlen - (size_t)(colon - host) - 1, 1, 65535, NULL))
                        return false;
                hlen = (size_t)(colon - host);
        }
        return valid_host_n(host, hlen);
}

static bool has_transport_prefix(const char *s)
{
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-");
        return n > 0 && s[n] == ':' && s[n + 1] == ':';
}

bool valid_git_repo(const char *s, const char *local_root)
{
        if (!s || !*s || s[0] == '-')
                return false;
        size_t n = strlen(s);
        if (n > PATH_MAX_LEN)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (is_ctl_or_space(c) || c >= 0x80)
                        return false;
        }
        if (has_transport_prefix(s))
                return false;

        if (s[0] == '/')
                return local_root && valid_path_inside(s, local_root);

        bool url_ok = true;
        for (size_t i = 0; i < n; i++)
                if (!is_url_char((unsigned char)s[i]))
                        url_ok = false;
        if (!url_ok)
                return false;

        if (startswith(s, "https://"))
                return valid_authority_path(s + 8, true);
        if (startswith(s, "ssh://"))
                return valid_authority_path(s + 6, false);

        /* scp-like: git only treats it so when no '/' precedes the first ':' */
        const char *colon = strchr(s, ':');
        const char *at = strchr(s, '@');
        if (!colon || !at || at > colon || memchr(s, '/', (size_t)(colon - s)))
                return false;
        if (!valid_url_user_n(s, (size_t)(at - s)))
                return false;
        if (!valid_host_n(at + 1, (size_t)(colon - at - 1)))
                return false;
        const char *path = colon + 1;
        return path[0] != '\0' && path[0] != '-';
}

bool valid_path_inside(const char *path, const char *root)
{
        if (!path || !root || path[0] != '/' || root[0] != '/')
                return false;
        size_t n = strlen(path);
        if (n > PATH_MAX_LEN)
                return false;

        size_t rlen = strlen(root);
        while (rlen > 0 && root[rlen - 1] == '/')
                rlen--;
        /* strictly inside: root followed by '/' and at least one segment */
        if (n <= rlen + 1 || memcmp(path, root, rlen) != 0 || path[rlen] != '/')
                return false;

        /* normalised: every segment non-empty, not "." or "..", allowed chars only */
        const char *p = path + 1;
        for (;;) {
                size_t sl = strcspn(p, "/");
                if (sl == 0)
                        return false;
                if ((sl == 1 && p[0] == '.') || (sl == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                for (size_t i = 0; i < sl; i++)
                        if (!is_path_char((unsigned char)p[i]))
                                return false;
                if (!p[sl])
                        break;
                p += sl + 1;
        }
        return true;
}

bool valid_relative_path(const char *s)
{
        if (!s)
                return false;
        size_t n = strlen(s);
        if (n == 0 || n > 255 || s[0] == '/')
                return false;
        const char *p = s;
        for (;;) {
                size_t sl = strcspn(p, "/");
                if (sl == 0)
                        return false;
                if ((sl == 1 && p[0] == '.') || (sl == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                /* a leading '-' segment could be taken for an option by the interpreter */
                if (p[0] == '-')
                        return false;
                for (size_t i = 0; i < sl; i++)
                        if (!is_path_char((unsigned char)p[i]))
                                return false;
                if (!p[sl])
                        break;
                p += sl + 1;
        }
        return true;
}

bool valid_nginx_size(const char *s)
{
        if (!s)
                return false;
        size_t n = strspn(s, "0123456789");
        if (n < 1 || n > 10)
                return false;
        unsigned long long v = 0;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (unsigned long long)(s[i] - '0');
        static const char units[] = "kKmMgG";
        unsigned shift = 0;
        if (s[n]) {
                const char *unit = strchr(units, s[n]);
                if (!unit || s[n + 1])
                        return false;
                shift = 10u * (unsigned)((unit - units) / 2 + 1);
        }
        /* v < 10^10 < 2^34: shifted by at most 30 it stays below 2^64 */
        return (v << shift) <= NGINX_SIZE_MAX;
}

bool valid_printable(const char *s, size_t maxlen)
{
        if (!s)
                return false;
        size_t n = 0;
        for (; s[n]; n++) {
                unsigned char c = (unsigned char)s[n];
                if (c < 0x20 || c > 0x7e || n >= maxlen)
                        return false;
        }
        return true;
}

char *str_tolower(char *s)
{
        if (!s)
                return s;
        for (char *p = s; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        return s;
}
