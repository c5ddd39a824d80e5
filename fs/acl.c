/* SPDX-License-Identifier: MIT */
/*
 * acl.c - POSIX ACLs. The kernel enforces them (FUSE_CAP_POSIX_ACL with
 * default_permissions) from the system.posix_acl_* attributes, and
 * leaves to the filesystem what ext4 does in posix_acl_update_mode,
 * posix_acl_chmod and posix_acl_create: the mode follows the access
 * ACL (which is not kept when the mode says it all), a chmod rewrites
 * the ACL, and a new node inherits its directory's default ACL (else the
 * umask, which the kernel then leaves to us too).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_xattr.h"
#include "store_internal.h"

/* The kernel's xattr form: version(le32) then tag(le16) perm(le16)
 * id(le32) per entry. */
#define ACL_VERSION   2
#define ACL_HDR	      4
#define ACL_ENT	      8
#define ACL_USER_OBJ  0x01
#define ACL_USER      0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP     0x08
#define ACL_MASK      0x10
#define ACL_OTHER     0x20

bool fs_acl_name(const char *name)
{
	return !strcmp(name, FS_ACL_ACCESS) || !strcmp(name, FS_ACL_DEFAULT);
}

static int acl_check(const unsigned char *v, size_t len)
{
	if (len < ACL_HDR || (len - ACL_HDR) % ACL_ENT ||
	    get_le32(v) != ACL_VERSION)
		return -EINVAL;
	return 0;
}

/* Entry i's tag and perm. */
static unsigned char *acl_ent(unsigned char *v, size_t i)
{
	return v + ACL_HDR + i * ACL_ENT;
}

/* The mode's permission bits an ACL gives; 1 when it says no more than
 * them (posix_acl_equiv_mode), 0 when it must be kept. */
static int acl_mode(unsigned char *v, size_t len, uint32_t *perm)
{
	size_t n = (len - ACL_HDR) / ACL_ENT;
	uint32_t m = 0;
	int equiv = 1;

	for (size_t i = 0; i < n; i++) {
		unsigned tag = get_le32(acl_ent(v, i)) & 0xffff;
		unsigned p = (get_le32(acl_ent(v, i)) >> 16) & 7;

		if (tag == ACL_USER_OBJ)
			m |= p << 6;
		else if (tag == ACL_GROUP_OBJ || tag == ACL_MASK)
			m = (m & ~070u) | p << 3;
		else if (tag == ACL_OTHER)
			m |= p;
		if (tag == ACL_USER || tag == ACL_GROUP || tag == ACL_MASK)
			equiv = 0;
	}
	*perm = m;
	return equiv;
}

static void ent_perm(unsigned char *e, unsigned p)
{
	e[2] = (unsigned char)p;
	e[3] = 0;
}

/* posix_acl_chmod: the owner, mask (or group) and other entries from
 * mode. */
static void acl_chmod(unsigned char *v, size_t len, uint32_t mode)
{
	size_t n = (len - ACL_HDR) / ACL_ENT;
	bool mask = false;

	for (size_t i = 0; i < n; i++)
		mask |= (get_le32(acl_ent(v, i)) & 0xffff) == ACL_MASK;
	for (size_t i = 0; i < n; i++) {
		unsigned tag = get_le32(acl_ent(v, i)) & 0xffff;

		if (tag == ACL_USER_OBJ)
			ent_perm(acl_ent(v, i), (mode >> 6) & 7);
		else if (tag == (mask ? ACL_MASK : ACL_GROUP_OBJ))
			ent_perm(acl_ent(v, i), (mode >> 3) & 7);
		else if (tag == ACL_OTHER)
			ent_perm(acl_ent(v, i), mode & 7);
	}
}

/* posix_acl_create_masq: the entries masked by mode; *mode's permission
 * bits become what the result grants. 1 when the result says no more
 * than the mode. */
