/* SPDX-License-Identifier: MIT */
/*
 * The write log's replay (fs/wlog.c) without a mount: a daemon's state is
 * set up on a real store as blastfs does before it mounts, changes go
 * through fs_content_change (log, then buffer) and the daemon "dies"
 * before sealing; the next start replays them into the store, whatever
 * a torn tail or a seal in between left.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_internal.h"
#include "treeutil.h"

static char workdir[256], home[300], src[300];
static struct fs_options opt;

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void put(const char *rel, const char *data)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", src, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(data, f);
	fclose(f);
}

static void setup(void)
{
	struct store_env e = {0};
	struct store *st;
	char d[600];

	snprintf(workdir, sizeof(workdir), "/tmp/blast-unit-wlog-XXXXXX");
	cr_assert_not_null(mkdtemp(workdir));
	snprintf(home, sizeof(home), "%s/store", workdir);
	snprintf(src, sizeof(src), "%s/src", workdir);
	cr_assert_eq(mkdir(src, 0755), 0);
	snprintf(d, sizeof(d), "%s/d", src);
	cr_assert_eq(mkdir(d, 0755), 0);
	put("f", "hello world");
	put("d/g", "0123456789");
	cr_assert_eq(store_open(home, STORE_NOSYNC, &st), 0);
	store_set_log(st, quiet, NULL);
	snprintf(e.name, sizeof(e.name), "u");
	cr_assert_eq(store_import(st, src, &e, 1, NULL), 0);
	store_close(st);
	memset(&opt, 0, sizeof(opt));
	opt.home = home;
	opt.env = "u";
	opt.notify_fd = -1;
}

static void teardown(void)
{
	tree_remove(workdir);
}

TestSuite(wlog, .init = setup, .fini = teardown, .timeout = 120);

static void rtxn_free(void *p)
{
	if (p)
		store_txn_abort(p);
}

/* What blastfs does before it mounts (fs/main.c serve), the write log's
 * replay included. */
static struct fs *fs_up(void)
{
	struct fs *fs = calloc(1, sizeof(*fs));
	struct store_txn *t;
	struct store_env e;
	struct store_dir d;
	char why[256];

	cr_assert_not_null(fs);
	fs->opt = &opt;
	fs->pkg_off = true;
	fs->auto_quiet_ns = INT64_MAX; /* no automatic snapshots */
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->wlock, NULL);
	pthread_cond_init(&fs->seal_cond, NULL);
	pthread_mutex_init(&fs->sealer.mu, NULL);
	pthread_cond_init(&fs->sealer.cv, NULL);
	pthread_mutex_init(&fs->sealer.run_mu, NULL);
	fs_durable_init(fs);
	cr_assert_eq(store_open(home, STORE_NOSYNC, &fs->st), 0);
	store_set_log(fs->st, quiet, NULL);
	cr_assert_eq(store_home_subdir(home, "staging", fs->staging,
				       sizeof(fs->staging), why, sizeof(why)),
		     0, "%s", why);
	cr_assert_eq(store_txn_begin(fs->st, false, &t), 0);
	cr_assert_eq(store_env_get(t, "u", &e), 0);
	cr_assert_eq(store_dir_stat(t, e.root, &d), 0);
	store_txn_abort(t);
	cr_assert_eq(fs_nodes_init(fs, d.a.fid), 0);
	cr_assert_eq(fs_pol_init(fs), 0);
	cr_assert_eq(pthread_key_create(&fs->rtxn_key, rtxn_free), 0);
	cr_assert_eq(fs_wlog_start(fs), 0);
	return fs;
}

/* kill -9: nothing sealed, nothing tidied; the log stays */
static void fs_die(struct fs *fs)
{
	fs_wlog_stop(fs, false);
	fs_pol_release(fs);
	fs_nodes_release(fs);
	rtxn_free(pthread_getspecific(fs->rtxn_key)); /* this thread's */
	pthread_key_delete(fs->rtxn_key);
	store_close(fs->st);
	free(fs);
}

/* The node of the file at root/dir/name (dir may be NULL). */
static struct node *node_of(struct fs *fs, const char *dir, const char *name)
{
	struct store_txn *t;
	struct store_env e;
	struct store_entry x;
	struct node *p = NULL, *n = NULL;
	uint64_t tab;

	cr_assert_eq(store_txn_begin(fs->st, false, &t), 0);
	cr_assert_eq(store_env_get(t, "u", &e), 0);
	tab = e.root;
	fs_lock(fs);
	if (dir) {
		cr_assert_eq(store_dir_get(t, tab, dir, strlen(dir), &x), 0);
		cr_assert_eq(
		    fs_node_ref(fs, x.a.fid, x.a.mode, FUSE_ROOT_ID, dir, &p),
		    0);
		tab = x.ref;
	}
	cr_assert_eq(store_dir_get(t, tab, name, strlen(name), &x), 0);
	cr_assert_eq(fs_node_ref(fs, x.a.fid, x.a.mode,
				 p ? p->nodeid : FUSE_ROOT_ID, name, &n),
		     0);
	fs_unlock(fs);
	store_txn_abort(t);
	return n;
}

static void write_at(struct fs *fs, struct node *n, const char *data,
		     uint64_t off)
{
	uint64_t old;

	cr_assert_eq(
	    fs_content_change(fs, n, data, strlen(data), off, true, &old), 0);
}

