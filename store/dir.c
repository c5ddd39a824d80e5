/* SPDX-License-Identifier: MIT */
/*
 * dir.c - copy-on-write directory tables. A table is a header (the
 * directory's own stat, refcount, generation, counts) in `tabs` plus its
 * entries in `dirents` under key tab(be64) ++ name, so one table's
 * entries are contiguous and in name order. Entries own one reference on
 * their payload (child table or blob) and on their extended attributes'
 * blob; a header on its directory's.
 */
#include <assert.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store_internal.h"

#define ATTR_LEN 64

static void attr_encode(unsigned char *b, const struct store_attr *a)
{
	put_le32(b, a->mode);
	put_le32(b + 4, a->uid);
	put_le32(b + 8, a->gid);
	put_le32(b + 12, a->rdev);
	put_le64(b + 16, a->fid);
	put_le64(b + 24, a->size);
	put_le64(b + 32, (uint64_t)a->atime_ns);
	put_le64(b + 40, (uint64_t)a->mtime_ns);
	put_le64(b + 48, (uint64_t)a->ctime_ns);
	put_le32(b + 56, a->nlink);
	put_le32(b + 60, a->flags); /* format 4; 0 before */
}

static void attr_decode(const unsigned char *b, struct store_attr *a)
{
	a->mode = get_le32(b);
	a->uid = get_le32(b + 4);
	a->gid = get_le32(b + 8);
	a->rdev = get_le32(b + 12);
	a->fid = get_le64(b + 16);
	a->size = get_le64(b + 24);
	a->atime_ns = (int64_t)get_le64(b + 32);
	a->mtime_ns = (int64_t)get_le64(b + 40);
	a->ctime_ns = (int64_t)get_le64(b + 48);
	a->nlink = get_le32(b + 56);
	a->flags = get_le32(b + 60);
}

/*
 * Optional fields after an entry's or a header's fixed part (format 4):
 * tag(1) ++ len(1) ++ value(len), repeated. A record without them reads
 * as format 3 wrote it; tags this version does not know are skipped.
 */
enum { TRL_XATTR = 1 /* le64 blob id of the extended attributes */ };
#define TRL_MAX 32 /* the longest trailer this version writes */

struct trailer {
	uint64_t xattr;
};

static size_t trailer_encode(unsigned char *b, const struct trailer *tr)
{
	size_t n = 0;

	if (tr->xattr) {
		if (b) {
			b[0] = TRL_XATTR;
			b[1] = 8;
			put_le64(b + 2, tr->xattr);
		}
		n += 10;
	}
	assert(n <= TRL_MAX);
	return n;
}

static int trailer_decode(const unsigned char *b, size_t len,
			  struct trailer *tr)
{
	memset(tr, 0, sizeof(*tr));
	while (len) {
		size_t vl;

		if (len < 2 || (vl = b[1]) > len - 2)
			return -EIO;
		if (b[0] == TRL_XATTR) {
			if (vl != 8)
				return -EIO;
			tr->xattr = get_le64(b + 2);
			if (!tr->xattr)
				return -EIO;
		}
		b += 2 + vl;
		len -= 2 + vl;
	}
	return 0;
}

/* Entry: payload(1) pad(3) inline_len(4) ref(8) attr(64) inline bytes
 * trailer */
void store_entry_encode(unsigned char *b, const struct store_entry *e)
{
	size_t ilen = e->payload == STORE_P_INLINE ? e->inline_len : 0;
	struct trailer tr = {.xattr = e->xattr};

	b[0] = e->payload;
	b[1] = b[2] = b[3] = 0;
	put_le32(b + 4, (uint32_t)ilen);
	put_le64(b + 8, e->ref);
	attr_encode(b + 16, &e->a);
	if (ilen)
		memcpy(b + ENT_HDR_LEN, e->inline_data, ilen);
	trailer_encode(b + ENT_HDR_LEN + ilen, &tr);
}

int store_entry_decode(const void *buf, size_t len, struct store_entry *e)
{
	const unsigned char *b = buf;
	struct trailer tr;

	if (len < ENT_HDR_LEN)
		return -EIO;
	e->payload = b[0];
	e->inline_len = get_le32(b + 4);
	e->ref = get_le64(b + 8);
	attr_decode(b + 16, &e->a);
	if (e->payload > STORE_P_HARDLINK ||
	    len < ENT_HDR_LEN + (size_t)e->inline_len)
		return -EIO;
	if (e->payload == STORE_P_INLINE &&
	    e->inline_len > STORE_ENTRY_INLINE_MAX)
		return -EIO;
	e->inline_data = e->inline_len ? b + ENT_HDR_LEN : NULL;
	if (e->payload == STORE_P_TAB && !S_ISDIR(e->a.mode))
		return -EIO;
	if (trailer_decode(b + ENT_HDR_LEN + e->inline_len,
			   len - ENT_HDR_LEN - e->inline_len, &tr))
		return -EIO;
	e->xattr = tr.xattr;
	return 0;
}

