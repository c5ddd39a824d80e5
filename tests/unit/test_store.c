/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the store's contract: round trips of real trees, dedup,
 * copy-on-write isolation, random-access reads, gc, verify, concurrency,
 * bad input and injected faults. Each test gets a fresh store directory.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
	for (int k = 0; k < STORE_FAULT__COUNT; k++)
		store_fault_set(k, 0);
	storefix_close(&st, workdir);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 120);

static void import_ok(const char *name, const char *dir,
		      struct store_import_stats *stats)
{
	struct store_env e = {0};

	snprintf(e.name, sizeof(e.name), "%s", name);
	cr_assert_eq(store_import(st, dir, &e, 2, stats), 0, "import %s", dir);
}

static uint64_t env_root(const char *ref)
{
	struct store_txn *t;
	uint64_t root = 0;

	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_ref_resolve(t, ref, &root), 0, "resolve %s", ref);
	store_txn_abort(t);
	return root;
}

static void export_ok(const char *ref, const char *dir)
{
	cr_assert_eq(store_export(st, env_root(ref), dir), 0, "export %s", ref);
}

static void report_count(void *arg, const char *msg)
{
	(*(int *)arg)++;
	fprintf(stderr, "verify: %s\n", msg);
}

static ssize_t verify(bool deep)
{
	int n = 0;
	ssize_t r = store_verify(st, deep, report_count, &n);

	cr_assert_geq(r, 0);
	return r;
}

static struct store_totals totals(void)
{
	struct store_txn *t;
	struct store_totals s;

	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_totals(t, &s), 0);
	store_txn_abort(t);
	return s;
}

static void path_in(char *buf, size_t len, const char *leaf)
{
	snprintf(buf, len, "%s/%s", workdir, leaf);
}

Test(store, real_tree_round_trips_exactly)
{
	char out[512];
	struct store_import_stats s;

	import_ok("stdlib", "/usr/lib/python3.11", &s);
	cr_assert_gt(s.files, 1000);
	path_in(out, sizeof(out), "out");
	export_ok("stdlib", out);
	cr_assert_eq(tree_compare("/usr/lib/python3.11", out), 0);
	cr_assert_eq(verify(true), 0);
}

Test(store, synthetic_tree_round_trips_with_special_files)
{
	char src[512], out[512];

	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 42);
	import_ok("syn", src, NULL);
	path_in(out, sizeof(out), "out");
	export_ok("syn", out);
	cr_assert_eq(tree_compare(src, out), 0);
}

Test(store, identical_trees_are_stored_once)
{
	struct store_import_stats a, b;
	struct store_totals t1, t2;

	import_ok("one", "/usr/lib/python3.11", &a);
	t1 = totals();
	import_ok("two", "/usr/lib/python3.11", &b);
	t2 = totals();
	cr_assert_eq(t1.blobs, t2.blobs, "second import added blobs");
	cr_assert_lt(t2.stored - t1.stored, a.bytes / 100);
	cr_assert_eq(b.stored_added, 0);
	cr_assert_gt(b.deduped, 0);
	cr_assert_eq(verify(false), 0);
}

/* Overwrite `name` in the root of env `env` through copy-on-write. */
static void write_root_file(const char *env, const char *name,
			    const char *content)
{
	struct store_txn *t;
	struct store_env e;
	struct store_entry ent = {0};
	uint64_t tab, blob;

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_get(t, env, &e), 0);
	cr_assert_eq(store_env_dir_writable(t, &e, NULL, 0, &tab), 0);
	cr_assert_eq(store_blob_put(t, content, strlen(content), &blob), 0);
	ent.a.mode = S_IFREG | 0644;
	ent.a.size = strlen(content);
	cr_assert_eq(store_fid_new(t, &ent.a.fid), 0);
	ent.payload = STORE_P_BLOB;
	ent.ref = blob;
	cr_assert_eq(store_dir_put(t, tab, name, strlen(name), &ent), 0);
	cr_assert_eq(store_txn_commit(t), 0);
}

/* Write a file two levels down (json/tests-ish) via a writable path. */
static void write_deep_file(const char *env, const char *d1, const char *name,
			    const char *content)
{
	const char *names[] = {d1};
	struct store_txn *t;
	struct store_env e;
	struct store_entry ent = {0};
	uint64_t tab;

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_get(t, env, &e), 0);
	cr_assert_eq(store_env_dir_writable(t, &e, names, 1, &tab), 0);
	ent.a.mode = S_IFREG | 0600;
	ent.a.size = strlen(content);
	ent.payload = STORE_P_INLINE;
	ent.inline_data = content;
	ent.inline_len = (uint32_t)strlen(content);
	cr_assert_eq(store_dir_put(t, tab, name, strlen(name), &ent), 0);
	cr_assert_eq(store_txn_commit(t), 0);
}

Test(store, clone_and_snapshot_are_isolated_from_changes)
{
	char src[512], a[512], b[512], s[512];
	struct store_txn *t;
	struct store_env e = {0}, src_env;
	struct store_snap snap = {0};

	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 7);
	import_ok("orig", src, NULL);
	/* clone orig to copy, snapshot orig as s1 */
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_get(t, "orig", &src_env), 0);
	snprintf(e.name, sizeof(e.name), "copy");
	cr_assert_eq(store_env_create(t, &e, src_env.root), 0);
	snprintf(snap.name, sizeof(snap.name), "s1");
	cr_assert_eq(store_snap_create(t, &src_env, &snap), 0);
	cr_assert_eq(store_txn_commit(t), 0);

	write_root_file("copy", "new-in-copy", "hello from the clone");
	write_deep_file("copy", "d0", "deep", "changed deep in the clone");
	write_deep_file("orig", "d0", "deep", "changed deep in the original");

	path_in(a, sizeof(a), "a");
	path_in(b, sizeof(b), "b");
	path_in(s, sizeof(s), "s");
	export_ok("orig@s1", s);
	cr_assert_eq(tree_compare(src, s), 0, "snapshot changed");
	export_ok("orig", a);
	export_ok("copy", b);
	cr_assert_eq(tree_file_eq(a, "d0/deep", "changed deep in the original"),
		     0);
	cr_assert_eq(tree_file_eq(b, "d0/deep", "changed deep in the clone"),
		     0);
	cr_assert_eq(tree_file_eq(b, "new-in-copy", "hello from the clone"), 0);
	cr_assert_neq(tree_file_eq(a, "new-in-copy", "hello from the clone"),
		      0);
	cr_assert_eq(verify(true), 0);
}

/* A second import of an identical tree shares the first's tables (as a
 * clone would), each env then changes only its own copy; a tree holding
 * the same subtree twice shares neither (one env never holds a file id
 * twice); gc after the first env is gone keeps the second whole. */
