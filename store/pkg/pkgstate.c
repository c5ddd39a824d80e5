/* SPDX-License-Identifier: MIT */
/*
 * pkgstate.c - the package state of an env, read from and kept in the
 * store: scanning site-packages in the store tree, the per-distribution
 * records under "pkg:" state keys, and the update after one change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pkgstate.h"

static bool ends_with(const char *s, size_t len, const char *sfx)
{
	size_t n = strlen(sfx);

	return len > n && !memcmp(s + len - n, sfx, n);
}

bool pkgstate_is_dist_name(const char *name, size_t len)
{
	return len && name[0] != '~' &&
	       (ends_with(name, len, ".dist-info") ||
		ends_with(name, len, ".egg-info"));
}

static int dir_of(struct store_txn *t, uint64_t tab, const char *name,
		  uint64_t *out)
{
	struct store_entry e;
	int r = store_dir_get(t, tab, name, strlen(name), &e);

	if (r)
		return r;
	if (e.payload != STORE_P_TAB)
		return -ENOENT;
	*out = e.ref;
	return 0;
}

struct find_py {
	struct store_txn *t;
	uint64_t site;
};

static int find_py(void *arg, const char *name, size_t nlen,
		   const struct store_entry *e)
{
	struct find_py *f = arg;

	if (nlen < 7 || memcmp(name, "python", 6) || e->payload != STORE_P_TAB)
		return 0;
	return dir_of(f->t, e->ref, "site-packages", &f->site) ? 0 : 1;
}

int pkgstate_site_tab(struct store_txn *t, uint64_t root, uint64_t *tab)
{
	struct find_py f = {t, 0};
	uint64_t lib;
	int r = dir_of(t, root, "lib", &lib);

	if (!r)
		r = store_dir_iter(t, lib, NULL, 0, find_py, &f);
	if (!r && !f.site)
		r = -ENOENT;
	if (!r)
		*tab = f.site;
	return r;
}

int pkgstate_read_file(struct store_txn *t, uint64_t root,
		       const struct store_entry *ent, size_t max, char **out,
		       size_t *len)
{
	struct store_entry e = *ent;
	ssize_t n;
	char *buf;
	int r;

	if (e.payload == STORE_P_HARDLINK) {
		r = store_link_get(t, root, e.ref, &e);
		if (r)
			return r == -ENOENT ? -EIO : r;
	}
	if (e.payload == STORE_P_PENDING)
		return -EAGAIN;
	if (!S_ISREG(e.a.mode))
		return -EINVAL;
	if (e.a.size > max)
		return -EFBIG;
	buf = malloc(e.a.size + 1);
	if (!buf)
		return -ENOMEM;
	if (e.payload == STORE_P_INLINE) {
		if (e.inline_len != e.a.size) {
			free(buf);
			return -EIO;
		}
		if (e.a.size)
			memcpy(buf, e.inline_data, e.a.size);
	} else if (e.payload == STORE_P_BLOB) {
		n = store_blob_read(t, e.ref, buf, e.a.size, 0);
		if (n < 0 || (uint64_t)n != e.a.size) {
			free(buf);
			return n < 0 ? (int)n : -EIO;
		}
	} else if (e.a.size) {
		free(buf);
		return -EIO;
	}
	buf[e.a.size] = 0;
	*out = buf;
	*len = e.a.size;
	return 0;
}

/* File `name` of table tab: 0, -ENOENT, -EAGAIN (being written)... */
static int read_in(struct store_txn *t, uint64_t root, uint64_t tab,
		   const char *name, char **out, size_t *len)
{
	struct store_entry e;
	int r = store_dir_get(t, tab, name, strlen(name), &e);

	if (r)
		return r;
	return pkgstate_read_file(t, root, &e, PKGSTATE_META_MAX, out, len);
}

/* A record holding only why the metadata could not be read. */
static int dist_error(const char *name, const char *why, struct pkg_dist *out)
{
	struct pkg_meta m = {0};
	int r = pkg_dist_from_meta(&m, name, out);

	if (r)
		return r;
	out->error = strdup(why);
	if (!out->error) {
		pkg_dist_release(out);
		return -ENOMEM;
	}
	return 0;
}

static const char *read_why(int r)
{
	return r == -EFBIG    ? "metadata larger than 16 MiB"
	       : r == -EINVAL ? "metadata is not a regular file"
			      : "metadata cannot be read";
}

