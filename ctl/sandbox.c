/* SPDX-License-Identifier: MIT */
/*
 * sandbox.c - cgroups (v2, else v1 controllers), rlimits and namespaces
 * for `blastctl run`. A cgroup is made below this process's own one
 * (read from /proc/self/cgroup), so whatever confines blastctl still
 * confines the command; limits are written before any process enters.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "sandbox.h"

#define CG_ROOT	   "/sys/fs/cgroup"
#define CPU_PERIOD 100000 /* us */

const char *sandbox_mech_name(enum sandbox_mech m)
{
	return m == SANDBOX_CGROUP2   ? "cgroup v2"
	       : m == SANDBOX_CGROUP1 ? "cgroup v1"
	       : m == SANDBOX_RLIMIT  ? "setrlimit"
				      : "none";
}

static bool wants_resources(const struct sandbox_limits *l)
{
	return l->memory || l->cpu > 0 || l->pids || l->io_read ||
	       l->io_write || l->memory_soft || l->cpu_weight || l->io_weight;
}

static int file_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 64];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(val))
		err = -EIO;
	close(fd);
	return err;
}

static int file_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* This process's cgroup path for v1 controller ctrl, or for v2 (ctrl
 * NULL), from /proc/self/cgroup ("ID:CONTROLLERS:PATH"). */
