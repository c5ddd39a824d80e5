/* SPDX-License-Identifier: MIT */
/*
 * reclaim.c - background freeing of unreferenced blobs. The zeroref
 * database holds exactly the blobs at refcount 0 (written in the txn that
 * creates a blob or drops its last reference, removed in the one that
 * references it again), with the time each got there, so reclaim visits
 * only candidates instead of every blob, and frees those still at 0 that
 * no live process pins, in small write txns.
 */
#include <stdio.h>

#include "store_internal.h"
#include "u64map.h"

static void zeroref_key(unsigned char kb[8], uint64_t id)
{
	put_be64(kb, id);
}

int store_zeroref_add(struct store_txn *t, uint64_t id)
{
	unsigned char kb[8], vb[8];
	MDB_val k = {8, kb}, v = {8, vb};

	zeroref_key(kb, id);
	put_le64(vb, (uint64_t)store_now_ns());
	return store_put(t, DB_ZEROREF, &k, &v, 0);
}

int store_zeroref_del(struct store_txn *t, uint64_t id)
{
	unsigned char kb[8];
	MDB_val k = {8, kb};
	int err;

	zeroref_key(kb, id);
	err = store_del(t, DB_ZEROREF, &k);
	return err == -ENOENT ? 0 : err;
}

int store_zeroref_build(struct store_txn *t)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, err = 0;

	rc = mdb_drop(t->txn, sdb(t, DB_ZEROREF), 0);
	if (rc)
		return store_mdb_err(rc);
	rc = mdb_cursor_open(t->txn, sdb(t, DB_BLOBS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (k.mv_size == 8 && v.mv_size >= 24 &&
		    get_le64((const unsigned char *)v.mv_data + 16) == 0)
			err = store_zeroref_add(t, get_be64(k.mv_data));
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

/* Up to max ids of zeroref entries at least min_age_ns old and not pinned
 * into ids; *more tells whether candidates were left for a later batch. */
static int reclaim_candidates(struct store_txn *t, int64_t min_age_ns,
			      const struct u64map *pinned, uint64_t *ids,
			      size_t max, size_t *n, bool *more)
{
	int64_t now = store_now_ns();
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	*more = false;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_ZEROREF), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || v.mv_size != 8)
			continue; /* verify reports it */
		if (now - (int64_t)get_le64(v.mv_data) < min_age_ns ||
		    u64map_find(pinned, get_be64(k.mv_data)))
			continue;
		if (*n == max) {
			*more = true;
			break;
		}
		ids[(*n)++] = get_be64(k.mv_data);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

/* Free candidate id (unpinned) unless it is referenced again. */
static int reclaim_one(struct store_txn *t, uint64_t id,
		       struct store_reclaim_stats *rs)
{
	struct store_blob_info bi;
	uint64_t stored = 0;
	int err;

	err = store_blob_stat(t, id, &bi);
	if (err == -EIO) /* no such blob: a stale entry (verify names it) */
		return store_zeroref_del(t, id);
	if (err)
		return err;
	if (bi.refcount)
		return store_zeroref_del(t, id);
	err = store_blob_delete(t, id, &stored);
	if (err)
		return err;
	rs->blobs_freed++;
	rs->bytes_freed += stored;
	return 0;
}

/* One write txn: free up to max candidates; *more if some were left. */
static int reclaim_batch(struct store *st, int64_t min_age_ns, size_t max,
			 struct store_reclaim_stats *rs, bool *more)
{
	struct store_gc_stats gs = {0};
	struct store_reclaim_stats b = {0};
	struct u64map pinned;
	struct store_txn *t;
	uint64_t *ids;
	size_t n = 0, i;
	int err;

	ids = store_calloc(max, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	u64map_init(&pinned);
	err = store_txn_begin(st, true, &t);
	if (err)
		goto out_free;
	err = store_gc_pins(t, &pinned, &gs);
	if (!err)
		err = reclaim_candidates(t, min_age_ns, &pinned, ids, max, &n,
					 more);
	for (i = 0; !err && i < n; i++)
		err = reclaim_one(t, ids[i], &b);
	if (err)
		store_txn_abort(t);
	else if (!n && !gs.pins_dropped)
		store_txn_abort(t); /* nothing changed: no commit to write */
	else
		err = store_txn_commit(t);
	if (!err) {
		rs->blobs_freed += b.blobs_freed;
		rs->bytes_freed += b.bytes_freed;
		rs->pins_dropped += gs.pins_dropped;
	}
out_free:
	u64map_release(&pinned);
	free(ids);
	return err;
}

int store_reclaim(struct store *st, int64_t min_age_ns, size_t batch,
		  struct store_reclaim_stats *stats)
{
	bool more = false;
	int err;

	if (!batch)
		return -EINVAL;
	if (st->no_zeroref)
		return -EROFS;
	atomic_store(&st->zeroref_due, 0);
	err = reclaim_batch(st, min_age_ns, batch, stats, &more);
	return err ? err : more;
}

int store_reclaim_pending(struct store_txn *t, uint64_t *out)
{
	MDB_stat ms;
	int rc;

	if (t->st->no_zeroref)
		return -EROFS;
	rc = mdb_stat(t->txn, sdb(t, DB_ZEROREF), &ms);
	if (rc)
		return store_mdb_err(rc);
	*out = ms.ms_entries;
	return 0;
}

uint64_t store_reclaim_due(struct store *st)
{
	return atomic_load(&st->zeroref_due);
}

static void zeroref_problem(store_report_fn fn, void *arg, unsigned *problems,
			    uint64_t id, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "blob %llu: %s", (unsigned long long)id,
		 what);
	fn(arg, msg);
	(*problems)++;
}

int store_zeroref_check(struct store_txn *t, store_report_fn fn, void *arg,
			unsigned *problems)
{
	MDB_cursor *cur;
	MDB_val k, v, zk, zv;
	int rc;

	if (t->st->no_zeroref) /* an older store opened read-only */
		return 0;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_BLOBS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || v.mv_size < 24 ||
		    get_le64((const unsigned char *)v.mv_data + 16))
			continue;
		zk = k;
		if (store_get(t, DB_ZEROREF, &zk, &zv))
			zeroref_problem(fn, arg, problems, get_be64(k.mv_data),
					"refcount 0 but not in the reclaim "
					"index (gc rebuilds it)");
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	rc = mdb_cursor_open(t->txn, sdb(t, DB_ZEROREF), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || v.mv_size != 8) {
			zeroref_problem(fn, arg, problems, 0,
					"malformed reclaim index record");
			continue;
		}
		zk = k;
		if (store_get(t, DB_BLOBS, &zk, &zv) || zv.mv_size < 24 ||
		    get_le64((const unsigned char *)zv.mv_data + 16))
			zeroref_problem(fn, arg, problems, get_be64(k.mv_data),
					"in the reclaim index but missing or "
					"referenced (gc rebuilds it)");
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}
