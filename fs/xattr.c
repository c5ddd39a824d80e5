/* SPDX-License-Identifier: MIT */
/*
 * xattr.c - extended attributes as ext4 has them: the user., trusted.
 * and security. namespaces (and system.posix_acl_* for acl.c), ext4's
 * limits (one inode's attributes fit its inode and one 4 KiB block, else
 * ENOSPC) and errors. The set is one blob per inode in the store (an
 * entry's, a directory table header's, a hard-linked inode's links-table
 * entry's). The kernel asks security.capability before every write: a
 * node known to have none answers from memory (node.xa_none).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "change.h"
#include "fs_xattr.h"

static const char *const ns_prefix[] = {"user.", "trusted.", "security."};

int fs_xattr_name_check(const char *name)
{
	for (size_t i = 0; i < sizeof(ns_prefix) / sizeof(ns_prefix[0]); i++) {
		size_t pl = strlen(ns_prefix[i]);

		if (!strncmp(name, ns_prefix[i], pl))
			return name[pl] ? 0 : -EINVAL;
	}
	if (!strcmp(name, FS_ACL_ACCESS) || !strcmp(name, FS_ACL_DEFAULT))
		return 0;
	return -EOPNOTSUPP;
}

/* ext4 keeps a name without its namespace prefix (a number instead). */
static size_t suffix_len(const char *name)
{
	for (size_t i = 0; i < sizeof(ns_prefix) / sizeof(ns_prefix[0]); i++)
		if (!strncmp(name, ns_prefix[i], strlen(ns_prefix[i])))
			return strlen(name) - strlen(ns_prefix[i]);
	return 0; /* system.posix_acl_*: the index says it all */
}

#define EXT4_ROUND(n) (((n) + 3) & ~(size_t)3)
/* ext4 (256-byte inodes, 4 KiB blocks, no ea_inode): what the inode
 * and the one block hold after their headers and end markers. */
#define EXT4_INODE_ROOM 88
#define EXT4_BLOCK_ROOM 4060

int fs_xattr_fits(const struct store_xattrs *x)
{
	size_t inode = EXT4_INODE_ROOM, block = EXT4_BLOCK_ROOM;

	for (size_t i = 0; i < x->n; i++) {
		size_t c = 16 + EXT4_ROUND(suffix_len(x->v[i].name)) +
			   EXT4_ROUND(x->v[i].vlen);

		if (c <= inode)
			inode -= c;
		else if (c <= block)
			block -= c;
		else
			return -ENOSPC;
	}
	return 0;
}

uint64_t fs_xattr_bytes(struct store_txn *t, uint64_t blob)
{
	struct store_blob_info bi;

	return blob && !store_blob_stat(t, blob, &bi) ? bi.size : 0;
}

static bool node_unlinked(struct fs *fs, struct node *n)
{
	bool unlinked;

	fs_lock(fs);
	unlinked = n->unlinked;
	fs_unlock(fs);
	return unlinked;
}

/* The blob of n's attributes in t (0: none; an unlinked node has none
 * that can be read back). */
static int node_blob(struct fs *fs, struct store_txn *t, struct node *n,
		     uint64_t *out)
{
	struct store_entry e;
	struct store_dir d;
	uint64_t tab;
	int err;

	*out = 0;
	if (node_unlinked(fs, n))
		return 0;
	if (S_ISDIR(n->mode)) {
		err = fs_dir_tab(fs, t, n, &tab);
		if (!err)
			err = store_dir_stat(t, tab, &d);
		if (!err)
			*out = d.xattr;
		return err;
	}
	err = fs_node_entry(fs, t, n, &e);
	if (!err)
		*out = e.xattr;
	return err;
}

/* n's attributes into *out (released by the caller); 1 when n has none,
 * known from memory or learnt now (then remembered). */
static int node_load(struct fs *fs, struct node *n, struct store_xattrs *out)
{
	struct store_txn *t;
	uint64_t seq, epoch, blob;
	int err;

	memset(out, 0, sizeof(*out));
	fs_lock(fs);
	epoch = atomic_load(&fs->xa_epoch);
	if (n->xa_none && n->xa_epoch == epoch) {
		fs_unlock(fs);
		return 1;
	}
	seq = n->xa_seq;
	fs_unlock(fs);
	err = fs_rtxn(fs, &t);
	if (err)
		return err;
	err = node_blob(fs, t, n, &blob);
	if (!err && blob)
		err = store_xattrs_load(t, blob, out);
	fs_rtxn_done(t);
	if (err || blob)
		return err;
	/* none: remember it unless a change came meanwhile */
	fs_lock(fs);
	if (n->xa_seq == seq && atomic_load(&fs->xa_epoch) == epoch) {
		n->xa_none = true;
		n->xa_epoch = epoch;
	}
	fs_unlock(fs);
	return 1;
}

