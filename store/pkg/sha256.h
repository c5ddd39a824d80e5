/* SPDX-License-Identifier: MIT */
/* sha256.h - SHA-256 for RECORD verification: init, update any number of
 * times, final; sha256_b64 writes the 43-character urlsafe unpadded
 * base64 form RECORD uses (plus NUL). */
#ifndef BLAST_SHA256_H
#define BLAST_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[32]);
void sha256_b64(const uint8_t d[32], char out[44]);

#endif
