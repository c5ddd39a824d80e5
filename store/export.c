/* SPDX-License-Identifier: MIT */
/*
 * export.c - check a root table out into a directory: files, symlinks,
 * fifos, devices and empty dirs, with modes, owners (as root) and mtimes
 * to the ns. A directory's times are set after its contents are written.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

#define COPY_BUF (1u << 20)

struct export
{
	struct store_txn *t;
	int dfd, rootfd;
	bool chown;
	char *buf;
	uint64_t root;
	char rel[4096]; /* path of dfd below the export root */
	/* hard-linked inodes already written: fid -> path */
	size_t nlinks;
	uint64_t *link_fid;
	char **link_path;
};

/* A second name of a hard-linked inode becomes a hard link. */
static int export_hardlink(struct export *x, const char *nm,
			   const struct store_entry *alias,
			   struct store_entry *inode, bool *done)
{
	char path[4096 + 256];
	size_t i;
	void *p;
	int err;

	*done = false;
	for (i = 0; i < x->nlinks; i++)
		if (x->link_fid[i] == alias->ref) {
			if (linkat(x->rootfd, x->link_path[i], x->dfd, nm, 0) <
			    0)
				return -errno;
			*done = true;
			return 0;
		}
	err = store_link_get(x->t, x->root, alias->ref, inode);
	if (err)
		return err == -ENOENT ? -EIO : err;
	snprintf(path, sizeof(path), "%s%s%s", x->rel, *x->rel ? "/" : "", nm);
	p = realloc(x->link_fid, (x->nlinks + 1) * sizeof(*x->link_fid));
	if (!p)
		return -ENOMEM;
	x->link_fid = p;
	p = realloc(x->link_path, (x->nlinks + 1) * sizeof(*x->link_path));
	if (!p)
		return -ENOMEM;
	x->link_path = p;
	x->link_path[x->nlinks] = strdup(path);
	if (!x->link_path[x->nlinks])
		return -ENOMEM;
	x->link_fid[x->nlinks++] = alias->ref;
	return 0;
}