int fs_xattr_get(struct fs *fs, struct node *n, const char *name, void **val,
		 size_t *len)
{
	struct store_xattrs x;
	const struct store_xattr *a;
	int err = node_load(fs, n, &x);

	if (err)
		return err > 0 ? -ENODATA : err;
	a = store_xattrs_find(&x, name);
	err = a ? 0 : -ENODATA;
	if (a) {
		*val = malloc(a->vlen ? a->vlen : 1);
		err = *val ? 0 : -ENOMEM;
		if (*val) {
			memcpy(*val, a->value, a->vlen);
			*len = a->vlen;
		}
	}
	store_xattrs_release(&x);
	return err;
}

/* Does the caller have CAP_SYS_ADMIN (to see trusted.* names)? */
static bool caller_admin(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char path[64], line[256];
	unsigned long long caps = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)ctx->pid);
	f = fopen(path, "re");
	if (!f)
		return ctx->uid == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps & (1ull << 21); /* CAP_SYS_ADMIN */
}

/* n's names, NUL-terminated one after another, into *buf (malloc'd,
 * NULL when none). trusted.* only for an admin caller, as ext4. */
static int node_list(struct fs *fs, fuse_req_t req, struct node *n, char **buf,
		     size_t *len)
{
	struct store_xattrs x;
	size_t total = 0, i;
	bool admin = false, asked = false;
	char *b;
	int err = node_load(fs, n, &x);

	*buf = NULL;
	*len = 0;
	if (err)
		return err > 0 ? 0 : err;
	b = malloc(x.n * (STORE_XATTR_NAME_MAX + 1) + 1);
	err = b ? 0 : -ENOMEM;
	for (i = 0; b && i < x.n; i++) {
		if (!strncmp(x.v[i].name, "trusted.", 8)) {
			if (!asked)
				admin = caller_admin(req);
			asked = true;
			if (!admin)
				continue;
		}
		memcpy(b + total, x.v[i].name, x.v[i].nlen + 1);
		total += x.v[i].nlen + 1;
	}
	store_xattrs_release(&x);
	*buf = b;
	*len = total;
	return err;
}

/* Edit the set: val NULL removes name. */
static int edit(struct store_xattrs *x, const char *name, const void *val,
		size_t len, int flags, bool acl)
{
	int err;

	if (!val) {
		err = store_xattrs_remove(x, name);
		/* an ACL the mode now says all of may be missing */
		return err == -ENODATA && acl ? 0 : err;
	}
	err = store_xattrs_set(x, name, val, len, flags);
	return err ? err : fs_xattr_fits(x);
}

/* Quota: a file's attributes count like its bytes (usage.c counts
 * them); a directory's do not (its block is counted already). */
static int quota(struct fs *fs, fuse_req_t req, struct node *n, long long delta)
{
	if (S_ISDIR(n->mode) || !delta)
		return 0;
	if (delta < 0) {
		fs_pol_account(fs, delta);
		return 0;
	}
	return fs_pol_entry_new(fs, req, n->parent, n->name, (uint64_t)delta,
				FS_POL_SETATTR);
}

/* The new set's blob from the old one; *delta: bytes it grew by. */
static int change_blob(struct store_txn *t, uint64_t old, const char *name,
		       const void *val, size_t len, int flags, int mode,
		       uint64_t *out, long long *delta)
{
	struct store_xattrs x;
	int err = store_xattrs_load(t, old, &x);

	if (err)
		return err;
	err = edit(&x, name, val, len, flags, mode >= 0);
	if (!err)
		err = store_xattrs_put(t, &x, out);
	store_xattrs_release(&x);
	if (!err)
		*delta = (long long)fs_xattr_bytes(t, *out) -
			 (long long)fs_xattr_bytes(t, old);
	return err;
}

static int change_dir(struct fs *fs, fuse_req_t req, struct node *n,
		      const char *name, const void *val, size_t len, int flags,
		      int mode)
{
	struct store_dir d;
	struct change c;
	uint64_t blob;
	long long delta;
	int err = fs_change_begin(fs, n, &c);

	if (err)
		return err;
	err = store_dir_stat(c.t, c.tab, &d);
	if (!err)
		err = change_blob(c.t, d.xattr, name, val, len, flags, mode,
				  &blob, &delta);
	if (!err)
		err = quota(fs, req, n, delta);
	if (!err)
		err = store_dir_set_xattr(c.t, c.tab, blob);
	if (!err)
		err = store_dir_stat(c.t, c.tab, &d);
	if (!err) {
		d.a.ctime_ns = fs_now_ns();
		if (mode >= 0)
			d.a.mode =
			    (d.a.mode & ~0777u) | ((uint32_t)mode & 0777);
		err = store_dir_set_attr(c.t, c.tab, &d.a);
	}
	return fs_change_end(fs, &c, err);
}

