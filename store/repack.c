/* SPDX-License-Identifier: MIT */
/*
 * repack.c - space given back: pack files whose live bytes fell under a
 * fraction of their length have their live records copied to the current
 * file (the records then point there; the old file's live count drops to
 * 0, it is marked dead and store_pfile_sweep unlinks it once no reader can
 * see it). The same pass moves the bytes a store made before format 3
 * keeps inside LMDB records out to pack files. Work is done in write txns
 * of at most `budget` moved bytes, so writers wait little; a crash between
 * two leaves every record pointing at bytes that exist.
 */
#include <inttypes.h>
#include <stdio.h>

#include "store_internal.h"
#include "u64map.h"

/* Keys of the records one pass moves. */
struct keys {
	unsigned char (*k)[12];
	size_t n, cap;
	uint64_t bytes;
};

static int keys_add(struct keys *l, const MDB_val *k, uint64_t bytes)
{
	if (k->mv_size > 12)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *p = store_realloc(l->k, cap * sizeof(*l->k));

		if (!p)
			return -ENOMEM;
		l->k = p;
		l->cap = cap;
	}
	memset(l->k[l->n], 0, 12);
	memcpy(l->k[l->n++], k->mv_data, k->mv_size);
	l->bytes += bytes;
	return 0;
}

/* Bytes a record of db (hdr bytes of header, codec first) would move, 0
 * when it stays. */
static uint64_t to_move(const MDB_val *v, size_t hdr, bool chunks,
			const struct u64map *cand, bool migrate)
{
	const unsigned char *b = v->mv_data;
	uint32_t file, len;
	uint64_t off;

	if (v->mv_size < hdr)
		return 0;
	if (b[0] & CODEC_EXT) {
		if (v->mv_size != hdr + STORE_PFREF_LEN)
			return 0;
		store_pfref_decode(b + hdr, &file, &off, &len);
		return u64map_find(cand, file) ? (len ? len : 1) : 0;
	}
	if (!migrate || (chunks && (b[0] & ~CODEC_COMPACTED) == CODEC_PACK))
		return 0;
	if (chunks && v->mv_size - hdr <= STORE_CHUNK_INLINE_MAX)
		return 0;
	return v->mv_size - hdr;
}

/* Move one record (key k of db) to the current pack file. */
static int move_one(struct store_txn *t, enum store_db db, size_t klen,
		    const unsigned char *kb, size_t hdr)
{
	unsigned char nv[PACK_RECORD_HDR + STORE_PFREF_LEN];
	unsigned char old[STORE_PFREF_LEN];
	MDB_val k = {klen, (void *)kb}, v, w;
	const unsigned char *b, *data;
	bool ext;
	size_t len;
	int err;

	err = store_get(t, db, &k, &v);
	if (err)
		return err == -ENOENT ? 0 : err;
	b = v.mv_data;
	ext = b[0] & CODEC_EXT;
	memcpy(nv, b, hdr);
	nv[0] |= CODEC_EXT;
	if (ext) {
		memcpy(old, b + hdr, STORE_PFREF_LEN);
		err = store_pfile_read(t, old, &data, &len);
	} else {
		data = b + hdr;
		len = v.mv_size - hdr;
	}
	if (!err)
		err = store_pfile_append(t, data, len, nv + hdr);
	if (!err && ext)
		err = store_pfile_free(t, old);
	if (err)
		return err;
	w.mv_size = hdr + STORE_PFREF_LEN;
	w.mv_data = nv;
	if (!ext) { /* shrinks: delete first (see store_chunk_put) */
		err = store_del(t, db, &k);
		if (err)
			return err;
	}
	return store_put(t, db, &k, &w, 0);
}

/* Move the records of db that point into cand (or are inline, when
 * migrating), up to budget bytes; *more when some are left. */
