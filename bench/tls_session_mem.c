/* Heap kept per idle GnuTLS server session (issue 13): N sessions set up as
 * libmicrohttpd 0.9.75 sets up the panel's (GNUTLS_SERVER | NONBLOCK |
 * NO_SIGNAL, the panel's priority string, ALPN, the certificate through a
 * retrieve callback, session tickets as http/tls.c enables them), each over a
 * socket pair whose client end a forked child drives with GnuTLS; malloc's
 * bytes in use (mallinfo2) are read in the parent before and after each stage
 * and divided by N:
 *   init       gnutls_init + priority + credentials + ALPN (+ ticket key)
 *   handshake  the server side of the handshake (TLS 1.3 unless "tls12")
 *   request    one ~300-byte request record read, one answer sent as MHD
 *              does: a 700-byte header and a body (324 bytes, or
 *              "body=BYTES") as two records, or corked into one as
 *              http/server.c does for small answers ("cork")
 * Build after a release build, from the top directory:
 *   cc -O2 bench/tls_session_mem.c -lgnutls -o /tmp/tls_session_mem
 *   /tmp/tls_session_mem CERT KEY [N] [notickets] [cork] [tls12] [maxrecv=BYTES]
 *                        [body=BYTES]
 * CERT/KEY: the panel's (its first start makes them, e.g. a test panel's
 * tls/cert.pem and tls/key.pem). */
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* http/server.c TLS_PRIORITIES */
#define PRIORITIES                                                                                 \
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"        \
        "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:+GROUP-"     \
        "X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-X448:+GROUP-SECP521R1:%SERVER_PRECEDENCE"

static gnutls_pcert_st pcert[8];
static unsigned npcert = 8;
static gnutls_privkey_t pkey;

static int retrieve(gnutls_session_t s, const gnutls_datum_t *dn, int ndn,
                    const gnutls_pk_algorithm_t *algos, int nalgos, gnutls_pcert_st **pc,
                    unsigned int *npc, gnutls_privkey_t *key)
{
        (void)s, (void)dn, (void)ndn, (void)algos, (void)nalgos;
        *pc = pcert;
        *npc = npcert;
        *key = pkey;
        return 0;
}

static size_t in_use(void)
{
        struct mallinfo2 m = mallinfo2();
        return m.uordblks + m.hblkhd;
}

static void die(const char *what, int rc)
{
        fprintf(stderr, "%s: %s\n", what, rc < 0 ? gnutls_strerror(rc) : "failed");
        exit(1);
}