static size_t entry_len(const struct store_entry *e)
{
	struct trailer tr = {.xattr = e->xattr};

	return ENT_HDR_LEN +
	       (e->payload == STORE_P_INLINE ? e->inline_len : 0) +
	       trailer_encode(NULL, &tr);
}

/* Header: refcount gen nentries nsubdirs (4 x u64) attr(64) trailer */
int store_tab_exists(struct store_txn *t, uint64_t tab)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	int err;

	put_be64(kb, tab);
	err = store_get(t, DB_TABS, &k, &v);
	return err == -ENOENT ? 0 : err ? err : 1;
}

int store_tab_get(struct store_txn *t, uint64_t tab, struct store_dir *out)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	const unsigned char *b;
	struct trailer tr;
	int err;

	put_be64(kb, tab);
	err = store_get(t, DB_TABS, &k, &v);
	if (err == -ENOENT) {
		store_logf(t->st, "table %llu is missing",
			   (unsigned long long)tab);
		return -EIO;
	}
	if (err)
		return err;
	b = v.mv_data;
	if (v.mv_size < TAB_HDR_LEN ||
	    trailer_decode(b + TAB_HDR_LEN, v.mv_size - TAB_HDR_LEN, &tr)) {
		store_logf(t->st, "table %llu: corrupt header",
			   (unsigned long long)tab);
		return -EIO;
	}
	out->xattr = tr.xattr;
	out->tab = tab;
	out->refcount = get_le64(b);
	out->gen = get_le64(b + 8);
	out->nentries = get_le64(b + 16);
	out->nsubdirs = get_le64(b + 24);
	attr_decode(b + 32, &out->a);
	if (!S_ISDIR(out->a.mode)) {
		store_logf(t->st, "table %llu: header is not a directory",
			   (unsigned long long)tab);
		return -EIO;
	}
	return 0;
}

int store_tab_put(struct store_txn *t, const struct store_dir *d)
{
	unsigned char kb[8], vb[TAB_HDR_LEN + TRL_MAX];
	struct trailer tr = {.xattr = d->xattr};
	MDB_val k = {8, kb}, v = {TAB_HDR_LEN, vb};

	put_be64(kb, d->tab);
	v.mv_size += trailer_encode(vb + TAB_HDR_LEN, &tr);
	put_le64(vb, d->refcount);
	put_le64(vb + 8, d->gen);
	put_le64(vb + 16, d->nentries);
	put_le64(vb + 24, d->nsubdirs);
	attr_encode(vb + 32, &d->a);
	return store_put(t, DB_TABS, &k, &v, 0);
}

int store_dir_stat(struct store_txn *t, uint64_t tab, struct store_dir *out)
{
	return store_tab_get(t, tab, out);
}

int store_dir_new(struct store_txn *t, const struct store_attr *a, uint64_t gen,
		  uint64_t *out)
{
	struct store_dir d = {0};
	int err;

	if (!S_ISDIR(a->mode))
		return -EINVAL;
	err = store_meta_next(t, "next_tab", &d.tab);
	if (err)
		return err;
	d.gen = gen;
	d.a = *a;
	err = store_tab_put(t, &d);
	if (!err)
		*out = d.tab;
	return err;
}

int store_dir_set_xattr(struct store_txn *t, uint64_t tab, uint64_t xattr)
{
	struct store_dir d;
	int err = store_tab_get(t, tab, &d);

	if (err || d.xattr == xattr)
		return err;
	if (xattr && (err = store_blob_ref(t, xattr)))
		return err;
	if (d.xattr && (err = store_blob_unref(t, d.xattr)))
		return err;
	d.xattr = xattr;
	return store_tab_put(t, &d);
}

