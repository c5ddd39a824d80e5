/* SPDX-License-Identifier: MIT */
/*
 * blob.c - content-addressed blobs: XXH3-128 identity, zstd per chunk
 * (level 3, 1 for imports; raw when that does not shrink), whole up to
 * 256 KiB and 128 KiB chunks above, so a read decompresses only the
 * chunks it touches. Hashing and compression happen in store_blob_prepare,
 * outside any txn; a lazy prep is only hashed, so content the store
 * already has is never compressed (store_blob_known, then
 * store_blob_prep_compress).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "store_internal.h"

#define BLOB_INFO_LEN 48

/* Chunk records (store_internal.h): the per-chunk check makes a flipped
 * byte -EIO, never wrong bytes. */
#define CHUNK_HDR STORE_CHUNK_HDR

struct prep_chunk {
	unsigned char codec;
	uint64_t check;
	size_t len;	     /* stored bytes */
	unsigned char *data; /* owned; NULL when raw (points into raw) */
	bool absent;	     /* all hole: no record (holes.c) */
};

struct store_blob_prep {
	struct store_hash hash;
	uint64_t size;
	uint64_t stored;
	uint32_t nchunks;
	unsigned char *raw; /* the content, kept for the dedup compare */
	int fd;		    /* or (large files) where to read it again */
	bool packed;	    /* chunks compressed (lazy preps: on demand) */
	int level;	    /* zstd level of its chunks */
	struct prep_chunk *chunks;
	struct store_holes_build holes; /* its blocks of zeros */
};

/* ---- per-thread zstd contexts ---- */

static pthread_key_t cctx_key, dctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void cctx_free(void *p)
{
	ZSTD_freeCCtx(p);
}

static void dctx_free(void *p)
{
	ZSTD_freeDCtx(p);
}

static void ctx_keys_init(void)
{
	pthread_key_create(&cctx_key, cctx_free);
	pthread_key_create(&dctx_key, dctx_free);
}

ZSTD_CCtx *store_thread_cctx(void)
{
	ZSTD_CCtx *c;

	pthread_once(&ctx_once, ctx_keys_init);
	c = pthread_getspecific(cctx_key);
	if (!c) {
		c = ZSTD_createCCtx();
		if (c)
			pthread_setspecific(cctx_key, c);
	}
	return c;
}

ZSTD_DCtx *store_thread_dctx(void)
{
	ZSTD_DCtx *d;

	pthread_once(&ctx_once, ctx_keys_init);
	d = pthread_getspecific(dctx_key);
	if (!d) {
		d = ZSTD_createDCtx();
		if (d)
			pthread_setspecific(dctx_key, d);
	}
	return d;
}

static uint64_t chunk_span(uint64_t size, uint32_t nchunks)
{
	return nchunks <= 1 ? size : STORE_CHUNK_SIZE;
}

static uint32_t chunk_count(uint64_t size)
{
	if (size == 0)
		return 0;
	if (size <= STORE_WHOLE_MAX)
		return 1;
	return (uint32_t)((size + STORE_CHUNK_SIZE - 1) / STORE_CHUNK_SIZE);
}

/* ---- prepare ---- */

