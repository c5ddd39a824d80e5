/* SPDX-License-Identifier: MIT */
/*
 * seal.c - sealing: a dirty node's buffered content and attributes
 * become its entry in the store (hash, dedup, compress, one write txn
 * under fs->wlock), and the write log learns that its records for the
 * node are covered. Called by the sealer thread (sealer.c decides
 * when), by the last writer's RELEASE, FLUSH and FSYNC (io.c), and
 * through fs_seal_all by a save (snap.c). One seal of a node at a time
 * (node.in_seal). Locks: wlog.mu then fs->lock to copy the content,
 * fs->wlock for the commit; fs->lock is never held across a store
 * write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

/* Write node n's buffered content and attrs into its entry. */
static int seal_commit(struct fs *fs, struct node *n, const void *data,
		       size_t len, struct store_blob_prep *prep, uint64_t *blob,
		       bool *dup)
{
	struct store_txn *t;
	struct store_env env;
	struct store_entry e;
	struct store_attr cur;
	uint64_t xattr;
	struct node *p;
	const char **names = NULL;
	char name[STORE_NAME_MAX + 1];
	size_t depth;
	uint64_t tab;
	bool writers;
	int err;

	pthread_mutex_lock(&fs->wlock);
	err = fs_wtxn(fs, &t, &env);
	if (err)
		goto out_unlock;
	fs_lock(fs);
	/* attrs as they are now, under wlock: a chmod, utimens or link since
	 * the content was copied is not undone (only size goes with it) */
	cur = n->a;
	writers = n->nwrite > 0 || n->wopen;
	p = n->unlinked ? NULL : fs_node_get(fs, n->parent);
	n->pkg_pending = writers && p && fs_pkg_watched(p->name, n->name);
	if (n->linked && !n->unlinked) {
		store_link_key(n->fid, name);
		p = NULL;
		err = 0;
	} else {
		err = p ? fs_node_path(fs, p, true, &names, &depth) : -ENOENT;
		if (!err)
			snprintf(name, sizeof(name), "%s", n->name);
	}
	fs_unlock(fs);
	if (!err && p)
		err = fs_auto_snapshot(fs, t, &env, names, depth);
	if (!err && !p)
		err = store_env_links_writable(t, &env, &tab);
	else if (!err)
		err = store_env_dir_writable(t, &env, names, depth, &tab);
	if (!err)
		err = store_dir_get(t, tab, name, strlen(name), &e);
	if (!err && p && e.payload == STORE_P_HARDLINK && e.ref == n->fid) {
		/* linked since n->linked was read (a link's commit comes
		 * first): the inode's entry is in the links table */
		p = NULL;
		store_link_key(n->fid, name);
		err = store_env_links_writable(t, &env, &tab);
		if (!err)
			err = store_dir_get(t, tab, name, strlen(name), &e);
	}
	if (!err && e.a.fid != n->fid)
		err = -ENOENT;
	if (err)
		goto out_abort;
	xattr = e.xattr; /* the store has the inode's attributes */
	memset(&e, 0, sizeof(e));
	e.xattr = xattr;
	e.a = cur;
	e.a.size = len;
	if (prep) {
		err = store_blob_commit(t, prep, blob, dup);
		e.payload = STORE_P_BLOB;
		e.ref = *blob;
	} else if (len) {
		e.payload = STORE_P_INLINE;
		e.inline_data = data;
		e.inline_len = (uint32_t)len;
	}
	if (!err)
		err = store_dir_put(t, tab, name, strlen(name), &e);
	if (!err && p && !writers) /* a flush with writers left: later */
		err = fs_pkg_changed(fs, t, &env, names, depth, name);
	if (err)
		goto out_abort;
	free(names);
	err = store_txn_commit(t);
	pthread_mutex_unlock(&fs->wlock);
	return err;
out_abort:
	free(names);
	store_txn_abort(t);
out_unlock:
	pthread_mutex_unlock(&fs->wlock);
	return err;
}

