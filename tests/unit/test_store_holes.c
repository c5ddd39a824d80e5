/* SPDX-License-Identifier: MIT */
/*
 * test_store_holes.c - sparse blobs (format 4): all-zero 4 KiB blocks are
 * holes that cost nothing, read as zeros, answer SEEK_DATA/SEEK_HOLE,
 * dedup with the same content however it was read, verify, and leave
 * nothing behind after gc; import and export keep them.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"
#include "treeutil.h"

static char workdir[256];
static char home[300];
static struct store *st;

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void setup(void)
{
	snprintf(workdir, sizeof(workdir), "/tmp/blast-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(workdir));
	snprintf(home, sizeof(home), "%s/store", workdir);
	cr_assert_eq(store_open(home, 0, &st), 0);
	store_set_log(st, quiet, NULL);
}

static void teardown(void)
{
	store_close(st);
	st = NULL;
	tree_remove(workdir);
}

TestSuite(store_holes, .init = setup, .fini = teardown, .timeout = 120);

#define MIB (1024 * 1024)

/* size bytes: zeros but 4 KiB of 0xab at 1 MiB + 100 and 3 bytes at the
 * end. */
static unsigned char *sparse_content(size_t size)
{
	unsigned char *b = calloc(1, size);

	cr_assert_not_null(b);
	memset(b + MIB + 100, 0xab, 4096);
	memset(b + size - 3, 0xcd, 3);
	return b;
}

static uint64_t commit(struct store_blob_prep *p, bool *dup)
{
	struct store_txn *t;
	uint64_t id;

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_blob_commit(t, p, &id, dup), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	return id;
}

static void check_blob(uint64_t id, const unsigned char *want, size_t size)
{
	struct store_blob_info bi;
	struct store_txn *t;
	unsigned char *got = malloc(size);
	uint64_t o;

	cr_assert_not_null(got);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_blob_stat(t, id, &bi), 0);
	cr_assert_eq(bi.size, size);
	/* data: blocks 256 and 257 (1 MiB + 100 .. + 4196), and the last */
	cr_assert_eq(bi.holes,
		     size - 2 * 4096 - (size - (size - 1) / 4096 * 4096),
		     "holes %llu", (unsigned long long)bi.holes);
	cr_assert_lt(bi.stored, 16 * 1024, "stored %llu",
		     (unsigned long long)bi.stored);
	cr_assert_eq(store_blob_read(t, id, got, size, 0), (ssize_t)size);
	cr_assert_eq(memcmp(got, want, size), 0);
	cr_assert_eq(store_blob_read(t, id, got, 5000, MIB - 2000), 5000);
	cr_assert_eq(memcmp(got, want + MIB - 2000, 5000), 0);
	cr_assert_eq(store_blob_seek(t, id, 0, true, &o), 0);
	cr_assert_eq(o, MIB);
	cr_assert_eq(store_blob_seek(t, id, 0, false, &o), 0);
	cr_assert_eq(o, 0);
	cr_assert_eq(store_blob_seek(t, id, MIB + 5, false, &o), 0);
	cr_assert_eq(o, MIB + 8192);
	cr_assert_eq(store_blob_seek(t, id, MIB + 8192, true, &o), 0);
	cr_assert_eq(o, (size - 1) / 4096 * 4096);
	cr_assert_eq(store_blob_seek(t, id, size - 1, false, &o), 0);
	cr_assert_eq(o, size);
	cr_assert_eq(store_blob_seek(t, id, size, true, &o), -ENXIO);
	store_txn_abort(t);
	free(got);
}

static void report_count(void *arg, const char *msg)
{
	(*(int *)arg)++;
	fprintf(stderr, "verify: %s\n", msg);
}

static int verify(bool deep)
{
	int n = 0;

	cr_assert_geq(store_verify(st, deep, report_count, &n), 0);
	return n;
}

