/* SPDX-License-Identifier: MIT */
/*
 * dirlist.c - directory listings for readdir without opendir. blastfs
 * answers OPENDIR with ENOSYS, so the kernel stops sending OPENDIR and
 * RELEASEDIR (two round trips per directory walked) and keeps caching
 * listings (FOPEN_CACHE_DIR is its default then). readdir is therefore
 * stateless from the kernel's side: the offset it passes back carries
 * everything. A listing is materialized when a reader starts (offset 0)
 * and kept on the directory's node under an id; each entry's offset is
 *   listing id << 32 | index of the next entry,
 * so a reader continues in the snapshot it started with, whatever
 * changes meanwhile (no entry skipped or repeated, as with a handle). A
 * listing is dropped when its reader reaches the end, when the node goes,
 * or when a node holds more than DIRLIST_MAX (the oldest goes); a reader
 * whose listing went continues by index in a fresh one (best effort, as
 * for a directory changed under a plain index).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"

#define DIRLIST_MAX 4

static int listing_add(void *arg, const char *name, size_t nlen,
		       const struct store_entry *e)
{
	struct dirlist *l = arg;

	if (name[0] == '/')
		return 0; /* the root's hidden tables: not names */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *a = realloc(l->names, cap * sizeof(*l->names));

		if (!a)
			return -ENOMEM;
		l->names = a;
		if (!(a = realloc(l->fids, cap * sizeof(*l->fids))))
			return -ENOMEM;
		l->fids = a;
		if (!(a = realloc(l->modes, cap * sizeof(*l->modes))))
			return -ENOMEM;
		l->modes = a;
		l->cap = cap;
	}
	l->names[l->n] = strndup(name, nlen);
	if (!l->names[l->n])
		return -ENOMEM;
	l->fids[l->n] = e->a.fid;
	l->modes[l->n] = e->a.mode;
	l->n++;
	return 0;
}

static void listing_free(struct dirlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->fids);
	free(l->modes);
	free(l);
}

/* Drop one reference (under fs->lock). */
static void listing_unref(struct dirlist *l)
{
	if (--l->refs == 0)
		listing_free(l);
}

/* Take l off its node's list (under fs->lock). */
static void listing_detach(struct node *n, struct dirlist *l)
{
	struct dirlist **p;

	for (p = &n->lists; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			l->next = NULL;
			n->nlists--;
			listing_unref(l);
			return;
		}
}

/* Hidden names are not listed (the policy's listing filter). */
static int listing_policy(struct fs *fs, struct node *dir, struct dirlist *l)
{
	struct fs_pol_dir *d;
	size_t w = 0;
	int err = fs_pol_dir_get(fs, dir, &d);

	if (err || !d)
		return err;
	for (size_t i = 0; i < l->n; i++) {
		if (fs_pol_dir_hides(d, l->names[i])) {
			free(l->names[i]);
			continue;
		}
		l->names[w] = l->names[i];
		l->fids[w] = l->fids[i];
		l->modes[w] = l->modes[i];
		w++;
	}
	l->n = w;
	fs_pol_dir_put(d);
	return 0;
}

/* Read directory node n into a new listing (refs 0, not attached). */
static int listing_build(struct fs *fs, struct node *n, struct dirlist **out)
{
	struct dirlist *l = calloc(1, sizeof(*l));
	struct store_txn *t;
	uint64_t tab;
	int err = l ? fs_rtxn(fs, &t) : -ENOMEM;

	if (!err) {
		err = fs_dir_tab(fs, t, n, &tab);
		if (!err)
			err = store_dir_iter(t, tab, NULL, 0, listing_add, l);
		fs_rtxn_done(t);
		if (!err)
			err = listing_policy(fs, n, l);
	}
	if (err) {
		if (l)
			listing_free(l);
		return err;
	}
	*out = l;
	return 0;
}

int fs_dirlist_get(struct fs *fs, struct node *n, uint64_t off,
		   struct dirlist **out, size_t *pos)
{
	uint32_t id = (uint32_t)(off >> 32);
	struct dirlist *l = NULL, *p;
	struct node *up;
	int err;

	*pos = (size_t)(off & 0xffffffffu);
	if (off) {
		pthread_mutex_lock(&fs->lock);
		for (l = n->lists; l && l->id != id; l = l->next)
			;
		if (l)
			l->refs++;
		pthread_mutex_unlock(&fs->lock);
		if (l) {
			*out = l;
			return 0;
		}
		atomic_fetch_add(&fs->dirlist_lost, 1);
	}
	err = listing_build(fs, n, &l);
	if (err)
		return err;
	pthread_mutex_lock(&fs->lock);
	up = fs_node_get(fs, n->parent);
	l->self = n->fid;
	l->parent = up ? up->fid : n->fid;
	l->id = ++fs->next_dirlist;
	if (l->id == 0) /* 0 is "start over": skip it */
		l->id = ++fs->next_dirlist;
	l->refs = 2; /* the node's and the reader's */
	l->next = n->lists;
	n->lists = l;
	if (++n->nlists > DIRLIST_MAX) {
		for (p = n->lists; p->next && p->next->next; p = p->next)
			;
		listing_detach(n, p->next); /* the oldest */
	}
	pthread_mutex_unlock(&fs->lock);
	*out = l;
	return 0;
}

void fs_dirlist_put(struct fs *fs, struct node *n, struct dirlist *l, bool done)
{
	pthread_mutex_lock(&fs->lock);
	if (done)
		listing_detach(n, l);
	listing_unref(l);
	pthread_mutex_unlock(&fs->lock);
}

void fs_dirlists_drop(struct node *n)
{
	while (n->lists)
		listing_detach(n, n->lists);
}

uint64_t fs_dirlist_off(const struct dirlist *l, size_t next)
{
	return (uint64_t)l->id << 32 | (uint64_t)next;
}
