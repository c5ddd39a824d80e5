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
 * Reads decode a whole pack (at most STORE_PACK_RAW bytes) into the
 * process's cache of decoded frames (framecache.c), so the members of one
 * frame are read from one decode. Compaction (compact.c) makes packs.
 */
#include <sched.h>
#include <xxhash.h>
#include <zstd.h>

#include "store_internal.h"

static void pack_key(unsigned char k[8], uint64_t id)
{
	put_be64(k, id);
}

static int pack_corrupt(struct store_txn *t, uint64_t id, const char *what)
{
	store_logf(t->st, "pack %llu: %s", (unsigned long long)id, what);
	return -EIO;
}

/* Decode a frame STEP bytes at a time, yielding the CPU between steps:
 * for readahead (framecache.c), whose thread runs at SCHED_IDLE and must
 * not keep a request waiting for long where it took the CPU of a thread
 * that spins for requests (fs/loop.c). A zstd size_t result. */
#define STEP (128 * 1024)
static size_t decode_yielding(ZSTD_DCtx *dctx, unsigned char *buf,
			      const unsigned char *frame, size_t flen)
{
	ZSTD_inBuffer in = {frame, flen, 0};
	ZSTD_outBuffer out = {buf, 0, 0};

	ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
	for (;;) {
		size_t in0 = in.pos, out0 = out.pos, r;

		out.size = STORE_PACK_RAW - out.pos > STEP ? out.pos + STEP
							   : STORE_PACK_RAW;
		r = ZSTD_decompressStream(dctx, &out, &in);
		if (ZSTD_isError(r) || !r)
			return ZSTD_isError(r) ? r : out.pos;
		/* no progress: cut short, or longer than STORE_PACK_RAW */
		if (in.pos == in0 && out.pos == out0)
			return (size_t)-1;
		sched_yield();
	}
}

int store_pack_decode(struct store_txn *t, uint64_t id, unsigned char *buf,
		      size_t *len, bool yielding)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	const unsigned char *b, *frame;
	uint64_t check;
	uint32_t rawlen;
	size_t n, flen;
	ZSTD_DCtx *dctx;
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
	dctx = store_thread_dctx();
	if (!dctx)
		return -ENOMEM;
	n = yielding
		? decode_yielding(dctx, buf, frame, flen)
		: ZSTD_decompressDCtx(dctx, buf, STORE_PACK_RAW, frame, flen);
	if (ZSTD_isError(n) || n != rawlen || XXH3_64bits(buf, n) != check)
		return pack_corrupt(t, id, "does not decode");
	*len = n;
	return 0;
}

int store_pack_member_bad(struct store_txn *t, uint64_t id)
{
	return pack_corrupt(t, id, "member does not match its check");
}

int store_pack_read_uncached(struct store_txn *t, uint64_t id, uint32_t off,
			     void *dst, size_t len, uint64_t check)
{
	unsigned char *buf = store_malloc(STORE_PACK_RAW);
	size_t n = 0;
	int err = buf ? store_pack_decode(t, id, buf, &n, false) : -ENOMEM;

	if (!err &&
	    (off > n || len > n - off || XXH3_64bits(buf + off, len) != check))
		err = store_pack_member_bad(t, id);
	if (!err)
		memcpy(dst, buf + off, len);
	free(buf);
	return err;
}

int store_pack_read(struct store_txn *t, const unsigned char *ref, size_t rlen,
		    void *dst, size_t len, uint64_t check)
{
	if (rlen != 12)
		return -EIO;
	return store_frame_cache_read(t, get_le64(ref), get_le32(ref + 8), dst,
				      len, check);
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