static int change_file(struct fs *fs, fuse_req_t req, struct node *n,
		       const char *name, const void *val, size_t len, int flags,
		       int mode)
{
	unsigned char inl[STORE_ENTRY_INLINE_MAX];
	struct node *root = fs_node_find(fs, FUSE_ROOT_ID);
	struct store_entry e;
	struct change c;
	long long delta = 0;
	uint64_t blob;
	int err = fs_change_begin(fs, root, &c);

	if (err)
		return err;
	err = fs_node_slot(&c, n, &e, inl);
	if (!err)
		err = change_blob(c.t, e.xattr, name, val, len, flags, mode,
				  &blob, &delta);
	if (!err)
		err = quota(fs, req, n, delta);
	if (!err) {
		e.xattr = blob;
		e.a.ctime_ns = fs_now_ns();
		if (mode >= 0)
			e.a.mode =
			    (e.a.mode & ~0777u) | ((uint32_t)mode & 0777);
		err =
		    store_dir_put(c.t, c.slot_tab, c.slot, strlen(c.slot), &e);
		if (err && delta > 0)
			fs_pol_account(fs, -delta);
	}
	err = fs_change_commit(fs, &c, err);
	/* before wlock goes: a seal copies n->a under it */
	fs_lock(fs);
	if (!err && n->loaded) {
		n->a.ctime_ns = e.a.ctime_ns;
		n->a.mode = (n->a.mode & S_IFMT) | (e.a.mode & ~S_IFMT);
	}
	fs_unlock(fs);
	fs_change_unlock(fs);
	return err;
}

int fs_xattr_change(struct fs *fs, fuse_req_t req, struct node *n,
		    const char *name, const void *val, size_t len, int flags,
		    int mode)
{
	int err;

	if (node_unlinked(fs, n))
		return -ENOENT;
	err = S_ISDIR(n->mode)
		  ? change_dir(fs, req, n, name, val, len, flags, mode)
		  : change_file(fs, req, n, name, val, len, flags, mode);
	/* whatever happened, the cached "none" may be wrong now */
	fs_lock(fs);
	n->xa_seq++;
	n->xa_none = false;
	fs_unlock(fs);
	return err;
}

/* ---- the handlers ---- */

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	int err = n ? fs_xattr_name_check(name) : -ESTALE;

	COUNT(fs, R_SETXATTR);
	if (!err)
		err = fs_pol_node(fs, req, n, FS_POL_SETATTR);
	if (!err)
		err = fs_flags_xattr(fs, n);
	if (!err && fs->acl && fs_acl_name(name))
		err = fs_acl_set(fs, req, n, name, value, size, flags);
	else if (!err)
		err = fs_xattr_change(fs, req, n, name, value ? value : "",
				      size, flags, -1);
	fuse_reply_err(req, -err);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	int err = n ? fs_xattr_name_check(name) : -ESTALE;

	COUNT(fs, R_REMOVEXATTR);
	if (!err)
		err = fs_pol_node(fs, req, n, FS_POL_SETATTR);
	if (!err)
		err = fs_flags_xattr(fs, n);
	if (!err)
		err = fs_xattr_change(fs, req, n, name, NULL, 0, 0, -1);
	fuse_reply_err(req, -err);
}

/* A value or a list of size bytes, for a buffer of want bytes (0: the
 * caller asks for the size). */
static void reply_sized(fuse_req_t req, int err, const void *buf, size_t len,
			size_t want)
{
	if (err)
		fuse_reply_err(req, -err);
	else if (!want)
		fuse_reply_xattr(req, len);
	else if (len > want)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	void *val = NULL;
	size_t len = 0;
	int err = n ? fs_xattr_name_check(name) : -ESTALE;

	COUNT(fs, R_GETXATTR);
	if (!err)
		err = fs_pol_node(fs, req, n, FS_POL_GETATTR);
	if (!err)
		err = fs_xattr_get(fs, n, name, &val, &len);
	reply_sized(req, err, val, len, size);
	free(val);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	char *buf = NULL;
	size_t len = 0;
	int err = n ? 0 : -ESTALE;

	COUNT(fs, R_LISTXATTR);
	if (!err)
		err = fs_pol_node(fs, req, n, FS_POL_GETATTR);
	if (!err)
		err = node_list(fs, req, n, &buf, &len);
	reply_sized(req, err, buf, len, size);
	free(buf);
}

void fs_ops_xattr(struct fuse_lowlevel_ops *ops)
{
	ops->setxattr = op_setxattr;
	ops->getxattr = op_getxattr;
	ops->listxattr = op_listxattr;
	ops->removexattr = op_removexattr;
}
