/* SPDX-License-Identifier: MIT */
/*
 * cmd-deps.c - `blastctl deps [NAME] [--tree | --reverse PKG] [--json]`:
 * the env's dependency graph from its package state: each distribution
 * with the requirements that apply to the env (marker true, no extra) and
 * what satisfies them, as a list, a tree from the distributions nothing
 * requires, or who requires PKG.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "pkg.h"

struct node {
	const struct pkg_dist *d;
	struct pkg_version v;
	struct pkg_req *reqs; /* those that apply */
	size_t nreqs;
	bool required; /* some other distribution requires it */
	bool on_path;  /* tree walk: cycle guard */
};

struct graph {
	struct node *v;
	size_t n;
};

static struct node *graph_find(struct graph *g, const char *norm)
{
	size_t k;

	for (k = 0; k < g->n; k++)
		if (!strcmp(g->v[k].d->norm, norm))
			return &g->v[k];
	return NULL;
}

static void graph_release(struct graph *g)
{
	size_t k, j;

	for (k = 0; k < g->n; k++) {
		for (j = 0; j < g->v[k].nreqs; j++)
			pkg_req_release(&g->v[k].reqs[j]);
		free(g->v[k].reqs);
	}
	free(g->v);
}

static int graph_build(const struct pkg_dist *d, size_t n,
		       const struct pkg_markerenv *env, struct graph *g)
{
	struct node *nd, *dep;
	size_t k, j;
	int r;

	g->v = calloc(n + 1, sizeof(*g->v));
	if (!g->v)
		return -ENOMEM;
	g->n = n;
	for (k = 0; k < n; k++) {
		nd = &g->v[k];
		nd->d = &d[k];
		if (pkg_version_parse_any(d[k].version, strlen(d[k].version),
					  &nd->v, NULL))
			snprintf(nd->v.str, sizeof(nd->v.str), "%s",
				 d[k].version);
		nd->reqs = calloc(d[k].nrequires + 1, sizeof(*nd->reqs));
		if (!nd->reqs)
			return -ENOMEM;
		for (j = 0; j < d[k].nrequires; j++) {
			const char *s = d[k].requires[j];
			struct pkg_req *rq = &nd->reqs[nd->nreqs];

			if (pkg_req_parse(s, strlen(s), rq, NULL))
				continue;
			r = rq->marker ? pkg_marker_eval(rq->marker, env, "")
				       : 1;
			if (r == 1)
				nd->nreqs++;
			else
				pkg_req_release(rq);
		}
	}
	for (k = 0; k < n; k++)
		for (j = 0; j < g->v[k].nreqs; j++)
			if ((dep = graph_find(g, g->v[k].reqs[j].norm)) &&
			    dep != &g->v[k])
				dep->required = true;
	return 0;
}

/* "idna<4,>=2.5" and what satisfies it: "3.6", "missing" or
 * "3.6, excluded". */
static void req_text(const struct pkg_req *r, char *buf, size_t len)
{
	if (pkg_req_format(r, buf, len) < 0)
		snprintf(buf, len, "%s", r->name);
}

static const char *req_state(struct graph *g, const struct pkg_req *r,
			     char *buf, size_t len)
{
	struct node *dep = graph_find(g, r->norm);

	if (!dep)
		return "missing";
	snprintf(buf, len, "%s%s", dep->v.str,
		 pkg_specset_contains(&r->specs, &dep->v, true) ? ""
								: ", excluded");
	return buf;
}

static void print_list(struct graph *g)
{
	char req[4096], st[PKG_VERSION_LEN + 16];
	size_t k, j;

	for (k = 0; k < g->n; k++) {
		printf("%s %s\n", g->v[k].d->norm, g->v[k].v.str);
		for (j = 0; j < g->v[k].nreqs; j++) {
			req_text(&g->v[k].reqs[j], req, sizeof(req));
			printf("  %s (%s)\n", req,
			       req_state(g, &g->v[k].reqs[j], st, sizeof(st)));
		}
	}
}

static void print_tree(struct graph *g, struct node *nd, const char *via,
		       unsigned depth)
{
	char req[4096], st[PKG_VERSION_LEN + 16];
	struct node *dep;
	size_t j;

	printf("%*s%s %s%s%s%s\n", (int)depth * 2, "", nd->d->norm, nd->v.str,
	       via ? " [" : "", via ? via : "", via ? "]" : "");
	if (nd->on_path || depth > 64) {
		printf("%*s...\n", (int)(depth + 1) * 2, "");
		return;
	}
	nd->on_path = true;
	for (j = 0; j < nd->nreqs; j++) {
		req_text(&nd->reqs[j], req, sizeof(req));
		dep = graph_find(g, nd->reqs[j].norm);
		if (dep)
			print_tree(g, dep, req, depth + 1);
		else
			printf("%*s%s [%s] (%s)\n", (int)(depth + 1) * 2, "",
			       nd->reqs[j].norm, req,
			       req_state(g, &nd->reqs[j], st, sizeof(st)));
	}
	nd->on_path = false;
}

