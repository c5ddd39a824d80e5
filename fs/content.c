/* SPDX-License-Identifier: MIT */
/*
 * content.c - a node's unsealed content: in memory up to FS_MEM_MAX, in
 * an unnamed staging file (O_TMPFILE under STORE/staging, sparse) above,
 * so a large or sparse file never has to fit in memory. The staging file
 * needs no cleanup after a crash: it has no name. All nodes' buffers
 * together stay within a budget (FS_MEM_BUDGET): content that would pass
 * it goes to a staging file too. Holes live only in staging files: a
 * change that would leave a whole 4 KiB block unwritten, any fallocate,
 * and a stored blob with holes go there, and the staging file's own
 * holes (SEEK_HOLE, st_blocks) are the file's. All under fs->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_internal.h"

#define FS_MEM_MAX    (8u << 20)
#define FS_MEM_BUDGET (64ull << 20)
#define COPY_STEP     (1u << 20)

/* The budget: BLASTFS_MEM_BUDGET (bytes) overrides, for tests. */
static uint64_t budget(struct fs *fs)
{
	if (!fs->mem_budget) {
		const char *v = getenv("BLASTFS_MEM_BUDGET");
		char *end;
		unsigned long long b = v && *v ? strtoull(v, &end, 10) : 0;

		fs->mem_budget = b && !*end ? b : FS_MEM_BUDGET;
	}
	return fs->mem_budget;
}

/* n's buffer is what fs->mem counts for it (n->mem). */
static void account(struct fs *fs, struct node *n)
{
	fs->mem = fs->mem - n->mem + n->cap;
	n->mem = n->cap;
}

/* Would n's content at size want (in memory) pass a limit? */
static bool too_big(struct fs *fs, struct node *n, uint64_t want)
{
	uint64_t cap = n->cap ? n->cap : 4096;

	while (cap < want)
		cap *= 2;
	if (want > FS_MEM_MAX)
		return true;
	return want > n->cap && fs->mem - n->mem + cap > budget(fs);
}

bool fs_content_large(const struct node *n)
{
	return n->len > FS_MEM_MAX;
}

bool fs_content_over(struct fs *fs)
{
	FS_ASSERT_LOCKED(fs);
	return fs->mem > budget(fs);
}

/* Writers wait while a seal reads the staging file. */
static void wait_seal(struct fs *fs, struct node *n)
{
	while (n->sealing)
		fs_lock_wait(fs, &fs->seal_cond);
}

