/* SPDX-License-Identifier: MIT */
/*
 * oci-env.c - push's side of the artifact layout: walk an env's tree in
 * one read txn into the config (nested entries with mode, mtime, size,
 * content hash, inline bytes, symlink targets) and the files of each
 * layer, grouped by top-level entry of site-packages so a package's
 * layer does not depend on the env around it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oci.h"
#include "oci_env.h"
#include "pkgstate.h"

struct walk {
	struct store_txn *t;
	uint64_t root;
	struct oci_env_out *o;
};

void oci_hash_hex(const struct store_hash *h, char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", h->b[i]);
}

int oci_hash_parse(const char *s, struct store_hash *out)
{
	unsigned v;

	if (!s || strlen(s) != 32)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out->b[i] = (unsigned char)v;
	}
	return 0;
}

static int add_file(struct walk *w, const char *title, const char *lpath,
		    uint64_t blob, uint64_t size, json_t *obj)
{
	struct oci_env_out *o = w->o;
	struct oci_env_file *f;

	if (o->nfiles == o->fcap) {
		size_t cap = o->fcap ? o->fcap * 2 : 256;
		void *p = realloc(o->files, cap * sizeof(*o->files));

		if (!p)
			return -ENOMEM;
		o->files = p;
		o->fcap = cap;
	}
	f = &o->files[o->nfiles];
	f->lpath = strdup(lpath);
	f->title = strdup(title);
	if (!f->lpath || !f->title) {
		free(f->lpath);
		free(f->title);
		return -ENOMEM;
	}
	f->blob = blob;
	f->size = size;
	f->obj = obj;
	o->nfiles++;
	return 0;
}

static int set_bytes(json_t *obj, const char *key, const void *data, size_t len)
{
	char *b64;
	int err = oci_b64_encode(data, len, &b64);

	if (err)
		return err;
	err = json_object_set_new(obj, key, json_string(b64)) ? -ENOMEM : 0;
	free(b64);
	return err;
}

static int walk_dir(struct walk *w, uint64_t tab, const char *rel,
		    const char *group, json_t *arr);

/* An inode's extended attributes, when it has any: "xattrs", an object
 * of name -> base64 of the value (older configs stay the same). */
static int set_xattrs(struct store_txn *t, json_t *obj, uint64_t blob)
{
	struct store_xattrs x = {0};
	json_t *xo;
	int err;

	if (!blob)
		return 0;
	err = store_xattrs_load(t, blob, &x);
	xo = err ? NULL : json_object();
	if (!err && (!xo || json_object_set_new(obj, "xattrs", xo)))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < x.n; i++)
		err = set_bytes(xo, x.v[i].name, x.v[i].value, x.v[i].vlen);
	store_xattrs_release(&x);
	return err;
}

struct walk_ctx {
	struct walk *w;
	const char *rel, *group;
	json_t *arr;
};

static int walk_file(struct walk_ctx *x, const char *path,
		     const struct store_entry *e, json_t *obj)
{
	struct store_blob_info bi;
	char hex[33];
	const char *lpath = path;
	char title[STORE_NAME_MAX + 16];
	size_t plen = strlen(path);
	int err;

	if (json_object_set_new(obj, "size",
				json_integer((json_int_t)e->a.size)))
		return -ENOMEM;
	if (e->payload == STORE_P_INLINE)
		return set_bytes(obj, "data", e->inline_data, e->inline_len);
	if (e->payload == STORE_P_PENDING) {
		snprintf(
		    x->w->o->why, sizeof(x->w->o->why),
		    "file '%.300s' is being written: save a snapshot of the "
		    "mounted env and push that",
		    path);
		return -EBUSY;
	}
	if (e->payload != STORE_P_BLOB)
		return 0;
	err = store_blob_stat(x->w->t, e->ref, &bi);
	if (err)
		return err;
	oci_hash_hex(&bi.hash, hex);
	if (json_object_set_new(obj, "content", json_string(hex)))
		return -ENOMEM;
	/* a package's files are named relative to site-packages; its
	 * bytecode, which embeds the install time, is a layer apart */
	snprintf(title, sizeof(title), "%s%s", x->group ? x->group : "",
		 x->group && plen > 4 && !strcmp(path + plen - 4, ".pyc")
		     ? " (bytecode)"
		     : "");
	if (x->group)
		lpath = strstr(path, "/site-packages/") + 15;
	return add_file(x->w, title, lpath, e->ref, bi.size, obj);
}

