/* SPDX-License-Identifier: MIT */
/*
 * cmd-snapshots.c - `blastctl snapshots [NAME]`: an env's snapshots,
 * oldest first, with time, kind (auto or manual), logical size and
 * message; and `blastctl rm-snapshot [NAME] SNAP`. Both read or write the
 * store directly: snapshots live in LMDB, not in the daemon, so a
 * mounted env needs no request (rm-snapshot only drops the snapshot's
 * reference; the live root keeps whatever it shares).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "snap.h"
#include "store.h"

struct snaps_args {
	const char *name; /* NULL: the env mounted at ./.blast */
	const char *snap; /* rm-snapshot */
	uint64_t keep;	  /* --keep-auto, 0: unchanged */
};

struct snaps_row {
	struct store_snap s;
	struct store_usage u;
};

/* ISO 8601, local time with its offset. */
static void fmt_time(int64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / STORE_NS_PER_S);
	struct tm tm;

	if (!localtime_r(&sec, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm))
		snprintf(buf, len, "?");
}

/* One read txn: the list and every snapshot's usage agree. */
static int snaps_load(struct snap_target *tg, struct snaps_row **out, size_t *n)
{
	struct store_snap *v = NULL;
	struct snaps_row *rows = NULL;
	struct store_txn *t;
	struct store_env e;
	size_t i;
	int r;

	r = store_txn_begin(tg->st, false, &t);
	if (r < 0)
		return r;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = snap_list(t, &e, &v, n);
	if (!r && *n && !(rows = calloc(*n, sizeof(*rows))))
		r = -ENOMEM;
	for (i = 0; !r && i < *n; i++) {
		rows[i].s = v[i];
		r = store_usage_tree(t, v[i].root, &rows[i].u);
	}
	store_txn_abort(t);
	free(v);
	if (r < 0) {
		free(rows);
		return r;
	}
	*out = rows;
	return 0;
}

