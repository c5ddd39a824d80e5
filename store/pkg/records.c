/* SPDX-License-Identifier: MIT */
/*
 * records.c - installed files against their distribution's RECORD (the
 * wheel spec's CSV of path, sha256=urlsafe-b64 digest, size): missing and
 * modified files, unlisted files in the directories the RECORDs name, and
 * entries of site-packages that no distribution owns.
 * Read from the store tree in one read txn; content hashed chunk by chunk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pkgstate.h"
#include "sha256.h"

#define PATH_LEN 4096

struct strset {
	char **v;
	size_t n;
	bool sorted;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool set_has(struct strset *s, const char *x)
{
	if (!s->sorted && s->n) {
		qsort(s->v, s->n, sizeof(char *), cmp_str);
		s->sorted = true;
	}
	return s->n && bsearch(&x, s->v, s->n, sizeof(char *), cmp_str);
}

static int set_add(struct strset *s, const char *x)
{
	s->sorted = false;
	return pkg_strv_push(&s->v, &s->n, x, strlen(x));
}

/* site-packages' path from the root ("lib/python3.11/site-packages"). */
struct find_py {
	struct store_txn *t;
	char name[STORE_NAME_MAX + 1];
};

static int find_py(void *arg, const char *name, size_t nlen,
		   const struct store_entry *e)
{
	struct find_py *f = arg;
	struct store_entry s;

	if (nlen < 7 || memcmp(name, "python", 6) || e->payload != STORE_P_TAB)
		return 0;
	if (store_dir_get(f->t, e->ref, "site-packages", 13, &s) ||
	    s.payload != STORE_P_TAB)
		return 0;
	memcpy(f->name, name, nlen);
	f->name[nlen] = 0;
	return 1;
}

static int site_path(struct store_txn *t, uint64_t root, char *out, size_t len)
{
	struct find_py f = {t, ""};
	struct store_entry e;
	int r = store_dir_get(t, root, "lib", 3, &e);

	if (!r && e.payload != STORE_P_TAB)
		r = -ENOENT;
	if (!r)
		r = store_dir_iter(t, e.ref, NULL, 0, find_py, &f);
	if (!r && !f.name[0])
		r = -ENOENT;
	if (!r)
		snprintf(out, len, "lib/%s/site-packages", f.name);
	return r;
}

/* base + "/" + rel with "." and ".." resolved; -EINVAL if it leaves the
 * root or is absolute. */
static int join(const char *base, const char *rel, char *out, size_t len)
{
	char buf[PATH_LEN];
	size_t o, l;
	const char *p = rel;

	if (rel[0] == '/' || strlen(base) + strlen(rel) + 2 > sizeof(buf))
		return -EINVAL;
	o = (size_t)snprintf(buf, sizeof(buf), "%s", base);
	while (*p) {
		l = strcspn(p, "/");
		if (l == 2 && !memcmp(p, "..", 2)) {
			char *slash = memrchr(buf, '/', o);

			if (!o)
				return -EINVAL;
			o = slash ? (size_t)(slash - buf) : 0;
			buf[o] = 0;
		} else if (l && !(l == 1 && p[0] == '.')) {
			if (o)
				buf[o++] = '/';
			memcpy(buf + o, p, l);
			o += l;
			buf[o] = 0;
		}
		p += l + (p[l] == '/');
	}
	if (!o || o >= len)
		return -EINVAL;
	memcpy(out, buf, o + 1);
	return 0;
}

/* The entry at path (relative to root); directories by table. */
static int lookup(struct store_txn *t, uint64_t root, const char *path,
		  struct store_entry *out)
{
	uint64_t tab = root;
	const char *p = path;
	size_t l;
	int r;

	for (;;) {
		l = strcspn(p, "/");
		if (!l || l > STORE_NAME_MAX)
			return -ENOENT;
		r = store_dir_get(t, tab, p, l, out);
		if (r)
			return r;
		if (!p[l])
			return 0;
		if (out->payload != STORE_P_TAB)
			return -ENOENT;
		tab = out->ref;
		p += l + 1;
	}
}

