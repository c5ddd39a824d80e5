/* SPDX-License-Identifier: MIT */
/*
 * content.c - a node's unsealed content: in memory up to FS_MEM_MAX, in
 * an unnamed staging file (O_TMPFILE under STORE/staging, sparse) above,
 * so a large or sparse file never has to fit in memory. The staging file
 * needs no cleanup after a crash: it has no name. All nodes' buffers
 * together stay within a budget (FS_MEM_BUDGET): content that would pass
 * it goes to a staging file too. All under fs->lock.
 */
#include <errno.h>
#include <fcntl.h>
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

/* Copy a stored blob into a staging file, a step at a time. */
static int load_staged(struct fs *fs, struct node *n)
{
	unsigned char *b = malloc(COPY_STEP);
	struct store_txn *t = NULL;
	uint64_t off = 0;
	int fd, err;

	if (!b)
		return -ENOMEM;
	fd = staging_open(fs);
	err = fd < 0 ? fd : fs_rtxn(fs, &t);
	while (!err && off < n->a.size) {
		ssize_t got = store_blob_read(t, n->ref, b, COPY_STEP, off);

		if (got <= 0)
			err = got < 0 ? (int)got : -EIO;
		else
			err = write_all(fd, b, (size_t)got, off);
		off += got > 0 ? (uint64_t)got : 0;
	}
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

int fs_content_load(struct fs *fs, struct node *n)
{
	struct store_txn *t;
	unsigned char *b;
	ssize_t got;
	int err;

	FS_ASSERT_LOCKED(fs);
	if (n->buffered)
		return 0;
	if (too_big(fs, n, n->a.size))
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
	if (!err && n->sfd < 0 && too_big(fs, n, off + size))
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
	if (!err && n->sfd < 0 && too_big(fs, n, size))
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
