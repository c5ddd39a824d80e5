/* SPDX-License-Identifier: MIT */
/*
 * test_xattr.c - extended attributes in the store: the sorted list and
 * its encoding, the format-4 trailer of entries and table headers
 * (records without it read as format 3 wrote them), and the references
 * entries and headers hold on the attribute blobs, as gc and verify see
 * them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"
#include "storefix.h"
#include "treeutil.h"

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

TestSuite(store_xattr, .init = setup, .fini = teardown, .timeout = 60);

static void count(void *arg, const char *msg)
{
	(*(int *)arg)++;
	fprintf(stderr, "verify: %s\n", msg);
}

static ssize_t verify(void)
{
	int n = 0;
	ssize_t r = store_verify(st, true, count, &n);

	cr_assert_geq(r, 0);
	return r;
}

static uint64_t refcount(uint64_t blob)
{
	struct store_txn *t;
	struct store_blob_info bi;

	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_blob_stat(t, blob, &bi), 0);
	store_txn_abort(t);
	return bi.refcount;
}

Test(store_xattr, list_keeps_names_sorted_and_round_trips)
{
	struct store_xattrs x = {0}, y;
	const char *names[] = {"user.b", "trusted.t", "user.a", "security.s",
			       "user.aa"};
	char name[300];
	unsigned char *buf;
	size_t len;

	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(store_xattrs_set(&x, names[i], names[i],
					      strlen(names[i]), 0),
			     0);
	cr_assert_eq(store_xattrs_set(&x, "user.a", "v", 1, STORE_XATTR_CREATE),
		     -EEXIST);
	cr_assert_eq(
	    store_xattrs_set(&x, "user.zz", "v", 1, STORE_XATTR_REPLACE),
	    -ENODATA);
	cr_assert_eq(store_xattrs_set(&x, "user.a", "", 0, STORE_XATTR_REPLACE),
		     0);
	memset(name, 'n', 256);
	name[256] = '\0';
	cr_assert_eq(store_xattrs_set(&x, name, "v", 1, 0), -ERANGE);
	cr_assert_eq(store_xattrs_remove(&x, "user.none"), -ENODATA);
	cr_assert_eq(x.n, 5);
	for (size_t i = 1; i < x.n; i++)
		cr_assert_lt(strcmp(x.v[i - 1].name, x.v[i].name), 0);
	cr_assert_eq(store_xattrs_find(&x, "user.a")->vlen, 0);

	cr_assert_eq(store_xattrs_encode(&x, &buf, &len), 0);
	cr_assert_eq(store_xattrs_decode(buf, len, &y), 0);
	cr_assert_eq(y.n, x.n);
	for (size_t i = 0; i < x.n; i++) {
		cr_assert_str_eq(y.v[i].name, x.v[i].name);
		cr_assert_eq(y.v[i].vlen, x.v[i].vlen);
		cr_assert_eq(memcmp(y.v[i].value, x.v[i].value, x.v[i].vlen),
			     0);
	}
	store_xattrs_release(&y);
	/* truncated, and out of order (the first two swapped) */
	cr_assert_eq(store_xattrs_decode(buf, len - 1, &y), -EIO);
	{
		size_t a = 5 + x.v[0].nlen + x.v[0].vlen;
		size_t b = 5 + x.v[1].nlen + x.v[1].vlen;
		unsigned char *sw = malloc(len);

		memcpy(sw, buf + a, b);
		memcpy(sw + b, buf, a);
		memcpy(sw + a + b, buf + a + b, len - a - b);
		cr_assert_eq(store_xattrs_decode(sw, len, &y), -EIO);
		free(sw);
	}
	free(buf);
	store_xattrs_release(&x);
}

Test(store_xattr, entries_without_a_trailer_read_as_format_3_wrote_them)
{
	unsigned char b[ENT_HDR_LEN + 3 + 32];
	struct store_entry e = {0}, d;

	e.payload = STORE_P_INLINE;
	e.inline_len = 3;
	e.inline_data = "abc";
	e.a.mode = S_IFREG | 0644;
	e.a.fid = 7;
	e.a.size = 3;
	store_entry_encode(b, &e); /* no xattr: no trailer, as format 3 */
	cr_assert_eq(store_entry_decode(b, ENT_HDR_LEN + 3, &d), 0);
	cr_assert_eq(d.xattr, 0);
	cr_assert_eq(d.a.fid, 7);
	cr_assert_eq(memcmp(d.inline_data, "abc", 3), 0);

	e.xattr = 42;
	store_entry_encode(b, &e);
	cr_assert_eq(store_entry_decode(b, ENT_HDR_LEN + 3 + 10, &d), 0);
	cr_assert_eq(d.xattr, 42);
	/* a tag this version does not know is skipped */
	b[ENT_HDR_LEN + 3 + 10] = 0x7f;
	b[ENT_HDR_LEN + 3 + 11] = 2;
	cr_assert_eq(store_entry_decode(b, ENT_HDR_LEN + 3 + 14, &d), 0);
	cr_assert_eq(d.xattr, 42);
	/* a length past the record does not decode */
	b[ENT_HDR_LEN + 3 + 11] = 3;
	cr_assert_eq(store_entry_decode(b, ENT_HDR_LEN + 3 + 14, &d), -EIO);
	cr_assert_eq(store_entry_decode(b, ENT_HDR_LEN + 3 + 1, &d), -EIO);
}

