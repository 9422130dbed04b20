/* OpenSSH public keys ("type base64 [comment]"): parsed, checked and
 * fingerprinted locally (providers send no fingerprint). */
#pragma once

#include <stddef.h>

#define SSHKEY_TEXT_MAX 16384
#define SSHKEY_FP_LEN   64 /* "SHA256:" + 43 base64 characters + NUL fits */

/* 0 with fp = "SHA256:<base64 of SHA-256(blob), unpadded>", or -EINVAL with
 * msg saying why: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa of at
 * least 2048 bits; the blob's own type must match. */
int sshkey_parse(const char *text, char fp[SSHKEY_FP_LEN], char *msg, size_t msglen);
