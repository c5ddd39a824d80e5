/* SPDX-License-Identifier: MIT */
/*
 * cmd-export.c - `blastctl export REF DIR`: write an env's live tree or a
 * snapshot (REF is NAME or NAME@SNAP) into an empty or new directory,
 * with modes, symlinks and ns mtimes as stored.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "daemon.h"
#include "store.h"

#define SEAL_TIMEOUT_MS (10 * 60 * 1000) /* sealing a big pip install */

struct export_args {
	const char *ref;
	const char *dir;
};

/* Split NAME[@SNAP] into the env name and the snapshot (NULL if none);
 * -EINVAL unless both are valid names. */
static int ref_split(const char *ref, char name[STORE_ENV_NAME_MAX + 1],
		     const char **snap)
{
	const char *at = strchr(ref, '@');
	size_t n = at ? (size_t)(at - ref) : strlen(ref);

	if (n > STORE_ENV_NAME_MAX)
		return -EINVAL;
	memcpy(name, ref, n);
	name[n] = '\0';
	*snap = at ? at + 1 : NULL;
	if (store_name_check(name) || (at && store_name_check(at + 1)))
		return -EINVAL;
	return 0;
}

static int export_parse(struct ctl *c, int argc, char **argv,
			struct export_args *a)
{
	static const struct option opts[] = {CTL_OPTION_HELP, {0}};
	char name[STORE_ENV_NAME_MAX + 1];
	const char *snap;
	int o;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	if (argc - optind != 2)
		return ctl_usage_error(c, argc - optind < 2
					      ? "expected REF and DIR"
					      : "too many arguments");
	a->ref = argv[optind];
	a->dir = argv[optind + 1];
	if (ref_split(a->ref, name, &snap))
		return ctl_usage_error(
		    c,
		    "invalid ref '%s': expected NAME or "
		    "NAME@SNAP, names being 1-64 of A-Z a-z "
		    "0-9 . _ -, not starting with '.' or '-'",
		    a->ref);
	return CTL_PARSED;
}

/* 0 if dir is missing or an empty directory, else -errno. */
static int dir_usable(const char *dir)
{
	struct dirent *de;
	struct stat sb;
	int r = 0;
	DIR *d;

	if (lstat(dir, &sb) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			r = -ENOTEMPTY;
			break;
		}
	}
	closedir(d);
	return r;
}

/* Say which half of NAME@SNAP does not exist. */
static void ref_missing(struct ctl *c, struct store_txn *t, const char *ref)
{
	char name[STORE_ENV_NAME_MAX + 1];
	struct store_env e;
	const char *snap;

	ref_split(ref, name, &snap);
	if (!snap || store_env_get(t, name, &e) == -ENOENT)
		ctl_err(c, "no env named '%s'", name);
	else
		ctl_err(c, "env '%s' has no snapshot '%s'", name, snap);
}

/* Resolve ref to a root table and count what it holds. */
static int ref_lookup(struct ctl *c, struct store *st, const char *ref,
		      uint64_t *root, struct store_usage *u)
{
	struct store_txn *t;
	int r;

	r = store_txn_begin(st, false, &t);
	if (r < 0)
		goto out_err;
	r = store_ref_resolve(t, ref, root);
	if (r == -ENOENT) {
		ref_missing(c, t, ref);
		store_txn_abort(t);
		return r;
	}
	if (!r)
		r = store_usage_tree(t, *root, u);
	store_txn_abort(t);
	if (!r)
		return 0;
out_err:
	ctl_err(c, "cannot read '%s' from store '%s': %s", ref, store_path(st),
		ctl_strerror(r));
	return r;
}

/* The live state of a mounted env (REF without '@') is what its daemon
 * has when asked to seal: every write that returned. An env left with
 * writes by a killed blastfs has them put in the store first. */
static int export_recover(struct ctl *c, const char *ref)
{
	char home[PATH_MAX], rundir[PATH_MAX], name[STORE_ENV_NAME_MAX + 1];
	size_t len = strcspn(ref, "@");
	json_t *rep;
	int r;

	if (len > STORE_ENV_NAME_MAX)
		return 0; /* not an env name: ref_lookup says so */
	snprintf(name, sizeof(name), "%.*s", (int)len, ref);
	if (store_name_check(name))
		return 0;
	r = ctl_daemon_dirs(c, home, rundir);
	if (r < 0)
		return r;
	if (!ref[len]) {
		r = daemon_request(rundir, name, "seal", SEAL_TIMEOUT_MS, &rep);
		if (!r) {
			r = json_is_true(json_object_get(rep, "ok")) ? 0 : -EIO;
			json_decref(rep);
		}
		if (r != -ENOENT && r != -ECONNREFUSED) {
			if (r < 0)
				ctl_err(c, "cannot seal env '%s': %s", name,
					ctl_strerror(r));
			return r;
		}
	}
	return daemon_recover_unlocked(c, home, rundir, name);
}

static int export_run(struct ctl *c, const struct export_args *a)
{
	char b[CTL_BYTES_LEN];
	struct store_usage u;
	struct timespec t0;
	struct store *st;
	uint64_t root;
	int r;

	r = dir_usable(a->dir);
	if (r == -ENOTEMPTY) {
		ctl_err(c, "cannot export to '%s': directory not empty",
			a->dir);
		return r;
	}
	if (r < 0) {
		ctl_err(c, "cannot export to '%s': %s", a->dir,
			ctl_strerror(r));
		return r;
	}
	r = export_recover(c, a->ref);
	if (r < 0)
		return r;
	r = ctl_store(c, &st);
	if (r < 0)
		return r;
	r = ref_lookup(c, st, a->ref, &root, &u);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	store_nofile_raise(); /* one open directory per level */
	r = store_export(st, root, a->dir);
	if (r < 0) {
		ctl_err(c, "cannot export '%s' to '%s': %s", a->ref, a->dir,
			ctl_strerror(r));
		return r;
	}
	ctl_status(
	    c, "exported '%s' to '%s': %llu files, %llu dirs, %s; %.2f s",
	    a->ref, a->dir, (unsigned long long)u.files,
	    (unsigned long long)u.dirs, ctl_fmt_bytes(b, sizeof(b), u.logical),
	    ctl_seconds_since(&t0));
	return 0;
}

int ctl_cmd_export(struct ctl *c, int argc, char **argv)
{
	struct export_args a = {0};
	int rc;

	rc = export_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	return export_run(c, &a) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
