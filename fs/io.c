/* SPDX-License-Identifier: MIT */
/*
 * io.c - the file content handlers: open, create, read, write, flush,
 * release, fsync, ioctl. A WRITE changes the node's content through
 * write.c (logged in wlog.c, buffered in content.c) before it is
 * answered; the content is sealed into the store (seal.c) when a
 * creating handle is released (a small file: by the sealer's next pass,
 * grouped), on fsync, or by the sealer once the file is idle (sealer.c).
 * FALLOCATE and LSEEK (SEEK_DATA, SEEK_HOLE) work on the staging file that
 * holds a file's holes (content.c) or on the sealed blob's hole map. OPEN and
 * FLUSH answer ENOSYS (fs_no_open): the kernel then opens and closes files
 * without a round trip, and Python's imports pay one (its isatty IOCTL) instead
 * of two per module. No fd is held per inode. Locks: fs->lock around node
 * fields, none across a reply.
 */
#include <errno.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

static int do_open(fuse_req_t req, struct fs *fs, struct node *n,
		   struct fuse_file_info *fi)
{
	bool writer = (fi->flags & O_ACCMODE) != O_RDONLY;
	bool counted = !fs_no_open(fs);
	int err;

	if (S_ISDIR(n->mode))
		return -EISDIR;
	err = fs_node_load(fs, n);
	if (!err && writer)
		err = fs_flags_write(fs, n, fi->flags);
	if (err)
		return err;
	if (writer && (fi->flags & O_TRUNC) && S_ISREG(n->mode)) {
		uint64_t old;

		err = fs_content_change(fs, n, NULL, 0, 0, false, &old);
		if (!err)
			fs_pol_account(fs, -(long long)old);
	}
	fs_lock(fs);
	if (!err && counted) {
		n->nopen++;
		if (writer)
			n->nwrite++;
	}
	fs_unlock(fs);
	fi->fh = (counted ? FH_COUNTED : 0) | (writer ? FH_WRITER : 0);
	if (counted) /* a writeback carries no pid: the opener's stands in */
		fi->fh |= (uint64_t)fuse_req_ctx(req)->pid << FH_PID_SHIFT;
	fi->keep_cache = 1;
	/* a reader's close has nothing to seal: no FLUSH round trip; without
	 * opens a writer's is logged and sealed after */
	fi->noflush = !writer || !counted;
	return err;
}

