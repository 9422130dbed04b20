#include "sys/helpmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"

static const struct {
        unsigned op;
        const char *name;
} op_names[] = {
    {HOP_PING, "ping"},
    {HOP_NGINX_APPLY, "nginx_apply"},
    {HOP_NGINX_RELOAD, "nginx_reload"},
    {HOP_UNIT_INSTALL_SITE, "unit_install_site"},
    {HOP_UNIT_INSTALL_AUTARCH, "unit_install_autarch"},
    {HOP_UNIT_REMOVE, "unit_remove"},
    {HOP_UNIT_CONTROL, "unit_control"},
    {HOP_FW_READ, "fw_read"},
    {HOP_FW_ADD, "fw_add"},
    {HOP_FW_DELETE, "fw_delete"},
    {HOP_FW_ENABLE, "fw_enable"},
    {HOP_FW_DISABLE, "fw_disable"},
    {HOP_USER_CREATE, "user_create"},
    {HOP_USER_DELETE, "user_delete"},
    {HOP_SITE_USER_ADD, "site_user_add"},
    {HOP_SITE_USER_DEL, "site_user_del"},
    {HOP_TREE_PREPARE, "tree_prepare"},
    {HOP_TREE_CHOWN, "tree_chown"},
    {HOP_TREE_REMOVE, "tree_remove"},
    {HOP_DEPLOY_STEP, "deploy_step"},
    {HOP_TREE_PLACEHOLDER, "tree_placeholder"},
    {HOP_BACKUP_CREATE, "backup_create"},
    {HOP_BACKUP_RESTORE, "backup_restore"},
    {HOP_AUTARCH_CONFIG_WRITE, "autarch_config_write"},
    {HOP_AUTARCH_STEP, "autarch_step"},
    {HOP_AUTARCH_CONFIG_READ, "autarch_config_read"},
    {HOP_USB_OPEN, "usb_open"},
    {HOP_CERT_INSTALL, "cert_install"},
};

const char *hm_op_name(unsigned op)
{
        for (size_t i = 0; i < ARRAY_SIZE(op_names); i++)
                if (op_names[i].op == op)
                        return op_names[i].name;
        return "?";
}

