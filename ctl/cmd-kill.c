/* SPDX-License-Identifier: MIT */
/*
 * cmd-kill.c - `blastctl kill [NAME|DIR] [--force]`: flush a mounted env
 * (the daemon seals every written file and syncs), unmount it and wait
 * for its blastfs to exit. The target is the mount at ./.blast, a
 * directory (its .blast, or itself if it is the mountpoint) or an env
 * name. A stale mount (daemon killed) is just cleared. ctl_daemon_stop
 * is also how create's seeding ends its private mount. A mount whose
 * directory was moved is found where it is now (daemon_info), and the
 * env follows it: its scripts are pointed there and its record too.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activate.h"
#include "autocompact.h"
#include "ctl.h"
#include "daemon.h"
#include "project.h"
#include "store.h"
#include "venv.h"

#define SYNC_TIMEOUT_MS (10 * 60 * 1000) /* sealing a big pip install */
#define EXIT_TIMEOUT_MS (30 * 1000)
#define LAZY_GRACE_MS	2000 /* a detached mount's users may leave */

struct kill_args {
	const char *target; /* NULL: ./.blast */
	bool force;
};

/* What to stop, once resolved. */
struct kill {
	struct ctl *c;
	char home[PATH_MAX], rundir[PATH_MAX];
	char name[STORE_ENV_NAME_MAX + 1];
	char mnt[PATH_MAX];
	struct daemon_info info;
};

enum { OPT_FORCE = 0x100 };

static int kill_parse(struct ctl *c, int argc, char **argv, struct kill_args *a)
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
	if (argc - optind > 1)
		return ctl_usage_error(c, "too many arguments");
	a->target = optind < argc ? argv[optind] : NULL;
	if (a->target && !*a->target)
		return ctl_usage_error(c, "empty NAME or DIR");
	return CTL_PARSED;
}

/* An absolute path for a dead mount, which cannot be stat'ed: its parent
 * resolved, its last component kept. */
static int path_canon(const char *path, char *out, size_t len)
{
	char *a = strdup(path), *b = strdup(path), parent[PATH_MAX];
	const char *base;
	int r = 0, n;

	if (!a || !b) {
		r = -ENOMEM;
		goto out_free;
	}
	base = basename(b);
	if (!realpath(dirname(a), parent)) {
		r = -errno;
		goto out_free;
	}
	if (!strcmp(base, "/") || !strcmp(base, "."))
		n = snprintf(out, len, "%s", parent);
	else
		n = snprintf(out, len, "%s/%s",
			     strcmp(parent, "/") ? parent : "", base);
	if (n < 0 || (size_t)n >= len)
		r = -ENAMETOOLONG;
out_free:
	free(a);
	free(b);
	return r;
}

/* By mountpoint: 1 if a live daemon serves it (k filled), 0 if there was
 * only a stale mount (cleared), else -errno (printed). */
static int resolve_mount(struct kill *k)
{
	struct daemon_probe p;
	int r;

	r = daemon_mount_probe(k->rundir, k->mnt, &p);
	if (r < 0) {
		ctl_err(k->c, "cannot read the mount table: %s",
			ctl_strerror(r));
		return r;
	}
	switch (p.state) {
	case DAEMON_MNT_LIVE:
		memcpy(k->name, p.env, sizeof(k->name));
		k->info = p.info;
		return 1;
	case DAEMON_MNT_STALE:
		r = ctl_daemon_clear_stale(k->c, k->mnt);
		return r < 0 ? r : 0;
	case DAEMON_MNT_FOREIGN:
		ctl_err(k->c, "'%s' is not an env of store '%s' (a %s mount)",
			k->mnt, k->home, p.m.fstype);
		return -EINVAL;
	case DAEMON_MNT_NONE:
		break;
	}
	ctl_err(k->c, "no env is mounted at '%s'", k->mnt);
	return -ENOENT;
}

/* The env's record, read from the store (-ENOENT: no such env). */
static int env_read(struct kill *k, struct store_env *e)
{
	struct store_txn *t;
	struct store *st;
	int r = ctl_store(k->c, &st);

	if (r < 0)
		return r;
	r = store_txn_begin(st, false, &t);
	if (!r) {
		r = store_env_get(t, k->name, e);
		store_txn_abort(t);
	}
	return r;
}

static int env_exists(struct kill *k)
{
	struct store_env e;
	int r = env_read(k, &e);

	if (r == -ENOENT)
		ctl_err(k->c, "no env named '%s'", k->name);
	else if (r < 0)
		ctl_err(k->c, "cannot read env '%s' in store '%s': %s", k->name,
			k->home, ctl_strerror(r));
	return r;
}