int pkgstate_read(struct store_txn *t, uint64_t root, uint64_t site,
		  const char *name, struct pkg_dist *out)
{
	char err[PKG_ERR_LEN], *buf = NULL, *req = NULL;
	size_t len = strlen(name), blen, rlen;
	bool dist_info = ends_with(name, len, ".dist-info");
	struct store_entry e;
	struct pkg_meta m;
	uint64_t dir = 0;
	int r;

	if (!pkgstate_is_dist_name(name, len))
		return -ENOENT;
	r = store_dir_get(t, site, name, len, &e);
	if (r)
		return r;
	if (e.payload == STORE_P_TAB) {
		dir = e.ref;
		r = read_in(t, root, dir, dist_info ? "METADATA" : "PKG-INFO",
			    &buf, &blen);
	} else if (!dist_info) {
		r = pkgstate_read_file(t, root, &e, PKGSTATE_META_MAX, &buf,
				       &blen);
	} else {
		return -ENOENT;
	}
	if (r == -ENOENT || r == -EAGAIN)
		return -ENOENT;
	if (r == -EFBIG || r == -EINVAL)
		return dist_error(name, read_why(r), out);
	if (r)
		return r;
	r = pkg_meta_parse(buf, blen, &m, err);
	free(buf);
	if (r == -ENOMEM)
		return r;
	if (r)
		return dist_error(name, err, out);
	if (dir && !dist_info) {
		r = read_in(t, root, dir, "requires.txt", &req, &rlen);
		if (!r) {
			r = pkg_requires_txt_parse(req, rlen, &m, err);
			free(req);
			if (r) {
				pkg_meta_release(&m);
				return r == -ENOMEM
					   ? r
					   : dist_error(name, err, out);
			}
		} else if (r != -ENOENT && r != -EAGAIN) {
			pkg_meta_release(&m);
			return r;
		}
	}
	if (!m.name || !m.name[0]) {
		/* empty or half-written (sealed by a flush of a dup'd fd):
		 * as pip skips it, not a distribution (yet) */
		pkg_meta_release(&m);
		return -ENOENT;
	}
	r = pkg_dist_from_meta(&m, name, out);
	pkg_meta_release(&m);
	if (r == -EINVAL)
		return dist_error(name, "no usable Name", out);
	return r;
}

void pkgstate_free(struct pkg_dist *d, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		pkg_dist_release(&d[k]);
	free(d);
}

struct vec {
	struct pkg_dist *v;
	size_t n, cap;
};

static int vec_push(struct vec *v, struct pkg_dist *d)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct pkg_dist *nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = *d;
	return 0;
}

struct scan {
	struct store_txn *t;
	uint64_t root, site;
	struct vec v;
};

/* An entry of site-packages met while iterating it: its distribution
 * read into *d. 1: not a distribution (or gone), 0: *d filled, -errno.
 * skip (may be NULL): a name to pass over. */
static int read_entry(struct store_txn *t, uint64_t root, uint64_t site,
		      const char *name, size_t nlen, const char *skip,
		      struct pkg_dist *d)
{
	char buf[STORE_NAME_MAX + 1];
	int r;

	if (!pkgstate_is_dist_name(name, nlen))
		return 1;
	memcpy(buf, name, nlen);
	buf[nlen] = 0;
	if (skip && !strcmp(buf, skip))
		return 1;
	r = pkgstate_read(t, root, site, buf, d);
	return r == -ENOENT ? 1 : r;
}

static int scan_one(void *arg, const char *name, size_t nlen,
		    const struct store_entry *e)
{
	struct scan *s = arg;
	struct pkg_dist d;
	int r;

	(void)e;
	r = read_entry(s->t, s->root, s->site, name, nlen, NULL, &d);
	if (r == 1)
		return 0;
	if (!r) {
		r = vec_push(&s->v, &d);
		if (r)
			pkg_dist_release(&d);
	}
	return r;
}

int pkgstate_scan(struct store_txn *t, uint64_t root, struct pkg_dist **out,
		  size_t *n)
{
	struct scan s = {t, root, 0, {0}};
	int r = pkgstate_site_tab(t, root, &s.site);

	if (r == -ENOENT) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (!r)
		r = store_dir_iter(t, s.site, NULL, 0, scan_one, &s);
	if (r) {
		pkgstate_free(s.v.v, s.v.n);
		return r;
	}
	*out = s.v.v;
	*n = s.v.n;
	return 0;
}