static int snaps_json(struct ctl *c, const struct snaps_row *rows, size_t n)
{
	json_t *arr = json_array(), *j;
	char when[64];
	size_t i;

	for (i = 0; arr && i < n; i++) {
		fmt_time(rows[i].s.created_ns, when, sizeof(when));
		j = ctl_json_add(json_object(), "name",
				 ctl_json_str(rows[i].s.name));
		j = ctl_json_add(j, "time", ctl_json_str(when));
		j = ctl_json_add(j, "created_ns",
				 json_integer(rows[i].s.created_ns));
		j = ctl_json_add(j, "automatic",
				 json_boolean(rows[i].s.automatic));
		j = ctl_json_add(j, "message", ctl_json_str(rows[i].s.message));
		j = ctl_json_add(j, "logical", ctl_json_u64(rows[i].u.logical));
		j = ctl_json_add(j, "files", ctl_json_u64(rows[i].u.files));
		if (!j || json_array_append_new(arr, j) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return ctl_json_print(c, ctl_json_add(json_object(), "snapshots", arr));
}

static int snaps_table(struct ctl *c, const struct snaps_row *rows, size_t n)
{
	static const char *const heads[] = {"NAME", "TIME", "KIND", "SIZE",
					    "MESSAGE"};
	struct ctl_table *tab;
	char when[64], b[CTL_BYTES_LEN];
	size_t i;
	int r;

	r = ctl_table_new(heads, "lllrl", 5, &tab);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		fmt_time(rows[i].s.created_ns, when, sizeof(when));
		ctl_table_cell(tab, "%s", rows[i].s.name);
		ctl_table_cell(tab, "%s", when);
		ctl_table_cell(tab, "%s",
			       rows[i].s.automatic ? "auto" : "manual");
		ctl_table_cell(tab, "%s",
			       ctl_fmt_bytes(b, sizeof(b), rows[i].u.logical));
		ctl_table_cell(tab, "%s", rows[i].s.message);
	}
	r = ctl_table_print(tab, stdout);
	ctl_table_free(tab);
	return r;
}

/* Keep at most `keep` automatic snapshots from now on (and now). A
 * setting, so it is written directly also for a mounted env. */
static int set_keep(struct ctl *c, struct snap_target *tg, uint64_t keep)
{
	char freed[CTL_RECLAIM_LEN];
	struct store_txn *t = NULL;
	struct store_env e;
	int r = store_txn_begin(tg->st, true, &t);

	if (r == 0)
		r = store_env_get(t, tg->name, &e);
	if (r == 0)
		r = store_env_setting_set(t, &e, "auto-keep", keep);
	if (r == 0)
		r = store_snap_prune_auto(t, &e, keep);
	if (r < 0) {
		if (t)
			store_txn_abort(t);
		ctl_err(c, "cannot set auto-keep of env '%s': %s", tg->name,
			ctl_strerror(r));
		return r;
	}
	r = store_txn_commit(t);
	if (r < 0)
		ctl_err(c, "cannot set auto-keep of env '%s': %s", tg->name,
			ctl_strerror(r));
	else if ((r = ctl_reclaim(c, tg->st, freed, sizeof(freed))) == 0)
		ctl_status(c,
			   "env '%s' keeps its %llu newest automatic "
			   "snapshots; %s",
			   tg->name, (unsigned long long)keep, freed);
	return r;
}

static int snaps_parse(struct ctl *c, int argc, char **argv, bool rm,
		       struct snaps_args *a)
{
	static const struct option opts_list[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {"keep-auto", required_argument, NULL, 'k'},
	    {0},
	};
	static const struct option opts_rm[] = {
	    CTL_OPTION_HELP,
	    {0},
	};
	int o, n, want = rm ? 1 : 0;

	while ((o = ctl_getopt(c, argc, argv, "", rm ? opts_rm : opts_list)) ==
	       'k') {
		char *end;
		unsigned long v = strtoul(optarg, &end, 10);

		if (*end || !*optarg || v < 1 || v > 1000)
			return ctl_usage_error(c,
					       "--keep-auto takes 1 to 1000");
		a->keep = (uint64_t)v;
	}
	if (o != -1)
		return ctl_opt_exit(o);
	n = argc - optind;
	if (n < want)
		return ctl_usage_error(c, "expected SNAP");
	if (n > want + 1)
		return ctl_usage_error(c, "too many arguments");
	a->name = n == want + 1 ? argv[optind] : NULL;
	a->snap = rm ? argv[argc - 1] : NULL;
	if (a->name && store_name_check(a->name))
		return snap_name_usage(c, "env", a->name);
	if (a->snap && store_name_check(a->snap))
		return snap_name_usage(c, "snapshot", a->snap);
	return CTL_PARSED;
}

int ctl_cmd_snapshots(struct ctl *c, int argc, char **argv)
{
	struct snaps_args a = {0};
	struct snaps_row *rows = NULL;
	struct snap_target tg;
	size_t n = 0;
	int rc, r;

	rc = snaps_parse(c, argc, argv, false, &a);
	if (rc != CTL_PARSED)
		return rc;
	r = snap_target_open(c, a.name, &tg);
	if (r == 0 && a.keep)
		r = set_keep(c, &tg, a.keep);
	snap_target_close(&tg); /* read only: no need to hold the lock */
	if (r < 0)
		return CTL_EXIT_FAIL;
	r = snaps_load(&tg, &rows, &n);
	if (r < 0) {
		ctl_err(c, "cannot read the snapshots of env '%s': %s", tg.name,
			ctl_strerror(r));
		return CTL_EXIT_FAIL;
	}
	if (c->json)
		r = snaps_json(c, rows, n);
	else if (n)
		r = snaps_table(c, rows, n);
	else
		ctl_status(c, "env '%s' has no snapshots", tg.name);
	free(rows);
	if (r < 0 && !c->json)
		ctl_err(c, "cannot print the snapshots: %s", ctl_strerror(r));
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

static int rm_txn(struct snap_target *tg, const char *snap)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	r = store_txn_begin(tg->st, true, &t);
	if (r < 0)
		return r;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = store_snap_delete(t, &e, snap);
	if (r < 0) {
		store_txn_abort(t);
		return r;
	}
	return store_txn_commit(t);
}

int ctl_cmd_rm_snapshot(struct ctl *c, int argc, char **argv)
{
	struct snaps_args a = {0};
	char freed[CTL_RECLAIM_LEN];
	struct snap_target tg;
	int rc, r;

	rc = snaps_parse(c, argc, argv, true, &a);
	if (rc != CTL_PARSED)
		return rc;
	r = snap_target_open(c, a.name, &tg);
	if (r == 0) {
		r = rm_txn(&tg, a.snap);
		if (r == -ENOENT)
			ctl_err(c, "env '%s' has no snapshot '%s'", tg.name,
				a.snap);
		else if (r < 0)
			ctl_err(c, "cannot remove '%s@%s': %s", tg.name, a.snap,
				ctl_strerror(r));
		else if ((r = ctl_reclaim(c, tg.st, freed, sizeof(freed))) == 0)
			ctl_status(c, "removed snapshot '%s@%s'; %s", tg.name,
				   a.snap, freed);
	}
	snap_target_close(&tg);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