static int acl_create(unsigned char *v, size_t len, uint32_t *mode)
{
	size_t n = (len - ACL_HDR) / ACL_ENT;
	unsigned char *group = NULL, *mask = NULL;
	uint32_t m = *mode;
	int equiv = 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char *e = acl_ent(v, i);
		unsigned tag = get_le32(e) & 0xffff, p = e[2] & 7;

		if (tag == ACL_USER_OBJ) {
			p &= (m >> 6) & 7;
			ent_perm(e, p);
			m = (m & ~0700u) | p << 6;
		} else if (tag == ACL_GROUP_OBJ) {
			group = e;
		} else if (tag == ACL_MASK) {
			mask = e;
		} else if (tag == ACL_OTHER) {
			p &= m & 7;
			ent_perm(e, p);
			m = (m & ~07u) | p;
		} else {
			equiv = 0;
		}
	}
	if (mask || group) {
		unsigned char *g = mask ? mask : group;
		unsigned p = g[2] & (m >> 3) & 7;

		ent_perm(g, p);
		m = (m & ~070u) | p << 3;
	}
	if (mask)
		equiv = 0;
	*mode = m;
	return equiv;
}

int fs_acl_inherit(struct store_txn *t, uint64_t dir_xattr, uint32_t *mode,
		   uint32_t umask, uint64_t *out)
{
	struct store_xattrs px, x = {0};
	const struct store_xattr *def;
	unsigned char *acc = NULL;
	int err;

	*out = 0;
	if (S_ISLNK(*mode))
		return 0;
	err = store_xattrs_load(t, dir_xattr, &px);
	if (err)
		return err;
	def = store_xattrs_find(&px, FS_ACL_DEFAULT);
	if (!def || acl_check(def->value, def->vlen)) {
		*mode &= ~umask; /* the kernel left the umask to us */
		goto out;
	}
	acc = malloc(def->vlen);
	err = acc ? 0 : -ENOMEM;
	if (!err) {
		memcpy(acc, def->value, def->vlen);
		if (!acl_create(acc, def->vlen, mode))
			err = store_xattrs_set(&x, FS_ACL_ACCESS, acc,
					       def->vlen, 0);
	}
	if (!err && S_ISDIR(*mode))
		err = store_xattrs_set(&x, FS_ACL_DEFAULT, def->value,
				       def->vlen, 0);
	if (!err)
		err = store_xattrs_put(t, &x, out);
out:
	free(acc);
	store_xattrs_release(&x);
	store_xattrs_release(&px);
	return err;
}

int fs_acl_set(struct fs *fs, fuse_req_t req, struct node *n, const char *name,
	       const void *val, size_t len, int flags)
{
	unsigned char *v;
	uint32_t perm;
	int err;

	if (acl_check(val, len))
		return -EINVAL;
	if (!strcmp(name, FS_ACL_DEFAULT))
		return S_ISDIR(n->mode) ? fs_xattr_change(fs, req, n, name, val,
							  len, flags, -1)
					: -EACCES;
	v = malloc(len);
	if (!v)
		return -ENOMEM;
	memcpy(v, val, len);
	if (acl_mode(v, len, &perm)) /* the mode says it all */
		err = fs_xattr_change(fs, req, n, name, NULL, 0, 0, (int)perm);
	else
		err =
		    fs_xattr_change(fs, req, n, name, v, len, flags, (int)perm);
	free(v);
	return err == -ENODATA ? 0 : err;
}

int fs_acl_chmod(struct fs *fs, fuse_req_t req, struct node *n, uint32_t mode)
{
	unsigned char *v;
	void *val;
	size_t len;
	int err = fs_xattr_get(fs, n, FS_ACL_ACCESS, &val, &len);

	if (err)
		return err == -ENODATA ? 0 : err;
	v = val;
	err = acl_check(v, len);
	if (!err) {
		acl_chmod(v, len, mode);
		err = fs_xattr_change(fs, req, n, FS_ACL_ACCESS, v, len, 0, -1);
	}
	free(val);
	return err;
}