/* A file starting with "#!". */
static bool is_script(struct store_txn *t, const struct store_entry *e)
{
	char h[2];

	if (e->payload == STORE_P_INLINE)
		return e->inline_len >= 2 && !memcmp(e->inline_data, "#!", 2);
	return e->payload == STORE_P_BLOB &&
	       store_blob_read(t, e->ref, h, 2, 0) == 2 && !memcmp(h, "#!", 2);
}

/* Does the file's content have this size and digest? 1 yes, 0 no.
 * relocated: a script in bin/, whose #! line blast points at the env's
 * mount (ctl/venv.c), so its content is not held against RECORD. */
static int file_matches(struct store_txn *t, uint64_t root,
			const struct store_entry *ent, const char *digest,
			long long size, bool relocated)
{
	static const size_t step = 1u << 20;
	struct store_entry e = *ent;
	uint8_t d[32];
	char b64[44], *buf;
	struct sha256 h;
	uint64_t off;
	ssize_t n;
	int r;

	if (e.payload == STORE_P_HARDLINK) {
		r = store_link_get(t, root, e.ref, &e);
		if (r)
			return r == -ENOENT ? -EIO : r;
	}
	if (!S_ISREG(e.a.mode) || e.payload == STORE_P_PENDING)
		return 1; /* symlinks, files being written: not judged */
	if (relocated && is_script(t, &e))
		return 1;
	if (size >= 0 && (uint64_t)size != e.a.size)
		return 0;
	if (!digest)
		return 1;
	r = sha256_init(&h);
	if (r)
		return r;
	if (e.payload == STORE_P_INLINE && e.inline_len) {
		sha256_update(&h, e.inline_data, e.inline_len);
	} else if (e.payload == STORE_P_BLOB) {
		buf = malloc(step);
		if (!buf) {
			sha256_abort(&h);
			return -ENOMEM;
		}
		for (off = 0; off < e.a.size; off += (uint64_t)n) {
			n = store_blob_read(t, e.ref, buf, step, off);
			if (n <= 0) {
				free(buf);
				sha256_abort(&h);
				return n < 0 ? (int)n : -EIO;
			}
			sha256_update(&h, buf, (size_t)n);
		}
		free(buf);
	}
	r = sha256_final(&h, d);
	if (r)
		return r;
	sha256_b64(d, b64);
	return !strcmp(b64, digest);
}

/* One CSV line of RECORD into path, hash and size fields. */
static int csv_fields(const char *s, size_t len, char *f[3], size_t cap)
{
	size_t i = 0, k, o;
	bool q;

	for (k = 0; k < 3; k++) {
		o = 0;
		q = i < len && s[i] == '"';
		i += q;
		while (i < len) {
			if (q && s[i] == '"') {
				if (i + 1 < len && s[i + 1] == '"') {
					i++;
				} else {
					q = false;
					i++;
					continue;
				}
			} else if (!q && s[i] == ',') {
				break;
			}
			if (o + 1 >= cap)
				return -EINVAL;
			f[k][o++] = s[i++];
		}
		f[k][o] = 0;
		if (i < len && s[i] == ',')
			i++;
	}
	return 0;
}

struct verify {
	struct store_txn *t;
	uint64_t root;
	char site[PATH_LEN];
	pkgstate_file_fn fn;
	void *arg;
	struct strset listed, dirs;
	struct strset tops;	/* site-packages entries RECORDs list */
	struct strset egg_tops; /* egg-info's top_level.txt modules */
	size_t files;
};

/* full's first component under site-packages, if it is there, into tops. */
static int top_add(struct verify *v, const char *full)
{
	size_t sl = strlen(v->site), n;

	if (strncmp(full, v->site, sl) || full[sl] != '/')
		return 0;
	n = strcspn(full + sl + 1, "/");
	return n ? pkg_strv_push(&v->tops.v, &v->tops.n, full + sl + 1, n) : 0;
}

