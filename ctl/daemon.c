/* SPDX-License-Identifier: MIT */
/*
 * daemon.c - blastctl's side of blastfs: its binary, its run files, its
 * control socket, helper programs (blastfs, fusermount3, python) run with
 * captured output, and mountinfo. A killed daemon leaves its FUSE mount
 * behind with the connection aborted: that is a stale mount, recognised
 * by the kernel's ENOTCONN, never guessed from a path alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctlproto.h"
#include "daemon.h"

#define REPLY_MAX (1 << 20) /* a control reply is one small object */

extern char **environ;

int daemon_run_dir(const char *home, char *buf, size_t len, char *why,
		   size_t whylen)
{
	return store_home_subdir(home, "run", buf, len, why, whylen);
}

bool daemon_pid_live(pid_t pid)
{
	char path[64], buf[512], *lp, *rp;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "PID (COMM) STATE ..."; COMM may itself hold parentheses */
	lp = strchr(buf, '(');
	rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp || rp[1] != ' ')
		return false;
	if ((size_t)(rp - lp - 1) != strlen(DAEMON_PROG) ||
	    strncmp(lp + 1, DAEMON_PROG, strlen(DAEMON_PROG)))
		return false;
	return rp[2] != 'Z' && rp[2] != 'X';
}

static bool mountinfo_parse(char *line, const char **mp,
			    struct daemon_mount *m);

/* Where the mount with id `id` is now, if it is env name's blastfs
 * mount (an id is reused once its mount is gone): into buf. */
static int mount_by_id(int id, const char *name, char *buf, size_t len)
{
	char src[STORE_ENV_NAME_MAX + 8], *line = NULL;
	struct daemon_mount m;
	const char *mp;
	size_t cap = 0;
	int r = -ENOENT;
	FILE *f;

	snprintf(src, sizeof(src), "blast:%s", name);
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (r && getline(&line, &cap, f) > 0)
		if (mountinfo_parse(line, &mp, &m) && m.id == id &&
		    !strcmp(m.fstype, "fuse.blastfs") && !strcmp(m.source, src))
			r = snprintf(buf, len, "%s", mp) < (int)len
				? 0
				: -ENAMETOOLONG;
	free(line);
	fclose(f);
	return r;
}

int daemon_info_read(const char *rundir, const char *name,
		     struct daemon_info *out)
{
	char path[PATH_MAX], *line = NULL;
	struct daemon_info info = {0};
	bool have_pid = false;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%s.info", rundir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!strncmp(line, "pid=", 4)) {
			char *end;
			long v = strtol(line + 4, &end, 10);

			have_pid = !*end && v > 0 && v <= INT_MAX;
			info.pid = (pid_t)v;
		} else if (!strncmp(line, "mount=", 6)) {
			snprintf(info.mount, sizeof(info.mount), "%s",
				 line + 6);
		} else if (!strncmp(line, "mnt_id=", 7)) {
			long v = strtol(line + 7, NULL, 10);

			info.mnt_id = v > 0 && v <= INT_MAX ? (int)v : 0;
		}
	}
	free(line);
	fclose(f);
	if (!have_pid)
		return -EIO;
	info.live = daemon_pid_live(info.pid);
	if (info.mnt_id > 0)
		mount_by_id(info.mnt_id, name, info.mount, sizeof(info.mount));
	*out = info;
	return 0;
}

/* The env whose run file names mountpoint mnt, with a live daemon or
 * (live false) a dead one. */
