/* SPDX-License-Identifier: MIT */
/*
 * usock-op.c - the calls usock.h's supervisor performs for CMD: the
 * address (and a send's data and control messages) read once from
 * CMD's memory, a path-named unix address resolved as CMD sees it
 * (through /proc/PID/root and its cwd, in the supervisor's
 * openat2(RESOLVE_IN_ROOT): magic links such as /proc/self/root are
 * refused) to an O_PATH descriptor, checked where it lies, and the
 * call made to /proc/self/fd/N, that very file.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <limits.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "usock_internal.h"

/* bytes of one send taken: more is a short count (a datagram that large
 * fails anyway); control bytes (the kernel's optmem is less) */
#define DATA_MAX (4u << 20)
#define CTL_MAX	 65536

/* ---- CMD's memory ----------------------------------------------------- */

static int mem_rw(const struct usock_job *j, uint64_t addr, void *buf,
		  size_t len, bool write)
{
	ssize_t n;

	if (!len)
		return 0;
	if (j->mem < 0 || addr > (uint64_t)INT64_MAX - len)
		return -EFAULT;
	n = write ? pwrite(j->mem, buf, len, (off_t)addr)
		  : pread(j->mem, buf, len, (off_t)addr);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

static int mem_read(const struct usock_job *j, uint64_t addr, void *buf,
		    size_t len)
{
	return mem_rw(j, addr, buf, len, false);
}

/* ---- credentials ------------------------------------------------------ */

/* The calling thread takes CMD's uid, gids and (no) capabilities: raw
 * system calls, which change this thread only (the C library's would
 * change every thread). Real and effective ids are CMD's (reading its
 * memory checks the real ones); root keeps its saved uid to come back. */
static int as_cmd(const struct usock *u)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	if (u->userns)
		return 0; /* blastctl is CMD's user already */
	if (u->drop_ids && (syscall(SYS_setgroups, 1, &u->gid) < 0 ||
			    syscall(SYS_setresgid, u->gid, u->gid, -1) < 0 ||
			    syscall(SYS_setresuid, u->uid, u->uid, -1) < 0))
		return -errno;
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].effective = d[1].effective = 0;
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static void as_self(const struct usock *u)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	if (u->userns)
		return;
	if (u->drop_ids) {
		syscall(SYS_setresuid, 0, 0, -1);
		syscall(SYS_setresgid, 0, 0, -1);
		syscall(SYS_setgroups, u->ngroups, u->groups);
	}
	if (syscall(SYS_capget, &h, d) == 0) {
		d[0].effective = d[0].permitted;
		d[1].effective = d[1].permitted;
		syscall(SYS_capset, &h, d);
	}
}

/* ---- where a path socket may be ---------------------------------------- */

static size_t longest(const struct confine_paths *ps, const char *path)
{
	size_t best = 0, n;

	for (size_t i = 0; i < ps->n; i++) {
		n = strlen(ps->v[i]);
		if (!strcmp(ps->v[i], "/") ||
		    (!strncmp(path, ps->v[i], n) &&
		     (path[n] == '\0' || path[n] == '/')))
			best = n + 1 > best ? n + 1 : best;
	}
	return best;
}

/* The deepest allowed or denied path naming path's place decides. */
static bool allowed(const struct usock *u, const char *path)
{
	return longest(&u->allow, path) > longest(&u->deny, path);
}

/* path (from CMD's sockaddr) as CMD sees it: an O_PATH descriptor of a
 * socket file into *out and where it lies, CMD's view, into where. */
static int resolve(const struct usock_job *j, const char *path, int *out,
		   char where[PATH_MAX])
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT};
	char p[64], full[PATH_MAX * 2], cwd[PATH_MAX];
	struct stat st;
	int fd;
	ssize_t n;

	if (j->root < 0)
		return -ECONNREFUSED;
	snprintf(full, sizeof(full), "%s", path);
	if (path[0] != '/') {
		/* CMD's cwd as CMD sees it (its mount namespace's path) */
		snprintf(p, sizeof(p), "/proc/self/fd/%d", j->cwd);
		n = j->cwd < 0 ? -1 : readlink(p, cwd, sizeof(cwd) - 1);
		if (n <= 0 || cwd[0] != '/')
			return -ECONNREFUSED;
		cwd[n] = '\0';
		snprintf(full, sizeof(full), "%s/%s", cwd, path);
	}
	fd = (int)syscall(SYS_openat2, j->root, full, &how, sizeof(how));
	if (fd < 0)
		return errno == EXDEV ? -ECONNREFUSED : -errno;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	n = readlink(p, where, PATH_MAX - 1);
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || n <= 0) {
		close(fd);
		return -ECONNREFUSED; /* what connect(2) says of a file */
	}
	where[n] = '\0';
	*out = fd;
	return 0;
}

