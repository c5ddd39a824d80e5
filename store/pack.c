/* SPDX-License-Identifier: MIT */
/*
 * pack.c - packs: small blobs compressed together so that files of one
 * package compress against each other (as squashfs packs fragments).
 *
 * A pack is one zstd frame holding the bytes of several small blobs in
 * blob-id order (import order, so neighbours in a directory are
 * neighbours in a pack). Its record in DB_PACKS is
 *   codec(1) ++ XXH3-64 of the decoded bytes(8) ++ raw length(le32) ++
 *   member count(le32) ++ frame
 * where codec has CODEC_EXT and frame is a pack file reference (pfile.c)
 * to the frame's bytes, except in stores made before format 3;
 * each member's single chunk record becomes CODEC_PACK with data
 *   pack id(le64) ++ offset(le32)
 * and keeps its own XXH3-64, so a member read checks exactly its bytes.
 * The member count is the pack's refcount: deleting a member blob drops
 * it, and the pack goes with its last member.
 *
 * Reads decode a whole pack (at most STORE_PACK_RAW bytes) into a
 * per-thread cache and share it through a small process-wide LRU, so
 * reading the files of one directory decodes each pack once, whichever
 * threads serve the reads. The cache is keyed by store and pack id; pack ids
 * are never reused and each member read is checked against its own hash, so a
 * stale cache entry can only cost a second decode, never wrong bytes.
 * Compaction (compact.c) makes packs.
 */
#include <xxhash.h>
#include <zstd.h>

#include "store_internal.h"

/* ---- per-thread cache of the last decoded pack ---- */

struct pack_cache {
	const struct store *st;
	uint64_t id;
	size_t len;
	unsigned char buf[STORE_PACK_RAW];
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_keys_init(void)
{
	pthread_key_create(&cache_key, free);
}

static struct pack_cache *thread_cache(void)
{
	struct pack_cache *c;

	pthread_once(&cache_once, cache_keys_init);
	c = pthread_getspecific(cache_key);
	if (!c) {
		c = store_calloc(1, sizeof(*c));
		if (c && pthread_setspecific(cache_key, c)) {
			free(c);
			c = NULL;
		}
	}
	return c;
}

static void pack_key(unsigned char k[8], uint64_t id)
{
	put_be64(k, id);
}

static int pack_corrupt(struct store_txn *t, uint64_t id, const char *what)
{
	store_logf(t->st, "pack %llu: %s", (unsigned long long)id, what);
	return -EIO;
}

/* Decode pack id into the thread's cache. */
static int pack_load(struct store_txn *t, uint64_t id, struct pack_cache *c)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	const unsigned char *b, *frame;
	uint64_t check;
	uint32_t rawlen;
	size_t n, flen;
	int err;

	pack_key(kb, id);
	err = store_get(t, DB_PACKS, &k, &v);
	if (err == -ENOENT)
		return pack_corrupt(t, id, "missing");
	if (err)
		return err;
	b = v.mv_data;
	if (v.mv_size < PACK_RECORD_HDR || (b[0] & ~CODEC_EXT) != CODEC_ZSTD)
		return pack_corrupt(t, id, "bad record");
	rawlen = get_le32(b + 9);
	if (rawlen > STORE_PACK_RAW)
		return pack_corrupt(t, id, "bad length");
	check = get_le64(b + 1);
	frame = b + PACK_RECORD_HDR;
	flen = v.mv_size - PACK_RECORD_HDR;
	if (b[0] & CODEC_EXT) {
		err = flen == STORE_PFREF_LEN
			  ? store_pfile_read(t, frame, &frame, &flen)
			  : -EIO;
		if (err)
			return err == -EIO
				   ? pack_corrupt(t, id, "lost its bytes")
				   : err;
	}
	c->st = NULL;
	n = ZSTD_decompress(c->buf, STORE_PACK_RAW, frame, flen);
	if (ZSTD_isError(n) || n != rawlen || XXH3_64bits(c->buf, n) != check)
		return pack_corrupt(t, id, "does not decode");
	c->st = t->st;
	c->id = id;
	c->len = n;
	return 0;
}

/* ---- a process-wide LRU of decoded packs, shared by all threads: the
 * threads of a FUSE daemon reading one directory take turns, and each
 * would otherwise decode the same pack again. A hit copies the member out
 * under the lock; the copy is then checked like any read. ---- */

#define SHARED_SLOTS 8

static struct shared_slot {
	const struct store *st;
	uint64_t id, used;
	size_t len;
	unsigned char *buf; /* STORE_PACK_RAW bytes, kept for the process */
} shared[SHARED_SLOTS];
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t shared_clock;

/* 1: copied from the shared cache, 0: not there. */
static int shared_get(const struct store *st, uint64_t id, uint32_t off,
		      void *dst, size_t len)
{
	int hit = 0;

	pthread_mutex_lock(&shared_lock);
	for (int i = 0; i < SHARED_SLOTS; i++) {
		struct shared_slot *s = &shared[i];

		if (s->buf && s->st == st && s->id == id && off <= s->len &&
		    len <= s->len - off) {
			memcpy(dst, s->buf + off, len);
			s->used = ++shared_clock;
			hit = 1;
			break;
		}
	}
	pthread_mutex_unlock(&shared_lock);
	return hit;
}

