/* SPDX-License-Identifier: MIT */
/*
 * cmd-status.c - `blastctl status [NAME]`: a mounted env's live metrics,
 * asked from its daemon over the control socket. The daemon decides what
 * it reports; this prints any object generically (`key: value` lines,
 * nested objects indented) or, with --json, as it came.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"
#include "snap.h"
#include "store.h"

#define STATUS_TIMEOUT_MS (10 * 1000)

struct status_args {
	const char *name; /* NULL: the env mounted at ./.blast */
};

static int status_parse(struct ctl *c, int argc, char **argv,
			struct status_args *a)
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
	if (argc - optind > 1)
		return ctl_usage_error(c, "too many arguments");
	a->name = optind < argc ? argv[optind] : NULL;
	if (a->name && store_name_check(a->name))
		return snap_name_usage(c, "env", a->name);
	return CTL_PARSED;
}

/* The env to ask and its daemon. */
static int status_target(struct ctl *c, const char *rundir, const char *arg,
			 char *name, struct daemon_info *info)
{
	char cwd[PATH_MAX], mnt[PATH_MAX + 8];

	if (arg) {
		snprintf(name, STORE_ENV_NAME_MAX + 1, "%s", arg);
		if (!daemon_info_read(rundir, name, info) && info->live)
			return 0;
		ctl_err(c, "env '%s' is not mounted", name);
		return -ENOENT;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		ctl_err(c, "cannot get the current directory: %s",
			ctl_strerror(errno));
		return -errno;
	}
	snprintf(mnt, sizeof(mnt), "%s/.blast", strcmp(cwd, "/") ? cwd : "");
	if (!daemon_find_by_mount(rundir, mnt, name, info))
		return 0;
	ctl_err(c, "no env is mounted at '%s'", mnt);
	return -ENOENT;
}

static void print_value(const char *key, json_t *v, int indent);

static void print_object(json_t *o, int indent)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		if (indent == 0 && !strcmp(key, "ok"))
			continue;
		print_value(key, v, indent);
	}
}

static void print_value(const char *key, json_t *v, int indent)
{
	char b[CTL_BYTES_LEN];
	char *s;

	printf("%*s%s:", indent, "", key);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		putchar('\n');
		print_object(v, indent + 2);
		return;
	case JSON_STRING:
		printf(" %s\n", json_string_value(v));
		return;
	case JSON_INTEGER:
		printf(" %lld", (long long)json_integer_value(v));
		/* byte counts also for humans */
		if (strstr(key, "bytes") || strstr(key, "_used") ||
		    strstr(key, "_size"))
			printf(" (%s)",
			       ctl_fmt_bytes(b, sizeof(b),
					     (uint64_t)json_integer_value(v)));
		putchar('\n');
		return;
	default:
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf(" %s\n", s ? s : "?");
		free(s);
		return;
	}
}

static int status_run(struct ctl *c, const struct status_args *a)
{
	char home[PATH_MAX], rundir[PATH_MAX], name[STORE_ENV_NAME_MAX + 1];
	struct daemon_info info;
	json_t *rep = NULL;
	const char *msg;
	int r;

	r = ctl_daemon_dirs(c, home, rundir);
	if (!r)
		r = status_target(c, rundir, a->name, name, &info);
	if (r < 0)
		return r;
	r = daemon_request(rundir, name, "status", STATUS_TIMEOUT_MS, &rep);
	if (r < 0) {
		ctl_err(c, "cannot ask blastfs (pid %d) of env '%s': %s",
			(int)info.pid, name, ctl_strerror(r));
		return r;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		msg = json_string_value(json_object_get(rep, "error"));
		ctl_err(c, "blastfs (pid %d) of env '%s' says: %s",
			(int)info.pid, name, msg ? msg : "not ok");
		json_decref(rep);
		return -EIO;
	}
	/* the daemon knows the path it was given; a moved mount is where
	 * mountinfo says (daemon_info) */
	if (json_object_get(rep, "mount"))
		json_object_set_new(rep, "mount", json_string(info.mount));
	if (c->json)
		return ctl_json_print(c, rep);
	print_object(rep, 0);
	json_decref(rep);
	return 0;
}

int ctl_cmd_status(struct ctl *c, int argc, char **argv)
{
	struct status_args a = {0};
	int rc;

	rc = status_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	return status_run(c, &a) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