int store_dir_set_attr(struct store_txn *t, uint64_t tab,
		       const struct store_attr *a)
{
	struct store_dir d;
	int err = store_tab_get(t, tab, &d);

	if (err)
		return err;
	d.a.mode = (d.a.mode & S_IFMT) | (a->mode & ~S_IFMT);
	d.a.uid = a->uid;
	d.a.gid = a->gid;
	d.a.atime_ns = a->atime_ns;
	d.a.mtime_ns = a->mtime_ns;
	d.a.ctime_ns = a->ctime_ns;
	d.a.flags = a->flags;
	return store_tab_put(t, &d);
}

static int dirent_key(unsigned char *kb, uint64_t tab, const char *name,
		      size_t nlen)
{
	if (nlen == 0 || nlen > STORE_NAME_MAX)
		return nlen ? -ENAMETOOLONG : -EINVAL;
	put_be64(kb, tab);
	memcpy(kb + 8, name, nlen);
	return 0;
}

int store_dir_get(struct store_txn *t, uint64_t tab, const char *name,
		  size_t nlen, struct store_entry *out)
{
	unsigned char kb[8 + STORE_NAME_MAX];
	MDB_val k = {8 + nlen, kb}, v;
	int err = dirent_key(kb, tab, name, nlen);

	if (err)
		return err;
	err = store_get(t, DB_DIRENTS, &k, &v);
	if (err)
		return err;
	if (store_entry_decode(v.mv_data, v.mv_size, out)) {
		store_logf(t->st, "table %llu: entry '%.*s' does not decode",
			   (unsigned long long)tab, (int)nlen, name);
		return -EIO;
	}
	return 0;
}

int store_entry_ref(struct store_txn *t, const struct store_entry *e)
{
	int err = e->xattr ? store_blob_ref(t, e->xattr) : 0;

	if (err)
		return err;
	if (e->payload == STORE_P_TAB)
		return store_dir_ref(t, e->ref);
	if (e->payload == STORE_P_BLOB)
		return store_blob_ref(t, e->ref);
	return 0;
}

int store_entry_unref(struct store_txn *t, const struct store_entry *e)
{
	int err = e->xattr ? store_blob_unref(t, e->xattr) : 0;

	if (err)
		return err;
	if (e->payload == STORE_P_TAB)
		return store_dir_unref(t, e->ref);
	if (e->payload == STORE_P_BLOB)
		return store_blob_unref(t, e->ref);
	return 0;
}

int store_dir_put(struct store_txn *t, uint64_t tab, const char *name,
		  size_t nlen, const struct store_entry *e)
{
	unsigned char kb[8 + STORE_NAME_MAX];
	MDB_val k = {8 + nlen, kb}, v;
	struct store_entry old;
	struct store_dir d;
	bool had = false;
	int err = dirent_key(kb, tab, name, nlen);

	if (err)
		return err;
	if (e->payload == STORE_P_INLINE &&
	    e->inline_len > STORE_ENTRY_INLINE_MAX)
		return -ENAMETOOLONG;
	err = store_tab_get(t, tab, &d);
	if (err)
		return err;
	err = store_get(t, DB_DIRENTS, &k, &v);
	if (!err) {
		if (store_entry_decode(v.mv_data, v.mv_size, &old))
			return -EIO;
		old.inline_data = NULL; /* LMDB memory, gone after put */
		had = true;
	} else if (err != -ENOENT) {
		return err;
	}
	/* reference the new payload first: it may be the old one */
	err = store_entry_ref(t, e);
	if (err)
		return err;
	v.mv_size = entry_len(e);
	err = store_put(t, DB_DIRENTS, &k, &v, MDB_RESERVE);
	if (err)
		return err;
	store_entry_encode(v.mv_data, e);
	if (had) {
		err = store_entry_unref(t, &old);
		if (err)
			return err;
		err = store_tab_get(t, tab, &d); /* unref may free nothing
						    here, but re-read */
		if (err)
			return err;
		if (S_ISDIR(old.a.mode) && name[0] != '/')
			d.nsubdirs--;
	} else {
		d.nentries++;
	}
	if (S_ISDIR(e->a.mode) && name[0] != '/')
		d.nsubdirs++;
	return store_tab_put(t, &d);
}

int store_dir_exchange(struct store_txn *t, uint64_t tab_a, const char *name_a,
		       const struct store_entry *a, uint64_t tab_b,
		       const char *name_b, const struct store_entry *b)
{
	/* each put drops the reference of the entry it replaces: hold one
	 * more on both payloads meanwhile, or a's table would be freed with
	 * its subtree when b's put replaces it */
	int err = store_entry_ref(t, a);

	if (!err)
		err = store_entry_ref(t, b);
	if (!err)
		err = store_dir_put(t, tab_b, name_b, strlen(name_b), a);
	if (!err)
		err = store_dir_put(t, tab_a, name_a, strlen(name_a), b);
	if (!err)
		err = store_entry_unref(t, a);
	if (!err)
		err = store_entry_unref(t, b);
	return err; /* on error the caller aborts the txn */
}

