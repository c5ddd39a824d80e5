/* SPDX-License-Identifier: MIT */
/*
 * compact.c - store_compact: recompress stored content at a high zstd
 * level and pack small blobs together (see pack.c for the pack format).
 * Batches: read candidates in a read txn, compress on worker threads
 * outside any txn, apply each result in one short write txn only if the
 * chunk is still exactly what was read.
 */
#include <stdatomic.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "store_internal.h"

#define COMPACT_BATCH_RAW	  (16u << 20) /* raw bytes read per batch */
#define COMPACT_GIVE_BACK_BATCHES 4	      /* dead pack files go every 4 */

struct item {
	uint64_t id;  /* blob */
	uint32_t idx; /* chunk */
	uint64_t check;
	unsigned char codec; /* as read */
	size_t oldlen;	     /* stored data bytes as read */
	size_t len;	     /* raw bytes */
	unsigned char *raw;
	uint32_t off; /* offset in its pack */
};

/* A unit of work: one chunk (big[first]), or a pack of small blobs
 * (small[first..first+n)). */
struct unit {
	bool pack;
	size_t first, n;
	unsigned char *out;
	size_t outlen;
	unsigned char codec; /* of out */
	uint64_t check;	     /* of the pack's bytes */
	size_t rawlen;
	uint64_t oldlen; /* stored bytes of its chunks as read (progress) */
	int err;
};

struct item_list {
	struct item *v;
	size_t n, cap;
};

struct batch {
	struct item_list small, big;
	struct unit *units;
	size_t nunits, ucap;
	size_t raw_bytes;
	uint64_t next_id; /* where the next batch starts */
	bool done;
	int level;
	atomic_size_t claim;
	/* progress, in stored bytes: of the blobs this batch visited, of
	 * the chunks it queued, of the units compressed so far */
	uint64_t visited, queued;
	atomic_uint_fast64_t compressed;
};

static void items_free(struct item_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].raw);
	free(l->v);
}

static void batch_free(struct batch *b)
{
	items_free(&b->small);
	items_free(&b->big);
	for (size_t i = 0; i < b->nunits; i++)
		free(b->units[i].out);
	free(b->units);
	memset(b, 0, sizeof(*b));
}

/* Append *it (its raw buffer changes owner). */
static int item_add(struct batch *b, struct item_list *l, struct item *it)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *p = store_realloc(l->v, cap * sizeof(*l->v));

		if (!p) {
			free(it->raw);
			return -ENOMEM;
		}
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *it;
	b->raw_bytes += it->len;
	b->queued += it->oldlen;
	return 0;
}

static int unit_add(struct batch *b, bool pack, size_t first, size_t n)
{
	if (b->nunits == b->ucap) {
		size_t cap = b->ucap ? b->ucap * 2 : 64;
		void *p = store_realloc(b->units, cap * sizeof(*b->units));

		if (!p)
			return -ENOMEM;
		b->units = p;
		b->ucap = cap;
	}
	memset(&b->units[b->nunits], 0, sizeof(b->units[0]));
	b->units[b->nunits].pack = pack;
	b->units[b->nunits].first = first;
	b->units[b->nunits++].n = n;
	return 0;
}

/* Read chunk idx of blob bi into a new item. */
static int read_chunk(struct store_txn *t, const struct store_blob_info *bi,
		      uint32_t idx, struct item *it)
{
	uint64_t span = bi->nchunks <= 1 ? bi->size : STORE_CHUNK_SIZE;
	uint64_t start = (uint64_t)idx * span;
	const unsigned char *data;
	int err;

	memset(it, 0, sizeof(*it));
	it->id = bi->id;
	it->idx = idx;
	it->len = bi->size - start < span ? bi->size - start : span;
	err = store_chunk_get(t, bi->id, idx, &it->codec, &it->check, &data,
			      &it->oldlen);
	if (err)
		return err;
	it->raw = store_malloc(it->len ? it->len : 1);
	if (!it->raw)
		return -ENOMEM;
	err = store_chunk_decode(t, bi->id, idx, it->raw, it->len);
	if (err) {
		free(it->raw);
		it->raw = NULL;
	}
	return err;
}

/* Collect one batch of candidates from blob id b->next_id on, and group
 * them into units. */
