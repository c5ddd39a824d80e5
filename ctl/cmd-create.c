/* SPDX-License-Identifier: MIT */
/*
 * cmd-create.c - `blastctl create NAME [--python ...]`: a new env with the
 * venv layout and pip. pip comes from a seed, one per interpreter: the
 * first create for an interpreter builds the layout, mounts it at a
 * private directory in STORE/run/, runs the real ensurepip through the
 * mount and keeps the result as the seed; every later create is an O(1)
 * clone of it. The seed's mount path is a function of its key, so a clone
 * knows which shebangs `start` must point at its own mount.
 * `create NAME --from ENV[@SNAP]` clones another env (its live root, or a
 * snapshot's) the same O(1) way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"
#include "snap.h"
#include "store.h"
#include "venv.h"

#define ENSUREPIP_TIMEOUT_MS (10 * 60 * 1000)
#define ENSUREPIP_OUT_MAX    (64 * 1024) /* the tail is kept */

struct create_args {
	const char *name;
	const char *python;
	const char *from; /* ENV or ENV@SNAP */
};

/* Everything one create needs, filled step by step. */
struct create {
	struct ctl *c;
	struct store *st;
	const char *name;
	struct venv_python py;
	char home[PATH_MAX], rundir[PATH_MAX];
	char key[VENV_SEED_KEY_MAX + 1];
	char mnt[PATH_MAX]; /* the seed's mount directory */
	struct timespec t0;
};

enum { OPT_PYTHON = 0x100, OPT_FROM };

static int create_parse(struct ctl *c, int argc, char **argv,
			struct create_args *a)
{
	static const struct option opts[] = {
	    {"python", required_argument, NULL, OPT_PYTHON},
	    {"from", required_argument, NULL, OPT_FROM},
	    CTL_OPTION_HELP,
	    {0},
	};
	int o;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		if (o == OPT_FROM) {
			a->from = optarg;
			continue;
		}
		if (o != OPT_PYTHON)
			return ctl_opt_exit(o);
		if (!*optarg)
			return ctl_usage_error(c, "--python needs a path or "
						  "a version");
		a->python = optarg;
	}
	if (a->from && a->python)
		return ctl_usage_error(c, "--from and --python exclude each "
					  "other: a clone keeps its source's "
					  "python");
	if (argc - optind != 1)
		return ctl_usage_error(
		    c, argc == optind ? "expected NAME" : "too many arguments");
	a->name = argv[optind];
	if (store_name_check(a->name))
		return snap_name_usage(c, "env", a->name);
	return CTL_PARSED;
}

/* The seed for cr->key (none yet while the key is empty), or -ENOENT;
 * -EEXIST (printed) if the name is taken. */
static int seed_lookup(struct create *cr, uint64_t *seed)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	r = store_txn_begin(cr->st, false, &t);
	if (r < 0)
		goto out_err;
	r = store_env_get(t, cr->name, &e);
	if (!r) {
		store_txn_abort(t);
		ctl_err(cr->c, "env '%s' already exists", cr->name);
		return -EEXIST;
	}
	if (r == -ENOENT && cr->key[0])
		r = store_seed_get(t, cr->key, seed);
	store_txn_abort(t);
	if (r == 0 || r == -ENOENT)
		return r;
out_err:
	ctl_err(cr->c, "cannot read store '%s': %s", cr->home, ctl_strerror(r));
	return r;
}

static void env_fill(struct create *cr, struct store_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", cr->name);
	snprintf(e->python, sizeof(e->python), "%s", cr->py.exe);
	snprintf(e->pyver, sizeof(e->pyver), "%s", cr->py.pyver);
}

static int create_fail(struct create *cr, int r)
{
	if (r == -EEXIST)
		ctl_err(cr->c, "env '%s' already exists", cr->name);
	else
		ctl_err(cr->c, "cannot create env '%s' in store '%s': %s",
			cr->name, cr->home, ctl_strerror(r));
	return r;
}

/* O(1): the new env's root is the seed's table; `start` repoints the
 * seed's shebangs from its mount path to the env's. */