Test(store, identical_imports_share_tables_and_stay_isolated)
{
	char src[512], dup[512], a[512], b[512], cmd[3000];
	struct store_import_stats sb = {0};
	struct store_entry x, y;
	struct store_txn *t;
	struct store_gc_stats gs;

	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 11);
	import_ok("first", src, NULL);
	import_ok("second", src, &sb);
	cr_assert_eq(sb.dirs_shared, 1,
		     "the whole tree is one shared root (%llu)",
		     (unsigned long long)sb.dirs_shared);
	cr_assert_eq(env_root("first"), env_root("second"));

	write_root_file("second", "only-in-second", "mine");
	write_deep_file("first", "d0", "deep", "changed in the first");
	path_in(a, sizeof(a), "a");
	path_in(b, sizeof(b), "b");
	export_ok("first", a);
	export_ok("second", b);
	cr_assert_eq(tree_file_eq(a, "d0/deep", "changed in the first"), 0);
	cr_assert_neq(tree_file_eq(b, "d0/deep", "changed in the first"), 0);
	cr_assert_eq(tree_file_eq(b, "only-in-second", "mine"), 0);
	cr_assert_neq(tree_file_eq(a, "only-in-second", "mine"), 0);

	/* the same subtree twice in one tree: nothing of it is shared */
	path_in(dup, sizeof(dup), "dup");
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s && cp -a %s %s/one && cp -a %s %s/two", dup, src,
		 dup, src, dup);
	cr_assert_eq(system(cmd), 0);
	memset(&sb, 0, sizeof(sb));
	import_ok("twice", dup, &sb);
	cr_assert_eq(sb.dirs_shared, 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_dir_get(t, env_root("twice"), "one", 3, &x), 0);
	cr_assert_eq(store_dir_get(t, env_root("twice"), "two", 3, &y), 0);
	store_txn_abort(t);
	cr_assert_neq(x.ref, y.ref);
	cr_assert_neq(x.ref, env_root("second"));
	cr_assert_neq(x.a.fid, y.a.fid);

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_delete(t, "first"), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_gc(st, &gs), 0);
	path_in(b, sizeof(b), "b2");
	export_ok("second", b);
	cr_assert_eq(tree_file_eq(b, "only-in-second", "mine"), 0);
	for (int d = 0; d < 3; d++) { /* untouched by either change */
		char x1[600], x2[600];

		snprintf(x1, sizeof(x1), "%s/d%d", src, d);
		snprintf(x2, sizeof(x2), "%s/d%d", b, d);
		cr_assert_eq(tree_compare(x1, x2), 0, "d%d", d);
	}
	cr_assert_eq(verify(true), 0);

	/* with every env gone, gc leaves no index entry behind */
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_delete(t, "second"), 0);
	cr_assert_eq(store_env_delete(t, "twice"), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_gc(st, &gs), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	{
		MDB_stat ms;

		cr_assert_eq(mdb_stat(t->txn, st->dbi[DB_TABIDX], &ms), 0);
		cr_assert_eq(ms.ms_entries, 0, "%zu stale index entries",
			     ms.ms_entries);
	}
	store_txn_abort(t);
}

Test(store, random_access_reads_match_the_bytes)
{
	size_t len = 3 * 1024 * 1024 + 12345, i;
	unsigned char *data = malloc(len), *buf = malloc(len);
	struct store_txn *t;
	uint64_t id;

	srand(1);
	for (i = 0; i < len; i++) /* compressible and not */
		data[i] =
		    (unsigned char)(i % 7 == 0 ? (size_t)rand() : i / 1000);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_blob_put(t, data, len, &id), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	for (i = 0; i < 500; i++) {
		uint64_t off = (uint64_t)rand() % len;
		size_t n = (size_t)rand() % (400 * 1024);
		size_t want = off + n > len ? len - off : n;
		ssize_t got = store_blob_read(t, id, buf, n, off);

		cr_assert_eq(got, (ssize_t)want, "read %zu at %llu", n,
			     (unsigned long long)off);
		cr_assert_eq(memcmp(buf, data + off, want), 0);
	}
	cr_assert_eq(store_blob_read(t, id, buf, 10, len), 0);
	store_txn_abort(t);
	free(data);
	free(buf);
}

/* A malloc'd copy of len bytes (lazy preps take their buffer over). */
static void *dup_bytes(const void *data, size_t len)
{
	void *p = malloc(len);

	cr_assert_not_null(p);
	memcpy(p, data, len);
	return p;
}

/* A lazy prep (taking its buffer over) is hashed only: known content is reused
 * without ever being compressed, new content is compressed by the commit (or
 * before it), and the stored bytes read back the same either way. */
Test(store, lazy_preps_compress_only_new_content)
{
	size_t len = 600 * 1024 + 77, i; /* whole and chunked */
	unsigned char *data = malloc(len), *buf = malloc(len);
	struct store_blob_prep *a, *b, *c;
	struct store_txn *t;
	uint64_t ida, idb, idc;
	bool dup;

	for (i = 0; i < len; i++)
		data[i] = (unsigned char)(i / 3000 + (i % 11 == 0 ? i : 0));
	cr_assert_eq(store_blob_prepare_lazy(dup_bytes(data, len), len, &a), 0);
	cr_assert_eq(store_blob_prep_stored(a), 0,
		     "a lazy prep compresses nothing");
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_blob_known(t, a), 0);
	cr_assert_eq(store_blob_commit(t, a, &ida, &dup), 0);
	cr_assert(!dup);
	cr_assert_gt(store_blob_prep_stored(a), 0, "the commit compressed it");
	cr_assert_lt(store_blob_prep_stored(a), len, "and it shrank");
	cr_assert_eq(store_txn_commit(t), 0);

	/* the same bytes: known, reused, still not compressed */
	cr_assert_eq(store_blob_prepare_lazy(dup_bytes(data, len), len, &b), 0);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_blob_known(t, b), 1);
	cr_assert_eq(store_blob_commit(t, b, &idb, &dup), 0);
	cr_assert(dup);
	cr_assert_eq(idb, ida);
	cr_assert_eq(store_blob_prep_stored(b), 0);
	cr_assert_eq(store_txn_commit(t), 0);

	/* other bytes, compressed before the txn, as blastfs does */
	data[len / 2] ^= 0x5a;
	cr_assert_eq(store_blob_prepare_lazy(dup_bytes(data, len), len, &c), 0);
	cr_assert_eq(store_blob_prep_compress(c), 0);
	cr_assert_gt(store_blob_prep_stored(c), 0);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_blob_known(t, c), 0);
	cr_assert_eq(store_blob_commit(t, c, &idc, &dup), 0);
	cr_assert(!dup);
	cr_assert_neq(idc, ida);
	cr_assert_eq(store_txn_commit(t), 0);

	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_blob_read(t, idc, buf, len, 0), (ssize_t)len);
	cr_assert_eq(memcmp(buf, data, len), 0);
	data[len / 2] ^= 0x5a;
	cr_assert_eq(store_blob_read(t, ida, buf, len, 0), (ssize_t)len);
	cr_assert_eq(memcmp(buf, data, len), 0);
	store_txn_abort(t);
	cr_assert_eq(verify(true), 0);
	store_blob_prep_free(a);
	store_blob_prep_free(b);
	store_blob_prep_free(c);
	free(data);
	free(buf);
}

Test(store, gc_frees_exactly_the_unreachable)
{
	char src[512], out[512];
	struct store_gc_stats gs;
	struct store_totals before, mid, after;
	struct store_txn *t;

	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 3);
	import_ok("keep", "/usr/lib/python3.11/json", NULL);
	before = totals();
	import_ok("drop", src, NULL);
	mid = totals();
	cr_assert_gt(mid.blobs, before.blobs);
	cr_assert_eq(store_gc(st, &gs), 0);
	cr_assert_eq(gs.blobs_freed, 0, "gc freed referenced blobs");
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_delete(t, "drop"), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_gc(st, &gs), 0);
	after = totals();
	cr_assert_eq(gs.blobs_freed, mid.blobs - before.blobs);
	cr_assert_eq(after.blobs, before.blobs);
	cr_assert_eq(after.tables, before.tables);
	cr_assert_eq(verify(true), 0);
	path_in(out, sizeof(out), "out");
	export_ok("keep", out);
	cr_assert_eq(tree_compare("/usr/lib/python3.11/json", out), 0);
}

/* Flip a byte of the stored bytes behind record v (hdr bytes of header):
 * in its pack file, or in the record of an older store. */