static int find_by_mount(const char *rundir, const char *mnt, bool live,
			 char *name, struct daemon_info *out)
{
	struct daemon_info info;
	struct dirent *de;
	int r = -ENOENT;
	DIR *d;

	d = opendir(rundir);
	if (!d)
		return errno == ENOENT ? -ENOENT : -errno;
	while ((de = readdir(d))) {
		char env[STORE_ENV_NAME_MAX + 1];
		size_t n = strlen(de->d_name);

		if (n <= 5 || n - 5 > STORE_ENV_NAME_MAX ||
		    strcmp(de->d_name + n - 5, ".info"))
			continue;
		memcpy(env, de->d_name, n - 5);
		env[n - 5] = '\0';
		if (store_name_check(env) ||
		    daemon_info_read(rundir, env, &info) < 0)
			continue;
		if (info.live == live && !strcmp(info.mount, mnt)) {
			memcpy(name, env, n - 4);
			*out = info;
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

int daemon_find_by_mount(const char *rundir, const char *mnt, char *name,
			 struct daemon_info *out)
{
	return find_by_mount(rundir, mnt, true, name, out);
}

int daemon_find_dead_by_mount(const char *rundir, const char *mnt, char *name,
			      struct daemon_info *out)
{
	return find_by_mount(rundir, mnt, false, name, out);
}

static bool is_exec(const char *path)
{
	struct stat sb;

	return !stat(path, &sb) && S_ISREG(sb.st_mode) && !access(path, X_OK);
}

int daemon_which(const char *prog, char *buf, size_t len)
{
	const char *p = getenv("PATH"), *end;

	for (; p && *p; p = *end ? end + 1 : end) {
		int n;

		end = strchrnul(p, ':');
		n = snprintf(buf, len, "%.*s/%s", (int)(end - p),
			     end > p ? p : ".", prog);
		if (n > 0 && (size_t)n < len && is_exec(buf))
			return 0;
	}
	return -ENOENT;
}

int daemon_path(char *buf, size_t len)
{
	const char *env = getenv("BLASTFS");
	char self[PATH_MAX], *dir;
	ssize_t n;

	if (env && *env) {
		if (snprintf(buf, len, "%s", env) >= (int)len)
			return -ENAMETOOLONG;
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
		/* a build tree: <build>/ctl/blastctl next to <build>/fs/ */
		if (!strcmp(basename(dir), "ctl") &&
		    snprintf(buf, len, "%s/../fs/%s", dir, DAEMON_PROG) <
			(int)len &&
		    is_exec(buf))
			return 0;
		if (snprintf(buf, len, "%s/%s", dir, DAEMON_PROG) < (int)len &&
		    is_exec(buf))
			return 0;
	}
	return daemon_which(DAEMON_PROG, buf, len);
}

/* ---- running programs ---------------------------------------------- */

static void env_unset(const char *pat)
{
	size_t n = strlen(pat);
	char **e, *name;

	if (!n || pat[n - 1] != '*') {
		unsetenv(pat);
		return;
	}
	for (;;) {
		for (e = environ; *e && strncmp(*e, pat, n - 1); e++)
			;
		if (!*e)
			return;
		name = strndup(*e, strcspn(*e, "="));
		if (!name || unsetenv(name) < 0)
			_exit(127);
		free(name);
	}
}

/* In the child: never returns. */
static void __attribute__((noreturn))
child_exec(const struct daemon_exec *x, int outw, int errw)
{
	const char *const *p;
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 ||
	    dup2(outw >= 0 ? outw : null, 1) < 0 ||
	    dup2(x->err_to_out && outw >= 0 ? outw
		 : errw >= 0		    ? errw
					    : null,
		 2) < 0)
		_exit(127);
	for (p = x->unset; p && *p; p++)
		env_unset(*p);
	for (p = x->set; p && *p; p++)
		if (putenv((char *)*p) < 0)
			_exit(127);
	if (x->cwd && chdir(x->cwd) < 0) {
		dprintf(2, "cannot change directory to '%s': %s\n", x->cwd,
			strerror(errno));
		_exit(127);
	}
	execvp(x->argv[0], (char *const *)x->argv);
	dprintf(2, "cannot run '%s': %s\n", x->argv[0], strerror(errno));
	_exit(127);
}

/* Output captured so far; when full, the older half is dropped: errors
 * come last. */
struct capture {
	int fd;
	char *buf;
	size_t len, n;
};

/* Read what is there; 0 at EOF (fd closed), 1 if more may come. */
static int capture_read(struct capture *c)
{
	char scratch[4096];
	ssize_t n;

	for (;;) {
		if (c->buf && c->len > 1 && c->n + 1 >= c->len) {
			size_t keep = (c->len - 1) / 2;

			memmove(c->buf, c->buf + c->n - keep, keep);
			c->n = keep;
		}
		if (c->buf && c->len > 1)
			n = read(c->fd, c->buf + c->n, c->len - 1 - c->n);
		else
			n = read(c->fd, scratch, sizeof(scratch));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0) {
			close(c->fd);
			c->fd = -1;
			return 0;
		}
		if (c->buf && c->len > 1) {
			c->n += (size_t)n;
			c->buf[c->n] = '\0';
		}
	}
}

static int pidfd_open_nofail(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True once the child has exited (it stays unreaped). */
static bool child_exited(pid_t pid)
{
	siginfo_t si;

	si.si_pid = 0;
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
		   0 &&
	       si.si_pid == pid;
}

/* Poll the child's pipes until it exits (or the deadline); a pidfd
 * wakes the poll when it does. */
static int exec_wait(pid_t pid, struct capture *cap, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	int pidfd = pidfd_open_nofail(pid), i, r = 0;
	bool exited = false;

	while (!exited) {
		struct pollfd pf[3];
		int nfd = 0, wait_ms = pidfd >= 0 ? -1 : 20;

		for (i = 0; i < 2; i++)
			if (cap[i].fd >= 0)
				pf[nfd++] =
				    (struct pollfd){cap[i].fd, POLLIN, 0};
		if (pidfd >= 0)
			pf[nfd++] = (struct pollfd){pidfd, POLLIN, 0};
		if (deadline) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				kill(pid, SIGKILL);
				r = -ETIMEDOUT;
				break;
			}
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = (int)left;
		}
		if (poll(pf, (nfds_t)nfd, wait_ms) < 0 && errno != EINTR) {
			r = -errno;
			kill(pid, SIGKILL);
			break;
		}
		for (i = 0; i < 2; i++)
			if (cap[i].fd >= 0)
				capture_read(&cap[i]);
		exited = child_exited(pid);
	}
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

int daemon_exec_run(struct daemon_exec *x)
{
	struct capture cap[2] = {{-1, x->out, x->outlen, 0},
				 {-1, x->err, x->errlen, 0}};
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, r = 0, i;
	pid_t pid;

	if (x->out && x->outlen)
		x->out[0] = '\0';
	if (x->err && x->errlen)
		x->err[0] = '\0';
	if ((x->out && pipe2(outp, O_CLOEXEC) < 0) ||
	    (x->err && !x->err_to_out && pipe2(errp, O_CLOEXEC) < 0)) {
		r = -errno;
		goto out_close;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out_close;
	}
	if (pid == 0)
		child_exec(x, outp[1], errp[1]);
	for (i = 0; i < 2; i++) {
		int *p = i ? errp : outp;

		if (p[1] >= 0)
			close(p[1]);
		p[1] = -1;
		cap[i].fd = p[0];
		p[0] = -1;
		/* after the child exits, a daemon it forked may still hold
		 * the write end: read what is there, never wait for EOF */
		if (cap[i].fd >= 0)
			fcntl(cap[i].fd, F_SETFL, O_NONBLOCK);
	}
	r = exec_wait(pid, cap, x->timeout_ms);
	for (i = 0; i < 2; i++)
		if (cap[i].fd >= 0) {
			capture_read(&cap[i]);
			if (cap[i].fd >= 0)
				close(cap[i].fd);
		}
	while (waitpid(pid, &x->status, 0) < 0 && errno == EINTR)
		;
out_close:
	for (i = 0; i < 2; i++) {
		int *p = i ? errp : outp;

		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
	}
	return r;
}

void daemon_last_line(const char *s, const char *prog, char *buf, size_t len)
{
	const char *end = s + strlen(s), *start;
	size_t plen = prog ? strlen(prog) : 0;

	while (end > s && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	for (start = end; start > s && start[-1] != '\n'; start--)
		;
	if (plen && (size_t)(end - start) > plen + 2 &&
	    !strncmp(start, prog, plen) && !strncmp(start + plen, ": ", 2))
		start += plen + 2;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
}

/* blastctl says which env and where itself: keep only blastfs's cause
 * after its "cannot mount env 'NAME' at 'MNT': " or "cannot mount at
 * 'MNT': ". */
static void cause_only(char *err, const char *name, const char *mnt)
{
	char pre[2][PATH_MAX + STORE_ENV_NAME_MAX + 64];
	size_t i, n;

	snprintf(pre[0], sizeof(pre[0]),
		 "cannot mount env '%s' at '%s': ", name, mnt);
	snprintf(pre[1], sizeof(pre[1]), "cannot mount at '%s': ", mnt);
	for (i = 0; i < 2; i++) {
		n = strlen(pre[i]);
		if (!strncmp(err, pre[i], n) && err[n]) {
			memmove(err, err + n, strlen(err + n) + 1);
			return;
		}
	}
}

int daemon_start(const char *blastfs, const char *home, const char *name,
		 const char *mnt, char *err, size_t errlen)
{
	const char *argv[] = {blastfs, "--home", home, "--", name, mnt, NULL};
	char out[2048];
	struct daemon_exec x = {
	    .argv = argv,
	    .out = out,
	    .outlen = sizeof(out),
	    .err_to_out = true,
	    .timeout_ms = 300 * 1000, /* recovery after a crash may scan */
	};
	int r = daemon_exec_run(&x);

	if (r == -ETIMEDOUT) {
		snprintf(err, errlen, "%s did not report the mount ready",
			 DAEMON_PROG);
		return -EIO;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot run '%s': %s", blastfs,
			 strerror(-r));
		return r;
	}
	if (WIFEXITED(x.status) && WEXITSTATUS(x.status) == 0)
		return 0;
	daemon_last_line(out, DAEMON_PROG, err, errlen);
	cause_only(err, name, mnt);
	if (!*err && WIFSIGNALED(x.status))
		snprintf(err, errlen, "%s killed by signal %d", DAEMON_PROG,
			 WTERMSIG(x.status));
	else if (!*err)
		snprintf(err, errlen,
			 "%s exited with status %d (see '%s/run/%s.log')",
			 DAEMON_PROG, WEXITSTATUS(x.status), home, name);
	return -EIO;
}

static bool has_wlog(const char *home, const char *name)
{
	char dir[PATH_MAX + 16];
	size_t len = strlen(name);
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/staging", home);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		found = !strncmp(de->d_name, name, len) &&
			!strncmp(de->d_name + len, ".wlog.", 6);
	closedir(d);
	return found;
}

int daemon_recover(struct ctl *c, const char *home, const char *name)
{
	char blastfs[PATH_MAX], out[2048], err[DAEMON_ERR_LEN] = "";
	const char *argv[] = {blastfs, "--home", home, "--recover",
			      "--",    name,	 NULL};
	struct daemon_exec x = {
	    .argv = argv,
	    .out = out,
	    .outlen = sizeof(out),
	    .err_to_out = true,
	    .timeout_ms = 300 * 1000,
	};
	int r;

	if (!has_wlog(home, name))
		return 0;
	r = daemon_path(blastfs, sizeof(blastfs));
	if (r < 0) {
		ctl_err(c,
			"env '%s' has writes to recover, but %s is not found "
			"(set BLASTFS or put it on PATH)",
			name, DAEMON_PROG);
		return r;
	}
	r = daemon_exec_run(&x);
	if (!r && WIFEXITED(x.status) && WEXITSTATUS(x.status) == 0) {
		ctl_status(c,
			   "recovered the writes a killed %s left for "
			   "env '%s'",
			   DAEMON_PROG, name);
		return 0;
	}
	daemon_last_line(out, DAEMON_PROG, err, sizeof(err));
	ctl_err(c, "cannot recover the writes of env '%s': %s", name,
		*err	? err
		: r < 0 ? strerror(-r)
			: "blastfs failed");
	return r < 0 ? r : -EIO;
}

int daemon_recover_unlocked(struct ctl *c, const char *home, const char *rundir,
			    const char *name)
{
	char path[PATH_MAX + STORE_ENV_NAME_MAX + 8];
	int fd, free_lock;

	if (!has_wlog(home, name))
		return 0;
	snprintf(path, sizeof(path), "%s/%s.lock", rundir, name);
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return daemon_recover(c, home, name); /* never mounted here */
	free_lock = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return free_lock ? daemon_recover(c, home, name) : 0;
}

/* ---- control socket ------------------------------------------------ */

/* Connect to RUNDIR/NAME.sock; a path longer than sun_path is reached
 * through /proc/self/fd/N of the run directory. */
static int sock_connect(const char *rundir, const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, dfd = -1, r = 0, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", rundir,
		     name);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		dfd = open(rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -errno;
		n = snprintf(sa.sun_path, sizeof(sa.sun_path),
			     "/proc/self/fd/%d/%s.sock", dfd, name);
		if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
			close(dfd);
			return -ENAMETOOLONG;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		r = -errno;
	else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	if (dfd >= 0)
		close(dfd);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

static int sock_send(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until EOF into a new buffer (*out, *len). */
static int sock_recv_all(int fd, int timeout_ms, char **out, size_t *len)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap), *nb;
	int r = 0;

	while (buf) {
		struct pollfd pf = {fd, POLLIN, 0};
		int64_t left = deadline - now_ms();
		ssize_t got;

		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&pf, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (!pf.revents)
			continue;
		if (n + 1 == cap) {
			if (cap >= REPLY_MAX) {
				r = -EPROTO;
				break;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		if (got == 0) {
			buf[n] = '\0';
			*out = buf;
			*len = n;
			return 0;
		}
		n += (size_t)got;
	}
	free(buf);
	return r ? r : -ENOMEM;
}

int daemon_connect(const char *rundir, const char *name)
{
	return sock_connect(rundir, name);
}

int daemon_requestv(const char *rundir, const char *name,
		    const char *const *argv, int timeout_ms, json_t **out)
{
	char *line = NULL, *reply = NULL;
	size_t n = 0, len = 0;
	json_t *j;
	int fd, r;

	r = ctlproto_encode(argv, &line, &n);
	if (r < 0)
		return r;
	fd = sock_connect(rundir, name);
	if (fd < 0) {
		free(line);
		return fd;
	}
	r = sock_send(fd, line, n);
	free(line);
	if (!r)
		shutdown(fd, SHUT_WR);
	if (!r)
		r = sock_recv_all(fd, timeout_ms, &reply, &len);
	close(fd);
	if (r < 0)
		return r;
	j = json_loadb(reply, len, 0, NULL);
	free(reply);
	if (!json_is_object(j)) {
		json_decref(j);
		return -EPROTO;
	}
	*out = j;
	return 0;
}

int daemon_request(const char *rundir, const char *name, const char *cmd,
		   int timeout_ms, json_t **out)
{
	const char *argv[] = {cmd, NULL};

	return daemon_requestv(rundir, name, argv, timeout_ms, out);
}

int daemon_wait_gone(pid_t pid, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int pidfd = pidfd_open_nofail(pid);

	if (pidfd < 0 && errno == ESRCH)
		return 0;
	while (daemon_pid_live(pid)) {
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			if (pidfd >= 0)
				close(pidfd);
			return -ETIMEDOUT;
		}
		if (pidfd >= 0)
			poll(&(struct pollfd){pidfd, POLLIN, 0}, 1,
			     left < 1000 ? (int)left : 1000);
		else
			usleep(10 * 1000);
	}
	if (pidfd >= 0)
		close(pidfd);
	return 0;
}

/* ---- mounts --------------------------------------------------------- */

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] -
 * FSTYPE SOURCE SUPEROPTS", split in place: *mp is the mountpoint. */
static bool mountinfo_parse(char *line, const char **mp, struct daemon_mount *m)
{
	char *save = NULL, *f;
	int i;

	f = strtok_r(line, " \n", &save);
	m->id = f ? (int)strtol(f, NULL, 10) : 0;
	for (i = 0; f && i < 4; i++)
		f = strtok_r(NULL, " \n", &save);
	if (!f)
		return false;
	unescape(f);
	*mp = f;
	while ((f = strtok_r(NULL, " \n", &save)) && strcmp(f, "-"))
		;
	f = f ? strtok_r(NULL, " \n", &save) : NULL;
	snprintf(m->fstype, sizeof(m->fstype), "%s", f ? f : "?");
	f = f ? strtok_r(NULL, " \n", &save) : NULL;
	if (f)
		unescape(f);
	snprintf(m->source, sizeof(m->source), "%s", f ? f : "?");
	return true;
}

/* mountinfo_parse, true if the line is mnt's. */
static bool mountinfo_match(char *line, const char *mnt, struct daemon_mount *m)
{
	const char *mp;

	return mountinfo_parse(line, &mp, m) && !strcmp(mp, mnt);
}

int daemon_mount_find(const char *mnt, struct daemon_mount *out)
{
	struct daemon_mount m, found;
	char *line = NULL;
	bool any = false;
	size_t cap = 0;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (mountinfo_match(line, mnt, &m)) {
			found = m; /* later lines are mounted on top */
			any = true;
		}
	}
	free(line);
	fclose(f);
	if (!any)
		return -ENOENT;
	*out = found;
	return 0;
}

