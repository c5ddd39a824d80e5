/* SPDX-License-Identifier: MIT */
/*
 * pthdist.c - distributions pip sees outside site-packages: in the
 * directories that site-packages' .pth files put on sys.path (a legacy
 * editable install, `setup.py develop`, leaves PROJECT/NAME.egg-info and
 * a line in easy-install.pth and NAME.egg-link). Those directories are
 * the user's, not the env's, so they are read from the host when check
 * or deps ask, the way site.py and pip find them: for each sys.path
 * location its distributions, then those in the directories its
 * *.egg-link files name (pip reads egg-links as pkg_resources did);
 * .pth files in name order, '#' and `import` lines skipped, a path that
 * does not exist skipped, relative paths against site-packages; the
 * first distribution of a name wins (site-packages comes first).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "pkg.h"

#define PTH_MAX (1 << 20) /* a bigger .pth is not read */

struct names {
	char **v;
	size_t n;
};

/* site-packages' .pth and .egg-link files */
struct site_files {
	struct names pth, links;
};

/* s: len bytes, not NUL-terminated (store names) */
static bool has_suffix(const char *s, size_t len, const char *sfx)
{
	size_t n = strlen(sfx);

	return len > n && !memcmp(s + len - n, sfx, n);
}

static int collect_site(void *arg, const char *name, size_t nlen,
			const struct store_entry *e)
{
	struct site_files *f = arg;

	if (!S_ISREG(e->a.mode) && e->payload != STORE_P_HARDLINK)
		return 0;
	if (name[0] == '.')
		return 0;
	if (has_suffix(name, nlen, ".pth"))
		return pkg_strv_push(&f->pth.v, &f->pth.n, name, nlen);
	if (has_suffix(name, nlen, ".egg-link"))
		return pkg_strv_push(&f->links.v, &f->links.n, name, nlen);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A whole host file, NUL-terminated; -EFBIG past max. */
static int host_read(int dirfd, const char *name, size_t max, char **out,
		     size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	char *buf;
	ssize_t got;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		r = -EINVAL;
	else if ((uint64_t)sb.st_size > max)
		r = -EFBIG;
	buf = r ? NULL : malloc((size_t)sb.st_size + 1);
	if (!r && !buf)
		r = -ENOMEM;
	got = r ? 0 : read(fd, buf, (size_t)sb.st_size);
	if (!r && (got < 0 || got != sb.st_size))
		r = got < 0 ? -errno : -EIO;
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = (size_t)got;
	return 0;
}

/* A distribution in host directory dirfd: NAME.dist-info/METADATA,
 * NAME.egg-info/PKG-INFO (+ requires.txt), or an egg-info file. -ENOENT:
 * not one (as importlib.metadata skips it). */
static int host_dist(int dirfd, const char *name, struct pkg_dist *out)
{
	char err[PKG_ERR_LEN], *buf = NULL, *req = NULL;
	bool dist_info = has_suffix(name, strlen(name), ".dist-info");
	struct pkg_meta m;
	struct stat sb;
	size_t blen, rlen;
	int dfd = -1, r;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -ENOENT;
	if (S_ISDIR(sb.st_mode)) {
		dfd = openat(dirfd, name,
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (dfd < 0)
			return -ENOENT;
		r = host_read(dfd, dist_info ? "METADATA" : "PKG-INFO",
			      PKGSTATE_META_MAX, &buf, &blen);
	} else if (!dist_info) {
		r = host_read(dirfd, name, PKGSTATE_META_MAX, &buf, &blen);
	} else {
		return -ENOENT;
	}
	if (!r)
		r = pkg_meta_parse(buf, blen, &m, err) ? -ENOENT : 0;
	free(buf);
	if (!r && dfd >= 0 && !dist_info &&
	    host_read(dfd, "requires.txt", PKGSTATE_META_MAX, &req, &rlen) ==
		0) {
		if (pkg_requires_txt_parse(req, rlen, &m, err)) {
			pkg_meta_release(&m);
			r = -ENOENT;
		}
		free(req);
	}
	if (dfd >= 0)
		close(dfd);
	if (r)
		return -ENOENT;
	if (!m.name || !m.name[0]) {
		pkg_meta_release(&m);
		return -ENOENT;
	}
	r = pkg_dist_from_meta(&m, name, out);
	pkg_meta_release(&m);
	return r == -ENOMEM ? r : r ? -ENOENT : 0;
}

struct dists {
	struct pkg_dist *v;
	size_t n;
};

static bool dists_have(const struct dists *d, const char *norm)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].norm && !strcmp(d->v[i].norm, norm))
			return true;
	return false;
}

/* Every distribution of host directory path not already in d. */
static int scan_host_dir(const char *path, struct dists *d)
{
	struct names l = {0};
	struct dirent *de;
	DIR *dp = opendir(path);
	size_t i;
	int r = 0;

	if (!dp)
		return 0; /* site.py adds only existing paths */
	while (!r && (de = readdir(dp))) {
		size_t len = strlen(de->d_name);

		if (has_suffix(de->d_name, len, ".dist-info") ||
		    has_suffix(de->d_name, len, ".egg-info"))
			r = pkg_strv_push(&l.v, &l.n, de->d_name, len);
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	for (i = 0; !r && i < l.n; i++) {
		struct pkg_dist x = {0}, *v;

		r = host_dist(dirfd(dp), l.v[i], &x);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r)
			break;
		if (dists_have(d, x.norm)) {
			pkg_dist_release(&x);
			continue;
		}
		v = realloc(d->v, (d->n + 1) * sizeof(*v));
		if (!v) {
			pkg_dist_release(&x);
			r = -ENOMEM;
			break;
		}
		d->v = v;
		d->v[d->n++] = x;
	}
	closedir(dp);
	pkg_strv_free(l.v, l.n);
	return r;
}