static void shared_put(const struct pack_cache *c)
{
	struct shared_slot *v = &shared[0];

	pthread_mutex_lock(&shared_lock);
	for (int i = 0; i < SHARED_SLOTS; i++) {
		if (shared[i].st == c->st && shared[i].id == c->id &&
		    shared[i].buf) {
			v = &shared[i]; /* replace a stale copy */
			break;
		}
		if (shared[i].used < v->used)
			v = &shared[i];
	}
	if (!v->buf)
		v->buf = malloc(STORE_PACK_RAW);
	if (v->buf) {
		memcpy(v->buf, c->buf, c->len);
		v->st = c->st;
		v->id = c->id;
		v->len = c->len;
		v->used = ++shared_clock;
	}
	pthread_mutex_unlock(&shared_lock);
}

int store_pack_read(struct store_txn *t, const unsigned char *ref, size_t rlen,
		    void *dst, size_t len, uint64_t check)
{
	struct pack_cache *c = thread_cache();
	uint64_t id;
	uint32_t off;
	int err, tries;

	if (!c)
		return -ENOMEM;
	if (rlen != 12)
		return -EIO;
	id = get_le64(ref);
	off = get_le32(ref + 8);
	if ((c->st != t->st || c->id != id) &&
	    shared_get(t->st, id, off, dst, len) &&
	    XXH3_64bits(dst, len) == check)
		return 0;
	for (tries = 0; tries < 2; tries++) {
		if (tries || c->st != t->st || c->id != id) {
			err = pack_load(t, id, c);
			if (err)
				return err;
			shared_put(c);
		}
		if (off > c->len || len > c->len - off)
			return pack_corrupt(t, id, "member out of range");
		if (XXH3_64bits(c->buf + off, len) == check) {
			memcpy(dst, c->buf + off, len);
			return 0;
		}
	}
	return pack_corrupt(t, id, "member does not match its check");
}

int store_pack_unref(struct store_txn *t, const unsigned char *ref, size_t rlen)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	uint32_t refs;
	uint64_t id;
	int err;

	if (rlen != 12)
		return -EIO;
	id = get_le64(ref);
	pack_key(kb, id);
	err = store_get(t, DB_PACKS, &k, &v);
	if (err == -ENOENT)
		return pack_corrupt(t, id, "missing");
	if (err)
		return err;
	if (v.mv_size < PACK_RECORD_HDR)
		return pack_corrupt(t, id, "bad record");
	refs = get_le32((const unsigned char *)v.mv_data + 13);
	if (refs <= 1) {
		const unsigned char *b = v.mv_data;

		err = (b[0] & CODEC_EXT) &&
			      v.mv_size == PACK_RECORD_HDR + STORE_PFREF_LEN
			  ? store_pfile_free(t, b + PACK_RECORD_HDR)
			  : 0;
		return err ? err : store_del(t, DB_PACKS, &k);
	}
	{
		MDB_val nv = {v.mv_size, NULL};
		const void *old = v.mv_data;
		unsigned char *copy = store_malloc(v.mv_size);

		if (!copy)
			return -ENOMEM;
		memcpy(copy, old, v.mv_size);
		put_le32(copy + 13, refs - 1);
		nv.mv_data = copy;
		err = store_put(t, DB_PACKS, &k, &nv, 0);
		free(copy);
	}
	return err;
}

int store_pack_exists(struct store_txn *t, const unsigned char *ref,
		      size_t rlen)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;

	if (rlen != 12)
		return -EIO;
	pack_key(kb, get_le64(ref));
	return store_get(t, DB_PACKS, &k, &v);
}

/* ---- frames made at import ---- */

int store_frame_make(struct store_blob_prep **p, size_t n, int level,
		     uint32_t *offs, struct store_frame **out)
{
	struct store_frame *f = store_calloc(1, sizeof(*f));
	unsigned char *raw = store_malloc(STORE_PACK_RAW);
	size_t len = 0, bound;
	ZSTD_CCtx *cctx;
	int err = -ENOMEM;

	if (!f || !raw)
		goto fail;
	err = -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *b = store_blob_prep_bytes(p[i]);
		uint64_t sz = store_blob_prep_size(p[i]);

		if (!b || sz > STORE_PACK_RAW - len)
			goto fail;
		memcpy(raw + len, b, sz);
		offs[i] = (uint32_t)len;
		len += sz;
	}
	bound = ZSTD_compressBound(len);
	f->z = store_malloc(bound);
	err = -ENOMEM;
	if (!f->z)
		goto fail;
	cctx = store_thread_cctx();
	f->zlen = cctx ? ZSTD_compressCCtx(cctx, f->z, bound, raw, len, level)
		       : ZSTD_compress(f->z, bound, raw, len, level);
	err = -ENODATA; /* does not shrink: not worth a frame */
	if (ZSTD_isError(f->zlen) || f->zlen + PACK_RECORD_HDR >= len)
		goto fail;
	f->rawlen = len;
	f->check = XXH3_64bits(raw, len);
	free(raw);
	*out = f;
	return 0;
fail:
	free(raw);
	store_frame_free(f);
	return err;
}

int store_frame_record_put(struct store_txn *t, const struct store_frame *f)
{
	unsigned char kb[8], rec[PACK_RECORD_HDR + STORE_PFREF_LEN];
	MDB_val k = {8, kb}, v = {sizeof(rec), rec};

	rec[0] = CODEC_ZSTD | CODEC_EXT;
	put_le64(rec + 1, f->check);
	put_le32(rec + 9, (uint32_t)f->rawlen);
	put_le32(rec + 13, f->members);
	memcpy(rec + PACK_RECORD_HDR, f->ref, STORE_PFREF_LEN);
	pack_key(kb, f->pack);
	return store_put(t, DB_PACKS, &k, &v, 0);
}

void store_frame_free(struct store_frame *f)
{
	if (!f)
		return;
	free(f->z);
	free(f);
}
