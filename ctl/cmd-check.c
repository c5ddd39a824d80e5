/* SPDX-License-Identifier: MIT */
/*
 * cmd-check.c - `blastctl check`: runs check sections and reports every
 * problem on stdout, one per line, or as JSON. Exit 1 if anything is
 * wrong. Sections: the store's integrity; for an env, its mount, its
 * packages (what `pip check` says, in pip's words, from the package state
 * blastfs keeps) and its files against their RECORDs. A new kind of check
 * is a new row in `sections` with its own selection flag.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"
#include "pkg.h"
#include "progress.h"
#include "store.h"

enum check_which {
	CHECK_STORE = 1u << 0,
	CHECK_MOUNT = 1u << 1,
	CHECK_PACKAGES = 1u << 2,
	CHECK_FILES = 1u << 3,
	CHECK_RULES = 1u << 4,
	CHECK_DECLARED = 1u << 5,
	CHECK_ENV = CHECK_MOUNT | CHECK_PACKAGES | CHECK_FILES | CHECK_RULES |
		    CHECK_DECLARED,
};

struct check_opts {
	unsigned which; /* enum check_which; 0 = the defaults */
	bool deep;
	const char *name;	/* NULL: ./.blast's env, if any */
	struct snap_target *tg; /* the env, opened when a section needs it */
};

/* One section's outcome. */
struct check_result {
	struct ctl *c;
	const char *section;
	size_t problems;
	bool json;    /* problems go to list, not stdout */
	json_t *obj;  /* JSON mode: the section's object */
	json_t *list; /* JSON mode: its "problems" array */
};

struct check_section {
	const char *name;
	unsigned flag;
	/* Report problems through check_problem; 0, or -errno (printed) if
	 * the check could not run. */
	int (*run)(struct ctl *c, const struct check_opts *o,
		   struct check_result *res);
};

/* A JSON string for text that may not be UTF-8 (it can quote file
 * names): non-ASCII bytes become '?' rather than losing the line. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char *copy, *p;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static void check_problem(void *arg, const char *problem)
{
	struct check_result *res = arg;

	res->problems++;
	if (res->json) {
		json_array_append_new(res->list, json_text(problem));
		return;
	}
	ctl_progress_clear(res->c->progress); /* stdout may be its tty */
	printf("%s: %s\n", res->section, problem);
}

static int check_store(struct ctl *c, const struct check_opts *o,
		       struct check_result *res)
{
	struct ctl_progress pg;
	struct store *st;
	ssize_t n;
	int r;

	r = ctl_store(c, &st);
	if (r < 0)
		return r;
	if (res->obj)
		json_object_set_new(res->obj, "deep", json_boolean(o->deep));
	ctl_progress_init(&pg, c);
	ctl_progress_attach(&pg, st);
	n = store_verify(st, o->deep, check_problem, res);
	ctl_progress_release(&pg);
	if (n < 0) {
		ctl_err(c, "cannot check store '%s': %s", store_path(st),
			ctl_strerror((int)n));
		return (int)n;
	}
	return 0;
}

/* A mount the env's killed daemon left: true with the problem (and the
 * way out) in msg. */
static bool stale_mount(const struct snap_target *tg, char *msg, size_t len)
{
	struct daemon_info info;
	struct daemon_probe p;

	if (daemon_info_read(tg->rundir, tg->name, &info) < 0 || info.live ||
	    !info.mount[0] || daemon_mount_probe(tg->rundir, info.mount, &p) ||
	    p.state != DAEMON_MNT_STALE)
		return false;
	snprintf(msg, len,
		 "'%s' is a dead mount (its blastfs, pid %d, is gone): run "
		 "'blastctl kill --force %s', then 'blastctl start'",
		 info.mount, (int)info.pid, tg->name);
	return true;
}

static int check_mount(struct ctl *c, const struct check_opts *o,
		       struct check_result *res)
{
	char msg[2 * PATH_MAX + 256];
	struct statfs sfs;
	json_t *rep;

