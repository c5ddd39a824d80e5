/* SPDX-License-Identifier: MIT */
/*
 * pkg.c (ctl) - the package state as check, deps and clean use it: the
 * marker environment (asked of the interpreter once, then kept with the
 * env), loading the records, and the full rebuild.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ctl.h"
#include "daemon.h"
#include "pkg.h"

#define SYNC_TIMEOUT_MS (10 * 60 * 1000)

/* PEP 508's definitions of each variable, printed as key=value lines. */
static const char markers_py[] =
    "import os, sys, platform\n"
    "def f(i):\n"
    "    v = '%d.%d.%d' % (i.major, i.minor, i.micro)\n"
    "    if i.releaselevel != 'final':\n"
    "        v += i.releaselevel[0] + str(i.serial)\n"
    "    return v\n"
    "e = dict(implementation_name=sys.implementation.name,\n"
    "    implementation_version=f(sys.implementation.version),\n"
    "    os_name=os.name, platform_machine=platform.machine(),\n"
    "    platform_release=platform.release(),\n"
    "    platform_system=platform.system(),\n"
    "    platform_version=platform.version(),\n"
    "    python_full_version=platform.python_version(),\n"
    "    platform_python_implementation=platform.python_implementation(),\n"
    "    python_version='.'.join(platform.python_version_tuple()[:2]),\n"
    "    sys_platform=sys.platform)\n"
    "for k, v in e.items():\n"
    "    print(k + '=' + v.replace('\\n', ' ')[:120])\n";

int ctl_pkg_markers_ask(struct ctl *c, const char *python,
			struct pkg_markerenv *out)
{
	const char *argv[] = {python, "-I", "-c", markers_py, NULL};
	char buf[4096], err[512], line[256];
	struct daemon_exec x = {
	    .argv = argv,
	    .out = buf,
	    .outlen = sizeof(buf),
	    .err = err,
	    .errlen = sizeof(err),
	    .timeout_ms = 30000,
	};
	int r = daemon_exec_run(&x);

	if (!r && (!WIFEXITED(x.status) || WEXITSTATUS(x.status)))
		r = -EIO;
	if (!r)
		r = pkg_markerenv_parse(buf, strlen(buf), out);
	if (r) {
		daemon_last_line(err, NULL, line, sizeof(line));
		ctl_err(c, "cannot ask '%s' for its marker environment: %s",
			python, line[0] ? line : ctl_strerror(r));
	}
	return r;
}

static int env_get(struct snap_target *tg, struct store_txn *t,
		   struct store_env *e)
{
	int r = store_env_get(t, tg->name, e);

	if (r)
		ctl_err(tg->c, "cannot read env '%s': %s", tg->name,
			ctl_strerror(r));
	return r;
}

int ctl_pkg_markers(struct snap_target *tg, struct pkg_markerenv *out)
{
	struct store_txn *t;
	struct store_env e;
	int r = store_txn_begin(tg->st, false, &t);

	if (r) {
		ctl_err(tg->c, "cannot read the store: %s", ctl_strerror(r));
		return r;
	}
	r = env_get(tg, t, &e);
	if (!r)
		r = pkgstate_markers_get(t, e.root, out);
	store_txn_abort(t);
	if (r != -ENOENT)
		return r;
	/* never checked: a state from before live updates is rebuilt */
	r = ctl_pkg_rebuild(tg, NULL);
	if (r)
		return r;
	ctl_status(tg->c, "%s: package state rebuilt from a full rescan",
		   tg->name);
	r = store_txn_begin(tg->st, false, &t);
	if (r)
		return r;
	r = env_get(tg, t, &e);
	if (!r)
		r = pkgstate_markers_get(t, e.root, out);
	store_txn_abort(t);
	return r;
}

/* cmd on the control socket of a mounted target (nothing unmounted). */
static int mounted_request(struct snap_target *tg, const char *cmd)
{
	json_t *rep;
	int r;

	if (!tg->mounted)
		return 0;
	r = snap_request(tg, cmd, SYNC_TIMEOUT_MS, &rep);
	if (!r)
		json_decref(rep);
	return r;
}

int ctl_pkg_load(struct snap_target *tg, struct store_env *env,
		 struct pkg_dist **out, size_t *n)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	/* files written and closed are sealed by the daemon a moment later
	 * (fs/sealer.c): their package state with them */
	r = mounted_request(tg, "seal");
	if (r)
		return r;
	r = store_txn_begin(tg->st, false, &t);
	if (r) {
		ctl_err(tg->c, "cannot read the store: %s", ctl_strerror(r));
		return r;
	}
	r = env_get(tg, t, &e);
	if (!r) {
		r = pkgstate_load(t, e.root, out, n);
		if (!r) {
			r = ctl_pkg_pth_dists(t, &e, tg->mounted, out, n);
			if (r)
				pkgstate_free(*out, *n);
		}
		if (r)
			ctl_err(tg->c, "cannot read the packages of '%s': %s",
				tg->name, ctl_strerror(r));
	}
	store_txn_abort(t);
	if (!r && env)
		*env = e;
	return r;
}

int ctl_pkg_rebuild(struct snap_target *tg, size_t *count)
{
	struct pkg_markerenv m;
	struct store_txn *t;
	struct store_env e;
	int r;

	r = mounted_request(tg, "sync");
	if (r)
		return r;
	r = store_txn_begin(tg->st, false, &t);
	if (r)
		goto fail;
	r = env_get(tg, t, &e);
	store_txn_abort(t);
	if (r)
		return r;
	r = ctl_pkg_markers_ask(tg->c, e.python, &m);
	if (r)
		return r;
	r = store_txn_begin(tg->st, true, &t);
	if (r)
		goto fail;
	r = env_get(tg, t, &e);
	if (r) {
		store_txn_abort(t);
		return r;
	}
	r = pkgstate_markers_set(t, &e, &m);
	if (!r)
		r = pkgstate_rebuild(t, &e, count);
	if (!r)
		r = store_txn_commit(t);
	else
		store_txn_abort(t);
	if (!r) {
		/* the daemon's `watch` clients hear what the rescan changed;
		 * only notifications, so a failure here fails nothing */
		json_t *rep = NULL;

		if (tg->mounted &&
		    daemon_request(tg->rundir, tg->name, "pkg-refresh",
				   SYNC_TIMEOUT_MS, &rep) == 0)
			json_decref(rep);
		return 0;
	}
fail:
	ctl_err(tg->c, "cannot rebuild the packages of '%s': %s", tg->name,
		ctl_strerror(r));
	return r;
}
