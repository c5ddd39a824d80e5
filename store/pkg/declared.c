/* SPDX-License-Identifier: MIT */
/*
 * declared.c - a project's declared requirements against what is
 * installed: requirements*.txt and constraints*.txt in the directory
 * holding the env's mount (.blast), with their -r and -c includes, read
 * when check runs (so always as the user last saved them). A requirement
 * that is absent, or present at a version its line excludes, is a
 * problem; a constraint only excludes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkg.h"

#define INCLUDE_DEPTH 8
#define FILE_MAX      (16u << 20)

struct walk {
	const char *project;
	const struct pkg_dist *d;
	size_t n;
	const struct pkg_markerenv *env;
	pkg_declared_fn fn;
	void *arg;
	const char *file; /* shown, relative to the project */
	char dir[PATH_MAX];
	bool constraints;
	unsigned depth;
	size_t problems;
	struct seen *seen; /* files read so far: each once */
};

struct seen {
	char **v;
	size_t n;
};

static void problem(struct walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct walk *w, const char *fmt, ...)
{
	char msg[PATH_MAX + 1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->problems++;
	w->fn(w->arg, msg);
}

static int walk_file(struct walk *w, const char *path, const char *shown);

static void judge(struct walk *w, size_t lineno, const char *text)
{
	char err[PKG_ERR_LEN], req[2048];
	struct pkg_version v;
	struct pkg_req r;
	size_t k;
	int m;

	if (pkg_req_parse(text, strlen(text), &r, err)) {
		if (strstr(text, "://") || strchr(text, '/'))
			return; /* a bare URL or path: nothing to hold */
		problem(w, "%s:%zu: %s", w->file, lineno, err);
		return;
	}
	m = r.marker ? pkg_marker_eval(r.marker, w->env, "") : 1;
	if (m == 0)
		goto out;
	if (pkg_req_format(&r, req, sizeof(req)) < 0)
		snprintf(req, sizeof(req), "%s", text);
	for (k = 0; k < w->n && strcmp(w->d[k].norm, r.norm); k++)
		;
	if (k == w->n) {
		if (!w->constraints)
			problem(w, "%s is not installed (%s:%zu: %s)", r.norm,
				w->file, lineno, req);
		goto out;
	}
	if (pkg_version_parse_any(w->d[k].version, strlen(w->d[k].version), &v,
				  NULL) ||
	    !pkg_specset_contains(&r.specs, &v, true))
		problem(w, "%s %s is excluded by %s:%zu: %s", r.norm,
			w->d[k].version, w->file, lineno, req);
out:
	pkg_req_release(&r);
}

static int on_line(void *arg, enum pkg_reqfile_kind kind, size_t lineno,
		   const char *text)
{
	struct walk *w = arg, sub;
	char path[PATH_MAX * 2], shown[PATH_MAX * 2];

	if (kind == PKG_REQFILE_REQUIREMENT) {
		judge(w, lineno, text);
		return 0;
	}
	if (w->depth >= INCLUDE_DEPTH) {
		problem(w, "%s:%zu: includes nested deeper than %d", w->file,
			lineno, INCLUDE_DEPTH);
		return 0;
	}
	if (text[0] == '/')
		snprintf(path, sizeof(path), "%s", text);
	else
		snprintf(path, sizeof(path), "%s/%s", w->dir, text);
	if (!strncmp(path, w->project, strlen(w->project)) &&
	    path[strlen(w->project)] == '/')
		snprintf(shown, sizeof(shown), "%s",
			 path + strlen(w->project) + 1);
	else
		snprintf(shown, sizeof(shown), "%s", path);
	sub = *w;
	sub.depth = w->depth + 1;
	sub.problems = 0;
	sub.constraints = w->constraints || kind == PKG_REQFILE_CONSTRAINTS;
	if (walk_file(&sub, path, shown) == -ENOENT)
		problem(w, "%s:%zu: cannot open '%s'", w->file, lineno, text);
	w->problems += sub.problems;
	return 0;
}

static int walk_file(struct walk *w, const char *path, const char *shown)
{
	char *buf, *copy;
	struct stat sb;
	ssize_t got;
	size_t len = 0;
	int fd, r = 0;

	char real[PATH_MAX];
	size_t k;

	if (realpath(path, real)) {
		for (k = 0; k < w->seen->n; k++)
			if (!strcmp(w->seen->v[k], real))
				return 0;
		if (pkg_strv_push(&w->seen->v, &w->seen->n, real, strlen(real)))
			return -ENOMEM;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > FILE_MAX) {
		close(fd);
		problem(w, "%s: not a regular file of at most 16 MiB", shown);
		return 0;
	}
	buf = malloc((size_t)sb.st_size + 1);
	while (buf && len < (size_t)sb.st_size &&
	       (got = read(fd, buf + len, (size_t)sb.st_size - len)) > 0)
		len += (size_t)got;
	close(fd);
	if (!buf)
		return -ENOMEM;
	w->file = shown;
	copy = strdup(path);
	if (copy) {
		snprintf(w->dir, sizeof(w->dir), "%s", dirname(copy));
		free(copy);
	}
	r = pkg_reqfile_parse(buf, len, on_line, w);
	if (r == -EINVAL)
		problem(w, "%s: not valid UTF-8", shown);
	free(buf);
	return r == -ENOMEM ? r : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int pkg_declared_check(const char *project, const struct pkg_dist *d, size_t n,
		       const struct pkg_markerenv *env, pkg_declared_fn fn,
		       void *arg, size_t *files)
{
	char **names = NULL, path[PATH_MAX * 2];
	struct seen seen = {0};
	size_t nn = 0, k;
	struct dirent *de;
	DIR *dir = opendir(project);
	int r = 0;

	*files = 0;
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir)))
		if (!fnmatch("requirements*.txt", de->d_name, 0) ||
		    !fnmatch("constraints*.txt", de->d_name, 0))
			if ((r = pkg_strv_push(&names, &nn, de->d_name,
					       strlen(de->d_name))))
				break;
	closedir(dir);
	if (nn)
		qsort(names, nn, sizeof(char *), cmp_str);
	for (k = 0; !r && k < nn; k++) {
		struct walk w = {.project = project,
				 .d = d,
				 .n = n,
				 .env = env,
				 .fn = fn,
				 .arg = arg,
				 .seen = &seen,
				 .constraints =
				     !strncmp(names[k], "constraints", 11)};

		snprintf(path, sizeof(path), "%s/%s", project, names[k]);
		r = walk_file(&w, path, names[k]);
		if (r == -ENOENT)
			r = 0;
		(*files)++;
	}
	pkg_strv_free(names, nn);
	pkg_strv_free(seen.v, seen.n);
	return r;
}
