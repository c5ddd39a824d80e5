/* SPDX-License-Identifier: MIT */
/*
 * cmd-save.c - `blastctl save [NAME] SNAP [-m MSG]`: freeze the env's
 * live root under the name SNAP, in O(1). Mounted, the daemon does it
 * (it seals written files first); unmounted it is one store write txn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "autocompact.h"
#include "ctl.h"
#include "daemon.h"
#include "snap.h"
#include "store.h"

#define SAVE_TIMEOUT_MS (10 * 60 * 1000) /* sealing a big pip install */

struct save_args {
	const char *name; /* NULL: the env mounted at ./.blast */
	const char *snap;
	const char *msg;
};

static int save_parse(struct ctl *c, int argc, char **argv, struct save_args *a)
{
	static const struct option opts[] = {
	    {"message", required_argument, NULL, 'm'},
	    CTL_OPTION_HELP,
	    {0},
	};
	int o, n;

	while ((o = ctl_getopt(c, argc, argv, "m:", opts)) != -1) {
		if (o != 'm')
			return ctl_opt_exit(o);
		a->msg = optarg;
	}
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
	if (a->msg && strchr(a->msg, '\n'))
		return ctl_usage_error(c, "the message must be one line");
	if (a->msg &&
	    strlen(a->msg) >= sizeof(((struct store_snap *)0)->message))
		return ctl_usage_error(
		    c, "the message is longer than %zu bytes",
		    sizeof(((struct store_snap *)0)->message) - 1);
	return CTL_PARSED;
}

static int save_txn(struct store_txn *t, struct snap_target *tg,
		    const struct save_args *a)
{
	struct store_snap s = {0};
	struct store_env e;
	int r;

	snprintf(s.name, sizeof(s.name), "%s", a->snap);
	snprintf(s.message, sizeof(s.message), "%s", a->msg ? a->msg : "");
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = store_snap_create(t, &e, &s);
	return r;
}

static int save_store(struct snap_target *tg, const struct save_args *a)
{
	struct store_txn *t;
	int r;

	r = store_txn_begin(tg->st, true, &t);
	if (r < 0)
		return r;
	r = save_txn(t, tg, a);
	if (r < 0) {
		store_txn_abort(t);
		return r;
	}
	return store_txn_commit(t);
}

/* The daemon replies "exists"-style errors itself; checking first gives
 * the same message mounted or not. */
static int snap_free(struct snap_target *tg, const char *snap)
{
	struct store_txn *t;
	struct store_snap s;
	struct store_env e;
	int r;

	r = store_txn_begin(tg->st, false, &t);
	if (r < 0)
		return r;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = store_snap_get(t, &e, snap, &s);
	store_txn_abort(t);
	if (r == 0)
		return -EEXIST;
	return r == -ENOENT ? 0 : r;
}

static int save_rpc(struct snap_target *tg, const struct save_args *a)
{
	const char *argv[] = {"save", a->snap, "0", a->msg ? a->msg : "", NULL};
	json_t *rep;
	int r;

	r = snap_requestv(tg, argv, SAVE_TIMEOUT_MS, &rep);
	if (r < 0)
		return r;
	json_decref(rep);
	return 0;
}

static int save_run(struct ctl *c, const struct save_args *a)
{
	struct snap_target tg;
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = snap_target_open(c, a->name, &tg);
	if (r < 0)
		goto out_close;
	r = snap_free(&tg, a->snap);
	if (r == 0 && tg.mounted) {
		r = save_rpc(&tg, a);
		if (r < 0)
			goto out_close; /* printed */
	} else if (r == 0) {
		r = save_store(&tg, a);
	}
	if (r == -EEXIST)
		ctl_err(c, "env '%s' already has a snapshot '%s'", tg.name,
			a->snap);
	else if (r < 0)
		ctl_err(c, "cannot save '%s@%s': %s", tg.name, a->snap,
			ctl_strerror(r));
	else
		ctl_status(c, "saved '%s@%s'%s in %.1f ms", tg.name, a->snap,
			   tg.mounted ? " (mounted)" : "",
			   ctl_seconds_since(&t0) * 1000);
	if (r == 0) /* what the env wrote up to now */
		(void)ctl_autocompact_kick(tg.home);
out_close:
	snap_target_close(&tg);
	return r;
}

int ctl_cmd_save(struct ctl *c, int argc, char **argv)
{
	struct save_args a = {0};
	int rc;

	rc = save_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	return save_run(c, &a) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