static int own_cgroup(const char *ctrl, char *buf, size_t len)
{
	char line[PATH_MAX + 128];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'),
		     *c2 = c1 ? strchr(c1 + 1, ':') : 0;
		char *tok, *save = NULL;

		if (!c2)
			continue;
		*c2 = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (!ctrl) {
			if (c1[1] != '\0')
				continue;
		} else {
			bool hit = false;

			for (tok = strtok_r(c1 + 1, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				hit |= !strcmp(tok, ctrl);
			if (!hit)
				continue;
		}
		snprintf(buf, len, "%s", strcmp(c2 + 1, "/") ? c2 + 1 : "");
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

/* The whole disk holding path (blkio throttles disks, not partitions). */
static int disk_of(const char *path, char *buf, size_t len)
{
	char sys[128], dev[32];
	struct stat sb;

	if (stat(path, &sb) < 0)
		return -errno;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition",
		 major(sb.st_dev), minor(sb.st_dev));
	if (access(sys, F_OK) == 0) {
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/../dev",
			 major(sb.st_dev), minor(sb.st_dev));
		if (file_read(sys, dev, sizeof(dev)))
			return -ENODEV;
		snprintf(buf, len, "%s", dev);
		return 0;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(sb.st_dev),
		 minor(sb.st_dev));
	if (access(sys, F_OK) < 0)
		return -ENODEV; /* not a block device (overlay, tmpfs...) */
	snprintf(buf, len, "%u:%u", major(sb.st_dev), minor(sb.st_dev));
	return 0;
}

static unsigned create_flags; /* sandbox_create's flags, for add_dir */

static int add_dir(struct sandbox *sb, const char *base, const char *own,
		   const char *leaf)
{
	char *d = sb->dirs[sb->ndirs];

	if (sb->ndirs == SANDBOX_MAX_DIRS)
		return -E2BIG;
	if ((size_t)snprintf(d, PATH_MAX, "%s%s/%s", base, own, leaf) >=
	    PATH_MAX)
		return -ENAMETOOLONG;
	if (mkdir(d, 0755) < 0 &&
	    !(errno == EEXIST && (create_flags & SANDBOX_REUSE)))
		return -errno;
	sb->ndirs++;
	return 0;
}

/* ---- cgroup v2 ---------------------------------------------------- */

/* The soft limit and the weights (1..10000, as cgroup v2 counts). */
static int v2_weights(const struct sandbox_limits *l, const char *d)
{
	char v[64];
	int err = 0;

	if (l->memory_soft) {
		snprintf(v, sizeof(v), "%" PRIu64, l->memory_soft);
		err = file_write(d, "memory.high", v);
	}
	if (!err && l->cpu_weight) {
		snprintf(v, sizeof(v), "%u", l->cpu_weight);
		err = file_write(d, "cpu.weight", v);
	}
	if (!err && l->io_weight) {
		snprintf(v, sizeof(v), "default %u", l->io_weight);
		err = file_write(d, "io.weight", v);
		if (err == -ENOENT) /* no weight-based IO controller */
			err = -ENOTSUP;
	}
	return err;
}

static int v2_limits(struct sandbox *sb, const char *d, char *msg, size_t len)
{
	const struct sandbox_limits *l = &sb->lim;
	char v[128], disk[32];
	int err = 0;

	if (l->memory) {
		snprintf(v, sizeof(v), "%" PRIu64, l->memory);
		err = file_write(d, "memory.max", v);
		if (!err)
			file_write(d, "memory.swap.max", "0");
	}
	if (!err && l->cpu > 0) {
		snprintf(v, sizeof(v), "%.0f %d", l->cpu * CPU_PERIOD,
			 CPU_PERIOD);
		err = file_write(d, "cpu.max", v);
	}
	if (!err && l->pids) {
		snprintf(v, sizeof(v), "%" PRIu64, l->pids);
		err = file_write(d, "pids.max", v);
	}
	if (!err)
		err = v2_weights(l, d);
	if (!err && (l->io_read || l->io_write)) {
		err = disk_of(".", disk, sizeof(disk));
		if (!err) {
			snprintf(v, sizeof(v), "%s", disk);
			if (l->io_read)
				snprintf(v + strlen(v), sizeof(v) - strlen(v),
					 " rbps=%" PRIu64, l->io_read);
			if (l->io_write)
				snprintf(v + strlen(v), sizeof(v) - strlen(v),
					 " wbps=%" PRIu64, l->io_write);
			err = file_write(d, "io.max", v);
		}
	}
	if (err)
		snprintf(msg, len, "cannot write limits in '%s': %s", d,
			 err == -ENODEV ? "the current directory is not on a "
					  "block device"
			 : err == -ENOTSUP
			     ? "no io.weight (no weight-based IO controller)"
			     : strerror(-err));
	return err;
}

static int try_v2(struct sandbox *sb, const char *leaf, char *msg, size_t len)
{
	char own[PATH_MAX], base[PATH_MAX + 32], *slash;
	int err;

	if (access(CG_ROOT "/cgroup.controllers", F_OK) < 0)
		return -ENOENT; /* no unified hierarchy at the root */
	err = own_cgroup(NULL, own, sizeof(own));
	if (err)
		return err;
	/* a sibling of our own cgroup: its parent already delegates the
	 * controllers to children (a cgroup with processes cannot) */
	slash = strrchr(own, '/');
	if (slash)
		*slash = '\0';
	snprintf(base, sizeof(base), "%s%s", CG_ROOT, own);
	file_write(base, "cgroup.subtree_control", "+memory +cpu +pids +io");
	err = add_dir(sb, CG_ROOT, own, leaf);
	if (err)
		return err;
	err = v2_limits(sb, sb->dirs[0], msg, len);
	if (err)
		return err;
	sb->mech = SANDBOX_CGROUP2;
	return 0;
}

/* ---- cgroup v1 ---------------------------------------------------- */

static int v1_dir(struct sandbox *sb, const char *ctrl, const char *leaf,
		  char **out)
{
	char own[PATH_MAX], base[128];
	int err;

	snprintf(base, sizeof(base), CG_ROOT "/%s/", ctrl);
	for (size_t i = 0; i < sb->ndirs; i++)
		if (!strncmp(sb->dirs[i], base, strlen(base))) {
			*out = sb->dirs[i]; /* made for another limit */
			return 0;
		}
	base[strlen(base) - 1] = '\0';
	if (access(base, W_OK) < 0)
		return -errno;
	err = own_cgroup(ctrl, own, sizeof(own));
	if (!err)
		err = add_dir(sb, base, own, leaf);
	if (!err)
		*out = sb->dirs[sb->ndirs - 1];
	return err;
}

static int v1_io(const char *d, const char *file, uint64_t bps)
{
	char v[64], disk[32];
	int err = disk_of(".", disk, sizeof(disk));

	if (err)
		return err;
	snprintf(v, sizeof(v), "%s %" PRIu64, disk, bps);
	return file_write(d, file, v);
}

/* blkio.weight (CFQ, 10..1000) or blkio.bfq.weight (BFQ, 1..1000):
 * only a disk scheduler with weights has them. */
static int v1_io_weight(const char *d, unsigned w)
{
	char v[32];
	int err;

	w = w / 10 < 10 ? 10 : w / 10 > 1000 ? 1000 : w / 10;
	snprintf(v, sizeof(v), "%u", w);
	err = file_write(d, "blkio.bfq.weight", v);
	if (err == -ENOENT)
		err = file_write(d, "blkio.weight", v);
	return err == -ENOENT ? -ENOTSUP : err;
}

static int try_v1(struct sandbox *sb, const char *leaf, char *msg, size_t len)
{
	const struct sandbox_limits *l = &sb->lim;
	const char *what = "";
	char v[64], *d;
	int err = 0;

	if (l->memory) {
		what = "memory";
		err = v1_dir(sb, "memory", leaf, &d);
		snprintf(v, sizeof(v), "%" PRIu64, l->memory);
		if (!err)
			err = file_write(d, "memory.limit_in_bytes", v);
		if (!err) /* no swapping around the limit, where accounted */
			file_write(d, "memory.memsw.limit_in_bytes", v);
	}
	if (!err && l->cpu > 0) {
		what = "cpu";
		err = v1_dir(sb, "cpu", leaf, &d);
		snprintf(v, sizeof(v), "%d", CPU_PERIOD);
		if (!err)
			err = file_write(d, "cpu.cfs_period_us", v);
		snprintf(v, sizeof(v), "%.0f", l->cpu * CPU_PERIOD);
		if (!err)
			err = file_write(d, "cpu.cfs_quota_us", v);
	}
	if (!err && l->memory_soft) {
		what = "memory";
		err = v1_dir(sb, "memory", leaf, &d);
		snprintf(v, sizeof(v), "%" PRIu64, l->memory_soft);
		if (!err)
			err = file_write(d, "memory.soft_limit_in_bytes", v);
	}
	if (!err && l->cpu_weight) {
		what = "cpu";
		err = v1_dir(sb, "cpu", leaf, &d);
		/* v2's 100 is v1's 1024 shares */
		snprintf(v, sizeof(v), "%u",
			 l->cpu_weight * 1024 / 100 < 2
			     ? 2
			     : l->cpu_weight * 1024 / 100);
		if (!err)
			err = file_write(d, "cpu.shares", v);
	}
	if (!err && l->io_weight) {
		what = "blkio";
		err = v1_dir(sb, "blkio", leaf, &d);
		if (!err)
			err = v1_io_weight(d, l->io_weight);
	}
	if (!err && l->pids) {
		what = "pids";
		err = v1_dir(sb, "pids", leaf, &d);
		snprintf(v, sizeof(v), "%" PRIu64, l->pids);
		if (!err)
			err = file_write(d, "pids.max", v);
	}
	if (!err && (l->io_read || l->io_write)) {
		what = "blkio";
		err = v1_dir(sb, "blkio", leaf, &d);
		if (!err && l->io_read)
			err = v1_io(d, "blkio.throttle.read_bps_device",
				    l->io_read);
		if (!err && l->io_write)
			err = v1_io(d, "blkio.throttle.write_bps_device",
				    l->io_write);
	}
	if (err) {
		snprintf(msg, len, "cgroup v1 %s: %s", what,
			 err == -ENODEV ? "the current directory is not on a "
					  "block device"
			 : err == -ENOTSUP
			     ? "no IO weights (the disks' scheduler has "
			       "none: BFQ has)"
			 : err == -EACCES || err == -EPERM
			     ? "not writable (its cgroups need root here)"
			     : strerror(-err));
		return err;
	}
	sb->mech = SANDBOX_CGROUP1;
	return 0;
}

/* ---- setrlimit ---------------------------------------------------- */

static int try_rlimit(struct sandbox *sb, char *msg, size_t len)
{
	const struct sandbox_limits *l = &sb->lim;

	if (l->cpu > 0 || l->io_read || l->io_write || l->memory_soft ||
	    l->cpu_weight || l->io_weight) {
		snprintf(msg, len, "setrlimit cannot limit %s",
			 l->cpu > 0		     ? "cpu"
			 : l->io_read || l->io_write ? "io bandwidth"
			 : l->memory_soft	     ? "soft memory"
			 : l->cpu_weight	     ? "cpu weight"
						     : "io weight");
		return -ENOTSUP;
	}
	if (l->pids && geteuid() == 0) {
		snprintf(msg, len,
			 "setrlimit cannot limit pids for root (RLIMIT_NPROC "
			 "does not bind root)");
		return -ENOTSUP;
	}
	sb->mech = SANDBOX_RLIMIT;
	return 0;
}

int sandbox_create(struct sandbox *sb, const char *leaf,
		   const struct sandbox_limits *lim, unsigned flags, char *msg,
		   size_t len)
{
	char why[SANDBOX_MSG_LEN] = "";
	int err;

	memset(sb, 0, sizeof(*sb));
	create_flags = flags;
	sb->lim = *lim;
	*msg = '\0';
	if (!wants_resources(lim))
		return 0;
	err = try_v2(sb, leaf, why, sizeof(why));
	if (!err)
		return 0;
	sandbox_destroy(sb);
	sb->lim = *lim;
	err = try_v1(sb, leaf, why, sizeof(why));
	if (!err)
		return 0;
	sandbox_destroy(sb);
	sb->lim = *lim;
	err = try_rlimit(sb, msg, len);
	if (err) {
		char rl[SANDBOX_MSG_LEN];

		snprintf(rl, sizeof(rl), "%s", msg);
		snprintf(msg, len, "%s, and %s",
			 *why ? why
			      : "no writable cgroup (root or a delegated "
				"cgroup v2 subtree is needed)",
			 rl);
	}
	return err;
}

static int prlimits(const struct sandbox *sb, pid_t pid, char *msg, size_t len)
{
	struct rlimit r;

	if (sb->lim.memory) {
		r.rlim_cur = r.rlim_max = sb->lim.memory;
		if (prlimit(pid, RLIMIT_AS, &r, NULL) < 0)
			goto out_err;
	}
	if (sb->lim.pids) {
		r.rlim_cur = r.rlim_max = sb->lim.pids;
		if (prlimit(pid, RLIMIT_NPROC, &r, NULL) < 0)
			goto out_err;
	}
	return 0;
out_err:
	snprintf(msg, len, "prlimit on pid %d: %s", (int)pid, strerror(errno));
	return -errno;
}

int sandbox_enter(const struct sandbox *sb, pid_t pid, char *msg, size_t len)
{
	char v[32];
	int err;

	if (sb->mech == SANDBOX_RLIMIT && pid)
		return prlimits(sb, pid, msg, len);
	snprintf(v, sizeof(v), "%d", pid ? (int)pid : (int)getpid());
	for (size_t i = 0; i < sb->ndirs; i++) {
		err = file_write(sb->dirs[i], "cgroup.procs", v);
		if (err) {
			snprintf(msg, len, "cannot enter cgroup '%s': %s",
				 sb->dirs[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

int sandbox_describe(const struct sandbox *sb, char *buf, size_t len)
{
	*buf = '\0';
	for (size_t i = 0; i < sb->ndirs; i++) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, "%s%s", n ? " " : "", sb->dirs[i]);
	}
	return 0;
}

/* Kill every process in cgroup d; true when none was left. */
static bool cg_empty_kill(const char *d)
{
	char path[PATH_MAX + 32], line[32];
	bool empty = true;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", d);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		pid_t p = (pid_t)strtol(line, NULL, 10);

		if (p > 0) {
			kill(p, SIGKILL);
			empty = false;
		}
	}
	fclose(f);
	return empty;
}

int sandbox_destroy(struct sandbox *sb)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	int err = 0;

	for (size_t i = sb->ndirs; i-- > 0;) {
		for (int tries = 0; tries < 400; tries++) {
			if (rmdir(sb->dirs[i]) == 0 || errno == ENOENT) {
				err = 0;
				break;
			}
			err = -errno;
			cg_empty_kill(sb->dirs[i]);
			nanosleep(&ts, NULL);
		}
	}
	sb->ndirs = 0;
	return err;
}

/* Does leaf ("PREFIX...-PID") belong to a live process named comm? A
 * name without a pid is not for us to judge: yes. */
static bool owner_live(const char *leaf, const char *comm)
{
	const char *dash = strrchr(leaf, '-');
	char path[64], buf[64], *end;
	long pid = dash ? strtol(dash + 1, &end, 10) : 0;

	if (pid <= 0 || *end)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	return file_read(path, buf, sizeof(buf)) == 0 && !strcmp(buf, comm);
}

static void sweep_dir(const char *base, const char *prefix, const char *comm)
{
	DIR *d = opendir(base);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct sandbox sb = {.ndirs = 1};

		if (strncmp(de->d_name, prefix, strlen(prefix)) ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
		    owner_live(de->d_name, comm) ||
		    snprintf(sb.dirs[0], PATH_MAX, "%s/%s", base, de->d_name) >=
			PATH_MAX)
			continue;
		sandbox_destroy(&sb);
	}
	closedir(d);
}

void sandbox_sweep(const char *prefix, const char *comm)
{
	static const char *const v1[] = {"memory", "cpu", "pids", "blkio"};
	char own[PATH_MAX], base[PATH_MAX + 64], *slash;

	/* where sandbox_create makes them: v2 beside our own cgroup, v1
	 * below it */
	if (access(CG_ROOT "/cgroup.controllers", F_OK) == 0 &&
	    !own_cgroup(NULL, own, sizeof(own))) {
		slash = strrchr(own, '/');
		if (slash)
			*slash = '\0';
		snprintf(base, sizeof(base), "%s%s", CG_ROOT, own);
		sweep_dir(base, prefix, comm);
	}
	for (size_t i = 0; i < sizeof(v1) / sizeof(*v1); i++)
		if (!own_cgroup(v1[i], own, sizeof(own))) {
			snprintf(base, sizeof(base), "%s/%s%s", CG_ROOT, v1[i],
				 own);
			sweep_dir(base, prefix, comm);
		}
}

void sandbox_release(struct sandbox *sb)
{
	for (size_t i = sb->ndirs; i-- > 0;)
		rmdir(sb->dirs[i]); /* EBUSY: another shell is still in it */
	sb->ndirs = 0;
}

int sandbox_cgroups_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* The directory of hierarchy "ID:CONTROLLERS" lines name. */
static void hier_dir(const char *ctrls, char *buf, size_t len)
{
	char first[64];

	if (!*ctrls) { /* v2: the root on a unified host, else unified/ */
		snprintf(buf, len, "%s",
			 access(CG_ROOT "/cgroup.controllers", F_OK) == 0
			     ? CG_ROOT
			     : CG_ROOT "/unified");
		return;
	}
	if (!strncmp(ctrls, "name=", 5))
		ctrls += 5;
	snprintf(buf, len, CG_ROOT "/%s", ctrls);
	if (access(buf, F_OK) == 0)
		return;
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(ctrls, ","), ctrls);
	snprintf(buf, len, CG_ROOT "/%s", first);
}