static int env_clone(struct create *cr, uint64_t seed, struct store_env *out)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	env_fill(cr, &e);
	snprintf(e.mount, sizeof(e.mount), "%s", cr->mnt);
	r = store_txn_begin(cr->st, true, &t);
	if (r < 0)
		return create_fail(cr, r);
	r = store_env_create(t, &e, seed);
	if (r < 0) {
		store_txn_abort(t);
		return create_fail(cr, r);
	}
	r = store_txn_commit(t);
	if (r < 0)
		return create_fail(cr, r);
	ctl_status(cr->c, "created env '%s' (Python %s, %s) in %.0f ms",
		   cr->name, cr->py.version, cr->py.exe,
		   ctl_seconds_since(&cr->t0) * 1000);
	if (out)
		*out = e;
	return 0;
}

/* The env with the bare layout (no pip yet), in one write txn. */
static int env_layout(struct create *cr)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	env_fill(cr, &e);
	r = store_txn_begin(cr->st, true, &t);
	if (r < 0)
		return create_fail(cr, r);
	r = store_env_create(t, &e, 0);
	if (!r)
		r = venv_layout_build(t, &e, &cr->py);
	if (!r)
		r = store_env_put(t, &e);
	if (r < 0) {
		store_txn_abort(t);
		return create_fail(cr, r);
	}
	r = store_txn_commit(t);
	return r < 0 ? create_fail(cr, r) : 0;
}

/* Undo env_layout after a failed seeding: the store is as it was (but
 * for unreferenced blobs, which gc frees). */
static void env_drop(struct create *cr)
{
	struct store_txn *t;
	int r;

	r = store_txn_begin(cr->st, true, &t);
	if (!r)
		r = store_env_delete(t, cr->name);
	if (!r)
		r = store_txn_commit(t);
	else
		store_txn_abort(t);
	if (r < 0)
		ctl_warn(cr->c, "cannot remove the half-made env '%s': %s",
			 cr->name, ctl_strerror(r));
}

/* The seed's mount directory: nothing left mounted there by a create
 * that died, and empty. */
static int seed_mnt_prepare(struct create *cr)
{
	struct daemon_probe p;
	int r;

	r = daemon_mount_probe(cr->rundir, cr->mnt, &p);
	if (!r && p.state == DAEMON_MNT_LIVE)
		r = ctl_daemon_stop(cr->c, cr->rundir, p.env, cr->mnt,
				    p.info.pid, true);
	else if (!r && p.state != DAEMON_MNT_NONE)
		r = ctl_daemon_clear_stale(cr->c, cr->mnt);
	if (r < 0)
		return r;
	if (mkdir(cr->mnt, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		ctl_err(cr->c, "cannot create '%s': %s", cr->mnt,
			ctl_strerror(r));
	}
	return r;
}

/* pip's own "ERROR: ..." line if there is one (a traceback ends with
 * ensurepip's CalledProcessError, which says nothing), else the last. */
static void ensurepip_reason(const char *out, char *line, size_t len)
{
	const char *p = out, *found = NULL;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, "ERROR: ", 7))
			found = p;
	if (found)
		snprintf(line, len, "%.*s", (int)strcspn(found, "\n"), found);
	else
		daemon_last_line(out, NULL, line, len);
}

/* Keep ensurepip's output where the error message points. */
static void ensurepip_log(struct create *cr, const char *out, char *path,
			  size_t len)
{
	snprintf(path, len, "%s/%s.ensurepip.log", cr->rundir, cr->name);
	if (store_home_write(path, out, strlen(out)) < 0)
		snprintf(path, len, "(not saved)");
}