static int collect(struct store *st, struct batch *b)
{
	struct store_txn *t;
	MDB_cursor *cur;
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	size_t pack_first = 0, pack_n = 0, pack_raw = 0;
	int rc, err;

	err = store_txn_begin(st, false, &t);
	if (err)
		return err;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_BLOBS), &cur);
	if (rc) {
		store_txn_abort(t);
		return store_mdb_err(rc);
	}
	put_be64(kb, b->next_id);
	b->done = true;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct store_blob_info bi;
		unsigned char codec;
		struct item it;

		if (b->raw_bytes >= COMPACT_BATCH_RAW) {
			b->done = false;
			b->next_id = get_be64(k.mv_data);
			break;
		}
		err = store_blob_stat(t, get_be64(k.mv_data), &bi);
		b->visited += err ? 0 : bi.stored;
		if (err || bi.refcount == 0 || bi.nchunks == 0)
			continue; /* verify reports bad records; gc frees */
		/* every chunk goes into a frame of neighbours: small files
		 * and the chunks of big ones alike */
		for (uint32_t i = 0; i < bi.nchunks && !err; i++) {
			err = bi.hole_blocks
				  ? store_blob_chunk_absent(t, &bi, i)
				  : 0;
			if (err) { /* a hole has no record: nothing to do */
				err = err < 0 ? err : 0;
				continue;
			}
			/* the flag only: the bytes are read once, below */
			err = store_chunk_codec(t, bi.id, i, &codec);
			if (err || (codec & CODEC_COMPACTED)) {
				err = 0;
				continue;
			}
			err = read_chunk(t, &bi, i, &it);
			if (!err)
				err = item_add(b, &b->small, &it);
			if (err)
				break;
			if (pack_n && pack_raw + it.len > STORE_PACK_RAW) {
				err = unit_add(b, true, pack_first, pack_n);
				pack_n = pack_raw = 0;
			}
			if (!pack_n)
				pack_first = b->small.n - 1;
			b->small.v[b->small.n - 1].off = (uint32_t)pack_raw;
			pack_n++;
			pack_raw += it.len;
		}
	}
	if (!err && pack_n)
		err = unit_add(b, true, pack_first, pack_n);
	if (!err && rc && rc != MDB_NOTFOUND)
		err = store_mdb_err(rc);
	mdb_cursor_close(cur);
	store_txn_abort(t);
	return err;
}

static void compress_unit(struct batch *b, struct unit *u, ZSTD_CCtx *cctx)
{
	const unsigned char *src;
	unsigned char *cat = NULL;
	size_t len, bound, n;

	if (!u->pack) {
		src = b->big.v[u->first].raw;
		len = b->big.v[u->first].len;
		u->oldlen = b->big.v[u->first].oldlen;
	} else {
		len = 0;
		for (size_t i = 0; i < u->n; i++) {
			len += b->small.v[u->first + i].len;
			u->oldlen += b->small.v[u->first + i].oldlen;
		}
		cat = store_malloc(len);
		if (!cat) {
			u->err = -ENOMEM;
			return;
		}
		for (size_t i = 0; i < u->n; i++) {
			const struct item *it = &b->small.v[u->first + i];

			memcpy(cat + it->off, it->raw, it->len);
		}
		src = cat;
		u->check = XXH3_64bits(cat, len);
	}
	u->rawlen = len;
	bound = ZSTD_compressBound(len);
	u->out = store_malloc(bound);
	if (!u->out) {
		u->err = -ENOMEM;
		goto out;
	}
	n = ZSTD_compressCCtx(cctx, u->out, bound, src, len, b->level);
	if (ZSTD_isError(n)) {
		u->err = -EIO;
	} else if (n >= len) {
		memcpy(u->out, src, len); /* does not shrink: raw */
		u->outlen = len;
		u->codec = CODEC_RAW;
	} else {
		u->outlen = n;
		u->codec = CODEC_ZSTD;
	}
out:
	free(cat);
}

/* Compress units until none is left; the calling thread's share (st not
 * NULL) reports progress, done bytes before this batch being base. */
static void work(struct batch *b, struct store *st, uint64_t base,
		 uint64_t total)
{
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t i;

	while ((i = atomic_fetch_add(&b->claim, 1)) < b->nunits) {
		if (!cctx)
			b->units[i].err = -ENOMEM;
		else
			compress_unit(b, &b->units[i], cctx);
		atomic_fetch_add(&b->compressed, b->units[i].oldlen);
		if (st)
			store_progress_report(st, "compacting", NULL,
					      base + b->visited - b->queued +
						  atomic_load(&b->compressed),
					      total);
	}
	ZSTD_freeCCtx(cctx);
}

