/* SPDX-License-Identifier: MIT */
/*
 * hostfs.c - the host as `blastctl run`'s CMD sees it, built in a new
 * mount namespace: a private /tmp and a minimal /dev (tmpfs), the
 * writable paths bound back in from descriptors opened before, then
 * every other mount remounted read-only, host.readonly paths made
 * read-only inside writable ones, and hidden paths (and the unix
 * sockets under /run) covered by an empty directory or file.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"

#define EMPTY_FILE "/dev/.blast-empty" /* what hides a file */

static const char *const dev_nodes[] = {"null",	  "zero",    "full",
					"random", "urandom", "tty"};
#define NDEV (sizeof(dev_nodes) / sizeof(*dev_nodes))

/* path is root or below it */
static bool under(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return true;
	return !strncmp(path, root, n) && (path[n] == '\0' || path[n] == '/');
}

static void fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* Make path (and its parents) exist: a directory, or an empty file. */
static int mkpath(const char *path, bool dir)
{
	char p[PATH_MAX];
	struct stat st;
	int fd;

	if (stat(path, &st) == 0)
		return 0;
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (dir)
		return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* An O_PATH descriptor of path, refusing symlinks on the way: the
 * parent resolved them all, so one now was put there since (by a
 * process that can write there, e.g. a previous run in the project)
 * and could steer a writable bind onto another host path. */
static int open_nofollow(const char *path)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS};
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Bind what fd (O_PATH) names at path, made to exist. */
static int bind_fd(int fd, const char *path, unsigned long flags)
{
	char src[64], dst[64];
	struct stat st;
	int err, to;

	if (fstat(fd, &st) < 0)
		return -errno;
	err = mkpath(path, S_ISDIR(st.st_mode));
	if (err)
		return err;
	to = open_nofollow(path);
	if (to < 0)
		return to;
	fd_path(src, sizeof(src), fd);
	fd_path(dst, sizeof(dst), to);
	err = mount(src, dst, NULL, MS_BIND | flags, NULL) < 0 ? -errno : 0;
	close(to);
	return err;
}

/* A devpts of CMD's own (no other terminal's pty in it), else the
 * host's bound in. */
static int pts_setup(int pts)
{
	if (mkdir("/dev/pts", 0755) < 0)
		return -errno;
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=620") == 0)
		return symlink("pts/ptmx", "/dev/ptmx") < 0 ? -errno : 0;
	if (pts < 0)
		return 0;
	return bind_fd(pts, "/dev/pts", MS_REC);
}

static int dev_setup(const int *fds, int pts)
{
	char path[64];
	int err = 0, fd;

	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
		  "mode=0755,size=64k") < 0)
		return -errno;
	for (size_t i = 0; !err && i < NDEV; i++) {
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		if (fds[i] >= 0)
			err = bind_fd(fds[i], path, 0);
	}
	if (!err)
		err = pts_setup(pts);
	if (!err && (mkdir("/dev/shm", 01777) < 0 ||
		     mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
			   "mode=1777") < 0))
		err = -errno;
	if (!err && (symlink("/proc/self/fd", "/dev/fd") < 0 ||
		     symlink("/proc/self/fd/0", "/dev/stdin") < 0 ||
		     symlink("/proc/self/fd/1", "/dev/stdout") < 0 ||
		     symlink("/proc/self/fd/2", "/dev/stderr") < 0))
		err = -errno;
	if (!err) {
		fd = open(EMPTY_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0);
		if (fd < 0)
			err = -errno;
		else
			close(fd);
	}
	return err;
}

/* The flags a bind remount must keep (a user namespace cannot clear
 * them, and root should not). */
static unsigned long kept_flags(const char *mp)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(mp, &sv) < 0)
		return 0;
	f |= sv.f_flag & ST_NOSUID ? MS_NOSUID : 0;
	f |= sv.f_flag & ST_NODEV ? MS_NODEV : 0;
	f |= sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0;
	f |= sv.f_flag & ST_NOATIME ? MS_NOATIME : 0;
	f |= sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0;
	f |= sv.f_flag & ST_RELATIME ? MS_RELATIME : 0;
	return f;
}

static int remount_ro(const char *mp, unsigned long flags)
{
	if (mount(NULL, mp, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags,
		  NULL) < 0)
		return -errno;
	return 0;
}

/* kept_flags from mountinfo's per-mount options ("rw,nosuid,relatime"),
 * without asking the filesystem (a hung FUSE daemon would hang us). */