/* By env name: as resolve_mount. A dead daemon's run file still says
 * where its stale mount is. */
static int resolve_name(struct kill *k)
{
	struct daemon_probe p;
	int r;

	r = env_exists(k);
	if (r < 0)
		return r;
	r = daemon_info_read(k->rundir, k->name, &k->info);
	if (!r && k->info.live) {
		snprintf(k->mnt, sizeof(k->mnt), "%s", k->info.mount);
		return 1;
	}
	if (!r && k->info.mount[0] &&
	    !daemon_mount_probe(k->rundir, k->info.mount, &p) &&
	    p.state == DAEMON_MNT_STALE) {
		r = ctl_daemon_clear_stale(k->c, k->info.mount);
		return r < 0 ? r : 0;
	}
	ctl_err(k->c, "env '%s' is not mounted", k->name);
	return -ENOENT;
}

/* NAME, DIR, or nothing (./.blast). A directory wins over a name unless
 * nothing is mounted there; a dead mount (ENOTCONN) counts as a
 * directory. */
static int kill_resolve(struct kill *k, const char *target)
{
	struct daemon_mount m;
	struct stat sb;
	char path[PATH_MAX];
	bool is_dir = true, dead = false;
	int r = 0;

	if (target && stat(target, &sb) < 0) {
		dead = errno == ENOTCONN;
		is_dir = dead;
	} else if (target) {
		is_dir = S_ISDIR(sb.st_mode);
	}
	if (!is_dir && store_name_check(target) == 0) {
		snprintf(k->name, sizeof(k->name), "%s", target);
		return resolve_name(k);
	}
	if (!is_dir) {
		ctl_err(k->c, "no env or directory named '%s'", target);
		return -ENOENT;
	}
	if (dead)
		r = path_canon(target, path, sizeof(path));
	else if (!realpath(target ? target : ".", path))
		r = -errno;
	if (r < 0) {
		ctl_err(k->c, "cannot resolve '%s': %s", target ? target : ".",
			ctl_strerror(r));
		return r;
	}
	if (target && daemon_mount_find(path, &m) == 0)
		snprintf(k->mnt, sizeof(k->mnt), "%s", path);
	else if (snprintf(k->mnt, sizeof(k->mnt), "%s/.blast",
			  strcmp(path, "/") ? path : "") >= (int)sizeof(k->mnt))
		return -ENAMETOOLONG;
	/* a directory with nothing mounted in it may share an env's name */
	if (target && !store_name_check(target) &&
	    daemon_mount_find(k->mnt, &m) == -ENOENT) {
		snprintf(k->name, sizeof(k->name), "%s", target);
		return resolve_name(k);
	}
	return resolve_mount(k);
}

/* Ask the daemon to seal and sync; a reply {"ok":false,"error":E} is
 * -EIO with E in err. */
static int daemon_sync(const char *rundir, const char *name, char *err,
		       size_t errlen)
{
	json_t *rep = NULL;
	const char *msg;
	int r;

	r = daemon_request(rundir, name, "sync", SYNC_TIMEOUT_MS, &rep);
	if (r < 0) {
		snprintf(err, errlen, "%s", strerror(-r));
		return r;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		msg = json_string_value(json_object_get(rep, "error"));
		snprintf(err, errlen, "%s", msg ? msg : "blastfs said no");
		r = -EIO;
	}
	json_decref(rep);
	return r;
}

/* Unmount; with force a busy mount is detached. *lazy tells which. */
static int stop_umount(struct ctl *c, const char *mnt, bool force, bool *lazy)
{
	char err[DAEMON_ERR_LEN];
	int r;

	*lazy = false;
	r = daemon_umount(mnt, false, err, sizeof(err));
	if (r == -EBUSY && !force) {
		ctl_err(c,
			"mount '%s' is busy (a process has its cwd or open "
			"files inside); close them or use --force",
			mnt);
		return r;
	}
	if (r == -EBUSY) {
		r = daemon_umount(mnt, true, err, sizeof(err));
		*lazy = !r;
		if (!r)
			ctl_status(c,
				   "mount '%s' is busy: detached it lazily "
				   "(--force)",
				   mnt);
	}
	if (r < 0)
		ctl_err(c, "cannot unmount '%s': %s", mnt, err);
	return r;
}