/* Run ensurepip inside the mounted env, as `python -m venv` does. */
static int ensurepip_run(struct create *cr)
{
	char python[PATH_MAX + 16], venv[PATH_MAX + 16], line[512];
	char log[PATH_MAX + 32], *out = malloc(ENSUREPIP_OUT_MAX);
	const char *argv[] = {python,	       "-m", "ensurepip", "--upgrade",
			      "--default-pip", NULL};
	const char *unset[] = {"PYTHON*", "PIP_*", "VIRTUAL_ENV", NULL};
	const char *set[] = {venv, NULL};
	struct daemon_exec x = {
	    .argv = argv,
	    .cwd = cr->mnt,
	    .unset = unset,
	    .set = set,
	    .out = out,
	    .outlen = ENSUREPIP_OUT_MAX,
	    .err_to_out = true,
	    .timeout_ms = ENSUREPIP_TIMEOUT_MS,
	};
	int r;

	if (!out) {
		ctl_err(cr->c, "out of memory");
		return -ENOMEM;
	}
	snprintf(python, sizeof(python), "%s/bin/python", cr->mnt);
	snprintf(venv, sizeof(venv), "VIRTUAL_ENV=%s", cr->mnt);
	r = daemon_exec_run(&x);
	if (!r && WIFEXITED(x.status) && WEXITSTATUS(x.status) == 0) {
		free(out);
		return 0;
	}
	ensurepip_reason(out, line, sizeof(line));
	if (r == -ETIMEDOUT)
		snprintf(line, sizeof(line), "no result after %d s",
			 ENSUREPIP_TIMEOUT_MS / 1000);
	else if (r < 0)
		snprintf(line, sizeof(line), "%s", ctl_strerror(r));
	ensurepip_log(cr, out, log, sizeof(log));
	free(out);
	ctl_err(cr->c,
		"cannot seed pip into env '%s': '%s -m ensurepip' failed: %s "
		"(output in %s)",
		cr->name, cr->py.exe, *line ? line : "no output", log);
	return r < 0 ? r : -EIO;
}

/* Mount the bare env, install pip, unmount (the daemon seals and syncs
 * everything before it exits). */
static int seed_pip(struct create *cr)
{
	char blastfs[PATH_MAX], err[DAEMON_ERR_LEN];
	struct daemon_info info;
	int r;

	r = daemon_path(blastfs, sizeof(blastfs));
	if (r < 0) {
		ctl_err(cr->c, "cannot find %s (set BLASTFS or put it on PATH)",
			DAEMON_PROG);
		return r;
	}
	r = daemon_start(blastfs, cr->home, cr->name, cr->mnt, err,
			 sizeof(err));
	if (r < 0) {
		ctl_err(cr->c, "cannot mount env '%s' at '%s': %s", cr->name,
			cr->mnt, err);
		return r;
	}
	r = daemon_info_read(cr->rundir, cr->name, &info);
	if (r < 0 || !info.live) {
		ctl_err(cr->c,
			"%s for env '%s' mounted it but left no run file",
			DAEMON_PROG, cr->name);
		daemon_umount(cr->mnt, true, err, sizeof(err));
		return r < 0 ? r : -ESRCH;
	}
	r = ensurepip_run(cr);
	if (ctl_daemon_stop(cr->c, cr->rundir, cr->name, cr->mnt, info.pid,
			    r < 0) < 0 &&
	    !r)
		r = -EIO;
	return r;
}

/* The seeded env's tree becomes the seed (and is frozen by it). */
static int seed_commit(struct create *cr, struct store_env *out)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	r = store_txn_begin(cr->st, true, &t);
	if (r < 0)
		return create_fail(cr, r);
	r = store_env_get(t, cr->name, &e);
	if (!r) {
		snprintf(e.mount, sizeof(e.mount), "%s", cr->mnt);
		r = store_env_put(t, &e);
	}
	if (!r)
		r = store_seed_set(t, cr->key, e.root);
	if (!r)
		r = store_env_get(t, cr->name, &e);
	if (r < 0) {
		store_txn_abort(t);
		return create_fail(cr, r);
	}
	r = store_txn_commit(t);
	if (r < 0)
		return create_fail(cr, r);
	if (out)
		*out = e;
	return 0;
}

static int env_seed(struct create *cr, struct store_env *out)
{
	int r;

	ctl_status(cr->c,
		   "seeding pip for Python %s (%s): ensurepip through a "
		   "mount, once per interpreter",
		   cr->py.version, cr->py.exe);
	r = seed_mnt_prepare(cr);
	if (r < 0)
		return r;
	r = env_layout(cr);
	if (r < 0)
		goto out_rmdir;
	r = seed_pip(cr);
	if (r < 0) {
		env_drop(cr);
		goto out_rmdir;
	}
	r = seed_commit(cr, out);
	if (!r)
		ctl_status(cr->c, "created env '%s' (Python %s, %s) in %.1f s",
			   cr->name, cr->py.version, cr->py.exe,
			   ctl_seconds_since(&cr->t0));
out_rmdir:
	rmdir(cr->mnt);
	return r;
}

