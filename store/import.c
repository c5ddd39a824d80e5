/* SPDX-License-Identifier: MIT */
/*
 * import.c - import a directory tree as a new env. Three phases: walk the
 * tree into memory (metadata, symlinks, tiny files); hash and compress
 * the files on worker threads while the calling thread commits them in
 * batches (pinned, so gc leaves them alone); then one write txn builds the
 * tables and the env. A failure leaves only unreferenced blobs for gc.
 */
#include <dirent.h>
#include <fcntl.h>
#include <xxhash.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "store_internal.h"

#define BATCH_BYTES (64u << 20)
#define WINDOW	    256 /* files prepared ahead of the committer */

struct inode {
	char *name;
	size_t nlen;
	struct store_attr a;
	struct inode **kids;
	size_t nkids, cap;
	char *data; /* symlink target or inline file */
	uint32_t dlen;
	uint64_t blob;
	char *path; /* relative path of a file needing a blob */
	/* directories: hash of what the subtree's tables hold (file ids,
	 * atime and ctime left out); uniq: no directory in the subtree
	 * hashes like one outside it */
	unsigned char h[16];
	bool uniq;
};

struct import {
	struct store *st;
	int rootfd;
	struct inode root;
	struct inode **files;
	size_t nfiles, fcap;
	struct store_import_stats stats;
	/* worker pipeline, protected by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t next, committed;
	struct store_blob_prep **slots;
	int *slot_err;
	bool *ready;
	bool stop;
};

static void inode_release(struct inode *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		inode_release(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
	free(n->name);
	free(n->data);
	free(n->path);
}

static void attr_from_stat(struct store_attr *a, const struct stat *sb)
{
	a->mode = sb->st_mode;
	a->uid = sb->st_uid;
	a->gid = sb->st_gid;
	a->rdev = (S_ISCHR(sb->st_mode) || S_ISBLK(sb->st_mode))
		      ? (uint32_t)sb->st_rdev
		      : 0;
	a->size = (uint64_t)sb->st_size;
	a->atime_ns = store_ts_ns(&sb->st_atim);
	a->mtime_ns = store_ts_ns(&sb->st_mtim);
	a->ctime_ns = store_ts_ns(&sb->st_ctim);
}

static int add_file(struct import *im, struct inode *n)
{
	if (im->nfiles == im->fcap) {
		size_t cap = im->fcap ? im->fcap * 2 : 1024;
		void *p = store_realloc(im->files, cap * sizeof(*im->files));

		if (!p)
			return -ENOMEM;
		im->files = p;
		im->fcap = cap;
	}
	im->files[im->nfiles++] = n;
	return 0;
}

static int read_small(int dfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO; /* changed while we read it */
	close(fd);
	return err;
}

static int walk(struct import *im, int dfd, const char *rel, struct inode *dir);

/* Fill one child inode from its lstat. */
static int walk_entry(struct import *im, int dfd, const char *rel,
		      struct inode *n)
{
	struct stat sb;
	char *path = NULL;
	int err, fd;