/* A unix path address in ss (len bytes) on a unix socket: checked and
 * replaced by /proc/self/fd/N of the file it names (*pathfd, to close).
 * Any other address stays as it is. */
static int addr_check(const struct usock_job *j, struct sockaddr_storage *ss,
		      socklen_t *len, int *pathfd)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	char path[sizeof(un->sun_path) + 1], where[PATH_MAX];
	int dom = 0, r;
	socklen_t dl = sizeof(dom);

	*pathfd = -1;
	if (*len <= off || ss->ss_family != AF_UNIX || !un->sun_path[0] ||
	    *len > sizeof(*un))
		return 0; /* not a path: the kernel judges it */
	if (getsockopt(j->sock, SOL_SOCKET, SO_DOMAIN, &dom, &dl) < 0 ||
	    dom != AF_UNIX)
		return 0;
	memcpy(path, un->sun_path, *len - off);
	path[*len - off] = '\0';
	r = resolve(j, path, pathfd, where);
	if (r)
		return r;
	if (!allowed(j->u, where)) {
		close(*pathfd);
		*pathfd = -1;
		return -ECONNREFUSED;
	}
	snprintf(un->sun_path, sizeof(un->sun_path), "/proc/self/fd/%d",
		 *pathfd);
	*len = (socklen_t)(off + strlen(un->sun_path) + 1);
	return 0;
}

/* The address at addr (alen bytes) of CMD into ss, checked. */
static int addr_take(const struct usock_job *j, uint64_t addr, uint64_t alen,
		     struct sockaddr_storage *ss, socklen_t *len, int *pathfd)
{
	int r;

	*pathfd = -1;
	if ((int)alen < 0 || alen > sizeof(*ss))
		return -EINVAL;
	*len = (socklen_t)alen;
	r = mem_read(j, addr, ss, *len);
	return r ? r : addr_check(j, ss, len, pathfd);
}

/* ---- the calls ---------------------------------------------------------- */

/* A send's result: EPIPE raises SIGPIPE in CMD's calling thread, as the
 * kernel would have without MSG_NOSIGNAL (the call itself always has
 * it: the signal would be blastctl's). */
static int64_t sent(const struct usock_job *j, ssize_t r, int flags)
{
	if (r >= 0)
		return r;
	r = -errno;
	if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
		syscall(SYS_pidfd_send_signal, j->pidfd, SIGPIPE, NULL, 0);
	return r;
}

static int64_t op_connect(struct usock_job *j)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int pathfd, r;

	r = addr_take(j, j->args[1], j->args[2], &ss, &len, &pathfd);
	if (!r && !usock_job_valid(j))
		r = -ESRCH;
	if (!r && connect(j->sock, (struct sockaddr *)&ss, len) < 0)
		r = -errno;
	if (pathfd >= 0)
		close(pathfd);
	return r;
}

static int64_t op_sendto(struct usock_job *j)
{
	size_t n = j->args[2] > DATA_MAX ? DATA_MAX : j->args[2];
	struct sockaddr_storage ss;
	char *buf = malloc(n ? n : 1);
	socklen_t len;
	int pathfd = -1;
	int64_t r;

	if (!buf)
		return -ENOMEM;
	r = mem_read(j, j->args[1], buf, n);
	if (!r)
		r = addr_take(j, j->args[4], j->args[5], &ss, &len, &pathfd);
	if (!r && !usock_job_valid(j))
		r = -ESRCH;
	if (!r) {
		r = sent(j,
			 sendto(j->sock, buf, n, (int)j->args[3] | MSG_NOSIGNAL,
				(struct sockaddr *)&ss, len),
			 (int)j->args[3]);
	}
	if (pathfd >= 0)
		close(pathfd);
	free(buf);
	return r;
}

/* One message as sendmsg(2) would send it. */
struct msg {
	struct msghdr m;
	struct sockaddr_storage ss;
	struct iovec iov;
	int pathfd;
	size_t nfds; /* descriptors of CMD's taken into m's control */
};

static void msg_release(struct msg *g)
{
	struct cmsghdr *c;
	size_t left = g->nfds;

	for (c = g->m.msg_control ? CMSG_FIRSTHDR(&g->m) : NULL; c && left;
	     c = CMSG_NXTHDR(&g->m, c)) {
		int *fds = (int *)CMSG_DATA(c);
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < n && left; i++, left--)
			close(fds[i]);
	}
	free(g->iov.iov_base);
	free(g->m.msg_control);
	if (g->pathfd >= 0)
		close(g->pathfd);
}

/* The descriptors SCM_RIGHTS passes: CMD's numbers made ours. Explicit
 * SCM_CREDENTIALS are refused: the kernel would check them against
 * this thread, whose saved uid is still root's. */
