/* SPDX-License-Identifier: MIT */
/* treeutil.c - build, compare and remove trees for the unit tests. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "treeutil.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (flag == FTW_DP || flag == FTW_D)
		chmod(p, 0700), rmdir(p);
	else
		unlink(p);
	return 0;
}

void tree_remove(const char *path)
{
	nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static void put_file(const char *dir, const char *name, size_t len,
		     unsigned seed, int compressible, mode_t mode,
		     long long mtime_ns)
{
	char path[1024];
	struct timespec ts[2];
	unsigned char *buf = malloc(len ? len : 1);
	size_t i;
	FILE *f;

	srand(seed);
	for (i = 0; i < len; i++)
		buf[i] = compressible ? (unsigned char)("abcdefgh\n"[i % 9] +
							(rand() % 50 == 0))
				      : (unsigned char)rand();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (len)
		fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
	chmod(path, mode);
	ts[0].tv_sec = ts[1].tv_sec = mtime_ns / 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = mtime_ns % 1000000000;
	utimensat(AT_FDCWD, path, ts, 0);
}

static void set_mtime(const char *path, long long ns)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = ns / 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = ns % 1000000000;
	utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

void tree_make_synthetic(const char *dir, unsigned seed)
{
	static const size_t sizes[] = {0,      1,      63,     64,
				       65,     4095,   4096,   70000,
				       262144, 262145, 300000, 1048576 + 7};
	char path[1024], name[64];
	long long t0 = 1700000000123456789ll + (long long)seed * 1000;
	size_t i;
	int d;

	mkdir(dir, 0755);
	for (d = 0; d < 3; d++) {
		snprintf(path, sizeof(path), "%s/d%d", dir, d);
		mkdir(path, d == 2 ? 0700 : 0755);
		for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
			snprintf(name, sizeof(name), "f%zu-%d%s", i, d,
				 i % 2 ? ".py" : ".bin");
			put_file(path, name, sizes[i], seed * 131 + i * 7 + d,
				 i % 2, i % 3 == 0 ? 0755 : 0644,
				 t0 + (long long)i * 1000001);
		}
		put_file(path, "big", 700000, seed + 99, 1, 0600, t0 + 5);
		snprintf(path, sizeof(path), "%s/d%d/sub", dir, d);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/d%d/sub/empty", dir, d);
		mkdir(path, 0711);
		set_mtime(path, t0 + 17);
		snprintf(path, sizeof(path), "%s/d%d/sub", dir, d);
		set_mtime(path, t0 + 19);
	}
	put_file(dir, "same-as-other", 5000, 1234, 1, 0644, t0);
	put_file(dir, "same-as-other-2", 5000, 1234, 1, 0444, t0 + 1);
	snprintf(path, sizeof(path), "%s/link-rel", dir);
	symlink("d0/f3-0.py", path);
	set_mtime(path, t0 + 3);
	snprintf(path, sizeof(path), "%s/link-abs", dir);
	symlink("/usr/bin/python3", path);
	snprintf(path, sizeof(path), "%s/link-dangling", dir);
	symlink("does/not/exist", path);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	mkfifo(path, 0640);
	set_mtime(path, t0 + 11);
	for (d = 0; d < 3; d++) {
		snprintf(path, sizeof(path), "%s/d%d", dir, d);
		set_mtime(path, t0 + 100 + d);
	}
	set_mtime(dir, t0 + 1000);
}

static long long ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000ll + t->tv_nsec;
}

static int same_content(const char *a, const char *b, off_t size)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	char ba[65536], bb[65536];
	int ok = fa && fb;

	while (ok && size > 0) {
		size_t n = fread(ba, 1, sizeof(ba), fa);

		ok = n > 0 && fread(bb, 1, n, fb) == n && !memcmp(ba, bb, n);
		size -= (off_t)n;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return ok;
}

static int names(const char *dir, char ***out)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort), i, k = 0;
	char **v;

	if (n < 0)
		return -1;
	v = calloc((size_t)n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") &&
		    strcmp(list[i]->d_name, ".."))
			v[k++] = strdup(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	*out = v;
	return k;
}

static void free_names(char **v)
{
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int cmp_node(const char *a, const char *b)
{
	struct stat sa, sb;
	char la[4096], lb[4096];
	char **na, **nb;
	int ca, cb, i, r = 0;

	if (lstat(a, &sa) || lstat(b, &sb)) {
		fprintf(stderr, "tree: missing %s or %s\n", a, b);
		return -1;
	}
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT) ||
	    (!S_ISLNK(sa.st_mode) && sa.st_mode != sb.st_mode) ||
	    sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid ||
	    (!S_ISDIR(sa.st_mode) && sa.st_size != sb.st_size) ||
	    ns(&sa.st_mtim) != ns(&sb.st_mtim)) {
		fprintf(stderr,
			"tree: %s differs: mode %o/%o size %lld/%lld "
			"mtime %lld/%lld\n",
			b, sa.st_mode, sb.st_mode, (long long)sa.st_size,
			(long long)sb.st_size, ns(&sa.st_mtim),
			ns(&sb.st_mtim));
		return -1;
	}
	if (S_ISLNK(sa.st_mode)) {
		ssize_t x = readlink(a, la, sizeof(la)),
			y = readlink(b, lb, sizeof(lb));
		if (x != y || x < 0 || memcmp(la, lb, (size_t)x)) {
			fprintf(stderr, "tree: link %s differs\n", b);
			return -1;
		}
		return 0;
	}
	if (S_ISREG(sa.st_mode)) {
		if (!same_content(a, b, sa.st_size)) {
			fprintf(stderr, "tree: content of %s differs\n", b);
			return -1;
		}
		return 0;
	}
	if (!S_ISDIR(sa.st_mode))
		return 0;
	ca = names(a, &na);
	cb = names(b, &nb);
	if (ca != cb) {
		fprintf(stderr, "tree: %s has %d entries, %s %d\n", a, ca, b,
			cb);
		r = -1;
	}
	for (i = 0; !r && i < ca; i++) {
		char pa[4096], pb[4096];

		if (strcmp(na[i], nb[i])) {
			fprintf(stderr, "tree: %s: '%s' vs '%s'\n", b, na[i],
				nb[i]);
			r = -1;
			break;
		}
		snprintf(pa, sizeof(pa), "%s/%s", a, na[i]);
		snprintf(pb, sizeof(pb), "%s/%s", b, nb[i]);
		r = cmp_node(pa, pb);
	}
	free_names(na);
	free_names(nb);
	return r;
}

int tree_compare(const char *a, const char *b)
{
	return cmp_node(a, b);
}

int tree_file_eq(const char *root, const char *rel, const char *content)
{
	char path[4096], buf[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return n == strlen(content) && !memcmp(buf, content, n) ? 0 : -1;
}
