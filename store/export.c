/* SPDX-License-Identifier: MIT */
/*
 * export.c - check a root table out into a directory: files, symlinks,
 * fifos, devices and empty dirs, with modes, owners (as root) and mtimes
 * to the ns. A directory's times are set after its contents are written.
 * The walk keeps its levels on a heap stack (any depth), and never leaves
 * the target by a symlink, whoever races it: every name is created or
 * opened relative to its directory's fd without following symlinks, and
 * owners, modes and times are set through fds of the nodes export made.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "store_internal.h"

#define COPY_BUF (1u << 20)

/* One directory being written: its table's entries and the next one. */
struct xframe {
	int dfd;
	size_t rlen; /* length of x->rel for this directory */
	size_t i;
	struct store_dirlist l;
	struct store_attr a;
	uint64_t xattr;
};

struct export
{
	struct store_txn *t;
	int rootfd;
	bool chown;
	char *buf;
	uint64_t root;
	struct xframe *fr; /* fr[nfr - 1] is being written */
	size_t nfr, frcap;
	char *rel; /* path of the current directory below the root */
	size_t rlen, rcap;
	/* hard-linked inodes already written: fid -> path below the root */
	size_t nlinks;
	uint64_t *link_fid;
	char **link_path;
};

/* Open directory name below dfd, following no symlink. */
static int open_dir_below(int dfd, const char *name)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dfd, name, &how, sizeof(how));

	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = openat(dfd, name, (int)how.flags); /* before Linux 5.6 */
	return fd < 0 ? -errno : (int)fd;
}

/* Append "/name" (or "name" at the root) to x->rel. */
static int rel_push(struct export *x, const char *name, size_t nlen)
{
	if (x->rlen + nlen + 2 > x->rcap) {
		size_t cap = (x->rlen + nlen + 2) * 2;
		char *p = store_realloc(x->rel, cap);

		if (!p)
			return -ENOMEM;
		x->rel = p;
		x->rcap = cap;
	}
	if (x->rlen)
		x->rel[x->rlen++] = '/';
	memcpy(x->rel + x->rlen, name, nlen);
	x->rlen += nlen;
	x->rel[x->rlen] = '\0';
	return 0;
}

/* Link a second name to the first, at path (below the root), component
 * by component: a directory swapped for a symlink is not followed. */
static int link_to(struct export *x, char *path, int dfd, const char *nm)
{
	char *comp = path, *slash;
	int fd = x->rootfd, err = 0;

	while (!err && (slash = strchr(comp, '/'))) {
		int next;

		*slash = '\0';
		next = open_dir_below(fd, comp);
		*slash = '/';
		if (fd != x->rootfd)
			close(fd);
		if (next < 0)
			return next;
		fd = next;
		comp = slash + 1;
	}
	if (linkat(fd, comp, dfd, nm, 0) < 0)
		err = -errno;
	if (fd != x->rootfd)
		close(fd);
	return err;
}

/* A second name of a hard-linked inode becomes a hard link. */
static int export_hardlink(struct export *x, int dfd, const char *nm,
			   const struct store_entry *alias,
			   struct store_entry *inode, bool *done)
{
	size_t rlen = x->rlen;
	void *p;
	int err;

	*done = false;
	for (size_t i = 0; i < x->nlinks; i++)
		if (x->link_fid[i] == alias->ref) {
			*done = true;
			return link_to(x, x->link_path[i], dfd, nm);
		}
	err = store_link_get(x->t, x->root, alias->ref, inode);
	if (err)
		return err == -ENOENT ? -EIO : err;
	p = realloc(x->link_fid, (x->nlinks + 1) * sizeof(*x->link_fid));
	if (!p)
		return -ENOMEM;
	x->link_fid = p;
	p = realloc(x->link_path, (x->nlinks + 1) * sizeof(*x->link_path));
	if (!p)
		return -ENOMEM;
	x->link_path = p;
	err = rel_push(x, nm, strlen(nm));
	if (err)
		return err;
	x->link_path[x->nlinks] = strdup(x->rel);
	x->rlen = rlen;
	x->rel[rlen] = '\0';
	if (!x->link_path[x->nlinks])
		return -ENOMEM;
	x->link_fid[x->nlinks++] = alias->ref;
	return 0;
}