	if (res->obj)
		json_object_set_new(res->obj, "mounted",
				    json_boolean(o->tg->mounted));
	if (!o->tg->mounted && stale_mount(o->tg, msg, sizeof(msg))) {
		check_problem(res, msg);
		return 0;
	}
	if (!o->tg->mounted) {
		ctl_status(c, "mount: env '%s' is not mounted", o->tg->name);
		return 0;
	}
	if (res->obj)
		json_object_set_new(res->obj, "mount", json_string(o->tg->mnt));
	if (snap_request(o->tg, "status", 5000, &rep) < 0) {
		snprintf(msg, sizeof(msg), "blastfs (pid %d) does not answer",
			 (int)o->tg->pid);
		check_problem(res, msg);
		return 0;
	}
	json_decref(rep);
	if (statfs(o->tg->mnt, &sfs) < 0) {
		snprintf(msg, sizeof(msg), "'%s' cannot be reached: %s",
			 o->tg->mnt, ctl_strerror(errno));
		check_problem(res, msg);
	}
	return 0;
}

/* pip's lines go to stdout as they are: no section prefix. */
static int pkg_problem(void *arg, const struct pkg_problem *p)
{
	struct check_result *res = arg;

	res->problems++;
	if (res->json)
		json_array_append_new(res->list, json_text(p->line));
	else
		printf("%s\n", p->line);
	return 0;
}

static int check_packages(struct ctl *c, const struct check_opts *o,
			  struct check_result *res)
{
	struct pkg_markerenv env;
	struct pkg_dist *d = NULL;
	size_t n = 0;
	long found;
	int r;

	r = ctl_pkg_markers(o->tg, &env);
	if (r == -ENOENT)
		r = 0;
	if (r)
		return r;
	r = ctl_pkg_load(o->tg, NULL, &d, &n);
	if (r)
		return r;
	found = pkg_check(d, n, &env, pkg_problem, res);
	if (found < 0) {
		ctl_err(c, "cannot check the packages of '%s': %s", o->tg->name,
			ctl_strerror((int)found));
		r = (int)found;
	} else if (res->obj) {
		json_object_set_new(res->obj, "distributions",
				    json_integer((json_int_t)n));
	} else if (!found) {
		printf("No broken requirements found.\n");
	}
	pkgstate_free(d, n);
	return r;
}

static void file_problem(void *arg, const struct pkg_dist *d, const char *kind,
			 const char *path)
{
	char msg[4096 + PKG_NAME_LEN + PKG_VERSION_LEN + 32];

	if (d)
		snprintf(msg, sizeof(msg), "%s %s (%s %s)", kind, path, d->norm,
			 d->version);
	else
		snprintf(msg, sizeof(msg), "%s %s", kind, path);
	check_problem(arg, msg);
}

static int check_files(struct ctl *c, const struct check_opts *o,
		       struct check_result *res)
{
	struct pkg_dist *d = NULL;
	struct store_txn *t;
	struct store_env e;
	size_t n = 0, files = 0;
	int r;

	if (o->tg->mounted) {
		json_t *rep;

		r = snap_request(o->tg, "sync", 10 * 60 * 1000, &rep);
		if (r)
			return r;
		json_decref(rep);
	}
	r = ctl_pkg_load(o->tg, &e, &d, &n);
	if (r)
		return r;
	r = store_txn_begin(o->tg->st, false, &t);
	if (!r) {
		r = pkgstate_verify_files(t, e.root, d, n, file_problem, res,
					  &files);
		store_txn_abort(t);
	}
	if (r)
		ctl_err(c, "cannot check the files of '%s': %s", o->tg->name,
			ctl_strerror(r));
	else if (res->obj)
		json_object_set_new(res->obj, "files",
				    json_integer((json_int_t)files));
	pkgstate_free(d, n);
	return r;
}

struct rules_run {
	struct check_result *res;
	const struct pkg_dist *d;
	size_t n;
	int err;
};

static int rule_one(void *arg, const char *key, const void *val, size_t len)
{
	struct rules_run *rr = arg;
	const char *norm = key + strlen("pkgrule:");
	char msg[PKG_NAME_LEN * 2 + PKG_VERSION_LEN + 1024];
	struct pkg_specset set;
	struct pkg_version v;
	size_t k;

	for (k = 0; k < rr->n && strcmp(rr->d[k].norm, norm); k++)
		;
	if (k == rr->n)
		return 0; /* a rule pins, it does not require */
	if (pkg_specset_parse(val, len, &set, NULL)) {
		snprintf(msg, sizeof(msg),
			 "the rule for %s is not a "
			 "specifier: '%.*s'",
			 norm, (int)(len > 200 ? 200 : len), (const char *)val);
		check_problem(rr->res, msg);
		return 0;
	}
	if (pkg_version_parse_any(rr->d[k].version, strlen(rr->d[k].version),
				  &v, NULL) ||
	    !pkg_specset_contains(&set, &v, true)) {
		snprintf(msg, sizeof(msg),
			 "%s %s is excluded by the rule %s%.*s", norm,
			 rr->d[k].version, norm, (int)(len > 200 ? 200 : len),
			 (const char *)val);
		check_problem(rr->res, msg);
	}
	pkg_specset_release(&set);
	return 0;
}

