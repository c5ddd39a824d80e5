/* SPDX-License-Identifier: MIT */
/*
 * cmd-start.c - `blastctl start [NAME] [--dir DIR]`: mount an env at
 * DIR/.blast with blastfs, creating the env first if needed. Every check
 * that can refuse runs before anything changes; a stale mount left by a
 * killed daemon is cleared (and said so). Once mounted, the env is fixed
 * for its new path through the mount: pip's console-script shebangs and
 * the bin/activate* scripts (ctl/activate.c). The project's marker
 * (ctl/project.h) names the env when NAME is not given, so a moved
 * project finds its env; one env is never shared by two project
 * directories without being told so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activate.h"
#include "ctl.h"
#include "daemon.h"
#include "project.h"
#include "snap.h"
#include "store.h"
#include "venv.h"

#define MOUNT_DIR ".blast"

struct start_args {
	const char *name; /* NULL: derived from dir */
	const char *dir;  /* NULL: cwd */
	const char *python;
	bool attach; /* already mounted here: just say where */
};

struct start {
	struct ctl *c;
	char name[STORE_ENV_NAME_MAX + 1];
	char dir[PATH_MAX], mnt[PATH_MAX];
	char home[PATH_MAX], rundir[PATH_MAX];
	bool mkdir;		 /* mnt must be created */
	struct project_marker m; /* mnt's marker, when read */
	bool marked;		 /* ... and it names the env started */
	int dirfd;		 /* mnt, opened before mounting over it */
	char note[3 * PATH_MAX]; /* what changed hands, said once mounted */
};

enum { OPT_DIR = 0x100, OPT_PYTHON, OPT_ATTACH };

static int start_parse(struct ctl *c, int argc, char **argv,
		       struct start_args *a)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"python", required_argument, NULL, OPT_PYTHON},
	    {"attach", no_argument, NULL, OPT_ATTACH},
	    CTL_OPTION_HELP,
	    {0},
	};
	int o;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		switch (o) {
		case OPT_DIR:
			if (!*optarg)
				return ctl_usage_error(c, "--dir needs a "
							  "directory");
			a->dir = optarg;
			break;
		case OPT_PYTHON:
			if (!*optarg)
				return ctl_usage_error(c,
						       "--python needs a path "
						       "or a version");
			a->python = optarg;
			break;
		case OPT_ATTACH:
			a->attach = true;
			break;
		default:
			return ctl_opt_exit(o);
		}
	}
	if (argc - optind > 1)
		return ctl_usage_error(c, "too many arguments");
	a->name = optind < argc ? argv[optind] : NULL;
	if (a->name && store_name_check(a->name))
		return snap_name_usage(c, "env", a->name);
	return CTL_PARSED;
}

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

/* A project directory's name as an env name: any character outside the
 * name's (a UTF-8 sequence counts as one) becomes '-', then leading dots
 * and dashes are dropped (a name starts with neither); at most
 * STORE_ENV_NAME_MAX. */
static int name_derive(const char *dir, char *out)
{
	const char *b = strrchr(dir, '/');
	size_t n = 0;

	for (b = b ? b + 1 : dir; *b && n < STORE_ENV_NAME_MAX; b++) {
		char ch = name_char(*b) ? *b : '-';

		if (((unsigned char)*b & 0xc0) == 0x80)
			continue; /* UTF-8 continuation byte */
		if (n || (ch != '.' && ch != '-'))
			out[n++] = ch;
	}
	out[n] = '\0';
	return n ? 0 : -EINVAL;
}