static void flip_stored_byte(enum store_db db, MDB_val *k, size_t hdr)
{
	unsigned char *copy, c;
	struct store_txn *t;
	char path[600];
	uint32_t file, len;
	uint64_t off;
	MDB_val v;
	int fd;

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_get(t, db, k, &v), 0);
	copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	if (db == DB_CHUNKS && (copy[0] & ~CODEC_COMPACTED) == CODEC_PACK) {
		/* a member of a shared frame: flip the frame */
		unsigned char kb[8];
		MDB_val pk = {8, kb};

		store_txn_abort(t);
		put_be64(kb, get_le64(copy + STORE_CHUNK_HDR));
		free(copy);
		flip_stored_byte(DB_PACKS, &pk, PACK_RECORD_HDR);
		return;
	}
	if (copy[0] & CODEC_EXT) {
		store_txn_abort(t);
		store_pfref_decode(copy + hdr, &file, &off, &len);
		cr_assert_eq(store_pfile_path(st, file, path, sizeof(path)), 0);
		fd = open(path, O_RDWR);
		cr_assert_geq(fd, 0);
		cr_assert_eq(pread(fd, &c, 1, (off_t)(off + len / 2)), 1);
		c ^= 0x20;
		cr_assert_eq(pwrite(fd, &c, 1, (off_t)(off + len / 2)), 1);
		close(fd);
		free(copy);
		return;
	}
	copy[v.mv_size / 2] ^= 0x20;
	v.mv_data = copy;
	cr_assert_eq(store_put(t, db, k, &v, 0), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	free(copy);
}

/* Flip one byte of the first chunk of blob `id` behind the store's back. */
static void flip_chunk_byte(uint64_t id)
{
	unsigned char kb[12];
	MDB_val k = {12, kb};

	put_be64(kb, id);
	put_be32(kb + 8, 0);
	flip_stored_byte(DB_CHUNKS, &k, STORE_CHUNK_HDR);
}

Test(store, flipped_byte_is_eio_and_verify_names_it)
{
	const char *text = "import os\nprint('hello world, this is a test')\n"
			   "# padding padding padding padding padding\n";
	char buf[256];
	struct store_txn *t;
	uint64_t id;

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_blob_put(t, text, strlen(text), &id), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(verify(true), 0, "an unreferenced blob is not a problem");
	flip_chunk_byte(id);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_blob_read(t, id, buf, sizeof(buf), 0), -EIO);
	store_txn_abort(t);
	cr_assert_geq(verify(true), 1);
}

Test(store, flipped_byte_in_an_env_file_is_reported_by_deep_verify)
{
	struct store_txn *t;
	struct store_entry e;
	uint64_t root;

	import_ok("j", "/usr/lib/python3.11/json", NULL);
	/* shallow: a deep one would leave decoded frames in the process's
	 * cache, which serves their (correct) bytes after the flip */
	cr_assert_eq(verify(false), 0);
	root = env_root("j");
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_dir_get(t, root, "decoder.py", 10, &e), 0);
	store_txn_abort(t);
	cr_assert_eq(e.payload, STORE_P_BLOB);
	flip_chunk_byte(e.ref);
	/* the file, and the files sharing its frame */
	cr_assert_geq(verify(true), 1);
}

Test(store, concurrent_imports_in_two_processes_both_succeed)
{
	pid_t pids[2];
	int i, status;

	store_close(st);
	st = NULL;
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0) {
			struct store *cs;
			struct store_env e = {0};
			int err = store_open(home, 0, &cs);

			snprintf(e.name, sizeof(e.name), "proc%d", i);
			if (!err)
				err = store_import(
				    cs,
				    i ? "/usr/lib/python3.11"
				      : "/usr/lib/python3.11/email",
				    &e, 2, NULL);
			store_close(cs);
			_exit(err ? 1 : 0);
		}
	}
	for (i = 0; i < 2; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	cr_assert_eq(store_open(home, 0, &st), 0);
	store_set_log(st, storefix_quiet, NULL);
	cr_assert_eq(verify(true), 0);
	cr_assert_neq(env_root("proc0"), 0);
	cr_assert_neq(env_root("proc1"), 0);
}

Test(store, invalid_names_are_refused)
{
	const char *bad[] = {"",
			     ".hidden",
			     "-dash",
			     "--allow-other",
			     "a/b",
			     "sp ace",
			     "x@y",
			     "0123456789012345678901234567890123456789"
			     "0123456789012345678901234"};
	struct store_env e = {0};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cr_assert_eq(store_name_check(bad[i]), -EINVAL, "'%s'", bad[i]);
		if (strlen(bad[i]) >= sizeof(e.name))
			continue;
		snprintf(e.name, sizeof(e.name), "%s", bad[i]);
		cr_assert_eq(
		    store_import(st, "/usr/lib/python3.11/json", &e, 1, NULL),
		    -EINVAL, "name '%s'", bad[i]);
	}
	cr_assert_eq(store_name_check("ok-name_1.2"), 0);
	cr_assert_eq(totals().envs, 0);
}

Test(store, missing_dir_and_duplicate_name_change_nothing)
{
	struct store_env e = {0};
	struct store_totals a, b;

	import_ok("dup", "/usr/lib/python3.11/json", NULL);
	a = totals();
	snprintf(e.name, sizeof(e.name), "dup");
	cr_assert_eq(store_import(st, "/usr/lib/python3.11/email", &e, 1, NULL),
		     -EEXIST);
	snprintf(e.name, sizeof(e.name), "other");
	cr_assert_eq(store_import(st, "/nonexistent/dir", &e, 1, NULL),
		     -ENOENT);
	b = totals();
	cr_assert_eq(a.blobs, b.blobs);
	cr_assert_eq(a.tables, b.tables);
	cr_assert_eq(a.envs, b.envs);
}

Test(store, unreadable_file_fails_import_cleanly)
{
	char src[512], f[600];
	struct store_env e = {0};
	struct store_totals a, b;
	struct store_gc_stats gs;

	if (geteuid() == 0)
		cr_skip_test("root reads any file; the read-failure path is "
			     "covered by failed_read_leaves_store_unchanged");
	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 5);
	snprintf(f, sizeof(f), "%s/d0/big", src);
	cr_assert_eq(chmod(f, 0), 0);
	a = totals();
	snprintf(e.name, sizeof(e.name), "broken");
	cr_assert_eq(store_import(st, src, &e, 1, NULL), -EACCES);
	cr_assert_eq(store_gc(st, &gs), 0);
	b = totals();
	cr_assert_eq(a.envs, b.envs);
	cr_assert_eq(a.blobs, b.blobs);
	cr_assert_eq(verify(true), 0);
}

Test(store, another_format_version_is_refused)
{
	struct store_txn *t;
	struct store *again;

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_meta_put_u64(t, "format", 99), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	store_close(st);
	st = NULL;
	cr_assert_eq(store_open(home, 0, &again), -EPROTO);
	/* put it back so teardown's store is usable */
}

/* A format 1 store (no packs database) is upgraded in place when opened:
 * its content is intact and it compacts into packs. */
Test(store, format_1_store_is_upgraded_in_place)
{
	struct store_txn *t;
	char out[512];
	uint64_t ver = 0;

	char src[512], f[600];

	/* files too big to share frames: a format 1 store had no packs */
	path_in(src, sizeof(src), "big");
	cr_assert_eq(mkdir(src, 0755), 0);
	for (int i = 0; i < 2; i++) {
		FILE *fp;

		snprintf(f, sizeof(f), "%s/f%d", src, i);
		fp = fopen(f, "w");
		cr_assert_not_null(fp);
		for (int l = 0; l < 4000; l++)
			fprintf(fp, "line %d of file %d\n", l, i);
		fclose(fp);
	}
	import_ok("old", src, NULL);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_meta_put_u64(t, "format", 1), 0);
	cr_assert_eq(mdb_drop(t->txn, st->dbi[DB_PACKS], 1), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	store_close(st);
	st = NULL;
	cr_assert_eq(store_open(home, 0, &st), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_meta_get_u64(t, "format", &ver), 0);
	store_txn_abort(t);
	cr_assert_eq(ver, STORE_FORMAT_VERSION);
	cr_assert_eq(store_compact(st, 15, 1, NULL), 0);
	path_in(out, sizeof(out), "old-out");
	export_ok("old", out);
	cr_assert_eq(tree_compare(src, out), 0);
	cr_assert_eq(verify(true), 0);
}

