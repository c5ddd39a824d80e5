/* SPDX-License-Identifier: MIT */
/*
 * sha256.c - SHA-256 and RECORD's base64 form, from libcrypto (EVP
 * digests, EVP_EncodeBlock), not written here.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "sha256.h"

int sha256_init(struct sha256 *s)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c)
		return -ENOMEM;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -ENOMEM;
	}
	s->ctx = c;
	return 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	/* cannot fail for SHA-256 on a context init accepted */
	(void)EVP_DigestUpdate(s->ctx, data, len);
}

int sha256_final(struct sha256 *s, uint8_t out[32])
{
	unsigned len = 0;
	int ok = EVP_DigestFinal_ex(s->ctx, out, &len) == 1 && len == 32;

	sha256_abort(s);
	return ok ? 0 : -EIO;
}

void sha256_abort(struct sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

void sha256_b64(const uint8_t d[32], char out[44])
{
	unsigned char b64[48]; /* 4 * ceil(32 / 3) = 44, plus NUL */
	int n = EVP_EncodeBlock(b64, d, 32), i, o = 0;

	/* RECORD's form (PEP 376/427): urlsafe alphabet, no padding */
	for (i = 0; i < n && o < 43; i++) {
		if (b64[i] == '=')
			break;
		out[o++] = b64[i] == '+'   ? '-'
			   : b64[i] == '/' ? '_'
					   : (char)b64[i];
	}
	out[o] = '\0';
}
