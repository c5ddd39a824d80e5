/* SPDX-License-Identifier: MIT */
/*
 * cmd-list.c - `blastctl list`: every env with its python, logical and
 * stored size, file and snapshot counts and, when a live blastfs serves
 * it, its mountpoint and daemon pid (from STORE/run/NAME.info), then the
 * store's totals; all read in one read txn, so the numbers agree. An
 * unmounted env whose project directory no longer exists (moved or
 * removed while unmounted: `start` in its new place finds it again) is
 * shown as such.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "autocompact.h"
#include "ctl.h"
#include "daemon.h"
#include "project.h"
#include "store.h"

struct list_env {
	struct store_env e;
	struct store_usage u;
	uint64_t snaps;
	struct daemon_info d;	/* d.live: mounted, at d.mount */
	char project[PATH_MAX]; /* its project directory, "" if none */
	bool gone;		/* ... which no longer exists */
};

struct list {
	struct list_env *v;
	size_t n, cap;
	struct store_totals tot;
	uint64_t du; /* the store directory as du counts it */
};

static int env_collect(void *arg, const struct store_env *e)
{
	struct list *l = arg;
	struct list_env *v;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;

		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].e = *e;
	l->n++;
	return 0;
}

static int snap_count(void *arg, const struct store_snap *s)
{
	uint64_t *n = arg;

	(void)s;
	(*n)++;
	return 0;
}

/* The env's project: where it is mounted, else where it was last (not
 * a seed's mount in STORE/run, not a directory whose marker names
 * another env, as a clone's source's does), and whether that is gone. */
static void list_project(const char *home, const char *rundir,
			 struct list_env *le)
{
	const char *mnt = le->d.live ? le->d.mount : le->e.mount;
	struct project_marker m;
	size_t n = strlen(rundir);
	struct stat sb;
	int r;

	if (!mnt[0] || (!strncmp(mnt, rundir, n) && mnt[n] == '/'))
		return;
	if (!le->d.live) {
		r = project_marker_read(AT_FDCWD, mnt, &m);
		if (r == 0 && !project_marker_is(&m, home, &le->e))
			return;
	}
	project_dir(mnt, le->project, sizeof(le->project));
	le->gone = !le->d.live && stat(le->project, &sb) < 0 &&
		   (errno == ENOENT || errno == ENOTDIR);
}

/* Which envs a live daemon serves (no run directory: none), and their
 * projects. */
static void list_daemons(struct store *st, struct list *l)
{
	char home[PATH_MAX], rundir[PATH_MAX + 8];
	size_t i;

	if (!realpath(store_path(st), home))
		snprintf(home, sizeof(home), "%s", store_path(st));
	snprintf(rundir, sizeof(rundir), "%s/run", home);
	for (i = 0; i < l->n; i++) {
		if (daemon_info_read(rundir, l->v[i].e.name, &l->v[i].d) < 0)
			memset(&l->v[i].d, 0, sizeof(l->v[i].d));
		list_project(home, rundir, &l->v[i]);
	}
}

/* Envs are collected first so the usage walks run outside the iterator. */
static int list_load(struct ctl *c, struct store *st, struct list *l)
{
	struct list_env *le = NULL;
	struct store_txn *t;
	size_t i;
	int r;

	r = store_txn_begin(st, false, &t);
	if (r < 0)
		goto out_err;
	r = store_env_iter(t, env_collect, l);
	for (i = 0; !r && i < l->n; i++) {
		le = &l->v[i];
		r = store_usage_tree(t, le->e.root, &le->u);
		if (!r)
			r = store_snap_iter(t, &le->e, snap_count, &le->snaps);
	}
	if (!r) {
		le = NULL;
		r = store_totals(t, &l->tot);
		if (!r)
			r = store_disk_usage(st, &l->du);
	}
	store_txn_abort(t);
	if (!r) {
		list_daemons(st, l);
		return 0;
	}
out_err:
	if (le)
		ctl_err(c, "cannot read env '%s' in store '%s': %s", le->e.name,
			store_path(st), ctl_strerror(r));
	else
		ctl_err(c, "cannot list store '%s': %s", store_path(st),
			ctl_strerror(r));
	return r;
}

static json_t *env_json(const struct list_env *le)
{
	const struct store_env *e = &le->e;
	json_t *j = json_object();

	j = ctl_json_add(j, "name", ctl_json_str(e->name));
	j = ctl_json_add(j, "python", ctl_json_str(e->python));
	j = ctl_json_add(j, "python_version", ctl_json_str(e->pyver));
	j = ctl_json_add(j, "mount",
			 ctl_json_str(le->d.live ? le->d.mount : e->mount));
	j = ctl_json_add(j, "mounted", json_boolean(le->d.live));
	j = ctl_json_add(j, "pid",
			 le->d.live ? json_integer(le->d.pid) : json_null());
	j = ctl_json_add(j, "logical_bytes", ctl_json_u64(le->u.logical));
	j = ctl_json_add(j, "stored_bytes", ctl_json_u64(le->u.stored));
	j = ctl_json_add(j, "files", ctl_json_u64(le->u.files));
	j = ctl_json_add(j, "snapshots", ctl_json_u64(le->snaps));
	j = ctl_json_add(j, "project", ctl_json_str(le->project));
	j = ctl_json_add(j, "project_gone", json_boolean(le->gone));
	return j;
}

