/* SPDX-License-Identifier: MIT */
/*
 * test_treediff.c - the store's pruned walk of two trees (store/treediff.h):
 * two trees built table by table in a fresh store, the callbacks recorded
 * as lines and compared with what the contract promises.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "treediff.h"
#include "storefix.h"
#include "treeutil.h"

static char workdir[256];
static char home[300];
static struct store *st;
static struct store_txn *txn;

static void setup(void)
{
	storefix_open(workdir, sizeof(workdir), home, sizeof(home), &st);
	cr_assert_eq(store_txn_begin(st, true, &txn), 0);
}

static void teardown(void)
{
	store_txn_abort(txn);
	storefix_close(&st, workdir);
}

TestSuite(store_treediff, .init = setup, .fini = teardown, .timeout = 120);

/* ---- building trees -------------------------------------------------- */

static uint64_t new_tab(uint64_t fid, uint32_t mode)
{
	struct store_attr a = {.mode = S_IFDIR | mode, .fid = fid};
	uint64_t tab;

	cr_assert_eq(store_dir_new(txn, &a, 1, &tab), 0);
	return tab;
}

static void put_tab(uint64_t dir, const char *name, uint64_t tab)
{
	struct store_entry e = {.payload = STORE_P_TAB, .ref = tab};
	struct store_dir d;

	cr_assert_eq(store_dir_stat(txn, tab, &d), 0);
	e.a = d.a;
	cr_assert_eq(store_dir_put(txn, dir, name, strlen(name), &e), 0);
}

static void put_file(uint64_t dir, const char *name, uint64_t fid,
		     const char *content)
{
	struct store_entry e = {.payload = STORE_P_INLINE};

	e.a.mode = S_IFREG | 0644;
	e.a.fid = fid;
	e.a.size = strlen(content);
	e.inline_data = content;
	e.inline_len = (uint32_t)strlen(content);
	cr_assert_eq(store_dir_put(txn, dir, name, strlen(name), &e), 0);
}

static void put_hardlink(uint64_t dir, const char *name, uint64_t fid)
{
	struct store_entry e = {.payload = STORE_P_HARDLINK, .ref = fid};

	e.a.mode = S_IFREG | 0644;
	e.a.fid = fid;
	cr_assert_eq(store_dir_put(txn, dir, name, strlen(name), &e), 0);
}

/* ---- recording the callbacks ----------------------------------------- */

struct rec {
	char lines[64][300];
	size_t n;
	bool descend;	    /* answer DESCEND for two directories */
	const char *fail;   /* name whose callback fails with -EXDEV */
	bool descend_files; /* answer DESCEND for anything on both sides */
	char *last_path;    /* the deepest path seen (deep test) */
};

static void rec_line(struct rec *r, const char *line)
{
	if (r->n < sizeof(r->lines) / sizeof(r->lines[0]))
		snprintf(r->lines[r->n], sizeof(r->lines[0]), "%s", line);
	r->n++;
}

static int rec_dir(void *arg, const struct store_treediff_dir *d)
{
	struct rec *r = arg;
	char *p = store_treediff_path(d, NULL, 0, "/");
	char line[300];

	cr_assert_not_null(p);
	snprintf(line, sizeof(line), "dir %s depth %zu", p, d->depth);
	rec_line(r, line);
	free(r->last_path);
	r->last_path = p;
	return 0;
}

static char kind(const struct store_entry *e)
{
	switch (e->payload) {
	case STORE_P_TAB:
		return 'd';
	case STORE_P_HARDLINK:
		return 'h';
	default:
		return 'f';
	}
}

static int rec_entry(void *arg, const struct store_treediff_dir *d,
		     const char *name, size_t nlen, const struct store_entry *a,
		     const struct store_entry *b)
{
	struct rec *r = arg;
	const struct store_entry *any = a ? a : b;
	char *p = store_treediff_path(d, name, nlen,
				      any->payload == STORE_P_TAB ? "/" : "");
	char line[300];

	cr_assert_not_null(p);
	if (!a)
		snprintf(line, sizeof(line), "+%s", p);
	else if (!b)
		snprintf(line, sizeof(line), "-%s", p);
	else
		snprintf(line, sizeof(line), "~%s %c>%c", p, kind(a), kind(b));
	rec_line(r, line);
	free(p);
	if (r->fail && nlen == strlen(r->fail) && !memcmp(name, r->fail, nlen))
		return -EXDEV;
	if (a && b &&
	    (r->descend_files || (r->descend && a->payload == STORE_P_TAB &&
				  b->payload == STORE_P_TAB)))
		return STORE_TREEDIFF_DESCEND;
	return 0;
}

