/* SPDX-License-Identifier: MIT */
/* sha256.h - SHA-256 for RECORD verification, through libcrypto's EVP:
 * init, update any number of times, then final (or abort on an error
 * path; either frees the context); sha256_b64 writes the 43-character
 * urlsafe unpadded base64 form RECORD uses (plus NUL). */
#ifndef BLAST_SHA256_H
#define BLAST_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	void *ctx; /* EVP_MD_CTX */
};

/* 0, or -ENOMEM (nothing to free). */
int sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* 0 or -EIO; the context is freed either way. */
int sha256_final(struct sha256 *s, uint8_t out[32]);
void sha256_abort(struct sha256 *s);
void sha256_b64(const uint8_t d[32], char out[44]);

#endif
