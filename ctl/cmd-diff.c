/* SPDX-License-Identifier: MIT */
/*
 * cmd-diff.c - `blastctl diff [NAME] A [B]`: what changed between two
 * snapshots of an env, or between a snapshot and the live state.
 *
 * One read txn. Both trees are walked together by the store's pruned walk
 * (store/treediff.h), descending only into directories present on both
 * sides whose tables differ: a shared table (same id) is never visited, so
 * the cost follows the changes, not the env's size. A directory only on one
 * side is reported alone, with a trailing '/', not everything under it. A
 * directory counts as changed only when its type, mode or owner changes (its
 * mtime follows its entries, which are reported instead). Hard-linked names are
 * compared through their inode in the root's links table, which itself is not
 * reported.
 *
 * Then the packages: the package state's records on each side (what
 * blastfs keeps current), or where a side has none, the
 * NAME-VERSION.dist-info / .egg-info directories under lib/python*
 * /site-packages, matched by their PEP 503 normalized name.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "pkgstate.h"
#include "snap.h"
#include "store.h"
#include "treediff.h"

#define DIFF_SYNC_TIMEOUT_MS (10 * 60 * 1000)

struct diff_args {
	const char *name;  /* NULL: the env mounted at ./.blast */
	const char *a, *b; /* b NULL: the live state */
};

enum diff_kind { DIFF_ADD = '+', DIFF_DEL = '-', DIFF_MOD = '~' };

struct diff_change {
	char kind;
	char *path;
};

struct diff_pkg {
	char norm[STORE_NAME_MAX + 1];
	char name[STORE_NAME_MAX + 1];
	char version[STORE_NAME_MAX + 1];
};

struct diff_pkgs {
	struct diff_pkg *v;
	size_t n, cap;
};

struct diff_state {
	struct store_txn *t;
	uint64_t root_a, root_b;
	struct diff_change *v;
	size_t n, cap;
};

/* name in dir d (or d itself, name NULL), with a '/' if slash. */
static int change_add(struct diff_state *s, char kind,
		      const struct store_treediff_dir *d, const char *name,
		      size_t nlen, bool slash)
{
	struct diff_change *nv;
	char *p;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 32;
		nv = realloc(s->v, s->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
	}
	p = store_treediff_path(d, name, nlen, slash ? "/" : "");
	if (!p)
		return -ENOMEM;
	s->v[s->n].kind = kind;
	s->v[s->n].path = p;
	s->n++;
	return 0;
}

/* A hard-linked name's inode entry (the name's own entry if missing). */
static int resolve(struct store_txn *t, uint64_t root, struct store_entry *e)
{
	int r;

	if (e->payload != STORE_P_HARDLINK)
		return 0;
	r = store_link_get(t, root, e->ref, e);
	return r == -ENOENT ? 0 : r;
}

static bool is_dir(const struct store_entry *e)
{
	return e->payload == STORE_P_TAB;
}

static bool file_differs(const struct store_entry *x,
			 const struct store_entry *y)
{
	if (x->a.mode != y->a.mode || x->a.uid != y->a.uid ||
	    x->a.gid != y->a.gid || x->a.size != y->a.size ||
	    x->a.mtime_ns != y->a.mtime_ns || x->a.rdev != y->a.rdev ||
	    x->payload != y->payload)
		return true;
	if (x->payload == STORE_P_INLINE)
		return x->inline_len != y->inline_len ||
		       (x->inline_len &&
			memcmp(x->inline_data, y->inline_data, x->inline_len));
	if (x->payload == STORE_P_NONE)
		return false;
	return x->ref != y->ref;
}

/* A directory on both sides whose tables differ: changed itself when its
 * type, mode or owner is. */
static int diff_dir(void *arg, const struct store_treediff_dir *d)
{
	struct diff_state *s = arg;

	if (!d->parent)
		return 0; /* the roots */
	if (d->a.a.mode == d->b.a.mode && d->a.a.uid == d->b.a.uid &&
	    d->a.a.gid == d->b.a.gid)
		return 0;
	return change_add(s, DIFF_MOD, d->parent, d->name, d->nlen, true);
}

