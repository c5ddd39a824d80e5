/* SPDX-License-Identifier: MIT */
/*
 * tmpfile.c - open(dir, O_TMPFILE) and linkat of the anonymous file.
 * The kernel sends FUSE_TMPFILE (Linux 6.1, FUSE 7.37: a CREATE whose
 * name is "/"), which libfuse 3.14 does not know: the request loop
 * (loop.c) hands it here before libfuse sees it, and the reply goes on
 * the session's fd with CREATE's layout (fuse_entry_out, fuse_open_out).
 * The file is a node with a file id and no name: an open unlinked file
 * (its writes buffered and logged, its bytes counted in the quota until
 * it is freed at the last close). linkat gives it its first name (an
 * entry, then a seal of its content). A filesystem policy needs a
 * request to audit with: with one loaded O_TMPFILE is EOPNOTSUPP.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "change.h"

/* A new file id, and the attrs of a file made in directory p. */
static int anon_attrs(struct fs *fs, struct node *p,
		      const struct fuse_in_header *h,
		      const struct fuse_create_in *ci, struct store_attr *a)
{
	struct store_dir pd;
	struct change c;
	int err = fs_change_begin(fs, p, &c);

	if (err)
		return err;
	err = fs_flags_dir(&c, c.tab, false);
	if (!err)
		err = store_dir_stat(c.t, c.tab, &pd);
	if (!err)
		err = store_fid_new(c.t, &a->fid);
	err = fs_change_end(fs, &c, err);
	if (err)
		return err;
	a->mode = S_IFREG | (ci->mode & 07777);
	a->uid = h->uid;
	a->gid = (pd.a.mode & S_ISGID) ? pd.a.gid : h->gid;
	a->atime_ns = a->mtime_ns = a->ctime_ns = fs_now_ns();
	return 0;
}

static int tmpfile_new(struct fs *fs, const struct fuse_in_header *h,
		       const struct fuse_create_in *ci, struct node **out)
{
	struct store_attr a = {0};
	struct node *p = fs_node_find(fs, h->nodeid), *n;
	int err;

	if (!p)
		return -ESTALE;
	if (!S_ISDIR(p->mode))
		return -ENOTDIR;
	if (atomic_load(&fs->pol_on))
		return -EOPNOTSUPP;
	err = anon_attrs(fs, p, h, ci, &a);
	if (err)
		return err;
	fs_lock(fs);
	err = fs_node_ref(fs, a.fid, S_IFREG, p->nodeid, "/", &n);
	if (!err)
		err = fs_node_rename(fs, n, 0, NULL);
	if (!err) {
		n->unlinked = true;
		/* O_EXCL: never linkable (the kernel does not refuse it) */
		n->anon = !(ci->flags & O_EXCL);
		n->quota_held = true;
		n->loaded = true;
		n->buffered = true;
		n->a = a;
		n->payload = STORE_P_INLINE;
		if (!fs_no_open(fs)) { /* as do_open: a RELEASE comes */
			n->nopen++;
			n->nwrite++;
		}
		*out = n;
	}
	fs_unlock(fs);
	return err;
}

static void attr_out(const struct stat *st, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = 1; /* the kernel's d_tmpfile takes it to 0 */
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->blksize = 4096;
}

bool fs_tmpfile_take(struct fs *fs, struct fuse_session *se,
		     const struct fuse_buf *b)
{
	const struct fuse_in_header *h = b->mem;
	struct {
		struct fuse_out_header oh;
		struct fuse_entry_out eo;
		struct fuse_open_out oo;
	} r;
	struct node *n = NULL;
	struct stat st;
	int err;

	if ((b->flags & FUSE_BUF_IS_FD) || b->size < sizeof(*h) ||
	    h->opcode != FUSE_TMPFILE)
		return false;
	err = b->size < sizeof(*h) + sizeof(struct fuse_create_in)
		  ? -EINVAL
		  : tmpfile_new(fs, h, (const void *)(h + 1), &n);
	memset(&r, 0, sizeof(r));
	r.oh.unique = h->unique;
	r.oh.len = sizeof(r.oh);
	if (err) {
		r.oh.error = err;
	} else {
		fs_lock(fs);
		fs_attr_to_stat(&n->a, 1, &st);
		fs_unlock(fs);
		r.oh.len = sizeof(r);
		r.eo.nodeid = n->nodeid;
		r.eo.attr_valid = (uint64_t)FS_TIMEOUT;
		attr_out(&st, &r.eo.attr);
		r.oo.fh = fs_no_open(fs) ? 0
					 : FH_COUNTED | FH_WRITER |
					       (uint64_t)h->pid << FH_PID_SHIFT;
	}
	if (write(fuse_session_fd(se), &r, r.oh.len) != (ssize_t)r.oh.len)
		fprintf(stderr, "blastfs: cannot answer O_TMPFILE\n");
	return true;
}

int fs_tmpfile_link(struct fs *fs, struct node *n, struct node *np,
		    const char *newname, struct stat *st)
{
	struct store_entry e = {0};
	struct change c;
	int err = fs_change_begin_name(fs, np, newname, &c);

	if (err)
		return err;
	fs_lock(fs);
	e.a = n->a; /* its content follows with the seal below */
	fs_unlock(fs);
	e.a.size = 0;
	e.payload = STORE_P_INLINE;
	err = store_dir_put(c.t, c.tab, newname, strlen(newname), &e);
	if (!err)
		err = fs_touch_dir(c.t, c.tab);
	if (!err)
		err = fs_pkg_changed(fs, c.t, &c.e, c.names, c.depth, newname);
	err = fs_change_commit(fs, &c, err);
	fs_lock(fs);
	if (!err)
		err = fs_node_rename(fs, n, np->nodeid, newname);
	if (!err) { /* a named file from now on; its bytes stay in the env */
		n->anon = n->unlinked = n->quota_held = false;
		n->nlookup++; /* the reply is an entry */
		n->wgen++;    /* the seal must write it */
		if (!n->dirty) {
			n->dirty = true;
			n->dirty_ns = fs_now_ns();
			n->dgen = atomic_load(&fs->wlog.gen_now);
		}
		fs_attr_to_stat(&n->a, 1, st);
	}
	fs_unlock(fs);
	fs_change_unlock(fs);
	return err ? err : fs_seal(fs, n);
}