static int start_names(struct start *s, const struct start_args *a)
{
	const char *dir = a->dir ? a->dir : ".";
	int n;

	if (!realpath(dir, s->dir)) {
		ctl_err(s->c, "cannot use directory '%s': %s", dir,
			ctl_strerror(errno));
		return -errno;
	}
	n = snprintf(s->mnt, sizeof(s->mnt), "%s/%s",
		     strcmp(s->dir, "/") ? s->dir : "", MOUNT_DIR);
	if (n < 0 || (size_t)n >= sizeof(s->mnt)) {
		ctl_err(s->c, "cannot use directory '%s': %s", s->dir,
			ctl_strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	return 0;
}

/* NAME, else derived from the directory's name. */
static int name_default(struct start *s, const struct start_args *a)
{
	if (a->name) {
		snprintf(s->name, sizeof(s->name), "%s", a->name);
		return 0;
	}
	if (name_derive(s->dir, s->name) < 0) {
		ctl_err(s->c,
			"cannot derive an env name from directory '%s': give "
			"NAME",
			s->dir);
		return -EINVAL;
	}
	return 0;
}

static int env_get(struct start *s, const char *name, struct store_env *e)
{
	struct store_txn *t;
	struct store *st;
	int r;

	r = ctl_store(s->c, &st);
	if (r < 0)
		return r;
	r = store_txn_begin(st, false, &t);
	if (!r) {
		r = store_env_get(t, name, e);
		store_txn_abort(t);
	}
	if (r < 0 && r != -ENOENT)
		ctl_err(s->c, "cannot read env '%s' in store '%s': %s", name,
			s->home, ctl_strerror(r));
	return r;
}

/* The env mnt's marker names, unless NAME says otherwise: then the
 * directory changes env, which is said. */
static int marker_name(struct start *s, const struct start_args *a)
{
	struct store_env e;
	int r;

	if (strcmp(s->m.home, s->home)) {
		if (!a->name) {
			ctl_err(s->c,
				"directory '%s' is the project of env '%s' of "
				"store '%s', not of store '%s': use --home "
				"'%s' (or BLAST_HOME), or give NAME to start "
				"an env of this store here",
				s->dir, s->m.env, s->m.home, s->home,
				s->m.home);
			return -EXDEV;
		}
		snprintf(s->note, sizeof(s->note),
			 "directory '%s' was the project of env '%s' of store "
			 "'%s': now of env '%s'",
			 s->dir, s->m.env, s->m.home, a->name);
		return name_default(s, a);
	}
	r = env_get(s, s->m.env, &e);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == -ENOENT || e.id != s->m.id) {
		r = name_default(s, a);
		snprintf(s->note, sizeof(s->note),
			 "env '%s' of directory '%s' no longer exists "
			 "(destroyed): the directory is now env '%s''s",
			 s->m.env, s->dir, s->name);
		return r;
	}
	if (a->name && strcmp(a->name, s->m.env)) {
		if (!strcmp(e.mount, s->mnt))
			snprintf(s->note, sizeof(s->note),
				 "directory '%s' was the project of env '%s': "
				 "now of env '%s'",
				 s->dir, s->m.env, a->name);
		return name_default(s, a);
	}
	snprintf(s->name, sizeof(s->name), "%s", s->m.env);
	s->marked = true;
	return 0;
}

/* Which env: NAME, else the one mounted at DIR/.blast, else the one its
 * marker names, else one named after the directory. A stale mount there
 * is cleared first (the marker is beneath it). */
static int name_resolve(struct start *s, const struct start_args *a)
{
	struct daemon_probe p;
	int r;

	r = daemon_mount_probe(s->rundir, s->mnt, &p);
	if (r < 0) {
		ctl_err(s->c, "cannot read the mount table: %s",
			ctl_strerror(r));
		return r;
	}
	if (p.state == DAEMON_MNT_LIVE && !a->name) {
		memcpy(s->name, p.env, sizeof(s->name));
		return 0;
	}
	if (p.state != DAEMON_MNT_NONE && p.state != DAEMON_MNT_STALE)
		return name_default(s, a); /* mnt_check refuses */
	if (p.state == DAEMON_MNT_STALE) {
		r = ctl_daemon_clear_stale(s->c, s->mnt);
		if (r < 0)
			return r;
	}
	r = project_marker_read(AT_FDCWD, s->mnt, &s->m);
	if (r == -ENOENT || r == -ENOTDIR)
		return name_default(s, a);
	if (r < 0) {
		ctl_err(s->c,
			"cannot read '%s/%s': %s (remove it to start an env "
			"here)",
			s->mnt, STORE_PROJECT_MARKER,
			r == -EIO ? "not a project marker" : ctl_strerror(r));
		return r;
	}
	return marker_name(s, a);
}

/* This directory's marker names the env, and so does its project's at
 * old (or the env is mounted there): a copy, which gets no share. */
static int share_refused(struct start *s, const char *old)
{
	char suggest[STORE_ENV_NAME_MAX + 1];

	if (name_derive(s->dir, suggest) < 0 || !strcmp(suggest, s->name))
		snprintf(suggest, sizeof(suggest), "NEW");
	ctl_err(s->c,
		"refusing to share env '%s' between '%s' and '%s' (a copy of "
		"it?): give this one its own env with 'blastctl create %s "
		"--from %s' then 'blastctl start %s'",
		s->name, old, s->dir, suggest, s->name, suggest);
	return -EBUSY;
}

/*
 * Env e's recorded mountpoint is elsewhere. If that directory no longer
 * names e, the project moved here: fine. If it still does, this
 * directory would share e with it: refused when this one is a copy (its
 * marker names e too) or only its name matched; NAME given moves e here.
 */
static int owner_check(struct start *s, const struct store_env *e,
		       const struct start_args *a)
{
	char old[PATH_MAX], suggest[STORE_ENV_NAME_MAX + 1];

	if (!e->mount[0] || !strcmp(e->mount, s->mnt))
		return 0;
	project_dir(e->mount, old, sizeof(old));
	if (!project_claims(e->mount, s->home, e)) {
		if (s->marked)
			snprintf(s->note, sizeof(s->note),
				 "env '%s' moved with its project from '%s' to "
				 "'%s'",
				 e->name, old, s->dir);
		return 0;
	}
	if (s->marked)
		return share_refused(s, old);
	if (name_derive(s->dir, suggest) < 0 || !strcmp(suggest, e->name))
		snprintf(suggest, sizeof(suggest), "NEW");
	if (!a->name) {
		ctl_err(s->c,
			"env '%s' is the env of '%s', not of '%s': give this "
			"directory its own env with 'blastctl start %s' (or "
			"'blastctl create %s --from %s' first, to copy it)",
			e->name, old, s->dir, suggest, suggest, e->name);
		return -EBUSY;
	}
	snprintf(s->note, sizeof(s->note),
		 "env '%s' moves from project '%s' to '%s'", e->name, old,
		 s->dir);
	return 0;
}

static int dir_empty(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int r = 1;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strncmp(de->d_name, STORE_PROJECT_MARKER,
			    strlen(STORE_PROJECT_MARKER))) {
			r = 0;
			break;
		}
	closedir(d);
	return r;
}