static int grow(struct node *n, size_t want)
{
	size_t cap = n->cap ? n->cap : 4096;
	unsigned char *b;

	if (want <= n->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	b = realloc(n->buf, cap);
	if (!b)
		return -ENOMEM;
	n->buf = b;
	n->cap = cap;
	return 0;
}

static int write_all(int fd, const void *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p = (const char *)p + w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int staging_open(struct fs *fs)
{
	int fd = open(fs->staging, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	return fd < 0 ? -errno : fd;
}

/* Move the in-memory content into a staging file. */
static int spill(struct fs *fs, struct node *n)
{
	int fd = staging_open(fs), err;

	if (fd < 0)
		return fd;
	err = n->len ? write_all(fd, n->buf, n->len, 0) : 0;
	if (err) {
		close(fd);
		return err;
	}
	free(n->buf);
	n->buf = NULL;
	n->cap = 0;
	n->sfd = fd;
	account(fs, n);
	return 0;
}

/* Would a write at off into content of len bytes leave a whole 4 KiB
 * block unwritten before it? That block is a hole: only a staging file
 * keeps it. */
static bool makes_hole(uint64_t len, uint64_t off)
{
	return ((len + 4095) & ~4095ull) + 4096 <= off;
}

/* Would growing len bytes to size add a block (the last one may be short)
 * that holds no byte of the old content? */
static bool grows_hole(uint64_t len, uint64_t size)
{
	return ((len + 4095) & ~4095ull) < size;
}

/* Copy the data of blob ref (its holes stay holes) into fd. */
static int copy_data(struct store_txn *t, uint64_t ref, uint64_t size, int fd,
		     unsigned char *b)
{
	uint64_t off = 0, end;
	int err = 0;

	while (!err && off < size) {
		err = store_blob_seek(t, ref, off, true, &off);
		if (!err)
			err = store_blob_seek(t, ref, off, false, &end);
		while (!err && off < end) {
			size_t want =
			    end - off < COPY_STEP ? end - off : COPY_STEP;
			ssize_t got = store_blob_read(t, ref, b, want, off);

			if (got <= 0)
				err = got < 0 ? (int)got : -EIO;
			else
				err = write_all(fd, b, (size_t)got, off);
			off += got > 0 ? (uint64_t)got : 0;
		}
	}
	if (err == -ENXIO) /* no data after off */
		err = 0;
	if (!err && ftruncate(fd, (off_t)size) < 0)
		err = -errno;
	return err;
}

/* Copy a stored blob into a staging file, a step at a time. */
static int load_staged(struct fs *fs, struct node *n)
{
	unsigned char *b = malloc(COPY_STEP);
	struct store_txn *t = NULL;
	int fd, err;

	if (!b)
		return -ENOMEM;
	fd = staging_open(fs);
	err = fd < 0 ? fd : fs_rtxn(fs, &t);
	if (!err)
		err = copy_data(t, n->ref, n->a.size, fd, b);
	if (t)
		fs_rtxn_done(t);
	free(b);
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	n->sfd = fd;
	n->len = n->a.size;
	n->buffered = true;
	return 0;
}

/* Does stored blob ref have holes? */
static bool blob_sparse(struct fs *fs, uint64_t ref)
{
	struct store_blob_info bi = {0};
	struct store_txn *t;

	if (fs_rtxn(fs, &t))
		return false;
	if (store_blob_stat(t, ref, &bi))
		bi.hole_blocks = 0;
	fs_rtxn_done(t);
	return bi.hole_blocks > 0;
}

int fs_content_load(struct fs *fs, struct node *n)
{
	struct store_txn *t;
	unsigned char *b;
	ssize_t got;
	int err;

	FS_ASSERT_LOCKED(fs);
	if (n->buffered)
		return 0;
	if (too_big(fs, n, n->a.size) || blob_sparse(fs, n->ref))
		return load_staged(fs, n);
	b = malloc(n->a.size ? n->a.size : 1);
	if (!b)
		return -ENOMEM;
	err = fs_rtxn(fs, &t);
	if (err) {
		free(b);
		return err;
	}
	got = store_blob_read(t, n->ref, b, n->a.size, 0);
	fs_rtxn_done(t);
	if (got != (ssize_t)n->a.size) {
		free(b);
		return got < 0 ? (int)got : -EIO;
	}
	free(n->buf);
	n->buf = b;
	n->len = n->cap = n->a.size;
	n->buffered = true;
	account(fs, n);
	return 0;
}

int fs_content_write(struct fs *fs, struct node *n, const void *data,
		     size_t size, uint64_t off)
{
	int err;

	FS_ASSERT_LOCKED(fs);
	wait_seal(fs, n);
	err = fs_content_load(fs, n);
	if (!err && n->sfd < 0 &&
	    (too_big(fs, n, off + size) || makes_hole(n->len, off)))
		err = spill(fs, n);
	if (err)
		return err;
	if (n->sfd >= 0) {
		err = write_all(n->sfd, data, size, off);
	} else {
		err = grow(n, off + size);
		if (!err)
			account(fs, n);
		if (!err && off > n->len)
			memset(n->buf + n->len, 0, off - n->len);
		if (!err && size)
			memcpy(n->buf + off, data, size);
	}
	if (!err && off + size > n->len)
		n->len = off + size;
	return err;
}

int fs_content_resize(struct fs *fs, struct node *n, uint64_t size, bool keep)
{
	int err = 0;

	FS_ASSERT_LOCKED(fs);
	wait_seal(fs, n);
	if (!keep) { /* O_TRUNC: the old content is not needed */
		fs_content_drop(fs, n);
		n->buffered = true;
	}
	err = fs_content_load(fs, n);
	if (!err && n->sfd < 0 &&
	    (too_big(fs, n, size) || grows_hole(n->len, size)))
		err = spill(fs, n);
	if (err)
		return err;
	if (n->sfd >= 0) {
		if (ftruncate(n->sfd, (off_t)size) < 0)
			return -errno;
	} else if (size > n->len) {
		err = grow(n, size);
		if (err)
			return err;
		account(fs, n);
		memset(n->buf + n->len, 0, size - n->len);
	}
	n->len = size;
	return 0;
}

ssize_t fs_content_read(struct node *n, void *buf, size_t size, uint64_t off)
{
	size_t want;
	ssize_t got;

	if (off >= n->len)
		return 0;
	want = n->len - off < size ? n->len - off : size;
	if (n->sfd < 0) {
		memcpy(buf, n->buf + off, want);
		return (ssize_t)want;
	}
	do
		got = pread(n->sfd, buf, want, (off_t)off);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : got;
}

void fs_content_drop(struct fs *fs, struct node *n)
{
	FS_ASSERT_LOCKED(fs);
	free(n->buf);
	n->buf = NULL;
	n->len = n->cap = 0;
	account(fs, n);
	if (n->sfd >= 0)
		close(n->sfd);
	n->sfd = -1;
	n->buffered = false;
}

/* The staging file's filesystem lacks mode (tmpfs has no zero range):
 * the same content another way. */
static int falloc_emulate(int fd, int mode, uint64_t off, uint64_t len,
			  uint64_t size)
{
	uint64_t end = off + len < size ? off + len : size;
	static const unsigned char zeros[4096];
	int err = 0;

	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE))
		return -EOPNOTSUPP;
	if ((mode & (FALLOC_FL_ZERO_RANGE | FALLOC_FL_PUNCH_HOLE)) &&
	    off < end &&
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)(end - off)) < 0) {
		for (uint64_t at = off; !err && at < end;) {
			size_t n =
			    end - at < sizeof(zeros) ? end - at : sizeof(zeros);

			err = write_all(fd, zeros, n, at);
			at += n;
		}
	}
	if (!err && !(mode & FALLOC_FL_KEEP_SIZE) && off + len > size &&
	    ftruncate(fd, (off_t)(off + len)) < 0)
		err = -errno;
	return err;
}