/* name present in A (x), in B (y) or on both sides. */
static int diff_entry(void *arg, const struct store_treediff_dir *d,
		      const char *name, size_t nlen,
		      const struct store_entry *x, const struct store_entry *y)
{
	struct diff_state *s = arg;
	struct store_entry ea, eb;
	int r;

	if (!d->parent && name[0] == '/')
		return 0; /* the root's internal tables (links, state) */
	if (!y)
		return change_add(s, DIFF_DEL, d, name, nlen, is_dir(x));
	if (!x)
		return change_add(s, DIFF_ADD, d, name, nlen, is_dir(y));
	if (is_dir(x) && is_dir(y)) /* a shared table: nothing below differs */
		return x->ref == y->ref ? 0 : STORE_TREEDIFF_DESCEND;
	if (is_dir(x) != is_dir(y)) {
		/* a directory replaced by a file or the reverse */
		r = change_add(s, DIFF_DEL, d, name, nlen, is_dir(x));
		return r ? r
			 : change_add(s, DIFF_ADD, d, name, nlen, is_dir(y));
	}
	ea = *x;
	eb = *y;
	r = resolve(s->t, s->root_a, &ea);
	if (!r)
		r = resolve(s->t, s->root_b, &eb);
	if (r < 0)
		return r;
	if (!file_differs(&ea, &eb))
		return 0;
	return change_add(s, DIFF_MOD, d, name, nlen, false);
}

/* Walk both trees from the roots, directory by directory. */
static int walk(struct diff_state *s)
{
	static const struct store_treediff_ops ops = {
	    .dir = diff_dir,
	    .entry = diff_entry,
	};

	return store_treediff(s->t, s->root_a, s->root_b, &ops, s);
}

/* ---- packages ---------------------------------------------------- */

/* PEP 503: lowercase, runs of -_. become one '-'. */
static void pep503(const char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '-' || ch == '_' || ch == '.') {
			if (!o || out[o - 1] != '-')
				out[o++] = '-';
			continue;
		}
		out[o++] =
		    (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	out[o] = '\0';
}

static bool ends_with(const char *s, size_t len, const char *suf, size_t *stem)
{
	size_t sl = strlen(suf);

	if (len <= sl || memcmp(s + len - sl, suf, sl))
		return false;
	*stem = len - sl;
	return true;
}

/* NAME-VERSION.dist-info, NAME-VERSION[-pyX.Y...].egg-info */
static int pkg_add(void *arg, const char *name, size_t nlen,
		   const struct store_entry *e)
{
	struct diff_pkgs *p = arg;
	struct diff_pkg *nv, *k;
	const char *dash, *vend;
	size_t stem;

	(void)e;
	if (!ends_with(name, nlen, ".dist-info", &stem) &&
	    !ends_with(name, nlen, ".egg-info", &stem))
		return 0;
	dash = memchr(name, '-', stem);
	if (!dash || dash == name || dash + 1 == name + stem)
		return 0;
	vend = memchr(dash + 1, '-', (size_t)(name + stem - dash - 1));
	if (!vend)
		vend = name + stem;
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 32;
		nv = realloc(p->v, p->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		p->v = nv;
	}
	k = &p->v[p->n++];
	pep503(name, (size_t)(dash - name), k->norm);
	snprintf(k->name, sizeof(k->name), "%.*s", (int)(dash - name), name);
	snprintf(k->version, sizeof(k->version), "%.*s", (int)(vend - dash - 1),
		 dash + 1);
	return 0;
}

struct sp_find {
	struct store_txn *t;
	uint64_t sp[8]; /* site-packages tables, one per lib/python* */
	size_t n;
};

static int sp_add(void *arg, const char *name, size_t nlen,
		  const struct store_entry *e)
{
	struct sp_find *f = arg;
	char buf[STORE_NAME_MAX + 1];
	struct store_entry sp;
	int r;

	snprintf(buf, sizeof(buf), "%.*s", (int)nlen, name);
	if (e->payload != STORE_P_TAB || fnmatch("python*", buf, 0))
		return 0;
	r = store_dir_get(f->t, e->ref, "site-packages", 13, &sp);
	if (r == -ENOENT || (!r && sp.payload != STORE_P_TAB))
		return 0;
	if (r < 0)
		return r;
	if (f->n < sizeof(f->sp) / sizeof(f->sp[0]))
		f->sp[f->n++] = sp.ref;
	return 0;
}

static int sp_tables(struct store_txn *t, uint64_t root, struct sp_find *f)
{
	struct store_entry lib;
	int r;

	f->t = t;
	f->n = 0;
	r = store_dir_get(t, root, "lib", 3, &lib);
	if (r == -ENOENT || (!r && lib.payload != STORE_P_TAB))
		return 0;
	if (r < 0)
		return r;
	return store_dir_iter(t, lib.ref, NULL, 0, sp_add, f);
}

static int pkg_cmp(const void *x, const void *y)
{
	return strcmp(((const struct diff_pkg *)x)->norm,
		      ((const struct diff_pkg *)y)->norm);
}

/* From the package state blastfs keeps (or clean made), when root has
 * one: names and versions as the metadata says. -ENOENT when it has
 * none (then the dist-info names are read). */
static int pkgs_from_state(struct store_txn *t, uint64_t root,
			   struct diff_pkgs *p)
{
	struct pkg_dist *d = NULL;
	size_t n = 0, i;
	int r = pkgstate_load(t, root, &d, &n);