/* One seeding per interpreter at a time: a second create waits, then
 * clones what the first made. Returns the locked fd. */
static int seed_lock(struct create *cr)
{
	char path[PATH_MAX + 8];
	int fd, r;

	snprintf(path, sizeof(path), "%s.lock", cr->mnt);
	/* a lock file outlives its holders: no O_EXCL, but no symlink */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out_err;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	ctl_status(cr->c, "waiting for another blastctl seeding pip for %s",
		   cr->py.exe);
	if (flock(fd, LOCK_EX) == 0)
		return fd;
	close(fd);
out_err:
	r = -errno;
	ctl_err(cr->c, "cannot lock '%s': %s", path, ctl_strerror(r));
	return r;
}

static int create_run(struct create *cr, const char *python,
		      struct store_env *out)
{
	char err[1024], tag[32];
	uint64_t seed = 0;
	int r, lock;

	r = ctl_daemon_dirs(cr->c, cr->home, cr->rundir);
	if (r < 0 || (r = ctl_store(cr->c, &cr->st)) < 0)
		return r;
	/* a taken name is refused before the interpreter is even run */
	r = seed_lookup(cr, &seed);
	if (r == -EEXIST)
		return r;
	r = venv_python_find(python, &cr->py, err, sizeof(err));
	if (r < 0) {
		ctl_err(cr->c, "%s", err);
		return r;
	}
	venv_seed_key(&cr->py, cr->key, sizeof(cr->key));
	venv_key_tag(cr->key, tag, sizeof(tag));
	if (snprintf(cr->mnt, sizeof(cr->mnt), "%s/seed-%s", cr->rundir, tag) >=
	    (int)sizeof(cr->mnt))
		return create_fail(cr, -ENAMETOOLONG);
	r = seed_lookup(cr, &seed);
	if (r == 0)
		return env_clone(cr, seed, out);
	if (r != -ENOENT)
		return r;
	lock = seed_lock(cr);
	if (lock < 0)
		return lock;
	r = seed_lookup(cr, &seed);
	if (r == 0)
		r = env_clone(cr, seed, out);
	else if (r == -ENOENT)
		r = env_seed(cr, out);
	close(lock);
	return r;
}

int ctl_env_create(struct ctl *c, const char *name, const char *python,
		   struct store_env *out)
{
	struct create *cr = calloc(1, sizeof(*cr));
	int r;

	if (!cr) {
		ctl_err(c, "out of memory");
		return -ENOMEM;
	}
	cr->c = c;
	cr->name = name;
	clock_gettime(CLOCK_MONOTONIC, &cr->t0);
	r = create_run(cr, python, out);
	free(cr);
	return r;
}

/* ---- create --from ----------------------------------------------- */

/* Split ENV[@SNAP] into env (STORE_ENV_NAME_MAX + 1 bytes) and *snap
 * (NULL without '@'). */
static int from_split(struct ctl *c, const char *from, char *env,
		      const char **snap)
{
	const char *at = strchr(from, '@');
	size_t n = at ? (size_t)(at - from) : strlen(from);

	*snap = at ? at + 1 : NULL;
	if (n == 0 || n > STORE_ENV_NAME_MAX)
		return snap_name_usage(c, "env", from);
	memcpy(env, from, n);
	env[n] = '\0';
	if (store_name_check(env))
		return snap_name_usage(c, "env", env);
	if (at && store_name_check(*snap))
		return snap_name_usage(c, "snapshot", *snap);
	return 0;
}

static int from_txn(struct store_txn *t, const struct snap_target *src,
		    const char *snap, const char *name, struct store_env *out)
{
	struct store_env s, e = {0};
	struct store_snap sn;
	uint64_t root;
	int r;

	r = store_env_get(t, src->name, &s);
	if (r < 0)
		return r;
	root = s.root;
	if (snap) {
		r = store_snap_get(t, &s, snap, &sn);
		if (r == -ENOENT)
			return -ESRCH; /* the snapshot, not the env */
		if (r < 0)
			return r;
		root = sn.root;
	}
	snprintf(e.name, sizeof(e.name), "%s", name);
	memcpy(e.python, s.python, sizeof(e.python));
	memcpy(e.pyver, s.pyver, sizeof(e.pyver));
	/* the tree's shebangs name the source's mount: start repoints them */
	memcpy(e.mount, s.mount, sizeof(e.mount));
	r = store_env_create(t, &e, root);
	if (!r)
		*out = e;
	return r;
}

