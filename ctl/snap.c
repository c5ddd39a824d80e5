/* SPDX-License-Identifier: MIT */
/*
 * snap.c - the parts the snapshot commands share: which env, mounted or
 * not (decided by the env's lock, see snap.h), the daemon requests, the
 * snapshot list and the unmounted load as one store write txn.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"
#include "snap.h"
#include "store.h"

#define LOAD_TIMEOUT_MS (10 * 60 * 1000) /* sealing before the auto save */

int snap_name_usage(struct ctl *c, const char *what, const char *name)
{
	return ctl_usage_error(
	    c,
	    "invalid %s name '%s': use 1-64 of "
	    "A-Z a-z 0-9 . _ -, not starting with '.' or '-'",
	    what, name);
}

static int env_check(struct snap_target *tg)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	r = store_txn_begin(tg->st, false, &t);
	if (!r) {
		r = store_env_get(t, tg->name, &e);
		store_txn_abort(t);
	}
	if (r == -ENOENT)
		ctl_err(tg->c, "no env named '%s'", tg->name);
	else if (r < 0)
		ctl_err(tg->c, "cannot read env '%s': %s", tg->name,
			ctl_strerror(r));
	return r;
}

/* The env's lock: held means unmounted and ours; busy means a daemon (or
 * another blastctl) has it. */
static int target_lock(struct snap_target *tg)
{
	char path[PATH_MAX + STORE_ENV_NAME_MAX + 8];
	struct daemon_info info;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s.lock", tg->rundir, tg->name);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		ctl_err(tg->c, "cannot open '%s': %s", path, ctl_strerror(r));
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (tg->recovered) {
			tg->lock_fd = fd;
			return 0;
		}
		/* writes a killed daemon left: into the store first */
		close(fd);
		tg->recovered = true;
		r = daemon_recover(tg->c, tg->home, tg->name);
		return r < 0 ? r : target_lock(tg);
	}
	close(fd);
	if (daemon_info_read(tg->rundir, tg->name, &info) == 0 && info.live) {
		tg->mounted = true;
		tg->pid = info.pid;
		snprintf(tg->mnt, sizeof(tg->mnt), "%s", info.mount);
		return 0;
	}
	ctl_err(tg->c,
		"env '%s' is busy: another blastctl or blastfs holds "
		"its lock; try again",
		tg->name);
	return -EBUSY;
}

/* ./.blast's env, which must be mounted. */
static int target_cwd(struct snap_target *tg)
{
	char cwd[PATH_MAX], mnt[PATH_MAX + 8];
	struct daemon_info info;
	int r;

	if (!getcwd(cwd, sizeof(cwd))) {
		r = -errno;
		ctl_err(tg->c, "cannot get the current directory: %s",
			ctl_strerror(r));
		return r;
	}
	snprintf(mnt, sizeof(mnt), "%s/.blast", strcmp(cwd, "/") ? cwd : "");
	if (daemon_find_by_mount(tg->rundir, mnt, tg->name, &info) == 0)
		return 0;
	ctl_err(tg->c, "no env is mounted at '%s': name the env", mnt);
	return -ENOENT;
}

int snap_target_open(struct ctl *c, const char *name, struct snap_target *tg)
{
	int r;

	memset(tg, 0, sizeof(*tg));
	tg->c = c;
	tg->lock_fd = -1;
	r = ctl_daemon_dirs(c, tg->home, tg->rundir);
	if (r < 0)
		return r;
	r = ctl_store(c, &tg->st);
	if (r < 0)
		return r;
	if (name)
		snprintf(tg->name, sizeof(tg->name), "%s", name);
	else if ((r = target_cwd(tg)) < 0)
		return r;
	r = env_check(tg);
	if (r < 0)
		return r;
	return target_lock(tg);
}

void snap_target_close(struct snap_target *tg)
{
	if (tg->lock_fd >= 0)
		close(tg->lock_fd);
	tg->lock_fd = -1;
}

int snap_request(struct snap_target *tg, const char *cmd, int timeout_ms,
		 json_t **out)
{
	const char *argv[] = {cmd, NULL};

	return snap_requestv(tg, argv, timeout_ms, out);
}

int snap_requestv(struct snap_target *tg, const char *const *argv,
		  int timeout_ms, json_t **out)
{
	json_t *rep = NULL;
	const char *msg;
	int r;

	r = daemon_requestv(tg->rundir, tg->name, argv, timeout_ms, &rep);
	if (r < 0) {
		ctl_err(tg->c, "cannot ask blastfs (pid %d) of env '%s': %s",
			(int)tg->pid, tg->name, ctl_strerror(r));
		return r;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		msg = json_string_value(json_object_get(rep, "error"));
		ctl_err(tg->c, "env '%s' (blastfs pid %d): %s", tg->name,
			(int)tg->pid, msg ? msg : "request failed");
		json_decref(rep);
		return -EIO;
	}
	*out = rep;
	return 0;
}

/* ---- the snapshot list ------------------------------------------- */

struct snap_vec {
	struct store_snap *v;
	size_t n, cap;
};