int daemon_umount(const char *mnt, bool lazy, char *err, size_t errlen)
{
	const char *argv[] = {"fusermount3", lazy ? "-uz" : "-u", "--", mnt,
			      NULL};
	struct daemon_exec x = {
	    .argv = argv,
	    .err = err,
	    .errlen = errlen,
	    .timeout_ms = 60 * 1000,
	};
	char msg[DAEMON_ERR_LEN];
	int r;

	if (errlen)
		err[0] = '\0';
	if (geteuid() == 0) {
		if (umount2(mnt, lazy ? MNT_DETACH : 0) == 0)
			return 0;
		r = -errno;
		snprintf(err, errlen, "%s", strerror(-r));
		return r;
	}
	r = daemon_exec_run(&x);
	if (r < 0)
		return r;
	if (WIFEXITED(x.status) && WEXITSTATUS(x.status) == 0)
		return 0;
	daemon_last_line(err, "fusermount3", msg, sizeof(msg));
	snprintf(err, errlen, "%s", msg);
	return strstr(msg, "busy") ? -EBUSY : -EIO;
}

int daemon_mount_probe(const char *rundir, const char *mnt,
		       struct daemon_probe *out)
{
	struct statfs sf;
	int r;

	memset(out, 0, sizeof(*out));
	r = daemon_mount_find(mnt, &out->m);
	if (r == -ENOENT) {
		out->state = DAEMON_MNT_NONE;
		return 0;
	}
	if (r < 0)
		return r;
	if (!daemon_find_by_mount(rundir, mnt, out->env, &out->info)) {
		out->state = DAEMON_MNT_LIVE;
		return 0;
	}
	out->state = DAEMON_MNT_FOREIGN;
	if (strncmp(out->m.fstype, "fuse", 4))
		return 0;
	/* statfs always asks the daemon (nothing cached): a dead one's
	 * aborted connection answers ENOTCONN */
	if (statfs(mnt, &sf) < 0 &&
	    (errno == ENOTCONN || errno == ECONNABORTED))
		out->state = DAEMON_MNT_STALE;
	return 0;
}

