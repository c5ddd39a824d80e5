/* SPDX-License-Identifier: MIT */
/*
 * cmd-undo.c - `blastctl undo [NAME]`: load the automatic snapshot taken
 * before the current state. The current state is placed in time by the
 * oldest snapshot whose root is the live root; undo loads the newest
 * automatic snapshot older than that one (with a different root). When
 * no snapshot holds the live state, it loads the newest automatic
 * snapshot. Each undo thus steps one further back; the state undone is
 * itself saved (as load does), so it can be loaded again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "activate.h"
#include "ctl.h"
#include "snap.h"
#include "store.h"

/* The snapshot to undo to (sorted oldest first), or -ENOENT. */
static int undo_pick(const struct store_snap *v, size_t n, uint64_t live,
		     size_t *out)
{
	size_t i, end = n;

	for (i = 0; i < n; i++)
		if (v[i].root == live) {
			end = i;
			break;
		}
	for (i = end; i-- > 0;)
		if (v[i].automatic && v[i].root != live) {
			*out = i;
			return 0;
		}
	return -ENOENT;
}

static int undo_target(struct snap_target *tg, char *snap)
{
	struct store_snap *v = NULL;
	struct store_txn *t;
	struct store_env e;
	size_t n = 0, i;
	int r;

	r = store_txn_begin(tg->st, false, &t);
	if (r < 0)
		goto out_err;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = snap_list(t, &e, &v, &n);
	store_txn_abort(t);
	if (r < 0)
		goto out_err;
	r = undo_pick(v, n, e.root, &i);
	if (r == 0)
		snprintf(snap, STORE_ENV_NAME_MAX + 1, "%s", v[i].name);
	else
		ctl_err(tg->c,
			"nothing to undo: env '%s' has no automatic snapshot "
			"older than its current state",
			tg->name);
	free(v);
	return r;
out_err:
	ctl_err(tg->c, "cannot read the snapshots of env '%s': %s", tg->name,
		ctl_strerror(r));
	return r;
}

int ctl_cmd_undo(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    {0},
	};
	char snap[STORE_ENV_NAME_MAX + 1];
	const char *name;
	struct snap_target tg;
	int o, r;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	if (argc - optind > 1)
		return ctl_usage_error(c, "too many arguments");
	name = optind < argc ? argv[optind] : NULL;
	if (name && store_name_check(name))
		return snap_name_usage(c, "env", name);
	r = snap_target_open(c, name, &tg);
	if (r == 0)
		r = undo_target(&tg, snap);
	if (r == 0)
		r = snap_load(&tg, snap);
	/* the loaded state may hold other variables (or the scripts of
	 * another mountpoint): the scripts follow it */
	if (r == 0 && tg.mounted)
		r = ctl_activate_refresh(c, tg.name, tg.mnt);
	snap_target_close(&tg);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
