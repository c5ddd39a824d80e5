/* SPDX-License-Identifier: MIT */
/*
 * cmd-watch.c - `blastctl watch [NAME] [--json]`: a live stream of the
 * package events of a mounted env, from its daemon (the `watch` control
 * command): one line each, "installed NAME VERSION", "removed NAME
 * VERSION", "upgraded NAME OLD -> NEW" (or downgraded), "conflict: LINE"
 * and "resolved: LINE" with pip check's LINE, "declared: LINE" and
 * "declared-resolved: LINE" for the project's requirements files (as
 * check's declared section words them); --json prints the daemon's
 * JSON objects as they come. Runs until the env is unmounted (exit 0) or
 * it is interrupted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"
#include "snap.h"

static void print_event(struct ctl *c, const char *line)
{
	json_t *j = json_loads(line, 0, NULL);
	const char *ev = json_string_value(json_object_get(j, "event"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *from = json_string_value(json_object_get(j, "from"));
	const char *to = json_string_value(json_object_get(j, "to"));
	const char *text = json_string_value(json_object_get(j, "line"));

	if (c->json) {
		printf("%s\n", line);
	} else if (!ev) {
		/* the greeting or something newer: not an event */
	} else if (text) {
		printf("%s: %s\n", ev, text);
	} else if (from && to) {
		printf("%s %s %s -> %s\n", ev, name ? name : "?", from, to);
	} else {
		printf("%s %s %s\n", ev, name ? name : "?",
		       to     ? to
		       : from ? from
			      : "");
	}
	fflush(stdout);
	json_decref(j);
}

/* Lines from fd until EOF; the first must be the daemon's ok. */
static int stream(struct ctl *c, struct snap_target *tg, int fd)
{
	char buf[8192], *nl;
	size_t len = 0;
	bool first = true;
	ssize_t n;

	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		while ((nl = memchr(buf, '\n', len))) {
			*nl = 0;
			if (first && !strstr(buf, "\"ok\":true")) {
				ctl_err(c,
					"env '%s': blastfs refused to watch: "
					"%s",
					tg->name, buf);
				return -EIO;
			}
			if (first)
				ctl_status(c,
					   "watching env '%s' (Ctrl-C stops)",
					   tg->name);
			else
				print_event(c, buf);
			first = false;
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
		if (len == sizeof(buf) - 1)
			len = 0; /* an absurd line: dropped */
	}
	if (first) {
		ctl_err(c, "env '%s': blastfs closed the connection", tg->name);
		return -EIO;
	}
	ctl_status(c, "env '%s' is no longer mounted", tg->name);
	return 0;
}

int ctl_cmd_watch(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	struct snap_target tg = {.lock_fd = -1};
	const char *name = NULL;
	int o, r, fd;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1)
		return ctl_opt_exit(o);
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'",
				       argv[optind]);
	if (name && store_name_check(name))
		return snap_name_usage(c, "env", name);
	r = snap_target_open(c, name, &tg);
	if (!r && !tg.mounted) {
		ctl_err(c, "env '%s' is not mounted: start it to watch it",
			tg.name);
		r = -ENOTCONN;
	}
	if (r)
		goto out;
	fd = daemon_connect(tg.rundir, tg.name);
	if (fd < 0 ||
	    write(fd, "watch\n", 6) != 6 /* ctlproto_cmds[CTLP_WATCH] */) {
		r = fd < 0 ? fd : -errno;
		ctl_err(c, "cannot reach blastfs of env '%s': %s", tg.name,
			ctl_strerror(r));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	r = stream(c, &tg, fd);
	close(fd);
out:
	snap_target_close(&tg);
	return r ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
