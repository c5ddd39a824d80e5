/* SPDX-License-Identifier: MIT */
/*
 * test_frames.c - shared frames as readers meet them. Where import puts
 * content: blob ids (and so the frames made at import and by compaction)
 * follow a depth-first walk of the tree in name order, the order blastfs
 * lists a directory and tar or a package's imports read it, whatever
 * order the host's readdir gave. The process's cache of decoded frames
 * (framecache.c): readers on several threads, with readahead on and the
 * cache emptied under them, get every byte right.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"
#include "storefix.h"

static char workdir[256];
static char home[300];
static struct store *st;

static void setup(void)
{
	storefix_open(workdir, sizeof(workdir), home, sizeof(home), &st);
}

static void teardown(void)
{
	storefix_close(&st, workdir);
}

TestSuite(frames, .init = setup, .fini = teardown, .timeout = 120);

/* A file of 200 bytes that no other file of the tree has. */
static void put_file(const char *path, unsigned tag)
{
	char buf[200];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "create %s", path);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + (tag * 7 + i) % 26);
	snprintf(buf, 16, "%u:", tag);
	cr_assert_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
}

/* Blob ids met in a depth-first walk of table tab in name order. */
static void walk_ids(struct store_txn *t, uint64_t tab, uint64_t *ids,
		     size_t *n, size_t cap)
{
	struct store_dirlist l = {0};

	cr_assert_eq(store_dir_list(t, tab, &l), 0);
	for (size_t i = 0; i < l.n; i++) {
		const struct store_entry *e = &l.v[i].e;

		if (e->payload == STORE_P_TAB) {
			walk_ids(t, e->ref, ids, n, cap);
		} else if (e->payload == STORE_P_BLOB) {
			cr_assert_lt(*n, cap);
			ids[(*n)++] = e->ref;
		}
	}
	store_dirlist_release(&l);
}

