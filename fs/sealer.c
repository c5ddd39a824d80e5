/* SPDX-License-Identifier: MIT */
/*
 * sealer.c - seals written files in the background. The kernel does not
 * say when a file opened without an OPEN is closed (io.c), so a file is
 * sealed once no write has touched it for SEAL_IDLE_MS (a creating
 * handle's RELEASE, where the kernel sends one, still seals at once, but
 * a small file's is left to the next pass: seal_soon, sealed in a group
 * with the others, fs_seal_small),
 * once it has been dirty for SEAL_AGE_MS however busy, and at once when its
 * unsealed writes keep an old write log generation alive. Until then its writes
 * are in memory and in the write log (wlog.c). After a pass the log is tidied,
 * and the blobs of freed unlinked nodes are unpinned. A clean node turning
 * dirty always kicks it (io.c), and it passes every tick while any node is
 * dirty: a file up to 8 MiB is sealed within SEAL_AGE_MS of its last write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_internal.h"

#define SEAL_IDLE_MS 100
#define SEAL_AGE_MS  2000
#define TICK_NS	     (50 * 1000000LL)

void fs_sealer_kick(struct fs *fs)
{
	struct fs_sealer *s = &fs->sealer;

	pthread_mutex_lock(&s->mu);
	if (!s->kicked) { /* wakes the sealer only from its idle wait */
		s->kicked = true;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

void fs_sealer_unpin_later(struct fs *fs, uint64_t blob)
{
	struct fs_sealer *s = &fs->sealer;

	FS_ASSERT_LOCKED(fs);
	if (s->nunpins == s->capunpins) {
		size_t cap = s->capunpins ? s->capunpins * 2 : 16;
		uint64_t *p = realloc(s->unpins, cap * sizeof(*p));

		if (!p)
			return; /* the pin stays until the next start */
		s->unpins = p;
		s->capunpins = cap;
	}
	s->unpins[s->nunpins++] = blob;
}

static void unpin_freed(struct fs *fs)
{
	struct fs_sealer *s = &fs->sealer;
	struct store_txn *t;
	uint64_t *v;
	size_t n;

	fs_lock(fs);
	v = s->unpins;
	n = s->nunpins;
	s->unpins = NULL;
	s->nunpins = s->capunpins = 0;
	fs_unlock(fs);
	if (!n)
		return;
	pthread_mutex_lock(&fs->wlock);
	if (!store_txn_begin(fs->st, true, &t)) {
		int err = 0;

		for (size_t i = 0; i < n && !err; i++)
			err = store_unpin(t, v[i]);
		if (err)
			store_txn_abort(t);
		else
			store_txn_commit(t);
	}
	pthread_mutex_unlock(&fs->wlock);
	free(v);
}

/* Should n be sealed now? Under fs->lock. */
static bool due(struct fs *fs, struct node *n, int64_t now,
		enum fs_seal_how how, bool *idle)
{
	FS_ASSERT_LOCKED(fs);
	if (!n || !n->dirty || n->unlinked || n->sealing || n->in_seal)
		return false;
	*idle = n->nwrite == 0 &&
		(n->seal_soon || now - n->wlast_ns >= fs->sealer.idle_ns);
	if (how != FS_SEAL_DUE || *idle)
		return true;
	/* a large file is not sealed again and again while it grows: each
	 * seal hashes all of it; its writes stay in the log until it pauses */
	return !fs_content_large(n) &&
	       (now - n->dirty_ns >= fs->sealer.age_ns ||
		fs_wlog_pressed(fs, n->dgen));
}

/* A package file (pkg.c) counts once its writer has closed it: is it
 * (or a package file waiting for that) among the nodes? Under fs->lock. */
static bool pkg_file(struct fs *fs, struct node *n)
{
	struct node *p;

	if (n->pkg_pending)
		return true;
	p = n->unlinked ? NULL : fs_node_get(fs, n->parent);
	return p && fs_pkg_watched(p->name, n->name);
}

/* Mark the nodes open for writing (n->wopen), asking /proc. */
static void note_writers(struct fs *fs, bool final)
{
	struct fs_wopen w = {0};
	bool known = !final && fs_wopen_scan(fs, &w) == 0;

	fs_lock(fs);
	for (uint64_t i = 1; i < fs->next_nodeid; i++) {
		struct node *n = fs_node_get(fs, i);

		if (n && !S_ISDIR(n->mode))
			/* unknown: only the handles blastfs counts */
			n->wopen = known && fs_wopen_has(&w, n->fid);
	}
	fs_unlock(fs);
	fs_wopen_release(&w);
}

