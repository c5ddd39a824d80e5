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

/* Write node n's buffered content and attrs into its entry, in t (a
 * frame member when f). Called under fs->wlock. -ENOENT: n has no entry
 * left (unlinked meanwhile). */
static int seal_put(struct fs *fs, struct store_txn *t, struct node *n,
		    const void *data, size_t len, struct store_blob_prep *prep,
		    struct store_frame *f, uint32_t off, uint64_t *blob,
		    bool *dup)
{
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

	err = store_env_get(t, fs->opt->env, &env);
	if (err)
		return err == -ENOENT ? -EIO : err;
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
		goto out;
	xattr = e.xattr; /* the store has the inode's attributes */
	memset(&e, 0, sizeof(e));
	e.xattr = xattr;
	e.a = cur;
	e.a.size = len;
	if (prep) {
		err = f ? store_blob_commit_member(t, prep, f, off, blob, dup)
			: store_blob_commit(t, prep, blob, dup);
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
out:
	free(names);
	return err;
}

/* seal_put in a txn of its own. */
static int seal_commit(struct fs *fs, struct node *n, const void *data,
		       size_t len, struct store_blob_prep *prep, uint64_t *blob,
		       bool *dup)
{
	struct store_txn *t;
	int err;

	pthread_mutex_lock(&fs->wlock);
	err = store_txn_begin(fs->st, true, &t);
	if (!err) {
		err = seal_put(fs, t, n, data, len, prep, NULL, 0, blob, dup);
		if (err)
			store_txn_abort(t);
		else
			err = store_txn_commit(t);
	}
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

/* After the commit of a seal of n that copied its content (len bytes,
 * a blob when blob_sealed) at write log position upto and write
 * generation wgen. */
static void seal_done(struct fs *fs, struct node *n, uint64_t upto,
		      uint64_t wgen, bool blob_sealed, size_t len,
		      uint64_t blob, bool dup)
{
	/* a mark that cannot be written (a full disk) costs a replay of
	 * writes already sealed, which gives the same content */
	(void)fs_wlog_sealed(fs, n->fid, upto);
	fs_lock(fs);
	if (n->wgen == wgen) {
		n->dirty = false;
		n->seal_soon = false;
		n->payload = blob_sealed ? STORE_P_BLOB
			     : len	 ? STORE_P_INLINE
					 : STORE_P_NONE;
		n->ref = blob;
	} else {
		n->dgen = fs_wlog_gen_of(upto); /* older ones are covered */
	}
	atomic_fetch_add(&fs->seal_seq, 1);
	fs_unlock(fs);
	atomic_fetch_add(&fs->cnt.sealed, 1);
	if (dup)
		atomic_fetch_add(&fs->cnt.deduped, 1);
}

static int seal_one(struct fs *fs, struct node *n)
{
	struct store_blob_prep *prep = NULL;
	unsigned char *copy = NULL;
	uint64_t wgen, blob = 0, upto;
	size_t len;
	bool dup = false, has_blob;
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
	has_blob = prep != NULL;
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
	if (!err)
		seal_done(fs, n, upto, wgen, has_blob, len, blob, dup);
	return err;
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

/* ---- several small files in one txn, their new content one frame ---- */

#define GROUP_MAX 64

struct member {
	struct node *n;
	size_t len;
	uint64_t wgen, upto, blob;
	struct store_blob_prep *prep;
	uint32_t off;
	bool fresh, in_frame, dup, gone;
};

bool fs_seal_small_ok(struct fs *fs, struct node *n)
{
	FS_ASSERT_LOCKED(fs);
	return n->loaded && n->dirty && !n->unlinked && n->sfd < 0 &&
	       n->len > STORE_INLINE_MAX && n->len <= STORE_PACK_MEMBER_MAX;
}

static bool member_size(struct fs *fs, struct node *n, size_t *len)
{
	*len = n->len;
	return fs_seal_small_ok(fs, n);
}

/* Copy m->n's content and hash it. 1: a member; 0: leave it to fs_seal
 * (it changed since it was picked). */
static int member_take(struct fs *fs, struct member *m)
{
	unsigned char *copy;

	pthread_mutex_lock(&fs->wlog.mu);
	fs_lock(fs);
	m->upto = fs_wlog_pos(fs);
	if (!member_size(fs, m->n, &m->len)) {
		fs_unlock(fs);
		pthread_mutex_unlock(&fs->wlog.mu);
		return 0;
	}
	m->wgen = m->n->wgen;
	copy = malloc(m->len);
	if (copy)
		memcpy(copy, m->n->buf, m->len);
	fs_unlock(fs);
	pthread_mutex_unlock(&fs->wlog.mu);
	return copy && !store_blob_prepare_lazy(copy, m->len, &m->prep);
}

/* Compress the new content of members v[0, n): as one frame (*f) when
 * more than one is new and it shrinks, else one by one. */
static int members_compress(struct fs *fs, struct member *v, size_t n,
			    struct store_frame **f)
{
	struct store_blob_prep *fresh[GROUP_MAX];
	uint32_t offs[GROUP_MAX];
	size_t idx[GROUP_MAX], nf = 0;
	struct store_txn *t;
	int err = 0;

	*f = NULL;
	if (fs_rtxn(fs, &t))
		t = NULL;
	for (size_t i = 0; i < n; i++) {
		v[i].fresh = !t || store_blob_known(t, v[i].prep) != 1;
		if (v[i].fresh && store_blob_prep_bytes(v[i].prep)) {
			fresh[nf] = v[i].prep; /* no holes: can be a member */
			idx[nf++] = i;
		}
	}
	if (t)
		fs_rtxn_done(t);
	if (nf > 1 && !store_frame_make(fresh, nf, STORE_SEAL_LEVEL, offs, f))
		for (size_t k = 0; k < nf; k++) {
			v[idx[k]].in_frame = true;
			v[idx[k]].off = offs[k];
		}
	for (size_t i = 0; i < n && !err; i++)
		if (v[i].fresh && !v[i].in_frame)
			err = store_blob_prep_compress(v[i].prep);
	return err;
}

/* Seal members v[0, n) in one txn. 0: all sealed (or gone); else none. */
static int members_commit(struct fs *fs, struct member *v, size_t n,
			  struct store_frame *f)
{
	struct store_txn *t = NULL;
	int err;

	pthread_mutex_lock(&fs->wlock);
	err = store_txn_begin(fs->st, true, &t);
	for (size_t i = 0; !err && i < n; i++) {
		err = seal_put(fs, t, v[i].n, NULL, v[i].len, v[i].prep,
			       v[i].in_frame ? f : NULL, v[i].off, &v[i].blob,
			       &v[i].dup);
		v[i].gone = err == -ENOENT; /* unlinked meanwhile */
		if (v[i].gone)
			err = 0;
	}
	if (t && err)
		store_txn_abort(t);
	else if (t)
		err = store_txn_commit(t);
	pthread_mutex_unlock(&fs->wlock);
	return err;
}

/* Seal nodes g[0, n), each held in_seal, as members. sealed[i]: done. */
static void group_seal(struct fs *fs, struct node **g, size_t n, bool *sealed)
{
	struct member v[GROUP_MAX];
	struct store_frame *f = NULL;
	size_t k = 0, at[GROUP_MAX];
	int err;

	for (size_t i = 0; i < n; i++) {
		sealed[i] = false; /* changed since picked: fs_seal's */
		memset(&v[k], 0, sizeof(v[k]));
		v[k].n = g[i];
		if (member_take(fs, &v[k]) == 1)
			at[k++] = i;
		else
			store_blob_prep_free(v[k].prep);
	}
	err = k > 1 ? members_compress(fs, v, k, &f) : -ENODATA;
	if (!err)
		err = members_commit(fs, v, k, f);
	for (size_t i = 0; i < k; i++) {
		if (!err && !v[i].gone)
			seal_done(fs, v[i].n, v[i].upto, v[i].wgen, true,
				  v[i].len, v[i].blob, v[i].dup);
		if (!err && v[i].in_frame && !v[i].gone)
			atomic_fetch_add(&fs->cnt.sealed_framed, 1);
		sealed[at[i]] = !err;
		store_blob_prep_free(v[i].prep);
	}
	store_frame_free(f);
}

static void in_seal_take(struct fs *fs, struct node *n)
{
	fs_lock(fs);
	while (n->in_seal)
		fs_lock_wait(fs, &fs->seal_cond);
	n->in_seal = true;
	fs_unlock(fs);
}

static void in_seal_give(struct fs *fs, struct node **g, size_t n)
{
	fs_lock(fs);
	for (size_t i = 0; i < n; i++)
		g[i]->in_seal = false;
	pthread_cond_broadcast(&fs->seal_cond);
	fs_unlock(fs);
}

void fs_seal_small(struct fs *fs, struct node **v, size_t n, bool *sealed)
{
	struct node *g[GROUP_MAX];
	size_t idx[GROUP_MAX], k = 0, sum = 0;
	bool done[GROUP_MAX];

	for (size_t i = 0; i <= n; i++) {
		size_t len = 0;
		bool fits = false;

		if (i < n) {
			sealed[i] = false;
			fs_lock(fs);
			fits = member_size(fs, v[i], &len);
			fs_unlock(fs);
		}
		if (k && (i == n || k == GROUP_MAX ||
			  (fits && sum + len > STORE_PACK_RAW))) {
			if (k > 1) {
				for (size_t j = 0; j < k; j++)
					in_seal_take(fs, g[j]);
				group_seal(fs, g, k, done);
				in_seal_give(fs, g, k);
				for (size_t j = 0; j < k; j++)
					sealed[idx[j]] = done[j];
			}
			k = sum = 0;
		}
		if (fits) {
			g[k] = v[i];
			idx[k++] = i;
			sum += len;
		}
	}
}

int fs_seal_all(struct fs *fs)
{
	return fs_sealer_run(fs, FS_SEAL_ALL);
}
