/* SPDX-License-Identifier: MIT */
/*
 * shrink.c - store_shrink_index: data.mdb replaced by a compacted copy
 * (LMDB's MDB_CP_COMPACT: no free pages) while no other process has the
 * store open. LMDB never gives back a page the file once needed: after an
 * import's churn (every batch rewrites the hash-keyed trees) or a day of
 * rewrites, a third of data.mdb or more is free pages that du counts.
 *
 * Every store_open holds a shared flock on lock.mdb (store.c); this takes
 * it exclusive, so nobody maps the old file while it is swapped, and
 * openers wait the copy's few hundred ms. The copy restarts LMDB's txn
 * ids at 1, and dead pack files wait for txn ids (pfile.c), so it is made
 * only when none is left after a sweep. A crash leaves the old data.mdb
 * or the new one (rename), and at worst a stale data.mdb.compact that the
 * next run removes.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

#define SHRINK_SWEEPS 64 /* sweeps to empty the dead files (64 each) */

/* 1 if some pack file waits to be unlinked, 0 if none, -errno */
static int dead_pfiles(struct store *st)
{
	struct store_txn *t;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, err, dead = 0;

	err = store_txn_begin(st, false, &t);
	if (err)
		return err;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_PFILES), &cur);
	if (rc) {
		store_txn_abort(t);
		return store_mdb_err(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && !dead;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		dead = v.mv_size == 24 &&
		       get_le64((const unsigned char *)v.mv_data + 16) != 0;
	mdb_cursor_close(cur);
	store_txn_abort(t);
	return rc && rc != MDB_NOTFOUND ? store_mdb_err(rc) : dead;
}

static uint64_t disk_bytes(const char *path)
{
	struct stat sb;

	return stat(path, &sb) < 0 ? 0 : (uint64_t)sb.st_blocks * 512;
}

/* The copy, in home/data.mdb.compact, durable. */
static int copy_compact(struct store *st, const char *tmp)
{
	int fd, err;

	if (unlink(tmp) < 0 && errno != ENOENT)
		return -errno;
	fd = store_home_open(tmp, O_WRONLY | O_CREAT, 0600);
	if (fd < 0)
		return fd;
	err = store_mdb_err(mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT));
	if (!err && fsync(fd) < 0)
		err = -errno;
	close(fd);
	if (err)
		unlink(tmp);
	return err;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

int store_shrink_index(struct store *st, uint64_t *saved)
{
	char data[PATH_MAX], tmp[PATH_MAX];
	uint64_t before;
	int err, err2;

	*saved = 0;
	if ((st->flags & STORE_READONLY) || st->open_fd < 0)
		return -EROFS;
	if (snprintf(data, sizeof(data), "%s/data.mdb", st->path) >=
		(int)sizeof(data) ||
	    snprintf(tmp, sizeof(tmp), "%s/data.mdb.compact", st->path) >=
		(int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (flock(st->open_fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		/* a failed conversion may have dropped the shared lock */
		while (flock(st->open_fd, LOCK_SH) < 0)
			if (errno != EINTR)
				return -errno;
		return err;
	}
	/* alone: no reader holds an old snapshot, dead files go now (a
	 * sweep removes up to 64) */
	for (int i = 0; i < SHRINK_SWEEPS; i++) {
		err = store_give_back(st, 0, &(struct store_repack_stats){0},
				      NULL, NULL);
		if (!err)
			err = dead_pfiles(st);
		if (err <= 0)
			break;
	}
	if (err > 0)
		err = -EAGAIN; /* an unlink failed: the next run retries */
	before = disk_bytes(data);
	if (!err)
		err = copy_compact(st, tmp);
	if (!err) {
		mdb_env_close(st->env);
		st->env = NULL;
		st->space_fd = -1;
		if (rename(tmp, data) < 0) {
			err = -errno;
			unlink(tmp);
		} else {
			err = fsync_dir(st->path);
		}
		/* the new file or, if the rename failed, the old one */
		err2 = store_env_open(st);
		if (!err)
			err = err2;
	}
	if (!err && before > disk_bytes(data))
		*saved = before - disk_bytes(data);
	while (flock(st->open_fd, LOCK_SH) < 0)
		if (errno != EINTR)
			return err ? err : -errno;
	return err;
}