int daemon_mount_clear(const char *mnt, char *err, size_t errlen)
{
	return daemon_umount(mnt, true, err, errlen);
}

/* ---- blastctl's steps ----------------------------------------------- */

int ctl_daemon_dirs(struct ctl *c, char *home, char *rundir)
{
	char why[512] = "";
	struct store *st;
	int r;

	r = ctl_store(c, &st);
	if (r < 0)
		return r;
	if (!realpath(store_path(st), home)) {
		r = -errno;
		ctl_err(c, "cannot resolve store '%s': %s", store_path(st),
			ctl_strerror(r));
		return r;
	}
	r = daemon_run_dir(home, rundir, PATH_MAX, why, sizeof(why));
	if (r < 0)
		ctl_err(c, "cannot use '%s/run': %s", home,
			why[0] ? why : ctl_strerror(r));
	return r;
}

int ctl_daemon_clear_stale(struct ctl *c, const char *mnt)
{
	char err[DAEMON_ERR_LEN];
	int r = daemon_mount_clear(mnt, err, sizeof(err));

	if (r < 0) {
		ctl_err(c, "cannot clear stale mount '%s': %s", mnt, err);
		return r;
	}
	ctl_status(c, "cleared stale mount '%s' (its blastfs was gone)", mnt);
	return 0;
}
