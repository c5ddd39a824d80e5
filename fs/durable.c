/* SPDX-License-Identifier: MIT */
/*
 * durable.c - group commit of durability. The daemon's commits are cheap
 * (MDB_NOSYNC | MDB_WRITEMAP: no write and no sync per commit, and every
 * change is serialized under fs->wlock in the requesting thread, so there
 * is no hand-off to a writer thread); what makes them durable is
 * store_sync (msync + fdatasync of data.mdb), the expensive part. So that
 * is what is grouped: fs_durable() returns once everything committed
 * before the call is on disk, and concurrent callers share syncs. A
 * caller takes a ticket; a sync covers every ticket taken before it
 * started, so a caller that arrives while a sync runs waits for it and
 * then for at most one more, which serves every caller that came
 * meanwhile.
 */
#include <errno.h>

#include "fs_internal.h"

void fs_durable_init(struct fs *fs)
{
	pthread_mutex_init(&fs->dur.mu, NULL);
	pthread_cond_init(&fs->dur.cv, NULL);
}

int fs_durable(struct fs *fs)
{
	struct fs_durable *d = &fs->dur;
	uint64_t ticket, upto;
	int err = 0;

	pthread_mutex_lock(&d->mu);
	ticket = ++d->asked;
	d->requests++;
	while (d->done < ticket) {
		if (d->running) {
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		upto = d->asked;
		d->running = true;
		pthread_mutex_unlock(&d->mu);
		err = store_sync(fs->st);
		pthread_mutex_lock(&d->mu);
		d->running = false;
		if (err) {
			d->fail_lo = d->done + 1;
			d->fail_hi = upto;
			d->fail_err = err;
		}
		d->done = upto;
		d->syncs++;
		pthread_cond_broadcast(&d->cv);
	}
	if (ticket >= d->fail_lo && ticket <= d->fail_hi)
		err = d->fail_err;
	else
		err = 0;
	pthread_mutex_unlock(&d->mu);
	return err;
}
