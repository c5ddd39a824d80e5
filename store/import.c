/* SPDX-License-Identifier: MIT */
/*
 * import.c - import a directory tree as a new env. Three phases: walk the
 * tree into memory (metadata, symlinks, tiny files); hash and compress
 * the files on worker threads while the calling thread commits them in
 * batches (pinned, so gc leaves them alone); then one write txn builds the
 * tables and the env. Small files are prepared in groups (neighbours in
 * the walk), the new ones of a group compressed as one shared frame, so
 * files of one package compress against each other from the start. A failure
 * leaves only unreferenced blobs for gc.
 */
#include <dirent.h>
#include <fcntl.h>
#include <xxhash.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "store_internal.h"

/* A commit syncs the pack file and LMDB (three fsyncs): batches are
 * large, as on a busy disk each fsync costs milliseconds. Workers stay
 * within WINDOW files and AHEAD_BYTES of the first file not committed,
 * which bounds the prepared bytes held in memory. */
#define BATCH_BYTES  (32u << 20)
#define COMMIT_FILES 2048
#define WINDOW	     (2 * COMMIT_FILES)
#define AHEAD_BYTES  (2 * (uint64_t)BATCH_BYTES)

struct inode {
	char *name;
	size_t nlen;
	struct store_attr a;
	struct inode **kids;
	size_t nkids, cap;
	char *data; /* symlink target or inline file */
	uint32_t dlen;
	unsigned char *xa; /* extended attributes, encoded (NULL: none) */
	size_t xalen;
	uint64_t blob;
	struct inode *parent;
	bool big;    /* a file needing a blob */
	size_t rank; /* files: place in a walk in name order (order_files) */
	/* directories: position in im->dirs (pre-order), subtree size in
	 * dirs, depth, the least depth of the lowest common ancestor of the
	 * dirs hashing like one in the subtree, and the table built */
	size_t pre, size, depth, lca_min;
	uint64_t tab;
	bool listed, reused, skipped; /* listed: in im->dirs */
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
	struct inode **dirs; /* every directory, parents first (pre-order) */
	size_t ndirs, dcap;
	struct store_import_stats stats;
	uint64_t big_bytes; /* of the files in im->files (progress) */
	/* worker pipeline, protected by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t next, committed;
	uint64_t *upto; /* upto[i]: bytes of files[0, i) */
	struct store_blob_prep **slots;
	int *slot_err;
	bool *ready;
	bool stop;
	/* groups: runs of small files prepared together, their new content
	 * compressed as one frame (gend: one past the group's last file,
	 * frame: the group's frame or NULL, off: a member's offset in it or
	 * NOT_MEMBER) */
	size_t *gend;
	struct store_frame **frame;
	uint32_t *off;
};

#define NOT_MEMBER	UINT32_MAX
#define GROUP_FILES_MAX 64

static void inode_fields_release(struct inode *n)
{
	free(n->kids);
	free(n->name);
	free(n->data);
	free(n->xa);
}

/* Free every inode below the root, through im->dirs (no recursion), then
 * the root's own fields. */