void store_blob_prep_free(struct store_blob_prep *p)
{
	uint32_t i;

	if (!p)
		return;
	for (i = 0; p->chunks && i < p->nchunks; i++)
		free(p->chunks[i].data);
	free(p->chunks);
	free(p->raw);
	store_holes_build_release(&p->holes);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

uint64_t store_blob_prep_size(const struct store_blob_prep *p)
{
	return p->size;
}

uint64_t store_blob_prep_stored(const struct store_blob_prep *p)
{
	return p->stored;
}

static int compress_chunk(ZSTD_CCtx *cctx, const unsigned char *src, size_t len,
			  int level, struct prep_chunk *c)
{
	size_t bound = ZSTD_compressBound(len), n;
	unsigned char *dst = store_malloc(bound);

	if (!dst)
		return -ENOMEM;
	n = ZSTD_compressCCtx(cctx, dst, bound, src, len, level);
	if (ZSTD_isError(n) || n >= len) {
		/* does not shrink (or zstd refused): keep it raw */
		free(dst);
		c->codec = CODEC_RAW;
		c->len = len;
		c->data = NULL;
		return 0;
	}
	c->codec = CODEC_ZSTD;
	c->len = n;
	/* give back the bound's slack: a 20 GiB sparse file is 160k
	 * chunks of a few bytes each, held until commit */
	c->data = realloc(dst, n) ?: dst;
	return 0;
}

/* Takes ownership of raw (malloc'd, size bytes). */
/* Compress a prep's chunks (raw ones stay raw), once. */
static int prep_pack(struct store_blob_prep *p)
{
	ZSTD_CCtx *cctx = store_thread_cctx();
	uint64_t span = chunk_span(p->size, p->nchunks);
	uint32_t i;
	int err;

	if (p->packed)
		return 0;
	if (!cctx)
		return -ENOMEM;
	p->stored = 0;
	for (i = 0; i < p->nchunks; i++) {
		uint64_t off = (uint64_t)i * span;
		uint64_t len = p->size - off < span ? p->size - off : span;

		if (p->chunks[i].absent)
			continue;
		err = compress_chunk(cctx, p->raw + off, len, p->level,
				     &p->chunks[i]);
		if (err)
			return err;
		p->stored += p->chunks[i].len + CHUNK_HDR;
	}
	p->packed = true;
	return 0;
}

/* Hash raw (taken over) and its chunks; compress them too when pack. */
static int prep_from_raw(unsigned char *raw, uint64_t size, bool pack,
			 int level, struct store_blob_prep **out)
{
	struct store_blob_prep *p;
	struct store_holes hv;
	XXH128_hash_t h;
	uint64_t span;
	uint32_t i;
	int err = -ENOMEM;

	p = store_calloc(1, sizeof(*p));
	if (!p)
		goto out_raw;
	p->raw = raw;
	p->fd = -1;
	p->level = level;
	p->size = size;
	p->nchunks = chunk_count(size);
	h = XXH3_128bits(raw, size);
	put_be64(p->hash.b, h.high64);
	put_be64(p->hash.b + 8, h.low64);
	if (p->nchunks) {
		p->chunks = store_calloc(p->nchunks, sizeof(*p->chunks));
		if (!p->chunks)
			goto out_prep;
	}
	span = chunk_span(size, p->nchunks);
	store_holes_scan(&p->holes, raw, 0, size);
	err = store_holes_finish(&p->holes);
	if (err)
		goto out_prep;
	store_holes_view(&p->holes, &hv);
	for (i = 0; i < p->nchunks; i++) {
		uint64_t off = (uint64_t)i * span;
		uint64_t len = size - off < span ? size - off : span;

		p->chunks[i].check = XXH3_64bits(raw + off, len);
		p->chunks[i].absent = store_holes_cover(&hv, off, len);
	}
	err = pack ? prep_pack(p) : 0;
	if (err)
		goto out_prep;
	*out = p;
	return 0;
out_raw:
	free(raw);
	free(p);
	return err;
out_prep:
	store_blob_prep_free(p);
	return err;
}

static int prepare_copy(const void *data, size_t len, bool pack,
			struct store_blob_prep **out)
{
	unsigned char *raw = store_malloc(len ? len : 1);

	if (!raw)
		return -ENOMEM;
	memcpy(raw, data, len);
	return prep_from_raw(raw, len, pack, STORE_SEAL_LEVEL, out);
}

int store_blob_prepare(const void *data, size_t len,
		       struct store_blob_prep **out)
{
	return prepare_copy(data, len, true, out);
}

int store_blob_prepare_lazy(void *data, size_t len,
			    struct store_blob_prep **out)
{
	return prep_from_raw(data, len, false, STORE_SEAL_LEVEL, out);
}

int store_blob_prep_compress(struct store_blob_prep *p)
{
	return prep_pack(p);
}

const unsigned char *store_blob_prep_bytes(const struct store_blob_prep *p)
{
	/* a blob with holes has a map record: never a frame member */
	return p->nchunks == 1 && !p->holes.len ? p->raw : NULL;
}

uint64_t store_blob_prep_check(const struct store_blob_prep *p)
{
	return p->nchunks ? p->chunks[0].check : 0;
}

int store_blob_known(struct store_txn *t, const struct store_blob_prep *p)
{
	MDB_val k = {16, (void *)p->hash.b}, v;
	int err = store_get(t, DB_BLOBIDX, &k, &v);

	return err == -ENOENT ? 0 : err ? err : 1;
}

/* pread exactly len bytes at off (a short file is -EIO). */
static int read_at(int fd, unsigned char *buf, uint64_t len, uint64_t off)
{
	uint64_t done = 0;
	ssize_t n;

	while (done < len) {
		if (store_fault_hit(STORE_FAULT_WRITE))
			n = -1, errno = EIO;
		else
			n = pread(fd, buf + done, len - done,
				  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

/* read_at, but what the file has as holes (SEEK_DATA/SEEK_HOLE) is
 * zeroed, not read: a 1 GiB sparse file is not read as 1 GiB, and its
 * preallocated blocks stay holes (a read would put zero pages in the
 * cache, which ext4 then counts as data). */
static int read_data(int fd, unsigned char *buf, uint64_t len, uint64_t off)
{
	uint64_t at = off, end = off + len;
	struct stat sb;
	int err = 0;

	if (fstat(fd, &sb) < 0)
		return -errno;
	if ((uint64_t)sb.st_size < end)
		return -EIO; /* shorter than said */
	while (!err && at < end) {
		off_t d = lseek(fd, (off_t)at, SEEK_DATA), h;

		if (d < 0 && errno != ENXIO)
			return read_at(fd, buf, len, off); /* no SEEK_DATA */
		if (d < 0 || (uint64_t)d >= end) {
			memset(buf + (at - off), 0, end - at);
			break;
		}
		memset(buf + (at - off), 0, (uint64_t)d - at);
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		at = (uint64_t)h < end ? (uint64_t)h : end;
		err = read_at(fd, buf + ((uint64_t)d - off), at - (uint64_t)d,
			      (uint64_t)d);
	}
	return err;
}

/* Large files are hashed and compressed one chunk at a time; the raw
 * bytes are read again from the fd when a commit needs them. */
static int prep_stream(int fd, uint64_t size, int level,
		       struct store_blob_prep **out)
{
	ZSTD_CCtx *cctx = store_thread_cctx();
	XXH3_state_t *hs = XXH3_createState();
	struct store_blob_prep *p = store_calloc(1, sizeof(*p));
	unsigned char *buf = store_malloc(STORE_CHUNK_SIZE);
	XXH128_hash_t h;
	uint32_t i;
	int err = -ENOMEM;

	if (!p || !buf || !hs || !cctx)
		goto out;
	p->fd = -1;
	p->size = size;
	p->nchunks = chunk_count(size);
	p->chunks = store_calloc(p->nchunks, sizeof(*p->chunks));
	if (!p->chunks)
		goto out;
	XXH3_128bits_reset(hs);
	for (i = 0; i < p->nchunks; i++) {
		uint64_t off = (uint64_t)i * STORE_CHUNK_SIZE;
		uint64_t len = size - off < STORE_CHUNK_SIZE ? size - off
							     : STORE_CHUNK_SIZE;

		err = read_data(fd, buf, len, off);
		if (err)
			goto out;
		store_holes_scan(&p->holes, buf, off, len);
		p->chunks[i].absent = store_holes_open_from(&p->holes, off);
		if (!p->chunks[i].absent)
			err = compress_chunk(cctx, buf, len, level,
					     &p->chunks[i]);
		if (err)
			goto out;
		XXH3_128bits_update(hs, buf, len);
		p->chunks[i].check = XXH3_64bits(buf, len);
		p->stored +=
		    p->chunks[i].absent ? 0 : p->chunks[i].len + CHUNK_HDR;
	}
	err = store_holes_finish(&p->holes);
	if (err)
		goto out;
	h = XXH3_128bits_digest(hs);
	put_be64(p->hash.b, h.high64);
	put_be64(p->hash.b + 8, h.low64);
	p->packed = true;
	p->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	err = p->fd < 0 ? -errno : 0;
out:
	XXH3_freeState(hs);
	free(buf);
	if (err)
		store_blob_prep_free(p);
	else
		*out = p;
	return err;
}

static int prepare_fd(int fd, uint64_t len, bool pack, int level,
		      struct store_blob_prep **out)
{
	unsigned char *raw;
	int err;

	if (len > STORE_WHOLE_MAX)
		return prep_stream(fd, len, level, out);
	raw = store_malloc(len ? len : 1);
	if (!raw)
		return -ENOMEM;
	err = read_data(fd, raw, len, 0);
	if (err) {
		free(raw);
		return err;
	}
	return prep_from_raw(raw, len, pack, level, out);
}

int store_blob_prepare_fd(int fd, uint64_t len, struct store_blob_prep **out)
{
	return prepare_fd(fd, len, true, STORE_SEAL_LEVEL, out);
}

int store_blob_prepare_fd_lazy(int fd, uint64_t len,
			       struct store_blob_prep **out)
{
	return prepare_fd(fd, len, false, STORE_IMPORT_LEVEL, out);
}

/* Raw bytes of chunk i of a prep: in memory, or read into buf. */
static const unsigned char *prep_raw(const struct store_blob_prep *p,
				     uint32_t i, unsigned char *buf, int *err)
{
	uint64_t span = chunk_span(p->size, p->nchunks);
	uint64_t off = (uint64_t)i * span;
	uint64_t len = p->size - off < span ? p->size - off : span;

	*err = 0;
	if (p->raw)
		return p->raw + off;
	*err = read_data(p->fd, buf, len, off);
	return *err ? NULL : buf;
}

/* ---- stored records ---- */

static void blob_key(unsigned char k[8], uint64_t id)
{
	put_be64(k, id);
}

static void chunk_key(unsigned char k[12], uint64_t id, uint32_t idx)
{
	put_be64(k, id);
	put_be32(k + 8, idx);
}

static void info_encode(unsigned char *b, const struct store_blob_info *i)
{
	put_le64(b, i->size);
	put_le64(b + 8, i->stored);
	put_le64(b + 16, i->refcount);
	put_le32(b + 24, i->nchunks);
	put_le32(b + 28,
		 i->hole_blocks
		     ? BLOB_F_HOLES |
			   (uint32_t)(i->hole_blocks < BLOB_HOLE_BLOCKS_SAT
					  ? i->hole_blocks
					  : BLOB_HOLE_BLOCKS_SAT)
			       << 1
		     : 0);
	memcpy(b + 32, i->hash.b, 16);
}

int store_blob_stat(struct store_txn *t, uint64_t id,
		    struct store_blob_info *out)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	const unsigned char *b;
	uint32_t flags;
	int err;

	blob_key(kb, id);
	err = store_get(t, DB_BLOBS, &k, &v);
	if (err == -ENOENT) {
		store_logf(t->st, "blob %llu is missing",
			   (unsigned long long)id);
		return -EIO;
	}
	if (err)
		return err;
	if (v.mv_size != BLOB_INFO_LEN)
		goto corrupt;
	b = v.mv_data;
	out->id = id;
	out->size = get_le64(b);
	out->stored = get_le64(b + 8);
	out->refcount = get_le64(b + 16);
	out->nchunks = get_le32(b + 24);
	flags = get_le32(b + 28);
	memcpy(out->hash.b, b + 32, 16);
	out->hole_blocks = flags >> 1;
	if (out->nchunks != chunk_count(out->size) ||
	    !(flags & BLOB_F_HOLES) != !out->hole_blocks)
		goto corrupt;
	if (out->hole_blocks == BLOB_HOLE_BLOCKS_SAT) { /* more: count them */
		struct store_holes h;

		err = store_holes_load(t, id, out->size, &h);
		if (err)
			return err;
		out->hole_blocks = h.blocks;
		store_holes_release(&h);
	}
	return 0;
corrupt:
	store_logf(t->st, "blob %llu: corrupt info record",
		   (unsigned long long)id);
	return -EIO;
}

int store_blob_info_put(struct store_txn *t, const struct store_blob_info *i)
{
	unsigned char kb[8], vb[BLOB_INFO_LEN];
	MDB_val k = {8, kb}, v = {BLOB_INFO_LEN, vb};

	blob_key(kb, i->id);
	info_encode(vb, i);
	return store_put(t, DB_BLOBS, &k, &v, 0);
}

/* The raw record of chunk idx of blob id (LMDB memory). */
static int chunk_rec(struct store_txn *t, uint64_t id, uint32_t idx, MDB_val *v)
{
	unsigned char kb[12];
	MDB_val k = {12, kb};
	int err;

	chunk_key(kb, id, idx);
	err = store_get(t, DB_CHUNKS, &k, v);
	if (err == -ENOENT || (!err && v->mv_size < CHUNK_HDR)) {
		store_logf(t->st, "blob %llu: chunk %u is missing",
			   (unsigned long long)id, idx);
		return -EIO;
	}
	return err;
}

int store_chunk_bytes(struct store_txn *t, const MDB_val *v,
		      unsigned char *codec, const unsigned char **data,
		      size_t *len)
{
	const unsigned char *b = v->mv_data;

	*codec = b[0];
	if (!(b[0] & CODEC_EXT)) {
		*data = b + CHUNK_HDR;
		*len = v->mv_size - CHUNK_HDR;
		return 0;
	}
	*codec &= (unsigned char)~CODEC_EXT;
	if (v->mv_size != CHUNK_HDR + STORE_PFREF_LEN)
		return -EIO;
	return store_pfile_read(t, b + CHUNK_HDR, data, len);
}

int store_chunk_codec(struct store_txn *t, uint64_t id, uint32_t idx,
		      unsigned char *codec)
{
	MDB_val v;
	int err = chunk_rec(t, id, idx, &v);

	if (!err)
		*codec = *(const unsigned char *)v.mv_data &
			 (unsigned char)~CODEC_EXT;
	return err;
}

/* Fetch chunk idx of blob id: codec and bytes (LMDB memory, or the
 * thread's pack file buffer). */
int store_chunk_get(struct store_txn *t, uint64_t id, uint32_t idx,
		    unsigned char *codec, uint64_t *check,
		    const unsigned char **data, size_t *len)
{
	MDB_val v;
	int err = chunk_rec(t, id, idx, &v);

	if (err)
		return err;
	*check = get_le64((const unsigned char *)v.mv_data + 1);
	err = store_chunk_bytes(t, &v, codec, data, len);
	if (err == -EIO)
		store_logf(t->st, "blob %llu: chunk %u has lost its bytes",
			   (unsigned long long)id, idx);
	return err;
}

/* Put chunk record (id, idx): the bytes into the current pack file
 * (inline when tiny). */
int store_chunk_put_new(struct store_txn *t, uint64_t id, uint32_t idx,
			unsigned char codec, uint64_t check, const void *data,
			size_t len)
{
	unsigned char kb[12], ref[STORE_PFREF_LEN];
	MDB_val k = {12, kb}, v;
	bool ext = len > STORE_CHUNK_INLINE_MAX;
	int err = ext ? store_pfile_append(t, data, len, ref) : 0;

	if (err)
		return err;
	chunk_key(kb, id, idx);
	v.mv_size = CHUNK_HDR + (ext ? STORE_PFREF_LEN : len);
	v.mv_data = NULL;
	/* reserve, then fill: saves a copy */
	err = store_put(t, DB_CHUNKS, &k, &v, MDB_RESERVE);
	if (err)
		return err;
	*(unsigned char *)v.mv_data = codec | (ext ? CODEC_EXT : 0);
	put_le64((unsigned char *)v.mv_data + 1, check);
	memcpy((unsigned char *)v.mv_data + CHUNK_HDR, ext ? ref : data,
	       ext ? STORE_PFREF_LEN : len);
	return 0;
}

/* Drop what chunk record v holds elsewhere: its pack file bytes or its
 * share of a shared frame. */
static int chunk_rec_release(struct store_txn *t, const MDB_val *v)
{
	const unsigned char *b = v->mv_data;

	if ((b[0] & CODEC_EXT) && v->mv_size == CHUNK_HDR + STORE_PFREF_LEN)
		return store_pfile_free(t, b + CHUNK_HDR);
	if ((b[0] & ~CODEC_COMPACTED) == CODEC_PACK)
		return store_pack_unref(t, b + CHUNK_HDR,
					v->mv_size - CHUNK_HDR);
	return 0;
}

/* Decode chunk idx (expected ulen bytes) into dst (room for ulen). */
int store_chunk_decode(struct store_txn *t, uint64_t id, uint32_t idx,
		       void *dst, size_t ulen)
{
	const unsigned char *data;
	unsigned char codec;
	uint64_t check;
	ZSTD_DCtx *dctx;
	size_t len, n;
	int err;

	err = store_chunk_get(t, id, idx, &codec, &check, &data, &len);
	if (err)
		return err;
	codec &= (unsigned char)~CODEC_COMPACTED;
	if (codec == CODEC_PACK)
		return store_pack_read(t, data, len, dst, ulen, check);
	if (codec == CODEC_RAW) {
		if (len != ulen)
			goto corrupt;
		memcpy(dst, data, len);
	} else if (codec == CODEC_ZSTD) {
		dctx = store_thread_dctx();
		if (!dctx)
			return -ENOMEM;
		n = ZSTD_decompressDCtx(dctx, dst, ulen, data, len);
		if (ZSTD_isError(n) || n != ulen)
			goto corrupt;
	} else {
		goto corrupt;
	}
	if (XXH3_64bits(dst, ulen) != check)
		goto corrupt;
	return 0;
corrupt:
	store_logf(t->st, "blob %llu: chunk %u does not decode",
		   (unsigned long long)id, idx);
	return -EIO;
}

/* Chunk idx (ulen bytes) into dst: zeros when h has it as a hole. */
static int chunk_load(struct store_txn *t, uint64_t id,
		      const struct store_holes *h, uint32_t idx,
		      uint64_t cstart, void *dst, size_t ulen)
{
	if (h->n && store_holes_cover(h, cstart, ulen)) {
		memset(dst, 0, ulen);
		return 0;
	}
	return store_chunk_decode(t, id, idx, dst, ulen);
}

/* bi's hole map (none: h->n == 0). */
static int blob_holes(struct store_txn *t, const struct store_blob_info *bi,
		      struct store_holes *h)
{
	memset(h, 0, sizeof(*h));
	return bi->hole_blocks ? store_holes_load(t, bi->id, bi->size, h) : 0;
}

int store_blob_chunk_absent(struct store_txn *t,
			    const struct store_blob_info *bi, uint32_t idx)
{
	uint64_t span = chunk_span(bi->size, bi->nchunks);
	uint64_t cstart = (uint64_t)idx * span;
	uint64_t clen = bi->size - cstart < span ? bi->size - cstart : span;
	struct store_holes h;
	int err = blob_holes(t, bi, &h);

	if (err)
		return err;
	err = h.n && store_holes_cover(&h, cstart, clen) ? 1 : 0;
	store_holes_release(&h);
	return err;
}

int store_blob_seek(struct store_txn *t, uint64_t id, uint64_t off, bool data,
		    uint64_t *out)
{
	struct store_blob_info bi;
	struct store_holes h;
	int err = store_blob_stat(t, id, &bi);

	if (!err)
		err = blob_holes(t, &bi, &h);
	if (err)
		return err;
	err = store_holes_seek(&h, bi.size, off, data, out);
	store_holes_release(&h);
	return err;
}

ssize_t store_blob_read(struct store_txn *t, uint64_t id, void *buf, size_t len,
			uint64_t off)
{
	struct store_blob_info bi;
	struct store_holes h = {0};
	unsigned char *tmp = NULL;
	uint64_t span, end, pos;
	size_t done = 0;
	int err;

	err = store_blob_stat(t, id, &bi);
	if (err)
		return err;
	if (off >= bi.size || len == 0)
		return 0;
	err = blob_holes(t, &bi, &h);
	if (err)
		return err;
	end = off + len < bi.size ? off + len : bi.size;
	span = chunk_span(bi.size, bi.nchunks);
	for (pos = off; pos < end;) {
		uint32_t idx = (uint32_t)(pos / span);
		uint64_t cstart = (uint64_t)idx * span;
		uint64_t clen =
		    bi.size - cstart < span ? bi.size - cstart : span;
		uint64_t in = pos - cstart;
		uint64_t want = end - pos < clen - in ? end - pos : clen - in;

		if (in == 0 && want == clen) {
			err = chunk_load(t, id, &h, idx, cstart,
					 (char *)buf + done, clen);
		} else if (h.n && store_holes_cover(&h, pos, want)) {
			memset((char *)buf + done, 0, want);
		} else {
			if (!tmp)
				tmp = store_malloc(span);
			err = tmp ? store_chunk_decode(t, id, idx, tmp, clen)
				  : -ENOMEM;
			if (!err)
				memcpy((char *)buf + done, tmp + in, want);
		}
		if (err)
			goto out;
		done += want;
		pos += want;
	}
out:
	free(tmp);
	store_holes_release(&h);
	return err ? err : (ssize_t)done;
}

/* Byte-compare a stored blob with a prep's content. 1 equal, 0 not. */
static int blob_equal(struct store_txn *t, const struct store_blob_info *bi,
		      const struct store_blob_prep *p)
{
	uint64_t span = chunk_span(bi->size, bi->nchunks);
	unsigned char *tmp, *rbuf = NULL;
	const unsigned char *raw;
	struct store_holes h;
	uint32_t i;
	int err = 0, eq = 1;

	if (bi->size != p->size)
		return 0;
	err = blob_holes(t, bi, &h);
	if (err)
		return err;
	tmp = store_malloc(span ? span : 1);
	if (!p->raw && span)
		rbuf = store_malloc(span);
	if (!tmp || (!p->raw && span && !rbuf)) {
		free(tmp);
		free(rbuf);
		store_holes_release(&h);
		return -ENOMEM;
	}
	for (i = 0; i < bi->nchunks && eq; i++) {
		uint64_t cstart = (uint64_t)i * span;
		uint64_t clen =
		    p->size - cstart < span ? p->size - cstart : span;

		err = chunk_load(t, bi->id, &h, i, cstart, tmp, clen);
		raw = err ? NULL : prep_raw(p, i, rbuf, &err);
		if (err)
			break;
		eq = memcmp(tmp, raw, clen) == 0;
	}
	free(tmp);
	free(rbuf);
	store_holes_release(&h);
	return err ? err : eq;
}

static int chunks_put(struct store_txn *t, uint64_t id,
		      const struct store_blob_prep *p)
{
	unsigned char *rbuf = NULL;
	uint32_t i;
	int err = 0;

	if (!p->raw && p->nchunks) {
		rbuf = store_malloc(STORE_CHUNK_SIZE);
		if (!rbuf)
			return -ENOMEM;
	}
	for (i = 0; i < p->nchunks && !err; i++) {
		const struct prep_chunk *c = &p->chunks[i];
		const unsigned char *src;

		if (c->absent)
			continue;
		src = c->data ? c->data : prep_raw(p, i, rbuf, &err);

		if (!err)
			err = store_chunk_put_new(t, id, i, c->codec, c->check,
						  src, c->len);
	}
	free(rbuf);
	return err;
}

/* The one chunk of p as a member of frame f at off. */
static int member_put(struct store_txn *t, uint64_t id,
		      struct store_blob_prep *p, struct store_frame *f,
		      uint32_t off)
{
	unsigned char ref[12];
	int err = 0;

	if (!f->pack) {
		err = store_pfile_append(t, f->z, f->zlen, f->ref);
		if (!err)
			err = store_meta_next(t, "next_pack", &f->pack);
		if (err) {
			f->pack = 0;
			return err;
		}
	}
	put_le64(ref, f->pack);
	put_le32(ref + 8, off);
	err = store_chunk_put_new(t, id, 0, CODEC_PACK, p->chunks[0].check, ref,
				  sizeof(ref));
	if (err)
		return err;
	f->members++;
	err = store_frame_record_put(t, f);
	if (err)
		return err;
	/* its share of the frame */
	p->stored = (PACK_RECORD_HDR + f->zlen) * p->size / f->rawlen +
		    CHUNK_HDR + sizeof(ref);
	return 0;
}

static int blob_commit(struct store_txn *t, struct store_blob_prep *p,
		       struct store_frame *f, uint32_t off, uint64_t *out,
		       bool *deduped)
{
	struct store_blob_info bi = {0};
	MDB_val k = {16, (void *)p->hash.b}, v;
	unsigned char idb[8];
	bool index = true;
	uint64_t id;
	int err;

	err = store_get(t, DB_BLOBIDX, &k, &v);
	if (!err) {
		if (v.mv_size != 8) {
			store_logf(t->st, "corrupt blob index record");
			return -EIO;
		}
		id = get_le64(v.mv_data);
		err = store_blob_stat(t, id, &bi);
		if (err)
			return err;
		err = blob_equal(t, &bi, p);
		if (err < 0)
			return err;
		if (err == 1) {
			*out = id;
			if (deduped)
				*deduped = true;
			return 0;
		}
		/* An XXH3-128 collision: keep both, index only the first. */
		store_logf(t->st,
			   "hash collision with blob %llu: storing "
			   "the new content without dedup",
			   (unsigned long long)id);
		index = false;
	} else if (err != -ENOENT) {
		return err;
	}
	/* a lazy prep of new content is compressed here, in the txn,
	 * unless it joins a frame */
	err = f ? 0 : prep_pack(p);
	if (!err)
		err = store_meta_next(t, "next_blob", &id);
	if (err)
		return err;
	bi.id = id;
	bi.size = p->size;
	bi.stored = p->stored;
	bi.refcount = 0;
	bi.nchunks = p->nchunks;
	bi.hash = p->hash;
	err = f ? member_put(t, id, p, f, off) : chunks_put(t, id, p);
	if (!err && p->holes.len) {
		err = store_holes_put(t, id, &p->holes);
		p->stored += p->holes.len + CHUNK_HDR;
		bi.hole_blocks = p->holes.blocks;
	}
	bi.stored = p->stored;
	if (!err)
		err = store_blob_info_put(t, &bi);
	if (!err) /* at 0 until referenced: a failed import leaves it */
		err = store_zeroref_add(t, id);
	if (!err && index) {
		put_le64(idb, id);
		v.mv_size = 8;
		v.mv_data = idb;
		err = store_put(t, DB_BLOBIDX, &k, &v, 0);
	}
	if (err)
		return err;
	*out = id;
	if (deduped)
		*deduped = false;
	return 0;
}

int store_blob_commit(struct store_txn *t, struct store_blob_prep *p,
		      uint64_t *out, bool *deduped)
{
	return blob_commit(t, p, NULL, 0, out, deduped);
}

int store_blob_commit_member(struct store_txn *t, struct store_blob_prep *p,
			     struct store_frame *f, uint32_t off, uint64_t *out,
			     bool *deduped)
{
	if (p->nchunks != 1 || !p->raw || p->holes.len)
		return -EINVAL;
	return blob_commit(t, p, f, off, out, deduped);
}

int store_blob_put(struct store_txn *t, const void *data, size_t len,
		   uint64_t *out)
{
	struct store_blob_prep *p;
	int err = store_blob_prepare(data, len, &p);

	if (err)
		return err;
	err = store_blob_commit(t, p, out, NULL);
	store_blob_prep_free(p);
	return err;
}

int store_blob_ref(struct store_txn *t, uint64_t id)
{
	struct store_blob_info bi;
	int err = store_blob_stat(t, id, &bi);

	if (err)
		return err;
	if (bi.refcount == 0)
		err = store_zeroref_del(t, id);
	bi.refcount++;
	return err ? err : store_blob_info_put(t, &bi);
}

int store_blob_unref(struct store_txn *t, uint64_t id)
{
	struct store_blob_info bi;
	int err = store_blob_stat(t, id, &bi);

	if (err)
		return err;
	if (bi.refcount == 0) {
		store_logf(t->st, "blob %llu: refcount underflow",
			   (unsigned long long)id);
		return -EIO;
	}
	bi.refcount--;
	if (bi.refcount == 0) {
		err = store_zeroref_add(t, id);
		atomic_fetch_add(&t->st->zeroref_due, bi.stored);
	}
	return err ? err : store_blob_info_put(t, &bi);
}

/* Delete chunk record idx of blob id and what it holds elsewhere. A
 * missing one is not an error: the rest is deleted. */
static int chunk_delete(struct store_txn *t, uint64_t id, uint32_t idx)
{
	unsigned char kb[12];
	MDB_val k = {12, kb}, v;
	int err = chunk_rec(t, id, idx, &v);

	if (!err)
		err = chunk_rec_release(t, &v);
	if (err && err != -EIO)
		return err;
	chunk_key(kb, id, idx);
	err = store_del(t, DB_CHUNKS, &k);
	return err == -ENOENT ? 0 : err;
}

/* Remove a blob, its chunks and its index entry (if it points here). */
int store_blob_delete(struct store_txn *t, uint64_t id, uint64_t *stored)
{
	uint64_t span;
	struct store_blob_info bi;
	struct store_holes h;
	unsigned char kb[8];
	MDB_val k, v;
	uint32_t i;
	int err;

	err = store_blob_stat(t, id, &bi);
	if (!err)
		err = blob_holes(t, &bi, &h);
	if (err)
		return err;
	span = chunk_span(bi.size, bi.nchunks);
	for (i = 0; i < bi.nchunks && !err; i++) {
		uint64_t cs = (uint64_t)i * span;

		if (!h.n ||
		    !store_holes_cover(
			&h, cs, bi.size - cs < span ? bi.size - cs : span))
			err = chunk_delete(t, id, i);
	}
	store_holes_release(&h);
	if (!err && bi.hole_blocks) /* its map record */
		err = chunk_delete(t, id, STORE_HOLES_IDX);
	if (err)
		return err;
	k.mv_size = 16;
	k.mv_data = bi.hash.b;
	err = store_get(t, DB_BLOBIDX, &k, &v);
	if (!err && v.mv_size == 8 && get_le64(v.mv_data) == id)
		err = store_del(t, DB_BLOBIDX, &k);
	if (err && err != -ENOENT)
		return err;
	err = store_zeroref_del(t, id);
	if (err)
		return err;
	blob_key(kb, id);
	k.mv_size = 8;
	k.mv_data = kb;
	err = store_del(t, DB_BLOBS, &k);
	if (!err && stored)
		*stored = bi.stored;
	return err;
}

static void report(store_report_fn fn, void *arg, unsigned *problems,
		   const char *msg)
{
	fn(arg, msg);
	(*problems)++;
}

/* Every chunk record is there and of a known codec (holes have none). */
static void check_chunks(struct store_txn *t, const struct store_blob_info *bi,
			 const struct store_holes *h, store_report_fn fn,
			 void *arg, unsigned *problems)
{
	uint64_t span = chunk_span(bi->size, bi->nchunks);
	char msg[160];

	for (uint32_t i = 0; i < bi->nchunks; i++) {
		uint64_t cs = (uint64_t)i * span;
		unsigned codec;
		MDB_val v;

		if (h->n &&
		    store_holes_cover(
			h, cs, bi->size - cs < span ? bi->size - cs : span))
			continue;
		if (chunk_rec(t, bi->id, i, &v))
			codec = 0xff;
		else
			codec = *(const unsigned char *)v.mv_data &
				~(CODEC_COMPACTED | CODEC_EXT);
		if (codec > CODEC_PACK ||
		    (codec == CODEC_PACK &&
		     store_pack_exists(
			 t, (const unsigned char *)v.mv_data + CHUNK_HDR,
			 v.mv_size - CHUNK_HDR))) {
			snprintf(msg, sizeof(msg),
				 "blob %llu: chunk %u missing or bad",
				 (unsigned long long)bi->id, i);
			report(fn, arg, problems, msg);
			return;
		}
	}
}

/* The content decodes and hashes to the blob's id, a chunk at a time
 * (a sparse blob may be far larger than memory). */
static int check_content(struct store_txn *t, const struct store_blob_info *bi,
			 store_report_fn fn, void *arg, unsigned *problems)
{
	XXH3_state_t *hs = XXH3_createState();
	unsigned char *buf = store_malloc(STORE_CHUNK_SIZE);
	struct store_hash got;
	XXH128_hash_t h;
	uint64_t off = 0;
	ssize_t n = 0;
	char msg[160];
	int err = 0;

	if (!hs || !buf) {
		err = -ENOMEM;
		goto out;
	}
	XXH3_128bits_reset(hs);
	while (off < bi->size) {
		n = store_blob_read(t, bi->id, buf, STORE_CHUNK_SIZE, off);
		if (n <= 0)
			break;
		XXH3_128bits_update(hs, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (off != bi->size) {
		snprintf(msg, sizeof(msg),
			 "blob %llu: content does not decode (%zd at %llu of "
			 "%llu bytes)",
			 (unsigned long long)bi->id, n, (unsigned long long)off,
			 (unsigned long long)bi->size);
		report(fn, arg, problems, msg);
		goto out;
	}
	h = XXH3_128bits_digest(hs);
	put_be64(got.b, h.high64);
	put_be64(got.b + 8, h.low64);
	if (memcmp(got.b, bi->hash.b, 16) != 0) {
		snprintf(msg, sizeof(msg),
			 "blob %llu: content hash mismatch (%llu bytes)",
			 (unsigned long long)bi->id,
			 (unsigned long long)bi->size);
		report(fn, arg, problems, msg);
	}
out:
	XXH3_freeState(hs);
	free(buf);
	return err;
}

/* Check one blob's chunks (and content hash when deep). */
int store_blob_check(struct store_txn *t, uint64_t id, bool deep,
		     store_report_fn fn, void *arg, unsigned *problems)
{
	struct store_blob_info bi;
	struct store_holes h;
	char msg[160];
	int err;

	err = store_blob_stat(t, id, &bi);
	if (!err)
		err = blob_holes(t, &bi, &h);
	if (err) {
		snprintf(msg, sizeof(msg), "blob %llu: unreadable info record",
			 (unsigned long long)id);
		report(fn, arg, problems, msg);
		return 0;
	}
	if (!deep)
		check_chunks(t, &bi, &h, fn, arg, problems);
	store_holes_release(&h);
	return deep ? check_content(t, &bi, fn, arg, problems) : 0;
}

int store_chunk_put(struct store_txn *t, uint64_t id, uint32_t idx,
		    unsigned char codec, uint64_t check, const void *data,
		    size_t len)
{
	unsigned char kb[12];
	MDB_val k = {12, kb}, v;
	bool keep = false;
	int err;

	err = chunk_rec(t, id, idx, &v);
	if (!err && (codec & ~CODEC_COMPACTED) == CODEC_PACK &&
	    (*(const unsigned char *)v.mv_data & ~CODEC_COMPACTED) ==
		CODEC_PACK &&
	    v.mv_size == CHUNK_HDR + len &&
	    !memcmp((const unsigned char *)v.mv_data + CHUNK_HDR, data, len))
		keep = true; /* the same membership: only the flag changes */
	if (!err && !keep)
		err = chunk_rec_release(t, &v);
	if (err && err != -EIO)
		return err;
	/* Delete first: LMDB merges a page left sparse by a delete, not by
	 * an in-place shrink, and compaction shrinks most records. */
	chunk_key(kb, id, idx);
	err = store_del(t, DB_CHUNKS, &k);
	if (err && err != -ENOENT)
		return err;
	return store_chunk_put_new(t, id, idx, codec, check, data, len);
}
