/* SPDX-License-Identifier: MIT */
/*
 * loop.c - blastfs's request loop (leader/followers with a short spin).
 *
 * A FUSE round trip is two wakeups: the kernel wakes a daemon thread
 * blocked in read(/dev/fuse), and the reply wakes the caller. When the
 * daemon thread sleeps on another CPU, its wakeup is a cross-CPU
 * interrupt, and on a VM whose idle CPUs halt that dominates: measured
 * here, os.isatty() on a blastfs file (one IOCTL round trip) took 46 us
 * with client and daemon on different CPUs and 8 us on the same one.
 * Python pays one OPEN and one IOCTL round trip for every module it
 * imports, so a warm import is mostly such wakeups.
 *
 * So one thread at a time, the leader, receives from the device. After a
 * request it keeps reading the (non-blocking) device for up to spin_us
 * before it sleeps in poll(): the requests of a busy client then find it
 * awake. The leader serves a request itself, and goes straight back to
 * receiving, when the request answers from memory (OPEN, IOCTL, GETATTR,
 * FORGET, a reader's RELEASE, ...) or when it had to wait for it: one
 * client issuing one request at a time (an import, pip, cp) is served
 * best by one thread that stays awake. When a request was already queued
 * (several clients at once), the leader first hands the receiving over
 * to a follower, so slow requests (reads that decompress, writes, seals,
 * lookups in a cold store) run in parallel on up to
 * `threads` threads. Followers wait on a condition variable, never on the
 * device, so a request wakes at most one thread. spin_us 0 turns the
 * spinning off (the leader sleeps in poll() at once); so does a single
 * usable CPU.
 *
 * The spin costs CPU on the other CPU while a client is busy in the
 * mount: measured on a warm `import numpy, scipy, pandas, matplotlib,
 * sympy` (0.53 s natively), spin 100 us: 1.17x native, 0.18 s of daemon
 * CPU per import; 300 us: 1.11x, 0.26 s; 500 us: 1.12x, 0.31 s; 1000
 * us: 1.08-1.13x, 0.36 s; no spin: 1.3x. What remains is the client's
 * own wakeup when the reply comes (its CPU halted meanwhile).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"

struct loop {
	struct fs *fs;
	struct fuse_session *se;
	int fd;
	int64_t spin_ns;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool leader; /* a thread is receiving */
	bool done;
	int err;
};

/* Requests answered from memory: the leader serves them itself. */
static bool quick(const struct fuse_buf *b)
{
	const struct fuse_in_header *h = b->mem;

	if ((b->flags & FUSE_BUF_IS_FD) || b->size < sizeof(*h))
		return false;
	switch (h->opcode) {
	case FUSE_OPEN:
	case FUSE_IOCTL:
	case FUSE_GETATTR:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_OPENDIR:
	case FUSE_RELEASEDIR:
	case FUSE_STATFS:
	case FUSE_READLINK:
	case FUSE_ACCESS:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_INTERRUPT:
		return true;
	case FUSE_RELEASE: /* a reader's (fs_internal.h): nothing to seal */
		return b->size >= sizeof(*h) + sizeof(struct fuse_release_in) &&
		       !(((const struct fuse_release_in *)(h + 1))->fh &
			 FH_WRITER);
	default:
		return false;
	}
}

static void finish(struct loop *lp, int err)
{
	pthread_mutex_lock(&lp->mu);
	if (!lp->done && err)
		lp->err = err;
	lp->done = true;
	pthread_cond_broadcast(&lp->cv);
	pthread_mutex_unlock(&lp->mu);
	fuse_session_exit(lp->se);
}

/* One request into b: > 0 its size, 0 when the session ends, -errno.
 * Spins for spin_ns on an empty device, then sleeps in poll (1 s at a
 * time, to notice an exit signalled elsewhere). *queued: the request was
 * there at the first read (requests are arriving faster than served). */
static int receive(struct loop *lp, struct fuse_buf *b, bool *queued)
{
	int64_t until = fs_now_ns() + lp->spin_ns;

	*queued = true;
	for (;;) {
		struct pollfd pf = {.fd = lp->fd, .events = POLLIN};
		int r = fuse_session_receive_buf(lp->se, b);

		if (r != -EAGAIN && r != -EINTR)
			return r;
		*queued = false;
		if (fuse_session_exited(lp->se))
			return 0;
		if (lp->spin_ns && fs_now_ns() < until) {
			sched_yield(); /* runnable work on this CPU goes first
					*/
			continue;
		}
		atomic_fetch_add(&lp->fs->cnt.loop_sleeps, 1);
		if (poll(&pf, 1, 1000) < 0 && errno != EINTR)
			return -errno;
		until = fs_now_ns() + lp->spin_ns;
	}
}

/* Wait to become the leader; false when the loop is over. */
static bool lead(struct loop *lp)
{
	bool led;

	pthread_mutex_lock(&lp->mu);
	while (lp->leader && !lp->done)
		pthread_cond_wait(&lp->cv, &lp->mu);
	led = !lp->done; /* read under mu (ThreadSanitizer found it read
			    after the unlock, racing finish()) */
	if (led)
		lp->leader = true;
	pthread_mutex_unlock(&lp->mu);
	return led;
}

static void hand_over(struct loop *lp)
{
	pthread_mutex_lock(&lp->mu);
	lp->leader = false;
	pthread_cond_signal(&lp->cv);
	pthread_mutex_unlock(&lp->mu);
}

static void *worker(void *arg)
{
	struct loop *lp = arg;
	struct fuse_buf b;

	memset(&b, 0, sizeof(b));
	while (lead(lp)) {
		for (;;) {
			bool queued, q;
			int r = receive(lp, &b, &queued);

			if (r <= 0) {
				hand_over(lp);
				finish(lp, r);
				goto out;
			}
			/* one client at a time is served best by one thread */
			q = !queued || quick(&b);
			if (!q)
				hand_over(lp);
			if (!fs_tmpfile_take(lp->fs, lp->se, &b))
				fuse_session_process_buf(lp->se, &b);
			if (!q)
				break; /* back to waiting for the lead */
		}
	}
out:
	free(b.mem);
	return NULL;
}

unsigned fs_loop_spin(unsigned spin_us)
{
	cpu_set_t cpus;

	/* with one CPU a spinner only delays the client it waits for */
	if (!sched_getaffinity(0, sizeof(cpus), &cpus) && CPU_COUNT(&cpus) < 2)
		return 0;
	return spin_us;
}

int fs_loop(struct fs *fs)
{
	unsigned threads = (unsigned)fs->opt->threads;
	struct loop lp;
	pthread_t *tids;
	sigset_t all, old;
	unsigned started = 0;
	int fl;

	memset(&lp, 0, sizeof(lp));
	lp.fs = fs;
	lp.se = fs->se;
	lp.fd = fuse_session_fd(fs->se);
	lp.spin_ns = (int64_t)fs->spin_us * 1000;
	fl = fcntl(lp.fd, F_GETFL);
	if (fl < 0 || fcntl(lp.fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	tids = calloc(threads, sizeof(*tids));
	if (!tids)
		return -ENOMEM;
	pthread_mutex_init(&lp.mu, NULL);
	pthread_cond_init(&lp.cv, NULL);
	/* signals go to this thread, whose poll they interrupt */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	while (started + 1 < threads &&
	       !pthread_create(&tids[started], NULL, worker, &lp))
		started++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	worker(&lp);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	pthread_cond_destroy(&lp.cv);
	pthread_mutex_destroy(&lp.mu);
	fuse_session_reset(fs->se);
	return lp.err;
}