static const struct store_treediff_ops rec_ops = {
    .dir = rec_dir,
    .entry = rec_entry,
};

static void expect(const struct rec *r, const char *const *want, size_t n)
{
	for (size_t i = 0; i < r->n && i < n; i++)
		cr_expect_str_eq(r->lines[i], want[i], "callback %zu", i);
	cr_assert_eq(r->n, n, "%zu callbacks, expected %zu", r->n, n);
}

/*
 * A: same/{x}  keep  gone  mod=a  t (a file)  d/{old}  onlya/{inside}  hl
 * B: same/{x}  keep  added mod=b  t/{child}   d/{old new}              hl
 * same/ is one table on both sides.
 */
static void two_trees(uint64_t *ra, uint64_t *rb)
{
	uint64_t same = new_tab(2, 0755), da = new_tab(3, 0755),
		 db = new_tab(3, 0755), onlya = new_tab(4, 0755),
		 t = new_tab(5, 0700);

	*ra = new_tab(1, 0755);
	*rb = new_tab(1, 0755);
	put_file(same, "x", 10, "shared");
	put_file(da, "old", 11, "old");
	put_file(db, "old", 11, "old");
	put_file(db, "new", 12, "new");
	put_file(onlya, "inside", 13, "in");
	put_file(t, "child", 14, "child");

	put_tab(*ra, "same", same);
	put_file(*ra, "keep", 20, "kept");
	put_file(*ra, "gone", 21, "gone");
	put_file(*ra, "mod", 22, "a");
	put_file(*ra, "t", 23, "a file");
	put_tab(*ra, "d", da);
	put_tab(*ra, "onlya", onlya);
	put_hardlink(*ra, "hl", 30);

	put_tab(*rb, "same", same);
	put_file(*rb, "keep", 20, "kept");
	put_file(*rb, "added", 24, "added");
	put_file(*rb, "mod", 22, "b");
	put_tab(*rb, "t", t);
	put_tab(*rb, "d", db);
	put_hardlink(*rb, "hl", 30);
}

Test(store_treediff, reports_added_removed_changed_and_prunes_shared_tables)
{
	static const char *const want[] = {
	    "dir / depth 0",  "+added",	 "~d/ d>d",
	    "-gone",	      "~hl h>h", /* hard-link names: the inode may
					    differ in /links */
	    "~mod f>f",	      "-onlya/", /* alone: nothing under it */
	    "~t f>d",			 /* a file became a directory */
	    "dir d/ depth 1", "+d/new",
	};
	struct rec r = {.descend = true};
	uint64_t ra, rb;

	two_trees(&ra, &rb);
	cr_assert_eq(store_treediff(txn, ra, rb, &rec_ops, &r), 0);
	expect(&r, want, sizeof(want) / sizeof(want[0]));
	free(r.last_path);
}

Test(store_treediff, swapped_sides_swap_added_and_removed)
{
	static const char *const want[] = {
	    "dir / depth 0", "-added",	"~d/ d>d", "+gone",	     "~hl h>h",
	    "~mod f>f",	     "+onlya/", "~t/ d>f", "dir d/ depth 1", "-d/new",
	};
	struct rec r = {.descend = true};
	uint64_t ra, rb;

	two_trees(&ra, &rb);
	cr_assert_eq(store_treediff(txn, rb, ra, &rec_ops, &r), 0);
	expect(&r, want, sizeof(want) / sizeof(want[0]));
	free(r.last_path);
}

Test(store_treediff, directories_are_entered_only_when_asked)
{
	struct rec r = {0};
	uint64_t ra, rb;

	two_trees(&ra, &rb);
	cr_assert_eq(store_treediff(txn, ra, rb, &rec_ops, &r), 0);
	cr_assert_eq(r.n, 8, "the root pair only: %zu callbacks", r.n);
	for (size_t i = 0; i < r.n; i++)
		cr_assert_null(strstr(r.lines[i], "new"), "%s", r.lines[i]);
	free(r.last_path);
}