static int print_reverse(struct ctl *c, struct graph *g, const char *pkg)
{
	char norm[PKG_NAME_LEN], req[4096];
	size_t k, j, found = 0;

	if (pkg_name_normalize(pkg, strlen(pkg), norm, sizeof(norm)) < 0) {
		ctl_err(c, "invalid distribution name '%s'", pkg);
		return -EINVAL;
	}
	for (k = 0; k < g->n; k++)
		for (j = 0; j < g->v[k].nreqs; j++) {
			if (strcmp(g->v[k].reqs[j].norm, norm))
				continue;
			req_text(&g->v[k].reqs[j], req, sizeof(req));
			printf("%s %s requires %s\n", g->v[k].d->norm,
			       g->v[k].v.str, req);
			found++;
		}
	if (!found)
		ctl_status(c, "nothing requires '%s'", norm);
	return 0;
}

static json_t *graph_json(struct graph *g, const char *env)
{
	json_t *list = json_array(), *reqs, *extras, *o;
	char req[4096];
	struct node *dep;
	size_t k, j;

	for (k = 0; list && k < g->n; k++) {
		const struct pkg_dist *d = g->v[k].d;

		reqs = json_array();
		extras = json_array();
		for (j = 0; j < g->v[k].nreqs; j++) {
			const struct pkg_req *r = &g->v[k].reqs[j];

			dep = graph_find(g, r->norm);
			req_text(r, req, sizeof(req));
			o = ctl_json_add(json_object(), "requirement",
					 json_string(req));
			o = ctl_json_add(o, "name", json_string(r->norm));
			o = ctl_json_add(o, "installed",
					 dep ? json_string(dep->v.str)
					     : json_null());
			o = ctl_json_add(
			    o, "ok",
			    json_boolean(dep && pkg_specset_contains(
						    &r->specs, &dep->v, true)));
			json_array_append_new(reqs, o);
		}
		for (j = 0; j < d->nextras; j++)
			json_array_append_new(extras,
					      json_string(d->extras[j]));
		o = ctl_json_add(json_object(), "name", json_string(d->norm));
		o = ctl_json_add(o, "version", json_string(g->v[k].v.str));
		o = ctl_json_add(o, "path", json_string(d->path));
		o = ctl_json_add(o, "requires", reqs);
		o = ctl_json_add(o, "extras", extras);
		o = ctl_json_add(o, "required", json_boolean(g->v[k].required));
		if (d->error)
			o = ctl_json_add(o, "error", json_string(d->error));
		json_array_append_new(list, o);
	}
	o = ctl_json_add(json_object(), "env", json_string(env));
	return ctl_json_add(o, "distributions", list);
}

struct deps_args {
	const char *name, *reverse;
	bool tree;
};

static int deps_parse(struct ctl *c, int argc, char **argv, struct deps_args *a)
{
	static const struct option opts[] = {
	    {"tree", no_argument, NULL, 't'},
	    {"reverse", required_argument, NULL, 'r'},
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	int o;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		if (o == 't')
			a->tree = true;
		else if (o == 'r')
			a->reverse = optarg;
		else
			return ctl_opt_exit(o);
	}
	if (optind < argc)
		a->name = argv[optind++];
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'",
				       argv[optind]);
	if (a->tree && a->reverse)
		return ctl_usage_error(c, "--tree and --reverse exclude each "
					  "other");
	if (a->name && store_name_check(a->name))
		return snap_name_usage(c, "env", a->name);
	return CTL_PARSED;
}

int ctl_cmd_deps(struct ctl *c, int argc, char **argv)
{
	struct snap_target tg = {.lock_fd = -1};
	struct deps_args a = {0};
	struct pkg_markerenv env;
	struct pkg_dist *d = NULL;
	struct graph g = {0};
	size_t n = 0, k;
	int r;

	r = deps_parse(c, argc, argv, &a);
	if (r != CTL_PARSED)
		return r;
	r = snap_target_open(c, a.name, &tg);
	if (!r)
		r = ctl_pkg_markers(&tg, &env);
	if (!r)
		r = ctl_pkg_load(&tg, NULL, &d, &n);
	if (!r) {
		r = graph_build(d, n, &env, &g);
		if (r)
			ctl_err(c, "cannot build the graph: %s",
				ctl_strerror(r));
	}
	if (r)
		goto out;
	if (c->json)
		r = ctl_json_print(c, graph_json(&g, tg.name));
	else if (a.reverse)
		r = print_reverse(c, &g, a.reverse);
	else if (a.tree)
		for (k = 0; k < g.n; k++) {
			if (!g.v[k].required)
				print_tree(&g, &g.v[k], NULL, 0);
		}
	else
		print_list(&g);
out:
	graph_release(&g);
	pkgstate_free(d, n);
	snap_target_close(&tg);
	return r ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
