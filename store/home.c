/* SPDX-License-Identifier: MIT */
/*
 * home.c - the store directory itself: whom it trusts (owner and mode, as
 * ssh checks its keys), files created in it without following links, and
 * data.mdb checked against its own meta pages before LMDB maps it (a
 * short file would be SIGBUS on the first read past its end).
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

#define MARKER_NAME "blast-store"

static void why_set(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* sb (of path) is a directory the caller alone can write. */
static int trust_dir(const char *path, const struct stat *sb, char *why,
		     size_t len)
{
	if (!S_ISDIR(sb->st_mode)) {
		why_set(why, len, "'%s' is not a directory", path);
		return -ENOTDIR;
	}
	if (sb->st_uid != geteuid()) {
		why_set(why, len,
			"bad ownership on '%s': owned by uid %u, not by you "
			"(uid %u)",
			path, (unsigned)sb->st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (sb->st_mode & (S_IWGRP | S_IWOTH)) {
		why_set(why, len,
			"bad permissions on '%s': writable by group or others "
			"(fix: chmod go-w '%s')",
			path, path);
		return -EPERM;
	}
	return 0;
}

int store_home_trust(const char *home, char *why, size_t len)
{
	struct stat sb;

	if (stat(home, &sb) < 0) {
		why_set(why, len, "'%s': %s", home, strerror(errno));
		return -errno;
	}
	return trust_dir(home, &sb, why, len);
}

int store_home_subdir(const char *home, const char *name, char *path,
		      size_t pathlen, char *why, size_t len)
{
	struct stat sb;
	int n = snprintf(path, pathlen, "%s/%s", home, name);

	if (n < 0 || (size_t)n >= pathlen) {
		why_set(why, len, "store path '%s' is too long", home);
		return -ENAMETOOLONG;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		why_set(why, len, "cannot create '%s': %s", path,
			strerror(errno));
		return -errno;
	}
	/* lstat: a symlink planted in place of the directory is refused */
	if (lstat(path, &sb) < 0) {
		why_set(why, len, "'%s': %s", path, strerror(errno));
		return -errno;
	}
	return trust_dir(path, &sb, why, len);
}

int store_home_open(const char *path, int flags, mode_t mode)
{
	int fd;

	if (flags & O_CREAT)
		flags |= O_EXCL;
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd < 0 ? -errno : fd;
}

int store_home_write(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	size_t done = 0;
	ssize_t n;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* a stale one (a crash) or a planted one: the name goes, never what
	 * it may point at */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -errno;
	fd = store_home_open(tmp, O_WRONLY | O_CREAT, 0600);
	if (fd < 0)
		return fd;
	while (done < len) {
		n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out_unlink;
		}
		done += (size_t)n;
	}
	if (close(fd) < 0) {
		fd = -1;
		err = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		err = -errno;
		goto out_unlink;
	}
	return 0;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err;
}

/* ---- data.mdb against its meta pages ---- */

/* LMDB 0.9's file format (mdb.c: MDB_page, MDB_meta): a meta page is a
 * 16-byte page header, then magic, version, address, mapsize, two 48-byte
 * MDB_db records (the free and main dbs; the first one's md_pad is the
 * page size, md_root at 40 in each), last_pg and txnid. Meta pages 0 and
 * 1; the one with the larger txnid is current. The file need not reach
 * last_pg: pages a txn took from the end and freed again before its
 * commit (LMDB's loose pages) are never written, so what a healthy file
 * must hold is its two root pages. */
#define LMDB_MAGIC     0xBEEFC0DEu
#define LMDB_DATA_VER  1u
#define META_MAGIC     16
#define META_VERSION   20
#define META_PSIZE     40
#define META_FREE_ROOT 80
#define META_MAIN_ROOT 128
#define LMDB_NO_PAGE   UINT64_MAX /* P_INVALID: an empty db */
#define META_LAST_PG   136
#define META_TXNID     144
#define META_LEN       152
#define LMDB_PSIZE_MIN 512u
#define LMDB_PSIZE_MAX 65536u

struct meta {
	uint32_t psize;
	uint64_t last_pg, txnid, top_root;
};

static bool meta_parse(const unsigned char *p, struct meta *m)
{
	if (get_le32(p + META_MAGIC) != LMDB_MAGIC ||
	    get_le32(p + META_VERSION) != LMDB_DATA_VER)
		return false;
	m->psize = get_le32(p + META_PSIZE);
	m->last_pg = get_le64(p + META_LAST_PG);
	m->txnid = get_le64(p + META_TXNID);
	m->top_root = 1; /* the meta pages */
	for (int i = 0; i < 2; i++) {
		uint64_t r =
		    get_le64(p + (i ? META_MAIN_ROOT : META_FREE_ROOT));

		if (r != LMDB_NO_PAGE && r > m->top_root)
			m->top_root = r;
	}
	return m->top_root <= m->last_pg || m->last_pg < 2;
}

/* Size of the file whose open fd is fd that its newest meta page needs;
 * -EIO (and why) if no meta page is valid. */
static int meta_need(int fd, const char *path, off_t size, uint64_t *need,
		     char *why, size_t len)
{
	unsigned char buf[META_LEN];
	struct meta m0, m1;
	bool ok0, ok1 = false;

	if (size < META_LEN || pread(fd, buf, META_LEN, 0) != META_LEN)
		goto out_short;
	ok0 = meta_parse(buf, &m0);
	if (!ok0) {
		why_set(why, len, "data file '%s' is not an LMDB file", path);
		return -EIO;
	}
	if (m0.psize < LMDB_PSIZE_MIN || m0.psize > LMDB_PSIZE_MAX ||
	    (m0.psize & (m0.psize - 1))) {
		why_set(why, len, "data file '%s' has a corrupt header", path);
		return -EIO;
	}
	if (size < (off_t)m0.psize + META_LEN)
		goto out_short;
	if (pread(fd, buf, META_LEN, m0.psize) == META_LEN)
		ok1 = meta_parse(buf, &m1) && m1.psize == m0.psize;
	if (ok1 && m1.txnid > m0.txnid)
		m0 = m1;
	*need = (m0.top_root + 1) * (uint64_t)m0.psize;
	return 0;
out_short:
	why_set(why, len,
		"data file '%s' is truncated (%lld bytes, too short for its "
		"header)",
		path, (long long)size);
	return -EIO;
}

/* Any trace of a store having lived in home (the marker, or what the
 * daemon makes). lock.mdb alone is not: a first open that failed leaves
 * one behind. */
static bool home_used(const char *home)
{
	static const char *const names[] = {MARKER_NAME, "run", "staging"};
	char path[PATH_MAX];
	struct stat sb;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", home, names[i]);
		if (lstat(path, &sb) == 0)
			return true;
	}
	return false;
}

