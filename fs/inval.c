/* SPDX-License-Identifier: MIT */
/*
 * inval.c - after a root flip, tell the kernel exactly what changed: walk
 * the old and new trees together, pruning every table the two share, and
 * collect the names whose entry differs and the directories whose own
 * attrs differ. Unchanged files keep their nodes and their page cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

struct ent {
	char *name;
	size_t nlen;
	struct store_entry e;
	unsigned char *inl; /* copy of the inline bytes */
};

struct ents {
	struct ent *v;
	size_t n, cap;
};

static int ents_add(void *arg, const char *name, size_t nlen,
		    const struct store_entry *e)
{
	struct ents *l = arg;
	struct ent *x;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	x = &l->v[l->n];
	memset(x, 0, sizeof(*x));
	x->name = malloc(nlen + 1);
	if (!x->name)
		return -ENOMEM;
	memcpy(x->name, name, nlen);
	x->name[nlen] = '\0';
	x->nlen = nlen;
	x->e = *e;
	if (e->inline_len) {
		x->inl = malloc(e->inline_len);
		if (!x->inl) {
			free(x->name);
			return -ENOMEM;
		}
		memcpy(x->inl, e->inline_data, e->inline_len);
	}
	x->e.inline_data = x->inl;
	l->n++;
	return 0;
}

static void ents_release(struct ents *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].inl);
	}
	free(l->v);
}

static bool attr_eq(const struct store_attr *a, const struct store_attr *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       a->rdev == b->rdev && a->nlink == b->nlink && a->fid == b->fid &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->ctime_ns == b->ctime_ns && a->atime_ns == b->atime_ns;
}

static bool entry_eq(const struct store_entry *a, const struct store_entry *b)
{
	if (a->payload != b->payload || !attr_eq(&a->a, &b->a))
		return false;
	if (a->payload == STORE_P_INLINE)
		return a->inline_len == b->inline_len &&
		       !memcmp(a->inline_data, b->inline_data, a->inline_len);
	return a->ref == b->ref;
}

/* LMDB's order: bytes, then the shorter first. */
static int name_cmp(const struct ent *a, const struct ent *b)
{
	size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
	int c = memcmp(a->name, b->name, n);

	return c ? c : (a->nlen > b->nlen) - (a->nlen < b->nlen);
}

static int add_change(struct fs_changes *c, uint64_t dir_fid, const char *name,
		      uint64_t old_fid)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		void *p = realloc(c->v, cap * sizeof(*c->v));

		if (!p)
			return -ENOMEM;
		c->v = p;
		c->cap = cap;
	}
	c->v[c->n].dir_fid = dir_fid;
	c->v[c->n].old_fid = old_fid;
	c->v[c->n].name = name ? strdup(name) : NULL;
	if (name && !c->v[c->n].name)
		return -ENOMEM;
	c->n++;
	return 0;
}

static int walk(struct store_txn *t, uint64_t a, uint64_t b,
		struct fs_changes *c);

/* One name present on either side (x or y may be NULL). */
static int compare(struct store_txn *t, uint64_t dir_fid, const struct ent *x,
		   const struct ent *y, struct fs_changes *c)
{
	const char *name = x ? x->name : y->name;

	if (x && y && x->e.payload == STORE_P_TAB &&
	    y->e.payload == STORE_P_TAB && x->e.a.fid == y->e.a.fid) {
		if (!strcmp(name, STORE_LINKS_NAME) && x->e.ref != y->e.ref)
			c->links_changed = true; /* hard-linked inodes */
		return x->e.ref == y->e.ref ? 0
					    : walk(t, x->e.ref, y->e.ref, c);
	}
	if (x && y && entry_eq(&x->e, &y->e))
		return 0;
	return add_change(c, dir_fid, name, x ? x->e.a.fid : 0);
}

static int walk(struct store_txn *t, uint64_t a, uint64_t b,
		struct fs_changes *c)
{
	struct ents ea = {0}, eb = {0};
	struct store_dir da, db;
	size_t i = 0, j = 0;
	int err;

	err = store_dir_stat(t, a, &da);
	if (!err)
		err = store_dir_stat(t, b, &db);
	if (!err && !attr_eq(&da.a, &db.a))
		err = add_change(c, db.a.fid, NULL, 0); /* the dir's attrs */
	if (!err)
		err = store_dir_iter(t, a, NULL, 0, ents_add, &ea);
	if (!err)
		err = store_dir_iter(t, b, NULL, 0, ents_add, &eb);
	while (!err && (i < ea.n || j < eb.n)) {
		int r = i == ea.n   ? 1
			: j == eb.n ? -1
				    : name_cmp(&ea.v[i], &eb.v[j]);

		if (r < 0)
			err = compare(t, db.a.fid, &ea.v[i++], NULL, c);
		else if (r > 0)
			err = compare(t, db.a.fid, NULL, &eb.v[j++], c);
		else
			err = compare(t, db.a.fid, &ea.v[i++], &eb.v[j++], c);
	}
	ents_release(&ea);
	ents_release(&eb);
	return err;
}

int fs_changes_between(struct store *st, uint64_t old_root, uint64_t new_root,
		       struct fs_changes *out)
{
	struct store_txn *t;
	int err;

	memset(out, 0, sizeof(*out));
	if (old_root == new_root)
		return 0;
	err = store_txn_begin(st, false, &t);
	if (err)
		return err;
	err = walk(t, old_root, new_root, out);
	store_txn_abort(t);
	return err;
}

void fs_changes_release(struct fs_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	memset(c, 0, sizeof(*c));
}
