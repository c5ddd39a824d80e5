/* SPDX-License-Identifier: MIT */
/*
 * inval.c - after a root flip, tell the kernel exactly what changed: walk
 * the old and new trees together, pruning every table the two share, and
 * collect the names whose entry differs and the directories whose own
 * attrs differ. Table pairs wait on a worklist: trees of any depth. Unchanged
 * files keep their nodes and their page cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

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
static int name_cmp(const struct store_dirlist_ent *a,
		    const struct store_dirlist_ent *b)
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

/* Table pairs still to compare: a worklist, not recursion (any depth). */
struct pairs {
	struct store_ids a, b;
};

/* One name present on either side (x or y may be NULL). */
static int compare(const struct store_dirlist_ent *x,
		   const struct store_dirlist_ent *y, uint64_t dir_fid,
		   struct pairs *pending, struct fs_changes *c)
{
	const char *name = x ? x->name : y->name;
	int err;

	if (x && y && x->e.payload == STORE_P_TAB &&
	    y->e.payload == STORE_P_TAB && x->e.a.fid == y->e.a.fid) {
		if (!strcmp(name, STORE_LINKS_NAME) && x->e.ref != y->e.ref)
			c->links_changed = true; /* hard-linked inodes */
		if (x->e.ref == y->e.ref)
			return 0;
		err = store_ids_push(&pending->a, x->e.ref);
		return err ? err : store_ids_push(&pending->b, y->e.ref);
	}
	if (x && y && entry_eq(&x->e, &y->e))
		return 0;
	return add_change(c, dir_fid, name, x ? x->e.a.fid : 0);
}

static int walk(struct store_txn *t, uint64_t a, uint64_t b,
		struct pairs *pending, struct fs_changes *c)
{
	struct store_dirlist ea = {0}, eb = {0};
	struct store_dir da, db;
	size_t i = 0, j = 0;
	int err;

	err = store_dir_stat(t, a, &da);
	if (!err)
		err = store_dir_stat(t, b, &db);
	if (!err && !attr_eq(&da.a, &db.a))
		err = add_change(c, db.a.fid, NULL, 0); /* the dir's attrs */
	if (!err)
		err = store_dir_list(t, a, &ea);
	if (!err)
		err = store_dir_list(t, b, &eb);
	while (!err && (i < ea.n || j < eb.n)) {
		int r = i == ea.n   ? 1
			: j == eb.n ? -1
				    : name_cmp(&ea.v[i], &eb.v[j]);

		if (r < 0)
			err = compare(&ea.v[i++], NULL, db.a.fid, pending, c);
		else if (r > 0)
			err = compare(NULL, &eb.v[j++], db.a.fid, pending, c);
		else
			err = compare(&ea.v[i++], &eb.v[j++], db.a.fid, pending,
				      c);
	}
	store_dirlist_release(&ea);
	store_dirlist_release(&eb);
	return err;
}

int fs_changes_between(struct store *st, uint64_t old_root, uint64_t new_root,
		       struct fs_changes *out)
{
	struct pairs pending = {{0}, {0}};
	struct store_txn *t;
	int err;

	memset(out, 0, sizeof(*out));
	if (old_root == new_root)
		return 0;
	err = store_txn_begin(st, false, &t);
	if (err)
		return err;
	err = store_ids_push(&pending.a, old_root);
	if (!err)
		err = store_ids_push(&pending.b, new_root);
	while (!err && pending.a.n) {
		pending.a.n--;
		pending.b.n--;
		err = walk(t, pending.a.v[pending.a.n],
			   pending.b.v[pending.b.n], &pending, out);
	}
	store_ids_release(&pending.a);
	store_ids_release(&pending.b);
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
