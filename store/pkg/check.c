/* SPDX-License-Identifier: MIT */
/*
 * check.c - `pip check` over a set of installed distributions: the
 * requirements that apply (marker true with extra ""), then missing ones
 * and installed versions they exclude (pre-releases allowed), reported
 * with pip's wording and in pip's order (all missing lines, then all
 * conflicts; within a distribution sorted as pip sorts its tuples).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg.h"

#define LINE_MAX_LEN 8192

struct entry {
	const struct pkg_dist *d;
	struct pkg_version v;
	struct pkg_req *reqs; /* the requirements that apply */
	size_t nreqs;
	bool broken;
	char why[PKG_ERR_LEN];
};

struct item {
	char *key;  /* what pip sorts by */
	char *line; /* what it prints */
	const char *dep;
	const struct entry *have;
};

static int cmp_entry_norm(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;

	return strcmp(x->d->norm, y->d->norm);
}

static const struct entry *find(struct entry **idx, size_t n, const char *norm)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(norm, idx[mid]->d->norm);

		if (!c)
			return idx[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void version_of(const struct pkg_dist *d, struct pkg_version *v)
{
	size_t l = strlen(d->version);

	if (!pkg_version_parse_any(d->version, l, v, NULL))
		return;
	memset(v, 0, sizeof(*v));
	v->legacy = true;
	snprintf(v->str, sizeof(v->str), "%s", d->version);
}

/* Parse d's requirements, keeping those whose marker holds for extra "".
 * Any bad one makes d broken (pip leaves it out of its package set). */
static int entry_load(struct entry *e, const struct pkg_markerenv *env)
{
	size_t k;
	int r;

	version_of(e->d, &e->v);
	if (e->d->error) {
		snprintf(e->why, sizeof(e->why), "%s", e->d->error);
		e->broken = true;
		return 0;
	}
	e->reqs = calloc(e->d->nrequires + 1, sizeof(*e->reqs));
	if (!e->reqs)
		return -ENOMEM;
	for (k = 0; k < e->d->nrequires; k++) {
		const char *s = e->d->requires[k];

		r = pkg_req_parse(s, strlen(s), &e->reqs[e->nreqs], e->why);
		if (r == -ENOMEM)
			return r;
		if (r) {
			e->broken = true;
			return 0;
		}
		r = e->reqs[e->nreqs].marker
			? pkg_marker_eval(e->reqs[e->nreqs].marker, env, "")
			: 1;
		if (r < 0) {
			snprintf(e->why, sizeof(e->why),
				 "cannot evaluate the marker of '%.100s'", s);
			pkg_req_release(&e->reqs[e->nreqs]);
			e->broken = true;
			return 0;
		}
		if (r)
			e->nreqs++;
		else
			pkg_req_release(&e->reqs[e->nreqs]);
	}
	return 0;
}

static void entry_release(struct entry *e)
{
	size_t k;

	for (k = 0; k < e->nreqs; k++)
		pkg_req_release(&e->reqs[k]);
	free(e->reqs);
}

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->key,
		      ((const struct item *)b)->key);
}

static int emit(enum pkg_problem_kind kind, const struct entry *e,
		const char *dep, const struct entry *have, const char *line,
		pkg_problem_fn fn, void *arg)
{
	struct pkg_problem p = {kind, e->d, dep, have ? have->d : NULL, line};

	return fn ? fn(arg, &p) : 0;
}