/* What is at DIR/.blast now: refuse anything but nothing, an empty
 * directory, or a stale mount (cleared here). */
static int mnt_check(struct start *s)
{
	struct daemon_probe p;
	struct stat sb;
	int r;

	r = daemon_mount_probe(s->rundir, s->mnt, &p);
	if (r < 0) {
		ctl_err(s->c, "cannot read the mount table: %s",
			ctl_strerror(r));
		return r;
	}
	switch (p.state) {
	case DAEMON_MNT_LIVE:
		ctl_err(
		    s->c,
		    "refusing to mount over '%s': env '%s' is mounted there "
		    "(blastfs pid %d)",
		    s->mnt, p.env, (int)p.info.pid);
		return -EBUSY;
	case DAEMON_MNT_FOREIGN:
		ctl_err(s->c,
			"refusing to mount over '%s': a %s filesystem is "
			"mounted there",
			s->mnt, p.m.fstype);
		return -EBUSY;
	case DAEMON_MNT_STALE:
		r = ctl_daemon_clear_stale(s->c, s->mnt);
		if (r < 0)
			return r;
		break;
	case DAEMON_MNT_NONE:
		break;
	}
	if (lstat(s->mnt, &sb) < 0) {
		r = -errno;
		if (r == -ENOENT) {
			s->mkdir = true;
			return 0;
		}
		ctl_err(s->c, "cannot use mountpoint '%s': %s", s->mnt,
			ctl_strerror(r));
		return r;
	}
	if (!S_ISDIR(sb.st_mode)) {
		ctl_err(s->c, "refusing to mount over '%s': not a directory",
			s->mnt);
		return -ENOTDIR;
	}
	r = dir_empty(s->mnt);
	if (r == 0) {
		ctl_err(s->c, "refusing to mount over non-empty directory '%s'",
			s->mnt);
		return -ENOTEMPTY;
	}
	if (r < 0)
		ctl_err(s->c, "cannot read '%s': %s", s->mnt, ctl_strerror(r));
	return r < 0 ? r : 0;
}