int store_home_check_data(const char *home, char *why, size_t len)
{
	char path[PATH_MAX];
	uint64_t need = 0;
	struct stat sb;
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/data.mdb", home) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!home_used(home))
			return 1;
		why_set(why, len,
			"data file '%s' is missing (the store is damaged)",
			path);
		return -EIO;
	}
	if (fd < 0) {
		why_set(why, len, "cannot open '%s': %s", path,
			strerror(errno));
		return -errno;
	}
	if (fstat(fd, &sb) < 0) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode)) {
		why_set(why, len, "data file '%s' is not a regular file", path);
		err = -EIO;
		goto out_close;
	}
	if (sb.st_size == 0) {
		err = home_used(home) ? -EIO : 1;
		if (err < 0)
			why_set(why, len,
				"data file '%s' is empty (the store is "
				"damaged)",
				path);
		goto out_close;
	}
	err = meta_need(fd, path, sb.st_size, &need, why, len);
	if (!err && (uint64_t)sb.st_size < need) {
		why_set(why, len,
			"data file '%s' is truncated (%lld bytes, its meta "
			"pages need %llu)",
			path, (long long)sb.st_size, (unsigned long long)need);
		err = -EIO;
	}
out_close:
	close(fd);
	return err;
}

int store_home_mark(const char *home)
{
	char path[PATH_MAX];
	static const char text[] = "blast store: its data is data.mdb\n";
	int fd;

	if (snprintf(path, sizeof(path), "%s/" MARKER_NAME, home) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = store_home_open(path, O_WRONLY | O_CREAT, 0600);
	if (fd == -EEXIST)
		return 0;
	if (fd < 0)
		return fd;
	if (write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1) {
		close(fd);
		unlink(path);
		return -ENOSPC;
	}
	return close(fd) < 0 ? -errno : 0;
}