int ctl_daemon_stop(struct ctl *c, const char *rundir, const char *name,
		    const char *mnt, pid_t pid, bool force)
{
	char err[DAEMON_ERR_LEN];
	bool lazy;
	int r;

	r = daemon_sync(rundir, name, err, sizeof(err));
	if (r < 0 && !force) {
		ctl_err(c,
			"cannot flush env '%s' (blastfs pid %d): %s; left it "
			"mounted (--force unmounts anyway)",
			name, (int)pid, err);
		return r;
	}
	if (r < 0)
		ctl_warn(c, "cannot flush env '%s': %s; unmounting anyway",
			 name, err);
	r = stop_umount(c, mnt, force, &lazy);
	if (r < 0)
		return r;
	r = daemon_wait_gone(pid, lazy ? LAZY_GRACE_MS : EXIT_TIMEOUT_MS);
	if (r == -ETIMEDOUT && lazy) {
		/* processes inside keep a detached mount, and so its daemon,
		 * alive: --force means they lose it now */
		ctl_status(c,
			   "stopping blastfs (pid %d): processes still inside "
			   "'%s' lose access to it",
			   (int)pid, mnt);
		kill(pid, SIGTERM);
		r = daemon_wait_gone(pid, EXIT_TIMEOUT_MS);
	}
	if (r < 0) {
		ctl_err(c,
			"blastfs (pid %d) of env '%s' did not exit within %d s "
			"of the unmount",
			(int)pid, name, EXIT_TIMEOUT_MS / 1000);
		return r;
	}
	return 0;
}

/* The env's recorded mountpoint (what its scripts name) into old. */
static int recorded_mount(struct kill *k, char *old, size_t len)
{
	struct store_env e;
	int r = env_read(k, &e);

	if (!r)
		snprintf(old, len, "%s", e.mount);
	return r;
}

/* The mount's directory moved from old: point the env's scripts at
 * where it is now, through the mount, before it goes. False (said) if
 * that fails: the record then keeps old. */
static bool rehome_scripts(struct kill *k, const char *old)
{
	char failed[PATH_MAX];
	int n;

	n = venv_shebangs_fix(k->mnt, old, failed, sizeof(failed));
	if (n < 0) {
		ctl_warn(k->c, "cannot point '%s' at '%s': %s", failed, k->mnt,
			 ctl_strerror(n));
		return false;
	}
	return ctl_activate_refresh(k->c, k->name, k->mnt) == 0;
}

/* ... and once the daemon is gone, the env's record. */
static void rehome_record(struct kill *k)
{
	struct store_txn *t;
	struct store_env e;
	struct store *st;
	int r;

	r = ctl_store(k->c, &st);
	if (!r)
		r = store_txn_begin(st, true, &t);
	if (r < 0)
		goto out_err;
	r = store_env_get(t, k->name, &e);
	if (!r) {
		snprintf(e.mount, sizeof(e.mount), "%s", k->mnt);
		r = store_env_put(t, &e);
	}
	if (r < 0) {
		store_txn_abort(t);
		goto out_err;
	}
	r = store_txn_commit(t);
	if (!r) {
		char dir[PATH_MAX];

		project_dir(k->mnt, dir, sizeof(dir));
		ctl_status(k->c, "env '%s' moved with its project to '%s'",
			   k->name, dir);
		return;
	}
out_err:
	ctl_warn(k->c, "cannot record env '%s' at '%s': %s", k->name, k->mnt,
		 ctl_strerror(r));
}

static int kill_run(struct ctl *c, const struct kill_args *a)
{
	struct kill k = {.c = c};
	char old[PATH_MAX] = "";
	bool moved;
	int r;

	r = ctl_daemon_dirs(c, k.home, k.rundir);
	if (r < 0)
		return r;
	r = kill_resolve(&k, a->target);
	if (r <= 0)
		return r;
	moved = !recorded_mount(&k, old, sizeof(old)) && old[0] &&
		strcmp(old, k.mnt) && rehome_scripts(&k, old);
	r = ctl_daemon_stop(c, k.rundir, k.name, k.mnt, k.info.pid, a->force);
	if (r < 0)
		return r;
	if (moved)
		rehome_record(&k);
	(void)ctl_autocompact_kick(k.home); /* what the env wrote */
	ctl_status(c, "unmounted env '%s' from %s (blastfs pid %d exited)",
		   k.name, k.mnt, (int)k.info.pid);
	return 0;
}

int ctl_cmd_kill(struct ctl *c, int argc, char **argv)
{
	struct kill_args a = {0};
	int rc;

	rc = kill_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	return kill_run(c, &a) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