/* The env's record, or -ENOENT; refuses an env that is mounted. */
static int env_check(struct start *s, struct store_env *e)
{
	struct daemon_info info;

	if (!daemon_info_read(s->rundir, s->name, &info) && info.live &&
	    s->marked && strcmp(info.mount, s->mnt)) {
		char old[PATH_MAX];

		project_dir(info.mount, old, sizeof(old));
		return share_refused(s, old);
	}
	if (!daemon_info_read(s->rundir, s->name, &info) && info.live) {
		ctl_err(s->c,
			"env '%s' is already mounted at '%s' (blastfs pid "
			"%d)",
			s->name, info.mount, (int)info.pid);
		return -EBUSY;
	}
	return env_get(s, s->name, e);
}

/* An existing env keeps its interpreter: say so if --python asks for
 * another. */
static void python_note(struct start *s, const struct store_env *e,
			const char *python)
{
	struct venv_python py;
	char err[1024];

	if (!python || venv_python_find(python, &py, err, sizeof(err)) < 0 ||
	    !strcmp(py.exe, e->python))
		return;
	ctl_warn(s->c, "env '%s' exists with Python %s (%s); --python ignored",
		 s->name, e->pyver, e->python);
}

/* A killed daemon of this env left its mount elsewhere: of no use to
 * anyone, and clearing it says what happened. */
static int stale_elsewhere_clear(struct start *s)
{
	struct daemon_info info;
	struct daemon_probe p;

	if (daemon_info_read(s->rundir, s->name, &info) < 0 || info.live ||
	    !info.mount[0] || !strcmp(info.mount, s->mnt) ||
	    daemon_mount_probe(s->rundir, info.mount, &p) < 0 ||
	    p.state != DAEMON_MNT_STALE)
		return 0;
	return ctl_daemon_clear_stale(s->c, info.mount);
}

/* Point the env at its new mount path, through the mount. */
static int env_fix(struct start *s, const char *old)
{
	char failed[PATH_MAX];
	int n;

	if (old[0] && strcmp(old, s->mnt)) {
		n = venv_shebangs_fix(s->mnt, old, failed, sizeof(failed));
		if (n < 0) {
			ctl_err(s->c,
				"mounted env '%s' at '%s', but cannot rewrite "
				"'%s': %s",
				s->name, s->mnt, failed, ctl_strerror(n));
			return n;
		}
	}
	return ctl_activate_refresh(s->c, s->name, s->mnt);
}

/* Record the env in the marker beneath the mount (a moved project finds
 * it there); a failure is only warned about: the env is mounted. */
static void marker_write(struct start *s, const struct store_env *e)
{
	struct project_marker m = {.id = e->id};
	int r;

	snprintf(m.env, sizeof(m.env), "%s", e->name);
	snprintf(m.home, sizeof(m.home), "%s", s->home);
	r = s->dirfd < 0 ? -EBADF : project_marker_write(s->dirfd, &m);
	if (r < 0)
		ctl_warn(s->c,
			 "cannot write '%s/%s': %s (moved, the project will "
			 "not find env '%s')",
			 s->mnt, STORE_PROJECT_MARKER, ctl_strerror(r),
			 e->name);
}