Test(store, store_path_that_is_a_file_is_refused)
{
	char f[512];
	struct store *s2;
	int fd;

	path_in(f, sizeof(f), "afile");
	fd = open(f, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(store_open(f, 0, &s2), -ENOTDIR);
	cr_assert_eq(
	    store_open("/nonexistent-blast-store", STORE_READONLY, &s2),
	    -ENOENT);
}

/* Fault injection: whatever single operation fails during an import, the
 * store keeps its envs and tables exactly, and verifies clean. */
static void import_under_fault(enum store_fault kind, unsigned long nth_max)
{
	char src[512];
	struct store_totals a, b;
	struct store_gc_stats gs;
	unsigned long nth;
	int failures = 0;

	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 11);
	import_ok("base", "/usr/lib/python3.11/json", NULL);
	cr_assert_eq(store_gc(st, &gs), 0);
	a = totals();
	for (nth = 1; nth <= nth_max; nth++) {
		struct store_env e = {0};
		int err;

		snprintf(e.name, sizeof(e.name), "victim");
		store_fault_set(kind, nth);
		err = store_import(st, src, &e, 1, NULL);
		store_fault_set(kind, 0);
		if (!err) {
			struct store_txn *t;

			/* the fault fell past the import: undo it */
			cr_assert_eq(store_txn_begin(st, true, &t), 0);
			cr_assert_eq(store_env_delete(t, "victim"), 0);
			cr_assert_eq(store_txn_commit(t), 0);
		} else {
			failures++;
		}
		cr_assert_eq(store_gc(st, &gs), 0);
		b = totals();
		cr_assert_eq(a.envs, b.envs, "fault %d at %lu", kind, nth);
		cr_assert_eq(a.tables, b.tables, "fault %d at %lu", kind, nth);
		cr_assert_eq(a.blobs, b.blobs, "fault %d at %lu", kind, nth);
		cr_assert_eq(verify(true), 0, "fault %d at %lu", kind, nth);
	}
	cr_assert_gt(failures, 0);
}

Test(store, failed_commit_leaves_store_unchanged)
{
	import_under_fault(STORE_FAULT_COMMIT, 4);
}

Test(store, failed_put_leaves_store_unchanged)
{
	import_under_fault(STORE_FAULT_PUT, 60);
}

Test(store, failed_malloc_leaves_store_unchanged)
{
	import_under_fault(STORE_FAULT_MALLOC, 60);
}

Test(store, failed_read_leaves_store_unchanged)
{
	import_under_fault(STORE_FAULT_WRITE, 6);
}

Test(store, failed_write_during_export_is_reported)
{
	char out[512];

	import_ok("x", "/usr/lib/python3.11/json", NULL);
	path_in(out, sizeof(out), "out");
	store_fault_set(STORE_FAULT_WRITE, 3);
	cr_assert_eq(store_export(st, env_root("x"), out), -EIO);
	store_fault_set(STORE_FAULT_WRITE, 0);
	cr_assert_eq(verify(true), 0);
}

Test(store, map_full_is_enospc_and_changes_nothing)
{
	/* a tiny map: reopen the env with a 1 MiB map */
	struct store_txn *t;
	struct store_env e = {0};
	struct store_totals a, b;

	import_ok("small", "/usr/lib/python3.11/json", NULL);
	a = totals();
	cr_assert_eq(mdb_env_set_mapsize(st->env, a.map_used + 64 * 1024), 0);
	snprintf(e.name, sizeof(e.name), "big");
	cr_assert_eq(store_import(st, "/usr/lib/python3.11/email", &e, 1, NULL),
		     -ENOSPC);
	b = totals();
	cr_assert_eq(a.envs, b.envs);
	cr_assert_eq(a.tables, b.tables);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	store_txn_abort(t);
	cr_assert_eq(verify(false), 0);
}

static int collect_keys(void *arg, const char *key, const void *val, size_t len)
{
	char *buf = arg;
	size_t n = strlen(buf);

	(void)val;
	(void)len;
	snprintf(buf + n, 256 - n, "%s;", key);
	return 0;
}

static void state_is(const char *ref, const char *key, const char *want)
{
	struct store_txn *t;
	uint64_t root;
	void *val = NULL;
	size_t len = 0;
	int err;

	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_ref_resolve(t, ref, &root), 0);
	err = store_state_get(t, root, key, &val, &len);
	store_txn_abort(t);
	if (!want) {
		cr_assert_eq(err, -ENOENT, "%s %s: %d", ref, key, err);
		return;
	}
	cr_assert_eq(err, 0, "%s %s: %d", ref, key, err);
	cr_assert_eq(len, strlen(want));
	cr_assert_str_eq(val, want);
	free(val);
}

Test(store, env_state_is_carried_by_snapshots_and_clones)
{
	char src[512], out[512], keys[256] = "", big[5000];
	struct store_txn *t;
	struct store_env e, c = {0};
	struct store_snap s = {0};

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 5);
	import_ok("env", src, NULL);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_get(t, "env", &e), 0);
	cr_assert_eq(store_state_set(t, &e, "var:A", "1", 1), 0);
	cr_assert_eq(store_state_set(t, &e, "var:B", big, strlen(big)), 0);
	cr_assert_eq(store_state_set(t, &e, "policy:fs.quota", "9", 1), 0);
	cr_assert_eq(store_state_set(t, &e, "", "1", 1), -EINVAL);
	cr_assert_eq(store_state_del(t, &e, "var:none"), -ENOENT);
	snprintf(s.name, sizeof(s.name), "s1");
	cr_assert_eq(store_snap_create(t, &e, &s), 0);
	cr_assert_eq(store_state_set(t, &e, "var:A", "2", 1), 0);
	cr_assert_eq(store_state_del(t, &e, "var:B"), 0);
	snprintf(c.name, sizeof(c.name), "clone");
	cr_assert_eq(store_env_create(t, &c, s.root), 0);
	cr_assert_eq(store_state_iter(t, e.root, "var:", collect_keys, keys),
		     0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_str_eq(keys, "var:A;");
	state_is("env", "var:A", "2");
	state_is("env", "var:B", NULL);
	state_is("env@s1", "var:A", "1");
	state_is("env@s1", "var:B", big);
	state_is("clone", "var:B", big);
	state_is("clone", "policy:fs.quota", "9");
	/* export shows only the files */
	path_in(out, sizeof(out), "out");
	export_ok("env", out);
	cr_assert_eq(tree_compare(src, out), 0);
	cr_assert_eq(verify(true), 0);
}

static struct store_compact_stats compact_ok(void)
{
	struct store_compact_stats cs;

	cr_assert_eq(store_compact(st, 3, 2, &cs), 0);
	return cs;
}

/* Flip one byte inside the frame of pack `id`. */
static void flip_pack_byte(uint64_t id)
{
	unsigned char kb[8];
	MDB_val k = {8, kb};

	put_be64(kb, id);
	flip_stored_byte(DB_PACKS, &k, PACK_RECORD_HDR);
}

