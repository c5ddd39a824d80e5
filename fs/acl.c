/* SPDX-License-Identifier: MIT */
/*
 * acl.c - POSIX ACLs. The kernel enforces them (FUSE_CAP_POSIX_ACL with
 * default_permissions) from the system.posix_acl_* attributes; blastfs
 * stores them as other attributes.
 */
#include <errno.h>
#include <string.h>

#include "fs_xattr.h"

bool fs_acl_name(const char *name)
{
	return !strcmp(name, FS_ACL_ACCESS) || !strcmp(name, FS_ACL_DEFAULT);
}

int fs_acl_set(struct fs *fs, fuse_req_t req, struct node *n, const char *name,
	       const void *val, size_t len, int flags)
{
	return fs_xattr_change(fs, req, n, name, val ? val : "", len, flags);
}