int fs_content_falloc(struct fs *fs, struct node *n, int mode, uint64_t off,
		      uint64_t len)
{
	struct stat sb;
	int err;

	FS_ASSERT_LOCKED(fs);
	wait_seal(fs, n);
	err = fs_content_load(fs, n);
	if (!err && n->sfd < 0)
		err = spill(fs, n);
	if (err)
		return err;
	if (fallocate(n->sfd, mode, (off_t)off, (off_t)len) < 0)
		err = errno == EOPNOTSUPP
			  ? falloc_emulate(n->sfd, mode, off, len, n->len)
			  : -errno;
	if (!err && fstat(n->sfd, &sb) < 0)
		err = -errno;
	if (!err)
		n->len = (uint64_t)sb.st_size;
	return err;
}

int fs_content_seek(struct node *n, uint64_t off, bool data, uint64_t *out)
{
	off_t at;

	if (off >= n->len)
		return -ENXIO;
	if (n->sfd < 0) { /* in memory: no holes */
		*out = data ? off : n->len;
		return 0;
	}
	at = lseek(n->sfd, (off_t)off, data ? SEEK_DATA : SEEK_HOLE);
	if (at < 0)
		return -errno;
	if ((uint64_t)at >= n->len) {
		if (data)
			return -ENXIO;
		at = (off_t)n->len;
	}
	*out = (uint64_t)at;
	return 0;
}

uint64_t fs_content_blocks(const struct node *n)
{
	struct stat sb;

	if (n->sfd >= 0 && fstat(n->sfd, &sb) == 0)
		return (uint64_t)sb.st_blocks;
	return fs_blocks_of(n->len);
}
