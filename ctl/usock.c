/* SPDX-License-Identifier: MIT */
/*
 * usock.c - the supervisor thread of usock.h: receives the listener
 * CMD's parent passes on, takes each notification's socket and hands
 * the call to usock-op.c, in a worker thread when it may block (a
 * blocking socket) so one slow peer stalls no other call of CMD.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "usock.h"
#include "usock_internal.h"

#define MAX_WORKERS 64 /* beyond: answered in the supervisor thread */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd of any thread */
#endif

bool usock_job_valid(const struct usock_job *j)
{
	return seccomp_notify_id_valid(j->u->lfd, j->id) == 0;
}

/* ---- the hand-over --------------------------------------------------- */

int usock_child_send(int hp, int listener)
{
	char go;

	if (write(hp, &listener, sizeof(listener)) != sizeof(listener))
		return -EPIPE;
	return read(hp, &go, 1) == 1 ? 0 : -EPIPE;
}

static int send_fd(int chan, int fd)
{
	char byte = 0, cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {&byte, 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(chan, &m, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

static int recv_fd(int chan)
{
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	ssize_t n;
	int fd;

	do
		n = recvmsg(chan, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	c = n == 1 ? CMSG_FIRSTHDR(&m) : NULL;
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPIPE;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

int usock_child_relay(int hp, pid_t pid, int chan)
{
	int n, pidfd, fd = -1, err;

	if (read(hp, &n, sizeof(n)) != sizeof(n))
		return -EPIPE; /* CMD failed before: it says why */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0)
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, n, 0);
	err = fd < 0 ? -errno : send_fd(chan, fd);
	if (!err && write(hp, "", 1) != 1)
		err = -EPIPE;
	if (fd >= 0)
		close(fd);
	if (pidfd >= 0)
		close(pidfd);
	return err;
}

/* ---- the supervisor -------------------------------------------------- */

static void job_free(struct usock_job *j)
{
	int *fds[] = {&j->sock, &j->pidfd, &j->mem, &j->root, &j->cwd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(*fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free(j);
}

/* CMD's memory, root and cwd, opened before the calling thread takes
 * CMD's credentials; valid once the notification is checked after. */
static void job_open(struct usock_job *j)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/mem", (int)j->pid);
	j->mem = open(p, O_RDWR | O_CLOEXEC);
	snprintf(p, sizeof(p), "/proc/%d/root", (int)j->pid);
	j->root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "/proc/%d/cwd", (int)j->pid);
	j->cwd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void job_answer(struct usock_job *j, int64_t r)
{
	struct seccomp_notif_resp resp = {.id = j->id};

	if (r < 0)
		resp.error = (int32_t)r;
	else
		resp.val = r;
	/* ENOENT: CMD's call was interrupted or CMD died meanwhile */
	seccomp_notify_respond(j->u->lfd, &resp);
}

static void *worker_main(void *arg)
{
	struct usock_job *j = arg;
	struct usock *u = j->u;

	job_answer(j, usock_job_perform(j));
	job_free(j);
	pthread_mutex_lock(&u->lock);
	u->workers--;
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

/* A detached worker for j, or -errno (then the caller answers). */
static int spawn(struct usock_job *j)
{
	struct usock *u = j->u;
	pthread_attr_t at;
	pthread_t t;
	int r = -EAGAIN;

	pthread_mutex_lock(&u->lock);
	if (u->workers < MAX_WORKERS) {
		u->workers++;
		r = 0;
	}
	pthread_mutex_unlock(&u->lock);
	if (r)
		return r;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	r = -pthread_create(&t, &at, worker_main, j);
	pthread_attr_destroy(&at);
	if (r) {
		pthread_mutex_lock(&u->lock);
		u->workers--;
		pthread_mutex_unlock(&u->lock);
	}
	return r;
}

/* The flags argument of the send calls (MSG_DONTWAIT: will not block). */
static uint64_t send_flags(const struct usock_job *j)
{
	return j->nr == SCMP_SYS(sendmsg)   ? j->args[2]
	       : j->nr == SCMP_SYS(connect) ? 0
					    : j->args[3];
}

static void dispatch(struct usock *u, const struct seccomp_notif *req)
{
	struct usock_job *j = calloc(1, sizeof(*j));
	int fl;

	if (!j) {
		struct seccomp_notif_resp resp = {.id = req->id,
						  .error = -ENOMEM};

		seccomp_notify_respond(u->lfd, &resp);
		return;
	}
	j->u = u;
	j->id = req->id;
	j->pid = (pid_t)req->pid;
	j->nr = req->data.nr;
	memcpy(j->args, req->data.args, sizeof(j->args));
	j->sock = j->mem = j->root = j->cwd = -1;
	/* the caller may be any thread of CMD: pid is its thread id */
	j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, PIDFD_THREAD);
	if (j->pidfd < 0 && errno == EINVAL)
		j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
	job_open(j);
	if (j->pidfd < 0 || !usock_job_valid(j)) {
		job_answer(j, -ESRCH); /* gone: nobody reads the answer */
		job_free(j);
		return;
	}
	j->sock = (int)syscall(SYS_pidfd_getfd, j->pidfd, (int)j->args[0], 0);
	if (j->sock < 0) {
		job_answer(j, -errno);
		job_free(j);
		return;
	}
	fl = fcntl(j->sock, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK) && !(send_flags(j) & MSG_DONTWAIT) &&
	    spawn(j) == 0)
		return;
	job_answer(j, usock_job_perform(j));
	job_free(j);
}

static void *sup_main(void *arg)
{
	struct usock *u = arg;
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	struct pollfd pf;

	u->lfd = recv_fd(u->chan);
	close(u->chan);
	u->chan = -1;
	if (u->lfd < 0 || seccomp_notify_alloc(&req, &resp) < 0)
		return NULL;
	pf.fd = u->lfd;
	pf.events = POLLIN;
	for (;;) {
		if (poll(&pf, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf.revents & POLLIN) {
			memset(req, 0, sizeof(*req));
			if (seccomp_notify_receive(u->lfd, req) == 0)
				dispatch(u, req);
			continue;
		}
		if (pf.revents & (POLLHUP | POLLERR | POLLNVAL))
			break; /* no process uses the filter any more */
	}
	seccomp_notify_free(req, resp);
	return NULL;
}

static int paths_copy(struct confine_paths *to,
		      const struct confine_paths *from)
{
	int r = 0;

	for (size_t i = 0; !r && i < from->n; i++)
		r = confine_paths_push(to, from->v[i]);
	return r;
}

static void usock_free(struct usock *u)
{
	confine_paths_free(&u->allow);
	confine_paths_free(&u->deny);
	free(u->groups);
	pthread_mutex_destroy(&u->lock);
	if (u->lfd >= 0)
		close(u->lfd);
	if (u->chan >= 0)
		close(u->chan);
	free(u);
}

int usock_start(int chan, const struct confine *cf, struct usock **out)
{
	static char *const priv[] = {"/tmp", "/dev/shm"};
	const struct confine_paths own = {2, (char **)priv};
	struct usock *u = calloc(1, sizeof(*u));
	int r;

	if (!u) {
		close(chan);
		return -ENOMEM;
	}
	u->lfd = -1;
	u->chan = chan;
	u->userns = cf->userns;
	u->drop_ids = cf->drop_ids;
	u->uid = cf->uid;
	u->gid = cf->gid;
	pthread_mutex_init(&u->lock, NULL);
	u->ngroups = getgroups(0, NULL);
	u->groups = calloc(u->ngroups > 0 ? u->ngroups : 1, sizeof(gid_t));
	if (!u->groups || u->ngroups < 0 ||
	    getgroups(u->ngroups, u->groups) != u->ngroups)
		r = -ENOMEM;
	else
		r = paths_copy(&u->allow, &own);
	if (!r)
		r = paths_copy(&u->allow, &cf->writable);
	if (!r)
		r = paths_copy(&u->allow, &cf->sockets);
	if (!r)
		r = paths_copy(&u->deny, &cf->readonly);
	if (!r)
		r = paths_copy(&u->deny, &cf->hidden);
	if (!r)
		r = -pthread_create(&u->thread, NULL, sup_main, u);
	if (r) {
		usock_free(u);
		return r;
	}
	*out = u;
	return 0;
}

void usock_stop(struct usock *u)
{
	unsigned busy;

	if (!u)
		return;
	pthread_join(u->thread, NULL);
	pthread_mutex_lock(&u->lock);
	busy = u->workers;
	pthread_mutex_unlock(&u->lock);
	if (!busy)
		usock_free(u);
}