static uint32_t get32(const unsigned char *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int hm_parse(const void *buf, size_t len, struct hm_msg *m)
{
        const unsigned char *p = buf;
        memset(m, 0, sizeof(*m));
        if (len < HM_HEADER || len > HM_MAX || p[0] != 'S' || p[1] != 'H' || p[2] != HM_VERSION)
                return -EBADMSG;
        m->kind = p[3];
        m->op = (unsigned)p[4] << 8 | p[5];
        m->n = (unsigned)p[6] << 8 | p[7];
        if (m->kind < HM_REQUEST || m->kind > HM_CANCEL || m->n > HM_MAX_FIELDS)
                return -EBADMSG;
        /* strings are copied with a NUL each: never more than len + n bytes */
        m->pool = malloc(len + m->n + 1);
        if (!m->pool)
                return -ENOMEM;
        char *pool = m->pool;
        size_t off = HM_HEADER;
        for (unsigned i = 0; i < m->n; i++) {
                if (len - off < 5)
                        return -EBADMSG;
                struct hm_field *f = &m->f[i];
                f->type = (char)p[off];
                f->len = get32(p + off + 1);
                off += 5;
                if (f->len > len - off)
                        return -EBADMSG;
                f->data = p + off;
                switch (f->type) {
                case 's':
                        if (memchr(f->data, 0, f->len))
                                return -EBADMSG;
                        memcpy(pool, f->data, f->len);
                        pool[f->len] = 0;
                        m->strs[i] = pool;
                        pool += f->len + 1;
                        break;
                case 'i': {
                        if (f->len != 8)
                                return -EBADMSG;
                        uint64_t v = (uint64_t)get32(f->data) << 32 | get32(f->data + 4);
                        memcpy(&f->i, &v, sizeof(v));
                        break;
                }
                case 'b':
                        break;
                default:
                        return -EBADMSG;
                }
                off += f->len;
        }
        return off == len ? 0 : -EBADMSG;
}

void hm_msg_clear(struct hm_msg *m)
{
        free(m->pool);
        m->pool = NULL;
        m->n = 0;
}

bool hm_expect(const struct hm_msg *m, const char *sig)
{
        size_t n = strlen(sig);
        if (n != m->n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (m->f[i].type != sig[i])
                        return false;
        return true;
}

const char *hm_str(const struct hm_msg *m, unsigned i)
{
        return i < m->n && m->f[i].type == 's' ? m->strs[i] : NULL;
}

int64_t hm_int(const struct hm_msg *m, unsigned i, int64_t def)
{
        return i < m->n && m->f[i].type == 'i' ? m->f[i].i : def;
}

void hm_begin(struct hm_builder *hb, unsigned kind, unsigned op)
{
        strbuf_reset(&hb->b);
        hb->b.max = HM_MAX;
        hb->n = 0;
        hb->op = op;
        unsigned char h[HM_HEADER] = {
            'S', 'H', HM_VERSION, (unsigned char)kind, (unsigned char)(op >> 8), (unsigned char)op};
        hb->err = strbuf_append(&hb->b, h, sizeof(h));
}

static void add_field(struct hm_builder *hb, char type, const void *p, size_t n)
{
        if (hb->err)
                return;
        if (hb->n >= HM_MAX_FIELDS || n > HM_MAX) {
                hb->err = n > HM_MAX ? -E2BIG : -EINVAL;
                return;
        }
        unsigned char h[5] = {(unsigned char)type, (unsigned char)(n >> 24),
                              (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
        size_t at = hb->b.len;
        int r = strbuf_append(&hb->b, h, sizeof(h));
        if (!r)
                r = strbuf_append(&hb->b, p, n);
        if (r) {
                hb->b.len = at;
                hb->err = r;
                return;
        }
        hb->n++;
        hb->b.data[6] = (char)(hb->n >> 8);
        hb->b.data[7] = (char)hb->n;
}

void hm_add_str(struct hm_builder *hb, const char *s)
{
        if (!s)
                s = "";
        add_field(hb, 's', s, strlen(s));
}

void hm_add_int(struct hm_builder *hb, int64_t v)
{
        uint64_t u;
        memcpy(&u, &v, sizeof(u));
        unsigned char b[8];
        for (int i = 0; i < 8; i++)
                b[i] = (unsigned char)(u >> (56 - 8 * i));
        add_field(hb, 'i', b, sizeof(b));
}

void hm_add_bytes(struct hm_builder *hb, const void *p, size_t n)
{
        add_field(hb, 'b', p, n);
}

int hm_end(struct hm_builder *hb)
{
        return hb->err;
}

void hm_builder_free(struct hm_builder *hb)
{
        strbuf_free(&hb->b);
}

int hm_send(int sock, const struct hm_builder *hb, int fd)
{
        if (hb->err)
                return hb->err;
        struct iovec iov = {.iov_base = hb->b.data, .iov_len = hb->b.len};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (fd >= 0) {
                memset(&u, 0, sizeof(u));
                mh.msg_control = u.buf;
                mh.msg_controllen = sizeof(u.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        for (;;) {
                ssize_t w = sendmsg(sock, &mh, MSG_NOSIGNAL);
                if (w >= 0)
                        return (size_t)w == hb->b.len ? 0 : -EMSGSIZE;
                if (errno != EINTR)
                        return -errno;
        }
}

int hm_recv(int sock, unsigned char *buf, size_t cap, size_t *len, int *fd_out)
{
        if (fd_out)
                *fd_out = -1;
        struct iovec iov = {.iov_base = buf, .iov_len = cap};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } u;
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = u.buf,
                            .msg_controllen = sizeof(u.buf)};
        ssize_t r;
        do
                r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        /* every descriptor that came is either handed out or closed */
        int got = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < nfd; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (got < 0 && fd_out)
                                got = fd;
                        else
                                close(fd);
                }
        }
        if (r == 0) {
                if (got >= 0)
                        close(got);
                return -EPIPE;
        }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                if (got >= 0)
                        close(got);
                return -EMSGSIZE;
        }
        if (fd_out)
                *fd_out = got;
        *len = (size_t)r;
        return 0;
}

int hm_socketpair(int sv[2])
{
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        int sz = (int)HM_MAX * 2;
        for (int i = 0; i < 2; i++) {
                setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
                setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        }
        return 0;
}
