/* SPDX-License-Identifier: MIT */
/*
 * test_frames.c - shared frames as readers meet them. Where import puts
 * content: blob ids (and so the frames made at import and by compaction)
 * follow a depth-first walk of the tree in name order, the order blastfs
 * lists a directory and tar or a package's imports read it, whatever
 * order the host's readdir gave.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
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
