/* This server's public addresses and DNS lookups (see sys/pubaddr.h). */
#include "sys/pubaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
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

void pubaddr_get(const struct config *cfg, char *v4, char *v6)
{
        v4[0] = v6[0] = '\0';
        if (cfg && !str_empty(cfg->server.public_ipv4))
                snprintf(v4, PUBADDR_LEN, "%s", cfg->server.public_ipv4);
        else if (pubaddr_route_source("192.0.2.1", v4, PUBADDR_LEN) < 0 || streq(v4, "0.0.0.0"))
                v4[0] = '\0';
        if (cfg && !str_empty(cfg->server.public_ipv6))
                snprintf(v6, PUBADDR_LEN, "%s", cfg->server.public_ipv6);
        else if (pubaddr_route_source("2001:db8::1", v6, PUBADDR_LEN) < 0 || streq(v6, "::") ||
                 streq(v6, "::1"))
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