static unsigned long opts_flags(const char *opts)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} map[] = {{"nosuid", MS_NOSUID},	   {"nodev", MS_NODEV},
		   {"noexec", MS_NOEXEC},	   {"noatime", MS_NOATIME},
		   {"nodiratime", MS_NODIRATIME},  {"relatime", MS_RELATIME},
		   {"strictatime", MS_STRICTATIME}};
	unsigned long f = 0;

	for (const char *o = opts; *o;) {
		size_t n = strcspn(o, ",");

		for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
			if (strlen(map[i].name) == n &&
			    !strncmp(o, map[i].name, n))
				f |= map[i].flag;
		o += n + (o[n] == ',');
	}
	return f;
}

/* Decode mountinfo's octal escapes ("\040") in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] &&
		    s[3]) {
			*d = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				    (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

int confine_paths_push(struct confine_paths *ps, const char *path)
{
	char **v = realloc(ps->v, (ps->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	ps->v = v;
	v[ps->n] = strdup(path);
	if (!v[ps->n])
		return -ENOMEM;
	ps->n++;
	return 0;
}

void confine_paths_free(struct confine_paths *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i]);
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

/* The mounts of /proc/self/mountinfo: mount point (fifth field), its
 * flags (sixth) and whether it is FUSE (the type after " - "). */
struct mounts {
	struct confine_paths path;
	unsigned long *flags;
	bool *fuse;
};

static int mounts_add(struct mounts *m, char *line)
{
	char *mp = line, *opts, *type = strstr(line, " - ");
	unsigned long *f;
	bool *fu;
	size_t n = m->path.n;

	for (int i = 0; i < 4 && mp; i++)
		mp = strchr(mp + 1, ' ');
	opts = mp ? strchr(mp + 1, ' ') : NULL;
	if (!opts || !type)
		return 0;
	*opts++ = '\0';
	opts[strcspn(opts, " ")] = '\0';
	unescape(++mp);
	f = realloc(m->flags, (n + 1) * sizeof(*f));
	if (f)
		m->flags = f;
	fu = realloc(m->fuse, (n + 1) * sizeof(*fu));
	if (fu)
		m->fuse = fu;
	if (!f || !fu)
		return -ENOMEM;
	f[n] = opts_flags(opts);
	fu[n] = !strncmp(type + 3, "fuse", 4);
	return confine_paths_push(&m->path, mp);
}

static void mounts_free(struct mounts *m)
{
	confine_paths_free(&m->path);
	free(m->flags);
	free(m->fuse);
}

static int mounts_read(struct mounts *m)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	if (!f)
		return -errno;
	while (!err && getline(&line, &cap, f) > 0)
		err = mounts_add(m, line);
	free(line);
	fclose(f);
	return err;
}

/* Is mp to stay as it is: at or below a writable path, /tmp or
 * /dev/shm? */
static bool kept(const struct confine *cf, const char *mp)
{
	if (under(mp, "/tmp") || under(mp, "/dev/shm"))
		return true;
	for (size_t i = 0; i < cf->writable.n; i++)
		if (under(mp, cf->writable.v[i]))
			return true;
	return false;
}

static int all_readonly(const struct confine *cf, char *msg, size_t len)
{
	struct mounts m = {0};
	struct confine_paths mps;
	int err = mounts_read(&m);

	mps = m.path;
	/* parents first: a remount is of the top mount at that path */
	for (size_t i = 0; !err && i < mps.n; i++) {
		if (kept(cf, mps.v[i]))
			continue;
		err = remount_ro(mps.v[i], m.flags[i]);
		/* a mount shadowed by another, or out of reach (another
		 * user's FUSE mount): nothing writes there from here */
		if (err == -ENOENT || err == -EACCES || err == -ENOTDIR)
			err = 0;
		if (err)
			snprintf(msg, len, "cannot make '%s' read-only: %s",
				 mps.v[i], strerror(-err));
	}
	if (err == -ENOMEM)
		snprintf(msg, len, "cannot list the mounts: %s",
			 strerror(-err));
	mounts_free(&m);
	return err;
}

static int make_readonly(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	return remount_ro(path, kept_flags(path));
}