static void to_ts(struct timespec ts[2], const struct store_attr *a)
{
	ts[0].tv_sec = a->atime_ns / STORE_NS_PER_S;
	ts[0].tv_nsec = a->atime_ns % STORE_NS_PER_S;
	ts[1].tv_sec = a->mtime_ns / STORE_NS_PER_S;
	ts[1].tv_nsec = a->mtime_ns % STORE_NS_PER_S;
	if (ts[0].tv_nsec < 0) {
		ts[0].tv_sec--;
		ts[0].tv_nsec += STORE_NS_PER_S;
	}
	if (ts[1].tv_nsec < 0) {
		ts[1].tv_sec--;
		ts[1].tv_nsec += STORE_NS_PER_S;
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

/* Blob id's data ranges into fd; its holes stay holes (skipped, the
 * size set at the end), as cp --sparse does. */
static int export_blob(struct export *x, int fd, uint64_t id, uint64_t size)
{
	uint64_t off = 0, end;
	int err = 0;

	while (!err && off < size) {
		err = store_blob_seek(x->t, id, off, true, &off);
		if (!err)
			err = store_blob_seek(x->t, id, off, false, &end);
		if (err == -ENXIO)
			break;
		if (!err && lseek(fd, (off_t)off, SEEK_SET) < 0)
			err = -errno;
		while (!err && off < end) {
			size_t want =
			    end - off < COPY_BUF ? end - off : COPY_BUF;
			ssize_t n =
			    store_blob_read(x->t, id, x->buf, want, off);

			if (n <= 0) {
				err = n < 0 ? (int)n : -EIO;
				break;
			}
			err = write_all(fd, x->buf, (size_t)n);
			off += (uint64_t)n;
		}
	}
	if (err == -ENXIO)
		err = 0;
	if (!err && ftruncate(fd, (off_t)size) < 0)
		err = -errno;
	return err;
}

static int export_file(struct export *x, int dfd, const char *name,
		       const struct store_entry *e)
{
	struct timespec ts[2];
	int fd, err = 0;

	/* O_EXCL: a name planted meanwhile (a symlink too) fails */
	fd = openat(dfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (e->payload == STORE_P_INLINE) {
		err = write_all(fd, e->inline_data, e->inline_len);
	} else if (e->payload == STORE_P_BLOB) {
		err = export_blob(x, fd, e->ref, e->a.size);
	} else if (e->payload == STORE_P_PENDING) {
		err = -EBUSY; /* an unsealed file: only its daemon has it */
	}
	if (!err && x->chown && fchown(fd, e->a.uid, e->a.gid) < 0)
		err = -errno;
	/* after chown, which drops security.capability */
	if (!err && e->xattr)
		err = store_xattrs_write_host(x->t, e->xattr, fd, NULL);
	if (!err && fchmod(fd, e->a.mode & 07777) < 0)
		err = -errno;
	to_ts(ts, &e->a);
	if (!err && futimens(fd, ts) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

/*
 * Owner, mode and times of a symlink, fifo or device node just made at
 * name: through an O_PATH fd of the node, once it proves to be ours and
 * of the type made (a name swapped meanwhile is refused, not followed).
 */
static int export_node_attrs(struct export *x, int dfd, const char *name,
			     const struct store_attr *a, uint64_t xattr)
{
	char proc[64];
	struct timespec ts[2];
	struct stat sb;
	int fd, err = 0;

	fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		err = -errno;
	else if ((sb.st_mode & S_IFMT) != (a->mode & S_IFMT) ||
		 sb.st_uid != geteuid() || sb.st_nlink != 1)
		err = -EEXIST; /* replaced since we made it */
	/* owner first: chown clears set-id bits */
	if (!err && x->chown &&
	    fchownat(fd, "", a->uid, a->gid, AT_EMPTY_PATH) < 0)
		err = -errno;
	/* no fchmod on an O_PATH fd: its /proc link names this very node */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!err && xattr)
		err = store_xattrs_write_host(x->t, xattr, -1, proc);
	if (!err && !S_ISLNK(a->mode) && chmod(proc, a->mode & 07777) < 0)
		err = -errno;
	to_ts(ts, a);
	if (!err && utimensat(fd, "", ts, AT_EMPTY_PATH) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Make directory nm below dfd and open it: *out, its fd. */
static int export_mkdir(int dfd, const char *nm, int *out)
{
	struct stat sb;
	int fd;

	if (mkdirat(dfd, nm, 0700) < 0)
		return -errno;
	fd = open_dir_below(dfd, nm);
	if (fd < 0)
		return fd;
	if (fstat(fd, &sb) < 0 || sb.st_uid != geteuid()) {
		close(fd);
		return -EEXIST; /* replaced since we made it */
	}
	*out = fd;
	return 0;
}

static int entry_name(struct export *x, const struct store_dirlist_ent *d)
{
	if (d->nlen && d->name[0] == '/')
		return 1; /* the root's hidden tables (links, state) */
	if (d->nlen > STORE_NAME_MAX || memchr(d->name, '/', d->nlen) ||
	    memchr(d->name, '\0', d->nlen) || !strcmp(d->name, ".") ||
	    !strcmp(d->name, "..")) {
		store_logf(x->t->st, "export: refusing entry name '%.*s'",
			   (int)d->nlen, d->name);
		return -EIO;
	}
	return 0;
}

/* Write one entry into dfd; a directory is made and opened (*subfd)
 * for the caller to fill. */
static int export_entry(struct export *x, int dfd,
			const struct store_dirlist_ent *d, int *subfd)
{
	const struct store_entry *e = &d->e;
	struct store_entry inode;
	const char *nm = d->name;
	bool done;
	int err = entry_name(x, d);

	if (err)
		return err < 0 ? err : 0;
	if (e->payload == STORE_P_HARDLINK) {
		err = export_hardlink(x, dfd, nm, e, &inode, &done);
		if (err || done)
			return err;
		e = &inode;
	}
	switch (e->a.mode & S_IFMT) {
	case S_IFDIR:
		if (e->payload != STORE_P_TAB)
			return -EIO;
		return export_mkdir(dfd, nm, subfd);
	case S_IFREG:
		return export_file(x, dfd, nm, e);
	case S_IFLNK: {
		char target[4097];

		if (e->payload != STORE_P_INLINE || e->inline_len >= 4097)
			return -EIO;
		memcpy(target, e->inline_data, e->inline_len);
		target[e->inline_len] = '\0';
		if (symlinkat(target, dfd, nm) < 0)
			return -errno;
		break;
	}
	case S_IFIFO:
	case S_IFCHR:
	case S_IFBLK:
		if (mknodat(dfd, nm, (e->a.mode & S_IFMT) | 0600, e->a.rdev) <
		    0)
			return -errno;
		break;
	default:
		return 0;
	}
	return export_node_attrs(x, dfd, nm, &e->a, e->xattr);
}

/* Start writing table tab into dfd (owned from here on). */
static int frame_push(struct export *x, uint64_t tab, int dfd)
{
	struct xframe *f;
	struct store_dir d;
	int err;

	if (x->nfr == x->frcap) {
		size_t cap = x->frcap ? x->frcap * 2 : 16;
		void *p = store_realloc(x->fr, cap * sizeof(*x->fr));

		if (!p) {
			close(dfd);
			return -ENOMEM;
		}
		x->fr = p;
		x->frcap = cap;
	}
	f = &x->fr[x->nfr];
	memset(f, 0, sizeof(*f));
	f->dfd = dfd;
	f->rlen = x->rlen;
	x->nfr++;
	err = store_dir_stat(x->t, tab, &d);
	if (!err)
		err = store_dir_list(x->t, tab, &f->l);
	f->a = d.a;
	f->xattr = err ? 0 : d.xattr;
	return err;
}

/* The top directory is full: give it the table's attrs, close it. */
static int frame_pop(struct export *x)
{
	struct xframe *f = &x->fr[--x->nfr];
	struct timespec ts[2];
	int err = 0;

	if (x->chown && fchown(f->dfd, f->a.uid, f->a.gid) < 0)
		err = -errno;
	if (!err && f->xattr)
		err = store_xattrs_write_host(x->t, f->xattr, f->dfd, NULL);
	if (!err && fchmod(f->dfd, f->a.mode & 07777) < 0)
		err = -errno;
	to_ts(ts, &f->a);
	if (!err && futimens(f->dfd, ts) < 0)
		err = -errno;
	close(f->dfd);
	store_dirlist_release(&f->l);
	if (x->nfr) {
		x->rlen = x->fr[x->nfr - 1].rlen;
		x->rel[x->rlen] = '\0';
	}
	return err;
}

/* Fill dfd (owned) from the tree under tab, one level per frame. */
static int export_tree(struct export *x, uint64_t tab, int dfd)
{
	int err = frame_push(x, tab, dfd);

	while (!err && x->nfr) {
		struct xframe *f = &x->fr[x->nfr - 1];
		const struct store_dirlist_ent *d;
		int sub = -1;

		if (f->i == f->l.n) {
			err = frame_pop(x);
			continue;
		}
		d = &f->l.v[f->i++];
		err = export_entry(x, f->dfd, d, &sub);
		if (!err && sub >= 0) {
			err = rel_push(x, d->name, d->nlen);
			if (err)
				close(sub);
			else
				err = frame_push(x, d->e.ref, sub);
		}
	}
	while (x->nfr) {
		struct xframe *f = &x->fr[--x->nfr];

		close(f->dfd);
		store_dirlist_release(&f->l);
	}
	return err;
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
	int err, fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	x.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.rootfd < 0)
		return -errno;
	err = dir_is_empty(x.rootfd);
	if (err == 0)
		err = -ENOTEMPTY;
	if (err < 0)
		goto out_close;
	x.chown = geteuid() == 0;
	x.buf = store_malloc(COPY_BUF);
	fd = dup(x.rootfd);
	if (!x.buf || fd < 0) {
		err = x.buf ? -errno : -ENOMEM;
		if (fd >= 0)
			close(fd);
		goto out_free;
	}
	err = store_txn_begin(st, false, &x.t);
	if (err) {
		close(fd);
		goto out_free;
	}
	err = export_tree(&x, root, fd);
	store_txn_abort(x.t);
out_free:
	free(x.buf);
	free(x.fr);
	free(x.rel);
	for (size_t i = 0; i < x.nlinks; i++)
		free(x.link_path[i]);
	free(x.link_path);
	free(x.link_fid);
out_close:
	close(x.rootfd);
	return err;
}