static int walk_entry(void *arg, const char *name, size_t nlen,
		      const struct store_entry *e0)
{
	struct walk_ctx *x = arg;
	struct store_entry e = *e0;
	struct store_dir d;
	json_t *obj, *sub;
	char path[8192];
	const char *group = x->group;
	int err;

	if (nlen && name[0] == '/')
		return 0; /* the hidden state and links tables */
	if (e.payload == STORE_P_HARDLINK) {
		err = store_link_get(x->w->t, x->w->root, e.ref, &e);
		if (err)
			return err;
	}
	snprintf(path, sizeof(path), "%s%s%.*s", x->rel, *x->rel ? "/" : "",
		 (int)nlen, name);
	if (e.payload == STORE_P_TAB) {
		err = store_dir_stat(x->w->t, e.ref, &d);
		if (err)
			return err;
		e.a = d.a;
		e.xattr = d.xattr;
	}
	obj =
	    json_pack("{s:s%,s:I,s:I}", "name", name, nlen, "mode",
		      (json_int_t)e.a.mode, "mtime", (json_int_t)e.a.mtime_ns);
	if (!obj || json_array_append_new(x->arr, obj))
		return -EINVAL; /* a name that is not UTF-8 */
	/* chattr's flags, only when set (older configs stay the same) */
	if (e.a.flags &&
	    json_object_set_new(obj, "flags", json_integer(e.a.flags)))
		return -ENOMEM;
	err = set_xattrs(x->w->t, obj, e.xattr);
	if (err)
		return err;
	if (S_ISDIR(e.a.mode)) {
		sub = json_array();
		if (!sub || json_object_set_new(obj, "entries", sub))
			return -ENOMEM;
		if (!group &&
		    !fnmatch("lib/python*/site-packages", x->rel, FNM_PATHNAME))
			group = json_string_value(json_object_get(obj, "name"));
		return walk_dir(x->w, e.ref, path, group, sub);
	}
	if (S_ISREG(e.a.mode)) {
		struct walk_ctx fx = *x;

		if (!group &&
		    !fnmatch("lib/python*/site-packages", x->rel, FNM_PATHNAME))
			fx.group = NULL; /* loose modules: with the rest */
		return walk_file(&fx, path, &e, obj);
	}
	if (S_ISLNK(e.a.mode)) {
		sub = json_stringn(e.inline_data, e.inline_len);
		if (sub)
			return json_object_set_new(obj, "target", sub) ? -ENOMEM
								       : 0;
		return set_bytes(obj, "data", e.inline_data, e.inline_len);
	}
	return json_object_set_new(obj, "rdev", json_integer(e.a.rdev))
		   ? -ENOMEM
		   : 0;
}

static int walk_dir(struct walk *w, uint64_t tab, const char *rel,
		    const char *group, json_t *arr)
{
	struct walk_ctx x = {w, rel, group, arr};
	int err = store_dir_iter(w->t, tab, NULL, 0, walk_entry, &x);

	if (err == -EINVAL)
		snprintf(w->o->why, sizeof(w->o->why),
			 "a name under '%.300s' is not valid UTF-8",
			 *rel ? rel : ".");
	return err;
}

static int file_cmp(const void *a, const void *b)
{
	const struct oci_env_file *x = a, *y = b;
	int r = strcmp(x->title, y->title);

	return r ? r : strcmp(x->lpath, y->lpath);
}

/* Sort files into layers, note each layer's title, bytes and first file
 * and each file's layer in its config entry. */
static int plan_layers(struct oci_env_out *o)
{
	size_t n = 0;

	qsort(o->files, o->nfiles, sizeof(*o->files), file_cmp);
	o->layer_titles = calloc(o->nfiles + 1, sizeof(char *));
	o->layer_bytes = calloc(o->nfiles + 1, sizeof(uint64_t));
	o->layer_first = calloc(o->nfiles + 2, sizeof(size_t));
	if (!o->layer_titles || !o->layer_bytes || !o->layer_first)
		return -ENOMEM;
	for (size_t i = 0; i < o->nfiles; i++) {
		struct oci_env_file *f = &o->files[i];

		if (!i || strcmp(f->title, o->files[i - 1].title)) {
			o->layer_titles[n] = strdup(f->title);
			if (!o->layer_titles[n])
				return -ENOMEM;
			o->layer_first[n++] = i;
		}
		o->layer_bytes[n - 1] += f->size;
		if (json_object_set_new(f->obj, "layer",
					json_integer((json_int_t)n - 1)) ||
		    json_object_set_new(f->obj, "path", json_string(f->lpath)))
			return -ENOMEM;
	}
	o->nlayers = n;
	o->layer_first[n] = o->nfiles;
	return 0;
}