static int hide(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT || errno == EACCES ? 0 : -errno;
	if (S_ISDIR(st.st_mode))
		return mount("tmpfs", path, "tmpfs",
			     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			     "mode=000,size=4k") < 0
			   ? -errno
			   : 0;
	if (S_ISLNK(st.st_mode))
		return 0; /* its target is what to hide */
	return mount(EMPTY_FILE, path, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

/* path is one of ps or below one */
static bool listed(const struct confine_paths *ps, const char *path)
{
	for (size_t i = 0; i < ps->n; i++)
		if (under(path, ps->v[i]))
			return true;
	return false;
}

/* nftw has no context argument: the walk's list and the mounts, whose
 * FUSE ones it does not enter (child, one thread) */
static struct confine_paths *socks;
static const struct mounts *walk_mounts;

static int sock_seen(const char *path, const struct stat *st, int type,
		     struct FTW *ftw)
{
	(void)ftw;
	if (S_ISSOCK(st->st_mode) && confine_paths_push(socks, path) < 0)
		return FTW_STOP;
	if (type != FTW_D)
		return FTW_CONTINUE;
	for (size_t i = 0; i < walk_mounts->path.n; i++)
		if (walk_mounts->fuse[i] &&
		    !strcmp(walk_mounts->path.v[i], path))
			return FTW_SKIP_SUBTREE;
	return FTW_CONTINUE;
}

static int hide_all(const struct confine *cf, char *msg, size_t len)
{
	struct confine_paths run = {0};
	struct mounts m = {0};
	int err = mounts_read(&m);

	if (err)
		snprintf(msg, len, "cannot list the mounts: %s",
			 strerror(-err));
	for (size_t i = 0; !err && i < cf->hidden.n; i++) {
		err = hide(cf->hidden.v[i]);
		if (err)
			snprintf(msg, len, "cannot hide '%s': %s",
				 cf->hidden.v[i], strerror(-err));
	}
	socks = &run;
	walk_mounts = &m;
	/* /run/user/UID are mounts of their own: entered */
	if (!err && nftw("/run", sock_seen, 16, FTW_PHYS | FTW_ACTIONRETVAL) ==
			FTW_STOP) {
		err = -ENOMEM;
		snprintf(msg, len, "cannot list the sockets under /run");
	}
	for (size_t i = 0; !err && i < run.n; i++) {
		if (listed(&cf->sockets, run.v[i]))
			continue; /* host.sockets: the supervisor lets CMD in */
		err = hide(run.v[i]);
		if (err)
			snprintf(msg, len, "cannot hide socket '%s': %s",
				 run.v[i], strerror(-err));
	}
	confine_paths_free(&run);
	mounts_free(&m);
	return err;
}

/* Descriptors of what is bound back in after /tmp and /dev are
 * replaced: the writable paths, the device nodes and /dev/pts. */
static int open_sources(const struct confine *cf, int *wfds, int *dfds,
			int *pts, char *msg, size_t len)
{
	char path[64];

	for (size_t i = 0; i < cf->writable.n; i++) {
		wfds[i] = open_nofollow(cf->writable.v[i]);
		if (wfds[i] < 0) {
			snprintf(msg, len, "cannot open '%s': %s",
				 cf->writable.v[i],
				 wfds[i] == -ELOOP ? "a symlink appeared in it"
						   : strerror(-wfds[i]));
			return wfds[i];
		}
	}
	for (size_t i = 0; i < NDEV; i++) {
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		dfds[i] = open(path, O_PATH | O_CLOEXEC);
	}
	*pts = open("/dev/pts", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

static int build(const struct confine *cf, const int *wfds, const int *dfds,
		 int pts, char *msg, size_t len)
{
	int err = 0;

	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") <
		0 ||
	    (err = dev_setup(dfds, pts)) < 0) {
		err = err ? err : -errno;
		snprintf(msg, len, "cannot make a private /tmp and /dev: %s",
			 strerror(-err));
		return err;
	}
	for (size_t i = 0; i < cf->writable.n; i++) {
		if (!strcmp(cf->writable.v[i], "/"))
			continue; /* the whole host is (host.writable /) */
		err = bind_fd(wfds[i], cf->writable.v[i], MS_REC);
		if (err) {
			snprintf(msg, len, "cannot bind '%s': %s",
				 cf->writable.v[i], strerror(-err));
			return err;
		}
	}
	err = all_readonly(cf, msg, len);
	for (size_t i = 0; !err && i < cf->readonly.n; i++) {
		err = make_readonly(cf->readonly.v[i]);
		if (err)
			snprintf(msg, len, "cannot make '%s' read-only: %s",
				 cf->readonly.v[i], strerror(-err));
	}
	return err ? err : hide_all(cf, msg, len);
}

int confine_child_fs(const struct confine *cf, char *msg, size_t len)
{
	int *wfds = calloc(cf->writable.n + 1, sizeof(int)), dfds[NDEV], pts;
	int err;

	if (!wfds) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		err = -errno;
		snprintf(msg, len,
			 "cannot create mount and cgroup namespaces: %s",
			 strerror(errno));
		goto out_free;
	}
	err = open_sources(cf, wfds, dfds, &pts, msg, len);
	if (!err)
		err = build(cf, wfds, dfds, pts, msg, len);
	if (!err && chdir(cf->cwd) < 0) {
		err = -errno;
		snprintf(msg, len,
			 "the current directory '%s' is not in the sandbox "
			 "(only the project, host paths and a private /tmp "
			 "are): %s",
			 cf->cwd, strerror(errno));
	}
	/* the descriptors are O_CLOEXEC: exec closes them */
out_free:
	free(wfds);
	return err;
}