Test(store_holes, zero_blocks_are_holes_in_memory_and_streamed_preps)
{
	size_t size = 8 * MIB + 3;
	unsigned char *b = sparse_content(size);
	struct store_blob_prep *p;
	char path[512];
	uint64_t a, c;
	bool dup;
	int fd;

	cr_assert_eq(store_blob_prepare(b, size, &p), 0);
	a = commit(p, &dup);
	store_blob_prep_free(p);
	cr_assert(!dup);
	check_blob(a, b, size);

	/* the same content from a sparse file (streamed, holes not read)
	 * is the same blob */
	snprintf(path, sizeof(path), "%s/sparse", workdir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	cr_assert_eq(pwrite(fd, b + MIB + 100, 4096, MIB + 100), 4096);
	cr_assert_eq(pwrite(fd, b + size - 3, 3, (off_t)size - 3), 3);
	cr_assert_eq(store_blob_prepare_fd(fd, size, &p), 0);
	close(fd);
	c = commit(p, &dup);
	store_blob_prep_free(p);
	cr_assert(dup);
	cr_assert_eq(a, c);
	cr_assert_eq(verify(false), 0);
	cr_assert_eq(verify(true), 0);
	free(b);
}

Test(store_holes, streamed_sparse_blob_stores_its_data_only)
{
	size_t size = 64 * MIB;
	unsigned char *b = sparse_content(size);
	struct store_blob_prep *p;
	char path[512];
	uint64_t a;
	int fd;

	snprintf(path, sizeof(path), "%s/sparse", workdir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	cr_assert_eq(pwrite(fd, b + MIB + 100, 4096, MIB + 100), 4096);
	cr_assert_eq(pwrite(fd, b + size - 3, 3, (off_t)size - 3), 3);
	cr_assert_eq(store_blob_prepare_fd(fd, size, &p), 0);
	close(fd);
	cr_assert_lt(store_blob_prep_stored(p), 16 * 1024);
	a = commit(p, NULL);
	store_blob_prep_free(p);
	check_blob(a, b, size);
	cr_assert_eq(verify(true), 0);
	free(b);
}

Test(store_holes, verify_finds_a_lost_data_chunk_and_a_bad_map)
{
	size_t size = 8 * MIB;
	unsigned char *b = sparse_content(size);
	unsigned char kb[12];
	MDB_val k = {12, kb}, v;
	struct store_blob_prep *p;
	struct store_txn *t;
	uint64_t a;

	cr_assert_eq(store_blob_prepare(b, size, &p), 0);
	a = commit(p, NULL);
	store_blob_prep_free(p);
	cr_assert_eq(verify(true), 0);
	/* the chunk holding the data at 1 MiB goes */
	put_be64(kb, a);
	put_be32(kb + 8, MIB / STORE_CHUNK_SIZE);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_del(t, DB_CHUNKS, &k), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_gt(verify(false), 0);
	cr_assert_gt(verify(true), 0);
	/* a flipped byte in the map is -EIO, never wrong zeros */
	put_be32(kb + 8, STORE_HOLES_IDX);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_get(t, DB_CHUNKS, &k, &v), 0);
	{
		unsigned char copy[64];

		cr_assert_leq(v.mv_size, sizeof(copy));
		memcpy(copy, v.mv_data, v.mv_size);
		copy[v.mv_size - 1] ^= 1;
		v.mv_data = copy;
		cr_assert_eq(store_put(t, DB_CHUNKS, &k, &v, 0), 0);
	}
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_blob_read(t, a, b, 4096, 0), -EIO);
	store_txn_abort(t);
	free(b);
}

Test(store_holes, import_export_keep_holes_and_gc_frees_them)
{
	char src[512], out[512], path[600], cmd[1400];
	struct store_env e = {0};
	struct store_import_stats s;
	struct store_gc_stats gs;
	struct store_txn *t;
	struct stat sb;
	uint64_t root;
	MDB_stat ms;
	int fd;

	snprintf(src, sizeof(src), "%s/src", workdir);
	snprintf(out, sizeof(out), "%s/out", workdir);
	cr_assert_eq(mkdir(src, 0755), 0);
	snprintf(path, sizeof(path), "%s/big", src);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 1024ll * MIB), 0);
	cr_assert_eq(pwrite(fd, "data", 4, 512 * MIB), 4);
	close(fd);
	snprintf(e.name, sizeof(e.name), "sp");
	cr_assert_eq(store_import(st, src, &e, 2, &s), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_ref_resolve(t, "sp", &root), 0);
	store_txn_abort(t);
	cr_assert_eq(store_export(st, root, out), 0);
	snprintf(path, sizeof(path), "%s/big", out);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_size, 1024ll * MIB);
	cr_assert_leq(sb.st_blocks, 64, "exported blocks %lld",
		      (long long)sb.st_blocks);
	snprintf(cmd, sizeof(cmd), "cmp -s %s/big %s/big", src, out);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(verify(true), 0);

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_delete(t, "sp"), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_gc(st, &gs), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(mdb_stat(t->txn, st->dbi[DB_CHUNKS], &ms), 0);
	store_txn_abort(t);
	cr_assert_eq(ms.ms_entries, 0, "chunk records left: %zu",
		     (size_t)ms.ms_entries);
	cr_assert_eq(verify(false), 0);
}
