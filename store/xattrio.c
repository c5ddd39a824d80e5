/* SPDX-License-Identifier: MIT */
/*
 * xattrio.c - extended attributes between the store and a host tree, for
 * import and export: the namespaces blastfs keeps (user., trusted.,
 * security., the POSIX ACLs), read into the blob encoding and written
 * back. A filesystem that has none or refuses some is not an error: the
 * attributes it cannot hold are left out, as cp -a does.
 */
#include <stdio.h>
#include <sys/xattr.h>

#include "store_internal.h"

static bool kept(const char *name)
{
	return !strncmp(name, "user.", 5) || !strncmp(name, "trusted.", 8) ||
	       !strncmp(name, "security.", 9) ||
	       !strcmp(name, "system.posix_acl_access") ||
	       !strcmp(name, "system.posix_acl_default");
}

static ssize_t host_list(int fd, const char *path, char *buf, size_t len)
{
	return fd >= 0 ? flistxattr(fd, buf, len) : llistxattr(path, buf, len);
}

static ssize_t host_get(int fd, const char *path, const char *name, void *buf,
			size_t len)
{
	return fd >= 0 ? fgetxattr(fd, name, buf, len)
		       : lgetxattr(path, name, buf, len);
}

/* The names of fd (or path, not followed) into *out (malloc'd). */
static ssize_t list_names(int fd, const char *path, char **out)
{
	for (int tries = 0; tries < 8; tries++) {
		ssize_t n = host_list(fd, path, NULL, 0);
		char *buf;

		if (n <= 0)
			return n < 0 && errno != ENOTSUP ? -errno : 0;
		buf = store_malloc((size_t)n);
		if (!buf)
			return -ENOMEM;
		n = host_list(fd, path, buf, (size_t)n);
		if (n >= 0) {
			*out = buf;
			return n;
		}
		free(buf);
		if (errno != ERANGE) /* ERANGE: it grew meanwhile */
			return -errno;
	}
	return -EAGAIN;
}

int store_xattrs_read_host(int fd, const char *path, unsigned char **buf,
			   size_t *len)
{
	struct store_xattrs x = {0};
	unsigned char *val = NULL;
	char *names = NULL;
	ssize_t n = list_names(fd, path, &names);
	int err = n < 0 ? (int)n : 0;

	*buf = NULL;
	*len = 0;
	if (n > 0 && !(val = store_malloc(STORE_XATTR_SIZE_MAX)))
		err = -ENOMEM;
	for (ssize_t i = 0; !err && i < n;
	     i += (ssize_t)strlen(names + i) + 1) {
		const char *name = names + i;
		ssize_t v;

		if (!kept(name))
			continue;
		v = host_get(fd, path, name, val, STORE_XATTR_SIZE_MAX);
		if (v < 0 && errno == ENODATA)
			continue; /* removed meanwhile */
		err = v < 0 ? -errno
			    : store_xattrs_set(&x, name, val, (size_t)v, 0);
	}
	if (!err)
		err = store_xattrs_encode(&x, buf, len);
	store_xattrs_release(&x);
	free(names);
	free(val);
	return err;
}

int store_xattrs_write_host(struct store_txn *t, uint64_t blob, int fd,
			    const char *path)
{
	struct store_xattrs x;
	int err = store_xattrs_load(t, blob, &x);

	for (size_t i = 0; !err && i < x.n; i++) {
		const struct store_xattr *a = &x.v[i];
		int rc = fd >= 0
			     ? fsetxattr(fd, a->name, a->value, a->vlen, 0)
			     : setxattr(path, a->name, a->value, a->vlen, 0);

		/* what the target cannot hold (or we may not set) is left
		 * out, as cp -a leaves it */
		if (rc < 0 && errno != ENOTSUP && errno != EPERM)
			err = -errno;
	}
	store_xattrs_release(&x);
	return err;
}
