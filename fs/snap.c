/* SPDX-License-Identifier: MIT */
/*
 * snap.c - snapshots of a mounted env: save (seal, then one O(1) store
 * txn), load (refuse while files are open for writing, keep unsaved
 * changes as an automatic snapshot, flip the live root, then invalidate
 * what the kernel caches) and automatic snapshots before the first
 * change after a quiet period (a package operation's start).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_internal.h"

#define AUTO_QUIET_NS (2ll * 1000000000) /* a package operation's gap */
#define AUTO_KEEP     20		 /* automatic snapshots kept */

struct snap_scan {
	uint64_t root;
	bool saved; /* some snapshot has the live root */
};

static int scan_snap(void *arg, const struct store_snap *s)
{
	struct snap_scan *sc = arg;

	if (s->root == sc->root)
		sc->saved = true;
	return 0;
}

/* Save e's live root as auto-YYYYmmdd-HHMMSS-N (unless `always` is false
 * and a snapshot already has it); keep the newest "auto-keep" (setting,
 * default 20) automatic ones. name may be NULL. */
static int auto_save(struct store_txn *t, struct store_env *e, bool always,
		     char *name, size_t len)
{
	struct snap_scan sc = {.root = e->root};
	struct store_snap s = {0}, old;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int err, n;

	err = store_snap_iter(t, e, scan_snap, &sc);
	if (err || (sc.saved && !always))
		return err;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (n = 1;; n++) {
		snprintf(s.name, sizeof(s.name), "auto-%s-%d", stamp, n);
		err = store_snap_get(t, e, s.name, &old);
		if (err == -ENOENT)
			break;
		if (err)
			return err;
	}
	s.automatic = true;
	snprintf(s.message, sizeof(s.message), "automatic");
	err = store_snap_create(t, e, &s);
	if (!err) {
		uint64_t keep = STORE_AUTO_KEEP_DEFAULT;
		int r = store_env_setting_get(t, e, "auto-keep", &keep);

		err = r && r != -ENOENT ? r : 0;
		if (!err)
			err = store_snap_prune_auto(t, e, keep);
	}
	if (!err && name)
		snprintf(name, len, "%s", s.name);
	return err;
}

int fs_auto_snapshot(struct fs *fs, struct store_txn *t, struct store_env *e,
		     const char *const *names, size_t depth)
{
	int64_t now = fs_now_ns(), last;

	/* Any change starts a package operation: pip uninstall removes
	 * bin/ scripts before it touches site-packages. */
	(void)names;
	(void)depth;
	last = fs->last_change_ns; /* protected by wlock, held */
	fs->last_change_ns = now;
	if (now - last < AUTO_QUIET_NS)
		return 0;
	/* always: undo must find the state just before this operation,
	 * even when a manual snapshot holds the same root */
	return auto_save(t, e, true, NULL, 0);
}

int fs_snap_save(struct fs *fs, const char *name, bool automatic,
		 const char *msg)
{
	struct store_snap s = {0};
	struct store_txn *t;
	struct store_env e;
	int err;

	if (store_name_check(name))
		return -EINVAL;
	err = fs_seal_all(fs);
	if (err)
		return err;
	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.message, sizeof(s.message), "%s", msg ? msg : "");
	s.automatic = automatic;
	pthread_mutex_lock(&fs->wlock);
	err = fs_wtxn(fs, &t, &e);
	if (!err) {
		err = store_snap_create(t, &e, &s);
		if (err)
			store_txn_abort(t);
		else
			err = store_txn_commit(t);
	}
	pthread_mutex_unlock(&fs->wlock);
	return err;
}

struct inval {
	uint64_t parent;
	char *name;
};

/* Forget every node but the root: new lookups make new nodes, so no
 * cached page or attr of the old tree can be seen through them. Returns
 * the (parent, name) pairs the kernel may hold dentries for. */
static int detach_nodes(struct fs *fs, struct inval **out, size_t *count)
{
	struct inval *v;
	size_t n = 0;

	pthread_mutex_lock(&fs->lock);
	v = calloc(fs->next_nodeid + 1, sizeof(*v));
	for (uint64_t i = FUSE_ROOT_ID + 1; v && i < fs->next_nodeid; i++) {
		struct node *nd = fs_node_get(fs, i);

		if (!nd)
			continue;
		fs_node_detach(fs, nd);
		if (nd->parent && nd->name[0]) {
			v[n].parent = nd->parent;
			v[n].name = strdup(nd->name);
			n += v[n].name != NULL;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	if (!v)
		return -ENOMEM;
	*out = v;
	*count = n;
	return 0;
}

/* Called with no lock held and never from a request handler: the
 * kernel may need a handler thread to answer while it invalidates. */
static void invalidate(struct fs *fs, struct inval *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fuse_lowlevel_notify_inval_entry(fs->se, v[i].parent, v[i].name,
						 strlen(v[i].name));
		free(v[i].name);
	}
	fuse_lowlevel_notify_inval_inode(fs->se, FUSE_ROOT_ID, 0, 0);
}

static unsigned writers(struct fs *fs)
{
	unsigned w = 0;

	pthread_mutex_lock(&fs->lock);
	for (uint64_t i = 1; i < fs->next_nodeid; i++) {
		struct node *n = fs_node_get(fs, i);

		if (n && n->nwrite)
			w++;
	}
	pthread_mutex_unlock(&fs->lock);
	return w;
}

int fs_snap_load(struct fs *fs, const char *name, char *auto_name, size_t len,
		 unsigned *busy)
{
	struct store_txn *t;
	struct store_env e;
	struct store_snap s;
	struct inval *v = NULL;
	size_t n = 0;
	int err;

	*auto_name = '\0';
	*busy = writers(fs);
	if (*busy)
		return -EBUSY;
	err = fs_seal_all(fs);
	if (err)
		return err;
	pthread_mutex_lock(&fs->wlock);
	err = fs_wtxn(fs, &t, &e);
	if (err)
		goto out_unlock;
	err = store_snap_get(t, &e, name, &s);
	if (!err)
		err = auto_save(t, &e, false, auto_name, len);
	if (!err)
		err = store_env_set_root(t, &e, s.root);
	if (err) {
		store_txn_abort(t);
		*auto_name = '\0';
		goto out_unlock;
	}
	err = store_txn_commit(t);
	if (!err)
		err = detach_nodes(fs, &v, &n);
out_unlock:
	pthread_mutex_unlock(&fs->wlock);
	if (v) {
		invalidate(fs, v, n);
		free(v);
	}
	return err;
}
