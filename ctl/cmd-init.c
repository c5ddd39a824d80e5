/* SPDX-License-Identifier: MIT */
/*
 * cmd-init.c - `blastctl init`: create the store if missing (every command
 * does that on first use) and print the directory it lives in.
 */
#include "ctl.h"
#include "store.h"

int ctl_cmd_init(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	struct store *st;
	int o;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'",
				       argv[optind]);

	if (ctl_store(c, &st) < 0)
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *j = json_object();

		j = ctl_json_add(j, "path", json_string(store_path(st)));
		return ctl_json_print(c, j) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	printf("%s\n", store_path(st));
	return CTL_EXIT_OK;
}
