/* SPDX-License-Identifier: MIT */
/*
 * cmd-clean.c - `blastctl clean [NAME]`: rebuild the env's package state
 * from a full rescan of its site-packages (and ask its interpreter for the
 * marker environment again). Live updates keep the state current; clean
 * is for a state made before them, or after trouble. Mounted, the daemon
 * seals its files first; the rebuild is one write txn either way.
 */
#include <errno.h>

#include "ctl.h"
#include "pkg.h"

int ctl_cmd_clean(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    {0},
	};
	struct snap_target tg = {.lock_fd = -1};
	const char *name = NULL;
	struct timespec t0;
	size_t n = 0;
	int o, r;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1)
		return ctl_opt_exit(o);
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'",
				       argv[optind]);
	if (name && store_name_check(name))
		return snap_name_usage(c, "env", name);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = snap_target_open(c, name, &tg);
	if (!r)
		r = ctl_pkg_rebuild(&tg, &n);
	if (!r)
		ctl_status(c, "%s: %zu distribution%s recorded in %.3f s",
			   tg.name, n, n == 1 ? "" : "s",
			   ctl_seconds_since(&t0));
	snap_target_close(&tg);
	return r ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