static void to_ts(struct timespec ts[2], const struct store_attr *a)
{
	ts[0].tv_sec = a->atime_ns / 1000000000;
	ts[0].tv_nsec = a->atime_ns % 1000000000;
	ts[1].tv_sec = a->mtime_ns / 1000000000;
	ts[1].tv_nsec = a->mtime_ns % 1000000000;
	if (ts[0].tv_nsec < 0) {
		ts[0].tv_sec--;
		ts[0].tv_nsec += 1000000000;
	}
	if (ts[1].tv_nsec < 0) {
		ts[1].tv_sec--;
		ts[1].tv_nsec += 1000000000;
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w;

		if (store_fault_hit(STORE_FAULT_WRITE)) {
			errno = EIO;
			w = -1;
		} else {
			w = write(fd, p, n);
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int export_file(struct export *x, const char *name,
		       const struct store_entry *e)
{
	struct timespec ts[2];
	uint64_t off = 0;
	int fd, err = 0;

	fd =
	    openat(x->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (e->payload == STORE_P_INLINE) {
		err = write_all(fd, e->inline_data, e->inline_len);
	} else if (e->payload == STORE_P_BLOB) {
		while (!err && off < e->a.size) {
			ssize_t n = store_blob_read(x->t, e->ref, x->buf,
						    COPY_BUF, off);
			if (n <= 0) {
				err = n < 0 ? (int)n : -EIO;
				break;
			}
			err = write_all(fd, x->buf, (size_t)n);
			off += (uint64_t)n;
		}
	} else if (e->payload == STORE_P_PENDING) {
		err = -EBUSY; /* an unsealed file: only its daemon has it */
	}
	if (!err && x->chown && fchown(fd, e->a.uid, e->a.gid) < 0)
		err = -errno;
	if (!err && fchmod(fd, e->a.mode & 07777) < 0)
		err = -errno;
	to_ts(ts, &e->a);
	if (!err && futimens(fd, ts) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

static int export_dir(struct export *x, uint64_t tab);

static int export_entry(void *arg, const char *name, size_t nlen,
			const struct store_entry *e)
{
	struct export *x = arg;
	char nm[STORE_NAME_MAX + 1];
	struct store_entry inode;
	struct timespec ts[2];
	size_t rlen;
	int err = 0, fd, saved;
	bool done;

	if (nlen && name[0] == '/')
		return 0; /* the root's hidden tables (links, state) */
	if (nlen > STORE_NAME_MAX || memchr(name, '/', nlen) ||
	    memchr(name, '\0', nlen) || (nlen == 1 && name[0] == '.') ||
	    (nlen == 2 && !memcmp(name, "..", 2))) {
		store_logf(x->t->st, "export: refusing entry name '%.*s'",
			   (int)nlen, name);
		return -EIO;
	}
	memcpy(nm, name, nlen);
	nm[nlen] = '\0';
	if (e->payload == STORE_P_HARDLINK) {
		err = export_hardlink(x, nm, e, &inode, &done);
		if (err || done)
			return err;
		e = &inode;
	}
	to_ts(ts, &e->a);
	switch (e->a.mode & S_IFMT) {
	case S_IFDIR:
		if (e->payload != STORE_P_TAB)
			return -EIO;
		if (mkdirat(x->dfd, nm, 0700) < 0)
			return -errno;
		fd = openat(x->dfd, nm, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		saved = x->dfd;
		x->dfd = fd;
		rlen = strlen(x->rel);
		snprintf(x->rel + rlen, sizeof(x->rel) - rlen, "%s%s",
			 rlen ? "/" : "", nm);
		err = export_dir(x, e->ref);
		x->rel[rlen] = '\0';
		x->dfd = saved;
		close(fd);
		return err;
	case S_IFREG:
		err = export_file(x, nm, e);
		break;
	case S_IFLNK: {
		char target[4097];

		if (e->payload != STORE_P_INLINE || e->inline_len >= 4097)
			return -EIO;
		memcpy(target, e->inline_data, e->inline_len);
		target[e->inline_len] = '\0';
		if (symlinkat(target, x->dfd, nm) < 0)
			return -errno;
		break;
	}
	case S_IFIFO:
	case S_IFCHR:
	case S_IFBLK:
		if (mknodat(x->dfd, nm, e->a.mode, e->a.rdev) < 0)
			return -errno;
		/* owner first: chown clears set-id bits */
		if (x->chown && fchownat(x->dfd, nm, e->a.uid, e->a.gid, 0) < 0)
			return -errno;
		if (fchmodat(x->dfd, nm, e->a.mode & 07777, 0) < 0)
			return -errno;
		break;
	default:
		return 0;
	}
	if (err || S_ISREG(e->a.mode)) /* export_file did owner and times */
		return err;
	if (S_ISLNK(e->a.mode) && x->chown &&
	    fchownat(x->dfd, nm, e->a.uid, e->a.gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (utimensat(x->dfd, nm, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Fill x->dfd from table tab, then give it the table's attrs. */
static int export_dir(struct export *x, uint64_t tab)
{
	struct store_dir d;
	struct timespec ts[2];
	int err;

	err = store_dir_stat(x->t, tab, &d);
	if (!err)
		err = store_dir_iter(x->t, tab, NULL, 0, export_entry, x);
	if (err)
		return err;
	if (x->chown && fchown(x->dfd, d.a.uid, d.a.gid) < 0)
		return -errno;
	if (fchmod(x->dfd, d.a.mode & 07777) < 0)
		return -errno;
	to_ts(ts, &d.a);
	if (futimens(x->dfd, ts) < 0)
		return -errno;
	return 0;
}

static int dir_is_empty(int fd)
{
	int dup_fd = dup(fd);
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if (dup_fd < 0)
		return -errno;
	d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

int store_export(struct store *st, uint64_t root, const char *dir)
{
	struct export x = {.root = root};
	int err;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	x.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.dfd < 0)
		return -errno;
	x.rootfd = x.dfd;
	err = dir_is_empty(x.dfd);
	if (err == 0)
		err = -ENOTEMPTY;
	if (err < 0)
		goto out_close;
	x.chown = geteuid() == 0;
	x.buf = store_malloc(COPY_BUF);
	if (!x.buf) {
		err = -ENOMEM;
		goto out_close;
	}
	err = store_txn_begin(st, false, &x.t);
	if (!err) {
		err = export_dir(&x, root);
		store_txn_abort(x.t);
	}
	free(x.buf);
	for (size_t i = 0; i < x.nlinks; i++)
		free(x.link_path[i]);
	free(x.link_path);
	free(x.link_fid);
out_close:
	close(x.dfd);
	return err;
}
