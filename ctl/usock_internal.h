/* SPDX-License-Identifier: MIT */
/*
 * usock_internal.h - what usock.c (the thread, the hand-over, the
 * dispatch) and usock-op.c (the calls performed) share.
 */
#ifndef BLAST_CTL_USOCK_INTERNAL_H
#define BLAST_CTL_USOCK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "confine.h"

struct usock {
	int lfd; /* the listener, -1 until received */
	int chan;
	bool userns, drop_ids;
	uid_t uid; /* CMD's */
	gid_t gid;
	gid_t *groups; /* blastctl's, to come back to */
	int ngroups;
	struct confine_paths allow; /* where a path socket may be */
	struct confine_paths deny;  /* below an allowed one: not */
	pthread_t thread;
	pthread_mutex_t lock;
	unsigned workers; /* protected by lock */
};

/* One notification being answered. */
struct usock_job {
	struct usock *u;
	uint64_t id;
	pid_t pid; /* in blastctl's PID namespace */
	int nr;
	uint64_t args[6];
	int pidfd;
	int sock; /* CMD's args[0], taken */
	/* opened by the supervisor with blastctl's rights (CMD may have
	 * made itself undumpable): its memory, its root, its cwd */
	int mem, root, cwd;
};

/* Is the notification still pending (so pid is still CMD's task)? */
bool usock_job_valid(const struct usock_job *j);
/* Perform the call; its result as the syscall returns it (>= 0 or
 * -errno). Switches the calling thread to CMD's credentials. */
int64_t usock_job_perform(struct usock_job *j);

#endif
