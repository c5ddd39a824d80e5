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

#define AUTO_KEEP 20 /* automatic snapshots kept */

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
	last = atomic_load(&fs->last_change_ns); /* written under wlock, held */
	atomic_store(&fs->last_change_ns, now);
	if (now - last < fs->auto_quiet_ns)
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
	if (!err) /* the snapshot has the access times read so far */
		err = fs_atime_flush(fs);
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

/* A notification for the kernel: an entry (name set) or an inode. */
struct inval {
	uint64_t ino;
	char *name;
};

struct invals {
	struct inval *v;
	size_t n, cap;
};

static int inval_add(struct invals *l, uint64_t ino, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n].ino = ino;
	l->v[l->n].name = name ? strdup(name) : NULL;
	if (name && !l->v[l->n].name)
		return -ENOMEM;
	l->n++;
	return 0;
}

/* Everything: every node but the root leaves the file id map (new
 * lookups make new nodes) and every name the kernel may hold goes. */
static int plan_all(struct fs *fs, struct invals *l)
{
	int err = 0;

	for (uint64_t i = FUSE_ROOT_ID + 1; !err && i < fs->next_nodeid; i++) {
		struct node *nd = fs_node_get(fs, i);

		if (!nd)
			continue;
		fs_node_detach(fs, nd);
		if (nd->parent && nd->name[0])
			err = inval_add(l, nd->parent, nd->name);
	}
	return err ? err : inval_add(l, FUSE_ROOT_ID, NULL);
}

/* Exactly what changed: names whose entry differs (their old node leaves
 * the file id map, so no page of the old content can be reached by a new
 * lookup) and directories whose listing or attrs differ. Nodes of
 * unchanged files stay, with their page cache. Under fs->lock. */
static int plan_changes(struct fs *fs, const struct fs_changes *c,
			struct invals *l)
{
	int err = 0;

	if (c->links_changed)
		return plan_all(fs, l);
	for (size_t i = 0; !err && i < c->n; i++) {
		struct node *dir = fs_node_by_fid(fs, c->v[i].dir_fid);
		struct node *old;

		if (!dir)
			continue; /* the kernel holds nothing below it */
		err = inval_add(l, dir->nodeid, NULL);
		if (err || !c->v[i].name)
			continue;
		old = c->v[i].old_fid ? fs_node_by_fid(fs, c->v[i].old_fid)
				      : NULL;
		if (old && old != dir && old->nodeid != FUSE_ROOT_ID)
			fs_node_detach(fs, old);
		err = inval_add(l, dir->nodeid, c->v[i].name);
	}
	return err;
}

/* Called with no lock held and never from a request handler: the
 * kernel may need a handler thread to answer while it invalidates. */
static void invalidate(struct fs *fs, struct invals *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].name)
			fuse_lowlevel_notify_inval_entry(fs->se, l->v[i].ino,
							 l->v[i].name,
							 strlen(l->v[i].name));
		else
			fuse_lowlevel_notify_inval_inode(fs->se, l->v[i].ino, 0,
							 0);
		free(l->v[i].name);
	}
	free(l->v);
}

/* Files open for writing: every process's, from /proc (the kernel opens
 * files without telling blastfs, io.c), with who holds them; else the
 * handles blastfs saw. */
static unsigned writers(struct fs *fs, char *who, size_t wholen)
{
	struct fs_wopen w = {.who = who, .wholen = wholen};
	unsigned n = 0;

	if (wholen)
		who[0] = '\0';
	if (fs_wopen_scan(fs, &w) == 0) {
		n = (unsigned)w.n;
		fs_wopen_release(&w);
		return n;
	}
	fs_lock(fs);
	for (uint64_t i = 1; i < fs->next_nodeid; i++) {
		struct node *x = fs_node_get(fs, i);

		if (x && x->nwrite)
			n++;
	}
	fs_unlock(fs);
	return n;
}

/* Under wlock, before the flip: the live root, the snapshot's, and what
 * differs between them. */