Test(store, compact_packs_and_recompresses_without_changing_content)
{
	char src[512], out[512], out2[512];
	struct store_compact_stats cs;
	struct store_totals before, after;
	struct store_txn *t;
	struct store_env e;
	struct store_snap s = {0};

	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 11);
	import_ok("std", "/usr/lib/python3.11/email", NULL);
	import_ok("syn", src, NULL);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_get(t, "std", &e), 0);
	snprintf(s.name, sizeof(s.name), "s1");
	cr_assert_eq(store_snap_create(t, &e, &s), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	before = totals();
	cs = compact_ok();
	after = totals();
	cr_assert_gt(cs.packs, 0);
	cr_assert_gt(cs.blobs_packed, cs.packs);
	cr_assert_eq(cs.stored_before, before.stored);
	cr_assert_eq(cs.stored_after, after.stored);
	/* imports pack small files already (level 3): compaction repacks
	 * them at its level and must not cost more than 1 % */
	cr_assert_leq(after.stored, before.stored + before.stored / 100,
		      "stored %llu -> %llu", (unsigned long long)before.stored,
		      (unsigned long long)after.stored);
	cr_assert_eq(after.blobs, before.blobs);
	cr_assert_eq(verify(true), 0);
	/* a second run has nothing left to do */
	cs = compact_ok();
	cr_assert_eq(cs.packs + cs.chunks_recompressed, 0);
	cr_assert_eq(cs.stored_after, after.stored);
	/* every byte reads back, through a cold and a warm pack cache */
	path_in(out, sizeof(out), "out");
	export_ok("std", out);
	cr_assert_eq(tree_compare("/usr/lib/python3.11/email", out), 0);
	path_in(out2, sizeof(out2), "out2");
	export_ok("syn", out2);
	cr_assert_eq(tree_compare(src, out2), 0);
	/* a change after compaction is ordinary copy-on-write */
	write_deep_file("std", "mime", "text.py", "changed after compact");
	tree_remove(out);
	export_ok("std@s1", out);
	cr_assert_eq(tree_compare("/usr/lib/python3.11/email", out), 0);
	/* content shared with new imports still deduplicates */
	before = totals();
	import_ok("std2", "/usr/lib/python3.11/email", NULL);
	cr_assert_eq(totals().blobs, before.blobs);
	cr_assert_eq(verify(true), 0);
}

Test(store, gc_frees_packs_with_their_last_member)
{
	struct store_gc_stats gs;
	struct store_txn *t;
	MDB_stat ms;

	import_ok("a", "/usr/lib/python3.11/json", NULL);
	compact_ok();
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(mdb_stat(t->txn, t->st->dbi[DB_PACKS], &ms), 0);
	store_txn_abort(t);
	cr_assert_gt(ms.ms_entries, 0);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_delete(t, "a"), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_gc(st, &gs), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(mdb_stat(t->txn, t->st->dbi[DB_PACKS], &ms), 0);
	store_txn_abort(t);
	cr_assert_eq(ms.ms_entries, 0, "packs left after gc");
	cr_assert_eq(totals().blobs, 0);
	cr_assert_eq(verify(true), 0);
}

Test(store, flipped_byte_in_a_pack_is_eio_and_reported)
{
	struct store_txn *t;
	struct store_entry e;
	const unsigned char *data;
	unsigned char codec;
	uint64_t root, check;
	size_t len;
	char buf[64];

	import_ok("j", "/usr/lib/python3.11/json", NULL);
	compact_ok();
	root = env_root("j");
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_dir_get(t, root, "tool.py", 7, &e), 0);
	cr_assert_eq(e.payload, STORE_P_BLOB);
	cr_assert_eq(store_chunk_get(t, e.ref, 0, &codec, &check, &data, &len),
		     0);
	cr_assert_eq(codec & ~CODEC_COMPACTED, CODEC_PACK);
	root = get_le64(data); /* the pack's id */
	store_txn_abort(t);
	flip_pack_byte(root);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_blob_read(t, e.ref, buf, sizeof(buf), 0), -EIO);
	store_txn_abort(t);
	cr_assert_geq(verify(true), 1);
}

/* ---- reclaim ---- */

static struct store_reclaim_stats reclaim_all(void)
{
	struct store_reclaim_stats rs = {0};
	int r;

	/* a small batch: several write txns */
	while ((r = store_reclaim(st, 0, 3, &rs)) > 0)
		;
	cr_assert_eq(r, 0);
	return rs;
}

static size_t zeroref_count(void)
{
	struct store_txn *t;
	MDB_stat ms;

	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(mdb_stat(t->txn, st->dbi[DB_ZEROREF], &ms), 0);
	store_txn_abort(t);
	return ms.ms_entries;
}

static void drop_env(const char *name)
{
	struct store_txn *t;

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_delete(t, name), 0);
	cr_assert_eq(store_txn_commit(t), 0);
}

/* Reclaim frees exactly what gc would, and only that: the dropped env's
 * blobs, not those another env or a snapshot still holds. */
Test(store, reclaim_frees_exactly_the_unreferenced)
{
	char src[512], out[512];
	struct store_reclaim_stats rs;
	struct store_totals before, mid, after;

	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 3);
	import_ok("keep", "/usr/lib/python3.11/json", NULL);
	before = totals();
	cr_assert_eq(zeroref_count(), 0, "an import left blobs at 0");
	import_ok("drop", src, NULL);
	mid = totals();
	cr_assert_gt(mid.blobs, before.blobs);
	rs = reclaim_all();
	cr_assert_eq(rs.blobs_freed, 0, "reclaim freed referenced blobs");
	drop_env("drop");
	cr_assert_eq(zeroref_count(), mid.blobs - before.blobs);
	cr_assert_eq(verify(true), 0);
	rs = reclaim_all();
	after = totals();
	cr_assert_eq(rs.blobs_freed, mid.blobs - before.blobs);
	cr_assert_eq(rs.bytes_freed, mid.stored - before.stored);
	cr_assert_eq(after.blobs, before.blobs);
	cr_assert_eq(after.stored, before.stored);
	cr_assert_eq(zeroref_count(), 0);
	cr_assert_eq(verify(true), 0);
	path_in(out, sizeof(out), "out");
	export_ok("keep", out);
	cr_assert_eq(tree_compare("/usr/lib/python3.11/json", out), 0);
}

/* A file rewritten over and over: each old content is freed, a snapshot's
 * content is not, a pinned blob (an open unlinked file) waits for its
 * unpin, and a rewrite back to a content at 0 takes it off the list. */
Test(store, reclaim_spares_snapshots_and_pins)
{
	struct store_reclaim_stats rs;
	struct store_snap snap = {0};
	struct store_env e = {0};
	struct store_txn *t;
	uint64_t pinned;
	char buf[64], out[512];

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	snprintf(e.name, sizeof(e.name), "env");
	cr_assert_eq(store_env_create(t, &e, 0), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	write_root_file("env", "f", "version in the snapshot");
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_get(t, "env", &e), 0);
	snprintf(snap.name, sizeof(snap.name), "s1");
	cr_assert_eq(store_snap_create(t, &e, &snap), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "rewrite %d", i);
		write_root_file("env", "f", buf);
	}
	cr_assert_eq(zeroref_count(), 19);
	rs = reclaim_all();
	cr_assert_eq(rs.blobs_freed, 19);
	/* pin the live content, then drop it as an unlink would */
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_blob_put(t, "rewrite 19", 10, &pinned), 0);
	cr_assert_eq(store_pin(t, pinned), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	write_root_file("env", "f", "after the unlink");
	rs = reclaim_all();
	cr_assert_eq(rs.blobs_freed, 0, "a pinned blob was freed");
	cr_assert_eq(zeroref_count(), 1);
	cr_assert_eq(verify(true), 0);
	/* the same content again: referenced, off the list */
	write_root_file("env", "g", "rewrite 19");
	cr_assert_eq(zeroref_count(), 0);
	write_root_file("env", "g", "something else");
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_unpin(t, pinned), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	rs = reclaim_all();
	cr_assert_eq(rs.blobs_freed, 1);
	cr_assert_eq(totals().blobs, 3); /* snapshot's, f's and g's */
	cr_assert_eq(verify(true), 0);
	path_in(out, sizeof(out), "s1");
	export_ok("env@s1", out);
	cr_assert_eq(tree_file_eq(out, "f", "version in the snapshot"), 0);
}

