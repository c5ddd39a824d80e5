/* SPDX-License-Identifier: MIT */
/*
 * The node table (fs/node.c) without a mount: one node per file id, node
 * ids never reused, a node kept while the kernel counts it, a handle has
 * it open, it holds unsealed writes or a node below it lives, and the
 * rename bookkeeping (parent's kid counts, paths, unlinked nodes).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

#define ROOT_FID 1

static struct fs fs;

static void setup(void)
{
	memset(&fs, 0, sizeof(fs));
	pthread_mutex_init(&fs.lock, NULL);
	cr_assert_eq(fs_nodes_init(&fs, ROOT_FID), 0);
	fs_lock(&fs);
}

static void teardown(void)
{
	fs_unlock(&fs);
	fs_nodes_release(&fs);
	pthread_mutex_destroy(&fs.lock);
}

TestSuite(nodes, .init = setup, .fini = teardown);

static struct node *ref(uint64_t fid, uint32_t mode, uint64_t parent,
			const char *name)
{
	struct node *n = NULL;

	cr_assert_eq(fs_node_ref(&fs, fid, mode, parent, name, &n), 0);
	cr_assert_not_null(n);
	return n;
}

/* "a/b/c" of n's path (self included for a directory) */
static char *path(struct node *n)
{
	const char **names = NULL;
	size_t depth = 0, len = 1, at = 0;
	char *s;

	if (fs_node_path(&fs, n, true, &names, &depth))
		return NULL;
	for (size_t i = 0; i < depth; i++)
		len += strlen(names[i]) + 1;
	s = calloc(1, len);
	cr_assert_not_null(s);
	for (size_t i = 0; i < depth; i++)
		at += (size_t)snprintf(s + at, len - at, "%s%s", i ? "/" : "",
				       names[i]);
	free(names);
	return s;
}

Test(nodes, one_node_per_file_id)
{
	struct node *a = ref(10, S_IFREG, FUSE_ROOT_ID, "a");
	struct node *again = ref(10, S_IFREG, FUSE_ROOT_ID, "a");

	cr_assert_eq(a, again);
	cr_assert_eq(a->nlookup, 2);
	cr_assert_eq(fs_node_by_fid(&fs, 10), a);
	cr_assert_eq(fs_node_get(&fs, a->nodeid), a);
	cr_assert_eq(fs_node_get(&fs, FUSE_ROOT_ID)->nkids, 1);
}

Test(nodes, ids_never_reused)
{
	struct node *a = ref(10, S_IFREG, FUSE_ROOT_ID, "a");
	uint64_t id = a->nodeid;
	struct node *b;

	fs_node_forget(&fs, a, 1);
	cr_assert_null(fs_node_get(&fs, id), "a forgotten node is freed");
	cr_assert_null(fs_node_by_fid(&fs, 10));
	b = ref(10, S_IFREG, FUSE_ROOT_ID, "a");
	cr_assert_gt(b->nodeid, id, "the same file gets a new node id");
	cr_assert_eq(fs_node_get(&fs, FUSE_ROOT_ID)->nkids, 1);
}

Test(nodes, table_grows)
{
	uint64_t first = 0;

	for (uint64_t i = 0; i < 5000; i++) {
		char name[32];
		struct node *n;

		snprintf(name, sizeof(name), "f%llu", (unsigned long long)i);
		n = ref(100 + i, S_IFREG, FUSE_ROOT_ID, name);
		if (!i)
			first = n->nodeid;
	}
	cr_assert_geq(fs.nnodes, 5001);
	for (uint64_t i = 0; i < 5000; i++)
		cr_assert_eq(fs_node_by_fid(&fs, 100 + i)->nodeid, first + i);
}

Test(nodes, forget_more_than_counted)
{
	struct node *a = ref(10, S_IFREG, FUSE_ROOT_ID, "a");
	uint64_t id = a->nodeid;

	fs_node_forget(&fs, a, 99);
	cr_assert_null(fs_node_get(&fs, id));
}

Test(nodes, kept_while_open_or_dirty)
{
	struct node *a = ref(10, S_IFREG, FUSE_ROOT_ID, "a");
	struct node *b = ref(11, S_IFREG, FUSE_ROOT_ID, "b");
	uint64_t ida = a->nodeid, idb = b->nodeid;

	a->nopen = 1;
	b->dirty = true;
	fs_node_forget(&fs, a, 1);
	fs_node_forget(&fs, b, 1);
	cr_assert_eq(fs_node_get(&fs, ida), a, "open: kept");
	cr_assert_eq(fs_node_get(&fs, idb), b, "unsealed writes: kept");
	a->nopen = 0;
	fs_node_forget(&fs, a, 0);
	cr_assert_null(fs_node_get(&fs, ida), "closed: freed");
	b->unlinked = true; /* unlinked: its writes die with it */
	fs_node_forget(&fs, b, 0);
	cr_assert_null(fs_node_get(&fs, idb));
}

