/* SPDX-License-Identifier: MIT */
/*
 * reclaim.c - the daemon gives back the space of blobs nobody references
 * (store_reclaim), without a manual gc: a thread looks every
 * RECLAIM_POLL_MS whether this daemon has dropped RECLAIM_DUE_BYTES of
 * content since the last pass (a file rewritten in a loop), and otherwise
 * passes every RECLAIM_PERIOD_S (content other processes dropped, pins of
 * dead importers). Garbage is bounded by what the daemon drops in a poll
 * and the minimum age, and LMDB reuses the freed pages, so data.mdb stays
 * near the live size. Each batch is its own write txn under fs->wlock, so
 * requests interleave; a blob must have been at 0 for RECLAIM_MIN_AGE_MS
 * (a request that read an entry just before a seal replaced it still
 * finds the old blob in its txn). Each pass then rewrites the pack files
 * whose live bytes fell under STORE_REPACK_PCT (moving inline records of
 * an older store too), STORE_REPACK_BUDGET bytes per txn, and unlinks the
 * emptied files no reader can see (store_repack, store_pfile_sweep).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fs_internal.h"

#define RECLAIM_POLL_MS	   100
#define RECLAIM_PERIOD_S   5
#define RECLAIM_DUE_BYTES  (1ull << 20)
#define RECLAIM_MIN_AGE_MS 100
#define RECLAIM_BATCH	   256

/* One pass: batches until no candidate is left (or stopping). */
static void reclaim_pass(struct fs *fs)
{
	struct fs_reclaim *r = &fs->reclaim;
	struct store_reclaim_stats rs = {0};
	struct store_repack_stats ps = {0};
	uint64_t bytes = 0;
	unsigned files = 0;
	int more;

	do {
		pthread_mutex_lock(&fs->wlock);
		more = store_reclaim(fs->st, RECLAIM_MIN_AGE_MS * 1000000ll,
				     RECLAIM_BATCH, &rs);
		pthread_mutex_unlock(&fs->wlock);
	} while (more > 0 && !atomic_load(&r->stopping));
	/* then pack files: rewrite the sparse ones, a budget per txn */
	while (more >= 0 && !atomic_load(&r->stopping)) {
		pthread_mutex_lock(&fs->wlock);
		more = store_repack(fs->st, STORE_REPACK_PCT,
				    STORE_REPACK_BUDGET, true, &ps);
		pthread_mutex_unlock(&fs->wlock);
		if (more <= 0)
			break;
	}
	if (more >= 0) {
		pthread_mutex_lock(&fs->wlock);
		more = store_pfile_sweep(fs->st, &files, &bytes);
		pthread_mutex_unlock(&fs->wlock);
	}
	if (more < 0) {
		atomic_fetch_add(&r->errors, 1);
		fprintf(stderr, "blastfs: cannot reclaim space: %s\n",
			strerror(-more));
	}
	atomic_fetch_add(&r->passes, 1);
	atomic_fetch_add(&r->blobs, rs.blobs_freed);
	atomic_fetch_add(&r->bytes, rs.bytes_freed);
	atomic_fetch_add(&r->repacked, ps.moved_bytes);
	atomic_fetch_add(&r->files_removed, files);
}

static void *reclaim_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_reclaim *r = &fs->reclaim;
	struct timespec ts;
	unsigned ticks = 0;

	pthread_mutex_lock(&r->mu);
	while (!atomic_load(&r->stopping)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += RECLAIM_POLL_MS * 1000000l;
		if (ts.tv_nsec >= STORE_NS_PER_S) {
			ts.tv_sec++;
			ts.tv_nsec -= STORE_NS_PER_S;
		}
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		if (atomic_load(&r->stopping))
			break;
		ticks++;
		if (store_reclaim_due(fs->st) < RECLAIM_DUE_BYTES &&
		    ticks < RECLAIM_PERIOD_S * 1000 / RECLAIM_POLL_MS)
			continue;
		ticks = 0;
		pthread_mutex_unlock(&r->mu);
		reclaim_pass(fs);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

void fs_reclaim_final(struct fs *fs)
{
	struct store_reclaim_stats rs = {0};
	struct store_repack_stats ps = {0};
	int more;

	/* no request runs any more: no minimum age */
	pthread_mutex_lock(&fs->wlock);
	while ((more = store_reclaim(fs->st, 0, RECLAIM_BATCH, &rs)) > 0)
		;
	if (more >= 0)
		more =
		    store_give_back(fs->st, STORE_REPACK_PCT, &ps, NULL, NULL);
	pthread_mutex_unlock(&fs->wlock);
	if (more < 0)
		fprintf(stderr, "blastfs: cannot reclaim space: %s\n",
			strerror(-more));
}

int fs_reclaim_start(struct fs *fs)
{
	struct fs_reclaim *r = &fs->reclaim;

	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	atomic_store(&r->stopping, false);
	if (pthread_create(&r->thread, NULL, reclaim_main, fs))
		return -EAGAIN;
	r->started = true;
	return 0;
}

void fs_reclaim_stop(struct fs *fs)
{
	struct fs_reclaim *r = &fs->reclaim;

	if (!r->started)
		return;
	pthread_mutex_lock(&r->mu);
	atomic_store(&r->stopping, true);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	r->started = false;
}