static int verify_line(struct verify *v, const struct pkg_dist *d,
		       const char *line, size_t len)
{
	char pb[PATH_LEN], hb[256], sb[64], *f[3] = {pb, hb, sb};
	char full[PATH_LEN], *slash;
	const char *digest = NULL;
	struct store_entry e;
	long long size = -1;
	int r;

	if (csv_fields(line, len, f, sizeof(hb)) || !pb[0])
		return 0;
	if (join(v->site, pb, full, sizeof(full)))
		return 0;
	if (!strncmp(hb, "sha256=", 7))
		digest = hb + 7;
	if (sb[0])
		size = strtoll(sb, NULL, 10);
	r = set_add(&v->listed, full);
	if (!r)
		r = top_add(v, full);
	if (r)
		return r;
	v->tops.sorted = false;
	slash = strrchr(full, '/');
	if (slash && (size_t)(slash - full) > strlen(v->site) &&
	    !strncmp(full, v->site, strlen(v->site))) {
		*slash = 0;
		r = set_add(&v->dirs, full);
		*slash = '/';
		if (r)
			return r;
	}
	v->files++;
	r = lookup(v->t, v->root, full, &e);
	if (r == -ENOENT) {
		v->fn(v->arg, d, "missing", full);
		return 0;
	}
	if (r)
		return r;
	if (e.payload == STORE_P_TAB)
		return 0;
	r = file_matches(v->t, v->root, &e, digest, size,
			 !strncmp(full, "bin/", 4));
	if (r == 0)
		v->fn(v->arg, d, "modified", full);
	return r < 0 ? r : 0;
}

/* A distribution without RECORD (egg-info) owns the modules its
 * top_level.txt names, if it has one. */
static int egg_tops(struct verify *v, const struct pkg_dist *d)
{
	char path[PATH_LEN], *txt;
	struct store_entry e;
	size_t len, i = 0;
	int r;

	if (snprintf(path, sizeof(path), "%s/%s/top_level.txt", v->site,
		     d->path) >= (int)sizeof(path) ||
	    lookup(v->t, v->root, path, &e))
		return 0;
	r = pkgstate_read_file(v->t, v->root, &e, PKGSTATE_META_MAX, &txt,
			       &len);
	if (r == -EAGAIN || r == -EINVAL || r == -EFBIG)
		return 0;
	while (!r && i < len) {
		size_t n = strcspn(txt + i, "\r\n");

		if (n)
			r = pkg_strv_push(&v->egg_tops.v, &v->egg_tops.n,
					  txt + i, n);
		i += n + 1;
	}
	v->egg_tops.sorted = false;
	free(txt);
	return r;
}

static int verify_dist(struct verify *v, const struct pkg_dist *d)
{
	char path[PATH_LEN], *rec;
	struct store_entry e;
	size_t len, i = 0, end;
	int r;

	if (snprintf(path, sizeof(path), "%s/%s/RECORD", v->site, d->path) >=
	    (int)sizeof(path))
		return 0;
	r = lookup(v->t, v->root, path, &e);
	if (r == -ENOENT)
		return egg_tops(v, d); /* nothing to hold files against */
	if (!r)
		r = pkgstate_read_file(v->t, v->root, &e, PKGSTATE_META_MAX,
				       &rec, &len);
	if (r == -EAGAIN || r == -EINVAL)
		return 0;
	if (r)
		return r;
	while (i < len && !r) {
		const char *nl = memchr(rec + i, '\n', len - i);

		end = nl ? (size_t)(nl - rec) : len;
		r = verify_line(v, d, rec + i,
				end - i - (end > i && rec[end - 1] == '\r'));
		i = end + 1;
	}
	free(rec);
	return r;
}