static int run(struct fs *fs, enum fs_seal_how how)
{
	int64_t now = fs_now_ns();
	uint64_t *ids = NULL;
	struct node **nodes = NULL;
	bool *small = NULL;
	size_t n = 0, cap = 0;
	bool pkg = false, pend = false, left = false;
	int first = 0;

	fs_lock(fs);
	for (uint64_t i = 1; i < fs->next_nodeid; i++) {
		struct node *x = fs_node_get(fs, i);
		bool idle = false, go = due(fs, x, now, how, &idle);

		if (x && x->dirty && !x->unlinked && !go)
			left = true;
		if (!go && !(x && x->pkg_pending))
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			uint64_t *p = realloc(ids, c * sizeof(*p));

			if (!p) {
				first = -ENOMEM;
				break;
			}
			ids = p;
			cap = c;
		}
		x->nopen++; /* kept while we work on it */
		ids[n++] = i << 1 | (idle ? 1 : 0);
		if (go)
			pkg = pkg || pkg_file(fs, x);
		else
			pend = true;
	}
	fs_unlock(fs);
	/* a package file still open when last asked is asked again once a
	 * second (its wopen stays meanwhile) */
	if (pkg || (pend && (how != FS_SEAL_DUE ||
			     now - fs->sealer.scan_ns >= STORE_NS_PER_S))) {
		note_writers(fs, how == FS_SEAL_FINAL);
		fs->sealer.scan_ns = now;
	}
	nodes = n ? calloc(n, sizeof(*nodes)) : NULL;
	small = n ? calloc(n, sizeof(*small)) : NULL;
	if (nodes && small) {
		fs_lock(fs);
		for (size_t k = 0; k < n; k++)
			nodes[k] = fs_node_get(fs, ids[k] >> 1);
		fs_unlock(fs);
		fs_seal_small(fs, nodes, n, small);
	}
	for (size_t k = 0; k < n; k++) {
		struct node *x;
		bool idle = ids[k] & 1, pending;
		int err;

		fs_lock(fs);
		x = fs_node_get(fs, ids[k] >> 1);
		fs_unlock(fs);
		err = small && small[k] ? 0 : fs_seal(fs, x);
		if (err) {
			atomic_fetch_add(&fs->sealer.errors, 1);
			fprintf(stderr, "blastfs: cannot seal a file: %s\n",
				strerror(-err));
		}
		fs_lock(fs);
		pending = !err && !x->dirty && x->pkg_pending && !x->wopen &&
			  x->nwrite == 0;
		fs_unlock(fs);
		if (pending)
			err = fs_pkg_released(fs, x);
		if (err && !first)
			first = err;
		fs_lock(fs);
		x->nopen--;
		if (x->dirty || x->pkg_pending)
			left = true;
		else if ((idle || fs_content_over(fs)) && x->nwrite == 0 &&
			 x->payload == STORE_P_BLOB && x->buffered)
			fs_content_drop(fs, x); /* reads go to the store */
		fs_node_forget(fs, x, 0);
		fs_unlock(fs);
	}
	free(ids);
	free(nodes);
	free(small);
	fs->sealer.left = left;
	if (how == FS_SEAL_FINAL) {
		/* unmount: the access times too (sync and save flush them
		 * themselves; a load must not: an atime is no unsaved change)
		 */
		int err = fs_atime_flush(fs);

		if (err && !first)
			first = err;
	}
	if (how != FS_SEAL_DUE) {
		/* a METADATA judged at a RELEASE (served opens) is no longer
		 * pkg_pending but committed only when its wlock is let go:
		 * the asker sees it */
		pthread_mutex_lock(&fs->wlock);
		pthread_mutex_unlock(&fs->wlock);
	}
	return first;
}

int fs_sealer_run(struct fs *fs, enum fs_seal_how how)
{
	int err;

	/* a seal asked on the control socket (check, save) waits for the
	 * sealer's pass in progress: that pass may be judging a METADATA
	 * (n->pkg_pending already cleared, its txn not yet committed) the
	 * asker would otherwise not wait for; and two passes scanning /proc
	 * at once could leave the older scan's n->wopen */
	pthread_mutex_lock(&fs->sealer.run_mu);
	err = run(fs, how);
	pthread_mutex_unlock(&fs->sealer.run_mu);
	return err;
}

/* Wait until deadline (CLOCK_REALTIME), or until stopping. Under s->mu. */
static void wait_until(struct fs_sealer *s, const struct timespec *deadline)
{
	while (!s->stopping &&
	       pthread_cond_timedwait(&s->cv, &s->mu, deadline) != ETIMEDOUT)
		;
}

static void *sealer_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_sealer *s = &fs->sealer;
	bool left = false;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		if (!left && !s->kicked) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		/* at most one pass a tick, however many files became dirty:
		 * a pass walks the node table */
		{
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += TICK_NS;
			ts.tv_sec += ts.tv_nsec / STORE_NS_PER_S;
			ts.tv_nsec %= STORE_NS_PER_S;
			wait_until(s, &ts);
		}
		if (s->stopping)
			break;
		s->kicked = false;
		pthread_mutex_unlock(&s->mu);
		fs_sealer_run(fs, FS_SEAL_DUE);
		left = fs->sealer.left;
		unpin_freed(fs);
		if (fs_wlog_tidy(fs))
			fprintf(stderr, "blastfs: cannot start a new write "
					"log file\n");
		atomic_fetch_add(&s->passes, 1);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int fs_sealer_start(struct fs *fs)
{
	struct fs_sealer *s = &fs->sealer;

	s->idle_ns = fs_knob_ns("BLASTFS_SEAL_IDLE_MS", SEAL_IDLE_MS);
	s->age_ns = fs_knob_ns("BLASTFS_SEAL_AGE_MS", SEAL_AGE_MS);
	if (pthread_create(&s->thread, NULL, sealer_main, fs))
		return -EAGAIN;
	s->started = true;
	return 0;
}

void fs_sealer_stop(struct fs *fs)
{
	struct fs_sealer *s = &fs->sealer;

	if (!s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->started = false;
	unpin_freed(fs);
	free(s->unpins);
	s->unpins = NULL;
}