static void client(int n, int (*sv)[2], int tls12, size_t answer)
{
        for (int i = 0; i < n; i++)
                close(sv[i][0]);
        gnutls_certificate_credentials_t cc;
        gnutls_certificate_allocate_credentials(&cc);
        gnutls_session_t *cs = calloc((size_t)n, sizeof(*cs));
        for (int i = 0; i < n; i++) {
                gnutls_init(&cs[i], GNUTLS_CLIENT);
                gnutls_priority_set_direct(
                    cs[i], tls12 ? "NORMAL:-VERS-ALL:+VERS-TLS1.2" : "NORMAL", NULL);
                gnutls_credentials_set(cs[i], GNUTLS_CRD_CERTIFICATE, cc);
                gnutls_transport_set_int(cs[i], sv[i][1]);
                int rc;
                do
                        rc = gnutls_handshake(cs[i]);
                while (rc < 0 && !gnutls_error_is_fatal(rc));
                if (rc < 0)
                        die("client handshake", rc);
        }
        char req[300], buf[4096];
        memset(req, 'x', sizeof(req));
        memcpy(req, "GET / HTTP/1.1\r\n", 16);
        for (int i = 0; i < n; i++) {
                gnutls_record_send(cs[i], req, sizeof(req));
                size_t got = 0;
                while (got < answer) {
                        ssize_t r = gnutls_record_recv(cs[i], buf, sizeof(buf));
                        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                                continue;
                        if (r <= 0)
                                die("client recv", (int)r);
                        got += (size_t)r;
                }
        }
        /* hold them until the parent is done */
        read(sv[0][1], buf, 1);
        _exit(0);
}

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr,
                        "usage: %s CERT KEY [N] [notickets] [cork] [tls12] "
                        "[maxrecv=BYTES] [body=BYTES]\n",
                        argv[0]);
                return 2;
        }
        int n = argc > 3 ? atoi(argv[3]) : 100;
        int tickets = 1, cork = 0, tls12 = 0;
        size_t maxrecv = 0, body_len = 324;
        for (int i = 4; i < argc; i++) {
                if (!strcmp(argv[i], "notickets"))
                        tickets = 0;
                else if (!strcmp(argv[i], "cork"))
                        cork = 1;
                else if (!strcmp(argv[i], "tls12"))
                        tls12 = 1;
                else if (!strncmp(argv[i], "maxrecv=", 8))
                        maxrecv = strtoul(argv[i] + 8, NULL, 10);
                else if (!strncmp(argv[i], "body=", 5))
                        body_len = strtoul(argv[i] + 5, NULL, 10);
        }
        gnutls_global_init();
        gnutls_datum_t cd, kd;
        int rc = gnutls_load_file(argv[1], &cd);
        if (rc < 0)
                die(argv[1], rc);
        if ((rc = gnutls_load_file(argv[2], &kd)) < 0)
                die(argv[2], rc);
        if ((rc = gnutls_pcert_list_import_x509_raw(pcert, &npcert, &cd, GNUTLS_X509_FMT_PEM, 0)) <
            0)
                die("certificate", rc);
        gnutls_privkey_init(&pkey);
        if ((rc = gnutls_privkey_import_x509_raw(pkey, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
                die("key", rc);
        gnutls_certificate_credentials_t xc;
        gnutls_certificate_allocate_credentials(&xc);
        gnutls_certificate_set_retrieve_function2(xc, retrieve);
        gnutls_priority_t prio;
        if ((rc = gnutls_priority_init(&prio, PRIORITIES, NULL)) < 0)
                die("priority", rc);
        gnutls_datum_t tkey;
        gnutls_session_ticket_key_generate(&tkey);

        int(*sv)[2] = calloc((size_t)n, sizeof(*sv));
        for (int i = 0; i < n; i++)
                if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) < 0)
                        die("socketpair", -1);
        pid_t kid = fork();
        if (kid == 0)
                client(n, sv, tls12, 700 + body_len);

        gnutls_session_t *ss = calloc((size_t)n, sizeof(*ss));
        malloc_trim(0);
        size_t m0 = in_use();
        for (int i = 0; i < n; i++) {
                if ((rc = gnutls_init(&ss[i], GNUTLS_SERVER | GNUTLS_NO_SIGNAL)) < 0 ||
                    (rc = gnutls_priority_set(ss[i], prio)) < 0)
                        die("init", rc);
                gnutls_datum_t alpn[2] = {{(unsigned char *)"http/1.1", 8},
                                          {(unsigned char *)"http/1.0", 8}};
                gnutls_alpn_set_protocols(ss[i], alpn, 2, 0);
                gnutls_credentials_set(ss[i], GNUTLS_CRD_CERTIFICATE, xc);
                if (tickets)
                        gnutls_session_ticket_enable_server(ss[i], &tkey);
                if (maxrecv)
                        gnutls_record_set_max_recv_size(ss[i], maxrecv);
                gnutls_transport_set_int(ss[i], sv[i][0]);
        }
        size_t m1 = in_use();
        for (int i = 0; i < n; i++) {
                do
                        rc = gnutls_handshake(ss[i]);
                while (rc < 0 && !gnutls_error_is_fatal(rc));
                if (rc < 0)
                        die("server handshake", rc);
        }
        size_t m2 = in_use();
        char buf[20480], head[700];
        char *body = malloc(body_len + 1);
        if (!body)
                die("malloc", -1);
        memset(head, 'h', sizeof(head));
        memset(body, 'b', body_len);
        for (int i = 0; i < n; i++) {
                size_t got = 0;
                while (got < 300) {
                        ssize_t r = gnutls_record_recv(ss[i], buf, sizeof(buf));
                        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                                continue;
                        if (r <= 0)
                                die("server recv", (int)r);
                        got += (size_t)r;
                }
                if (cork)
                        gnutls_record_cork(ss[i]);
                gnutls_record_send(ss[i], head, sizeof(head));
                for (size_t off = 0; off < body_len;) {
                        ssize_t w = gnutls_record_send(ss[i], body + off, body_len - off);
                        if (w < 0)
                                die("server send", (int)w);
                        off += (size_t)w;
                }
                if (cork)
                        gnutls_record_uncork(ss[i], GNUTLS_RECORD_WAIT);
        }
        size_t m3 = in_use();
        free(body);
        printf("%s, tickets %s, %zu-byte body%s%s: bytes in use per session: init %.0f, "
               "+handshake %.0f, +request %.0f = %.0f\n",
               tls12 ? "TLS 1.2" : "TLS 1.3", tickets ? "on" : "off", body_len,
               cork ? " corked" : "", maxrecv ? ", max recv size set" : "", (double)(m1 - m0) / n,
               (double)(m2 - m1) / n, (double)(m3 - m2) / n, (double)(m3 - m0) / n);
        for (int i = 0; i < n; i++)
                gnutls_deinit(ss[i]);
        close(sv[0][0]);
        for (int i = 0; i < n; i++)
                close(sv[i][0]);
        waitpid(kid, NULL, 0);
        return 0;
}