static int from_clone(struct snap_target *src, const char *snap,
		      const char *name)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	r = store_txn_begin(src->st, true, &t);
	if (r < 0)
		goto out_err;
	r = from_txn(t, src, snap, name, &e);
	if (r < 0) {
		store_txn_abort(t);
		goto out_err;
	}
	r = store_txn_commit(t);
	if (r == 0)
		return 0;
out_err:
	if (r == -EEXIST)
		ctl_err(src->c, "env '%s' already exists", name);
	else if (r == -ESRCH)
		ctl_err(src->c, "env '%s' has no snapshot '%s'", src->name,
			snap);
	else
		ctl_err(src->c, "cannot create env '%s' from '%s': %s", name,
			src->name, ctl_strerror(r));
	return r == -ESRCH ? -ENOENT : r;
}

#define SAVE_TIMEOUT_MS (10 * 60 * 1000) /* sealing a big pip install */

/*
 * A mounted source's live root: its daemon seals every written file and
 * saves the root as an automatic snapshot (what `save` does), whose
 * name goes into snap. A write that returned before is in it.
 */
static int from_mounted_save(struct snap_target *src, const char *name,
			     char *snap)
{
	char msg[STORE_ENV_NAME_MAX + 32];
	const char *argv[] = {"save", snap, "1", msg, NULL};
	struct store_txn *t;
	struct store_env e;
	json_t *rep;
	int r;

	snprintf(msg, sizeof(msg), "automatic: create %s", name);
	r = store_txn_begin(src->st, false, &t);
	if (r < 0)
		goto out_err;
	/* a name taken is refused before anything is saved */
	r = store_env_get(t, name, &e);
	if (!r) {
		store_txn_abort(t);
		ctl_err(src->c, "env '%s' already exists", name);
		return -EEXIST;
	}
	r = store_env_get(t, src->name, &e);
	if (!r)
		r = snap_auto_name(t, &e, snap);
	store_txn_abort(t);
	if (r < 0)
		goto out_err;
	r = snap_requestv(src, argv, SAVE_TIMEOUT_MS, &rep);
	if (r < 0)
		return r; /* printed */
	json_decref(rep);
	return 0;
out_err:
	ctl_err(src->c, "cannot snapshot mounted env '%s': %s", src->name,
		ctl_strerror(r));
	return r;
}

/*
 * A mounted source's live root is being written by its daemon, so only
 * its snapshots (frozen) can be shared: an automatic one is taken first
 * when no SNAP is named. Unmounted, its lock is held so no daemon starts
 * while the root is shared.
 */
static int create_from(struct ctl *c, const char *name, const char *from)
{
	char env[STORE_ENV_NAME_MAX + 1], saved[STORE_ENV_NAME_MAX + 1];
	const char *snap;
	struct snap_target src;
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = from_split(c, from, env, &snap);
	if (r)
		return -EINVAL;
	r = snap_target_open(c, env, &src);
	if (r == 0 && src.mounted && !snap) {
		r = from_mounted_save(&src, name, saved);
		snap = saved;
		if (r == 0)
			ctl_status(c,
				   "env '%s' is mounted: saved its live state "
				   "as automatic snapshot '%s@%s'",
				   env, env, saved);
	}
	if (r == 0)
		r = from_clone(&src, snap, name);
	if (r == 0)
		ctl_status(c, "created env '%s' from '%s%s%s' in %.1f ms", name,
			   snap == saved ? env : from, snap == saved ? "@" : "",
			   snap == saved ? saved : "",
			   ctl_seconds_since(&t0) * 1000);
	snap_target_close(&src);
	return r;
}

int ctl_cmd_create(struct ctl *c, int argc, char **argv)
{
	struct create_args a = {0};
	int rc;

	rc = create_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	if (a.from) {
		rc = create_from(c, a.name, a.from);
		if (rc == -EINVAL)
			return CTL_EXIT_USAGE;
		return rc < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	return ctl_env_create(c, a.name, a.python, NULL) < 0 ? CTL_EXIT_FAIL
							     : CTL_EXIT_OK;
}
