#include "http/assets.h"

#include <string.h>

const struct asset *assets_find(const char *path)
{
        for (const struct asset *a = assets_table; a->path; a++)
                if (strcmp(a->path, path) == 0)
                        return a;
        return NULL;
}

const char *assets_content_type(const char *path)
{
        static const struct {
                const char *ext, *type;
        } types[] = {
            {".html", "text/html; charset=utf-8"},
            {".css", "text/css; charset=utf-8"},
            {".js", "text/javascript; charset=utf-8"},
            {".svg", "image/svg+xml"},
            {".png", "image/png"},
            {".ico", "image/x-icon"},
            {".json", "application/json"},
            {".txt", "text/plain; charset=utf-8"},
        };
        const char *dot = strrchr(path, '.');
        for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
                if (strcmp(dot, types[i].ext) == 0)
                        return types[i].type;
        return "application/octet-stream";
}

bool assets_etag_matches(const char *inm, const char *etag)
{
        if (!inm || !etag)
                return false;
        size_t el = strlen(etag);
        /* a list of entity tags, weak ones (W/) compared weakly (RFC 9110 13.1.2) */
        for (const char *p = inm; *p;) {
                p += strspn(p, " \t,");
                if (*p == '*')
                        return true;
                if (strncmp(p, "W/", 2) == 0)
                        p += 2;
                if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' '))
                        return true;
                p += strcspn(p, ",");
        }
        return false;
}