static int move_db(struct store_txn *t, enum store_db db, size_t hdr,
		   const struct u64map *cand, bool migrate, uint64_t budget,
		   struct store_repack_stats *s, bool *more)
{
	struct keys l = {0};
	MDB_cursor *cur;
	MDB_val k, v;
	size_t klen = db == DB_CHUNKS ? 12 : 8;
	int rc, err = 0;

	rc = mdb_cursor_open(t->txn, sdb(t, db), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t n =
		    k.mv_size == klen
			? to_move(&v, hdr, db == DB_CHUNKS, cand, migrate)
			: 0;

		if (!n)
			continue;
		if (l.bytes >= budget) {
			*more = true;
			break;
		}
		err = keys_add(&l, &k, n);
	}
	mdb_cursor_close(cur);
	if (!err && rc && rc != MDB_NOTFOUND)
		err = store_mdb_err(rc);
	for (size_t i = 0; i < l.n && !err; i++)
		err = move_one(t, db, klen, l.k[i], hdr);
	if (!err) {
		s->moved_bytes += l.bytes;
		s->records += l.n;
	}
	free(l.k);
	return err;
}

/* Candidates: files other than the current one with live under pct %;
 * an empty one is marked dead here. */
static int candidates(struct store_txn *t, unsigned pct, struct u64map *cand,
		      struct store_repack_stats *s)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t cur_file = 0;
	int rc, err;

	err = store_meta_get_u64(t, "pfile_cur", &cur_file);
	if (err && err != -ENOENT)
		return err;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_PFILES), &cur);
	if (rc)
		return store_mdb_err(rc);
	err = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *b = v.mv_data;
		uint64_t end, live, *slot;
		uint32_t file;

		if (k.mv_size != 4 || v.mv_size != 24)
			continue;
		file = get_be32(k.mv_data);
		end = get_le64(b);
		live = get_le64(b + 8);
		if (get_le64(b + 16) || file == cur_file)
			continue;
		if (live == 0) { /* marked dead at commit (pfile.c) */
			unsigned char ref[STORE_PFREF_LEN];

			store_pfref_encode(ref, file, 0, 0);
			err = store_pfile_free(t, ref);
			s->files++;
			continue;
		}
		if (live * 100 >= end * pct)
			continue;
		slot = u64map_slot(cand, file);
		if (!slot)
			err = -ENOMEM;
		else
			*slot = 1;
		s->files++;
	}
	mdb_cursor_close(cur);
	if (!err && rc && rc != MDB_NOTFOUND)
		err = store_mdb_err(rc);
	return err;
}

int store_repack(struct store *st, unsigned pct, uint64_t budget, bool migrate,
		 struct store_repack_stats *s)
{
	struct store_txn *t;
	struct u64map cand;
	bool more = false;
	int err;

	if (st->no_pfiles || (st->flags & STORE_READONLY))
		return -EROFS;
	err = store_txn_begin(st, true, &t);
	if (err)
		return err;
	u64map_init(&cand);
	err = candidates(t, pct, &cand, s);
	if (!err && (cand.n || migrate))
		err = move_db(t, DB_CHUNKS, STORE_CHUNK_HDR, &cand, migrate,
			      budget, s, &more);
	if (!err && (cand.n || migrate) && !more)
		err = move_db(t, DB_PACKS, PACK_RECORD_HDR, &cand, migrate,
			      budget, s, &more);
	u64map_release(&cand);
	if (err) {
		store_txn_abort(t);
		return err;
	}
	err = store_txn_commit(t);
	return err ? err : more;
}

int store_give_back(struct store *st, unsigned pct,
		    struct store_repack_stats *rs, unsigned *files,
		    uint64_t *bytes)
{
	int r;

	if (st->no_pfiles || (st->flags & STORE_READONLY))
		return 0;
	do
		r = store_repack(st, pct, STORE_REPACK_BUDGET, true, rs);
	while (r > 0);
	return r < 0 ? r : store_pfile_sweep(st, files, bytes);
}