static int mount_run(struct start *s, const struct store_env *e)
{
	const char *old = e->mount;
	char blastfs[PATH_MAX], err[DAEMON_ERR_LEN];
	struct daemon_info info = {0};
	int r;

	r = daemon_path(blastfs, sizeof(blastfs));
	if (r < 0) {
		ctl_err(s->c, "cannot find %s (set BLASTFS or put it on PATH)",
			DAEMON_PROG);
		return r;
	}
	if (s->mkdir && mkdir(s->mnt, 0755) < 0) {
		r = -errno;
		ctl_err(s->c, "cannot create mountpoint '%s': %s", s->mnt,
			ctl_strerror(r));
		return r;
	}
	/* beneath the mount to come: where the marker goes */
	s->dirfd = open(s->mnt, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = daemon_start(blastfs, s->home, s->name, s->mnt, err, sizeof(err));
	if (r < 0) {
		ctl_err(s->c, "cannot mount env '%s' at '%s': %s", s->name,
			s->mnt, err);
		if (s->mkdir)
			rmdir(s->mnt);
		return r;
	}
	if (daemon_info_read(s->rundir, s->name, &info) < 0)
		ctl_warn(s->c, "%s left no run file for env '%s'", DAEMON_PROG,
			 s->name);
	r = env_fix(s, old);
	if (r < 0) {
		/* a start that fails leaves nothing mounted or running */
		ctl_daemon_stop(s->c, s->rundir, s->name, s->mnt, info.pid,
				true);
		if (s->mkdir)
			rmdir(s->mnt);
		return r;
	}
	marker_write(s, e);
	if (s->note[0])
		ctl_status(s->c, "%s", s->note);
	printf("%s\n", s->mnt);
	ctl_status(s->c, "mounted env '%s' at %s (blastfs pid %d)", s->name,
		   s->mnt, (int)info.pid);
	return 0;
}

/* --attach: the env is already mounted at DIR/.blast by a live daemon
 * (another shell started it): print the mountpoint as start does. */
static bool attached(struct start *s)
{
	struct daemon_info info;

	if (daemon_info_read(s->rundir, s->name, &info) < 0 || !info.live ||
	    strcmp(info.mount, s->mnt))
		return false;
	printf("%s\n", s->mnt);
	ctl_status(s->c, "env '%s' is already mounted at %s (blastfs pid %d)",
		   s->name, s->mnt, (int)info.pid);
	return true;
}

static int start_run(struct start *s, const struct start_args *a)
{
	struct ctl *c = s->c;
	struct store_env e;
	int r;

	r = start_names(s, a);
	if (!r)
		r = ctl_daemon_dirs(c, s->home, s->rundir);
	if (!r)
		r = name_resolve(s, a);
	if (r < 0)
		return r;
	if (a->attach && attached(s))
		return 0;
	r = env_check(s, &e);
	if (r < 0 && r != -ENOENT)
		return r;
	if (!r && owner_check(s, &e, a) < 0)
		return -EBUSY;
	if (!r)
		python_note(s, &e, a->python);
	if (mnt_check(s) < 0 || stale_elsewhere_clear(s) < 0)
		return -EBUSY;
	if (r == -ENOENT) {
		r = ctl_env_create(c, s->name, a->python, &e);
		if (r < 0)
			return r;
	}
	return mount_run(s, &e);
}

int ctl_cmd_start(struct ctl *c, int argc, char **argv)
{
	struct start s = {.c = c, .dirfd = -1};
	struct start_args a = {0};
	int rc;

	rc = start_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	rc = start_run(&s, &a) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	if (s.dirfd >= 0)
		close(s.dirfd);
	return rc;
}