int store_dir_del(struct store_txn *t, uint64_t tab, const char *name,
		  size_t nlen)
{
	unsigned char kb[8 + STORE_NAME_MAX];
	MDB_val k = {8 + nlen, kb}, v;
	struct store_entry old;
	struct store_dir d;
	int err = dirent_key(kb, tab, name, nlen);

	if (err)
		return err;
	err = store_get(t, DB_DIRENTS, &k, &v);
	if (err)
		return err;
	if (store_entry_decode(v.mv_data, v.mv_size, &old))
		return -EIO;
	old.inline_data = NULL;
	err = store_del(t, DB_DIRENTS, &k);
	if (err)
		return err;
	err = store_entry_unref(t, &old);
	if (err)
		return err;
	err = store_tab_get(t, tab, &d);
	if (err)
		return err;
	if (d.nentries == 0) {
		store_logf(t->st, "table %llu: entry count underflow",
			   (unsigned long long)tab);
		return -EIO;
	}
	d.nentries--;
	if (S_ISDIR(old.a.mode) && name[0] != '/')
		d.nsubdirs--;
	return store_tab_put(t, &d);
}

int store_dir_iter(struct store_txn *t, uint64_t tab, const char *after,
		   size_t alen, store_dir_iter_fn fn, void *arg)
{
	unsigned char kb[8 + STORE_NAME_MAX];
	MDB_cursor *cur;
	MDB_val k, v;
	struct store_entry e;
	int rc, err = 0;

	if (alen > STORE_NAME_MAX)
		return -EINVAL;
	put_be64(kb, tab);
	if (after && alen)
		memcpy(kb + 8, after, alen);
	k.mv_size = 8 + (after ? alen : 0);
	k.mv_data = kb;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_DIRENTS), &cur);
	if (rc)
		return store_mdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (!rc && after && alen && k.mv_size == 8 + alen &&
	    memcmp(k.mv_data, kb, 8 + alen) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	for (; !rc; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < 9 || get_be64(k.mv_data) != tab)
			break;
		if (store_entry_decode(v.mv_data, v.mv_size, &e)) {
			store_logf(
			    t->st, "table %llu: entry '%.*s' does not decode",
			    (unsigned long long)tab, (int)(k.mv_size - 8),
			    (const char *)k.mv_data + 8);
			err = -EIO;
			break;
		}
		err = fn(arg, (const char *)k.mv_data + 8, k.mv_size - 8, &e);
		if (err) {
			err = err > 0 ? 0 : err;
			break;
		}
	}
	if (rc && rc != MDB_NOTFOUND && !err)
		err = store_mdb_err(rc);
	mdb_cursor_close(cur);
	return err;
}

/* A table's entries copied out of LMDB, for copy and free. */
struct ent_buf {
	size_t n, cap;
	unsigned char **keys; /* name bytes */
	size_t *klen;
	unsigned char **vals; /* encoded entries */
	size_t *vlen;
};

static void ent_buf_release(struct ent_buf *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->keys[i]);
		free(b->vals[i]);
	}
	free(b->keys);
	free(b->klen);
	free(b->vals);
	free(b->vlen);
	memset(b, 0, sizeof(*b));
}

static int ent_buf_add(void *arg, const char *name, size_t nlen,
		       const struct store_entry *e)
{
	struct ent_buf *b = arg;
	size_t vl = entry_len(e);

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		void *k = store_realloc(b->keys, cap * sizeof(*b->keys));

		if (!k)
			return -ENOMEM;
		b->keys = k;
		if (!(k = store_realloc(b->klen, cap * sizeof(*b->klen))))
			return -ENOMEM;
		b->klen = k;
		if (!(k = store_realloc(b->vals, cap * sizeof(*b->vals))))
			return -ENOMEM;
		b->vals = k;
		if (!(k = store_realloc(b->vlen, cap * sizeof(*b->vlen))))
			return -ENOMEM;
		b->vlen = k;
		b->cap = cap;
	}
	b->keys[b->n] = store_malloc(nlen);
	b->vals[b->n] = store_malloc(vl);
	if (!b->keys[b->n] || !b->vals[b->n]) {
		free(b->keys[b->n]);
		free(b->vals[b->n]);
		return -ENOMEM;
	}
	memcpy(b->keys[b->n], name, nlen);
	b->klen[b->n] = nlen;
	store_entry_encode(b->vals[b->n], e);
	b->vlen[b->n] = vl;
	b->n++;
	return 0;
}

