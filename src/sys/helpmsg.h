/* The root helper's wire format (docs/ARCHITECTURE.md "Process model"): one
 * SOCK_SEQPACKET datagram per message, decoded with bounds on everything.
 * Both sides use it: the HTTP process builds requests and reads results
 * (sys/helpcall.c), the helper (src/helper/) reads requests, sends output
 * and results. The helper trusts nothing a message says: it checks the
 * shape here (hm_expect) and every value again with the sys/ and core/
 * rules before acting.
 *
 *   header: "SH" | version u8 | kind u8 | op u16 | nfields u16   (big-endian)
 *   field:  type u8 ('s' string, 'i' int64, 'b' bytes) | len u32 | data
 *
 * A string's data is its bytes without NUL (a NUL inside is refused); an
 * int is 8 bytes two's complement; bytes are anything. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

#define HM_VERSION    1
#define HM_MAX        (320u * 1024) /* one message, header included: an INI text of 256 KiB fits */
#define HM_MAX_FIELDS 64u
#define HM_HEADER     8u

enum hm_kind {
        HM_REQUEST = 1, /* HTTP process -> helper: op + arguments */
        HM_OUTPUT = 2,  /* helper -> HTTP process: one chunk of a program's output */
        HM_RESULT = 3,  /* helper -> HTTP process: rc (int), message (string), extras */
        HM_CANCEL = 4,  /* HTTP process -> helper: stop the running program */
};

/* The closed set of operations. Numbers are the wire format: append only. */
enum hm_op {
        HOP_NONE = 0,
        HOP_PING = 1, /* () -> (): liveness, tests */
        /* nginx */
        HOP_NGINX_APPLY = 10,  /* list of changes, applied and committed as one transaction */
        HOP_NGINX_RELOAD = 11, /* (mode: 0 reload, 1 checked reload, 2 restart) */
        /* systemd units */
        HOP_UNIT_INSTALL_SITE = 20,    /* (site) -> rendered by the helper for the site's user */
        HOP_UNIT_INSTALL_AUTARCH = 21, /* (which, web_port) */
        HOP_UNIT_REMOVE = 22,          /* (name) a unit the panel manages */
        HOP_UNIT_CONTROL = 23,         /* (name, op, timeout_ms) */
        /* ufw */
        HOP_FW_READ = 30,    /* () -> the texts of ufw's status commands */
        HOP_FW_ADD = 31,     /* (port, protocol, source, action, comment) */
        HOP_FW_DELETE = 32,  /* (spec tokens, one a line) */
        HOP_FW_ENABLE = 33,  /* (panel_port, allow flags FW_ALLOW_*) */
        HOP_FW_DISABLE = 34, /* () */
        /* accounts */
        HOP_USER_CREATE = 40,   /* (name, password, shell) */
        HOP_USER_DELETE = 41,   /* (name) */
        HOP_SITE_USER_ADD = 42, /* (site id, home) */
        HOP_SITE_USER_DEL = 43, /* (site id) */
        /* app trees and deploy steps */
        HOP_TREE_PREPARE = 50,     /* (path, user): mkdir -p, chown to user */
        HOP_TREE_CHOWN = 51,       /* (path, user) */
        HOP_TREE_REMOVE = 52,      /* (path, self) */
        HOP_DEPLOY_STEP = 53,      /* (step, site id, dir, repo, branch): streamed output */
        HOP_TREE_PLACEHOLDER = 54, /* (path, domain): index.html of a new empty static site */
        /* backups */
        HOP_BACKUP_CREATE =
            60, /* (kind, site root, db snapshot, dest) -> (files, entries, bytes) */
        HOP_BACKUP_RESTORE = 61, /* (archive, target) -> (files, entries, bytes) */
        /* AUTARCH */
        HOP_AUTARCH_CONFIG_WRITE = 70, /* (text bytes) */
        HOP_AUTARCH_STEP = 71,         /* (step, arg, flags) -> (made): streamed output */
        HOP_AUTARCH_CONFIG_READ = 72,  /* (max) -> the settings text (bytes) */
        /* Float Mode */
        HOP_USB_OPEN = 80, /* (id: bus << 8 | dev) -> the device node's fd (SCM_RIGHTS) */
        /* certificates */
        HOP_CERT_INSTALL = 90, /* (domain, fullchain, key) into acme.cert_dir */
};

/* Name of an op for logs ("nginx_apply"), "?" when unknown. */
const char *hm_op_name(unsigned op);

struct hm_field {
        char type; /* 's', 'i', 'b' */
        uint32_t len;
        const unsigned char *data; /* into the message buffer */
        int64_t i;                 /* 'i' */
};

/* A decoded message. Bytes fields point into the buffer given to hm_parse
 * (keep it alive); strings are NUL-terminated copies in pool. */
struct hm_msg {
        unsigned kind, op;
        unsigned n;
        struct hm_field f[HM_MAX_FIELDS];
        char *strs[HM_MAX_FIELDS]; /* 's' fields only, into pool */
        char *pool;                /* malloc'd */
};

/* Decode buf[0..len). 0 or -EBADMSG (anything malformed: short, bad magic,
 * version, kind, too many fields, a length beyond the end, trailing bytes, a
 * NUL inside a string), -ENOMEM. Free with hm_msg_clear (also after a
 * failure). */
int hm_parse(const void *buf, size_t len, struct hm_msg *m);
void hm_msg_clear(struct hm_msg *m);

/* The message has exactly the fields of sig ("ssi": two strings then an
 * int). */
bool hm_expect(const struct hm_msg *m, const char *sig);
/* Field i as a string (NUL-terminated), NULL when it is not one. */
const char *hm_str(const struct hm_msg *m, unsigned i);
/* Field i as an int, def when it is not one. */
int64_t hm_int(const struct hm_msg *m, unsigned i, int64_t def);

/* Building: hm_begin resets b (give it STRBUF_INIT(HM_MAX)), the others
 * append one field. Errors (-E2BIG past HM_MAX, -ENOMEM, -EINVAL for a
 * string holding NUL or too many fields) stick: hm_end returns the first
 * one, else 0. */
struct hm_builder {
        struct strbuf b;
        unsigned op, n;
        int err;
};
void hm_begin(struct hm_builder *hb, unsigned kind, unsigned op);
void hm_add_str(struct hm_builder *hb, const char *s); /* NULL is sent as "" */
void hm_add_int(struct hm_builder *hb, int64_t v);
void hm_add_bytes(struct hm_builder *hb, const void *p, size_t n);
int hm_end(struct hm_builder *hb);
void hm_builder_free(struct hm_builder *hb);

/* Send / receive one message on a SOCK_SEQPACKET socket, optionally with one
 * descriptor (SCM_RIGHTS). hm_recv: 0 with *fd_out (-1 when none; the fd is
 * CLOEXEC), -EPIPE at end of stream, -EMSGSIZE (truncated), -errno. Both
 * retry on EINTR. */
int hm_send(int sock, const struct hm_builder *hb, int fd);
int hm_recv(int sock, unsigned char *buf, size_t cap, size_t *len, int *fd_out);

/* A connected SOCK_SEQPACKET pair with CLOEXEC and buffers fit for HM_MAX. */
int hm_socketpair(int sv[2]);