/* Hash content (data, malloc'd, is taken over), and compress it only
 * when the store does not have it yet: a pip install or cp -a of packages other
 * envs hold mostly dedups, and zstd was most of a seal's CPU. */
static int prepare_new(struct fs *fs, void *data, size_t len,
		       struct store_blob_prep **out)
{
	struct store_txn *t;
	int known = 0, err = store_blob_prepare_lazy(data, len, out);

	if (err)
		return err;
	if (!fs_rtxn(fs, &t)) {
		known = store_blob_known(t, *out);
		fs_rtxn_done(t);
	}
	return known == 1 ? 0 : store_blob_prep_compress(*out);
}

static int seal_one(struct fs *fs, struct node *n)
{
	struct store_blob_prep *prep = NULL;
	unsigned char *copy = NULL;
	uint64_t wgen, blob = 0, upto;
	size_t len;
	bool dup = false;
	int err = 0, staged = -1;

	/* what is copied now covers every logged write before upto */
	pthread_mutex_lock(&fs->wlog.mu);
	fs_lock(fs);
	upto = fs_wlog_pos(fs);
	if (!n->loaded || !n->dirty || n->unlinked) {
		fs_unlock(fs);
		pthread_mutex_unlock(&fs->wlog.mu);
		return 0;
	}
	len = n->len;
	wgen = n->wgen;
	if (n->sfd >= 0) {
		/* large: hashed from the staging file, writers wait */
		staged = n->sfd;
		n->sealing = true;
	} else {
		copy = malloc(len ? len : 1);
		if (copy && len)
			memcpy(copy, n->buf, len);
	}
	fs_unlock(fs);
	pthread_mutex_unlock(&fs->wlog.mu);
	if (staged >= 0)
		err = store_blob_prepare_fd(staged, len, &prep);
	else if (!copy)
		err = -ENOMEM;
	else if (len > STORE_INLINE_MAX) {
		err = prepare_new(fs, copy, len, &prep); /* takes copy */
		copy = NULL;
	}
	if (!err)
		err = seal_commit(fs, n, copy, len, prep, &blob, &dup);
	store_blob_prep_free(prep);
	free(copy);
	if (staged >= 0) {
		fs_lock(fs);
		n->sealing = false;
		pthread_cond_broadcast(&fs->seal_cond);
		fs_unlock(fs);
	}
	if (err == -ENOENT)
		return 0; /* unlinked meanwhile: the content dies with it */
	if (err)
		return err;
	/* a mark that cannot be written (a full disk) costs a replay of
	 * writes already sealed, which gives the same content */
	(void)fs_wlog_sealed(fs, n->fid, upto);
	fs_lock(fs);
	if (n->wgen == wgen) {
		n->dirty = false;
		n->payload =
		    prep ? STORE_P_BLOB : (len ? STORE_P_INLINE : STORE_P_NONE);
		n->ref = blob;
	} else {
		n->dgen = fs_wlog_gen_of(upto); /* older ones are covered */
	}
	atomic_fetch_add(&fs->seal_seq, 1);
	fs_unlock(fs);
	atomic_fetch_add(&fs->cnt.sealed, 1);
	if (dup)
		atomic_fetch_add(&fs->cnt.deduped, 1);
	return 0;
}

/* One seal of a node at a time: a later one copies after the earlier
 * one committed, so it never overwrites newer attrs with older ones. */
int fs_seal(struct fs *fs, struct node *n)
{
	int err;

	fs_lock(fs);
	while (n->in_seal)
		fs_lock_wait(fs, &fs->seal_cond);
	n->in_seal = true;
	fs_unlock(fs);
	err = seal_one(fs, n);
	fs_lock(fs);
	n->in_seal = false;
	pthread_cond_broadcast(&fs->seal_cond);
	fs_unlock(fs);
	return err;
}

int fs_seal_all(struct fs *fs)
{
	return fs_sealer_run(fs, FS_SEAL_ALL);
}
