/* SPDX-License-Identifier: MIT */
/*
 * ops.c - FUSE handlers for names and attributes: lookup, forget,
 * getattr, setattr, readlink, mknod, mkdir, symlink, unlink, rmdir,
 * rename, link, statfs. Each handler replies exactly once at its end;
 * helpers return -errno. Every change runs under fs->wlock in one write
 * txn that first makes the directory writable (copy-on-write).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <sys/statvfs.h>

#include "change.h"
#include "fs_xattr.h"

/* stat for an entry: a directory's attrs are in its table header. */
static int entry_stat(struct fs *fs, struct store_txn *t,
		      const struct store_entry *e, struct stat *st)
{
	struct store_entry inode = *e;
	struct store_dir d;
	int err;

	if (e->payload != STORE_P_TAB) {
		err = fs_resolve_link(fs, t, &inode);
		if (err >= 0) {
			fs_attr_to_stat(&inode.a, fs_file_nlink(&inode.a), st);
			fs_stat_blocks(t, &inode, st);
		}
		return err < 0 ? err : 0;
	}
	err = store_dir_stat(t, e->ref, &d);
	if (!err)
		fs_attr_to_stat(&d.a, 2 + d.nsubdirs, st);
	return err;
}

void fs_fill_entry(struct fuse_entry_param *ep, struct node *n,
		   const struct stat *st)
{
	memset(ep, 0, sizeof(*ep));
	ep->ino = n ? n->nodeid : 0;
	if (st)
		ep->attr = *st;
	ep->attr_timeout = FS_TIMEOUT;
	ep->entry_timeout = FS_TIMEOUT;
}

/* The node for a found entry whose attrs (st) were read from a txn begun
 * at fs->seal_seq seq: the node's live state wins over the store, and a
 * file sealed since is stat'ed again. */
static int entry_node(struct fs *fs, struct node *parent, const char *name,
		      uint64_t seq, struct stat *st, struct node **out)
{
	struct store_txn *t;
	struct stat again;
	struct node *n;
	bool stale = false;
	int err;

	fs_lock(fs);
	err =
	    fs_node_ref(fs, st->st_ino, st->st_mode, parent->nodeid, name, &n);
	if (!err && n->loaded && !S_ISDIR(n->mode) && (n->dirty || n->nopen)) {
		fs_attr_to_stat(&n->a, fs_file_nlink(&n->a), st);
		if (n->buffered)
			st->st_blocks = (blkcnt_t)fs_content_blocks(n);
	} else if (!err && !S_ISDIR(n->mode))
		stale = atomic_load(&fs->seal_seq) != seq;
	fs_unlock(fs);
	if (err)
		return err;
	*out = n;
	fs_atime_stat(fs, n, st);
	if (stale && !fs_rtxn(fs, &t)) {
		if (!fs_node_stat(fs, t, n, atomic_load(&fs->seal_seq), &again))
			*st = again; /* else the first answer stands */
		fs_rtxn_done(t);
	}
	return 0;
}

/* ---- lookup, forget, getattr ---- */

int fs_lookup(struct fs *fs, fuse_ino_t parent, const char *name,
	      struct fuse_entry_param *ep)
{
	struct store_txn *t;
	struct store_entry e;
	struct node *p, *n;
	struct stat st;
	uint64_t tab, seq;
	int err = fs_check_name(name);

	if (err)
		return err;
	p = fs_node_find(fs, parent);
	if (!p)
		return -ESTALE;
	seq = atomic_load(&fs->seal_seq);
	err = fs_rtxn(fs, &t);
	if (err)
		return err;
	err = fs_dir_tab(fs, t, p, &tab);
	if (!err)
		err = store_dir_get(t, tab, name, strlen(name), &e);
	if (!err)
		err = entry_stat(fs, t, &e, &st);
	fs_rtxn_done(t);
	if (err == -ENOENT) {
		fs_fill_entry(ep, NULL, NULL); /* cached negative entry */
		return 0;
	}
	if (!err)
		err = entry_node(fs, p, name, seq, &st, &n);
	if (!err && e.payload == STORE_P_HARDLINK) {
		/* addressed by file id from now on (any name may go) */
		fs_lock(fs);
		n->linked = true;
		fs_unlock(fs);
	}
	if (!err)
		fs_fill_entry(ep, n, &st);
	return err;
}