static int msg_fds(const struct usock_job *j, struct msg *g)
{
	const char *end = (char *)g->m.msg_control + g->m.msg_controllen;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(&g->m); c; c = CMSG_NXTHDR(&g->m, c)) {
		int *fds = (int *)CMSG_DATA(c);
		size_t n;

		if (c->cmsg_len < CMSG_LEN(0) || (char *)c + c->cmsg_len > end)
			return -EINVAL;
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS)
			return -EPERM;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd =
			    (int)syscall(SYS_pidfd_getfd, j->pidfd, fds[i], 0);

			if (fd < 0)
				return -EBADF;
			fds[i] = fd;
			g->nfds++;
		}
	}
	return 0;
}

static int msg_data(const struct usock_job *j, const struct msghdr *um,
		    struct msg *g)
{
	struct iovec *uiov;
	size_t total = 0;
	char *p;
	int r = 0;

	if (um->msg_iovlen > IOV_MAX)
		return -EMSGSIZE;
	uiov = calloc(um->msg_iovlen + 1, sizeof(*uiov));
	if (!uiov)
		return -ENOMEM;
	r = mem_read(j, (uintptr_t)um->msg_iov, uiov,
		     um->msg_iovlen * sizeof(*uiov));
	for (size_t i = 0; !r && i < um->msg_iovlen; i++)
		total += uiov[i].iov_len;
	total = total > DATA_MAX ? DATA_MAX : total;
	p = g->iov.iov_base = malloc(total ? total : 1);
	if (!r && !p)
		r = -ENOMEM;
	for (size_t i = 0, at = 0; !r && i < um->msg_iovlen && at < total;
	     i++) {
		size_t n = uiov[i].iov_len;

		n = n > total - at ? total - at : n;
		r = mem_read(j, (uintptr_t)uiov[i].iov_base, p + at, n);
		at += n;
	}
	g->iov.iov_len = total;
	free(uiov);
	return r;
}

/* CMD's struct msghdr at addr into g, checked. */
static int msg_take(const struct usock_job *j, uint64_t addr, struct msg *g)
{
	struct msghdr um;
	socklen_t len = 0;
	int r = mem_read(j, addr, &um, sizeof(um));

	g->pathfd = -1;
	g->m.msg_iov = &g->iov;
	g->m.msg_iovlen = 1;
	if (r)
		return r;
	if (um.msg_name && um.msg_namelen) {
		r = addr_take(j, (uintptr_t)um.msg_name, um.msg_namelen, &g->ss,
			      &len, &g->pathfd);
		g->m.msg_name = &g->ss;
		g->m.msg_namelen = len;
	}
	if (!r)
		r = msg_data(j, &um, g);
	if (!r && um.msg_controllen) {
		if (um.msg_controllen > CTL_MAX)
			return -ENOBUFS;
		g->m.msg_control = calloc(1, um.msg_controllen);
		g->m.msg_controllen = um.msg_controllen;
		r = g->m.msg_control
			? mem_read(j, (uintptr_t)um.msg_control,
				   g->m.msg_control, um.msg_controllen)
			: -ENOMEM;
		if (!r)
			r = msg_fds(j, g);
	}
	return r;
}

static int64_t msg_send(struct usock_job *j, uint64_t addr, int flags)
{
	struct msg g = {0};
	int64_t r = msg_take(j, addr, &g);

	if (!r && !usock_job_valid(j))
		r = -ESRCH;
	if (!r) {
		r = sent(j, sendmsg(j->sock, &g.m, flags | MSG_NOSIGNAL),
			 flags);
	}
	msg_release(&g);
	return r;
}

static int64_t op_sendmmsg(struct usock_job *j)
{
	unsigned vlen = j->args[2] > IOV_MAX ? IOV_MAX : (unsigned)j->args[2];
	unsigned i;

	for (i = 0; i < vlen; i++) {
		uint64_t at = j->args[1] + i * sizeof(struct mmsghdr);
		int64_t r = msg_send(j, at, (int)j->args[3]);
		unsigned sent = (unsigned)r;

		if (r < 0)
			return i ? (int64_t)i : r;
		if (mem_rw(j, at + offsetof(struct mmsghdr, msg_len), &sent,
			   sizeof(sent), true))
			return i ? (int64_t)i : -EFAULT;
	}
	return i;
}

int64_t usock_job_perform(struct usock_job *j)
{
	int64_t r = as_cmd(j->u);

	if (r < 0) {
		as_self(j->u);
		return -EPERM;
	}
	if (j->nr == SCMP_SYS(connect))
		r = op_connect(j);
	else if (j->nr == SCMP_SYS(sendto))
		r = op_sendto(j);
	else if (j->nr == SCMP_SYS(sendmsg))
		r = msg_send(j, j->args[1], (int)j->args[2]);
	else if (j->nr == SCMP_SYS(sendmmsg))
		r = op_sendmmsg(j);
	else
		r = -ENOSYS;
	as_self(j->u);
	return r;
}