	if (!r && !n)
		r = -ENOENT;
	if (!r) {
		p->v = calloc(n, sizeof(*p->v));
		r = p->v ? 0 : -ENOMEM;
	}
	p->cap = n;
	for (i = 0; !r && i < n; i++) {
		struct diff_pkg *k;

		if (!d[i].version[0]) { /* no Version: the directory's */
			r = pkg_add(p, d[i].path, strlen(d[i].path), NULL);
			continue;
		}
		k = &p->v[p->n++];
		snprintf(k->norm, sizeof(k->norm), "%s", d[i].norm);
		snprintf(k->name, sizeof(k->name), "%s", d[i].name);
		snprintf(k->version, sizeof(k->version), "%s", d[i].version);
	}
	pkgstate_free(d, n);
	return r;
}

static int pkgs_load(struct store_txn *t, uint64_t root,
		     const struct sp_find *f, struct diff_pkgs *p)
{
	size_t i;
	int r = pkgs_from_state(t, root, p);

	if (r != -ENOENT)
		return r;
	r = 0;
	for (i = 0; !r && i < f->n; i++)
		r = store_dir_iter(t, f->sp[i], NULL, 0, pkg_add, p);
	if (!r && p->n)
		qsort(p->v, p->n, sizeof(*p->v), pkg_cmp);
	return r;
}

/* Package lists of both sides, or none when their site-packages are the
 * same tables. */
static int pkgs_both(struct diff_state *s, struct diff_pkgs *pa,
		     struct diff_pkgs *pb)
{
	struct sp_find fa, fb;
	int r;

	r = sp_tables(s->t, s->root_a, &fa);
	if (!r)
		r = sp_tables(s->t, s->root_b, &fb);
	if (r < 0)
		return r;
	if (fa.n == fb.n && !memcmp(fa.sp, fb.sp, fa.n * sizeof(fa.sp[0])))
		return 0;
	r = pkgs_load(s->t, s->root_a, &fa, pa);
	if (!r)
		r = pkgs_load(s->t, s->root_b, &fb, pb);
	return r;
}

/* ---- the work ---------------------------------------------------- */

static int change_cmp(const void *x, const void *y)
{
	return strcmp(((const struct diff_change *)x)->path,
		      ((const struct diff_change *)y)->path);
}

/* Which side lacks the snapshot (for the message): 'A' or 'B'. */
static int diff_txn(struct snap_target *tg, const struct diff_args *a,
		    struct diff_state *s, struct diff_pkgs *pa,
		    struct diff_pkgs *pb, const char **missing)
{
	struct store_snap sa, sb;
	struct store_env e;
	int r;

	r = store_txn_begin(tg->st, false, &s->t);
	if (r < 0)
		return r;
	r = store_env_get(s->t, tg->name, &e);
	if (r < 0)
		goto out;
	r = store_snap_get(s->t, &e, a->a, &sa);
	if (r == -ENOENT)
		*missing = a->a;
	if (r < 0)
		goto out;
	s->root_a = sa.root;
	s->root_b = e.root;
	if (a->b) {
		r = store_snap_get(s->t, &e, a->b, &sb);
		if (r == -ENOENT)
			*missing = a->b;
		if (r < 0)
			goto out;
		s->root_b = sb.root;
	}
	if (s->root_a != s->root_b)
		r = walk(s);
	if (!r)
		r = pkgs_both(s, pa, pb);
out:
	store_txn_abort(s->t);
	s->t = NULL;
	if (!r && s->n)
		qsort(s->v, s->n, sizeof(*s->v), change_cmp);
	return r;
}

struct pkg_line {
	const char *name, *from, *to;
};

/* Merge the two sorted lists into (name, from|NULL, to|NULL) lines for
 * every package added, removed or whose version changed. */
static size_t pkg_lines(const struct diff_pkgs *pa, const struct diff_pkgs *pb,
			struct pkg_line *out)
{
	size_t i = 0, j = 0, n = 0;
	int c;

	while (i < pa->n || j < pb->n) {
		c = i == pa->n	 ? 1
		    : j == pb->n ? -1
				 : strcmp(pa->v[i].norm, pb->v[j].norm);
		if (c < 0) {
			out[n++] = (struct pkg_line){pa->v[i].name,
						     pa->v[i].version, NULL};
			i++;
		} else if (c > 0) {
			out[n++] = (struct pkg_line){pb->v[j].name, NULL,
						     pb->v[j].version};
			j++;
		} else {
			if (strcmp(pa->v[i].version, pb->v[j].version))
				out[n++] = (struct pkg_line){pb->v[j].name,
							     pa->v[i].version,
							     pb->v[j].version};
			i++, j++;
		}
	}
	return n;
}