struct unlisted {
	struct verify *v;
	const char *dir;
	const struct pkg_dist *owner;
};

static int unlisted_one(void *arg, const char *name, size_t nlen,
			const struct store_entry *e)
{
	struct unlisted *u = arg;
	char full[PATH_LEN];

	if (e->payload == STORE_P_TAB)
		return 0;
	if (nlen > 4 && !memcmp(name + nlen - 4, ".pyc", 4))
		return 0;
	if (snprintf(full, sizeof(full), "%s/%.*s", u->dir, (int)nlen, name) >=
	    (int)sizeof(full))
		return 0;
	if (!set_has(&u->v->listed, full))
		u->v->fn(u->v->arg, NULL, "unlisted", full);
	return 0;
}

/* An entry of site-packages that nothing owns: left by a pip install
 * that failed half way, or pip's "~name" stash of an interrupted
 * uninstall. Owned: what a RECORD lists, dist-info and egg-info
 * themselves, __pycache__, an egg's top-level modules (with any
 * extension: "name.py", "name.cpython-311-x86_64-linux-gnu.so"). */
static int toplevel_one(void *arg, const char *name, size_t nlen,
			const struct store_entry *e)
{
	struct verify *v = arg;
	char nm[STORE_NAME_MAX + 1], full[PATH_LEN], *dot;

	(void)e;
	if (nlen > STORE_NAME_MAX || pkgstate_is_dist_name(name, nlen))
		return 0;
	memcpy(nm, name, nlen);
	nm[nlen] = 0;
	if (!strcmp(nm, "__pycache__") || set_has(&v->tops, nm) ||
	    snprintf(full, sizeof(full), "%s/%s", v->site, nm) >=
		(int)sizeof(full))
		return 0;
	dot = strchr(nm, '.');
	if (dot)
		*dot = 0;
	if (set_has(&v->egg_tops, nm))
		return 0;
	v->fn(v->arg, NULL, nm[0] == '~' ? "pip-stash" : "unowned", full);
	return 0;
}

static int verify_toplevel(struct verify *v)
{
	struct store_entry e;

	if (lookup(v->t, v->root, v->site, &e) || e.payload != STORE_P_TAB)
		return 0;
	return store_dir_iter(v->t, e.ref, NULL, 0, toplevel_one, v);
}

int pkgstate_verify_files(struct store_txn *t, uint64_t root,
			  const struct pkg_dist *dists, size_t n,
			  pkgstate_file_fn fn, void *arg, size_t *files)
{
	struct verify v = {.t = t, .root = root, .fn = fn, .arg = arg};
	struct store_entry e;
	size_t k;
	int r = site_path(t, root, v.site, sizeof(v.site));

	if (r == -ENOENT)
		r = 0;
	else
		for (k = 0; !r && k < n; k++)
			r = verify_dist(&v, &dists[k]);
	if (!r && v.dirs.n)
		qsort(v.dirs.v, v.dirs.n, sizeof(char *), cmp_str);
	for (k = 0; !r && k < v.dirs.n; k++) {
		struct unlisted u = {&v, v.dirs.v[k], NULL};

		if (k && !strcmp(v.dirs.v[k], v.dirs.v[k - 1]))
			continue;
		if (strstr(v.dirs.v[k], "/__pycache__") ||
		    lookup(t, root, v.dirs.v[k], &e) ||
		    e.payload != STORE_P_TAB)
			continue;
		r = store_dir_iter(t, e.ref, NULL, 0, unlisted_one, &u);
	}
	if (!r && v.site[0])
		r = verify_toplevel(&v);
	pkg_strv_free(v.listed.v, v.listed.n);
	pkg_strv_free(v.tops.v, v.tops.n);
	pkg_strv_free(v.egg_tops.v, v.egg_tops.n);
	pkg_strv_free(v.dirs.v, v.dirs.n);
	if (!r && files)
		*files = v.files;
	return r;
}