static int load_one(void *arg, const char *key, const void *val, size_t len)
{
	struct vec *v = arg;
	struct pkg_dist d;
	int r;

	(void)key;
	if (pkg_record_decode(val, len, &d))
		return 0; /* not ours (a later format): skip */
	r = vec_push(v, &d);
	if (r)
		pkg_dist_release(&d);
	return r;
}

int pkgstate_load(struct store_txn *t, uint64_t root, struct pkg_dist **out,
		  size_t *n)
{
	struct vec v = {0};
	int r = store_state_iter(t, root, PKGSTATE_PREFIX, load_one, &v);

	if (r == -ENOENT)
		r = 0;
	if (r) {
		pkgstate_free(v.v, v.n);
		return r;
	}
	*out = v.v;
	*n = v.n;
	return 0;
}

static int key_of(const char *norm, char *key, size_t len)
{
	int w = snprintf(key, len, PKGSTATE_PREFIX "%s", norm);

	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

static int record_put(struct store_txn *t, struct store_env *e,
		      struct pkg_dist *d)
{
	char key[STORE_NAME_MAX + 1], *rec;
	size_t len;
	int r = key_of(d->norm, key, sizeof(key));

	if (r)
		return 0; /* a name no key can hold: not recorded */
	r = pkg_record_encode(d, &rec, &len);
	if (r == -EINVAL) {
		free(d->error);
		d->error = strdup("metadata value holds a newline");
		pkg_strv_free(d->requires, d->nrequires);
		d->requires = NULL;
		d->nrequires = 0;
		r = d->error ? pkg_record_encode(d, &rec, &len) : -ENOMEM;
	}
	if (r)
		return r;
	if (len > STORE_STATE_MAX) {
		free(rec);
		return 0;
	}
	r = store_state_set(t, e, key, rec, len);
	free(rec);
	return r;
}

struct keys {
	char **v;
	size_t n;
};

static int key_collect(void *arg, const char *key, const void *val, size_t len)
{
	struct keys *k = arg;

	(void)val;
	(void)len;
	return pkg_strv_push(&k->v, &k->n, key, strlen(key));
}

int pkgstate_rebuild(struct store_txn *t, struct store_env *e, size_t *count)
{
	struct keys keys = {0};
	struct pkg_dist *d = NULL;
	size_t n = 0, k, j, kept = 0;
	int r;

	r = store_state_iter(t, e->root, PKGSTATE_PREFIX, key_collect, &keys);
	if (r == -ENOENT)
		r = 0;
	if (!r)
		r = pkgstate_scan(t, e->root, &d, &n);
	for (k = 0; !r && k < keys.n; k++) {
		for (j = 0; j < n; j++)
			if (!strcmp(keys.v[k] + strlen(PKGSTATE_PREFIX),
				    d[j].norm))
				break;
		if (j == n)
			r = store_state_del(t, e, keys.v[k]);
	}
	/* the first of a name (in name order) wins, as a rescan finds it */
	for (k = 0; !r && k < n; k++) {
		for (j = 0; j < k && strcmp(d[j].norm, d[k].norm); j++)
			;
		if (j < k)
			continue;
		r = record_put(t, e, &d[k]);
		kept++;
	}
	pkg_strv_free(keys.v, keys.n);
	pkgstate_free(d, n);
	if (!r && count)
		*count = kept;
	return r;
}

/* The record under key, or -ENOENT. */
static int record_get(struct store_txn *t, uint64_t root, const char *key,
		      struct pkg_dist *out)
{
	void *val;
	size_t len;
	int r = store_state_get(t, root, key, &val, &len);

	if (r)
		return r;
	r = pkg_record_decode(val, len, out);
	free(val);
	return r ? -ENOENT : 0;
}

struct by_path {
	const char *path;
	char key[STORE_NAME_MAX + 1];
};

static int find_path(void *arg, const char *key, const void *val, size_t len)
{
	struct by_path *b = arg;
	struct pkg_dist d;
	bool hit;

	if (pkg_record_decode(val, len, &d))
		return 0;
	hit = !strcmp(d.path, b->path);
	pkg_dist_release(&d);
	if (hit)
		snprintf(b->key, sizeof(b->key), "%s", key);
	return hit;
}

struct other {
	struct store_txn *t;
	uint64_t root, site;
	const char *norm, *skip;
	struct pkg_dist d;
	bool found;
};

static int find_other(void *arg, const char *name, size_t nlen,
		      const struct store_entry *e)
{
	struct other *o = arg;
	struct pkg_dist d;
	int r;

	(void)e;
	r = read_entry(o->t, o->root, o->site, name, nlen, o->skip, &d);
	if (r)
		return r == 1 ? 0 : r;
	if (strcmp(d.norm, o->norm)) {
		pkg_dist_release(&d);
		return 0;
	}
	o->d = d;
	o->found = true;
	return 1;
}

/* name is gone (or no distribution any more): drop the record that names
 * it, falling back to another distribution of the same name. */
static int update_gone(struct store_txn *t, struct store_env *e, uint64_t site,
		       const char *name, struct pkgstate_change *ch)
{
	struct by_path b = {name, ""};
	struct other o = {t, e->root, site, NULL, name, {0}, false};
	struct pkg_dist old;
	int r = store_state_iter(t, e->root, PKGSTATE_PREFIX, find_path, &b);

	if (r == -ENOENT)
		return 0;
	if (r || !b.key[0])
		return r;
	r = record_get(t, e->root, b.key, &old);
	if (r)
		return r;
	snprintf(ch->norm, sizeof(ch->norm), "%s", old.norm);
	snprintf(ch->old_version, sizeof(ch->old_version), "%s", old.version);
	o.norm = old.norm;
	if (site)
		r = store_dir_iter(t, site, NULL, 0, find_other, &o);
	if (!r && o.found) {
		snprintf(ch->new_version, sizeof(ch->new_version), "%s",
			 o.d.version);
		r = record_put(t, e, &o.d);
	} else if (!r) {
		r = store_state_del(t, e, b.key);
	}
	if (o.found)
		pkg_dist_release(&o.d);
	pkg_dist_release(&old);
	ch->changed = !r;
	return r;
}

int pkgstate_update(struct store_txn *t, struct store_env *e, const char *name,
		    struct pkgstate_change *out)
{
	struct pkgstate_change ch;
	char key[STORE_NAME_MAX + 1], *a = NULL, *b = NULL;
	struct pkg_dist d, old;
	uint64_t site = 0;
	size_t al = 0, bl = 0;
	bool had;
	int r;

	memset(&ch, 0, sizeof(ch));
	r = pkgstate_site_tab(t, e->root, &site);
	if (r && r != -ENOENT)
		return r;
	r = site ? pkgstate_read(t, e->root, site, name, &d) : -ENOENT;
	if (r == -ENOENT)
		r = update_gone(t, e, site, name, &ch);
	else if (!r) {
		snprintf(ch.norm, sizeof(ch.norm), "%s", d.norm);
		snprintf(ch.new_version, sizeof(ch.new_version), "%s",
			 d.version);
		had = !key_of(d.norm, key, sizeof(key)) &&
		      !record_get(t, e->root, key, &old);
		if (had) {
			snprintf(ch.old_version, sizeof(ch.old_version), "%s",
				 old.version);
			if (!pkg_record_encode(&old, &a, &al) &&
			    !pkg_record_encode(&d, &b, &bl))
				ch.changed = al != bl || memcmp(a, b, al);
			else
				ch.changed = true;
			free(a);
			free(b);
			pkg_dist_release(&old);
		} else {
			ch.changed = true;
		}
		r = ch.changed ? record_put(t, e, &d) : 0;
		pkg_dist_release(&d);
	}
	if (out)
		*out = ch;
	return r;
}

int pkgstate_markers_get(struct store_txn *t, uint64_t root,
			 struct pkg_markerenv *out)
{
	void *val;
	size_t len;
	int r = store_state_get(t, root, PKGSTATE_MARKERS_KEY, &val, &len);

	if (r)
		return r;
	r = pkg_markerenv_parse(val, len, out);
	free(val);
	return r ? -EIO : 0;
}

int pkgstate_markers_set(struct store_txn *t, struct store_env *e,
			 const struct pkg_markerenv *env)
{
	char buf[PKG_MV__COUNT * (PKG_MARKER_VALUE_LEN + 40)];
	int n = pkg_markerenv_format(env, buf, sizeof(buf));

	if (n < 0)
		return n;
	return store_state_set(t, e, PKGSTATE_MARKERS_KEY, buf, (size_t)n);
}