	if (fstatat(dfd, n->name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	attr_from_stat(&n->a, &sb);
	if (asprintf(&path, "%s%s%s", rel, *rel ? "/" : "", n->name) < 0)
		return -ENOMEM;
	err = 0;
	if (S_ISDIR(sb.st_mode)) {
		im->stats.dirs++;
		fd = openat(dfd, n->name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			err = -errno;
		else
			err = walk(im, fd, path, n); /* closes fd */
	} else if (S_ISLNK(sb.st_mode)) {
		im->stats.symlinks++;
		n->data = store_malloc((size_t)sb.st_size + 1);
		if (!n->data) {
			err = -ENOMEM;
		} else {
			ssize_t l = readlinkat(dfd, n->name, n->data,
					       (size_t)sb.st_size + 1);
			if (l < 0 || l > sb.st_size)
				err = l < 0 ? -errno : -EIO;
			else
				n->dlen = (uint32_t)l;
			n->a.size = n->dlen;
		}
	} else if (S_ISREG(sb.st_mode)) {
		im->stats.files++;
		im->stats.bytes += (uint64_t)sb.st_size;
		if (sb.st_size <= STORE_INLINE_MAX) {
			n->dlen = (uint32_t)sb.st_size;
			n->data = store_malloc(n->dlen + 1);
			err = n->data
				  ? read_small(dfd, n->name, n->data, n->dlen)
				  : -ENOMEM;
		} else {
			n->path = path;
			path = NULL;
			err = add_file(im, n);
		}
	} else if (S_ISSOCK(sb.st_mode)) {
		err = 1; /* sockets are not content: skip */
	}
	if (err < 0)
		store_logf(im->st, "cannot import '%s': %s",
			   path ? path : n->path, strerror(-err));
	free(path);
	return err;
}

/* List dfd (owned, closed here) into dir's kids. */
static int walk(struct import *im, int dfd, const char *rel, struct inode *dir)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int err = 0;

	if (!d) {
		err = -errno;
		close(dfd);
		return err;
	}
	while ((errno = 0, de = readdir(d))) {
		struct inode *n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (dir->nkids == dir->cap) {
			size_t cap = dir->cap ? dir->cap * 2 : 16;
			void *p =
			    store_realloc(dir->kids, cap * sizeof(*dir->kids));
			if (!p) {
				err = -ENOMEM;
				break;
			}
			dir->kids = p;
			dir->cap = cap;
		}
		n = store_calloc(1, sizeof(*n));
		if (!n || !(n->name = strdup(de->d_name))) {
			free(n);
			err = -ENOMEM;
			break;
		}
		n->nlen = strlen(n->name);
		dir->kids[dir->nkids++] = n;
		err = walk_entry(im, dirfd(d), rel, n);
		if (err > 0) { /* skipped */
			inode_release(n);
			free(n);
			dir->nkids--;
			err = 0;
		}
		if (err)
			break;
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	return err;
}

/* ---- phase 2: prepare on workers, commit in batches ---- */

/* Hash a file; compress it only when the store does not hold its content
 * yet (a second import of the same packages compresses nothing). */
static int prepare_file(struct import *im, int fd, uint64_t size,
			struct store_blob_prep **out)
{
	struct store_txn *t;
	int known = 0, err = store_blob_prepare_fd_lazy(fd, size, out);

	if (err)
		return err;
	if (!store_txn_begin(im->st, false, &t)) {
		known = store_blob_known(t, *out);
		store_txn_abort(t);
	}
	err = known == 1 ? 0 : store_blob_prep_compress(*out);
	if (err) {
		store_blob_prep_free(*out);
		*out = NULL;
	}
	return err;
}

static void *worker(void *arg)
{
	struct import *im = arg;

	pthread_mutex_lock(&im->lock);
	while (!im->stop && im->next < im->nfiles) {
		size_t i = im->next;
		struct store_blob_prep *p = NULL;
		struct inode *n;
		int err, fd;

		if (i >= im->committed + WINDOW) {
			pthread_cond_wait(&im->cond, &im->lock);
			continue;
		}
		im->next++;
		pthread_mutex_unlock(&im->lock);
		n = im->files[i];
		fd = openat(im->rootfd, n->path,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			err = -errno;
		} else {
			err = prepare_file(im, fd, n->a.size, &p);
			close(fd);
		}
		pthread_mutex_lock(&im->lock);
		im->slots[i] = p;
		im->slot_err[i] = err;
		im->ready[i] = true;
		pthread_cond_broadcast(&im->cond);
	}
	pthread_mutex_unlock(&im->lock);
	return NULL;
}

/* Commit files [from, to): all ready. */
static int commit_batch(struct import *im, size_t from, size_t to)
{
	struct store_txn *t;
	size_t i;
	int err;

	err = store_txn_begin(im->st, true, &t);
	if (err)
		return err;
	for (i = from; !err && i < to; i++) {
		struct store_blob_prep *p = im->slots[i];
		bool dup;

		err = store_blob_commit(t, p, &im->files[i]->blob, &dup);
		if (!err)
			err = store_pin(t, im->files[i]->blob);
		if (!err && dup)
			im->stats.deduped++;
		else if (!err)
			im->stats.stored_added += store_blob_prep_stored(p);
	}
	if (err) {
		store_txn_abort(t);
		return err;
	}
	return store_txn_commit(t);
}

static int wait_ready(struct import *im, size_t i)
{
	int err;

	pthread_mutex_lock(&im->lock);
	while (!im->ready[i])
		pthread_cond_wait(&im->cond, &im->lock);
	err = im->slot_err[i];
	pthread_mutex_unlock(&im->lock);
	if (err)
		store_logf(im->st, "cannot import '%s': %s", im->files[i]->path,
			   strerror(-err));
	return err;
}

static int store_files(struct import *im, int threads)
{
	pthread_t *tids;
	size_t i, from = 0, bytes = 0;
	int k, started = 0, err = 0;

	if (!im->nfiles)
		return 0;
	im->slots = store_calloc(im->nfiles, sizeof(*im->slots));
	im->slot_err = store_calloc(im->nfiles, sizeof(*im->slot_err));
	im->ready = store_calloc(im->nfiles, sizeof(*im->ready));
	tids = store_calloc((size_t)threads, sizeof(*tids));
	if (!im->slots || !im->slot_err || !im->ready || !tids) {
		free(tids);
		return -ENOMEM;
	}
	for (k = 0; k < threads; k++) {
		if (pthread_create(&tids[k], NULL, worker, im))
			break;
		started++;
	}
	if (!started)
		err = -EAGAIN;
	for (i = 0; !err && i < im->nfiles; i++) {
		err = wait_ready(im, i);
		if (err)
			break;
		bytes += store_blob_prep_size(im->slots[i]);
		/* workers stop WINDOW files ahead: commit before that */
		if (bytes < BATCH_BYTES && i + 1 - from < WINDOW / 2 &&
		    i + 1 < im->nfiles)
			continue;
		err = commit_batch(im, from, i + 1);
		pthread_mutex_lock(&im->lock);
		for (; from <= i; from++) {
			store_blob_prep_free(im->slots[from]);
			im->slots[from] = NULL;
		}
		im->committed = from;
		pthread_cond_broadcast(&im->cond);
		pthread_mutex_unlock(&im->lock);
		bytes = 0;
	}
	pthread_mutex_lock(&im->lock);
	im->stop = true;
	pthread_cond_broadcast(&im->cond);
	pthread_mutex_unlock(&im->lock);
	for (k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
	for (i = 0; i < im->nfiles; i++)
		store_blob_prep_free(im->slots[i]);
	free(tids);
	return err;
}

/* ---- phase 3: tables ---- */

/* ---- phase 3: tables, shared with earlier imports where identical ----
 *
 * A directory whose whole subtree some earlier import stored already (the
 * same names, modes, owners, sizes, mtimes and content) reuses that table,
 * as a clone would: ten imports of one site-packages cost one set of
 * tables. Imported tables are indexed by subtree hash and frozen (the new
 * env gets a fresh gen: its first write to a directory copies it), so an
 * indexed table never changes while it exists. A subtree is reused only
 * when no directory outside it in this import hashes like one inside it,
 * so an env never holds one file id twice. */

static int kid_cmp(const void *a, const void *b)
{
	const struct inode *x = *(struct inode *const *)a;
	const struct inode *y = *(struct inode *const *)b;
	int c = memcmp(x->name, y->name, x->nlen < y->nlen ? x->nlen : y->nlen);

	return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

static void fold_attr(XXH3_state_t *s, const struct store_attr *a)
{
	uint64_t v[6] = {a->mode, a->uid,  a->gid,
			 a->rdev, a->size, (uint64_t)a->mtime_ns};

	XXH3_128bits_update(s, v, sizeof(v));
}

/* dir->h for dir and every directory below it; kids sorted by name. */
static int hash_dir(struct inode *dir)
{
	XXH3_state_t *s = XXH3_createState();
	XXH128_hash_t h;
	int err = 0;

	if (!s)
		return -ENOMEM;
	if (dir->nkids > 1)
		qsort(dir->kids, dir->nkids, sizeof(*dir->kids), kid_cmp);
	XXH3_128bits_reset(s);
	fold_attr(s, &dir->a);
	for (size_t i = 0; !err && i < dir->nkids; i++) {
		struct inode *n = dir->kids[i];
		uint64_t len = n->nlen;

		XXH3_128bits_update(s, &len, sizeof(len));
		XXH3_128bits_update(s, n->name, n->nlen);
		fold_attr(s, &n->a);
		if (S_ISDIR(n->a.mode)) {
			err = hash_dir(n);
			XXH3_128bits_update(s, n->h, sizeof(n->h));
		} else if (n->path) {
			XXH3_128bits_update(s, &n->blob, sizeof(n->blob));
		} else {
			len = n->dlen;
			XXH3_128bits_update(s, &len, sizeof(len));
			XXH3_128bits_update(s, n->data ? n->data : "", n->dlen);
		}
	}
	h = XXH3_128bits_digest(s);
	XXH3_freeState(s);
	put_be64(dir->h, h.high64);
	put_be64(dir->h + 8, h.low64);
	return err;
}

struct hashes {
	unsigned char (*v)[16];
	size_t n, cap;
};

static int collect(struct inode *dir, struct hashes *hs)
{
	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? 2 * hs->cap : 256;
		void *v = realloc(hs->v, cap * sizeof(*hs->v));

		if (!v)
			return -ENOMEM;
		hs->v = v;
		hs->cap = cap;
	}
	memcpy(hs->v[hs->n++], dir->h, 16);
	for (size_t i = 0; i < dir->nkids; i++)
		if (S_ISDIR(dir->kids[i]->a.mode)) {
			int err = collect(dir->kids[i], hs);

			if (err)
				return err;
		}
	return 0;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Occurrences of h in the sorted hs. */
static size_t count_of(const struct hashes *hs, const unsigned char *h)
{
	size_t lo = 0, hi = hs->n, n = 0;

	while (lo < hi) { /* first index not below h */
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(hs->v[mid], h, 16) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + n < hs->n && !memcmp(hs->v[lo + n], h, 16))
		n++;
	return n;
}

/* dir->uniq: every directory hash in dir's subtree occurs nowhere else in
 * the import (duplicates inside the subtree are fine: the stored table
 * holds them as distinct tables too). */
static int mark_uniq(struct inode *dir, const struct hashes *all)
{
	struct hashes sub = {0};
	int err = collect(dir, &sub);

	if (err)
		return err;
	qsort(sub.v, sub.n, sizeof(*sub.v), hash_cmp);
	dir->uniq = true;
	for (size_t i = 0; dir->uniq && i < sub.n;) {
		size_t n = count_of(&sub, sub.v[i]);

		dir->uniq = n == count_of(all, sub.v[i]);
		i += n;
	}
	free(sub.v);
	for (size_t i = 0; !err && i < dir->nkids; i++)
		if (S_ISDIR(dir->kids[i]->a.mode))
			err = mark_uniq(dir->kids[i], all);
	return err;
}

static int plan_sharing(struct inode *root)
{
	struct hashes hs = {0};
	int err = hash_dir(root);

	if (!err)
		err = collect(root, &hs);
	if (!err) {
		qsort(hs.v, hs.n, sizeof(*hs.v), hash_cmp);
		err = mark_uniq(root, &hs);
	}
	free(hs.v);
	return err;
}

/* A stored table holding dir's subtree: 1 (*tab, dir->a set from its
 * header), 0 when there is none, or -errno. */
static int find_shared(struct store_txn *t, struct inode *dir, uint64_t *tab)
{
	MDB_val k = {16, dir->h}, v;
	struct store_dir d;
	int err;

	if (!dir->uniq)
		return 0;
	err = store_get(t, DB_TABIDX, &k, &v);
	if (err == -ENOENT || (!err && v.mv_size != 8))
		return 0;
	if (err)
		return err;
	*tab = get_le64(v.mv_data);
	err = store_tab_exists(t, *tab);
	if (err <= 0)
		return err; /* 0: freed since, the index entry is stale */
	err = store_dir_stat(t, *tab, &d);
	if (err)
		return err;
	dir->a = d.a;
	return 1;
}

static int index_table(struct store_txn *t, const struct inode *dir,
		       uint64_t tab)
{
	unsigned char idb[8];
	MDB_val k = {16, (void *)dir->h}, v = {8, idb};

	put_le64(idb, tab);
	return store_put(t, DB_TABIDX, &k, &v, 0);
}

static int build_dir(struct store_txn *t, struct import *im, struct inode *dir,
		     uint64_t gen, uint64_t *fid, uint64_t *out)
{
	struct store_entry e;
	uint64_t tab;
	size_t i;
	int err = find_shared(t, dir, out);

	if (err) {
		if (err == 1)
			im->stats.dirs_shared++;
		return err < 0 ? err : 0;
	}
	dir->a.fid = (*fid)++;
	err = store_dir_new(t, &dir->a, gen, &tab);
	for (i = 0; !err && i < dir->nkids; i++) {
		struct inode *n = dir->kids[i];

		memset(&e, 0, sizeof(e));
		if (S_ISDIR(n->a.mode)) {
			err = build_dir(t, im, n, gen, fid, &e.ref);
			e.payload = STORE_P_TAB;
		} else {
			n->a.fid = (*fid)++;
			if (n->path) {
				e.payload = STORE_P_BLOB;
				e.ref = n->blob;
			} else if (S_ISLNK(n->a.mode) || S_ISREG(n->a.mode)) {
				e.payload =
				    n->dlen ? STORE_P_INLINE : STORE_P_NONE;
				e.inline_len = n->dlen;
				e.inline_data = n->data;
			}
		}
		e.a = n->a;
		if (!err)
			err = store_dir_put(t, tab, n->name, n->nlen, &e);
	}
	if (!err)
		err = index_table(t, dir, tab);
	if (!err)
		*out = tab;
	return err;
}

static int build_env(struct import *im, struct store_env *e)
{
	struct store_txn *t;
	uint64_t fid, gen, root;
	int err;

	err = plan_sharing(&im->root);
	if (err)
		return err;
	err = store_txn_begin(im->st, true, &t);
	if (err)
		return err;
	err = store_meta_get_u64(t, "next_fid", &fid);
	if (err == -ENOENT)
		fid = 0, err = 0;
	fid++;
	if (!err)
		err = store_gen_new(t, &gen);
	if (!err)
		err = build_dir(t, im, &im->root, gen, &fid, &root);
	if (!err)
		err = store_meta_put_u64(t, "next_fid", fid - 1);
	/* the env gets its own gen: the tables built here are indexed for
	 * sharing, so frozen (a first write copies) */
	if (!err)
		err = store_env_create(t, e, root);
	if (!err)
		err = store_unpin_all(t);
	if (err) {
		store_txn_abort(t);
		return err;
	}
	return store_txn_commit(t);
}

static void unpin_after_failure(struct store *st)
{
	struct store_txn *t;

	if (store_txn_begin(st, true, &t))
		return;
	if (store_unpin_all(t))
		store_txn_abort(t);
	else
		store_txn_commit(t);
}

int store_import(struct store *st, const char *dir, struct store_env *e,
		 int threads, struct store_import_stats *stats)
{
	struct import im = {.st = st};
	struct store_txn *t;
	struct store_env old;
	struct stat sb;
	int err, fd;

	if (store_name_check(e->name))
		return -EINVAL;
	/* fail early (and again, atomically, at the end) on a taken name */
	err = store_txn_begin(st, false, &t);
	if (err)
		return err;
	err = store_env_get(t, e->name, &old);
	store_txn_abort(t);
	if (!err)
		return -EEXIST;
	if (err != -ENOENT)
		return err;
	if (threads <= 0)
		threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads <= 0)
		threads = 1;
	im.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (im.rootfd < 0)
		return -errno;
	pthread_mutex_init(&im.lock, NULL);
	pthread_cond_init(&im.cond, NULL);
	if (fstat(im.rootfd, &sb) < 0) {
		err = -errno;
		goto out;
	}
	attr_from_stat(&im.root.a, &sb);
	fd = dup(im.rootfd);
	err = fd < 0 ? -errno : walk(&im, fd, "", &im.root);
	if (!err)
		err = store_files(&im, threads);
	if (!err)
		err = build_env(&im, e);
	if (err && im.nfiles)
		unpin_after_failure(st);
	if (!err && stats)
		*stats = im.stats;
out:
	free(im.slots);
	free(im.slot_err);
	free(im.ready);
	free(im.files);
	inode_release(&im.root);
	pthread_cond_destroy(&im.cond);
	pthread_mutex_destroy(&im.lock);
	close(im.rootfd);
	return err;
}