static void *worker(void *arg)
{
	work(arg, NULL, 0, 0);
	return NULL;
}

static int compress_all(struct store *st, struct batch *b, int threads,
			uint64_t base, uint64_t total)
{
	pthread_t tids[64];
	int k, started = 0;

	atomic_store(&b->claim, 0);
	if (threads > 64)
		threads = 64;
	for (k = 1; k < threads; k++)
		if (!pthread_create(&tids[started], NULL, worker, b))
			started++;
	work(b, st, base, total);
	for (k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
	for (size_t i = 0; i < b->nunits; i++)
		if (b->units[i].err)
			return b->units[i].err;
	return 0;
}

/* Is item it's chunk still what was read? 1 yes, 0 no, <0 error. */
static int still_same(struct store_txn *t, const struct item *it,
		      struct store_blob_info *bi)
{
	unsigned char kb[8], codec;
	MDB_val k = {8, kb}, v;
	const unsigned char *data;
	uint64_t check;
	size_t len;
	int err;

	put_be64(kb, it->id);
	err = store_get(t, DB_BLOBS, &k, &v);
	if (err)
		return err == -ENOENT ? 0 : err;
	err = store_blob_stat(t, it->id, bi);
	if (!err)
		err = store_chunk_get(t, it->id, it->idx, &codec, &check, &data,
				      &len);
	if (err)
		return err;
	return codec == it->codec && check == it->check && len == it->oldlen;
}

static int apply_chunk(struct store_txn *t, struct batch *b,
		       const struct unit *u, struct store_compact_stats *cs)
{
	const struct item *it =
	    u->pack ? &b->small.v[u->first] : &b->big.v[u->first];
	struct store_blob_info bi;
	const unsigned char *data;
	unsigned char codec, *keep = NULL;
	uint64_t check;
	size_t len;
	int err = still_same(t, it, &bi);

	if (err <= 0)
		return err;
	if (u->outlen < it->oldlen) {
		err = store_chunk_put(t, it->id, it->idx,
				      u->codec | CODEC_COMPACTED, it->check,
				      u->out, u->outlen);
		bi.stored -= it->oldlen - u->outlen;
		cs->chunks_recompressed++;
	} else {
		/* no gain: keep the bytes, mark the chunk as done */
		err = store_chunk_get(t, it->id, it->idx, &codec, &check, &data,
				      &len);
		keep = err ? NULL : store_malloc(len ? len : 1);
		if (!err && !keep)
			err = -ENOMEM;
		if (!err) {
			memcpy(keep, data, len);
			err = store_chunk_put(t, it->id, it->idx,
					      codec | CODEC_COMPACTED, check,
					      keep, len);
		}
		free(keep);
	}
	return err ? err : store_blob_info_put(t, &bi);
}

static int apply_pack(struct store_txn *t, struct batch *b,
		      const struct unit *u, struct store_compact_stats *cs)
{
	struct store_blob_info *bis;
	unsigned char kb[8], ref[12], *rec = NULL;
	MDB_val k = {8, kb}, v;
	uint64_t pack;
	uint32_t live = 0;
	bool *ok;
	int err = 0;

	bis = store_calloc(u->n, sizeof(*bis));
	ok = store_calloc(u->n, sizeof(*ok));
	if (!bis || !ok) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < u->n && !err; i++) {
		err = still_same(t, &b->small.v[u->first + i], &bis[i]);
		if (err > 0) {
			ok[i] = true;
			live++;
			err = 0;
		}
	}
	if (err || live < 2 || u->codec != CODEC_ZSTD)
		goto out; /* members went away (next compaction retries),
			     or the pack did not shrink */
	err = store_meta_next(t, "next_pack", &pack);
	if (err)
		goto out;
	rec = store_malloc(PACK_RECORD_HDR + STORE_PFREF_LEN);
	if (!rec) {
		err = -ENOMEM;
		goto out;
	}
	err = store_pfile_append(t, u->out, u->outlen, rec + PACK_RECORD_HDR);
	if (err)
		goto out;
	rec[0] = CODEC_ZSTD | CODEC_EXT;
	put_le64(rec + 1, u->check);
	put_le32(rec + 9, (uint32_t)u->rawlen);
	put_le32(rec + 13, live);
	put_be64(kb, pack);
	v.mv_size = PACK_RECORD_HDR + STORE_PFREF_LEN;
	v.mv_data = rec;
	err = store_put(t, DB_PACKS, &k, &v, 0);
	for (size_t i = 0; i < u->n && !err; i++) {
		const struct item *it = &b->small.v[u->first + i];
		uint64_t share;

		if (!ok[i])
			continue;
		put_le64(ref, pack);
		put_le32(ref + 8, it->off);
		err = store_chunk_put(t, it->id, it->idx,
				      CODEC_PACK | CODEC_COMPACTED, it->check,
				      ref, sizeof(ref));
		share = (PACK_RECORD_HDR + u->outlen) * it->len / u->rawlen +
			STORE_CHUNK_HDR + sizeof(ref);
		/* again: two chunks of one blob may share this frame */
		if (!err)
			err = store_blob_stat(t, it->id, &bis[i]);
		if (!err && bis[i].nchunks == 1)
			bis[i].stored = share;
		else if (!err)
			bis[i].stored =
			    bis[i].stored + share > it->oldlen + STORE_CHUNK_HDR
				? bis[i].stored + share - it->oldlen -
				      STORE_CHUNK_HDR
				: share;
		if (!err)
			err = store_blob_info_put(t, &bis[i]);
	}
	if (!err) {
		cs->packs++;
		cs->blobs_packed += live;
	}
out:
	free(rec);
	free(bis);
	free(ok);
	return err;
}

