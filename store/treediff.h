/* SPDX-License-Identifier: MIT */
/*
 * treediff.h - what differs between two directory trees of the store.
 *
 * Both trees are walked together, table pair by table pair, merging each
 * pair's entries by name (tables are sorted by name bytes, the shorter
 * name first). Only the pairs the caller descends into are read, and two
 * names with the same entry are skipped, so a subtree both sides share (a
 * directory entry naming the same table: a shared table is frozen) is
 * never visited: the cost follows the changes, not the size of the trees.
 * Pairs wait on a heap worklist, not the C stack: trees of any depth.
 *
 * Users: blastfs's invalidation after a snapshot load (fs/inval.c) and
 * `blastctl diff` (ctl/cmd-diff.c). Each decides what counts as a change
 * and whether to descend; the walk only finds the names that may differ.
 */
#ifndef BLAST_STORE_TREEDIFF_H
#define BLAST_STORE_TREEDIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* A pair of tables being compared: the roots, then every pair an entry
 * callback descended into. */
struct store_treediff_dir {
	const struct store_treediff_dir *parent; /* NULL for the roots */
	const char *name; /* its name in the parent, not NUL-terminated
			     ("" for the roots); in the txn's memory */
	size_t nlen;
	size_t depth;	       /* 0 for the roots */
	struct store_dir a, b; /* the two tables' headers (side A, side B) */
};

/* An entry callback's answer: compare the two tables below this name. */
#define STORE_TREEDIFF_DESCEND 1

struct store_treediff_ops {
	/* A pair about to be compared by name (NULL: not wanted). Called
	 * before the pair's entries; returns 0 or -errno (stops the walk). */
	int (*dir)(void *arg, const struct store_treediff_dir *d);
	/*
	 * One name of pair d (not NUL-terminated): a NULL = only in B
	 * (added), b NULL = only in A (removed), else on both sides with
	 * entries that are not store_entry_same, or two hard-link names (the
	 * inode they name lives in each root's links table and may differ
	 * there: store_link_get). A directory present on one side only is
	 * reported alone: nothing under it is visited.
	 *
	 * Returns 0, -errno to stop the walk with that error, or
	 * STORE_TREEDIFF_DESCEND when both entries are directories
	 * (STORE_P_TAB) to have their tables compared as a new pair (its dir
	 * callback, then its entries, come after the pairs queued before it).
	 * Returning it for anything else is -EINVAL.
	 *
	 * The entries are valid during the call only; their names and inline
	 * bytes stay valid until the txn ends.
	 */
	int (*entry)(void *arg, const struct store_treediff_dir *d,
		     const char *name, size_t nlen, const struct store_entry *a,
		     const struct store_entry *b);
};

/*
 * Walk the trees of tables root_a and root_b in txn t (read or write:
 * nothing is written, and t must not be written to during the walk).
 * Equal roots are not visited at all. Returns 0, the first -errno of a
 * callback, or -ENOMEM / -EIO (a table that does not decode) / -ENOENT
 * (a table that is missing). Not thread-safe beyond t's own rules.
 */
int store_treediff(struct store_txn *t, uint64_t root_a, uint64_t root_b,
		   const struct store_treediff_ops *ops, void *arg);

/* "dir/sub/name" + suffix for name in pair d (name NULL, nlen 0: the
 * path of d itself), relative to the roots; malloc'd, the caller frees
 * it. NULL when out of memory. */
char *store_treediff_path(const struct store_treediff_dir *d, const char *name,
			  size_t nlen, const char *suffix);

/* Every field equal. */
bool store_attr_same(const struct store_attr *a, const struct store_attr *b);
/* Same attrs, payload and ref, or the same inline bytes. */
bool store_entry_same(const struct store_entry *a, const struct store_entry *b);

#endif
