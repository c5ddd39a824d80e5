/* SPDX-License-Identifier: MIT */
/*
 * oci-build.c - pull's side of the artifact layout: an env's tree built
 * from a config (see oci-env.c) in the caller's write txn, its files
 * naming blobs by content hash (already local, or just committed from
 * layers). Everything from the registry is checked: names, types, sizes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobfind.h"
#include "oci.h"
#include "oci_build.h"
#include "oci_env.h"

static int bad(struct oci_build *b, const char *path, const char *what)
{
	snprintf(b->why, sizeof(b->why), "bad config entry '%.300s': %.100s",
		 path, what);
	return -EBADMSG;
}

static int attr_get(struct oci_build *b, json_t *obj, struct store_attr *a)
{
	json_t *m = json_object_get(obj, "mode");
	json_t *t = json_object_get(obj, "mtime");
	int err;

	if (!json_is_integer(m) || !json_is_integer(t))
		return -EBADMSG;
	memset(a, 0, sizeof(*a));
	a->mode = (uint32_t)json_integer_value(m);
	a->mtime_ns = a->atime_ns = a->ctime_ns = json_integer_value(t);
	a->uid = getuid();
	a->gid = getgid();
	/* optional: chattr's flags (only those the store keeps) */
	a->flags = (uint32_t)json_integer_value(json_object_get(obj, "flags")) &
		   STORE_FL_ALL;
	err = store_fid_new(b->t, &a->fid);
	return err;
}

/* The entry's optional "xattrs" (name -> base64 value) as a blob in *out
 * (0: none; no reference taken: the entry or table takes it). */
static int xattrs_get(struct oci_build *b, const char *path, json_t *obj,
		      uint64_t *out)
{
	json_t *xo = json_object_get(obj, "xattrs"), *v;
	struct store_xattrs x = {0};
	const char *name;
	void *val;
	size_t len;
	int err = 0;

	*out = 0;
	if (!xo)
		return 0;
	if (!json_is_object(xo))
		return bad(b, path, "bad xattrs");
	json_object_foreach(xo, name, v)
	{
		if (!json_is_string(v) ||
		    oci_b64_decode(json_string_value(v), &val, &len)) {
			err = bad(b, path, "bad xattr value");
			break;
		}
		err = store_xattrs_set(&x, name, val, len, 0);
		free(val);
		if (err) {
			err = bad(b, path, "bad xattr");
			break;
		}
	}
	if (!err)
		err = store_xattrs_put(b->t, &x, out);
	store_xattrs_release(&x);
	return err;
}

static int file_payload(struct oci_build *b, const char *path, json_t *obj,
			struct store_entry *e, void **bytes)
{
	json_t *sz = json_object_get(obj, "size");
	const char *data = json_string_value(json_object_get(obj, "data"));
	const char *hex = json_string_value(json_object_get(obj, "content"));
	struct store_blob_info bi;
	struct store_hash h;
	size_t len;
	int err;

	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return bad(b, path, "no size");
	e->a.size = (uint64_t)json_integer_value(sz);
	if (data) {
		if (oci_b64_decode(data, bytes, &len) || len != e->a.size ||
		    len > STORE_INLINE_MAX)
			return bad(b, path, "bad inline data");
		e->payload = STORE_P_INLINE;
		e->inline_len = (uint32_t)len;
		e->inline_data = *bytes;
		return 0;
	}
	if (!hex) {
		if (e->a.size)
			return bad(b, path, "no content");
		e->payload = STORE_P_NONE;
		return 0;
	}
	if (oci_hash_parse(hex, &h))
		return bad(b, path, "bad content hash");
	err = store_blob_find(b->t, &h, &e->ref);
	if (err == -ENOENT) {
		snprintf(b->why, sizeof(b->why),
			 "no layer holds the content of '%.300s'", path);
		return -EBADMSG;
	}
	if (!err)
		err = store_blob_stat(b->t, e->ref, &bi);
	if (!err && bi.size != e->a.size)
		return bad(b, path, "size differs from its content");
	e->payload = STORE_P_BLOB;
	return err;
}