static void tree_release(struct import *im)
{
	for (size_t i = 0; i < im->ndirs; i++)
		for (size_t k = 0; k < im->dirs[i]->nkids; k++) {
			struct inode *n = im->dirs[i]->kids[k];

			if (!n->listed) {
				inode_fields_release(n);
				free(n);
			}
		}
	for (size_t i = 1; i < im->ndirs; i++) {
		inode_fields_release(im->dirs[i]);
		free(im->dirs[i]);
	}
	inode_fields_release(&im->root);
	free(im->dirs);
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
	a->flags = 0; /* chattr flags are not imported (nor kept by tar) */
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

static int add_dir(struct import *im, struct inode *n)
{
	if (im->ndirs == im->dcap) {
		size_t cap = im->dcap ? im->dcap * 2 : 256;
		void *p = store_realloc(im->dirs, cap * sizeof(*im->dirs));

		if (!p)
			return -ENOMEM;
		im->dirs = p;
		im->dcap = cap;
	}
	n->pre = im->ndirs;
	n->depth = n->parent ? n->parent->depth + 1 : 0;
	n->listed = true;
	im->dirs[im->ndirs++] = n;
	return 0;
}

/* n's path below the root, built from its parents (for opening and for
 * messages): caller frees. NULL on ENOMEM. */
static char *path_of(const struct inode *n)
{
	const struct inode *p;
	size_t len = 0;
	char *s;

	for (p = n; p->parent; p = p->parent)
		len += p->nlen + 1;
	s = store_malloc(len + 1);
	if (!s)
		return NULL;
	s[len ? len - 1 : 0] = '\0';
	for (p = n; p->parent; p = p->parent) {
		len -= p->nlen + 1;
		memcpy(s + len, p->name, p->nlen);
		if (p != n)
			s[len + p->nlen] = '/';
	}
	return s;
}

/* Open path below dfd without following a symlink at its end, in steps
 * shorter than PATH_MAX when it is longer (a deep tree). */
static int open_long(int dfd, char *path, int flags)
{
	size_t len = strlen(path);
	int fd = dfd, next;

	while (len >= PATH_MAX) {
		char *cut = path + PATH_MAX - 1;

		while (cut > path && *cut != '/')
			cut--;
		if (cut == path) {
			next = -ENAMETOOLONG;
		} else {
			*cut = '\0';
			next = openat(fd, path,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC |
					  O_NOFOLLOW);
			next = next < 0 ? -errno : next;
			*cut = '/';
		}
		if (fd != dfd)
			close(fd);
		if (next < 0)
			return next;
		fd = next;
		len -= (size_t)(cut + 1 - path);
		path = cut + 1;
	}
	next = openat(fd, path, flags | O_CLOEXEC | O_NOFOLLOW);
	next = next < 0 ? -errno : next;
	if (fd != dfd)
		close(fd);
	return next;
}

static void log_failure(struct import *im, const struct inode *n, int err)
{
	char *path = path_of(n);

	store_logf(im->st, "cannot import '%s': %s", path ? path : n->name,
		   strerror(-err));
	free(path);
}

/* n's extended attributes, by its name in dfd (not followed). */
static int read_xattrs(int dfd, struct inode *n)
{
	char path[64 + STORE_NAME_MAX];

	int err;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, n->name);
	err = store_xattrs_read_host(-1, path, &n->xa, &n->xalen);
	return err == -ENOENT ? 0 : err; /* no /proc: none read */
}

/* Fill one child inode from its lstat; a directory is opened (*subfd)
 * for the caller to list. 1: a socket, skipped. */
static int walk_entry(struct import *im, int dfd, struct inode *n, int *subfd)
{
	struct stat sb;
	int err = 0;

	if (fstatat(dfd, n->name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	attr_from_stat(&n->a, &sb);
	if (!S_ISSOCK(sb.st_mode) && (err = read_xattrs(dfd, n)))
		goto out;
	if (S_ISDIR(sb.st_mode)) {
		im->stats.dirs++;
		*subfd =
		    openat(dfd, n->name,
			   O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (*subfd < 0)
			err = -errno;
		else if ((err = add_dir(im, n)))
			close(*subfd);
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
			n->big = true;
			im->big_bytes += (uint64_t)sb.st_size;
			err = add_file(im, n);
		}
	} else if (S_ISSOCK(sb.st_mode)) {
		err = 1; /* sockets are not content: skip */
	}
out:
	if (err < 0)
		log_failure(im, n, err);
	return err;
}

/* A new child of dir, named name. */
static int kid_new(struct inode *dir, const char *name, struct inode **out)
{
	struct inode *n;

	if (dir->nkids == dir->cap) {
		size_t cap = dir->cap ? dir->cap * 2 : 16;
		void *p = store_realloc(dir->kids, cap * sizeof(*dir->kids));

		if (!p)
			return -ENOMEM;
		dir->kids = p;
		dir->cap = cap;
	}
	n = store_calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name))) {
		free(n);
		return -ENOMEM;
	}
	n->nlen = strlen(n->name);
	n->parent = dir;
	dir->kids[dir->nkids++] = n;
	*out = n;
	return 0;
}