Test(store_treediff, equal_roots_are_not_visited)
{
	struct rec r = {.descend = true};
	uint64_t ra, rb;

	two_trees(&ra, &rb);
	cr_assert_eq(store_treediff(txn, ra, ra, &rec_ops, &r), 0);
	cr_assert_eq(r.n, 0);
}

Test(store_treediff, a_callback_error_stops_the_walk)
{
	struct rec r = {.descend = true, .fail = "gone"};
	uint64_t ra, rb;

	two_trees(&ra, &rb);
	cr_assert_eq(store_treediff(txn, ra, rb, &rec_ops, &r), -EXDEV);
	cr_assert_eq(r.n, 4, "stopped at 'gone': %zu callbacks", r.n);
	free(r.last_path);
}

Test(store_treediff, descending_into_a_file_is_einval)
{
	struct rec r = {.descend_files = true};
	uint64_t ra, rb;

	two_trees(&ra, &rb);
	/* "~d/" descends, then "~hl" (two hard-link names) cannot */
	cr_assert_eq(store_treediff(txn, ra, rb, &rec_ops, &r), -EINVAL);
	free(r.last_path);
}

Test(store_treediff, a_missing_table_is_an_error)
{
	struct rec r = {.descend = true};
	uint64_t ra, rb;

	two_trees(&ra, &rb);
	cr_assert_lt(store_treediff(txn, ra, rb + 1000, &rec_ops, &r), 0);
	cr_assert_eq(r.n, 0);
}

/* A chain thousands of tables deep on both sides, changed at the bottom:
 * the walk keeps its pairs on the heap, and paths come out whole. */
Test(store_treediff, deep_trees_are_walked_without_recursion)
{
	enum { DEPTH = 3000 };
	uint64_t ta = 0, tb = 0, shared = new_tab(7, 0755);
	struct rec r = {.descend = true};

	put_file(shared, "x", 8, "same");
	for (int i = DEPTH; i >= 0; i--) {
		uint64_t na = new_tab(100 + (uint64_t)i, 0755),
			 nb = new_tab(100 + (uint64_t)i, 0755);

		if (i == DEPTH) {
			put_file(na, "last", 9, "before");
			put_file(nb, "last", 9, "after");
		} else {
			put_tab(na, "d", ta);
			put_tab(nb, "d", tb);
			put_tab(na, "s", shared);
			put_tab(nb, "s", shared);
		}
		ta = na;
		tb = nb;
	}
	cr_assert_eq(store_treediff(txn, ta, tb, &rec_ops, &r), 0);
	/* per level: dir + ~d; at the bottom: dir + ~last */
	cr_assert_eq(r.n, 2 * (DEPTH + 1), "%zu callbacks", r.n);
	cr_assert_not_null(r.last_path);
	cr_assert_eq(strlen(r.last_path), 2 * DEPTH, "path of the bottom");
	cr_assert_eq(strncmp(r.last_path, "d/d/d/", 6), 0);
	free(r.last_path);
}

/* Every allocation of the walk failing in turn: -ENOMEM, nothing leaked
 * (LeakSanitizer), and the walk succeeds once none fails. */
Test(store_treediff, a_failed_allocation_is_enomem)
{
	uint64_t ra, rb;
	unsigned long nth;
	int r = -ENOMEM;

	two_trees(&ra, &rb);
	if (store_fault_set(STORE_FAULT_MALLOC, 0) == -ENOTSUP)
		cr_skip_test("built without fault injection");
	for (nth = 1; r == -ENOMEM && nth < 100; nth++) {
		struct rec rr = {.descend = true};

		store_fault_set(STORE_FAULT_MALLOC, nth);
		r = store_treediff(txn, ra, rb, &rec_ops, &rr);
		store_fault_set(STORE_FAULT_MALLOC, 0);
		free(rr.last_path);
		cr_assert(r == 0 || r == -ENOMEM, "allocation %lu: %d", nth, r);
	}
	cr_assert_eq(r, 0, "still failing after %lu allocations", nth);
	cr_assert_gt(nth, 2, "the walk allocates");
}