static int apply(struct store *st, struct batch *b,
		 struct store_compact_stats *cs, bool *rolled)
{
	struct store_txn *t;
	int err = store_txn_begin(st, true, &t);

	/* once per compaction, before its first append: what it rewrites
	 * of the current file must leave that file for repack to take */
	if (!err && b->nunits && !*rolled && !st->no_pfiles) {
		err = store_pfile_roll(t);
		*rolled = !err;
	}
	for (size_t i = 0; !err && i < b->nunits; i++)
		err = b->units[i].pack && b->units[i].n > 1
			  ? apply_pack(t, b, &b->units[i], cs)
			  : apply_chunk(t, b, &b->units[i], cs);
	if (err) {
		if (t)
			store_txn_abort(t);
		return err;
	}
	return store_txn_commit(t);
}

static int stored_total(struct store *st, uint64_t *out)
{
	struct store_totals tot;
	struct store_txn *t;
	int err = store_txn_begin(st, false, &t);

	if (err)
		return err;
	err = store_totals(t, &tot);
	store_txn_abort(t);
	if (!err)
		*out = tot.stored;
	return err;
}

int store_compact(struct store *st, int level, int threads,
		  struct store_compact_stats *out)
{
	struct store_compact_stats cs = {0};
	struct batch b = {0};
	bool rolled = false;
	int err;

	if (level == 0)
		level = STORE_COMPACT_LEVEL;
	if (level < 1 || level > ZSTD_maxCLevel())
		return -EINVAL;
	if (threads <= 0)
		threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads <= 0)
		threads = 1;
	err = stored_total(st, &cs.stored_before);
	for (uint64_t base = 0, batches = 0;;) {
		uint64_t next;
		bool done;

		if (err)
			break;
		b.level = level;
		err = collect(st, &b);
		if (!err)
			err = compress_all(st, &b, threads, base,
					   cs.stored_before);
		if (!err)
			err = apply(st, &b, &cs, &rolled);
		next = b.next_id;
		done = b.done;
		base += b.visited;
		batch_free(&b);
		store_progress_report(st, "compacting", NULL, base,
				      cs.stored_before);
		/* pack files all of whose bytes were rewritten go now, not
		 * at the end: the store does not grow by what compaction
		 * writes (pct 0: only dead files, nothing copied twice) */
		if (!err && !done && ++batches % COMPACT_GIVE_BACK_BATCHES == 0)
			err = store_give_back(
			    st, 0, &(struct store_repack_stats){0}, NULL, NULL);
		if (err || done)
			break;
		b.next_id = next;
	}
	if (!err)
		err = store_give_back(st, STORE_GC_REPACK_PCT,
				      &(struct store_repack_stats){0}, NULL,
				      NULL);
	if (!err)
		err = stored_total(st, &cs.stored_after);
	if (!err && out)
		*out = cs;
	return err;
}