int store_dir_copy(struct store_txn *t, uint64_t tab, uint64_t gen,
		   uint64_t *out)
{
	unsigned char kb[8 + STORE_NAME_MAX];
	struct ent_buf b = {0};
	struct store_entry e;
	struct store_dir d;
	MDB_val k, v;
	size_t i;
	int err;

	err = store_tab_get(t, tab, &d);
	if (err)
		return err;
	err = store_dir_iter(t, tab, NULL, 0, ent_buf_add, &b);
	if (err)
		goto out;
	err = store_meta_next(t, "next_tab", &d.tab);
	if (err)
		goto out;
	d.refcount = 0;
	d.gen = gen;
	err = store_tab_put(t, &d);
	if (!err && d.xattr)
		err = store_blob_ref(t, d.xattr);
	for (i = 0; !err && i < b.n; i++) {
		put_be64(kb, d.tab);
		memcpy(kb + 8, b.keys[i], b.klen[i]);
		k.mv_size = 8 + b.klen[i];
		k.mv_data = kb;
		v.mv_size = b.vlen[i];
		v.mv_data = b.vals[i];
		/* the new table id is the largest: keys arrive in order */
		err = store_put(t, DB_DIRENTS, &k, &v, MDB_APPEND);
		if (!err)
			err = store_entry_decode(b.vals[i], b.vlen[i], &e);
		if (!err)
			err = store_entry_ref(t, &e);
	}
	if (!err)
		*out = d.tab;
out:
	ent_buf_release(&b);
	return err;
}

int store_dir_ref(struct store_txn *t, uint64_t tab)
{
	struct store_dir d;
	int err = store_tab_get(t, tab, &d);

	if (err)
		return err;
	d.refcount++;
	return store_tab_put(t, &d);
}

/* Drop one reference on tab; at 0 it joins the tables to free. */
static int dir_drop(struct store_txn *t, uint64_t tab, struct store_ids *dead)
{
	struct store_dir d;
	int err = store_tab_get(t, tab, &d);

	if (err)
		return err;
	if (d.refcount == 0) {
		store_logf(t->st, "table %llu: refcount underflow",
			   (unsigned long long)tab);
		return -EIO;
	}
	d.refcount--;
	if (d.refcount == 0)
		return store_ids_push(dead, tab);
	return store_tab_put(t, &d);
}

/* Free a table whose refcount reached 0: its entries drop their refs,
 * child tables reaching 0 join dead (a worklist: a tree of any depth). */
static int dir_free(struct store_txn *t, uint64_t tab, struct store_ids *dead)
{
	unsigned char kb[8 + STORE_NAME_MAX];
	struct ent_buf b = {0};
	struct store_entry e;
	struct store_dir d;
	MDB_val k;
	size_t i;
	int err;

	err = store_tab_get(t, tab, &d);
	if (!err && d.xattr)
		err = store_blob_unref(t, d.xattr);
	if (!err)
		err = store_dir_iter(t, tab, NULL, 0, ent_buf_add, &b);
	for (i = 0; !err && i < b.n; i++) {
		put_be64(kb, tab);
		memcpy(kb + 8, b.keys[i], b.klen[i]);
		k.mv_size = 8 + b.klen[i];
		k.mv_data = kb;
		err = store_del(t, DB_DIRENTS, &k);
		if (!err)
			err = store_entry_decode(b.vals[i], b.vlen[i], &e);
		if (!err && e.payload == STORE_P_TAB && e.xattr)
			err = store_blob_unref(t, e.xattr);
		if (!err && e.payload == STORE_P_TAB)
			err = dir_drop(t, e.ref, dead);
		else if (!err)
			err = store_entry_unref(t, &e);
	}
	if (!err) {
		put_be64(kb, tab);
		k.mv_size = 8;
		k.mv_data = kb;
		err = store_del(t, DB_TABS, &k);
	}
	ent_buf_release(&b);
	return err;
}

int store_dir_unref(struct store_txn *t, uint64_t tab)
{
	struct store_ids dead = {0};
	int err = dir_drop(t, tab, &dead);

	while (!err && dead.n)
		err = dir_free(t, dead.v[--dead.n], &dead);
	store_ids_release(&dead);
	return err;
}
