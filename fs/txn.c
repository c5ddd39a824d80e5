/* SPDX-License-Identifier: MIT */
/*
 * txn.c - store access for request handlers: a per-thread read txn that
 * is renewed for each request and reset after (never held across
 * requests), write txns that reload the env record (so a freeze done by
 * another process is honoured), and node -> table/entry/stat resolution
 * by walking names from the live root (retried when a rename moved the
 * path meanwhile, re-read when a seal committed since the txn began).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs_internal.h"

int64_t fs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * STORE_NS_PER_S + ts.tv_nsec;
}

int64_t fs_knob_ns(const char *name, long dflt_ms)
{
	const char *v = getenv(name);
	char *end;
	long ms = v && *v ? strtol(v, &end, 10) : dflt_ms;

	if (v && *v && (*end || ms < 0))
		ms = dflt_ms;
	return (int64_t)ms * 1000000;
}

int fs_rtxn(struct fs *fs, struct store_txn **out)
{
	struct store_txn *t = pthread_getspecific(fs->rtxn_key);
	int err;

	if (t) {
		err = store_txn_renew(t);
		if (!err) {
			*out = t;
			return 0;
		}
		store_txn_abort(t);
		pthread_setspecific(fs->rtxn_key, NULL);
	}
	err = store_txn_begin(fs->st, false, &t);
	if (err)
		return err;
	pthread_setspecific(fs->rtxn_key, t);
	*out = t;
	return 0;
}

void fs_rtxn_done(struct store_txn *t)
{
	store_txn_reset(t);
}

int fs_wtxn(struct fs *fs, struct store_txn **t, struct store_env *e)
{
	int err = store_txn_begin(fs->st, true, t);

	if (err)
		return err;
	err = store_env_get(*t, fs->opt->env, e);
	if (err) {
		store_txn_abort(*t);
		*t = NULL;
		return err == -ENOENT ? -EIO : err;
	}
	return 0;
}

static int root_tab(struct fs *fs, struct store_txn *t, uint64_t *out)
{
	struct store_env e;
	int err = store_env_get(t, fs->opt->env, &e);

	if (err)
		return err == -ENOENT ? -EIO : err;
	*out = e.root;
	return 0;
}

/* Walk names from the live root. */
static int walk(struct fs *fs, struct store_txn *t, const char **names,
		size_t depth, uint64_t *out)
{
	struct store_entry e;
	uint64_t tab;
	size_t i;
	int err = root_tab(fs, t, &tab);

	for (i = 0; !err && i < depth; i++) {
		err = store_dir_get(t, tab, names[i], strlen(names[i]), &e);
		if (!err && e.payload != STORE_P_TAB)
			err = -ENOTDIR;
		tab = e.ref;
	}
	if (!err)
		*out = tab;
	return err == -ENOTDIR ? -ENOENT : err;
}

/* The request's read txn, moved up to the latest commit. */
static int txn_refresh(struct store_txn *t)
{
	store_txn_reset(t);
	return store_txn_renew(t);
}

/* A miss (err) of a path read from the nodes at rename_seq seq: retry
 * with a fresh txn when a rename was in flight or done meanwhile (its
 * commit and its node's new name are two steps), at most RETRY_MAX
 * times. */
#define RETRY_MAX 100
static bool retry_moved(struct fs *fs, struct store_txn *t, uint64_t seq,
			int err, int *tries)
{
	bool moved;

	if ((err != -ENOENT && err != -ESTALE) || ++*tries > RETRY_MAX)
		return false;
	fs_lock(fs);
	moved = (seq & 1) || fs->rename_seq != seq;
	fs_unlock(fs);
	if (!moved)
		return false;
	sched_yield();
	return txn_refresh(t) == 0;
}

static int dir_tab_once(struct fs *fs, struct store_txn *t, struct node *n,
			uint64_t *out, uint64_t *seq)
{
	const char **names;
	size_t depth;
	int err;

	fs_lock(fs);
	*seq = fs->rename_seq;
	err = fs_node_path(fs, n, true, &names, &depth);
	if (!err) {
		err = walk(fs, t, names, depth, out);
		free(names);
	}
	fs_unlock(fs);
	/* The path may name another directory for a moment (a rename
	 * committed, the node table not yet updated): never answer for the
	 * wrong one, the kernel would mark the inode bad (EIO). */
	if (!err && depth) {
		struct store_dir d;

		err = store_dir_stat(t, *out, &d);
		if (!err && d.a.fid != n->fid)
			err = -ESTALE;
	}
	return err;
}

int fs_dir_tab(struct fs *fs, struct store_txn *t, struct node *n,
	       uint64_t *out)
{
	uint64_t seq;
	int err, tries = 0;

	do
		err = dir_tab_once(fs, t, n, out, &seq);
	while (retry_moved(fs, t, seq, err, &tries));
	return err;
}

