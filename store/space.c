/* SPDX-License-Identifier: MIT */
/*
 * space.c - disk blocks behind the writable map. With MDB_WRITEMAP, LMDB
 * writes new pages straight into a sparse data.mdb: on a full filesystem
 * the first store to a page with no block behind it is SIGBUS. So blocks
 * are fallocate()d ahead of LMDB: up to the high-water mark plus a base
 * reserve when a write txn begins, and further before each put or delete,
 * by an upper bound on the pages it can allocate. A failed fallocate is
 * -ENOSPC for that call, before LMDB has touched anything. The next write
 * txn gives back what a large one reserved and did not use.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "store_internal.h"

/* Covers what a commit writes beyond its puts and deletes: the freelist
 * save, the main db's records of up to DB__COUNT named dbs, and the
 * mdb_dbi_open(MDB_CREATE) puts of a new store. */
#define SPACE_BASE (1ull << 20)
/* fallocate in steps of this (fewer calls; blocks LMDB soon uses) */
#define SPACE_STEP (1ull << 20)
/* reserved blocks past the base reserve kept from one txn to the next */
#define SPACE_SLACK (4ull << 20)
/* lock.mdb: the reader table of STORE_MAX_READERS slots is ~33 KiB */
#define LOCK_EXTENT (64 * 1024)

int store_space_lockfile(const char *home, bool *can_alloc)
{
	char path[PATH_MAX];
	int fd, err = 0;

	*can_alloc = false;
	if (snprintf(path, sizeof(path), "%s/lock.mdb", home) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	/* not O_EXCL: it outlives every process; O_NOFOLLOW all the same */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		/* read-only media: LMDB will say so, or manage without */
		return errno == EROFS || errno == EACCES ? 0 : -errno;
	/* the reader table is written through a shared map too; KEEP_SIZE:
	 * LMDB sizes the file itself (a larger one means more readers,
	 * which processes that mapped the old size would not see) */
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, LOCK_EXTENT) == 0)
		*can_alloc = true;
	else if (errno != EOPNOTSUPP)
		err = -errno;
	/* no LMDB env of this store is open in this process yet, so this
	 * close drops no fcntl lock LMDB holds */
	close(fd);
	return err;
}

int store_space_open(struct store *st, bool writemap)
{
	int fd;

	if (!writemap)
		return 0;
	if (mdb_env_get_fd(st->env, &fd))
		return -EIO;
	st->space_fd = fd;
	return 0;
}

/* Blocks for data.mdb's bytes [0, end) exist (those below the high-water
 * mark hw hold data already). */
static int space_alloc(struct store *st, uint64_t hw, uint64_t end)
{
	uint64_t from;

	pthread_mutex_lock(&st->space_lock);
	if (end <= st->space_end) {
		pthread_mutex_unlock(&st->space_lock);
		return 0;
	}
	from = st->space_end > hw ? st->space_end : hw;
	end = (end + SPACE_STEP - 1) / SPACE_STEP * SPACE_STEP;
	if (fallocate(st->space_fd, FALLOC_FL_KEEP_SIZE, (off_t)from,
		      (off_t)(end - from)) < 0) {
		int err = -errno;

		pthread_mutex_unlock(&st->space_lock);
		return err;
	}
	st->space_end = end;
	pthread_mutex_unlock(&st->space_lock);
	return 0;
}

/* At a write txn's start, the writer lock held: give back the blocks
 * this process reserved past the high-water mark and the base reserve
 * (a large txn's bound on the pages it could allocate, mostly unused:
 * blocks du would count for nothing), and trust no reservation of an
 * earlier txn (another process may have given its blocks back). */
static void space_renew(struct store *st, uint64_t hw)
{
	uint64_t keep =
	    (hw + SPACE_BASE + SPACE_STEP - 1) / SPACE_STEP * SPACE_STEP;

	pthread_mutex_lock(&st->space_lock);
	if (st->space_end > keep + SPACE_SLACK)
		(void)fallocate(st->space_fd,
				FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)keep, (off_t)(st->space_end - keep));
	st->space_end = 0;
	pthread_mutex_unlock(&st->space_lock);
}

int store_space_begin(struct store_txn *t)
{
	struct store *st = t->st;
	MDB_envinfo info;
	MDB_stat ms;

	if (st->space_fd < 0)
		return 0;
	/* the writer lock is ours: no commit moves the high-water mark */
	mdb_env_info(st->env, &info);
	mdb_env_stat(st->env, &ms);
	t->psize = ms.ms_psize;
	t->hw = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	t->charged = 0;
	space_renew(st, t->hw);
	return space_alloc(st, t->hw, t->hw + SPACE_BASE);
}

int store_space_charge(struct store_txn *t, enum store_db d, size_t vlen)
{
	MDB_stat ms;
	uint64_t pages;

	if (t->st->space_fd < 0)
		return 0;
	if (mdb_stat(t->txn, sdb(t, d), &ms))
		ms.ms_depth = 8;
	/* copy-on-write of the path, a split at every level and a new
	 * root, the main db's path to this db's record (depth <= 2), and
	 * the value's overflow pages */
	pages = 2 * ((uint64_t)ms.ms_depth + 2) + 4 +
		(vlen + 2 * t->psize - 1) / t->psize;
	t->charged += pages * t->psize;
	/* the freelist saved at commit: 8 bytes per page, counted twice */
	return space_alloc(t->st, t->hw,
			   t->hw + SPACE_BASE + t->charged + t->charged / 256);
}