/* An env "x" whose writable root gets entries f1, f2 (one attribute
 * set, so one blob) and the root itself the same set. */
static uint64_t make_env(struct store_env *e)
{
	struct store_xattrs x = {0};
	struct store_entry ent = {0};
	struct store_txn *t;
	uint64_t blob, tab;

	snprintf(e->name, sizeof(e->name), "x");
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_create(t, e, 0), 0);
	cr_assert_eq(store_xattrs_set(&x, "user.k", "value", 5, 0), 0);
	cr_assert_eq(store_xattrs_put(t, &x, &blob), 0);
	cr_assert_neq(blob, 0);
	cr_assert_eq(store_env_dir_writable(t, e, NULL, 0, &tab), 0);
	ent.a.mode = S_IFREG | 0644;
	ent.xattr = blob;
	ent.a.fid = 100;
	cr_assert_eq(store_dir_put(t, tab, "f1", 2, &ent), 0);
	ent.a.fid = 101;
	cr_assert_eq(store_dir_put(t, tab, "f2", 2, &ent), 0);
	cr_assert_eq(store_dir_set_xattr(t, tab, blob), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	store_xattrs_release(&x);
	return blob;
}

Test(store_xattr, blob_references_follow_entries_headers_and_copies)
{
	struct store_env e = {0};
	struct store_snap s = {0};
	struct store_gc_stats gs;
	struct store_txn *t;
	struct store_dir d;
	uint64_t blob = make_env(&e), tab;

	cr_assert_eq(refcount(blob), 3);
	cr_assert_eq(verify(), 0);
	/* a snapshot, then a change: the root is copied (header and
	 * entries: three more references), then f1 loses its set */
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_get(t, "x", &e), 0);
	snprintf(s.name, sizeof(s.name), "s1");
	cr_assert_eq(store_snap_create(t, &e, &s), 0);
	cr_assert_eq(store_env_dir_writable(t, &e, NULL, 0, &tab), 0);
	cr_assert_eq(store_dir_stat(t, tab, &d), 0);
	cr_assert_eq(d.xattr, blob);
	{
		struct store_entry ent;

		cr_assert_eq(store_dir_get(t, tab, "f1", 2, &ent), 0);
		cr_assert_eq(ent.xattr, blob);
		ent.xattr = 0;
		cr_assert_eq(store_dir_put(t, tab, "f1", 2, &ent), 0);
	}
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(refcount(blob), 5);
	cr_assert_eq(verify(), 0);
	/* the env goes: only its snapshot... and then nothing */
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_delete(t, "x"), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_gc(st, &gs), 0);
	cr_assert_geq(gs.blobs_freed, 1);
	cr_assert_eq(verify(), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	{
		struct store_blob_info bi;

		int r = store_blob_stat(t, blob, &bi);

		cr_assert(r == -ENOENT || r == -EIO, "blob stat %d", r);
	}
	store_txn_abort(t);
}

Test(store_xattr, verify_names_a_wrong_refcount_and_a_bad_blob)
{
	struct store_env e = {0};
	struct store_txn *t;
	uint64_t blob = make_env(&e), bad, tab;
	struct store_entry ent = {0};
	int n = 0;

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_blob_ref(t, blob), 0);
	/* an attribute blob that does not decode */
	cr_assert_eq(store_blob_put(t, "\x05zz", 3, &bad), 0);
	cr_assert_eq(store_env_get(t, "x", &e), 0);
	cr_assert_eq(store_env_dir_writable(t, &e, NULL, 0, &tab), 0);
	ent.a.mode = S_IFREG | 0644;
	ent.a.fid = 102;
	ent.xattr = bad;
	cr_assert_eq(store_dir_put(t, tab, "f3", 2, &ent), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_verify(st, true, count, &n), 2);
}