static int changes_ahead(struct fs *fs, const char *name, uint64_t *old_root,
			 struct fs_changes *ch)
{
	struct store_txn *t;
	struct store_env e;
	struct store_snap s;
	int err = fs_rtxn(fs, &t);

	if (err)
		return err;
	err = store_env_get(t, fs->opt->env, &e);
	if (!err)
		err = store_snap_get(t, &e, name, &s);
	fs_rtxn_done(t);
	if (err)
		return err;
	*old_root = e.root;
	if (fs_changes_between(fs->st, e.root, s.root, ch))
		ch->links_changed = true; /* could not tell: all of it */
	return 0;
}

/* The i-th node whose content the load may change: each changed name's
 * old file, or every node when the changes could not be told. Under
 * fs->lock; false past the last. */
static bool changed_node(struct fs *fs, const struct fs_changes *ch, uint64_t i,
			 struct node **out)
{
	*out = NULL;
	if (ch->links_changed) {
		if (i >= fs->next_nodeid)
			return false;
		*out = fs_node_get(fs, i);
	} else {
		if (i >= ch->n)
			return false;
		if (ch->v[i].old_fid)
			*out = fs_node_by_fid(fs, ch->v[i].old_fid);
	}
	return true;
}

/* Under wlock, before the flip: a file the kernel may still read (opened
 * without OPEN, io.c) but blastfs never loaded would load lazily from the
 * new root at its first READ. Load the changing ones now, from the old. */
static void keep_open_content(struct fs *fs, const struct fs_changes *ch)
{
	for (uint64_t i = 0;; i++) {
		struct node *n;
		bool more, load;

		fs_lock(fs);
		more = changed_node(fs, ch, i, &n);
		load = n && !S_ISDIR(n->mode) && !n->loaded && !n->unlinked;
		if (load)
			n->nopen++; /* kept while we load it */
		fs_unlock(fs);
		if (!more)
			return;
		if (!load)
			continue;
		(void)fs_node_load(fs, n); /* else its first READ says why */
		fs_lock(fs);
		n->nopen--;
		fs_node_forget(fs, n, 0);
		fs_unlock(fs);
	}
}

int fs_snap_load(struct fs *fs, const char *name, char *auto_name, size_t len,
		 unsigned *busy, char *who, size_t wholen)
{
	struct fs_changes ch = {0};
	struct invals l = {0};
	struct store_txn *t;
	struct store_env e;
	struct store_snap s;
	uint64_t old_root = 0;
	int err;

	*auto_name = '\0';
	*busy = writers(fs, who, wholen);
	if (*busy)
		return -EBUSY;
	err = fs_seal_all(fs);
	if (err)
		return err;
	pthread_mutex_lock(&fs->wlock);
	err = changes_ahead(fs, name, &old_root, &ch);
	if (err)
		goto out_unlock;
	keep_open_content(fs, &ch);
	err = fs_wtxn(fs, &t, &e);
	if (err)
		goto out_unlock;
	err = store_snap_get(t, &e, name, &s);
	if (!err && e.root != old_root)
		err = -EAGAIN; /* cannot be: wlock is held */
	if (!err)
		err = auto_save(t, &e, false, auto_name, len);
	if (!err)
		err = store_env_set_root(t, &e, s.root);
	if (err) {
		store_txn_abort(t);
		*auto_name = '\0';
		goto out_unlock;
	}
	/* old_root lives on in the automatic or another snapshot */
	err = store_txn_commit(t);
	if (!err) /* reads of the state left: not carried into this one */
		fs_atime_drop(fs);
	atomic_fetch_add(&fs->xa_epoch, 1); /* other attributes now */
	if (!err) {
		fs_lock(fs);
		err = plan_changes(fs, &ch, &l);
		fs_unlock(fs);
	}
out_unlock:
	pthread_mutex_unlock(&fs->wlock);
	fs_changes_release(&ch);
	invalidate(fs, &l);
	if (!err) /* the snapshot's policy from now on */
		err = fs_pol_reload(fs, true);
	if (!err) /* its packages: watch clients hear what changed */
		fs_pkg_watch_refresh(fs);
	return err;
}