static int state_add(void *arg, const char *key, const void *val, size_t len)
{
	return set_bytes(arg, key, val, len) ? -EINVAL : 0;
}

static int packages_add(struct store_txn *t, uint64_t root, json_t *cfg)
{
	json_t *arr = json_array();
	struct pkg_dist *d = NULL;
	size_t n = 0;
	int err = pkgstate_load(t, root, &d, &n);

	if (err == -ENOENT)
		err = 0;
	for (size_t i = 0; !err && i < n; i++)
		if (json_array_append_new(
			arr,
			json_pack("{s:s,s:s}", "name", d[i].name, "version",
				  d[i].version ? d[i].version : "")))
			err = -ENOMEM;
	pkgstate_free(d, n);
	if (!err && json_object_set_new(cfg, "packages", arr))
		return -ENOMEM;
	if (err)
		json_decref(arr);
	return err;
}

int oci_env_collect(struct store_txn *t, const char *src, struct oci_env_out *o)
{
	struct walk w = {.t = t, .o = o};
	char name[STORE_ENV_NAME_MAX + 1];
	struct store_env env;
	struct store_dir d;
	json_t *state, *root, *ents;
	int err;

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(src, "@"), src);
	err = store_env_get(t, name, &env);
	if (!err)
		err = store_ref_resolve(t, src, &w.root);
	if (err == -ENOENT)
		snprintf(o->why, sizeof(o->why), "no such env or snapshot");
	if (!err)
		err = store_dir_stat(t, w.root, &d);
	if (err)
		return err;
	/* mount: where its scripts' #! lines point, for start to fix */
	o->config =
	    json_pack("{s:i,s:s,s:s,s:s,s:{},s:{s:I,s:I,s:[]}}", "blastEnv", 1,
		      "python", env.python, "pythonVersion", env.pyver, "mount",
		      env.mount, "state", "root", "mode", (json_int_t)d.a.mode,
		      "mtime", (json_int_t)d.a.mtime_ns, "entries");
	if (!o->config)
		return -ENOMEM;
	state = json_object_get(o->config, "state");
	root = json_object_get(o->config, "root");
	ents = json_object_get(root, "entries");
	err = walk_dir(&w, w.root, "", NULL, ents);
	if (!err)
		err = store_state_iter(t, w.root, NULL, state_add, state);
	if (!err)
		err = packages_add(t, w.root, o->config);
	if (!err)
		err = plan_layers(o);
	return err;
}

int oci_env_layer_build(struct store_txn *t, const struct oci_env_out *o,
			size_t i, void **z, size_t *zlen)
{
	struct oci_tar tr = {0};
	int err = 0;

	for (size_t k = o->layer_first[i]; k < o->layer_first[i + 1]; k++) {
		const struct oci_env_file *f = &o->files[k];
		unsigned char *p = oci_tar_add(&tr, f->lpath, f->size);
		uint64_t done = 0;
		ssize_t n;

		if (!p)
			break;
		while (done < f->size) {
			n = store_blob_read(t, f->blob, p + done,
					    f->size - done, done);
			if (n <= 0) {
				err = n < 0 ? (int)n : -EIO;
				break;
			}
			done += (uint64_t)n;
		}
		if (err)
			break;
	}
	if (err) {
		free(tr.buf);
		return err;
	}
	return oci_tar_finish(&tr, z, zlen);
}

void oci_env_out_release(struct oci_env_out *o)
{
	for (size_t i = 0; i < o->nfiles; i++) {
		free(o->files[i].lpath);
		free(o->files[i].title);
	}
	for (size_t i = 0; o->layer_titles && i < o->nlayers; i++)
		free(o->layer_titles[i]);
	free(o->files);
	free(o->layer_titles);
	free(o->layer_bytes);
	free(o->layer_first);
	json_decref(o->config);
	memset(o, 0, sizeof(*o));
}