static int check_rules(struct ctl *c, const struct check_opts *o,
		       struct check_result *res)
{
	struct rules_run rr = {res, NULL, 0, 0};
	struct pkg_dist *d = NULL;
	struct store_txn *t;
	struct store_env e;
	size_t n = 0;
	int r;

	r = ctl_pkg_load(o->tg, &e, &d, &n);
	if (r)
		return r;
	rr.d = d;
	rr.n = n;
	r = store_txn_begin(o->tg->st, false, &t);
	if (!r) {
		r = store_state_iter(t, e.root, "pkgrule:", rule_one, &rr);
		store_txn_abort(t);
	}
	if (r == -ENOENT)
		r = 0;
	if (r)
		ctl_err(c, "cannot check the rules of '%s': %s", o->tg->name,
			ctl_strerror(r));
	pkgstate_free(d, n);
	return r;
}

/* The project directory: the one holding the env's mount. */
static bool project_dir(const struct check_opts *o, const struct store_env *e,
			char *out, size_t len)
{
	const char *mnt = o->tg->mounted ? o->tg->mnt : e->mount;
	const char *slash = strrchr(mnt, '/');

	if (!mnt[0] || !slash || slash == mnt)
		return false;
	snprintf(out, len, "%.*s", (int)(slash - mnt), mnt);
	return true;
}

static int check_declared(struct ctl *c, const struct check_opts *o,
			  struct check_result *res)
{
	char project[PATH_MAX];
	struct pkg_markerenv env;
	struct pkg_dist *d = NULL;
	struct store_env e;
	size_t n = 0, files = 0;
	int r;

	r = ctl_pkg_markers(o->tg, &env);
	if (!r)
		r = ctl_pkg_load(o->tg, &e, &d, &n);
	if (r)
		return r;
	if (project_dir(o, &e, project, sizeof(project))) {
		r = pkg_declared_check(project, d, n, &env, check_problem, res,
				       &files);
		if (r)
			ctl_err(c, "cannot read the requirements in '%s': %s",
				project, ctl_strerror(r));
		if (res->obj)
			json_object_set_new(res->obj, "project",
					    json_string(project));
	}
	if (res->obj)
		json_object_set_new(res->obj, "files",
				    json_integer((json_int_t)files));
	pkgstate_free(d, n);
	return r;
}

static const struct check_section sections[] = {
    {"store", CHECK_STORE, check_store},
    {"mount", CHECK_MOUNT, check_mount},
    {"packages", CHECK_PACKAGES, check_packages},
    {"files", CHECK_FILES, check_files},
    {"rules", CHECK_RULES, check_rules},
    {"declared", CHECK_DECLARED, check_declared},
};

enum { OPT_STORE = 0x100, OPT_DEEP, OPT_PACKAGES, OPT_FILES };

static int check_parse(struct ctl *c, int argc, char **argv,
		       struct check_opts *o)
{
	static const struct option opts[] = {
	    {"store", no_argument, NULL, OPT_STORE},
	    {"deep", no_argument, NULL, OPT_DEEP},
	    {"packages", no_argument, NULL, OPT_PACKAGES},
	    {"files", no_argument, NULL, OPT_FILES},
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    CTL_OPTION_QUIET,
	    {0},
	};
	int opt;

	while ((opt = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case OPT_STORE:
			o->which |= CHECK_STORE;
			break;
		case OPT_DEEP:
			o->deep = true;
			break;
		case OPT_PACKAGES:
			o->which |= CHECK_PACKAGES;
			break;
		case OPT_FILES:
			o->which |= CHECK_FILES;
			break;
		default:
			return ctl_opt_exit(opt);
		}
	}
	if (optind < argc)
		o->name = argv[optind++];
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'",
				       argv[optind]);
	if (o->name && store_name_check(o->name))
		return snap_name_usage(c, "env", o->name);
	return CTL_PARSED;
}

