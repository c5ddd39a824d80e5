/* SPDX-License-Identifier: MIT */
/*
 * holes.c - a blob's hole map (format 4): the 4 KiB blocks of its content
 * that are all zeros, as sorted runs. A chunk inside a run has no record
 * and reads as zeros, so a sparse file costs its data only; SEEK_HOLE,
 * SEEK_DATA and st_blocks answer from the map. The map is a function of
 * the content (any all-zero block is a hole), so dedup stays exact.
 */
#include <xxhash.h>

#include "store_internal.h"

#define RUN_LEN 16

static int build_grow(struct store_holes_build *b)
{
	size_t cap = b->cap ? b->cap * 2 : 8 + 4 * RUN_LEN;
	unsigned char *p;

	if (b->len + RUN_LEN <= b->cap)
		return 0;
	p = store_realloc(b->map, cap);
	if (!p)
		return -ENOMEM;
	b->map = p;
	b->cap = cap;
	return 0;
}

/* The open run goes into the map. */
static void build_close(struct store_holes_build *b)
{
	if (!b->open)
		return;
	b->open = false;
	if (b->err || (b->err = build_grow(b)))
		return;
	if (!b->len)
		b->len = 8; /* room for the total */
	put_le64(b->map + b->len, b->run_start);
	put_le64(b->map + b->len + 8, b->run_len);
	b->len += RUN_LEN;
	b->nruns++;
}

void store_holes_add(struct store_holes_build *b, uint64_t off, uint64_t len,
		     bool zero)
{
	if (!zero) {
		build_close(b);
		return;
	}
	if (b->open && b->run_start + b->run_len == off) {
		b->run_len += len;
	} else {
		build_close(b);
		if (b->nruns >= STORE_HOLES_RUNS_MAX)
			return; /* the rest of the zeros are stored as data */
		b->open = true;
		b->run_start = off;
		b->run_len = len;
	}
	b->bytes += len;
	b->blocks++;
}

void store_holes_scan(struct store_holes_build *b, const unsigned char *p,
		      uint64_t off, uint64_t len)
{
	for (uint64_t at = 0; at < len; at += STORE_HOLE_BLOCK) {
		uint64_t n =
		    len - at < STORE_HOLE_BLOCK ? len - at : STORE_HOLE_BLOCK;

		store_holes_add(b, off + at, n, store_block_zero(p + at, n));
	}
}

bool store_holes_open_from(const struct store_holes_build *b, uint64_t start)
{
	return b->open && b->run_start <= start;
}

int store_holes_finish(struct store_holes_build *b)
{
	build_close(b);
	if (!b->err && b->len)
		put_le64(b->map, b->bytes);
	return b->err;
}

void store_holes_build_release(struct store_holes_build *b)
{
	free(b->map);
	memset(b, 0, sizeof(*b));
}

bool store_block_zero(const unsigned char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

void store_holes_view(const struct store_holes_build *b, struct store_holes *h)
{
	memset(h, 0, sizeof(*h));
	if (!b->len)
		return;
	h->runs = b->map + 8;
	h->n = (b->len - 8) / RUN_LEN;
	h->bytes = b->bytes;
	h->blocks = b->blocks;
}

/* Check a map's shape: total, sorted runs of whole blocks inside size. */
static bool map_ok(const unsigned char *m, size_t len, uint64_t size)
{
	uint64_t sum = 0, end = 0;

	if (len < 8 + RUN_LEN || (len - 8) % RUN_LEN)
		return false;
	for (size_t i = 8; i < len; i += RUN_LEN) {
		uint64_t s = get_le64(m + i), l = get_le64(m + i + 8);

		if (l == 0 || s < end || s % STORE_HOLE_BLOCK || s > size ||
		    l > size - s || (l % STORE_HOLE_BLOCK && s + l != size))
			return false;
		end = s + l;
		sum += l;
	}
	return sum == get_le64(m);
}

int store_holes_load(struct store_txn *t, uint64_t id, uint64_t size,
		     struct store_holes *h)
{
	const unsigned char *data;
	unsigned char codec;
	uint64_t check;
	size_t len;
	int err;

	memset(h, 0, sizeof(*h));
	err = store_chunk_get(t, id, STORE_HOLES_IDX, &codec, &check, &data,
			      &len);
	if (err)
		return err;
	if ((codec & ~CODEC_COMPACTED) != CODEC_HOLES ||
	    XXH3_64bits(data, len) != check || !map_ok(data, len, size)) {
		store_logf(t->st, "blob %llu: corrupt hole map",
			   (unsigned long long)id);
		return -EIO;
	}
	h->own = store_malloc(len);
	if (!h->own)
		return -ENOMEM;
	memcpy(h->own, data, len);
	h->runs = h->own + 8;
	h->n = (len - 8) / RUN_LEN;
	h->bytes = get_le64(data);
	for (size_t i = 0; i < h->n; i++)
		h->blocks += (get_le64(h->runs + i * RUN_LEN + 8) +
			      STORE_HOLE_BLOCK - 1) /
			     STORE_HOLE_BLOCK;
	return 0;
}

void store_holes_release(struct store_holes *h)
{
	free(h->own);
	memset(h, 0, sizeof(*h));
}

/* Index of the first run ending after off (h->n when none). */
static size_t run_after(const struct store_holes *h, uint64_t off)
{
	size_t lo = 0, hi = h->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const unsigned char *r = h->runs + mid * RUN_LEN;

		if (get_le64(r) + get_le64(r + 8) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool store_holes_cover(const struct store_holes *h, uint64_t start,
		       uint64_t len)
{
	size_t i = run_after(h, start);
	const unsigned char *r = h->runs + i * RUN_LEN;

	return i < h->n && get_le64(r) <= start &&
	       get_le64(r) + get_le64(r + 8) >= start + len;
}

int store_holes_seek(const struct store_holes *h, uint64_t size, uint64_t off,
		     bool data, uint64_t *out)
{
	size_t i = run_after(h, off);
	const unsigned char *r = h->runs + i * RUN_LEN;
	bool in = i < h->n && get_le64(r) <= off;

	if (off >= size)
		return -ENXIO;
	if (data) {
		uint64_t next = in ? get_le64(r) + get_le64(r + 8) : off;

		if (next >= size)
			return -ENXIO;
		*out = next;
	} else {
		*out = in ? off : i < h->n ? get_le64(r) : size;
	}
	return 0;
}

int store_holes_put(struct store_txn *t, uint64_t id,
		    const struct store_holes_build *b)
{
	return store_chunk_put_new(t, id, STORE_HOLES_IDX, CODEC_HOLES,
				   XXH3_64bits(b->map, b->len), b->map, b->len);
}