bool fs_no_open(struct fs *fs)
{
	int mode = atomic_load(&fs->open_mode);

	if (mode == FS_OPEN_UNDECIDED) {
		int want = fs->can_no_open && !fs->opt->serve_open &&
				   !atomic_load(&fs->pol_on)
			       ? FS_OPEN_NONE
			       : FS_OPEN_SERVED;

		atomic_compare_exchange_strong(&fs->open_mode, &mode, want);
		mode = atomic_load(&fs->open_mode);
	}
	return mode == FS_OPEN_NONE;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	int err;

	COUNT(fs, R_OPEN);
	/* without opens the kernel opens files itself from now on: no
	 * OPEN, no RELEASE; reads and writes name the node */
	err = fs_no_open(fs) ? -ENOSYS
	      : n	     ? fs_pol_node(fs, req, n,
				   (fi->flags & O_ACCMODE) != O_RDONLY
					       ? FS_POL_OPEN_WRITE
					       : FS_POL_OPEN)
			     : -ESTALE;
	if (!err)
		err = do_open(req, fs, n, fi);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_open(req, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fuse_entry_param ep;
	struct node *n = NULL;
	struct stat st;
	int err;

	COUNT(fs, R_CREATE);
	err = fs_new_file(req, parent, name, mode, &n, &st);
	if (!err)
		err = do_open(req, fs, n, fi);
	if (!err)
		fs_fill_entry(&ep, n, &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_create(req, &ep, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	struct store_txn *t;
	unsigned char *buf = NULL;
	ssize_t got = 0;
	uint64_t ref = 0;
	bool from_store = false;
	int err = n ? 0 : -ESTALE;

	COUNT(fs, R_READ);
	if (!err) /* a policy set since the open applies */
		err = fs_pol_node(fs, req, n, FS_POL_READ);
	if (!err)
		err = fs_node_load(fs, n); /* no OPEN loaded it */
	if (!err)
		buf = malloc(size ? size : 1);
	if (!err && !buf)
		err = -ENOMEM;
	if (!err) {
		fs_lock(fs);
		if (n->buffered) {
			got = fs_content_read(n, buf, size, (uint64_t)off);
			if (got < 0)
				err = (int)got;
		} else if (n->payload == STORE_P_BLOB) {
			from_store = true;
			ref = n->ref;
		}
		fs_unlock(fs);
	}
	if (!err && from_store) {
		err = fs_rtxn(fs, &t);
		if (!err) {
			got = store_blob_read(t, ref, buf, size, (uint64_t)off);
			fs_rtxn_done(t);
			if (got < 0)
				err = (int)got;
		}
	}
	if (!err)
		fs_atime_read(fs, n);
	if (err) {
		fuse_reply_err(req, -err);
	} else {
		atomic_fetch_add(&fs->cnt.bytes_read, (unsigned long long)got);
		fuse_reply_buf(req, (const char *)buf, (size_t)got);
	}
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	uint64_t old;
	int err;

	struct fs_pol_writer w = {(pid_t)(fi->fh >> FH_PID_SHIFT),
				  fi->writepage};

	COUNT(fs, R_WRITE);
	err = n ? fs_pol_write(fs, req, n, (uint64_t)off, size, &w) : -ESTALE;
	if (!err)
		err = fs_flags_write(fs, n, fi->flags);
	if (!err)
		err = fs_content_change(fs, n, buf, size, (uint64_t)off, true,
					&old);
	if (err) {
		fuse_reply_err(req, -err);
	} else {
		atomic_fetch_add(&fs->cnt.bytes_written, size);
		fuse_reply_write(req, size);
	}
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);

	COUNT(fs, R_FLUSH);
	if (fs_no_open(fs)) /* and no FLUSH: a close costs nothing */
		fuse_reply_err(req, ENOSYS);
	else
		fuse_reply_err(req, n ? -fs_seal(fs, n) : ESTALE);
}

static int do_release(struct fs *fs, struct node *n,
		      const struct fuse_file_info *fi)
{
	bool last, soon;
	int err = 0;

	fs_lock(fs);
	if ((fi->fh & FH_COUNTED) && (fi->fh & FH_WRITER))
		n->nwrite--;
	last = n->nwrite == 0;
	/* a small file: sealed by the sealer's next pass (within a tick),
	 * with the files closed meanwhile, so a cp or a pip install packs
	 * them; its writes are in the write log until then */
	soon = last && fs_seal_small_ok(fs, n);
	if (soon)
		n->seal_soon = true;
	fs_unlock(fs);
	if (soon)
		fs_sealer_kick(fs);
	else if (last)
		err = fs_seal(fs, n);
	if (last && !soon && !err && n->pkg_pending) /* soon: its seal does */
		err = fs_pkg_released(fs, n);
	fs_lock(fs);
	if (fi->fh & FH_COUNTED)
		n->nopen--;
	if (n->nwrite == 0 && !n->dirty && n->payload == STORE_P_BLOB &&
	    n->buffered) {
		fs_content_drop(fs, n); /* sealed: reads go to the store */
	}
	fs_node_forget(fs, n, 0); /* an unlinked one's pin goes with it */
	fs_unlock(fs);
	return err;
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);

	COUNT(fs, R_RELEASE);
	fuse_reply_err(req, n ? -do_release(fs, n, fi) : ESTALE);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	int err = n ? fs_seal(fs, n) : -ESTALE;

	COUNT(fs, R_FSYNC);
	if (!err)
		err = fs_durable(fs);
	fuse_reply_err(req, -err);
}

#define FALLOC_MODES                                                           \
	(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |   \
	 FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)
#define SHIFT_MODES (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)
/* ext4's s_maxbytes with 4 KiB blocks and extents: 2^32 blocks less one */
#define EXT4_MAX_BYTES ((1ull << 44) - 4096)

/* ext4's answers (vfs_fallocate, ext4_fallocate; the kernel checks most
 * before FUSE): unknown modes and combinations EOPNOTSUPP (KEEP_SIZE goes
 * with allocation, zero range and punch hole, which needs it); collapse
 * and insert of whole 4 KiB blocks inside the file (collapse: not
 * reaching its end); past ext4's largest file, EFBIG. */
static int falloc_check(int mode, off_t off, off_t len, uint64_t size)
{
	int op = mode & ~FALLOC_FL_KEEP_SIZE;

	if ((mode & ~FALLOC_MODES) ||
	    (op && op != FALLOC_FL_PUNCH_HOLE && op != FALLOC_FL_ZERO_RANGE &&
	     op != FALLOC_FL_COLLAPSE_RANGE && op != FALLOC_FL_INSERT_RANGE))
		return -EOPNOTSUPP;
	if (op == FALLOC_FL_PUNCH_HOLE && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if ((op & SHIFT_MODES) && (mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if ((uint64_t)off + (uint64_t)len > EXT4_MAX_BYTES)
		return -EFBIG;
	if (!(mode & SHIFT_MODES))
		return 0;
	if ((off | len) & 4095)
		return -EINVAL;
	if ((mode & FALLOC_FL_COLLAPSE_RANGE) &&
	    (uint64_t)off + (uint64_t)len >= size)
		return -EINVAL;
	if ((mode & FALLOC_FL_INSERT_RANGE) && (uint64_t)off >= size)
		return -EINVAL;
	return 0;
}

static int do_fallocate(fuse_req_t req, struct fs *fs, struct node *n, int mode,
			off_t off, off_t len)
{
	bool keep = mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_COLLAPSE_RANGE);
	uint64_t size, end = (uint64_t)off + (uint64_t)len, old;
	int err = fs_node_load(fs, n);

	if (err)
		return err;
	fs_lock(fs);
	size = n->a.size;
	fs_unlock(fs);
	err = falloc_check(mode, off, len, size);
	if (!err && (mode & FALLOC_FL_INSERT_RANGE))
		end = size + (uint64_t)len;
	if (!err)
		err = fs_pol_falloc(
		    fs, req, n, mode & FALLOC_FL_PUNCH_HOLE ? 0 : end, keep);
	if (!err)
		err = fs_content_falloc_change(fs, n, mode, (uint64_t)off,
					       (uint64_t)len, &old);
	if (!err && (mode & FALLOC_FL_COLLAPSE_RANGE))
		fs_pol_account(fs, -(long long)len);
	return err;
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	int err = n ? 0 : -ESTALE;

	COUNT(fs, R_FALLOCATE);
	if (!err && !S_ISREG(n->mode))
		err = -ENODEV;
	if (!err)
		err = do_fallocate(req, fs, n, mode, off, len);
	fuse_reply_err(req, -err);
}

/* SEEK_DATA / SEEK_HOLE: the buffered content's, else the blob's. */
static int do_lseek(struct fs *fs, struct node *n, off_t off, bool data,
		    uint64_t *out)
{
	struct store_txn *t;
	uint64_t ref = 0, size = 0;
	int err = fs_node_load(fs, n);

	if (err)
		return err;
	fs_lock(fs);
	if (n->buffered)
		err = fs_content_seek(n, (uint64_t)off, data, out);
	else if (n->payload == STORE_P_BLOB)
		ref = n->ref, size = n->a.size;
	else
		err = -ENXIO;
	fs_unlock(fs);
	if (err || !ref)
		return err;
	if ((uint64_t)off >= size)
		return -ENXIO;
	err = fs_rtxn(fs, &t);
	if (err)
		return err;
	err = store_blob_seek(t, ref, (uint64_t)off, data, out);
	fs_rtxn_done(t);
	return err;
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	uint64_t out = 0;
	int err = n ? 0 : -ESTALE;

	COUNT(fs, R_LSEEK);
	if (!err && whence != SEEK_DATA && whence != SEEK_HOLE)
		err = -EINVAL;
	if (!err && off < 0)
		err = -ENXIO;
	if (!err)
		err = fs_pol_node(fs, req, n, FS_POL_READ);
	if (!err)
		err = do_lseek(fs, n, off, whence == SEEK_DATA, &out);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_lseek(req, (off_t)out);
}

/* chattr's flags (fsflags.c); any other ioctl is ENOTTY, as for a
 * regular file on ext4. Counted, because Python's open() asks one (isatty)
 * for every file it opens. */
static void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd,
		     void *arg, struct fuse_file_info *fi, unsigned flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	unsigned char out[64];
	ssize_t got;

	COUNT(fs, R_IOCTL);
	got = n ? fs_flags_ioctl(fs, req, n, cmd, in_buf, in_bufsz, out,
				 out_bufsz < sizeof(out) ? out_bufsz
							 : sizeof(out))
		: -ESTALE;
	if (got < 0)
		fuse_reply_err(req, (int)-got);
	else
		fuse_reply_ioctl(req, 0, got ? out : NULL, (size_t)got);
}

void fs_ops_io(struct fuse_lowlevel_ops *ops)
{
	ops->open = op_open;
	ops->create = op_create;
	ops->read = op_read;
	ops->write = op_write;
	ops->flush = op_flush;
	ops->release = op_release;
	ops->fsync = op_fsync;
	ops->ioctl = op_ioctl;
	ops->fallocate = op_fallocate;
	ops->lseek = op_lseek;
}
