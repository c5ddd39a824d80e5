/* SPDX-License-Identifier: MIT */
/*
 * autocompact.c - content that import, pull or a mounted env added is
 * recompressed and packed in the background (`blastctl compact
 * --background`), so the store settles to its compacted size without a
 * manual step. Files in the store's run/ directory:
 *   compact.lock  write-locked (an OFD lock) by the one running
 *                 background compactor, and holding its pid as text
 *   compact.want  "there is new content": created by every kick, removed
 *                 by the compactor before each pass (a kick during a
 *                 pass makes it run another)
 *   compact.log   the compactor's output (one line per pass, errors)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autocompact.h"
#include "daemon.h"

#define LOG_MAX	       (256 * 1024) /* a longer log starts over */
#define SHRINK_TRIES   20	    /* data.mdb swap: tries, */
#define SHRINK_WAIT_US (250 * 1000) /* this far apart */

/* ioprio_set(2) has no glibc wrapper; these are its ABI values. */
#define IOPRIO_CLASS_IDLE  3
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1

/* F_OFD_SETLK (lock) or F_OFD_GETLK (probe: 1 if someone holds it) on
 * the whole lock file; -errno. */
static int ofd_lock(int fd, int cmd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

static void fl_unlock(int fd)
{
	struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET};

	(void)fcntl(fd, F_OFD_SETLK, &fl);
}

static int run_path(const char *home, const char *name, char *buf, size_t len)
{
	char run[4096], why[256];
	int r;

	r = daemon_run_dir(home, run, sizeof(run), why, sizeof(why));
	if (r < 0)
		return r;
	if ((size_t)snprintf(buf, len, "%s/%s", run, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* open(2) of a file in run/, created (0600) if missing: fd or -errno */
static int run_open(const char *path, int flags)
{
	int fd = store_home_open(path, flags | O_CREAT, 0600);

	return fd == -EEXIST ? store_home_open(path, flags, 0) : fd;
}

bool ctl_autocompact_enabled(void)
{
	const char *v = getenv("BLAST_AUTO_COMPACT");

	return !v || strcmp(v, "0") != 0;
}

pid_t ctl_autocompact_running(const char *home)
{
	char path[4200], buf[32];
	pid_t pid = 0;
	ssize_t n;
	int fd;

	/* a look only: no run/ made (list is read-only) */
	if ((size_t)snprintf(path, sizeof(path), "%s/run/compact.lock", home) >=
	    sizeof(path))
		return 0;
	fd = store_home_open(path, O_RDONLY, 0);
	if (fd < 0)
		return 0;
	if (ofd_lock(fd, F_OFD_GETLK) != 1) { /* nobody holds it */
		close(fd);
		return 0;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0) {
		buf[n] = '\0';
		pid = (pid_t)atoi(buf);
	}
	close(fd);
	return pid > 0 ? pid : 1;
}

/* The background compactor: a grandchild in its own session, stdout and
 * stderr appended to compact.log. Returns in the parent only. */
static int spawn(const char *home, const char *logpath)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	pid_t pid;
	int status;

	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	exe[n] = '\0'; /* (not /proc/self/exe: ps would call it "exe") */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd, nul;

		if (setsid() < 0 || fork() != 0)
			_exit(0);
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		fd = run_open(logpath, O_WRONLY | O_APPEND);
		if (fd >= 0 && lseek(fd, 0, SEEK_END) > LOG_MAX)
			(void)ftruncate(fd, 0);
		if (nul < 0 || fd < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(1);
		/* no descriptor of the caller's (a pipe someone reads to
		 * its end) stays open for the compactor's lifetime */
		close_range(3, ~0u, 0);
		execl(exe, "blastctl", "--home", home, "compact",
		      "--background", (char *)NULL);
		/* replaced since it started: the running binary */
		execl("/proc/self/exe", "blastctl", "--home", home, "compact",
		      "--background", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int ctl_autocompact_kick(const char *home)
{
	char want[4200], logpath[4200];
	int fd, r;

	if (!ctl_autocompact_enabled())
		return 0;
	r = run_path(home, "compact.want", want, sizeof(want));
	if (!r)
		r = run_path(home, "compact.log", logpath, sizeof(logpath));
	if (r < 0)
		return r;
	fd = run_open(want, O_WRONLY);
	if (fd < 0)
		return fd;
	close(fd);
	/* a running compactor sees the want file before it stops */
	if (ctl_autocompact_running(home))
		return 0;
	return spawn(home, logpath);
}

/* Idle CPU and IO priority: the compactor only uses what nobody else
 * wants. Failures are harmless (it then just runs at normal priority). */
static void be_idle(void)
{
	struct sched_param sp = {0};

	(void)sched_setscheduler(0, SCHED_IDLE, &sp);
	(void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		      IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT);
}

/* data.mdb without its free pages, when no other process has the store
 * open (else next time) */
static void shrink_index(struct ctl *c, struct store *st)
{
	uint64_t saved;
	int r, tries = SHRINK_TRIES;

	/* the command that kicked may still be closing its store */
	while ((r = store_shrink_index(st, &saved)) == -EBUSY && --tries)
		usleep(SHRINK_WAIT_US);
	if (r == 0)
		ctl_status(c,
			   "compact --background: data.mdb %llu bytes smaller",
			   (unsigned long long)saved);
	else if (r != -EBUSY && r != -EAGAIN)
		ctl_warn(c, "cannot compact data.mdb: %s", ctl_strerror(r));
}

int ctl_autocompact_run(struct ctl *c, struct store *st, int level, int threads)
{
	const char *home = store_path(st);
	char lock[4200], want[4200], pid[32];
	struct store_compact_stats s;
	int fd, r = 0, n;

	r = run_path(home, "compact.lock", lock, sizeof(lock));
	if (!r)
		r = run_path(home, "compact.want", want, sizeof(want));
	if (r < 0)
		return r;
	fd = run_open(lock, O_RDWR);
	if (fd < 0)
		return fd;
	/* until no kick is left: a kick that saw this compactor running
	 * just before it let go is seen by the check after the unlock */
	while (ofd_lock(fd, F_OFD_SETLK) == 0) {
		n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (ftruncate(fd, 0) < 0 ||
		    pwrite(fd, pid, (size_t)n, 0) != n) {
			r = -errno;
			break;
		}
		be_idle();
		while (unlink(want) == 0) {
			memset(&s, 0, sizeof(s));
			r = store_compact(st, level, threads, &s);
			if (r < 0)
				break;
			ctl_status(c,
				   "compact --background: stored %llu -> %llu "
				   "bytes (%llu chunks recompressed)",
				   (unsigned long long)s.stored_before,
				   (unsigned long long)s.stored_after,
				   (unsigned long long)s.chunks_recompressed);
		}
		if (r == 0 && errno != ENOENT)
			r = -errno;
		if (r == 0)
			shrink_index(c, st);
		/* the pid goes before the lock: no reader sees a stale one */
		(void)ftruncate(fd, 0);
		fl_unlock(fd);
		if (r < 0 || access(want, F_OK) != 0)
			break;
	}
	close(fd);
	return r;
}