static int build_entry(struct oci_build *b, const char *dir, json_t *obj,
		       uint64_t tab)
{
	const char *name = json_string_value(json_object_get(obj, "name"));
	struct store_entry e = {0};
	char path[8192];
	void *bytes = NULL;
	size_t nlen;
	int err;

	if (!name || !(nlen = strlen(name)) || nlen > STORE_NAME_MAX ||
	    strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return bad(b, dir, "bad entry name");
	snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", name);
	if (attr_get(b, obj, &e.a))
		return bad(b, path, "no mode or mtime");
	/* a directory's are its table's (oci_build_dir) */
	err = S_ISDIR(e.a.mode) ? 0 : xattrs_get(b, path, obj, &e.xattr);
	if (err)
		return err;
	switch (e.a.mode & S_IFMT) {
	case S_IFDIR:
		err = oci_build_dir(b, path, obj, &e.ref, &e.a);
		e.payload = STORE_P_TAB;
		break;
	case S_IFREG:
		err = file_payload(b, path, obj, &e, &bytes);
		break;
	case S_IFLNK: {
		const char *tg =
		    json_string_value(json_object_get(obj, "target"));
		const char *data =
		    json_string_value(json_object_get(obj, "data"));
		size_t len = 0;

		if (tg) {
			bytes = strdup(tg);
			len = strlen(tg);
		} else if (!data || oci_b64_decode(data, &bytes, &len)) {
			bytes = NULL;
		}
		if (!bytes || !len || len > 4095)
			return free(bytes), bad(b, path, "bad symlink target");
		e.payload = STORE_P_INLINE;
		e.inline_len = (uint32_t)len;
		e.inline_data = bytes;
		e.a.size = len;
		err = 0;
		break;
	}
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		e.a.rdev =
		    (uint32_t)json_integer_value(json_object_get(obj, "rdev"));
		err = 0;
		break;
	default:
		return bad(b, path, "unknown file type");
	}
	if (!err)
		err = store_dir_put(b->t, tab, name, nlen, &e);
	if (!err && e.payload == STORE_P_BLOB)
		b->files++;
	free(bytes);
	return err;
}

int oci_build_dir(struct oci_build *b, const char *path, json_t *obj,
		  uint64_t *tab, struct store_attr *a)
{
	json_t *ents = json_object_get(obj, "entries"), *v;
	uint64_t xattr = 0;
	size_t i;
	int err;

	if (!json_is_array(ents))
		return bad(b, *path ? path : ".",
			   "a directory without entries");
	if (!a->fid) {
		err = attr_get(b, obj, a);
		if (err)
			return err == -EBADMSG ? bad(b, ".", "no mode or mtime")
					       : err;
	}
	if (!S_ISDIR(a->mode))
		return bad(b, *path ? path : ".", "not a directory");
	err = store_dir_new(b->t, a, b->gen, tab);
	if (!err) /* a directory's own are its table's */
		err = xattrs_get(b, *path ? path : ".", obj, &xattr);
	if (!err && xattr)
		err = store_dir_set_xattr(b->t, *tab, xattr);
	json_array_foreach(ents, i, v)
	{
		if (err)
			break;
		err = build_entry(b, path, v, *tab);
	}
	return err;
}

/* Per key of the config's state: base64 of the value. */
int oci_build_state(struct oci_build *b, struct store_env *e, json_t *state)
{
	const char *key;
	json_t *v;
	void *val;
	size_t len;
	int err = 0;

	json_object_foreach(state, key, v)
	{
		if (!json_is_string(v) ||
		    oci_b64_decode(json_string_value(v), &val, &len))
			return bad(b, key, "bad state value");
		err = store_state_set(b->t, e, key, val, len);
		free(val);
		if (err)
			return err;
	}
	return 0;
}
