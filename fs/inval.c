/* SPDX-License-Identifier: MIT */
/*
 * inval.c - after a root flip, tell the kernel exactly what changed: the
 * store's pruned walk of the old and new trees (store/treediff.h) yields
 * the names whose entry differs and the directories whose own attrs
 * differ. Only directories keeping their file id are descended into.
 * Unchanged files keep their nodes and their page cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"
#include "treediff.h"

struct inval_walk {
	struct fs_changes *c;
	uint64_t dir_fid; /* the new side's directory being compared */
};

static int add_change(struct fs_changes *c, uint64_t dir_fid, const char *name,
		      size_t nlen, uint64_t old_fid)
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
	c->v[c->n].name = name ? strndup(name, nlen) : NULL;
	if (name && !c->v[c->n].name)
		return -ENOMEM;
	c->n++;
	return 0;
}

/* A directory pair: its own attrs first. */
static int changed_dir(void *arg, const struct store_treediff_dir *d)
{
	struct inval_walk *w = arg;

	w->dir_fid = d->b.a.fid;
	if (store_attr_same(&d->a.a, &d->b.a))
		return 0;
	return add_change(w->c, w->dir_fid, NULL, 0, 0);
}

/* One name present on either side (a or b may be NULL). */
static int changed_entry(void *arg, const struct store_treediff_dir *d,
			 const char *name, size_t nlen,
			 const struct store_entry *a,
			 const struct store_entry *b)
{
	struct inval_walk *w = arg;

	(void)d;
	if (a && b && a->payload == STORE_P_TAB && b->payload == STORE_P_TAB &&
	    a->a.fid == b->a.fid) {
		if (nlen == strlen(STORE_LINKS_NAME) &&
		    !memcmp(name, STORE_LINKS_NAME, nlen) && a->ref != b->ref)
			w->c->links_changed = true; /* hard-linked inodes */
		return a->ref == b->ref ? 0 : STORE_TREEDIFF_DESCEND;
	}
	if (a && b && store_entry_same(a, b))
		return 0; /* one hard-link name: its inode is in the links table
			   */
	return add_change(w->c, w->dir_fid, name, nlen, a ? a->a.fid : 0);
}

int fs_changes_between(struct store *st, uint64_t old_root, uint64_t new_root,
		       struct fs_changes *out)
{
	static const struct store_treediff_ops ops = {
	    .dir = changed_dir,
	    .entry = changed_entry,
	};
	struct inval_walk w = {.c = out};
	struct store_txn *t;
	int err;

	memset(out, 0, sizeof(*out));
	if (old_root == new_root)
		return 0;
	err = store_txn_begin(st, false, &t);
	if (err)
		return err;
	err = store_treediff(t, old_root, new_root, &ops, &w);
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
