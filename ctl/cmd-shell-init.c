/* SPDX-License-Identifier: MIT */
/*
 * cmd-shell-init.c - `blastctl shell-init
 * bash|zsh|sh|dash|fish|pwsh|nu|csh|tcsh`: print the `blast` function (an
 * alias in csh) for an rc file (shell/init.*, compiled in).
 * It runs `blastctl start` and activates in the calling shell, deactivates
 * before `blastctl kill`, and passes everything else to blastctl.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "activate.h"
#include "ctl.h"

int ctl_cmd_shell_init(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    {0},
	};
	char *text = NULL;
	int o, r;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	if (argc - optind != 1)
		return ctl_usage_error(c, argc - optind ? "too many arguments"
							: "expected a shell");
	r = activate_init_script(argv[optind], &text);
	if (r == -EINVAL)
		return ctl_usage_error(c,
				       "unknown shell '%s': expected bash, "
				       "zsh, sh, dash, fish, pwsh, nu, csh or "
				       "tcsh",
				       argv[optind]);
	if (r < 0) {
		ctl_err(c, "cannot build the shell function: %s",
			ctl_strerror(r));
		return CTL_EXIT_FAIL;
	}
	fputs(text, stdout);
	free(text);
	return CTL_EXIT_OK;
}