/* Is an env mounted at ./.blast? Its name into name when its daemon is
 * gone, leaving a dead mount: the checks of that env say so. */
static bool cwd_env(struct ctl *c, char name[STORE_ENV_NAME_MAX + 1])
{
	char home[PATH_MAX], rundir[PATH_MAX], cwd[PATH_MAX], mnt[PATH_MAX + 8];
	struct daemon_info info;

	if (ctl_daemon_dirs(c, home, rundir) < 0 || !getcwd(cwd, sizeof(cwd)))
		return false;
	snprintf(mnt, sizeof(mnt), "%s/.blast", strcmp(cwd, "/") ? cwd : "");
	return daemon_find_by_mount(rundir, mnt, name, &info) == 0 ||
	       daemon_find_dead_by_mount(rundir, mnt, name, &info) == 0;
}

/* Which sections run: named ones, else for an env (named or at
 * ./.blast) its mount and packages (and the store with --deep), else
 * the store. */
static int check_select(struct ctl *c, struct check_opts *o)
{
	static char cwd_name[STORE_ENV_NAME_MAX + 1];
	bool env = o->name ||
		   ((o->which & CHECK_ENV) || !o->which ? cwd_env(c, cwd_name)
							: false);
	int r;

	if (!o->which)
		o->which = env ? CHECK_MOUNT | CHECK_PACKAGES | CHECK_RULES |
				     CHECK_DECLARED |
				     (o->deep ? CHECK_STORE : 0)
			       : CHECK_STORE;
	if (!(o->which & CHECK_ENV))
		return 0;
	if (!env && !o->name)
		return ctl_usage_error(c, "no env is mounted at ./.blast: name "
					  "the env"),
		       -EINVAL;
	r = snap_target_open(c, o->name ? o->name : cwd_name, o->tg);
	return r < 0 ? r : 0;
}

/* Run one section; false if it found problems or could not run. */
static bool section_run(struct ctl *c, const struct check_section *s,
			const struct check_opts *o, json_t *top)
{
	struct check_result res = {.c = c, .section = s->name};
	int r;

	if (top) {
		res.json = true;
		res.obj = ctl_json_add(json_object(), "ok", json_true());
		res.list = json_array();
		json_object_set_new(top, s->name, res.obj);
	}
	r = s->run(c, o, &res);
	if (res.obj) {
		json_object_set_new(res.obj, "problems", res.list);
		json_object_set_new(res.obj, "ok",
				    json_boolean(!r && !res.problems));
		if (r < 0)
			json_object_set_new(res.obj, "error",
					    json_string(ctl_strerror(r)));
	} else {
		json_decref(res.list);
	}
	if (r < 0)
		return false;
	if (res.problems)
		ctl_err(c, "%s: %zu problem%s found", s->name, res.problems,
			res.problems == 1 ? "" : "s");
	else
		ctl_status(c, "%s ok", s->name);
	return !res.problems;
}

int ctl_cmd_check(struct ctl *c, int argc, char **argv)
{
	struct snap_target tg = {.lock_fd = -1};
	struct check_opts o = {.tg = &tg};
	json_t *top = NULL;
	bool ok = true;
	size_t i;
	int rc;

	rc = check_parse(c, argc, argv, &o);
	if (rc != CTL_PARSED)
		return rc;
	rc = check_select(c, &o);
	if (rc == -EINVAL)
		return CTL_EXIT_USAGE;
	if (rc < 0) {
		snap_target_close(&tg);
		return CTL_EXIT_FAIL;
	}
	if (c->json) {
		top = ctl_json_add(json_object(), "ok", json_true());
		if (!top) {
			snap_target_close(&tg);
			ctl_json_print(c, NULL);
			return CTL_EXIT_FAIL;
		}
		if (o.which & CHECK_ENV)
			json_object_set_new(top, "env", json_string(tg.name));
	}
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (o.which & sections[i].flag)
			ok = section_run(c, &sections[i], &o, top) && ok;
	snap_target_close(&tg);
	if (top) {
		json_object_set_new(top, "ok", json_boolean(ok));
		if (ctl_json_print(c, top) < 0)
			return CTL_EXIT_FAIL;
	}
	return ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}