static json_t *paths_json(const struct diff_state *s, char kind)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < s->n; i++)
		if (s->v[i].kind == kind &&
		    json_array_append_new(arr, json_string(s->v[i].path)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

static int diff_print(struct ctl *c, const struct diff_args *a,
		      const struct diff_state *s, const struct pkg_line *pl,
		      size_t npl)
{
	json_t *j, *arr, *o;
	size_t i;

	if (!c->json) {
		for (i = 0; i < npl; i++) {
			if (pl[i].from && pl[i].to)
				printf("%s %s -> %s\n", pl[i].name, pl[i].from,
				       pl[i].to);
			else
				printf("%c%s %s\n", pl[i].from ? '-' : '+',
				       pl[i].name,
				       pl[i].from ? pl[i].from : pl[i].to);
		}
		for (i = 0; i < s->n; i++)
			printf("%c %s\n", s->v[i].kind, s->v[i].path);
		return fflush(stdout) ? -errno : 0;
	}
	j = ctl_json_add(json_object(), "from", json_string(a->a));
	j = ctl_json_add(j, "to", a->b ? json_string(a->b) : json_null());
	j = ctl_json_add(j, "added", paths_json(s, DIFF_ADD));
	j = ctl_json_add(j, "removed", paths_json(s, DIFF_DEL));
	j = ctl_json_add(j, "changed", paths_json(s, DIFF_MOD));
	arr = json_array();
	for (i = 0; arr && i < npl; i++) {
		o = ctl_json_add(json_object(), "name",
				 json_string(pl[i].name));
		o = ctl_json_add(o, "from",
				 pl[i].from ? json_string(pl[i].from)
					    : json_null());
		o = ctl_json_add(
		    o, "to", pl[i].to ? json_string(pl[i].to) : json_null());
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	j = ctl_json_add(j, "packages", arr);
	return ctl_json_print(c, j);
}

static int diff_parse(struct ctl *c, int argc, char **argv, struct diff_args *a)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	int o, n;
	char **v;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	n = argc - optind;
	v = argv + optind;
	if (n < 1)
		return ctl_usage_error(c, "expected a snapshot A");
	if (n > 3)
		return ctl_usage_error(c, "too many arguments");
	/* A | NAME A | NAME A B */
	a->name = n >= 2 ? v[0] : NULL;
	a->a = n >= 2 ? v[1] : v[0];
	a->b = n == 3 ? v[2] : NULL;
	if (a->name && store_name_check(a->name))
		return snap_name_usage(c, "env", a->name);
	if (store_name_check(a->a))
		return snap_name_usage(c, "snapshot", a->a);
	if (a->b && store_name_check(a->b))
		return snap_name_usage(c, "snapshot", a->b);
	return CTL_PARSED;
}

int ctl_cmd_diff(struct ctl *c, int argc, char **argv)
{
	struct diff_args a = {0};
	struct diff_state s = {0};
	struct diff_pkgs pa = {0}, pb = {0};
	struct pkg_line *pl = NULL;
	struct snap_target tg;
	const char *missing = NULL;
	size_t i, npl = 0;
	json_t *rep;
	int rc, r;

	rc = diff_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	r = snap_target_open(c, a.name, &tg);
	snap_target_close(&tg); /* read only: no need to hold the lock */
	if (r < 0)
		return CTL_EXIT_FAIL;
	/* the live state of a mounted env: have its written files sealed */
	if (!a.b && tg.mounted) {
		r = snap_request(&tg, "sync", DIFF_SYNC_TIMEOUT_MS, &rep);
		if (r < 0) {
			ctl_err(c, "cannot sync env '%s': %s", tg.name,
				ctl_strerror(r));
			return CTL_EXIT_FAIL;
		}
		json_decref(rep);
	}
	r = diff_txn(&tg, &a, &s, &pa, &pb, &missing);
	if (!r && (pa.n || pb.n) && !(pl = calloc(pa.n + pb.n, sizeof(*pl))))
		r = -ENOMEM;
	if (!r) {
		npl = pkg_lines(&pa, &pb, pl);
		r = diff_print(c, &a, &s, pl, npl);
		if (r < 0 && !c->json)
			ctl_err(c, "cannot print the diff: %s",
				ctl_strerror(r));
	} else if (r == -ENOENT && missing) {
		ctl_err(c, "env '%s' has no snapshot '%s'", tg.name, missing);
	} else if (r == -ENOENT) {
		ctl_err(c, "no env named '%s'", tg.name);
	} else {
		ctl_err(c, "cannot diff env '%s': %s", tg.name,
			ctl_strerror(r));
	}
	for (i = 0; i < s.n; i++)
		free(s.v[i].path);
	free(s.v);
	free(pa.v);
	free(pb.v);
	free(pl);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
