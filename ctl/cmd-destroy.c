/* SPDX-License-Identifier: MIT */
/*
 * cmd-destroy.c - `blastctl destroy NAME [--force]`: delete an env and
 * its snapshots. A mounted env is refused unless --force, which stops its
 * daemon first the way `kill --force` does. Blobs and tables nothing
 * references any more are left for `blastctl gc`, which this does not
 * run (it would walk the whole store).
 */
#include <errno.h>

#include "ctl.h"
#include "project.h"
#include "snap.h"
#include "store.h"

struct destroy_args {
	const char *name;
	bool force;
};

enum { OPT_FORCE = 0x100 };

static int destroy_parse(struct ctl *c, int argc, char **argv,
			 struct destroy_args *a)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, OPT_FORCE},
	    CTL_OPTION_HELP,
	    {0},
	};
	int o;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		if (o != OPT_FORCE)
			return ctl_opt_exit(o);
		a->force = true;
	}
	if (argc - optind != 1)
		return ctl_usage_error(
		    c, argc == optind ? "expected NAME" : "too many arguments");
	a->name = argv[optind];
	if (store_name_check(a->name))
		return snap_name_usage(c, "env", a->name);
	return CTL_PARSED;
}

/* Stop the env's daemon, then take the lock it held. */
static int destroy_unmount(struct snap_target *tg, bool force)
{
	char name[STORE_ENV_NAME_MAX + 1];
	int r;

	if (!force) {
		ctl_err(tg->c,
			"env '%s' is mounted at '%s' (blastfs pid %d): "
			"'blastctl kill' it first or use --force",
			tg->name, tg->mnt, (int)tg->pid);
		return -EBUSY;
	}
	r = ctl_daemon_stop(tg->c, tg->rundir, tg->name, tg->mnt, tg->pid,
			    true);
	if (r < 0)
		return r;
	ctl_status(tg->c, "unmounted env '%s' from %s", tg->name, tg->mnt);
	snprintf(name, sizeof(name), "%s", tg->name);
	snap_target_close(tg);
	r = snap_target_open(tg->c, name, tg);
	if (r == 0 && tg->mounted) {
		ctl_err(tg->c, "env '%s' was mounted again", name);
		r = -EBUSY;
	}
	return r;
}

/* Delete the env; its project's marker (if it still names the env) goes
 * with it. */
static int destroy_txn(struct snap_target *tg)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	r = store_txn_begin(tg->st, true, &t);
	if (r < 0)
		return r;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = store_env_delete(t, tg->name);
	if (r < 0) {
		store_txn_abort(t);
		return r;
	}
	r = store_txn_commit(t);
	if (!r && e.mount[0])
		project_marker_drop(e.mount, tg->home, &e);
	return r;
}

int ctl_cmd_destroy(struct ctl *c, int argc, char **argv)
{
	struct destroy_args a = {0};
	char freed[CTL_RECLAIM_LEN];
	struct snap_target tg;
	int rc, r;

	rc = destroy_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	r = snap_target_open(c, a.name, &tg);
	if (r == 0 && tg.mounted)
		r = destroy_unmount(&tg, a.force);
	if (r == 0) {
		r = destroy_txn(&tg);
		if (r < 0)
			ctl_err(c, "cannot destroy env '%s': %s", a.name,
				ctl_strerror(r));
		else if ((r = ctl_reclaim(c, tg.st, freed, sizeof(freed))) == 0)
			ctl_status(c,
				   "destroyed env '%s' and its snapshots; %s",
				   a.name, freed);
	}
	snap_target_close(&tg);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
