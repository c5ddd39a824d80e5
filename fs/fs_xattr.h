/* SPDX-License-Identifier: MIT */
/*
 * fs_xattr.h - extended attributes (xattr.c) and POSIX ACLs (acl.c) of
 * blastfs's nodes. Callers hold no fs lock.
 */
#ifndef BLAST_FS_XATTR_H
#define BLAST_FS_XATTR_H

#include "fs_internal.h"

#define FS_ACL_ACCESS  "system.posix_acl_access"
#define FS_ACL_DEFAULT "system.posix_acl_default"

/* 0 for a name of a namespace blastfs keeps (user., trusted.,
 * security., the two ACLs), -EINVAL for a bare prefix, else
 * -EOPNOTSUPP (as ext4). */
int fs_xattr_name_check(const char *name);
/* 0 when the set would fit one ext4 inode and block, else -ENOSPC. */
int fs_xattr_fits(const struct store_xattrs *x);
/* Bytes of the attribute blob (0 for none): what fs.quota counts. */
uint64_t fs_xattr_bytes(struct store_txn *t, uint64_t blob);
/* n's value of name into *val (malloc'd, *len bytes). -ENODATA. */
int fs_xattr_get(struct fs *fs, struct node *n, const char *name, void **val,
		 size_t *len);
/* Set (val not NULL; flags STORE_XATTR_*) or remove name on n, in a
 * change of its own (ctime moves). mode >= 0: n's permission bits
 * become it in the same change (ACLs), and removing a missing name is
 * no error. -ENODATA, -EEXIST, -ENOSPC, -EDQUOT, -ENOENT (unlinked). */
int fs_xattr_change(struct fs *fs, fuse_req_t req, struct node *n,
		    const char *name, const void *val, size_t len, int flags,
		    int mode);

/* acl.c: is name one of the two ACLs? */
bool fs_acl_name(const char *name);
/* Set an ACL as the kernel passes it (FUSE_CAP_POSIX_ACL): the access
 * ACL moves the mode's group bits (or becomes them when it says no
 * more than the mode). */
int fs_acl_set(struct fs *fs, fuse_req_t req, struct node *n, const char *name,
	       const void *val, size_t len, int flags);
/* After a chmod of n to mode: its access ACL follows (posix_acl_chmod). */
int fs_acl_chmod(struct fs *fs, fuse_req_t req, struct node *n, uint32_t mode);
/* A new node's attributes in a directory whose set is dir_xattr: its
 * default ACL, masked by *mode (which follows), as the new node's access
 * ACL (and a directory's default ACL); without one, the umask is taken
 * off *mode. *out: the new set's blob (0: none; no reference taken). */
int fs_acl_inherit(struct store_txn *t, uint64_t dir_xattr, uint32_t *mode,
		   uint32_t umask, uint64_t *out);

void fs_ops_xattr(struct fuse_lowlevel_ops *ops);

#endif
