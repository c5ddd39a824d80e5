/* SPDX-License-Identifier: MIT */
/*
 * cmd-import.c - `blastctl import NAME DIR`: a directory tree (usually a
 * venv) becomes the live root of a new env. The interpreter and its
 * version come from DIR/pyvenv.cfg unless --python says otherwise.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autocompact.h"
#include "ctl.h"
#include "progress.h"
#include "snap.h"
#include "store.h"

#define THREADS_MAX 256

struct import_args {
	const char *name;
	const char *dir;
	const char *python; /* --python, or NULL */
	unsigned long threads;
};

enum { OPT_PYTHON = 0x100, OPT_THREADS };

static int import_parse(struct ctl *c, int argc, char **argv,
			struct import_args *a)
{
	static const struct option opts[] = {
	    {"python", required_argument, NULL, OPT_PYTHON},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    CTL_OPTION_QUIET,
	    {0},
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int o;

	a->threads = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (unsigned long)ncpu;
	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		switch (o) {
		case OPT_PYTHON:
			a->python = optarg;
			break;
		case OPT_THREADS:
			if (ctl_parse_uint(c, "--threads", optarg, 1,
					   THREADS_MAX, &a->threads))
				return CTL_EXIT_USAGE;
			break;
		default:
			return ctl_opt_exit(o);
		}
	}
	if (argc - optind != 2)
		return ctl_usage_error(c, argc - optind < 2
					      ? "expected NAME and DIR"
					      : "too many arguments");
	a->name = argv[optind];
	a->dir = argv[optind + 1];
	if (store_name_check(a->name))
		return snap_name_usage(c, "env", a->name);
	if (a->python && !*a->python)
		return ctl_usage_error(c, "--python needs a path");
	return CTL_PARSED;
}

/* "3.11.4" -> "3.11"; false if s does not start with MAJOR.MINOR. */
static bool pyver_parse(const char *s, char *out, size_t len)
{
	unsigned major, minor;
	int n;

	if (sscanf(s, "%u.%u%n", &major, &minor, &n) != 2)
		return false;
	if (s[n] && s[n] != '.' && s[n] != ' ')
		return false;
	n = snprintf(out, len, "%u.%u", major, minor);
	return n > 0 && (size_t)n < len;
}

/* The version a pythonX.Y path names, itself or through its symlinks. */
static bool pyver_from_path(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX], *real;
	bool ok = false;

	snprintf(buf, sizeof(buf), "%s", path);
	if (!strncmp(basename(buf), "python", 6) &&
	    pyver_parse(basename(buf) + 6, out, len))
		return true;
	real = realpath(path, NULL);
	if (real && !strncmp(basename(real), "python", 6))
		ok = pyver_parse(basename(real) + 6, out, len);
	free(real);
	return ok;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]))
		*--end = '\0';
	return s;
}

/*
 * pyvenv.cfg (PEP 405) is `key = value` lines. venv writes `home` (the
 * interpreter's directory), `version` and, since 3.11, `executable`;
 * virtualenv and uv write `version_info`.
 */
static void venv_cfg_read(struct ctl *c, const char *dir, struct store_env *e)
{
	char path[PATH_MAX], *line = NULL, *home = NULL, *exe = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pyvenv.cfg", dir);
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			ctl_warn(c, "cannot read '%s': %s", path,
				 ctl_strerror(errno));
		return;
	}
	while (getline(&line, &cap, f) > 0) {
		char *eq = strchr(line, '='), *key, *val;

		if (!eq)
			continue;
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (!strcmp(key, "home") && !home)
			home = strdup(val);
		else if (!strcmp(key, "executable") && !exe)
			exe = strdup(val);
		else if ((!strcmp(key, "version") ||
			  !strcmp(key, "version_info")) &&
			 !e->pyver[0])
			pyver_parse(val, e->pyver, sizeof(e->pyver));
	}
	if (exe && *exe)
		snprintf(e->python, sizeof(e->python), "%s", exe);
	else if (home && *home)
		snprintf(e->python, sizeof(e->python), "%s/python3", home);
	free(line);
	free(home);
	free(exe);
	fclose(f);
}

static int env_fill(struct ctl *c, const struct import_args *a,
		    struct store_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", a->name);
	venv_cfg_read(c, a->dir, e);
	if (!a->python)
		return 0;
	if (strlen(a->python) >= sizeof(e->python)) {
		ctl_err(c, "interpreter path too long: '%s'", a->python);
		return -ENAMETOOLONG;
	}
	/* pyvenv.cfg's version is another interpreter's: better none. */
	snprintf(e->python, sizeof(e->python), "%s", a->python);
	e->pyver[0] = '\0';
	pyver_from_path(a->python, e->pyver, sizeof(e->pyver));
	return 0;
}

