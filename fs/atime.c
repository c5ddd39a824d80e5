/* SPDX-License-Identifier: MIT */
/*
 * atime.c - access times, as ext4 keeps them under lazytime. FUSE inodes
 * are S_NOATIME (the kernel never updates them), so blastfs does: a READ,
 * and a listing read from its start, set the node's atime by the mount's
 * rule (relatime: when atime <= mtime or ctime, or a day old;
 * strictatime: always; noatime, nodiratime; chattr +A: never). The new atime is
 * in memory only (stat shows it at once; the node stays until it is written);
 * it reaches the store with the node's next seal and, for all nodes in one txn,
 * on sync, save, unmount and every BLASTFS_ATIME_FLUSH_MS (10 min): never one
 * LMDB write per read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "change.h"

#define DAY_NS (24 * 3600 * STORE_NS_PER_S)

/* ext4's rule (relatime_need_update): is atime due for now? */
static bool due(int mode, const struct store_attr *a, int64_t now)
{
	if (mode == FS_ATIME_STRICT)
		return a->atime_ns != now;
	return a->atime_ns <= a->mtime_ns || a->atime_ns <= a->ctime_ns ||
	       now - a->atime_ns >= DAY_NS;
}

/* The attrs the rule reads: a loaded file's, or from the store. */
static int current_attrs(struct fs *fs, struct node *n, struct store_attr *a)
{
	struct store_txn *t;
	struct stat st;
	int err;

	fs_lock(fs);
	if (!S_ISDIR(n->mode) && n->loaded) {
		*a = n->a;
		fs_unlock(fs);
		return 0;
	}
	fs_unlock(fs);
	err = fs_node_flags(fs, n, &a->flags);
	if (!err)
		err = fs_rtxn(fs, &t);
	if (err)
		return err;
	err = fs_node_stat(fs, t, n, atomic_load(&fs->seal_seq), &st);
	fs_rtxn_done(t);
	if (err)
		return err;
	a->atime_ns = store_ts_ns(&st.st_atim);
	a->mtime_ns = store_ts_ns(&st.st_mtim);
	a->ctime_ns = store_ts_ns(&st.st_ctim);
	return 0;
}

void fs_atime_read(struct fs *fs, struct node *n)
{
	int mode = fs->opt->atime;
	int64_t now = fs_now_ns();
	struct store_attr a;

	if (mode == FS_ATIME_NOATIME ||
	    (S_ISDIR(n->mode) && fs->opt->nodiratime))
		return;
	/* chattr +A: never; an error here only leaves the atime as it was */
	if (current_attrs(fs, n, &a) || (a.flags & STORE_FL_NOATIME) ||
	    !due(mode, &a, now))
		return;
	fs_lock(fs);
	if (!n->unlinked) {
		if (!n->atime_pend)
			atomic_fetch_add(&fs->atime_pending, 1);
		n->atime_pend = true;
		n->atime_ns = now;
		if (!S_ISDIR(n->mode) && n->loaded)
			n->a.atime_ns = now; /* a seal carries it too */
	}
	fs_unlock(fs);
}

void fs_atime_stat(struct fs *fs, struct node *n, struct stat *st)
{
	fs_lock(fs);
	if (n->atime_pend) {
		st->st_atim.tv_sec = n->atime_ns / STORE_NS_PER_S;
		st->st_atim.tv_nsec = n->atime_ns % STORE_NS_PER_S;
	}
	fs_unlock(fs);
}

void fs_atime_set(struct fs *fs, struct node *n)
{
	fs_lock(fs);
	if (n->atime_pend)
		atomic_fetch_sub(&fs->atime_pending, 1);
	n->atime_pend = false;
	fs_unlock(fs);
}

/* One node's pending atime into the store (in c's txn, under wlock). */
static int write_one(struct fs *fs, struct change *c, struct node *n,
		     int64_t at)
{
	unsigned char inl[STORE_ENTRY_INLINE_MAX];
	struct store_entry e;
	int err;

	if (!S_ISDIR(n->mode)) {
		err = fs_node_slot(c, n, &e, inl);
		if (!err) {
			e.a.atime_ns = at;
			err = store_dir_put(c->t, c->slot_tab, c->slot,
					    strlen(c->slot), &e);
		}
		return err;
	}
	return fs_dir_times(fs, c, n, NULL, 0, at);
}

/* The nodes with a pending atime (ids, malloc'd), kept meanwhile. */
static size_t collect(struct fs *fs, uint64_t **out, int64_t **ats)
{
	size_t n = 0, cap = atomic_load(&fs->atime_pending) + 1;
	uint64_t *ids = malloc(cap * sizeof(*ids));
	int64_t *at = malloc(cap * sizeof(*at));

	fs_lock(fs);
	for (uint64_t i = 1; ids && at && i < fs->next_nodeid && n < cap; i++) {
		struct node *x = fs_node_get(fs, i);

		if (!x || !x->atime_pend)
			continue;
		x->nopen++; /* kept while we work on it */
		at[n] = x->atime_ns;
		ids[n++] = i;
	}
	fs_unlock(fs);
	*out = ids;
	*ats = at;
	return n;
}

int fs_atime_flush(struct fs *fs)
{
	struct change c = {.fs = fs};
	uint64_t *ids;
	int64_t *at;
	size_t n;
	int err;

	if (!atomic_load(&fs->atime_pending))
		return 0;
	n = collect(fs, &ids, &at);
	pthread_mutex_lock(&fs->wlock);
	err = n ? fs_wtxn(fs, &c.t, &c.e) : 0;
	for (size_t k = 0; k < n && !err; k++) {
		int e1 = write_one(fs, &c, fs_node_find(fs, ids[k]), at[k]);

		/* a name gone meanwhile has nothing to keep */
		if (e1 && e1 != -ENOENT && e1 != -ESTALE)
			err = e1;
	}
	if (n && !err)
		err = store_txn_commit(c.t);
	else if (n)
		store_txn_abort(c.t);
	fs_lock(fs);
	for (size_t k = 0; k < n; k++) {
		struct node *x = fs_node_get(fs, ids[k]);

		if (!err && x->atime_pend && x->atime_ns == at[k]) {
			x->atime_pend = false;
			atomic_fetch_sub(&fs->atime_pending, 1);
		}
		x->nopen--;
		fs_node_forget(fs, x, 0);
	}
	fs_unlock(fs);
	pthread_mutex_unlock(&fs->wlock);
	if (!err && n)
		atomic_fetch_add(&fs->atime_flushes, 1);
	free(ids);
	free(at);
	return err;
}

void fs_atime_drop(struct fs *fs)
{
	fs_lock(fs);
	for (uint64_t i = 1; i < fs->next_nodeid; i++) {
		struct node *x = fs_node_get(fs, i);

		if (!x || !x->atime_pend)
			continue;
		x->atime_pend = false;
		atomic_fetch_sub(&fs->atime_pending, 1);
		fs_node_forget(fs, x, 0);
	}
	fs_unlock(fs);
}

void fs_atime_tick(struct fs *fs)
{
	int64_t now = fs_now_ns();

	if (!atomic_load(&fs->atime_pending) ||
	    now - fs->atime_last_flush < fs->atime_flush_ns)
		return;
	fs->atime_last_flush = now;
	if (fs_atime_flush(fs))
		fprintf(stderr, "blastfs: cannot write access times\n");
}