/* min_age_ns: a blob dropped just now waits. */
Test(store, reclaim_waits_for_the_minimum_age)
{
	struct store_reclaim_stats rs = {0};
	struct store_env e = {0};
	struct store_txn *t;

	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	snprintf(e.name, sizeof(e.name), "env");
	cr_assert_eq(store_env_create(t, &e, 0), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	write_root_file("env", "f", "one");
	write_root_file("env", "f", "two");
	cr_assert_eq(store_reclaim(st, 3600ll * 1000000000, 8, &rs), 0);
	cr_assert_eq(rs.blobs_freed, 0);
	cr_assert_eq(store_reclaim(st, 0, 8, &rs), 0);
	cr_assert_eq(rs.blobs_freed, 1);
	cr_assert_eq(store_reclaim(st, 0, 0, &rs), -EINVAL);
}

/* A store made before the index: read-only it verifies clean and cannot
 * reclaim; the first writing open indexes its blobs at 0. A wrong index
 * is reported by verify and rebuilt by gc. */
Test(store, reclaim_index_is_built_for_an_older_store)
{
	struct store_reclaim_stats rs = {0};
	struct store_gc_stats gs;
	struct store_txn *t;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t n;
	int problems = 0;

	import_ok("a", "/usr/lib/python3.11/json", NULL);
	drop_env("a");
	n = zeroref_count();
	cr_assert_gt(n, 0);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(mdb_drop(t->txn, st->dbi[DB_ZEROREF], 1), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	store_close(st);
	cr_assert_eq(store_open(home, STORE_READONLY, &st), 0);
	store_set_log(st, storefix_quiet, NULL);
	cr_assert_eq(verify(true), 0);
	cr_assert_eq(store_reclaim(st, 0, 8, &rs), -EROFS);
	store_close(st);
	cr_assert_eq(store_open(home, 0, &st), 0);
	store_set_log(st, storefix_quiet, NULL);
	cr_assert_eq(zeroref_count(), n);
	cr_assert_eq(verify(true), 0);
	/* lose one entry, add a bogus one: verify names both, gc repairs */
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(mdb_cursor_open(t->txn, st->dbi[DB_ZEROREF], &cur), 0);
	cr_assert_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	cr_assert_eq(mdb_cursor_del(cur, 0), 0);
	mdb_cursor_close(cur);
	cr_assert_eq(store_zeroref_add(t, 999999), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_verify(st, false, report_count, &problems), 2);
	cr_assert_eq(store_gc(st, &gs), 0);
	cr_assert_eq(gs.blobs_freed, n);
	cr_assert_eq(zeroref_count(), 0);
	cr_assert_eq(verify(true), 0);
	cr_assert_eq(totals().blobs, 0);
}

/* Whatever single operation fails during a reclaim, the store is as it
 * was (or as after the whole reclaim) and verifies clean. */
static void reclaim_under_fault(enum store_fault kind, unsigned long nth_max)
{
	struct store_totals a, b;
	unsigned long nth;
	int failures = 0;

	for (nth = 1; nth <= nth_max; nth++) {
		struct store_reclaim_stats rs = {0};
		int err;

		import_ok("victim", "/usr/lib/python3.11/json", NULL);
		drop_env("victim");
		a = totals();
		store_fault_set(kind, nth);
		err = store_reclaim(st, 0, 1000, &rs);
		store_fault_set(kind, 0);
		b = totals();
		if (err < 0) {
			failures++;
			cr_assert_eq(a.blobs, b.blobs, "fault %d at %lu", kind,
				     nth);
			cr_assert_eq(zeroref_count(), a.blobs);
		} else {
			cr_assert_eq(b.blobs, 0, "fault %d at %lu", kind, nth);
		}
		cr_assert_eq(verify(true), 0, "fault %d at %lu", kind, nth);
		reclaim_all();
		cr_assert_eq(totals().blobs, 0);
	}
	cr_assert_gt(failures, 0);
}

Test(store, failed_reclaim_leaves_store_unchanged)
{
	reclaim_under_fault(STORE_FAULT_COMMIT, 2);
	reclaim_under_fault(STORE_FAULT_MALLOC, 3);
}

/* ---- progress ---- */

/* What the progress callback saw: per step, its reports. */
struct progress_log {
	char what[8][24];
	uint64_t last[8], total[8], calls[8];
	size_t nsteps;
	bool bad; /* done went back, or passed total, or the unit changed */
	bool bytes[8];
};

static void progress_record(void *arg, const struct store_progress *p)
{
	struct progress_log *l = arg;
	size_t i = l->nsteps;

	if (!i || strcmp(l->what[i - 1], p->what)) {
		cr_assert_lt(i, 8, "too many steps");
		snprintf(l->what[i], sizeof(l->what[i]), "%s", p->what);
		l->bytes[i] = !p->unit;
		l->nsteps = ++i;
	}
	i--;
	if (p->done < l->last[i] || (p->total && p->done > p->total) ||
	    l->bytes[i] != !p->unit || (l->calls[i] && l->total[i] != p->total))
		l->bad = true;
	l->last[i] = p->done;
	l->total[i] = p->total;
	l->calls[i]++;
}

/* The step named what (it must have reported): its index. */
static size_t progress_find(const struct progress_log *l, const char *what)
{
	for (size_t i = 0; i < l->nsteps; i++)
		if (!strcmp(l->what[i], what)) {
			cr_assert_gt(l->calls[i], 0);
			return i;
		}
	cr_assert_fail("no step '%s'", what);
	return 0;
}

/* progress_find, and the step ended at its total (when known). */
static size_t progress_step(const struct progress_log *l, const char *what)
{
	size_t i = progress_find(l, what);

	cr_assert(!l->total[i] || l->last[i] == l->total[i],
		  "%s ended at %llu of %llu", what,
		  (unsigned long long)l->last[i],
		  (unsigned long long)l->total[i]);
	return i;
}

Test(store, long_operations_report_progress_up_to_their_totals)
{
	struct progress_log l = {0};
	struct store_import_stats is;
	uint64_t stored;
	char src[300];
	size_t i;

	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 5);
	store_set_progress(st, progress_record, &l);

	import_ok("a", src, &is);
	cr_assert(!l.bad);
	i = progress_step(&l, "scanning");
	cr_assert(!l.bytes[i] && l.total[i] == 0 && l.last[i] <= is.files);
	i = progress_step(&l, "importing");
	cr_assert(l.bytes[i] && l.total[i] > 0 && l.total[i] <= is.bytes);

	memset(&l, 0, sizeof(l));
	stored = totals().stored;
	compact_ok();
	cr_assert(!l.bad);
	i = progress_step(&l, "compacting");
	cr_assert_eq(l.total[i], stored);

	memset(&l, 0, sizeof(l));
	cr_assert_eq(verify(true), 0);
	cr_assert(!l.bad);
	i = progress_step(&l, "verifying");
	cr_assert_eq(l.total[i], totals().blobs);
	i = progress_find(&l, "checking"); /* tables: of all, those reached */
	cr_assert(!l.bytes[i] && l.last[i] <= l.total[i]);
	cr_assert_eq(l.total[i], totals().tables);

	memset(&l, 0, sizeof(l));
	drop_env("a");
	cr_assert_eq(store_gc(st, NULL), 0);
	cr_assert(!l.bad);
	progress_step(&l, "scanning");

	/* none once unset */
	store_set_progress(st, NULL, NULL);
	memset(&l, 0, sizeof(l));
	cr_assert_eq(verify(false), 0);
	cr_assert_eq(l.nsteps, 0);
}

/* ---- pack files ---- */

static int pack_file_count(void)
{
	char dir[400];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/packs", home);
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((d = readdir(dp)))
		n += strstr(d->d_name, ".pack") != NULL;
	closedir(dp);
	return n;
}

/* Reopen the store with pack files of at most max bytes. */
static void reopen_small_packs(const char *max)
{
	store_close(st);
	setenv("BLAST_PFILE_MAX", max, 1);
	cr_assert_eq(store_open(home, 0, &st), 0);
	unsetenv("BLAST_PFILE_MAX");
	store_set_log(st, storefix_quiet, NULL);
}

Test(store, content_is_in_pack_files_not_in_lmdb)
{
	struct store_txn *t;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t ext = 0, inl = 0;
	char out[512];

	import_ok("j", "/usr/lib/python3.11/email", NULL);
	cr_assert_geq(pack_file_count(), 1);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(mdb_cursor_open(t->txn, st->dbi[DB_CHUNKS], &cur), 0);
	while (!mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *b = v.mv_data;

		if (b[0] & CODEC_EXT || (b[0] & ~CODEC_COMPACTED) == CODEC_PACK)
			ext++;
		else
			inl++;
		cr_assert(b[0] & CODEC_EXT ||
			      (b[0] & ~CODEC_COMPACTED) == CODEC_PACK ||
			      v.mv_size - STORE_CHUNK_HDR <=
				  STORE_CHUNK_INLINE_MAX,
			  "a chunk of %zu bytes kept in LMDB",
			  v.mv_size - STORE_CHUNK_HDR);
	}
	mdb_cursor_close(cur);
	store_txn_abort(t);
	cr_assert_gt(ext, 50);
	cr_assert_eq(verify(true), 0);
	path_in(out, sizeof(out), "out");
	export_ok("j", out);
	cr_assert_eq(tree_compare("/usr/lib/python3.11/email", out), 0);
}

static char last_report[512];

static void report_keep(void *arg, const char *msg)
{
	(*(int *)arg)++;
	snprintf(last_report, sizeof(last_report), "%s", msg);
}

Test(store, truncated_pack_file_is_eio_and_check_names_it)
{
	char path[600], out[512];
	struct store_txn *t;
	struct stat sb;
	int n = 0;

	import_ok("e", "/usr/lib/python3.11/email", NULL);
	cr_assert_eq(store_pfile_path(st, 1, path, sizeof(path)), 0);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(truncate(path, sb.st_size / 2), 0);
	path_in(out, sizeof(out), "out");
	cr_assert_eq(store_export(st, env_root("e"), out), -EIO);
	cr_assert_geq(store_verify(st, false, report_keep, &n), 1);
	cr_assert_not_null(strstr(last_report, "is truncated"), "%s",
			   last_report);
	cr_assert_not_null(strstr(last_report, path), "%s", last_report);
	cr_assert_not_null(strstr(last_report, "lost data"), "%s", last_report);
	/* the store still opens and takes new content */
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	store_txn_abort(t);
	import_ok("j", "/usr/lib/python3.11/json", NULL);
	tree_remove(out);
	export_ok("j", out);
	cr_assert_eq(tree_compare("/usr/lib/python3.11/json", out), 0);
}

/* Blob i of the repack test: 3000 bytes that zstd cannot shrink. */
static void noise(unsigned char *buf, size_t len, unsigned seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
}

Test(store, repack_and_sweep_give_the_space_back)
{
	struct store_repack_stats rs = {0};
	uint64_t ids[200], before, after, bytes = 0;
	unsigned char buf[3000], got[3000];
	struct store_txn *t;
	unsigned files = 0;
	int r;

	reopen_small_packs("65536");
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	for (unsigned i = 0; i < 200; i++) {
		noise(buf, sizeof(buf), i);
		cr_assert_eq(store_blob_put(t, buf, sizeof(buf), &ids[i]), 0);
	}
	cr_assert_eq(store_txn_commit(t), 0);
	/* every other blob referenced: each file is half garbage */
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	for (unsigned i = 0; i < 200; i += 2)
		cr_assert_eq(store_blob_ref(t, ids[i]), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	reclaim_all();
	cr_assert_eq(store_disk_usage(st, &before), 0);
	while ((r = store_repack(st, 60, 32768, false, &rs)) > 0)
		;
	cr_assert_eq(r, 0);
	cr_assert_geq(rs.files, 4, "%u files repacked", rs.files);
	cr_assert_geq(rs.moved_bytes, 100 * 2900);
	cr_assert_eq(store_pfile_sweep(st, &files, &bytes), 0);
	cr_assert_geq(files, 4);
	cr_assert_eq(store_disk_usage(st, &after), 0);
	cr_assert_lt(after + 200000, before, "du %llu -> %llu",
		     (unsigned long long)before, (unsigned long long)after);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	for (unsigned i = 0; i < 200; i += 2) {
		noise(buf, sizeof(buf), i);
		cr_assert_eq(store_blob_read(t, ids[i], got, sizeof(got), 0),
			     (ssize_t)sizeof(got));
		cr_assert_eq(memcmp(buf, got, sizeof(buf)), 0);
		cr_assert_eq(store_blob_unref(t, ids[i]), 0);
	}
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(verify(true), 0);
}

Test(store, a_dead_pack_file_stays_while_an_older_reader_may_read_it)
{
	struct store_repack_stats rs = {0};
	struct store_txn *old;
	unsigned files = 0;
	char out[512];

	reopen_small_packs("16384");
	import_ok("a", "/usr/lib/python3.11/email", NULL);
	cr_assert_eq(store_txn_begin(st, false, &old), 0);
	drop_env("a");
	reclaim_all();
	while (store_repack(st, 50, 1 << 20, false, &rs) > 0)
		;
	cr_assert_eq(store_pfile_sweep(st, &files, NULL), 0);
	cr_assert_eq(files, 0, "swept files an open snapshot still reads");
	store_txn_abort(old);
	cr_assert_eq(store_pfile_sweep(st, &files, NULL), 0);
	cr_assert_gt(files, 0);
	import_ok("b", "/usr/lib/python3.11/json", NULL);
	path_in(out, sizeof(out), "out");
	export_ok("b", out);
	cr_assert_eq(tree_compare("/usr/lib/python3.11/json", out), 0);
	cr_assert_eq(verify(true), 0);
}

Test(store, failed_pack_sync_commits_nothing_and_store_stays_clean)
{
	char out[512];

	store_fault_set(STORE_FAULT_FSYNC, 1);
	{
		struct store_env e = {0};

		snprintf(e.name, sizeof(e.name), "x");
		cr_assert_neq(
		    store_import(st, "/usr/lib/python3.11/json", &e, 2, NULL),
		    0);
	}
	store_fault_set(STORE_FAULT_FSYNC, 0);
	cr_assert_eq(verify(true), 0);
	import_ok("x", "/usr/lib/python3.11/json", NULL);
	path_in(out, sizeof(out), "out");
	export_ok("x", out);
	cr_assert_eq(tree_compare("/usr/lib/python3.11/json", out), 0);
	cr_assert_eq(verify(true), 0);
}

/* A compacted copy replaces data.mdb only while no other open of the store
 * exists (each store_open holds a shared flock on lock.mdb): with a second
 * open it is -EBUSY and nothing changes; alone, data.mdb loses its free
 * pages and the store reads and verifies the same, and can be written. */
Test(store, shrink_index_only_alone_and_keeps_everything)
{
	char src[512], out[512];
	struct store *other;
	struct store_txn *t;
	uint64_t saved = 1, id;
	unsigned char buf[100];
	struct stat a, b;
	char data[512];

	snprintf(data, sizeof(data), "%s/data.mdb", home);
	path_in(src, sizeof(src), "src");
	tree_make_synthetic(src, 5);
	import_ok("a", src, NULL);
	import_ok("b", "/usr/lib/python3.11/email", NULL);
	import_ok("c", "/usr/lib/python3.11/json", NULL);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_delete(t, "c"), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	reclaim_all();
	cr_assert_eq(store_open(home, 0, &other), 0);
	cr_assert_eq(store_shrink_index(st, &saved), -EBUSY);
	cr_assert_eq(saved, 0);
	store_close(other);
	cr_assert_eq(stat(data, &a), 0);
	cr_assert_eq(store_shrink_index(st, &saved), 0);
	cr_assert_eq(stat(data, &b), 0);
	cr_assert_neq(a.st_ino, b.st_ino, "data.mdb was not replaced");
	cr_assert_gt(saved, 0);
	cr_assert_eq(verify(true), 0);
	path_in(out, sizeof(out), "out");
	export_ok("a", out);
	cr_assert_eq(tree_compare(src, out), 0);
	memset(buf, 7, sizeof(buf));
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_blob_put(t, buf, sizeof(buf), &id), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	/* another process sees the new file */
	cr_assert_eq(store_open(home, STORE_READONLY, &other), 0);
	cr_assert_eq(store_txn_begin(other, false, &t), 0);
	cr_assert_eq(store_blob_read(t, id, buf, sizeof(buf), 0),
		     (ssize_t)sizeof(buf));
	store_txn_abort(t);
	store_close(other);
}

/* ---- sparse blobs (format 4): all-zero 4 KiB blocks are holes that cost
 * nothing, read as zeros, answer SEEK_DATA/SEEK_HOLE, dedup with the same
 * content however it was read, verify, and leave nothing after gc; import
 * and export keep them. */

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

/* The file path holding b's content (size bytes) as a sparse file: only
 * its data is written. Returns an fd open on it. */
static int sparse_file(const char *path, const unsigned char *b, size_t size)
{
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	cr_assert_eq(pwrite(fd, b + MIB + 100, 4096, MIB + 100), 4096);
	cr_assert_eq(pwrite(fd, b + size - 3, 3, (off_t)size - 3), 3);
	return fd;
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
	cr_assert_eq(bi.hole_blocks, (size + 4095) / 4096 - 3,
		     "hole blocks %llu", (unsigned long long)bi.hole_blocks);
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

Test(store, zero_blocks_are_holes_in_memory_and_streamed_preps)
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
	fd = sparse_file(path, b, size);
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

Test(store, streamed_sparse_blob_stores_its_data_only)
{
	size_t size = 64 * MIB;
	unsigned char *b = sparse_content(size);
	struct store_blob_prep *p;
	char path[512];
	uint64_t a;
	int fd;

	snprintf(path, sizeof(path), "%s/sparse", workdir);
	fd = sparse_file(path, b, size);
	cr_assert_eq(store_blob_prepare_fd(fd, size, &p), 0);
	close(fd);
	cr_assert_lt(store_blob_prep_stored(p), 16 * 1024);
	a = commit(p, NULL);
	store_blob_prep_free(p);
	check_blob(a, b, size);
	cr_assert_eq(verify(true), 0);
	free(b);
}

Test(store, verify_finds_a_lost_data_chunk_and_a_bad_map)
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

Test(store, import_export_compact_keep_holes_and_gc_frees_them)
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
	/* small: one chunk with a hole map, next to small dense files */
	snprintf(path, sizeof(path), "%s/small", src);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "head", 4, 0), 4);
	cr_assert_eq(pwrite(fd, "tail", 4, 16384), 4);
	close(fd);
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/dense%d", src, i);
		fd = open(path, O_RDWR | O_CREAT, 0644);
		cr_assert_geq(fd, 0);
		cr_assert_eq(pwrite(fd, src, 200, 0), 200);
		close(fd);
	}
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

	/* compaction leaves the holes alone and the content equal */
	cr_assert_eq(store_compact(st, 3, 1, NULL), 0);
	cr_assert_eq(verify(false), 0);
	cr_assert_eq(verify(true), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir %s", out, out);
	cr_assert_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/x", out);
	cr_assert_eq(store_export(st, root, path), 0);
	cr_assert_eq(tree_compare(src, path), 0);

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

/* A directory entry named name in table tab, holding a new table with one
 * file; the entry's and the table's flags are fl. */
static uint64_t put_flagged_dir(struct store_txn *t, uint64_t tab,
				const char *name, uint32_t fl)
{
	struct store_entry d = {0}, f = {0};

	d.a.mode = S_IFDIR | 0755;
	d.a.flags = fl;
	cr_assert_eq(store_fid_new(t, &d.a.fid), 0);
	cr_assert_eq(store_dir_new(t, &d.a, 0, &d.ref), 0);
	d.payload = STORE_P_TAB;
	f.a.mode = S_IFREG | 0644;
	f.a.flags = fl;
	f.payload = STORE_P_INLINE;
	f.inline_data = name;
	f.inline_len = f.a.size = (uint32_t)strlen(name);
	cr_assert_eq(store_dir_put(t, d.ref, "f", 1, &f), 0);
	cr_assert_eq(store_dir_put(t, tab, name, strlen(name), &d), 0);
	return d.ref;
}

Test(store, exchange_keeps_both_subtrees_and_flags_round_trip)
{
	char src[512];
	struct store_txn *t;
	struct store_env e;
	struct store_entry a, b, got;
	struct store_dir d;
	uint64_t tab, ta, tb;

	path_in(src, sizeof(src), "empty");
	cr_assert_eq(mkdir(src, 0755), 0);
	import_ok("x", src, NULL);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_get(t, "x", &e), 0);
	cr_assert_eq(store_env_dir_writable(t, &e, NULL, 0, &tab), 0);
	ta = put_flagged_dir(t, tab, "a", STORE_FL_IMMUTABLE);
	tb = put_flagged_dir(t, tab, "b", STORE_FL_APPEND | STORE_FL_NODUMP);
	cr_assert_eq(store_dir_get(t, tab, "a", 1, &a), 0);
	cr_assert_eq(store_dir_get(t, tab, "b", 1, &b), 0);
	cr_assert_eq(store_dir_exchange(t, tab, "a", &a, tab, "b", &b), 0);
	cr_assert_eq(store_txn_commit(t), 0);

	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_dir_get(t, tab, "a", 1, &got), 0);
	cr_assert_eq(got.ref, tb, "a holds b's table");
	cr_assert_eq(got.a.flags, STORE_FL_APPEND | STORE_FL_NODUMP);
	cr_assert_eq(store_dir_stat(t, tb, &d), 0, "b's table lives");
	cr_assert_eq(d.a.flags, STORE_FL_APPEND | STORE_FL_NODUMP);
	cr_assert_eq(d.nentries, 1);
	cr_assert_eq(store_dir_get(t, tb, "f", 1, &got), 0);
	cr_assert_eq(got.a.flags, STORE_FL_APPEND | STORE_FL_NODUMP);
	cr_assert_eq(store_dir_stat(t, ta, &d), 0, "a's table lives");
	cr_assert_eq(d.a.flags, STORE_FL_IMMUTABLE);
	cr_assert_eq(store_dir_stat(t, tab, &d), 0);
	cr_assert_eq(d.nentries, 2);
	cr_assert_eq(d.nsubdirs, 2);
	store_txn_abort(t);
	cr_assert_eq(verify(true), 0);
}