Test(frames, blob_ids_follow_the_tree_in_name_order)
{
	/* names made in a scrambled order, in the root and two levels of
	 * directories that sort between the root's files */
	static const char *names[] = {"q", "c", "x", "a", "m", "z", "f", "k",
				      "b", "w", "d", "r", "n", "y", "e", "j"};
	const size_t nn = sizeof(names) / sizeof(names[0]);
	char src[512], path[700];
	uint64_t ids[256];
	size_t n = 0;
	unsigned tag = 0;
	struct store_env e = {0};
	struct store_txn *t;

	snprintf(src, sizeof(src), "%s/src", workdir);
	cr_assert_eq(mkdir(src, 0755), 0);
	for (size_t d = 0; d < 3; d++) {
		static const char *dirs[] = {"", "/l", "/l/g"};

		snprintf(path, sizeof(path), "%s%s", src, dirs[d]);
		if (d)
			cr_assert_eq(mkdir(path, 0755), 0);
		for (size_t i = 0; i < nn; i++) {
			snprintf(path, sizeof(path), "%s%s/%s", src, dirs[d],
				 names[(i * 5 + d) % nn]);
			put_file(path, tag++);
		}
	}
	snprintf(e.name, sizeof(e.name), "ordered");
	cr_assert_eq(store_import(st, src, &e, 2, NULL), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	walk_ids(t, e.root, ids, &n, sizeof(ids) / sizeof(ids[0]));
	store_txn_abort(t);
	cr_assert_eq(n, 3 * nn);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(ids[i - 1], ids[i],
			     "file %zu of the walk has blob %llu after %llu", i,
			     (unsigned long long)ids[i],
			     (unsigned long long)ids[i - 1]);
}

/* ---- the frame cache under concurrent readers ---- */

#define NDIRS	3
#define NFILES	40
#define FSIZE	20000
#define BIGSIZE (3u << 20)

/* File f of directory d (f == NFILES: the big one): compressible bytes
 * that no other file has. */
static void content(unsigned d, unsigned f, unsigned char *b, size_t n)
{
	uint32_t x = 2654435761u * (d * 131 + f + 1);

	for (size_t i = 0; i < n; i++) {
		if (i % 64 == 0)
			x = x * 1103515245u + 12345u;
		b[i] = (unsigned char)('a' + (x >> 16) % 7 + i % 3);
	}
}

struct file_ref {
	uint64_t blob;
	unsigned d, f;
	size_t size;
};

static struct file_ref refs[NDIRS * (NFILES + 1)];
static size_t nrefs;
static atomic_int readers_left, mismatches;

static void *reader(void *arg)
{
	size_t start = (size_t)(uintptr_t)arg;
	unsigned char *got = malloc(BIGSIZE), *want = malloc(BIGSIZE);

	for (int round = 0; round < 6 && got && want; round++)
		for (size_t k = 0; k < nrefs; k++) {
			const struct file_ref *r =
			    &refs[(start + k * 7) % nrefs];
			struct store_txn *t;
			ssize_t n = -1;

			if (!store_txn_begin(st, false, &t)) {
				n = store_blob_read(t, r->blob, got, r->size,
						    0);
				store_txn_abort(t);
			}
			content(r->d, r->f, want, r->size);
			if (n != (ssize_t)r->size || memcmp(got, want, r->size))
				atomic_fetch_add(&mismatches, 1);
		}
	free(got);
	free(want);
	atomic_fetch_sub(&readers_left, 1);
	return NULL;
}

static void *trimmer(void *arg)
{
	(void)arg;
	while (atomic_load(&readers_left) > 0) {
		store_frame_cache_trim(0);
		usleep(200);
	}
	return NULL;
}

Test(frames, cache_serves_readers_on_threads_through_trims)
{
	char src[512], path[700];
	unsigned char *buf = malloc(BIGSIZE);
	struct store_env e = {0};
	struct store_compact_stats cs;
	struct store_txn *t;
	pthread_t th[5];

	cr_assert_not_null(buf);
	snprintf(src, sizeof(src), "%s/src", workdir);
	cr_assert_eq(mkdir(src, 0755), 0);
	for (unsigned d = 0; d < NDIRS; d++) {
		snprintf(path, sizeof(path), "%s/d%u", src, d);
		cr_assert_eq(mkdir(path, 0755), 0);
		for (unsigned f = 0; f <= NFILES; f++) {
			size_t n = f == NFILES ? BIGSIZE : FSIZE;
			int fd;

			snprintf(path, sizeof(path), "%s/d%u/f%02u", src, d, f);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			cr_assert_geq(fd, 0);
			content(d, f, buf, n);
			cr_assert_eq(write(fd, buf, n), (ssize_t)n);
			close(fd);
		}
	}
	snprintf(e.name, sizeof(e.name), "frames");
	cr_assert_eq(store_import(st, src, &e, 2, NULL), 0);
	cr_assert_eq(store_compact(st, 3, 2, &cs), 0);
	cr_assert_gt(cs.packs, 3, "compaction made %llu frames",
		     (unsigned long long)cs.packs);

	/* the files, found by name */
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	for (unsigned d = 0; d < NDIRS; d++) {
		struct store_entry de, fe;
		char name[16];

		snprintf(name, sizeof(name), "d%u", d);
		cr_assert_eq(store_dir_get(t, e.root, name, strlen(name), &de),
			     0);
		for (unsigned f = 0; f <= NFILES; f++) {
			snprintf(name, sizeof(name), "f%02u", f);
			cr_assert_eq(
			    store_dir_get(t, de.ref, name, strlen(name), &fe),
			    0);
			cr_assert_eq(fe.payload, STORE_P_BLOB);
			refs[nrefs++] = (struct file_ref){
			    fe.ref, d, f, f == NFILES ? BIGSIZE : FSIZE};
		}
	}
	store_txn_abort(t);

	cr_assert_eq(store_frame_readahead(st, true), 0);
	cr_assert_eq(store_frame_readahead(st, true), 0, "on twice is on");
	atomic_store(&readers_left, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, reader,
					    (void *)(uintptr_t)(i * 11)),
			     0);
	cr_assert_eq(pthread_create(&th[4], NULL, trimmer, NULL), 0);
	for (int i = 0; i < 5; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(store_frame_readahead(st, false), 0);
	cr_assert_eq(atomic_load(&mismatches), 0,
		     "%d reads returned wrong bytes", atomic_load(&mismatches));
	store_frame_cache_trim(0);
	free(buf);
}

/* The cache is keyed by store pointer and pack id: a store closed and
 * another one opened (malloc may give it the same address) whose packs
 * reuse the same ids with other bytes must still read its own bytes. */
Test(frames, a_store_reopened_at_the_same_address_reads_its_own_bytes)
{
	unsigned char *got = malloc(BIGSIZE), *want = malloc(BIGSIZE);
	char src[512], path[700], home2[600];
	struct store_env e = {0};

	cr_assert(got && want);
	cr_assert_eq(store_frame_readahead(st, true), 0);
	for (unsigned pass = 0; pass < 2; pass++) {
		struct store_entry fe;
		struct store_txn *t;
		int fd;

		/* pass 0 in the fixture's store, pass 1 in a second store */
		if (pass) {
			cr_assert_eq(store_frame_readahead(st, false), 0);
			store_close(st);
			snprintf(home2, sizeof(home2), "%s/store2", workdir);
			cr_assert_eq(store_open(home2, 0, &st), 0);
			cr_assert_eq(store_frame_readahead(st, true), 0);
		}
		snprintf(src, sizeof(src), "%s/src%u", workdir, pass);
		cr_assert_eq(mkdir(src, 0755), 0);
		snprintf(path, sizeof(path), "%s/f", src);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		cr_assert_geq(fd, 0);
		content(pass, 7, want, FSIZE);
		cr_assert_eq(write(fd, want, FSIZE), FSIZE);
		close(fd);
		snprintf(e.name, sizeof(e.name), "p%u", pass);
		cr_assert_eq(store_import(st, src, &e, 1, NULL), 0);
		cr_assert_eq(store_compact(st, 3, 1, NULL), 0);
		cr_assert_eq(store_txn_begin(st, false, &t), 0);
		cr_assert_eq(store_dir_get(t, e.root, "f", 1, &fe), 0);
		cr_assert_eq(store_blob_read(t, fe.ref, got, FSIZE, 0), FSIZE);
		store_txn_abort(t);
		cr_assert(memcmp(got, want, FSIZE) == 0,
			  "store %u read bytes that are not its own", pass);
	}
	cr_assert_eq(store_frame_readahead(st, false), 0);
	free(got);
	free(want);
}