int fs_lookup_checked(struct fs *fs, fuse_req_t req, fuse_ino_t parent,
		      const char *name, enum fs_pol_op op,
		      struct fuse_entry_param *ep)
{
	int err = fs_pol_name(fs, req, parent, name, op);

	if (!err)
		err = fs_lookup(fs, parent, name, ep);
	if (!err)
		err = fs_pol_entry(fs, req, ep->ino, op);
	return err;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param ep;
	int err;

	COUNT(FS(req), R_LOOKUP);
	err = fs_lookup_checked(FS(req), req, parent, name, FS_POL_LOOKUP, &ep);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &ep);
}

/* A file the kernel forgets with unsealed writes stays (and so do its
 * directories: node.c) until the sealer has sealed it. */
static void forget_one(struct fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n;

	fs_lock(fs);
	n = fs_node_get(fs, ino);
	if (n)
		fs_node_forget(fs, n, nlookup);
	fs_unlock(fs);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	COUNT(FS(req), R_FORGET);
	forget_one(FS(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	COUNT(FS(req), R_FORGET);
	for (size_t i = 0; i < count; i++)
		forget_one(FS(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static int node_getattr(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct store_txn *t;
	struct node *n;
	uint64_t seq;
	int err;

	fs_lock(fs);
	n = fs_node_get(fs, ino);
	if (n && n->unlinked && n->loaded) {
		fs_attr_to_stat(&n->a, 0, st);
		fs_unlock(fs);
		return 0;
	}
	fs_unlock(fs);
	if (!n)
		return -ESTALE;
	seq = atomic_load(&fs->seal_seq);
	err = fs_rtxn(fs, &t);
	if (err)
		return err;
	err = fs_node_stat(fs, t, n, seq, st);
	fs_rtxn_done(t);
	return err;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;
	int err;

	COUNT(FS(req), R_GETATTR);
	err = fs_pol_ino(FS(req), req, ino, FS_POL_GETATTR);
	if (!err)
		err = node_getattr(FS(req), ino, &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, FS_TIMEOUT);
}

/* ---- setattr ---- */

static void apply_attr(struct store_attr *a, const struct stat *st, int to_set)
{
	int64_t now = fs_now_ns();

	if (to_set & FUSE_SET_ATTR_MODE)
		a->mode = (a->mode & S_IFMT) | (st->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		a->uid = st->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		a->gid = st->st_gid;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		a->atime_ns = now;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		a->atime_ns = store_ts_ns(&st->st_atim);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		a->mtime_ns = now;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		a->mtime_ns = store_ts_ns(&st->st_mtim);
	if (to_set & FS_SET_ATTR_FLAGS)
		a->flags = (uint32_t)st->st_rdev;
	if (to_set & FUSE_SET_ATTR_SIZE)
		a->mtime_ns =
		    (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
			? a->mtime_ns
			: now;
	a->ctime_ns = now;
}

static int setattr_dir(struct fs *fs, struct node *n, const struct stat *st,
		       int to_set)
{
	struct store_dir d;
	struct change c;
	int err;

	if (to_set & FUSE_SET_ATTR_SIZE)
		return -EISDIR;
	err = fs_change_begin(fs, n, &c);
	if (err)
		return err;
	err = store_dir_stat(c.t, c.tab, &d);
	if (!err) {
		apply_attr(&d.a, st, to_set);
		err = store_dir_set_attr(c.t, c.tab, &d.a);
	}
	return fs_change_end(fs, &c, err);
}

static int setattr_file(struct fs *fs, struct node *n, const struct stat *st,
			int to_set)
{
	struct store_entry e;
	struct change c;
	struct node *root;
	unsigned char inl[STORE_ENTRY_INLINE_MAX];
	bool held;
	int err;

	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (!S_ISREG(n->mode))
			return -EINVAL;
		err = fs_node_resize(fs, n, (uint64_t)st->st_size);
		if (err)
			return err;
	}
	/* content held in memory: the node's attrs go out with the seal. A
	 * seal that read the attrs before this change and ends after it
	 * must leave the node dirty (wgen), or ours would find it clean and
	 * the change would never reach the store (a kill -9 then lost a
	 * chmod: fs-crash.sh) */
	fs_lock(fs);
	held = n->loaded && (n->dirty || n->unlinked);
	if (held) {
		apply_attr(&n->a, st, to_set);
		n->wgen++;
	}
	fs_unlock(fs);
	if (held)
		return n->unlinked ? 0 : fs_seal(fs, n);
	root = fs_node_find(fs, FUSE_ROOT_ID);
	err = fs_change_begin(fs, root, &c);
	if (err)
		return err;
	err = fs_node_slot(&c, n, &e, inl);
	if (!err) {
		apply_attr(&e.a, st, to_set);
		err =
		    store_dir_put(c.t, c.slot_tab, c.slot, strlen(c.slot), &e);
	}
	err = fs_change_commit(fs, &c, err);
	/* before wlock goes, as in do_link: a seal copies n->a under it */
	fs_lock(fs);
	if (!err && n->loaded) { /* an open, clean node mirrors the store */
		n->a.mode = e.a.mode;
		n->a.uid = e.a.uid;
		n->a.gid = e.a.gid;
		n->a.atime_ns = e.a.atime_ns;
		n->a.mtime_ns = e.a.mtime_ns;
		n->a.ctime_ns = e.a.ctime_ns;
		n->a.flags = e.a.flags;
	}
	fs_unlock(fs);
	fs_change_unlock(fs);
	return err;
}

int fs_setattr_node(struct fs *fs, struct node *n, const struct stat *st,
		    int to_set)
{
	return S_ISDIR(n->mode) ? setattr_dir(fs, n, st, to_set)
				: setattr_file(fs, n, st, to_set);
}

/* Read-only and hidden nodes; a truncate's size against the limits. */
static int setattr_policy(struct fs *fs, fuse_req_t req, struct node *n,
			  const struct stat *attr, int to_set)
{
	struct stat cur;
	int err = fs_pol_node(fs, req, n, FS_POL_SETATTR);

	if (err || !(to_set & FUSE_SET_ATTR_SIZE) || !atomic_load(&fs->pol_on))
		return err;
	err = node_getattr(fs, n->nodeid, &cur);
	return err ? err
		   : fs_pol_size(fs, req, n, (uint64_t)cur.st_size,
				 (uint64_t)attr->st_size, FS_POL_TRUNCATE);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct stat st;
	struct node *n;
	int err;

	COUNT(fs, R_SETATTR);
	n = fs_node_find(fs, ino);
	err = n ? setattr_policy(fs, req, n, attr, to_set) : -ESTALE;
	if (!err)
		err = fs_flags_setattr(fs, n, to_set);
	if (!err)
		err = fs_setattr_node(fs, n, attr, to_set);
	if (!err && fs->acl && (to_set & FUSE_SET_ATTR_MODE))
		err = fs_acl_chmod(fs, req, n, attr->st_mode);
	if (!err && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)))
		fs_atime_set(fs, n);
	if (!err)
		err = node_getattr(fs, ino, &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, FS_TIMEOUT);
}

/* ---- readlink ---- */

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	char target[4097];
	struct store_txn *t;
	struct store_entry e;
	struct node *n;
	int err;

	COUNT(fs, R_READLINK);
	n = fs_node_find(fs, ino);
	err = n ? fs_pol_node(fs, req, n, FS_POL_READLINK) : -ESTALE;
	if (!err)
		err = fs_rtxn(fs, &t);
	if (!err) {
		err = fs_node_entry(fs, t, n, &e);
		if (!err &&
		    (!S_ISLNK(e.a.mode) || e.inline_len >= sizeof(target)))
			err = -EINVAL;
		if (!err) {
			memcpy(target, e.inline_data, e.inline_len);
			target[e.inline_len] = '\0';
		}
		fs_rtxn_done(t);
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_readlink(req, target);
}

/* ---- creating names ---- */

struct newent {
	mode_t mode;
	dev_t rdev;
	const char *link; /* symlink target */
};

static int do_new(fuse_req_t req, fuse_ino_t parent, const char *name,
		  const struct newent *ne, struct node **nout, struct stat *st)
{
	struct fs *fs = FS(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	uint64_t seq = atomic_load(&fs->seal_seq);
	struct store_entry e, old;
	struct store_dir pd;
	struct change c;
	struct node *p;
	enum fs_pol_op op = S_ISDIR(ne->mode)	? FS_POL_MKDIR
			    : ne->link		? FS_POL_SYMLINK
			    : S_ISREG(ne->mode) ? FS_POL_CREATE
						: FS_POL_MKNOD;
	uint64_t cost =
	    store_usage_entry_cost(ne->mode, ne->link ? strlen(ne->link) : 0);
	int err = fs_check_name(name);

	if (err)
		return err;
	if (ne->link && strlen(ne->link) >= STORE_ENTRY_INLINE_MAX)
		return -ENAMETOOLONG;
	err = fs_pol_name(fs, req, parent, name, op);
	if (err)
		return err;
	p = fs_node_find(fs, parent);
	if (!p)
		return -ESTALE;
	err = fs_pol_entry_new(fs, req, parent, name, cost, op);
	if (err)
		return err;
	err = fs_change_begin(fs, p, &c);
	if (err) {
		fs_pol_account(fs, -(long long)cost);
		return err;
	}
	memset(&e, 0, sizeof(e));
	err = store_dir_get(c.t, c.tab, name, strlen(name), &old);
	if (!err)
		err = -EEXIST;
	else if (err == -ENOENT)
		err = fs_flags_dir(&c, c.tab, false);
	if (!err)
		err = store_dir_stat(c.t, c.tab, &pd);
	if (!err)
		err = store_fid_new(c.t, &e.a.fid);
	if (err)
		goto out;
	e.a.mode = ne->mode;
	e.a.uid = ctx->uid;
	e.a.gid = (pd.a.mode & S_ISGID) ? pd.a.gid : ctx->gid;
	if (S_ISDIR(ne->mode) && (pd.a.mode & S_ISGID))
		e.a.mode |= S_ISGID;
	e.a.rdev = (uint32_t)ne->rdev;
	e.a.atime_ns = e.a.mtime_ns = e.a.ctime_ns = fs_now_ns();
	if (fs->acl) /* default ACL, or the umask */
		err = fs_acl_inherit(c.t, pd.xattr, &e.a.mode, ctx->umask,
				     &e.xattr);
	if (!err && S_ISDIR(ne->mode)) {
		e.payload = STORE_P_TAB;
		err = store_dir_new(c.t, &e.a, c.e.gen, &e.ref);
		if (!err && e.xattr) /* a directory's are in its table */
			err = store_dir_set_xattr(c.t, e.ref, e.xattr);
		e.xattr = 0;
	} else if (!err && ne->link) {
		e.payload = STORE_P_INLINE;
		e.inline_len = (uint32_t)strlen(ne->link);
		e.inline_data = ne->link;
		e.a.size = e.inline_len;
	}
	if (!err)
		err = store_dir_put(c.t, c.tab, name, strlen(name), &e);
	if (!err)
		err = fs_touch_dir(c.t, c.tab);
	if (!err)
		err = entry_stat(fs, c.t, &e, st);
out:
	err = fs_change_end(fs, &c, err);
	if (err) /* not made: its cost goes back */
		fs_pol_account(fs, -(long long)cost);
	else
		err = entry_node(fs, p, name, seq, st, nout);
	return err;
}

int fs_new_file(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct node **nout, struct stat *st)
{
	struct newent ne = {S_IFREG | (mode & 07777), 0, NULL};

	return do_new(req, parent, name, &ne, nout, st);
}

static void reply_new(fuse_req_t req, int err, struct node *n,
		      const struct stat *st)
{
	struct fuse_entry_param ep;

	if (!err)
		fs_fill_entry(&ep, n, st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &ep);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct newent ne = {mode, rdev, NULL};
	struct node *n = NULL;
	struct stat st;
	int err = 0;

	COUNT(FS(req), R_MKNOD);
	if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISCHR(mode) &&
	    !S_ISBLK(mode) && !S_ISSOCK(mode))
		err = -EINVAL;
	if (!err)
		err = do_new(req, parent, name, &ne, &n, &st);
	reply_new(req, err, n, &st);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct newent ne = {S_IFDIR | (mode & 07777), 0, NULL};
	struct node *n = NULL;
	struct stat st;
	int err;

	COUNT(FS(req), R_MKDIR);
	err = do_new(req, parent, name, &ne, &n, &st);
	reply_new(req, err, n, &st);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct newent ne = {S_IFLNK | 0777, 0, link};
	struct node *n = NULL;
	struct stat st;
	int err;

	COUNT(FS(req), R_SYMLINK);
	err = do_new(req, parent, name, &ne, &n, &st);
	reply_new(req, err, n, &st);
}

static int do_remove(struct fs *fs, fuse_ino_t parent, const char *name,
		     bool dir)
{
	struct store_entry e;
	struct store_dir d;
	struct change c;
	struct node *p;
	int err = fs_check_name(name);

	if (err)
		return err;
	p = fs_node_find(fs, parent);
	if (!p)
		return -ESTALE;
	err = fs_change_begin(fs, p, &c);
	if (err)
		return err;
	err = store_dir_get(c.t, c.tab, name, strlen(name), &e);
	if (!err && dir && e.payload != STORE_P_TAB)
		err = -ENOTDIR;
	if (!err && !dir && e.payload == STORE_P_TAB)
		err = -EISDIR;
	if (!err && dir) {
		err = store_dir_stat(c.t, e.ref, &d);
		if (!err && d.nentries)
			err = -ENOTEMPTY;
	}
	if (!err)
		err = fs_flags_dir(&c, c.tab, true);
	if (!err)
		err = fs_flags_victim(&c, &e);
	if (!err)
		err = fs_drop_name(fs, &c, c.tab, name, &e);
	if (!err)
		err = store_dir_del(c.t, c.tab, name, strlen(name));
	if (!err)
		err = fs_touch_dir(c.t, c.tab);
	if (!err)
		err = fs_pkg_changed(fs, c.t, &c.e, c.names, c.depth, name);
	return fs_change_end(fs, &c, err);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err = fs_pol_name(FS(req), req, parent, name, FS_POL_UNLINK);

	COUNT(FS(req), R_UNLINK);
	if (!err)
		err = do_remove(FS(req), parent, name, false);
	fuse_reply_err(req, -err);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err = fs_pol_name(FS(req), req, parent, name, FS_POL_RMDIR);

	COUNT(FS(req), R_RMDIR);
	if (!err)
		err = do_remove(FS(req), parent, name, true);
	fuse_reply_err(req, -err);
}

/* ---- rename ---- */

static int rename_check(const struct store_entry *src,
			const struct store_entry *dst, struct store_txn *t)
{
	struct store_dir d;
	int err;

	if (src->payload == STORE_P_TAB) {
		if (dst->payload != STORE_P_TAB)
			return -ENOTDIR;
		err = store_dir_stat(t, dst->ref, &d);
		if (err)
			return err;
		return d.nentries ? -ENOTEMPTY : 0;
	}
	return dst->payload == STORE_P_TAB ? -EISDIR : 0;
}

static int do_rename(struct fs *fs, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname, unsigned flags)
{
	unsigned char inl[STORE_ENTRY_INLINE_MAX];
	struct store_entry src, dst;
	struct node *p, *np, *sn;
	struct fs_dir2 d2;
	struct change c;
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) ||
	    flags == (RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	err = fs_check_name(name);
	if (!err)
		err = fs_check_name(newname);
	if (err)
		return err;
	fs_lock(fs);
	p = fs_node_get(fs, parent);
	np = fs_node_get(fs, newparent);
	fs_unlock(fs);
	if (!p || !np)
		return -ESTALE;
	if (flags & RENAME_EXCHANGE)
		return fs_exchange(fs, p, name, np, newname);
	err = fs_change_begin_two(fs, p, np, &c, &d2);
	if (err)
		return err;
	/* the first table is writable and stays so: same generation */
	err = store_dir_get(c.t, c.tab, name, strlen(name), &src);
	if (err)
		goto out;
	if (src.inline_len) {
		memcpy(inl, src.inline_data, src.inline_len);
		src.inline_data = inl;
	}
	err = store_dir_get(c.t, d2.tab, newname, strlen(newname), &dst);
	if (!err) {
		if (flags & RENAME_NOREPLACE)
			err = -EEXIST;
		else if (dst.a.fid == src.a.fid)
			goto out; /* same file: nothing to do */
		else
			err = rename_check(&src, &dst, c.t);
		if (!err)
			err = fs_flags_dir(&c, d2.tab, true)
				  ?: fs_flags_victim(&c, &dst);
		if (!err)
			err = fs_drop_name(fs, &c, d2.tab, newname, &dst);
	} else if (err == -ENOENT) {
		err = fs_flags_dir(&c, d2.tab, false);
	}
	if (!err)
		err =
		    fs_flags_dir(&c, c.tab, true) ?: fs_flags_victim(&c, &src);
	if (err)
		goto out;
	src.a.ctime_ns = fs_now_ns();
	err = store_dir_put(c.t, d2.tab, newname, strlen(newname), &src);
	if (!err)
		err = store_dir_del(c.t, c.tab, name, strlen(name));
	if (!err && src.payload == STORE_P_TAB)
		err = fs_dir_times(fs, &c, np, newname, src.a.ctime_ns, 0);
	if (!err)
		err = fs_change_moved(fs, &c, &d2, name, newname);
out:
	free(d2.names);
	if (err)
		return fs_change_end(fs, &c, err);
	fs_lock(fs);
	fs->rename_seq++; /* odd: committed, node not yet renamed */
	fs_unlock(fs);
	err = fs_change_commit(fs, &c, 0);
	/* the node's new name before wlock goes: a seal holding wlock uses
	 * the names of its path's nodes (fs_node_path) */
	fs_lock(fs);
	sn = err ? NULL : fs_node_by_fid(fs, src.a.fid);
	if (sn && !sn->unlinked) {
		err = fs_node_rename(fs, sn, np->nodeid, newname);
		if (sn->loaded)
			sn->a.ctime_ns = src.a.ctime_ns;
	}
	fs->rename_seq++;
	fs_unlock(fs);
	fs_change_unlock(fs);
	return err;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	int err = fs_pol_rename(FS(req), req, parent, name, newparent, newname);

	COUNT(FS(req), R_RENAME);
	if (!err && (flags & RENAME_EXCHANGE)) /* both names move */
		err = fs_pol_rename(FS(req), req, newparent, newname, parent,
				    name);
	if (!err)
		err =
		    do_rename(FS(req), parent, name, newparent, newname, flags);
	if (!err)
		fs_pol_moved(FS(req));
	fuse_reply_err(req, -err);
}

/* ---- link: the first extra name moves the inode's entry into the
 * root's links table and leaves STORE_P_HARDLINK names behind ---- */

static int do_link(struct fs *fs, struct node *n, struct node *np,
		   const char *newname, struct stat *st)
{
	unsigned char inl[STORE_ENTRY_INLINE_MAX];
	struct store_entry inode, alias = {0};
	struct change c;
	bool anon;
	int err = fs_check_name(newname);

	if (err)
		return err;
	if (S_ISDIR(n->mode))
		return -EPERM;
	fs_lock(fs);
	anon = n->anon;
	fs_unlock(fs);
	if (anon) /* O_TMPFILE's first name */
		return fs_tmpfile_link(fs, n, np, newname, st);
	err = fs_change_begin_name(fs, np, newname, &c);
	if (err)
		return err;
	err = n->unlinked ? -ENOENT : 0;
	if (!err)
		err = fs_node_slot(&c, n, &inode, inl);
	if (!err && (inode.a.flags & (STORE_FL_IMMUTABLE | STORE_FL_APPEND)))
		err = -EPERM;
	if (err)
		goto out;
	alias.a = inode.a;
	alias.payload = STORE_P_HARDLINK;
	alias.ref = inode.a.fid;
	if (!c.slot_linked) {
		/* first extra name: the entry moves into the links table
		 * (decided by where the store has it: n->linked may lag) */
		uint64_t dirtab = c.slot_tab;
		char name[STORE_NAME_MAX + 1];

		snprintf(name, sizeof(name), "%s", c.slot);
		err = store_env_links_writable(c.t, &c.e, &c.slot_tab);
		store_link_key(inode.a.fid, c.slot);
		inode.a.nlink = 1;
		if (!err)
			err = store_dir_put(c.t, dirtab, name, strlen(name),
					    &alias);
	}
	if (err)
		goto out;
	inode.a.nlink++;
	inode.a.ctime_ns = fs_now_ns();
	err =
	    store_dir_put(c.t, c.slot_tab, c.slot, STORE_LINK_KEY_LEN, &inode);
	if (!err)
		err =
		    store_dir_put(c.t, c.tab, newname, strlen(newname), &alias);
	if (!err)
		err = fs_touch_dir(c.t, c.tab);
	if (!err)
		fs_attr_to_stat(&inode.a, inode.a.nlink, st);
out:
	err = fs_change_commit(fs, &c, err);
	if (err) {
		fs_change_unlock(fs);
		return err;
	}
	/* the node learns it is linked before wlock goes: a seal waiting
	 * for wlock would otherwise write the inode back over the name's
	 * alias, with the old link count (fs-diff: nlink 1 after link) */
	fs_lock(fs);
	n->linked = true;
	n->nlookup++; /* the reply is an entry */
	if (n->loaded) {
		n->a.nlink = inode.a.nlink;
		n->a.ctime_ns = inode.a.ctime_ns;
		if (n->dirty)
			fs_attr_to_stat(&n->a, n->a.nlink, st);
	}
	fs_unlock(fs);
	fs_change_unlock(fs);
	return 0;
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct fs *fs = FS(req);
	struct fuse_entry_param ep;
	struct node *n, *np;
	struct stat st;
	int err;

	COUNT(fs, R_LINK);
	fs_lock(fs);
	n = fs_node_get(fs, ino);
	np = fs_node_get(fs, newparent);
	fs_unlock(fs);
	err = n && np ? fs_pol_node(fs, req, n, FS_POL_LINK) : -ESTALE;
	if (!err)
		err = fs_pol_name(fs, req, newparent, newname, FS_POL_LINK);
	if (!err)
		err = fs_pol_entry_new(fs, req, newparent, newname,
				       STORE_USAGE_NAME, FS_POL_LINK);
	if (!err) {
		err = do_link(fs, n, np, newname, &st);
		if (err) /* not made: its cost goes back */
			fs_pol_account(fs, -(long long)STORE_USAGE_NAME);
	}
	if (!err) {
		fs_pol_moved(fs);
		fs_fill_entry(&ep, n, &st);
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &ep);
}

/* ---- statfs ---- */

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	struct statvfs sv;

	COUNT(fs, R_STATFS);
	if (statvfs(store_path(fs->st), &sv) < 0) {
		fuse_reply_err(req, errno);
	} else {
		sv.f_namemax = STORE_NAME_MAX;
		sv.f_fsid = 0;
		fs_pol_statfs(fs, &sv);
		fuse_reply_statfs(req, &sv);
	}
}

void fs_ops_dir(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = op_lookup;
	ops->forget = op_forget;
	ops->forget_multi = op_forget_multi;
	ops->getattr = op_getattr;
	ops->setattr = op_setattr;
	ops->readlink = op_readlink;
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->symlink = op_symlink;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->rename = op_rename;
	ops->link = op_link;
	ops->statfs = op_statfs;
}