/* One directory being listed. */
struct wframe {
	DIR *d;
	struct inode *dir;
};

/* List directory n, open as sub (owned), next: on top of the stack. */
static int wframe_push(struct wframe **fr, size_t *nfr, size_t *cap,
		       struct inode *n, int sub)
{
	if (*nfr == *cap) {
		void *p = store_realloc(*fr, 2 * *cap * sizeof(**fr));

		if (!p) {
			close(sub);
			return -ENOMEM;
		}
		*fr = p;
		*cap *= 2;
	}
	(*fr)[*nfr].dir = n;
	(*fr)[*nfr].d = fdopendir(sub);
	if (!(*fr)[*nfr].d) {
		int err = -errno;

		close(sub);
		return err;
	}
	(*nfr)++;
	return 0;
}

/* Read the tree below dfd (owned, closed here) into the root, one open
 * directory per level on a heap stack: any depth. */
static int walk(struct import *im, int dfd)
{
	struct wframe *fr = store_malloc(16 * sizeof(*fr));
	size_t nfr = 0, cap = 16;
	int err = add_dir(im, &im->root);

	if (!err && !fr)
		err = -ENOMEM;
	if (!err && !(fr[0].d = fdopendir(dfd)))
		err = -errno;
	if (err) {
		close(dfd);
		free(fr);
		return err;
	}
	fr[nfr++].dir = &im->root;
	while (!err && nfr) {
		struct wframe *f = &fr[nfr - 1];
		struct dirent *de;
		struct inode *n;
		int sub = -1;

		errno = 0;
		de = readdir(f->d);
		if (!de) {
			err = -errno;
			closedir(f->d);
			nfr--;
			continue;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		store_progress_report(im->st, "scanning", "files",
				      im->stats.files, 0);
		err = kid_new(f->dir, de->d_name, &n);
		if (!err)
			err = walk_entry(im, dirfd(f->d), n, &sub);
		if (err > 0) { /* skipped */
			inode_fields_release(n);
			free(n);
			f->dir->nkids--;
			err = 0;
		}
		if (!err && sub >= 0)
			err = wframe_push(&fr, &nfr, &cap, n, sub);
	}
	while (nfr)
		closedir(fr[--nfr].d);
	free(fr);
	return err;
}

/* ---- phase 2: prepare on workers, commit in batches ---- */

/* Split the files into groups: a run of consecutive small files (walk
 * order: a directory's files are neighbours) of at most STORE_PACK_RAW
 * bytes and GROUP_FILES_MAX files, or one larger file. */
static void plan_groups(struct import *im)
{
	size_t i = 0, j;

	while (i < im->nfiles) {
		uint64_t sum = im->files[i]->a.size;

		j = i + 1;
		if (sum <= STORE_PACK_MEMBER_MAX)
			while (j < im->nfiles && j - i < GROUP_FILES_MAX &&
			       im->files[j]->a.size <= STORE_PACK_MEMBER_MAX &&
			       sum + im->files[j]->a.size <= STORE_PACK_RAW)
				sum += im->files[j++]->a.size;
		for (size_t k = i; k < j; k++) {
			im->gend[k] = j;
			im->off[k] = NOT_MEMBER;
		}
		i = j;
	}
}

/* Hash a file; tell whether the store holds its content already. */
static int prepare_file(struct import *im, int fd, uint64_t size,
			struct store_blob_prep **out, bool *known)
{
	struct store_txn *t;
	int err = store_blob_prepare_fd_lazy(fd, size, out);

	*known = false;
	if (err)
		return err;
	if (!store_txn_begin(im->st, false, &t)) {
		*known = store_blob_known(t, *out) == 1;
		store_txn_abort(t);
	}
	return 0;
}

static int prepare_one(struct import *im, size_t i, struct store_blob_prep **p,
		       bool *known)
{
	char *path = path_of(im->files[i]);
	int fd = path ? open_long(im->rootfd, path, O_RDONLY) : -ENOMEM;
	int err;

	free(path);
	*p = NULL;
	if (fd < 0)
		return fd;
	err = prepare_file(im, fd, im->files[i]->a.size, p, known);
	close(fd);
	return err;
}

/* Prepare group [i, e): new content compressed, as one frame when more
 * than one small file is new (so a second import of the same packages
 * compresses nothing). Fills the slots (lock not held). */
static void prepare_group(struct import *im, size_t i, size_t e, int *errs)
{
	struct store_blob_prep *fresh[GROUP_FILES_MAX];
	uint32_t offs[GROUP_FILES_MAX];
	size_t idx[GROUP_FILES_MAX], n = 0;
	struct store_frame *f = NULL;
	int err;

	for (size_t j = i; j < e; j++) {
		bool known;

		errs[j - i] = prepare_one(im, j, &im->slots[j], &known);
		if (!errs[j - i] && !known &&
		    store_blob_prep_bytes(im->slots[j]) && e - i > 1) {
			fresh[n] = im->slots[j];
			idx[n++] = j;
		} else if (!errs[j - i] && !known) {
			errs[j - i] = store_blob_prep_compress(im->slots[j]);
		}
	}
	err = n > 1 ? store_frame_make(fresh, n, STORE_IMPORT_LEVEL, offs, &f)
		    : -ENODATA;
	for (size_t k = 0; k < n; k++) {
		if (!err)
			im->off[idx[k]] = offs[k];
		else
			errs[idx[k] - i] = store_blob_prep_compress(fresh[k]);
	}
	if (!err)
		im->frame[i] = f;
}

static void *worker(void *arg)
{
	struct import *im = arg;
	int errs[GROUP_FILES_MAX];

	pthread_mutex_lock(&im->lock);
	while (!im->stop && im->next < im->nfiles) {
		size_t i = im->next, e = im->gend[i];

		if (i >= im->committed + WINDOW ||
		    (i > im->committed &&
		     im->upto[i] - im->upto[im->committed] >= AHEAD_BYTES)) {
			pthread_cond_wait(&im->cond, &im->lock);
			continue;
		}
		im->next = e;
		pthread_mutex_unlock(&im->lock);
		prepare_group(im, i, e, errs);
		pthread_mutex_lock(&im->lock);
		for (size_t j = i; j < e; j++) {
			if (errs[j - i]) {
				store_blob_prep_free(im->slots[j]);
				im->slots[j] = NULL;
			}
			im->slot_err[j] = errs[j - i];
			im->ready[j] = true;
		}
		pthread_cond_broadcast(&im->cond);
	}
	pthread_mutex_unlock(&im->lock);
	return NULL;
}

/* The frame of the group file i belongs to (kept at its first file). */
static struct store_frame *group_frame(struct import *im, size_t i)
{
	while (i > 0 && im->gend[i - 1] == im->gend[i])
		i--;
	return im->frame[i];
}

/* Commit files [from, to): all ready, whole groups. */
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
		struct store_frame *f =
		    im->off[i] != NOT_MEMBER ? group_frame(im, i) : NULL;
		bool dup;

		err = f ? store_blob_commit_member(t, p, f, im->off[i],
						   &im->files[i]->blob, &dup)
			: store_blob_commit(t, p, &im->files[i]->blob, &dup);
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
		log_failure(im, im->files[i], err);
	return err;
}