static int snap_collect(void *arg, const struct store_snap *s)
{
	struct snap_vec *sv = arg;
	struct store_snap *v;

	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? 2 * sv->cap : 16;

		v = realloc(sv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = *s;
	return 0;
}

static int snap_cmp(const void *a, const void *b)
{
	const struct store_snap *x = a, *y = b;

	if (x->created_ns != y->created_ns)
		return x->created_ns < y->created_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

int snap_list(struct store_txn *t, const struct store_env *e,
	      struct store_snap **out, size_t *n)
{
	struct snap_vec sv = {0};
	int r;

	r = store_snap_iter(t, e, snap_collect, &sv);
	if (r < 0) {
		free(sv.v);
		return r;
	}
	if (sv.n)
		qsort(sv.v, sv.n, sizeof(*sv.v), snap_cmp);
	*out = sv.v;
	*n = sv.n;
	return 0;
}

int snap_auto_name(struct store_txn *t, const struct store_env *e, char *out)
{
	struct store_snap s;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int n, r;

	if (!localtime_r(&now, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm))
		return -EINVAL;
	for (n = 1; n < 10000; n++) {
		snprintf(out, STORE_ENV_NAME_MAX + 1, "auto-%s-%d", stamp, n);
		r = store_snap_get(t, e, out, &s);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
	}
	return -EEXIST;
}

/* ---- load -------------------------------------------------------- */

/* Is root some snapshot's root? */
static int root_saved(struct store_txn *t, const struct store_env *e,
		      bool *saved)
{
	struct store_snap *v;
	size_t n, i;
	int r;

	r = snap_list(t, e, &v, &n);
	if (r < 0)
		return r;
	*saved = false;
	for (i = 0; i < n; i++)
		if (v[i].root == e->root)
			*saved = true;
	free(v);
	return 0;
}

static int load_txn(struct store_txn *t, struct snap_target *tg,
		    const char *snap, char *auto_saved)
{
	struct store_snap s, a = {.automatic = true};
	struct store_env e;
	bool saved = true;
	int r;

	r = store_env_get(t, tg->name, &e);
	if (r < 0)
		return r;
	r = store_snap_get(t, &e, snap, &s);
	if (r == -ENOENT) {
		ctl_err(tg->c, "env '%s' has no snapshot '%s'", tg->name, snap);
		return -ENOENT;
	}
	if (r == 0)
		r = root_saved(t, &e, &saved);
	if (r < 0)
		return r;
	if (!saved) {
		r = snap_auto_name(t, &e, a.name);
		if (!r) {
			snprintf(a.message, sizeof(a.message),
				 "before loading '%s'", snap);
			r = store_snap_create(t, &e, &a);
		}
		if (r < 0)
			return r;
		snprintf(auto_saved, STORE_ENV_NAME_MAX + 1, "%s", a.name);
	}
	if (s.root == e.root)
		return 0;
	return store_env_set_root(t, &e, s.root);
}

int snap_load_store(struct snap_target *tg, const char *snap,
		    char auto_saved[STORE_ENV_NAME_MAX + 1])
{
	struct store_txn *t;
	int r;

	auto_saved[0] = '\0';
	r = store_txn_begin(tg->st, true, &t);
	if (r < 0)
		goto out_err;
	r = load_txn(t, tg, snap, auto_saved);
	if (r == -ENOENT) {
		store_txn_abort(t);
		return r; /* printed */
	}
	if (r < 0) {
		store_txn_abort(t);
		goto out_err;
	}
	r = store_txn_commit(t);
	if (r < 0)
		goto out_err;
	return 0;
out_err:
	auto_saved[0] = '\0';
	ctl_err(tg->c, "cannot load '%s@%s': %s", tg->name, snap,
		ctl_strerror(r));
	return r;
}

/* Mounted: the daemon checks for writers, saves and flips. */
static int load_rpc(struct snap_target *tg, const char *snap,
		    char auto_saved[STORE_ENV_NAME_MAX + 1])
{
	const char *argv[] = {"load", snap, NULL}, *a;
	json_t *rep;
	int r;

	auto_saved[0] = '\0';
	r = snap_requestv(tg, argv, LOAD_TIMEOUT_MS, &rep);
	if (r < 0)
		return r;
	a = json_string_value(json_object_get(rep, "auto_saved"));
	if (a)
		snprintf(auto_saved, STORE_ENV_NAME_MAX + 1, "%s", a);
	json_decref(rep);
	return 0;
}

/* Refuse an unknown snapshot before asking the daemon: its store view
 * is the same LMDB. */
static int snap_exists(struct snap_target *tg, const char *snap)
{
	struct store_txn *t;
	struct store_env e;
	struct store_snap s;
	int r;

	r = store_txn_begin(tg->st, false, &t);
	if (r < 0)
		goto out_err;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = store_snap_get(t, &e, snap, &s);
	store_txn_abort(t);
	if (r == -ENOENT) {
		ctl_err(tg->c, "env '%s' has no snapshot '%s'", tg->name, snap);
		return r;
	}
	if (!r)
		return 0;
out_err:
	ctl_err(tg->c, "cannot read env '%s': %s", tg->name, ctl_strerror(r));
	return r;
}

int snap_load(struct snap_target *tg, const char *snap)
{
	char auto_saved[STORE_ENV_NAME_MAX + 1];
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = snap_exists(tg, snap);
	if (r < 0)
		return r;
	if (tg->mounted)
		r = load_rpc(tg, snap, auto_saved);
	else
		r = snap_load_store(tg, snap, auto_saved);
	if (r < 0)
		return r;
	if (*auto_saved)
		ctl_status(tg->c,
			   "saved the unsaved state of '%s' as automatic "
			   "snapshot '%s'",
			   tg->name, auto_saved);
	ctl_status(tg->c, "loaded '%s@%s'%s in %.1f ms", tg->name, snap,
		   tg->mounted ? " (mounted)" : "",
		   ctl_seconds_since(&t0) * 1000);
	return 0;
}
