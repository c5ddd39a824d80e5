/* SPDX-License-Identifier: MIT */
/*
 * cmd-load.c - `blastctl load [NAME] SNAP`: make SNAP's root the env's
 * live root, in O(1). A live state that no snapshot holds is saved first
 * as an automatic snapshot (named on stderr), so nothing is lost.
 * Mounted, the daemon does it (refusing while a file is open for
 * writing); the shared steps are in snap.c, which undo uses too.
 */
#include <errno.h>

#include "activate.h"
#include "ctl.h"
#include "snap.h"
#include "store.h"

struct load_args {
	const char *name; /* NULL: the env mounted at ./.blast */
	const char *snap;
};

static int load_parse(struct ctl *c, int argc, char **argv, struct load_args *a)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    {0},
	};
	int o, n;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	n = argc - optind;
	if (n < 1 || n > 2)
		return ctl_usage_error(c, n ? "too many arguments"
					    : "expected SNAP");
	a->name = n == 2 ? argv[optind] : NULL;
	a->snap = argv[argc - 1];
	if (a->name && store_name_check(a->name))
		return snap_name_usage(c, "env", a->name);
	if (store_name_check(a->snap))
		return snap_name_usage(c, "snapshot", a->snap);
	return CTL_PARSED;
}

int ctl_cmd_load(struct ctl *c, int argc, char **argv)
{
	struct load_args a = {0};
	struct snap_target tg;
	int rc, r;

	rc = load_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	r = snap_target_open(c, a.name, &tg);
	if (r == 0)
		r = snap_load(&tg, a.snap);
	/* the loaded state may hold other variables (or the scripts of
	 * another mountpoint): the scripts follow it */
	if (r == 0 && tg.mounted)
		r = ctl_activate_refresh(c, tg.name, tg.mnt);
	snap_target_close(&tg);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
