/* SPDX-License-Identifier: MIT */
/*
 * pyfind.c - where people keep their Python interpreters: every
 * pythonX.Y on PATH (a pyenv shim for a version that is not selected
 * fails, so the next place is tried), pyenv's versions directory, the
 * system's /usr/local/bin and /usr/bin, and uv's managed pythons. Only
 * names are listed here; venv.c runs each candidate and believes what
 * it reports.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyfind.h"

static bool is_exec_file(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	       access(path, X_OK) == 0;
}

static int list_add(struct pyfind_list *l, const char *path)
{
	char **v;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->paths[i], path))
			return 0;
	v = realloc(l->paths, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->paths = v;
	v[l->n] = strdup(path);
	if (!v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

void pyfind_list_release(struct pyfind_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	l->paths = NULL;
	l->n = 0;
}

/* Newest version directory first ("3.9.18" before "3.9.2"). */
static int cmp_desc(const void *a, const void *b)
{
	return strverscmp(*(char *const *)b, *(char *const *)a);
}

/*
 * dir/<each subdirectory>/bin/prog, subdirectories newest first; with
 * prefix, only subdirectories whose name starts with it.
 */
static int add_versions(struct pyfind_list *l, const char *dir,
			const char *prefix, const char *prog)
{
	char path[PATH_MAX], **names = NULL;
	size_t n = 0, i;
	struct dirent *d;
	DIR *dp;
	int err = 0;

	dp = opendir(dir);
	if (!dp)
		return 0;
	while (!err && (d = readdir(dp))) {
		char **v;

		if (d->d_name[0] == '.' ||
		    (prefix && strncmp(d->d_name, prefix, strlen(prefix))))
			continue;
		v = realloc(names, (n + 1) * sizeof(*v));
		if (!v || !(v[n] = strdup(d->d_name))) {
			if (v)
				names = v;
			err = -ENOMEM;
			break;
		}
		names = v;
		n++;
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(*names), cmp_desc);
	for (i = 0; i < n; i++) {
		int len = snprintf(path, sizeof(path), "%s/%s/bin/%s", dir,
				   names[i], prog);

		if (!err && len > 0 && (size_t)len < sizeof(path) &&
		    is_exec_file(path))
			err = list_add(l, path);
		free(names[i]);
	}
	free(names);
	return err;
}

static void home_path(char *buf, size_t len, const char *env,
		      const char *xdg_sub, const char *home_sub)
{
	const char *v = getenv(env), *home = getenv("HOME");
	const char *xdg = getenv("XDG_DATA_HOME");

	buf[0] = '\0';
	if (v && *v)
		snprintf(buf, len, "%s", v);
	else if (xdg_sub && xdg && *xdg)
		snprintf(buf, len, "%s/%s", xdg, xdg_sub);
	else if (home && *home)
		snprintf(buf, len, "%s/%s", home, home_sub);
}

/* The directories holding installed versions, each with its layout. */
static void roots(char *pyenv, char *uv, size_t len)
{
	char base[PATH_MAX - 16];

	home_path(base, sizeof(base), "PYENV_ROOT", NULL, ".pyenv");
	snprintf(pyenv, len, "%s%s", base, *base ? "/versions" : "");
	home_path(uv, len, "UV_PYTHON_INSTALL_DIR", "uv/python",
		  ".local/share/uv/python");
}

int pyfind_candidates(const char *xy, struct pyfind_list *out)
{
	char prog[32], path[PATH_MAX], pyenv[PATH_MAX], uv[PATH_MAX];
	char uvprefix[48];
	const char *p = getenv("PATH"), *end;
	static const char *const sysdirs[] = {"/usr/local/bin", "/usr/bin"};
	size_t i;
	int err = 0;

	snprintf(prog, sizeof(prog), "python%s", xy);
	for (; !err && p && *p; p = *end ? end + 1 : end) {
		int n;

		end = strchrnul(p, ':');
		n = snprintf(path, sizeof(path), "%.*s/%s", (int)(end - p),
			     end > p ? p : ".", prog);
		if (n > 0 && (size_t)n < sizeof(path) && is_exec_file(path))
			err = list_add(out, path);
	}
	roots(pyenv, uv, sizeof(pyenv));
	if (!err && *pyenv)
		err = add_versions(out, pyenv, NULL, prog);
	for (i = 0; !err && i < sizeof(sysdirs) / sizeof(*sysdirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", sysdirs[i], prog);
		if (is_exec_file(path))
			err = list_add(out, path);
	}
	/* uv names them cpython-3.12.4-linux-x86_64-gnu */
	snprintf(uvprefix, sizeof(uvprefix), "cpython-%s.", xy);
	if (!err && *uv)
		err = add_versions(out, uv, uvprefix, prog);
	return err;
}

/* Versions found, distinct, at most VERSIONS_MAX. */
#define VERSIONS_MAX 64
struct versions {
	char xy[VERSIONS_MAX][24];
	size_t n;
};

static void version_add(struct versions *v, unsigned major, unsigned minor)
{
	char xy[24];
	size_t i;

	snprintf(xy, sizeof(xy), "%u.%u", major, minor);
	for (i = 0; i < v->n; i++)
		if (!strcmp(v->xy[i], xy))
			return;
	if (v->n < VERSIONS_MAX)
		memcpy(v->xy[v->n++], xy, sizeof(xy));
}

static int cmp_asc(const void *a, const void *b)
{
	return strverscmp(a, b);
}

/* Every python3.N (or pythonN.M) executable name directly in dir. */
static void scan_dir(const char *dir, struct versions *v)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		unsigned major, minor;
		int n = 0;

		if (sscanf(d->d_name, "python%u.%u%n", &major, &minor, &n) !=
			2 ||
		    d->d_name[n])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (is_exec_file(path))
			version_add(v, major, minor);
	}
	closedir(dp);
}

/* scan_dir over dir/<each subdirectory>/bin. */
static void scan_versions(const char *dir, struct versions *v)
{
	char sub[PATH_MAX];
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s/bin", dir, d->d_name);
		scan_dir(sub, v);
	}
	closedir(dp);
}

void pyfind_versions(char *buf, size_t len)
{
	char pyenv[PATH_MAX], uv[PATH_MAX], dir[PATH_MAX];
	const char *p = getenv("PATH"), *end;
	struct versions v = {.n = 0};
	size_t i, have = 0;

	for (; p && *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		snprintf(dir, sizeof(dir), "%.*s", (int)(end - p),
			 end > p ? p : ".");
		/* a shim directory lists versions that may not be installed */
		if (!strstr(dir, "/shims"))
			scan_dir(dir, &v);
	}
	roots(pyenv, uv, sizeof(pyenv));
	if (*pyenv)
		scan_versions(pyenv, &v);
	scan_dir("/usr/local/bin", &v);
	scan_dir("/usr/bin", &v);
	if (*uv)
		scan_versions(uv, &v);
	qsort(v.xy, v.n, sizeof(v.xy[0]), cmp_asc);
	buf[0] = '\0';
	for (i = 0; i < v.n && have < len; i++)
		have += snprintf(buf + have, len - have, "%s%s", i ? ", " : "",
				 v.xy[i]);
}