Test(nodes, directory_kept_for_its_kids)
{
	struct node *d = ref(20, S_IFDIR, FUSE_ROOT_ID, "d");
	struct node *f = ref(21, S_IFREG, d->nodeid, "f");
	uint64_t idd = d->nodeid, idf = f->nodeid;
	char *p;

	f->dirty = true;
	fs_node_forget(&fs, f, 1);
	fs_node_forget(&fs, d, 1);
	cr_assert_eq(fs_node_get(&fs, idd), d,
		     "a kept file's directory stays: its name is needed");
	p = path(d);
	cr_assert_str_eq(p, "d");
	free(p);
	f->dirty = false; /* sealed */
	fs_node_forget(&fs, f, 0);
	cr_assert_null(fs_node_get(&fs, idf));
	cr_assert_null(fs_node_get(&fs, idd), "then the directory goes too");
	cr_assert_eq(fs_node_get(&fs, FUSE_ROOT_ID)->nkids, 0);
}

Test(nodes, rename_moves_kid_counts_and_paths)
{
	struct node *d1 = ref(20, S_IFDIR, FUSE_ROOT_ID, "d1");
	struct node *d2 = ref(21, S_IFDIR, FUSE_ROOT_ID, "d2");
	struct node *sub = ref(22, S_IFDIR, d1->nodeid, "sub");
	struct node *f = ref(23, S_IFREG, sub->nodeid, "f");
	const char **names = NULL;
	size_t depth = 0;
	char *p;

	p = path(sub);
	cr_assert_str_eq(p, "d1/sub");
	free(p);
	cr_assert_eq(fs_node_rename(&fs, sub, d2->nodeid, "moved"), 0);
	cr_assert_eq(d1->nkids, 0);
	cr_assert_eq(d2->nkids, 1);
	p = path(sub);
	cr_assert_str_eq(p, "d2/moved");
	free(p);
	cr_assert_eq(fs_node_path(&fs, f, false, &names, &depth), 0);
	cr_assert_eq(depth, 2);
	cr_assert_str_eq(names[0], "d2");
	cr_assert_str_eq(names[1], "moved");
	free(names);
	/* a rename within the same directory only renames */
	cr_assert_eq(fs_node_rename(&fs, f, sub->nodeid, "g"), 0);
	cr_assert_str_eq(f->name, "g");
	cr_assert_eq(sub->nkids, 1);
}

Test(nodes, rename_frees_a_forgotten_old_parent)
{
	struct node *d1 = ref(20, S_IFDIR, FUSE_ROOT_ID, "d1");
	struct node *f = ref(21, S_IFREG, d1->nodeid, "f");
	uint64_t id1 = d1->nodeid;

	fs_node_forget(&fs, d1, 1); /* kept: f lives below it */
	cr_assert_eq(fs_node_get(&fs, id1), d1);
	cr_assert_eq(fs_node_rename(&fs, f, FUSE_ROOT_ID, "f"), 0);
	cr_assert_null(fs_node_get(&fs, id1),
		       "nothing keeps the old parent any more");
	cr_assert_eq(fs_node_get(&fs, FUSE_ROOT_ID)->nkids, 1);
}

Test(nodes, unlinked_node_has_no_path)
{
	struct node *f = ref(21, S_IFREG, FUSE_ROOT_ID, "f");
	const char **names = NULL;
	size_t depth;

	f->unlinked = true;
	cr_assert_eq(fs_node_rename(&fs, f, 0, NULL), 0);
	cr_assert_eq(fs_node_get(&fs, FUSE_ROOT_ID)->nkids, 0);
	cr_assert_eq(fs_node_path(&fs, f, false, &names, &depth), -ENOENT);
	/* the same file id looked up again is a new node */
	cr_assert_neq(ref(21, S_IFREG, FUSE_ROOT_ID, "f"), f);
}

Test(nodes, path_of_a_directory_under_an_unlinked_one)
{
	struct node *d = ref(20, S_IFDIR, FUSE_ROOT_ID, "d");
	struct node *f = ref(21, S_IFREG, d->nodeid, "f");
	const char **names = NULL;
	size_t depth;

	d->unlinked = true;
	cr_assert_eq(fs_node_path(&fs, f, false, &names, &depth), -ENOENT);
}

Test(nodes, a_kept_file_found_under_a_new_parent_is_renamed)
{
	struct node *d = ref(20, S_IFDIR, FUSE_ROOT_ID, "d");
	struct node *f = ref(21, S_IFREG, d->nodeid, "f");
	struct node *again;

	f->dirty = true;
	fs_node_forget(&fs, f, 1);
	/* the kernel knows it again, now as "g" in the root (renamed
	 * while it was forgotten) */
	again = ref(21, S_IFREG, FUSE_ROOT_ID, "g");
	cr_assert_eq(again, f);
	cr_assert_eq(f->parent, FUSE_ROOT_ID);
	cr_assert_str_eq(f->name, "g");
	cr_assert_eq(d->nkids, 0);
}

Test(nodes, detached_file_id_gets_a_new_node)
{
	struct node *f = ref(21, S_IFREG, FUSE_ROOT_ID, "f");

	fs_node_detach(&fs, f);
	cr_assert_null(fs_node_by_fid(&fs, 21));
	cr_assert_neq(ref(21, S_IFREG, FUSE_ROOT_ID, "f"), f);
}
