/* INI text as Python's configparser reads it (AUTARCH's autarch_settings.conf):
 * checked before the panel writes it, and read for single values. Pure
 * functions over a bounded buffer: the text is outside input. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define INI_MAX_SIZE (256 * 1024)

struct ini_error {
        unsigned line; /* 1-based line of the first error; 0 = none */
        char msg[128];
};

/* The rules of configparser's defaults (strict=True):
 *   [section]           name non-empty, no ']' inside, not seen before
 *   key = value / key: value   inside a section, key non-empty and unique
 *                       in its section (case-insensitive, as configparser)
 *   # or ; comment, blank line, an indented line continues the value above
 * Also refused: NUL and other control characters except tab and CR before
 * LF, and text over INI_MAX_SIZE. true when the text is valid; else false
 * with err (may be NULL) naming the line. */
bool ini_check(const char *text, size_t len, struct ini_error *err);

/* The value of key in section (first match, surrounding blanks trimmed, no
 * continuation lines) copied into out. true when found and it fit. */
bool ini_get(const char *text, size_t len, const char *section, const char *key, char *out,
             size_t outlen);