static json_t *totals_json(struct store *st, const struct list *l)
{
	const struct store_totals *tot = &l->tot;
	json_t *j = json_object();

	j = ctl_json_add(j, "path", json_string(store_path(st)));
	j = ctl_json_add(j, "disk_bytes", ctl_json_u64(l->du));
	j = ctl_json_add(
	    j, "compacting",
	    ctl_json_u64((uint64_t)ctl_autocompact_running(store_path(st))));
	j = ctl_json_add(j, "blobs", ctl_json_u64(tot->blobs));
	j = ctl_json_add(j, "blob_bytes", ctl_json_u64(tot->blob_bytes));
	j = ctl_json_add(j, "stored_bytes", ctl_json_u64(tot->stored));
	j = ctl_json_add(j, "tables", ctl_json_u64(tot->tables));
	j = ctl_json_add(j, "map_used_bytes", ctl_json_u64(tot->map_used));
	return j;
}

static int list_json(struct ctl *c, struct store *st, const struct list *l)
{
	json_t *envs = json_array(), *j;
	size_t i;

	for (i = 0; envs && i < l->n; i++) {
		if (json_array_append_new(envs, env_json(&l->v[i])) < 0) {
			json_decref(envs);
			envs = NULL;
		}
	}
	j = ctl_json_add(json_object(), "envs", envs);
	j = ctl_json_add(j, "store", totals_json(st, l));
	return ctl_json_print(c, j);
}

static int list_human(struct ctl *c, struct store *st, const struct list *l)
{
	static const char *const heads[] = {"NAME",   "PYTHON", "LOGICAL",
					    "STORED", "FILES",	"SNAPSHOTS",
					    "PID",    "MOUNT"};
	char b1[CTL_BYTES_LEN], b2[CTL_BYTES_LEN], b3[CTL_BYTES_LEN];
	struct ctl_table *tab;
	uint64_t logical = 0;
	size_t i;
	int r;

	if (!l->n) {
		ctl_status(c, "no envs in store '%s'", store_path(st));
		return 0;
	}
	r = ctl_table_new(heads, "llrrrrrl", 8, &tab);
	if (r < 0)
		goto out_err;
	for (i = 0; i < l->n; i++) {
		const struct list_env *le = &l->v[i];

		logical += le->u.logical;
		ctl_table_cell(tab, "%s", le->e.name);
		ctl_table_cell(tab, "%s", le->e.pyver[0] ? le->e.pyver : "-");
		ctl_table_cell(tab, "%s",
			       ctl_fmt_bytes(b1, sizeof(b1), le->u.logical));
		ctl_table_cell(tab, "%s",
			       ctl_fmt_bytes(b1, sizeof(b1), le->u.stored));
		ctl_table_cell(tab, "%llu", (unsigned long long)le->u.files);
		ctl_table_cell(tab, "%llu", (unsigned long long)le->snaps);
		if (le->d.live) {
			ctl_table_cell(tab, "%d", (int)le->d.pid);
			ctl_table_cell(tab, "%s", le->d.mount);
		} else {
			ctl_table_cell(tab, "-");
			if (le->gone)
				ctl_table_cell(tab, "(project gone: %s)",
					       le->project);
			else
				ctl_table_cell(tab, "-");
		}
	}
	r = ctl_table_print(tab, stdout);
	ctl_table_free(tab);
	if (r < 0)
		goto out_err;
	printf("store '%s': %zu envs, %s logical, %s on disk (%s stored in "
	       "%llu blobs)%s\n",
	       store_path(st), l->n, ctl_fmt_bytes(b1, sizeof(b1), logical),
	       ctl_fmt_bytes(b3, sizeof(b3), l->du),
	       ctl_fmt_bytes(b2, sizeof(b2), l->tot.stored),
	       (unsigned long long)l->tot.blobs,
	       ctl_autocompact_running(store_path(st))
		   ? ", compacting in the background"
		   : "");
	return 0;
out_err:
	ctl_err(c, "cannot print the list: %s", ctl_strerror(r));
	return r;
}

static int list_parse(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	int o;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'",
				       argv[optind]);
	return CTL_PARSED;
}

int ctl_cmd_list(struct ctl *c, int argc, char **argv)
{
	struct list l = {0};
	struct store *st;
	int rc, r;

	rc = list_parse(c, argc, argv);
	if (rc != CTL_PARSED)
		return rc;
	if (ctl_store(c, &st) < 0)
		return CTL_EXIT_FAIL;
	r = list_load(c, st, &l);
	if (!r)
		r = c->json ? list_json(c, st, &l) : list_human(c, st, &l);
	free(l.v);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