static void truncate_to(struct fs *fs, struct node *n, uint64_t size)
{
	uint64_t old;

	cr_assert_eq(fs_content_change(fs, n, NULL, 0, size, true, &old), 0);
}

/* The stored content of rel in env u, exported. */
static char *stored(const char *rel)
{
	static char buf[4096];
	char out[600], path[700];
	struct store_txn *t;
	struct store_env e;
	struct store *st;
	ssize_t got;
	int fd;

	snprintf(out, sizeof(out), "%s/out-%d", workdir, rand());
	cr_assert_eq(store_open(home, STORE_NOSYNC, &st), 0);
	store_set_log(st, quiet, NULL);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(store_env_get(t, "u", &e), 0);
	store_txn_abort(t);
	cr_assert_eq(store_export(st, e.root, out), 0);
	store_close(st);
	snprintf(path, sizeof(path), "%s/%s", out, rel);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "%s", path);
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_geq(got, 0);
	buf[got] = '\0';
	return buf;
}

/* The log's files: STORE/staging/u.wlog.GEN */
static int log_files(char paths[][600], int max)
{
	char dir[400];
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/staging", home);
	for (int gen = 1; gen < 100 && n < max; gen++) {
		snprintf(paths[n], 600, "%s/u.wlog.%d", dir, gen);
		if (!access(paths[n], F_OK))
			n++;
	}
	return n;
}

Test(wlog, unsealed_writes_replayed_after_a_crash)
{
	struct fs *fs = fs_up();
	struct node *f = node_of(fs, NULL, "f"), *g = node_of(fs, "d", "g");

	write_at(fs, f, "XY", 1);
	truncate_to(fs, f, 8);
	write_at(fs, g, "abc", 12); /* past the end: a hole of zeros */
	fs_die(fs);
	cr_assert_str_eq(stored("f"), "hello world", "nothing sealed yet");

	fs = fs_up(); /* replays */
	fs_die(fs);
	cr_assert_str_eq(stored("f"), "hXYlo wo");
	cr_assert_eq(memcmp(stored("d/g"), "0123456789\0\0abc", 15), 0);
}

Test(wlog, records_in_log_order)
{
	struct fs *fs = fs_up();
	struct node *f = node_of(fs, NULL, "f");

	truncate_to(fs, f, 0);
	write_at(fs, f, "first", 0);
	truncate_to(fs, f, 2);
	write_at(fs, f, "-second", 2);
	fs_die(fs);
	fs = fs_up();
	fs_die(fs);
	cr_assert_str_eq(stored("f"), "fi-second");
}

Test(wlog, a_torn_tail_is_dropped_the_rest_replayed)
{
	char logs[8][600];
	struct fs *fs = fs_up();
	struct node *f = node_of(fs, NULL, "f");
	struct stat sb;
	int n, fd;

	write_at(fs, f, "HELLO", 0);
	write_at(fs, f, "WORLD", 6);
	fs_die(fs);
	n = log_files(logs, 8);
	cr_assert_geq(n, 1);
	/* the daemon died in the middle of the second record's append */
	cr_assert_eq(stat(logs[n - 1], &sb), 0);
	fd = open(logs[n - 1], O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, sb.st_size - 3), 0);
	close(fd);
	fs = fs_up();
	fs_die(fs);
	cr_assert_str_eq(stored("f"), "HELLO world");
}

Test(wlog, a_seal_covers_what_came_before_it)
{
	struct fs *fs = fs_up();
	struct node *f = node_of(fs, NULL, "f");

	write_at(fs, f, "sealed", 0);
	cr_assert_eq(fs_seal(fs, f), 0);
	cr_assert_str_eq(stored("f"), "sealedworld");
	write_at(fs, f, "LOG", 8);
	fs_die(fs);
	fs = fs_up();
	fs_die(fs);
	cr_assert_str_eq(stored("f"), "sealedwoLOG");
}

Test(wlog, replay_then_a_second_crash_changes_nothing)
{
	struct fs *fs = fs_up();
	struct node *f = node_of(fs, NULL, "f");
	char logs[8][600];

	write_at(fs, f, "once", 0);
	fs_die(fs);
	fs = fs_up();
	fs_die(fs); /* right after recovery */
	cr_assert_str_eq(stored("f"), "onceo world");
	cr_assert_leq(log_files(logs, 8), 1, "replayed generations deleted");
	fs = fs_up();
	fs_die(fs);
	cr_assert_str_eq(stored("f"), "onceo world");
}

Test(wlog, fallocate_replayed_after_a_crash)
{
	struct fs *fs = fs_up();
	struct node *f = node_of(fs, NULL, "f");
	uint64_t old;

	/* punch "llo" (size kept), then zero 20..30: the size grows */
	cr_assert_eq(
	    fs_content_falloc_change(
		fs, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3, &old),
	    0);
	cr_assert_eq(
	    fs_content_falloc_change(fs, f, FALLOC_FL_ZERO_RANGE, 20, 10, &old),
	    0);
	fs_die(fs);
	cr_assert_str_eq(stored("f"), "hello world", "nothing sealed yet");
	fs = fs_up(); /* replays */
	fs_die(fs);
	cr_assert_eq(memcmp(stored("f"),
			    "he\0\0\0 world\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			    "\0",
			    30),
		     0);
}
