/* SPDX-License-Identifier: MIT */
/*
 * oci-tar.c - Blast's layers: POSIX tar (ustar, pax records for long
 * names) of regular files only, mode 0644, owner 0, mtime 0, compressed
 * by zstd at a fixed level in one frame, so a layer's bytes depend only
 * on its files' names and contents: the same package gives the same
 * digest on every machine (same zstd release). Reading accepts the
 * regular files of any tar+zstd and skips the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "oci.h"

#define BLOCK 512

static unsigned char *tar_grow(struct oci_tar *tr, size_t n)
{
	unsigned char *p;

	if (tr->err)
		return NULL;
	if (tr->len + n > tr->cap) {
		size_t cap = tr->cap ? tr->cap : 1 << 16;

		while (cap < tr->len + n)
			cap *= 2;
		p = realloc(tr->buf, cap);
		if (!p) {
			tr->err = -ENOMEM;
			return NULL;
		}
		tr->buf = p;
		tr->cap = cap;
	}
	p = tr->buf + tr->len;
	memset(p, 0, n);
	tr->len += n;
	return p;
}

static void octal(char *dst, size_t width, uint64_t v)
{
	snprintf(dst, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

static void header(unsigned char *h, const char *name, size_t nlen, char type,
		   uint64_t size)
{
	unsigned sum = 0;

	memcpy(h, name, nlen < 100 ? nlen : 100);
	octal((char *)h + 100, 8, 0644);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, 0);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (int i = 0; i < BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static size_t padded(size_t n)
{
	return (n + BLOCK - 1) / BLOCK * BLOCK;
}

unsigned char *oci_tar_add(struct oci_tar *tr, const char *name, size_t len)
{
	size_t nlen = strlen(name);
	unsigned char *h, *data;

	if (nlen >= 100) {
		/* a pax record "LEN path=NAME\n", LEN counting itself */
		char rec[4200];
		size_t body = nlen + 7, rl = 0;

		for (size_t d = 1; d < 6; d++) {
			size_t digits = snprintf(NULL, 0, "%zu", body + d);

			if (digits == d) {
				rl = body + d;
				break;
			}
		}
		if (!rl || rl >= sizeof(rec)) {
			tr->err = -ENAMETOOLONG;
			return NULL;
		}
		snprintf(rec, sizeof(rec), "%zu path=%s\n", rl, name);
		h = tar_grow(tr, BLOCK + padded(rl));
		if (!h)
			return NULL;
		header(h, "././@PaxHeader", 14, 'x', rl);
		memcpy(h + BLOCK, rec, rl);
	}
	h = tar_grow(tr, BLOCK + padded(len));
	if (!h)
		return NULL;
	header(h, name, nlen, '0', len);
	data = h + BLOCK;
	return data;
}

int oci_tar_finish(struct oci_tar *tr, void **out, size_t *len)
{
	ZSTD_CCtx *cc;
	size_t bound, n;
	void *z;
	int err = 0;

	if (!tar_grow(tr, 2 * BLOCK))
		goto out;
	cc = ZSTD_createCCtx();
	bound = ZSTD_compressBound(tr->len);
	z = malloc(bound);
	if (!cc || !z) {
		ZSTD_freeCCtx(cc);
		free(z);
		tr->err = -ENOMEM;
		goto out;
	}
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, OCI_ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(cc, z, bound, tr->buf, tr->len);
	ZSTD_freeCCtx(cc);
	if (ZSTD_isError(n)) {
		free(z);
		tr->err = -EIO;
		goto out;
	}
	*out = z;
	*len = n;
out:
	err = tr->err;
	free(tr->buf);
	memset(tr, 0, sizeof(*tr));
	return err;
}

static int decompress(const void *z, size_t zlen, unsigned char **out,
		      size_t *len)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer in = {z, zlen, 0};
	unsigned char *buf = NULL, *p;
	size_t cap = 1 << 20, r = 1;
	ZSTD_outBuffer o = {NULL, 0, 0};

	if (!dc)
		return -ENOMEM;
	while (in.pos < in.size || r != 0) {
		if (o.pos == o.size) {
			cap = o.size ? o.size * 2 : cap;
			p = realloc(buf, cap);
			if (!p) {
				ZSTD_freeDCtx(dc);
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			o.dst = buf;
			o.size = cap;
		}
		r = ZSTD_decompressStream(dc, &o, &in);
		if (ZSTD_isError(r) ||
		    (in.pos == in.size && r != 0 && o.pos < o.size)) {
			ZSTD_freeDCtx(dc);
			free(buf);
			return -EBADMSG;
		}
	}
	ZSTD_freeDCtx(dc);
	*out = buf;
	*len = o.pos;
	return 0;
}

static bool parse_octal(const unsigned char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	*out = v;
	return i == n || p[i] == 0 || p[i] == ' ';
}

/* "path=" in pax records rec[0..len) into name (left alone if absent). */
static void pax_path(const unsigned char *rec, size_t len, char *name,
		     size_t nmax)
{
	size_t off = 0;

	while (off < len) {
		size_t rl = 0, k = off;

		while (k < len && rec[k] >= '0' && rec[k] <= '9')
			rl = rl * 10 + (size_t)(rec[k++] - '0');
		if (!rl || off + rl > len)
			return;
		if (k + 6 < off + rl && !memcmp(rec + k, " path=", 6)) {
			size_t vl = off + rl - (k + 6) - 1;

			if (vl < nmax) {
				memcpy(name, rec + k + 6, vl);
				name[vl] = 0;
			}
		}
		off += rl;
	}
}

int oci_layer_each(const void *zdata, size_t zlen, oci_tar_fn fn, void *arg)
{
	unsigned char *buf;
	char name[4096], next[4096] = "";
	size_t len, off = 0;
	uint64_t size;
	int err;

	err = decompress(zdata, zlen, &buf, &len);
	if (err)
		return err;
	while (!err && off + BLOCK <= len) {
		const unsigned char *h = buf + off;
		char type = (char)h[156];

		if (!h[0])
			break; /* end of archive */
		if (!parse_octal(h + 124, 12, &size) ||
		    size > len - off - BLOCK) {
			err = -EBADMSG;
			break;
		}
		if (next[0]) {
			memcpy(name, next, sizeof(name));
			next[0] = 0;
		} else if (!memcmp(h + 257, "ustar", 5) && h[345]) {
			snprintf(name, sizeof(name), "%.155s/%.100s",
				 (const char *)h + 345, (const char *)h);
		} else {
			snprintf(name, sizeof(name), "%.100s", (const char *)h);
		}
		if (type == 'x')
			pax_path(h + BLOCK, size, next, sizeof(next));
		else if (type == 'L')
			snprintf(next, sizeof(next), "%.*s",
				 (int)(size < sizeof(next) ? size
							   : sizeof(next) - 1),
				 (const char *)h + BLOCK);
		else if (type == '0' || type == 0)
			err = fn(arg, name, h + BLOCK, size);
		off += BLOCK + padded(size);
	}
	free(buf);
	return err;
}