/* An egg-link's first line, if it is an absolute path: its
 * distributions (pip joins a relative one to the link file's own path,
 * which names no directory). */
static int scan_link(const char *text, struct dists *d)
{
	char path[PATH_MAX];
	size_t len = strcspn(text, "\r\n");
	int n;

	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	while (len && (*text == ' ' || *text == '\t')) {
		text++;
		len--;
	}
	if (!len || text[0] != '/')
		return 0;
	n = snprintf(path, sizeof(path), "%.*s", (int)len, text);
	return n > 0 && (size_t)n < sizeof(path) ? scan_host_dir(path, d) : 0;
}

/* The egg-links of host directory dirpath. */
static int scan_host_links(const char *dirpath, struct dists *d)
{
	struct names l = {0};
	struct dirent *de;
	DIR *dp = opendir(dirpath);
	size_t i, len;
	char *text;
	int r = 0;

	if (!dp)
		return 0;
	while (!r && (de = readdir(dp)))
		if (has_suffix(de->d_name, strlen(de->d_name), ".egg-link"))
			r = pkg_strv_push(&l.v, &l.n, de->d_name,
					  strlen(de->d_name));
	for (i = 0; !r && i < l.n; i++) {
		if (host_read(dirfd(dp), l.v[i], PTH_MAX, &text, &len))
			continue;
		r = scan_link(text, d);
		free(text);
	}
	closedir(dp);
	pkg_strv_free(l.v, l.n);
	return r;
}

/* The sys.path entries one .pth file adds, scanned in order. */
static int scan_pth(const char *text, const char *sitedir, struct names *seen,
		    struct dists *d)
{
	char path[PATH_MAX];
	const char *line = text, *end;
	int r = 0;

	for (; !r && *line; line = *end ? end + 1 : end) {
		size_t len;
		size_t k;

		end = strchrnul(line, '\n');
		len = (size_t)(end - line);
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
			       line[len - 1] == '\t'))
			len--;
		if (!len || line[0] == '#' || !strncmp(line, "import ", 7) ||
		    !strncmp(line, "import\t", 7))
			continue;
		if (line[0] == '/')
			k = (size_t)snprintf(path, sizeof(path), "%.*s",
					     (int)len, line);
		else if (*sitedir) /* unmounted: no host path for it */
			k = (size_t)snprintf(path, sizeof(path), "%s/%.*s",
					     sitedir, (int)len, line);
		else
			continue;
		if (k >= sizeof(path))
			continue;
		for (k = 0; k < seen->n && strcmp(seen->v[k], path); k++)
			;
		if (k < seen->n)
			continue;
		r = pkg_strv_push(&seen->v, &seen->n, path, strlen(path));
		if (!r)
			r = scan_host_dir(path, d);
		if (!r)
			r = scan_host_links(path, d);
	}
	return r;
}

/* File name of site-packages (table site), read from the store. */
static int site_read(struct store_txn *t, uint64_t root, uint64_t site,
		     const char *name, char **text, size_t *len)
{
	struct store_entry ent;
	int r = store_dir_get(t, site, name, strlen(name), &ent);

	return r ? r : pkgstate_read_file(t, root, &ent, PTH_MAX, text, len);
}

int ctl_pkg_pth_dists(struct store_txn *t, const struct store_env *e,
		      bool mounted, struct pkg_dist **v, size_t *n)
{
	struct dists d = {*v, *n};
	struct site_files f = {{0}, {0}};
	struct names seen = {0};
	char sitedir[PATH_MAX] = "", *text;
	uint64_t site;
	size_t i, len;
	int r;

	r = pkgstate_site_tab(t, e->root, &site);
	if (r)
		return r == -ENOENT ? 0 : r;
	r = store_dir_iter(t, site, NULL, 0, collect_site, &f);
	if (r)
		goto out;
	if (mounted && e->mount[0] &&
	    snprintf(sitedir, sizeof(sitedir), "%s/lib/python%s/site-packages",
		     e->mount, e->pyver) >= (int)sizeof(sitedir))
		sitedir[0] = '\0';
	/* site-packages itself is on sys.path already */
	if (*sitedir)
		r = pkg_strv_push(&seen.v, &seen.n, sitedir, strlen(sitedir));
	/* site-packages' egg-links, then the .pth files' directories (in
	 * name order: store_dir_iter's) */
	for (i = 0; !r && i < f.links.n; i++) {
		if (site_read(t, e->root, site, f.links.v[i], &text, &len))
			continue;
		r = scan_link(text, &d);
		free(text);
	}
	for (i = 0; !r && i < f.pth.n; i++) {
		if (site_read(t, e->root, site, f.pth.v[i], &text, &len))
			continue; /* unreadable: site.py skips it too */
		r = scan_pth(text, sitedir, &seen, &d);
		free(text);
	}
out:
	pkg_strv_free(f.pth.v, f.pth.n);
	pkg_strv_free(f.links.v, f.links.n);
	pkg_strv_free(seen.v, seen.n);
	*v = d.v;
	*n = d.n;
	return r;
}
