/* SPDX-License-Identifier: MIT */
/*
 * project.c - the project marker (see project.h): a few "key=value"
 * lines, read with O_NOFOLLOW from the unmounted mountpoint, replaced by
 * rename so a reader sees the old marker or the new one, never half.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "project.h"

#define MARKER_MAX 8192
#define MARKER_TMP STORE_PROJECT_MARKER ".new"
#define MARKER_HEAD                                                            \
	"# blast: this directory's env (blastctl start writes this file; the " \
	"mount covers it)\n"

static int marker_parse(char *buf, struct project_marker *m)
{
	bool env = false, id = false, home = false;
	char *save = NULL, *line, *end;

	memset(m, 0, sizeof(*m));
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (!strncmp(line, "env=", 4)) {
			env = !store_name_check(line + 4);
			snprintf(m->env, sizeof(m->env), "%s", line + 4);
		} else if (!strncmp(line, "id=", 3)) {
			errno = 0;
			m->id = strtoull(line + 3, &end, 10);
			id = line[3] && !*end && !errno;
		} else if (!strncmp(line, "home=", 5)) {
			home = line[5] == '/' &&
			       strlen(line + 5) < sizeof(m->home);
			snprintf(m->home, sizeof(m->home), "%s", line + 5);
		}
	}
	return env && id && home ? 0 : -EIO;
}

int project_marker_read(int dirfd, const char *mnt, struct project_marker *out)
{
	char path[PATH_MAX + sizeof(STORE_PROJECT_MARKER) + 1], *buf;
	struct stat sb;
	ssize_t n;
	int fd, r;

	if (snprintf(path, sizeof(path), "%s/%s", mnt, STORE_PROJECT_MARKER) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = openat(dirfd, dirfd == AT_FDCWD ? path : STORE_PROJECT_MARKER,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EIO : -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > MARKER_MAX) {
		close(fd);
		return -EIO;
	}
	buf = malloc(MARKER_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, MARKER_MAX);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (!r) {
		buf[n] = '\0';
		r = memchr(buf, '\0', (size_t)n) ? -EIO
						 : marker_parse(buf, out);
	}
	free(buf);
	return r;
}

static bool marker_same(const struct project_marker *a,
			const struct project_marker *b)
{
	return !strcmp(a->env, b->env) && a->id == b->id &&
	       !strcmp(a->home, b->home);
}

int project_marker_write(int dirfd, const struct project_marker *m)
{
	struct project_marker old;
	char buf[MARKER_MAX];
	int fd, n, r = 0;

	if (!project_marker_read(dirfd, "", &old) && marker_same(&old, m))
		return 0;
	n = snprintf(buf, sizeof(buf), "%senv=%s\nid=%llu\nhome=%s\n",
		     MARKER_HEAD, m->env, (unsigned long long)m->id, m->home);
	if (n < 0 || n >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	fd =
	    openat(dirfd, MARKER_TMP,
		   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, buf, (size_t)n) != n || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dirfd, MARKER_TMP, dirfd, STORE_PROJECT_MARKER) < 0)
		r = -errno;
	if (r)
		unlinkat(dirfd, MARKER_TMP, 0);
	return r;
}

bool project_marker_is(const struct project_marker *m, const char *home,
		       const struct store_env *e)
{
	return !strcmp(m->env, e->name) && m->id == e->id &&
	       !strcmp(m->home, home);
}

bool project_claims(const char *mnt, const char *home,
		    const struct store_env *e)
{
	struct project_marker m;

	return project_marker_read(AT_FDCWD, mnt, &m) == 0 &&
	       project_marker_is(&m, home, e);
}

void project_marker_drop(const char *mnt, const char *home,
			 const struct store_env *e)
{
	char path[PATH_MAX + sizeof(STORE_PROJECT_MARKER) + 1];

	if (project_claims(mnt, home, e) &&
	    snprintf(path, sizeof(path), "%s/%s", mnt, STORE_PROJECT_MARKER) <
		(int)sizeof(path))
		unlink(path);
}

void project_dir(const char *mnt, char *buf, size_t len)
{
	const char *slash = strrchr(mnt, '/');
	size_t n = slash ? (size_t)(slash - mnt) : 0;

	snprintf(buf, len, "%.*s", (int)(n ? n : slash ? 1 : 0), mnt);
}