/* Fail before reading a large tree if the name is taken. */
static int env_absent(struct ctl *c, struct store *st, const char *name)
{
	struct store_txn *t;
	struct store_env e;
	int r;

	r = store_txn_begin(st, false, &t);
	if (r < 0)
		goto out_err;
	r = store_env_get(t, name, &e);
	store_txn_abort(t);
	if (r == -ENOENT)
		return 0;
	if (r == 0) {
		ctl_err(c, "env '%s' already exists", name);
		return -EEXIST;
	}
out_err:
	ctl_err(c, "cannot read store '%s': %s", store_path(st),
		ctl_strerror(r));
	return r;
}

static int import_report(struct ctl *c, const struct store_env *e,
			 const struct store_import_stats *s, double secs)
{
	double mbs = secs > 0 ? (double)s->bytes / 1e6 / secs : 0;
	char b1[CTL_BYTES_LEN], b2[CTL_BYTES_LEN];

	if (c->json) {
		json_t *j = json_object();

		j = ctl_json_add(j, "name", ctl_json_str(e->name));
		j = ctl_json_add(j, "python", ctl_json_str(e->python));
		j = ctl_json_add(j, "python_version", ctl_json_str(e->pyver));
		j = ctl_json_add(j, "files", ctl_json_u64(s->files));
		j = ctl_json_add(j, "dirs", ctl_json_u64(s->dirs));
		j = ctl_json_add(j, "symlinks", ctl_json_u64(s->symlinks));
		j = ctl_json_add(j, "bytes", ctl_json_u64(s->bytes));
		j = ctl_json_add(j, "stored_added",
				 ctl_json_u64(s->stored_added));
		j = ctl_json_add(j, "deduped", ctl_json_u64(s->deduped));
		j = ctl_json_add(j, "dirs_shared",
				 ctl_json_u64(s->dirs_shared));
		j = ctl_json_add(j, "seconds", json_real(secs));
		j = ctl_json_add(j, "mb_per_s", json_real(mbs));
		return ctl_json_print(c, j);
	}
	ctl_status(c,
		   "imported '%s': %llu files, %llu dirs, %llu symlinks, %s; "
		   "%s stored added, %llu deduped, %llu dirs shared; %.2f s, "
		   "%.1f MB/s",
		   e->name, (unsigned long long)s->files,
		   (unsigned long long)s->dirs, (unsigned long long)s->symlinks,
		   ctl_fmt_bytes(b1, sizeof(b1), s->bytes),
		   ctl_fmt_bytes(b2, sizeof(b2), s->stored_added),
		   (unsigned long long)s->deduped,
		   (unsigned long long)s->dirs_shared, secs, mbs);
	return 0;
}

static int import_run(struct ctl *c, const struct import_args *a)
{
	struct store_import_stats stats = {0};
	char freed[CTL_RECLAIM_LEN];
	struct ctl_progress pg;
	struct store_env e;
	struct timespec t0;
	struct store *st;
	struct stat sb;
	int r;

	r = stat(a->dir, &sb) < 0 ? -errno : 0;
	if (!r && !S_ISDIR(sb.st_mode))
		r = -ENOTDIR;
	if (r < 0) {
		ctl_err(c, "cannot import '%s': %s", a->dir, ctl_strerror(r));
		return r;
	}
	r = env_fill(c, a, &e);
	if (r < 0)
		return r;
	r = ctl_store(c, &st);
	if (r < 0)
		return r;
	r = env_absent(c, st, a->name);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	store_nofile_raise(); /* one open directory per level */
	ctl_progress_init(&pg, c);
	ctl_progress_attach(&pg, st);
	r = store_import(st, a->dir, &e, (int)a->threads, &stats);
	ctl_progress_release(&pg);
	/* a failed import leaves its new blobs unreferenced; a successful
	 * one may follow one that did */
	if (ctl_reclaim(c, st, freed, sizeof(freed)) < 0 && !r)
		return -EIO;
	if (r == -EEXIST) {
		ctl_err(c, "env '%s' already exists", a->name);
		return r;
	}
	if (r < 0) {
		ctl_err(c, "cannot import '%s' as '%s': %s", a->dir, a->name,
			ctl_strerror(r));
		return r;
	}
	(void)ctl_autocompact_kick(store_path(st));
	return import_report(c, &e, &stats, ctl_seconds_since(&t0));
}

int ctl_cmd_import(struct ctl *c, int argc, char **argv)
{
	struct import_args a = {0};
	int rc;

	rc = import_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	return import_run(c, &a) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
