/* SPDX-License-Identifier: MIT */
/*
 * fsflags.c - chattr's inode flags (immutable, append-only, nodump,
 * noatime), kept in the inode's attrs (store_attr.flags). The kernel's
 * fileattr calls reach FUSE as IOCTLs (FS_IOC_GETFLAGS/SETFLAGS,
 * FS_IOC_FSGETXATTR/FSSETXATTR); the VFS itself checks ownership and
 * CAP_LINUX_IMMUTABLE against the flags GETFLAGS answers. FUSE inodes
 * carry no S_IMMUTABLE/S_APPEND, so the kernel enforces nothing: the
 * handlers ask the checks here, with ext4's rules (EPERM).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "change.h"

#define FL_NOCHANGE (STORE_FL_IMMUTABLE | STORE_FL_APPEND)

int fs_node_flags(struct fs *fs, struct node *n, uint32_t *out)
{
	struct store_txn *t;
	struct store_dir d;
	uint64_t tab;
	int err;

	if (!S_ISDIR(n->mode)) { /* a file's attrs: the node's, once loaded
				    (a write loads it anyway) */
		err = fs_node_load(fs, n);
		fs_lock(fs);
		*out = n->a.flags;
		fs_unlock(fs);
		return err;
	}
	err = fs_rtxn(fs, &t);
	if (err)
		return err;
	err = fs_dir_tab(fs, t, n, &tab);
	if (!err)
		err = store_dir_stat(t, tab, &d);
	if (!err)
		*out = d.a.flags;
	fs_rtxn_done(t);
	return err;
}

int fs_flags_entry(struct change *c, const struct store_entry *e, uint32_t *out)
{
	struct store_entry inode = *e;
	struct store_dir d;
	int err = 0;

	if (e->payload == STORE_P_TAB) {
		err = store_dir_stat(c->t, e->ref, &d);
		inode.a.flags = d.a.flags;
	} else if (e->payload == STORE_P_HARDLINK) {
		err = fs_resolve_link(c->fs, c->t, &inode);
	}
	if (err >= 0)
		*out = inode.a.flags;
	return err < 0 ? err : 0;
}

int fs_flags_victim(struct change *c, const struct store_entry *e)
{
	uint32_t fl;
	int err = fs_flags_entry(c, e, &fl);

	return err ? err : (fl & FL_NOCHANGE) ? -EPERM : 0;
}

int fs_flags_dir(struct change *c, uint64_t tab, bool removing)
{
	struct store_dir d;
	int err = store_dir_stat(c->t, tab, &d);

	if (err)
		return err;
	if (d.a.flags & STORE_FL_IMMUTABLE)
		return -EPERM;
	return removing && (d.a.flags & STORE_FL_APPEND) ? -EPERM : 0;
}

int fs_flags_write(struct fs *fs, struct node *n, int open_flags)
{
	uint32_t fl;
	int err = fs_node_flags(fs, n, &fl);

	if (err)
		return err;
	if (fl & STORE_FL_IMMUTABLE)
		return -EPERM;
	return (fl & STORE_FL_APPEND) && !(open_flags & O_APPEND) ? -EPERM : 0;
}

/* Only times set to now (touch, utimes(NULL)): the kernel sends the
 * times' bits with their _NOW bits. */
static bool only_touch(int to_set)
{
	const int a = FUSE_SET_ATTR_ATIME, m = FUSE_SET_ATTR_MTIME;
	const int anow = FUSE_SET_ATTR_ATIME_NOW,
		  mnow = FUSE_SET_ATTR_MTIME_NOW;

	if (to_set & ~(a | m | anow | mnow | FUSE_SET_ATTR_CTIME))
		return false;
	return (!(to_set & a) || (to_set & anow)) &&
	       (!(to_set & m) || (to_set & mnow));
}

int fs_flags_xattr(struct fs *fs, struct node *n)
{
	uint32_t fl;
	int err = fs_node_flags(fs, n, &fl);

	return err ? err : fl & FL_NOCHANGE ? -EPERM : 0;
}

int fs_flags_setattr(struct fs *fs, struct node *n, int to_set)
{
	uint32_t fl;
	int err;

	if (!to_set)
		return 0;
	err = fs_node_flags(fs, n, &fl);
	if (err)
		return err;
	if (fl & STORE_FL_IMMUTABLE)
		return -EPERM;
	return (fl & STORE_FL_APPEND) && !only_touch(to_set) ? -EPERM : 0;
}