static void slot_free(struct import *im, size_t i)
{
	store_blob_prep_free(im->slots[i]);
	im->slots[i] = NULL;
	store_frame_free(im->frame[i]);
	im->frame[i] = NULL;
}

static int store_files(struct import *im, int threads)
{
	pthread_t *tids;
	size_t i, from = 0, bytes = 0;
	uint64_t done = 0;
	int k, started = 0, err = 0;

	if (!im->nfiles)
		return 0;
	im->slots = store_calloc(im->nfiles, sizeof(*im->slots));
	im->slot_err = store_calloc(im->nfiles, sizeof(*im->slot_err));
	im->ready = store_calloc(im->nfiles, sizeof(*im->ready));
	im->gend = store_calloc(im->nfiles, sizeof(*im->gend));
	im->frame = store_calloc(im->nfiles, sizeof(*im->frame));
	im->off = store_calloc(im->nfiles, sizeof(*im->off));
	im->upto = store_calloc(im->nfiles + 1, sizeof(*im->upto));
	tids = store_calloc((size_t)threads, sizeof(*tids));
	if (!im->slots || !im->slot_err || !im->ready || !im->gend ||
	    !im->frame || !im->off || !im->upto || !tids) {
		free(tids);
		return -ENOMEM;
	}
	for (i = 0; i < im->nfiles; i++)
		im->upto[i + 1] = im->upto[i] + im->files[i]->a.size;
	plan_groups(im);
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
		done += im->files[i]->a.size;
		store_progress_report(im->st, "importing", NULL, done,
				      im->big_bytes);
		bytes += store_blob_prep_size(im->slots[i]);
		/* workers stop WINDOW files or AHEAD_BYTES ahead: commit
		 * before that, at the end of a group */
		if ((bytes < BATCH_BYTES && i + 1 - from < COMMIT_FILES &&
		     i + 1 < im->nfiles) ||
		    i + 1 != im->gend[i])
			continue;
		err = commit_batch(im, from, i + 1);
		pthread_mutex_lock(&im->lock);
		for (; from <= i; from++)
			slot_free(im, from);
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
		slot_free(im, i);
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

static void fold_attr(XXH3_state_t *s, const struct inode *n)
{
	const struct store_attr *a = &n->a;
	uint64_t v[7] = {a->mode, a->uid,  a->gid,
			 a->rdev, a->size, (uint64_t)a->mtime_ns,
			 n->xalen};

	XXH3_128bits_update(s, v, sizeof(v));
	if (n->xalen)
		XXH3_128bits_update(s, n->xa, n->xalen);
}

/* dir->h from its kids' (hashed already); kids sorted by name. */
static int hash_dir(struct inode *dir)
{
	XXH3_state_t *s = XXH3_createState();
	XXH128_hash_t h;

	if (!s)
		return -ENOMEM;
	if (dir->nkids > 1)
		qsort(dir->kids, dir->nkids, sizeof(*dir->kids), kid_cmp);
	XXH3_128bits_reset(s);
	fold_attr(s, dir);
	for (size_t i = 0; i < dir->nkids; i++) {
		struct inode *n = dir->kids[i];
		uint64_t len = n->nlen;

		XXH3_128bits_update(s, &len, sizeof(len));
		XXH3_128bits_update(s, n->name, n->nlen);
		fold_attr(s, n);
		if (S_ISDIR(n->a.mode)) {
			XXH3_128bits_update(s, n->h, sizeof(n->h));
		} else if (n->big) {
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
	return 0;
}

static int dir_hash_cmp(const void *a, const void *b)
{
	const struct inode *x = *(struct inode *const *)a;
	const struct inode *y = *(struct inode *const *)b;
	int c = memcmp(x->h, y->h, 16);

	return c ? c : (x->pre > y->pre) - (x->pre < y->pre);
}

/* u is dir or one of its ancestors (pre-order positions and sizes). */
static bool is_above(const struct inode *u, const struct inode *v)
{
	return u->pre <= v->pre && v->pre < u->pre + u->size;
}

/*
 * dir->uniq for every dir: every directory hash in dir's subtree occurs
 * nowhere else in the import (duplicates inside the subtree are fine: the
 * stored table holds them as distinct tables too). That is: for every
 * dir u below, the lowest common ancestor of the dirs hashing like u lies
 * in the subtree, at depth >= dir's. Linear but for the sort and the
 * ancestor climbs (each group's climb only goes up).
 */
static int mark_uniq(struct import *im)
{
	struct inode **by = store_malloc(im->ndirs * sizeof(*by));
	size_t i, j;

	if (!by)
		return -ENOMEM;
	memcpy(by, im->dirs, im->ndirs * sizeof(*by));
	qsort(by, im->ndirs, sizeof(*by), dir_hash_cmp);
	for (i = 0; i < im->ndirs; i = j) {
		const struct inode *lca = by[i];

		for (j = i + 1;
		     j < im->ndirs && !memcmp(by[j]->h, by[i]->h, 16); j++)
			while (!is_above(lca, by[j]))
				lca = lca->parent;
		for (size_t k = i; k < j; k++)
			by[k]->lca_min = lca->depth;
	}
	free(by);
	for (i = im->ndirs; i-- > 1;) {
		struct inode *d = im->dirs[i], *p = d->parent;

		if (d->lca_min < p->lca_min)
			p->lca_min = d->lca_min;
	}
	for (i = 0; i < im->ndirs; i++)
		im->dirs[i]->uniq = im->dirs[i]->lca_min >= im->dirs[i]->depth;
	return 0;
}

/* Hash every directory, children before parents (reverse pre-order),
 * then decide which subtrees may be shared. */
static int plan_sharing(struct import *im)
{
	int err = 0;

	for (size_t i = im->ndirs; i-- > 0;)
		im->dirs[i]->size = 1;
	for (size_t i = im->ndirs; !err && i-- > 0;) {
		struct inode *d = im->dirs[i];

		err = hash_dir(d);
		if (d->parent)
			d->parent->size += d->size;
	}
	return err ? err : mark_uniq(im);
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

/* One directory's table (reused, or new and filled): its kids' tables
 * exist already. */
static int build_table(struct store_txn *t, struct import *im,
		       struct inode *dir, uint64_t gen, uint64_t *fid)
{
	struct store_entry e;
	int err;

	if (dir->parent && (dir->parent->reused || dir->parent->skipped)) {
		dir->skipped = true; /* inside a reused table */
		return 0;
	}
	err = find_shared(t, dir, &dir->tab);
	if (err) {
		dir->reused = err == 1;
		im->stats.dirs_shared += err == 1;
		return err < 0 ? err : 0;
	}
	dir->a.fid = (*fid)++;
	err = store_dir_new(t, &dir->a, gen, &dir->tab);
	if (!err && dir->xa)
		err = store_blob_put(t, dir->xa, dir->xalen, &e.xattr)
			  ?: store_dir_set_xattr(t, dir->tab, e.xattr);
	for (size_t i = 0; !err && i < dir->nkids; i++) {
		struct inode *n = dir->kids[i];

		memset(&e, 0, sizeof(e));
		if (S_ISDIR(n->a.mode))
			continue; /* put once built: see build_tables */
		n->a.fid = (*fid)++;
		if (n->big) {
			e.payload = STORE_P_BLOB;
			e.ref = n->blob;
		} else if (S_ISLNK(n->a.mode) || S_ISREG(n->a.mode)) {
			e.payload = n->dlen ? STORE_P_INLINE : STORE_P_NONE;
			e.inline_len = n->dlen;
			e.inline_data = n->data;
		}
		e.a = n->a;
		if (n->xa)
			err = store_blob_put(t, n->xa, n->xalen, &e.xattr);
		if (!err)
			err = store_dir_put(t, dir->tab, n->name, n->nlen, &e);
	}
	return err;
}

/* Every directory's table, parents first (pre-order: a reused table
 * covers its subtree); then, children first, each new table gets its
 * subdirectories' entries and its index record. */
static int build_tables(struct store_txn *t, struct import *im, uint64_t gen,
			uint64_t *fid)
{
	int err = 0;

	for (size_t i = 0; !err && i < im->ndirs; i++)
		err = build_table(t, im, im->dirs[i], gen, fid);
	for (size_t i = im->ndirs; !err && i-- > 0;) {
		struct inode *d = im->dirs[i];

		if (d->reused || d->skipped)
			continue;
		for (size_t k = 0; !err && k < d->nkids; k++) {
			struct inode *n = d->kids[k];
			struct store_entry e = {
			    .a = n->a, .payload = STORE_P_TAB, .ref = n->tab};

			if (S_ISDIR(n->a.mode))
				err = store_dir_put(t, d->tab, n->name, n->nlen,
						    &e);
		}
		if (!err)
			err = index_table(t, d, d->tab);
	}
	return err;
}

static int build_env(struct import *im, struct store_env *e)
{
	struct store_txn *t;
	uint64_t fid, gen;
	int err;

	err = plan_sharing(im);
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
		err = build_tables(t, im, gen, &fid);
	if (!err)
		err = store_meta_put_u64(t, "next_fid", fid - 1);
	/* the env gets its own gen: the tables built here are indexed for
	 * sharing, so frozen (a first write copies) */
	if (!err)
		err = store_env_create(t, e, im->root.tab);
	if (!err)
		err = store_unpin_all(t);
	if (err) {
		store_txn_abort(t);
		return err;
	}
	return store_txn_commit(t);
}

static int rank_cmp(const void *a, const void *b)
{
	const struct inode *x = *(struct inode *const *)a;
	const struct inode *y = *(struct inode *const *)b;

	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Put im->files in the order readers meet them: depth-first, each
 * directory's entries in name order, as blastfs lists them (tar, cp -r
 * and a package's imports read in that order). Blob ids, the frames
 * made at import and compaction's frames all follow this order, so a
 * frame's members are read together and it is decoded once, where the
 * host's readdir order (a hash order on ext4) scatters a directory's
 * files over many frames. */
static int order_files(struct import *im)
{
	struct ostack {
		struct inode *d;
		size_t k;
	} *stk = NULL;
	size_t n = 0, cap = 0, rank = 0;
	int err = 0;

	for (size_t i = 0; i < im->ndirs; i++)
		if (im->dirs[i]->nkids > 1)
			qsort(im->dirs[i]->kids, im->dirs[i]->nkids,
			      sizeof(*im->dirs[i]->kids), kid_cmp);
	for (size_t i = 0; i < im->nfiles; i++)
		im->files[i]->rank = SIZE_MAX;
	if (im->ndirs) { /* the root */
		stk = store_malloc(16 * sizeof(*stk));
		if (!stk)
			return -ENOMEM;
		cap = 16;
		stk[n++] = (struct ostack){im->dirs[0], 0};
	}
	while (n) {
		struct ostack *top = &stk[n - 1];
		struct inode *c;

		if (top->k == top->d->nkids) {
			n--;
			continue;
		}
		c = top->d->kids[top->k++];
		if (c->big)
			c->rank = rank++;
		if (!c->listed)
			continue;
		if (n == cap) {
			void *p = store_realloc(stk, 2 * cap * sizeof(*stk));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			stk = p;
			cap *= 2;
		}
		stk[n++] = (struct ostack){c, 0};
	}
	free(stk);
	if (!err && im->nfiles > 1)
		qsort(im->files, im->nfiles, sizeof(*im->files), rank_cmp);
	return err;
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
	err = store_xattrs_read_host(im.rootfd, NULL, &im.root.xa,
				     &im.root.xalen);
	if (err)
		goto out;
	fd = dup(im.rootfd);
	err = fd < 0 ? -errno : walk(&im, fd);
	if (!err)
		err = order_files(&im);
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
	free(im.gend);
	free(im.frame);
	free(im.off);
	free(im.upto);
	free(im.files);
	tree_release(&im);
	pthread_cond_destroy(&im.cond);
	pthread_mutex_destroy(&im.lock);
	close(im.rootfd);
	return err;
}
