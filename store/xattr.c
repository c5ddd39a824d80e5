/* SPDX-License-Identifier: MIT */
/*
 * xattr.c - an inode's extended attributes as one content-addressed blob
 * (contract in store.h): a sorted list decoded into a caller's copy,
 * edited there, encoded and stored back. Identical sets (an ACL copied
 * to a whole tree) share one blob.
 */
#include <stdio.h>

#include "store_internal.h"

#define XA_HDR 5 /* nlen(1) ++ vlen(le32) */

void store_xattrs_release(struct store_xattrs *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].name);
		free(x->v[i].value);
	}
	free(x->v);
	memset(x, 0, sizeof(*x));
}

/* Index of name, or of where it would go (*found false). */
static size_t xa_search(const struct store_xattrs *x, const char *name,
			size_t nlen, bool *found)
{
	size_t lo = 0, hi = x->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct store_xattr *a = &x->v[mid];
		size_t m = a->nlen < nlen ? a->nlen : nlen;
		int c = memcmp(a->name, name, m);

		if (!c)
			c = a->nlen < nlen ? -1 : a->nlen > nlen;
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct store_xattr *store_xattrs_find(const struct store_xattrs *x,
					    const char *name)
{
	bool found;
	size_t i = xa_search(x, name, strlen(name), &found);

	return found ? &x->v[i] : NULL;
}

/* Insert a copy at index i. */
static int xa_insert(struct store_xattrs *x, size_t i, const char *name,
		     size_t nlen, const void *val, size_t vlen)
{
	struct store_xattr a = {.nlen = nlen, .vlen = vlen};

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 4;
		void *v = store_realloc(x->v, cap * sizeof(*x->v));

		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	a.name = store_malloc(nlen + 1);
	a.value = store_malloc(vlen ? vlen : 1);
	if (!a.name || !a.value) {
		free(a.name);
		free(a.value);
		return -ENOMEM;
	}
	memcpy(a.name, name, nlen);
	a.name[nlen] = '\0';
	if (vlen)
		memcpy(a.value, val, vlen);
	memmove(&x->v[i + 1], &x->v[i], (x->n - i) * sizeof(*x->v));
	x->v[i] = a;
	x->n++;
	return 0;
}

int store_xattrs_set(struct store_xattrs *x, const char *name, const void *val,
		     size_t len, int flags)
{
	size_t nlen = strlen(name), i;
	unsigned char *copy;
	bool found;

	if (nlen == 0 || nlen > STORE_XATTR_NAME_MAX)
		return -ERANGE;
	if (len > STORE_XATTR_SIZE_MAX)
		return -E2BIG;
	i = xa_search(x, name, nlen, &found);
	if (found && (flags & STORE_XATTR_CREATE))
		return -EEXIST;
	if (!found && (flags & STORE_XATTR_REPLACE))
		return -ENODATA;
	if (!found)
		return xa_insert(x, i, name, nlen, val, len);
	copy = store_malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, val, len);
	free(x->v[i].value);
	x->v[i].value = copy;
	x->v[i].vlen = len;
	return 0;
}

int store_xattrs_remove(struct store_xattrs *x, const char *name)
{
	bool found;
	size_t i = xa_search(x, name, strlen(name), &found);

	if (!found)
		return -ENODATA;
	free(x->v[i].name);
	free(x->v[i].value);
	memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(*x->v));
	x->n--;
	return 0;
}

int store_xattrs_decode(const void *buf, size_t len, struct store_xattrs *out)
{
	const unsigned char *b = buf, *end = b + len;
	struct store_xattrs x = {0};
	int err = 0;

	while (!err && b < end) {
		size_t nlen, vlen;

		if ((size_t)(end - b) < XA_HDR) {
			err = -EIO;
			break;
		}
		nlen = b[0];
		vlen = get_le32(b + 1);
		if (nlen == 0 || vlen > STORE_XATTR_SIZE_MAX ||
		    (size_t)(end - b - XA_HDR) < nlen + vlen ||
		    memchr(b + XA_HDR, '\0', nlen)) {
			err = -EIO;
			break;
		}
		/* names strictly in order: appending keeps the list sorted */
		if (x.n && xa_search(&x, (const char *)b + XA_HDR, nlen,
				     &(bool){false}) != x.n) {
			err = -EIO;
			break;
		}
		err = xa_insert(&x, x.n, (const char *)b + XA_HDR, nlen,
				b + XA_HDR + nlen, vlen);
		b += XA_HDR + nlen + vlen;
	}
	if (err) {
		store_xattrs_release(&x);
		return err;
	}
	*out = x;
	return 0;
}

int store_xattrs_encode(const struct store_xattrs *x, unsigned char **buf,
			size_t *len)
{
	size_t total = 0, i;
	unsigned char *b, *p;

	for (i = 0; i < x->n; i++)
		total += XA_HDR + x->v[i].nlen + x->v[i].vlen;
	if (!total) {
		*buf = NULL;
		*len = 0;
		return 0;
	}
	b = p = store_malloc(total);
	if (!b)
		return -ENOMEM;
	for (i = 0; i < x->n; i++) {
		const struct store_xattr *a = &x->v[i];

		p[0] = (unsigned char)a->nlen;
		put_le32(p + 1, (uint32_t)a->vlen);
		memcpy(p + XA_HDR, a->name, a->nlen);
		memcpy(p + XA_HDR + a->nlen, a->value, a->vlen);
		p += XA_HDR + a->nlen + a->vlen;
	}
	*buf = b;
	*len = total;
	return 0;
}

int store_xattrs_load(struct store_txn *t, uint64_t blob,
		      struct store_xattrs *out)
{
	struct store_blob_info bi;
	unsigned char *buf;
	ssize_t got;
	int err;

	if (!blob) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	err = store_blob_stat(t, blob, &bi);
	if (err)
		return err == -ENOENT ? -EIO : err;
	buf = store_malloc(bi.size ? bi.size : 1);
	if (!buf)
		return -ENOMEM;
	got = store_blob_read(t, blob, buf, bi.size, 0);
	err = got < 0 ? (int)got : (uint64_t)got != bi.size ? -EIO : 0;
	if (!err)
		err = store_xattrs_decode(buf, bi.size, out);
	if (err == -EIO)
		store_logf(t->st,
			   "blob %llu: extended attributes do not decode",
			   (unsigned long long)blob);
	free(buf);
	return err;
}

int store_xattrs_put(struct store_txn *t, const struct store_xattrs *x,
		     uint64_t *out)
{
	unsigned char *buf;
	size_t len;
	int err = store_xattrs_encode(x, &buf, &len);

	if (err)
		return err;
	if (!len) {
		*out = 0;
		return 0;
	}
	err = store_blob_put(t, buf, len, out);
	free(buf);
	return err;
}