/* ---- the IOCTLs ---- */

/* FS_XFLAG_* for the flags kept, as FS_IOC_FSGETXATTR has them. */
static const struct {
	uint32_t fl, xfl;
} xmap[] = {
    {STORE_FL_IMMUTABLE, FS_XFLAG_IMMUTABLE},
    {STORE_FL_APPEND, FS_XFLAG_APPEND},
    {STORE_FL_NODUMP, FS_XFLAG_NODUMP},
    {STORE_FL_NOATIME, FS_XFLAG_NOATIME},
};

static uint32_t to_xflags(uint32_t fl)
{
	uint32_t x = 0;

	for (size_t i = 0; i < sizeof(xmap) / sizeof(xmap[0]); i++)
		if (fl & xmap[i].fl)
			x |= xmap[i].xfl;
	return x;
}

static int from_xflags(uint32_t x, uint32_t *out)
{
	uint32_t fl = 0;

	for (size_t i = 0; i < sizeof(xmap) / sizeof(xmap[0]); i++) {
		if (x & xmap[i].xfl) {
			fl |= xmap[i].fl;
			x &= ~xmap[i].xfl;
		}
	}
	*out = fl;
	return x ? -EOPNOTSUPP : 0;
}

/* Does process pid have CAP_LINUX_IMMUTABLE (effective)? */
static bool cap_immutable(pid_t pid)
{
	char path[64], line[256];
	unsigned long long eff = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	return found && (eff >> CAP_LINUX_IMMUTABLE) & 1;
}

static int set_flags(struct fs *fs, fuse_req_t req, struct node *n, uint32_t fl)
{
	struct stat st = {0};
	uint32_t old;
	int err;

	if (fl & ~STORE_FL_ALL)
		return -EOPNOTSUPP;
	err = fs_pol_node(fs, req, n, FS_POL_SETATTR);
	if (!err)
		err = fs_node_flags(fs, n, &old);
	if (err)
		return err;
	/* the VFS asked for the capability if i or a change; ext4 also for
	 * any change of an immutable inode's flags */
	if ((old & STORE_FL_IMMUTABLE) && fl != old &&
	    !cap_immutable(fuse_req_ctx(req)->pid))
		return -EPERM;
	st.st_rdev = fl; /* what FS_SET_ATTR_FLAGS sets */
	return fs_setattr_node(fs, n, &st, FS_SET_ATTR_FLAGS);
}

ssize_t fs_flags_ioctl(struct fs *fs, fuse_req_t req, struct node *n,
		       unsigned cmd, const void *in, size_t in_len, void *out,
		       size_t out_len)
{
	struct fsxattr fx;
	uint32_t fl;
	int err;

	switch (cmd) {
	case FS_IOC_GETFLAGS:
	case FS_IOC_FSGETXATTR:
		err = fs_node_flags(fs, n, &fl);
		if (err)
			return err;
		if (cmd == FS_IOC_GETFLAGS) {
			if (out_len < sizeof(fl))
				return -EINVAL;
			memcpy(out, &fl, sizeof(fl));
			return sizeof(fl);
		}
		if (out_len < sizeof(fx))
			return -EINVAL;
		memset(&fx, 0, sizeof(fx));
		fx.fsx_xflags = to_xflags(fl);
		memcpy(out, &fx, sizeof(fx));
		return sizeof(fx);
	case FS_IOC_SETFLAGS:
		if (in_len < sizeof(fl))
			return -EINVAL;
		memcpy(&fl, in, sizeof(fl));
		return set_flags(fs, req, n, fl);
	case FS_IOC_FSSETXATTR:
		if (in_len < sizeof(fx))
			return -EINVAL;
		memcpy(&fx, in, sizeof(fx));
		err = from_xflags(fx.fsx_xflags, &fl);
		if (!err &&
		    (fx.fsx_extsize || fx.fsx_projid || fx.fsx_cowextsize))
			err = -EOPNOTSUPP;
		return err ? err : set_flags(fs, req, n, fl);
	default:
		return -ENOTTY;
	}
}
