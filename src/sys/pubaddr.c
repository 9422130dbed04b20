/* This server's public addresses and DNS lookups (see sys/pubaddr.h). */
#include "sys/pubaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "core/config.h"

int pubaddr_route_source(const char *dest, char *out, size_t len)
{
        struct sockaddr_storage ss = {0};
        socklen_t sl;
        int fam;
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, dest, &s4->sin_addr) == 1) {
                fam = AF_INET;
                s4->sin_family = AF_INET;
                s4->sin_port = htons(53);
                sl = sizeof(*s4);
        } else if (inet_pton(AF_INET6, dest, &s6->sin6_addr) == 1) {
                fam = AF_INET6;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons(53);
                sl = sizeof(*s6);
        } else {
                return -EINVAL;
        }
        int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* connect on UDP only picks a route and a source: nothing is sent */
        if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        struct sockaddr_storage me = {0};
        socklen_t ml = sizeof(me);
        int rc = getsockname(fd, (struct sockaddr *)&me, &ml);
        int e = errno;
        close(fd);
        if (rc < 0)
                return -e;
        const void *a = fam == AF_INET ? (const void *)&((struct sockaddr_in *)&me)->sin_addr
                                       : (const void *)&((struct sockaddr_in6 *)&me)->sin6_addr;
        if (!inet_ntop(fam, a, out, (socklen_t)len))
                return -errno;
        return 0;
}

bool pubaddr_is_global(const char *addr)
{
        struct in_addr a4;
        struct in6_addr a6;
        if (inet_pton(AF_INET, addr, &a4) == 1) {
                uint32_t a = ntohl(a4.s_addr);
                static const struct {
                        uint32_t net, mask;
                } local[] = {
                    {0x00000000, 0xff000000}, /* 0/8 */
                    {0x0a000000, 0xff000000}, /* 10/8 */
                    {0x64400000, 0xffc00000}, /* 100.64/10 */
                    {0x7f000000, 0xff000000}, /* 127/8 */
                    {0xa9fe0000, 0xffff0000}, /* 169.254/16 */
                    {0xac100000, 0xfff00000}, /* 172.16/12 */
                    {0xc0000200, 0xffffff00}, /* 192.0.2/24 */
                    {0xc0a80000, 0xffff0000}, /* 192.168/16 */
                    {0xc6120000, 0xfffe0000}, /* 198.18/15 */
                    {0xc6336400, 0xffffff00}, /* 198.51.100/24 */
                    {0xcb007100, 0xffffff00}, /* 203.0.113/24 */
                    {0xe0000000, 0xe0000000}, /* multicast and reserved */
                };
                for (size_t i = 0; i < ARRAY_SIZE(local); i++)
                        if ((a & local[i].mask) == local[i].net)
                                return false;
                return true;
        }
        if (inet_pton(AF_INET6, addr, &a6) != 1)
                return false;
        const uint8_t *b = a6.s6_addr;
        if (IN6_IS_ADDR_UNSPECIFIED(&a6) || IN6_IS_ADDR_LOOPBACK(&a6) ||
            IN6_IS_ADDR_LINKLOCAL(&a6) || IN6_IS_ADDR_MULTICAST(&a6) || IN6_IS_ADDR_V4MAPPED(&a6) ||
            (b[0] & 0xfe) == 0xfc ||                                        /* fc00::/7 */
            (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)) /* 2001:db8::/32 */
                return false;
        return (b[0] & 0xe0) == 0x20; /* 2000::/3: global unicast */
}

void pubaddr_get(const struct config *cfg, char *v4, char *v6)
{
        v4[0] = v6[0] = '\0';
        if (cfg && !str_empty(cfg->server.public_ipv4))
                snprintf(v4, PUBADDR_LEN, "%s", cfg->server.public_ipv4);
        else if (pubaddr_route_source("192.0.2.1", v4, PUBADDR_LEN) < 0 || !pubaddr_is_global(v4))
                v4[0] = '\0';
        if (cfg && !str_empty(cfg->server.public_ipv6))
                snprintf(v6, PUBADDR_LEN, "%s", cfg->server.public_ipv6);
        else if (pubaddr_route_source("2001:db8::1", v6, PUBADDR_LEN) < 0 || !pubaddr_is_global(v6))
                v6[0] = '\0';
}

int pubaddr_resolve(const char *host, char (*arr)[PUBADDR_LEN], size_t n, size_t *count)
{
        *count = 0;
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        int rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL)
                return -ENOENT;
        if (rc == EAI_SYSTEM)
                return errno ? -errno : -EIO;
        if (rc != 0)
                return rc == EAI_AGAIN ? -EAGAIN : -EIO;
        for (struct addrinfo *a = res; a && *count < n; a = a->ai_next) {
                char buf[PUBADDR_LEN];
                const void *p = a->ai_family == AF_INET
                                    ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                                    : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
                if (!inet_ntop(a->ai_family, p, buf, sizeof(buf)))
                        continue;
                bool dup = false;
                for (size_t i = 0; i < *count; i++)
                        dup = dup || streq(arr[i], buf);
                if (!dup)
                        snprintf(arr[(*count)++], PUBADDR_LEN, "%s", buf);
        }
        freeaddrinfo(res);
        return 0;
}