/* One distribution's missing (conflicts false) or conflicting items. */
static int collect(const struct entry *e, struct entry **idx, size_t n,
		   bool conflicts, struct item **out, size_t *nout)
{
	char req[LINE_MAX_LEN / 2], *key, *line;
	struct item *items = calloc(e->nreqs + 1, sizeof(*items));
	size_t k, m = 0;
	const struct entry *have;
	int w;

	if (!items)
		return -ENOMEM;
	for (k = 0; k < e->nreqs; k++) {
		const struct pkg_req *r = &e->reqs[k];

		have = find(idx, n, r->norm);
		if (conflicts != !!have)
			continue;
		if (have && pkg_specset_contains(&r->specs, &have->v, true))
			continue;
		if (pkg_req_format(r, req, sizeof(req)) < 0)
			snprintf(req, sizeof(req), "%s", e->d->requires[k]);
		key = malloc(LINE_MAX_LEN);
		line = malloc(LINE_MAX_LEN);
		if (!key || !line) {
			free(key);
			free(line);
			goto nomem;
		}
		if (!have) {
			snprintf(key, LINE_MAX_LEN,
				 "('%s', <Requirement('%s')>)", r->norm, req);
			w = snprintf(line, LINE_MAX_LEN,
				     "%s %s requires %s, which is not "
				     "installed.",
				     e->d->norm, e->v.str, r->norm);
		} else {
			snprintf(
			    key, LINE_MAX_LEN,
			    "('%s', <%sVersion('%s')>, <Requirement('%s')>)",
			    r->norm, have->v.legacy ? "Legacy" : "",
			    have->v.str, req);
			w = snprintf(line, LINE_MAX_LEN,
				     "%s %s has requirement %s, but you have "
				     "%s %s.",
				     e->d->norm, e->v.str, req, r->norm,
				     have->v.str);
		}
		(void)w;
		items[m++] = (struct item){key, line, r->norm, have};
	}
	qsort(items, m, sizeof(*items), cmp_item);
	*out = items;
	*nout = m;
	return 0;
nomem:
	while (m--) {
		free(items[m].key);
		free(items[m].line);
	}
	free(items);
	return -ENOMEM;
}

static long report(struct entry *es, size_t ne, struct entry **idx, size_t n,
		   bool conflicts, pkg_problem_fn fn, void *arg)
{
	struct item *items;
	size_t k, j, m;
	long count = 0;
	int r = 0;

	for (k = 0; k < ne && !r; k++) {
		if (es[k].broken || !es[k].d)
			continue;
		r = collect(&es[k], idx, n, conflicts, &items, &m);
		if (r)
			return r;
		for (j = 0; j < m; j++) {
			if (!r) {
				count++;
				r = emit(conflicts ? PKG_CONFLICT : PKG_MISSING,
					 &es[k], items[j].dep, items[j].have,
					 items[j].line, fn, arg);
			}
			free(items[j].key);
			free(items[j].line);
		}
		free(items);
	}
	return r ? r : count;
}

static long broken(struct entry *es, size_t ne, pkg_problem_fn fn, void *arg)
{
	char line[LINE_MAX_LEN];
	long count = 0;
	size_t k;
	int r;

	for (k = 0; k < ne; k++) {
		if (!es[k].d || !es[k].broken)
			continue;
		snprintf(line, sizeof(line),
			 "Error parsing requirements for %s: %s", es[k].d->norm,
			 es[k].why);
		count++;
		r = emit(PKG_BROKEN, &es[k], NULL, NULL, line, fn, arg);
		if (r)
			return r;
	}
	return count;
}

long pkg_check(const struct pkg_dist *dists, size_t n,
	       const struct pkg_markerenv *env, pkg_problem_fn fn, void *arg)
{
	struct entry *es = calloc(n + 1, sizeof(*es)), **idx = NULL;
	size_t k, ni = 0;
	long total = 0, c;
	int r = 0;

	if (!es)
		return -ENOMEM;
	idx = calloc(n + 1, sizeof(*idx));
	if (!idx) {
		r = -ENOMEM;
		goto out;
	}
	for (k = 0; k < n; k++) {
		es[k].d = &dists[k];
		r = entry_load(&es[k], env);
		if (r)
			goto out;
	}
	/* the package set: each name once (first wins), broken ones out */
	for (k = 0; k < n; k++) {
		size_t j;

		for (j = 0; j < k && strcmp(dists[j].norm, dists[k].norm); j++)
			;
		if (j < k) {
			entry_release(&es[k]);
			es[k].d = NULL;
			continue;
		}
		if (!es[k].broken)
			idx[ni++] = &es[k];
	}
	qsort(idx, ni, sizeof(*idx), cmp_entry_norm);
	c = broken(es, n, fn, arg);
	if (c < 0) {
		r = (int)c;
		goto out;
	}
	total += c;
	c = report(es, n, idx, ni, false, fn, arg);
	if (c >= 0) {
		total += c;
		c = report(es, n, idx, ni, true, fn, arg);
	}
	if (c < 0)
		r = (int)c;
	else
		total += c;
out:
	for (k = 0; k < n && es; k++)
		if (es[k].d)
			entry_release(&es[k]);
	free(es);
	free(idx);
	return r ? r : total;
}