static int node_entry_once(struct fs *fs, struct store_txn *t, struct node *n,
			   struct store_entry *out, uint64_t *seq)
{
	const char **names;
	size_t depth;
	uint64_t tab;
	bool linked;
	int err;

	fs_lock(fs);
	*seq = fs->rename_seq;
	linked = n->linked;
	err = linked ? 0 : fs_node_path(fs, n, false, &names, &depth);
	if (!err && !linked) {
		err = walk(fs, t, names, depth, &tab);
		free(names);
		if (!err)
			err = store_dir_get(t, tab, n->name, strlen(n->name),
					    out);
	}
	fs_unlock(fs);
	if (linked) {
		/* any of its names may be gone: go by file id */
		err = root_tab(fs, t, &tab);
		if (!err)
			err = store_link_get(t, tab, n->fid, out);
		return err == -ENOENT ? -ESTALE : err;
	}
	/* As in fs_dir_tab: the name may hold another file for a moment. */
	if (!err && (out->payload == STORE_P_HARDLINK ? out->ref
						      : out->a.fid) != n->fid)
		err = -ESTALE;
	if (!err)
		err = fs_resolve_link(fs, t, out);
	if (err == 1) {
		fs_lock(fs);
		n->linked = true;
		fs_unlock(fs);
		err = 0;
	}
	return err;
}

int fs_node_entry(struct fs *fs, struct store_txn *t, struct node *n,
		  struct store_entry *out)
{
	uint64_t seq;
	int err, tries = 0;

	do
		err = node_entry_once(fs, t, n, out, &seq);
	while (retry_moved(fs, t, seq, err, &tries));
	return err;
}

int fs_resolve_link(struct fs *fs, struct store_txn *t, struct store_entry *e)
{
	uint64_t root;
	int err;

	if (e->payload != STORE_P_HARDLINK)
		return 0;
	err = root_tab(fs, t, &root);
	if (!err)
		err = store_link_get(t, root, e->ref, e);
	if (err == -ENOENT)
		err = -EIO; /* a name of an inode that is not there */
	return err ? err : 1;
}

uint64_t fs_file_nlink(const struct store_attr *a)
{
	return a->nlink ? a->nlink : 1;
}

static void ns_to_ts(int64_t ns, struct timespec *ts)
{
	/* floor division: times before 1970 keep 0 <= tv_nsec < 1e9 */
	ts->tv_sec = ns / STORE_NS_PER_S;
	ts->tv_nsec = ns % STORE_NS_PER_S;
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += STORE_NS_PER_S;
	}
}

void fs_attr_to_stat(const struct store_attr *a, uint64_t nlink,
		     struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->fid;
	st->st_mode = a->mode;
	st->st_nlink = nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)fs_blocks_of(a->size);
	ns_to_ts(a->atime_ns, &st->st_atim);
	ns_to_ts(a->mtime_ns, &st->st_mtim);
	ns_to_ts(a->ctime_ns, &st->st_ctim);
}

void fs_stat_blocks(struct store_txn *t, const struct store_entry *e,
		    struct stat *st)
{
	struct store_blob_info bi;

	/* one lookup of the blob's record (its count of hole blocks) */
	if (e->payload == STORE_P_BLOB && !store_blob_stat(t, e->ref, &bi))
		st->st_blocks =
		    (blkcnt_t)(fs_blocks_of(bi.size) - bi.hole_blocks * 8);
}

static int node_stat(struct fs *fs, struct store_txn *t, struct node *n,
		     uint64_t seq, struct stat *out)
{
	struct store_entry e;
	struct store_dir d;
	uint64_t tab;
	bool stale;
	int err;

	if (S_ISDIR(n->mode)) {
		err = fs_dir_tab(fs, t, n, &tab);
		if (!err)
			err = store_dir_stat(t, tab, &d);
		if (!err)
			fs_attr_to_stat(&d.a, 2 + d.nsubdirs, out);
		return err;
	}
	fs_lock(fs);
	if (n->loaded && (n->dirty || n->unlinked || n->nopen)) {
		fs_attr_to_stat(&n->a, n->unlinked ? 0 : fs_file_nlink(&n->a),
				out);
		if (n->buffered)
			out->st_blocks = (blkcnt_t)fs_content_blocks(n);
		fs_unlock(fs);
		return 0;
	}
	stale = atomic_load(&fs->seal_seq) != seq;
	fs_unlock(fs);
	if (stale) { /* clean now, maybe not in t: read what the seal wrote */
		err = txn_refresh(t);
		if (err)
			return err;
	}
	err = fs_node_entry(fs, t, n, &e);
	if (!err) {
		fs_attr_to_stat(&e.a, fs_file_nlink(&e.a), out);
		fs_stat_blocks(t, &e, out);
	}
	return err;
}

int fs_node_stat(struct fs *fs, struct store_txn *t, struct node *n,
		 uint64_t seq, struct stat *out)
{
	int err = node_stat(fs, t, n, seq, out);

	if (!err)
		fs_atime_stat(fs, n, out);
	return err;
}