/* Whether text holds line exactly as one of its lines. */
static bool line_in(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

int sandbox_leave(pid_t pid, const char *saved, char *msg, size_t len)
{
	char now[8192], dir[PATH_MAX], full[PATH_MAX * 2], v[32];
	const char *line = saved;
	int err = sandbox_cgroups_of(pid, now, sizeof(now));

	if (err) {
		snprintf(msg, len, "pid %d: %s", (int)pid, strerror(-err));
		return err;
	}
	snprintf(v, sizeof(v), "%d", (int)pid);
	while (*line) {
		size_t n = strcspn(line, "\n");
		char one[PATH_MAX + 128], *c1, *c2;

		snprintf(one, sizeof(one), "%.*s", (int)n, line);
		line += n + (line[n] == '\n');
		c1 = strchr(one, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || line_in(now, one))
			continue; /* unchanged */
		*c2 = '\0';
		hier_dir(c1 + 1, dir, sizeof(dir));
		snprintf(full, sizeof(full), "%s%s", dir, c2 + 1);
		err = file_write(full, "cgroup.procs", v);
		if (err && err != -ENOENT) {
			snprintf(msg, len,
				 "cannot move pid %d back to '%s': %s",
				 (int)pid, full, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* The number after `key ` in a "key value" lines file, 0 if none. */
static uint64_t events_get(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX + 64], line[128];
	uint64_t v = 0;
	size_t n = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ' ')
			v = strtoull(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

void sandbox_events(const struct sandbox *sb, bool *oom,
		    uint64_t *forks_refused)
{
	static const char mem[] = CG_ROOT "/memory/", pids[] = CG_ROOT "/pids/";

	*oom = false;
	*forks_refused = 0;
	for (size_t i = 0; i < sb->ndirs; i++) {
		const char *d = sb->dirs[i];

		if (sb->mech == SANDBOX_CGROUP2) {
			*oom |= events_get(d, "memory.events", "oom_kill") > 0;
			*forks_refused += events_get(d, "pids.events", "max");
		} else if (!strncmp(d, mem, sizeof(mem) - 1)) {
			*oom |=
			    events_get(d, "memory.oom_control", "oom_kill") > 0;
		} else if (!strncmp(d, pids, sizeof(pids) - 1)) {
			*forks_refused += events_get(d, "pids.events", "max");
		}
	}
}

/* ---- in the child --------------------------------------------------- */

int sandbox_child_limits(const struct sandbox *sb, char *msg, size_t len)
{
	struct rlimit r;

	if (sb->mech != SANDBOX_RLIMIT)
		return 0;
	if (sb->lim.memory) {
		r.rlim_cur = r.rlim_max = sb->lim.memory;
		if (setrlimit(RLIMIT_AS, &r) < 0)
			goto out_err;
	}
	if (sb->lim.pids) {
		r.rlim_cur = r.rlim_max = sb->lim.pids;
		if (setrlimit(RLIMIT_NPROC, &r) < 0)
			goto out_err;
	}
	return 0;
out_err:
	snprintf(msg, len, "setrlimit: %s", strerror(errno));
	return -errno;
}

/* Bring lo up in the (new) network namespace: SIOCSIFFLAGS, no `ip`. */
static int loopback_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		err = -errno;
	} else {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			err = -errno;
	}
	close(fd);
	return err;
}

int sandbox_child_namespaces(const struct sandbox_limits *lim, char *msg,
			     size_t len)
{
	int flags = 0, err;

	if (lim->net == POLICY_NET_NONE || lim->net == POLICY_NET_LOOPBACK)
		flags |= CLONE_NEWNET;
	if (lim->unshare & SANDBOX_NS_IPC)
		flags |= CLONE_NEWIPC;
	if (lim->unshare & SANDBOX_NS_MOUNT)
		flags |= CLONE_NEWNS;
	if (flags && unshare(flags) < 0) {
		err = -errno;
		snprintf(msg, len,
			 "cannot create %s namespaces: %s (needs root, or "
			 "CAP_SYS_ADMIN)",
			 flags & CLONE_NEWNET ? "network" : "IPC/mount",
			 strerror(-err));
		return err;
	}
	if ((flags & CLONE_NEWNS) &&
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		err = -errno;
		snprintf(msg, len, "cannot make mounts private: %s",
			 strerror(-err));
		return err;
	}
	if (lim->net == POLICY_NET_LOOPBACK) {
		err = loopback_up();
		if (err) {
			snprintf(msg, len, "cannot bring up lo: %s",
				 strerror(-err));
			return err;
		}
	}
	return 0;
}
