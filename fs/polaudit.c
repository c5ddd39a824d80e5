/* SPDX-License-Identifier: MIT */
/*
 * polaudit.c - the policy's denials on their way to the store's audit
 * log, and the work a denial leaves that no request thread may do. The
 * records wait in a ring (the oldest is dropped, and counted, when a
 * burst fills it: the newest denial is always kept) written by the sync
 * thread. A worker thread drops the cached pages of files whose
 * writeback WRITE was refused (a handler cannot: the kernel holds those
 * pages) and finds the pid of a refused writeback, which the kernel does
 * not send, among the processes mapping the file (/proc/PID/maps).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_internal.h"
#include "policy.h"

#define RING_MAX 512 /* records kept between flushes */
#define JOBS_MAX 256 /* refused writebacks waiting for the worker */

struct job {
	uint64_t nodeid; /* its pages go */
	uint64_t fid;	 /* whose mapper is the pid, when rec.pid is 0 */
	struct policy_audit rec;
};

struct fs_audit {
	pthread_mutex_t mu;
	struct policy_audit *ring; /* protected by mu, RING_MAX once used */
	size_t head, n;		   /* oldest at head */
	struct policy_audit_drops drops; /* since the last flush */
	struct job *jobs;		 /* protected by mu */
	size_t njobs;
	pthread_cond_t cv; /* with mu: jobs, or stopping */
	bool started, stopping;
	pthread_t worker;
	unsigned dev_major, dev_minor; /* the mount's, for maps; worker */
	bool dev_known;
};

int fs_audit_init(struct fs *fs)
{
	struct fs_audit *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	fs->audit = a;
	return 0;
}

/* Under mu: the oldest goes when the ring is full. */
static void ring_push(struct fs_audit *a, const struct policy_audit *r)
{
	if (!a->ring && !(a->ring = calloc(RING_MAX, sizeof(*a->ring)))) {
		policy_audit_dropped(&a->drops, r->time_ns);
		return;
	}
	if (a->n == RING_MAX) {
		policy_audit_dropped(&a->drops, a->ring[a->head].time_ns);
		a->head = (a->head + 1) % RING_MAX;
		a->n--;
	}
	a->ring[(a->head + a->n) % RING_MAX] = *r;
	a->n++;
}

void fs_audit_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

void fs_audit_add(struct fs *fs, pid_t pid, const char *op, const char *rule,
		  const char *path)
{
	struct fs_audit *a = fs->audit;
	struct policy_audit r = {0};

	r.time_ns = fs_now_ns();
	r.pid = (int32_t)pid;
	if (pid)
		fs_audit_comm(pid, r.comm, sizeof(r.comm));
	snprintf(r.op, sizeof(r.op), "%s", op);
	snprintf(r.rule, sizeof(r.rule), "%s", rule);
	snprintf(r.path, sizeof(r.path), "%s", path);
	pthread_mutex_lock(&a->mu);
	ring_push(a, &r);
	pthread_mutex_unlock(&a->mu);
}

void fs_audit_writeback(struct fs *fs, struct node *n, pid_t pid,
			const char *rule, const char *path)
{
	struct fs_audit *a = fs->audit;
	struct job *j;

	pthread_mutex_lock(&a->mu);
	if (!a->jobs && !(a->jobs = calloc(JOBS_MAX, sizeof(*a->jobs)))) {
		pthread_mutex_unlock(&a->mu);
		return;
	}
	if (a->njobs == JOBS_MAX || !a->started) {
		/* no worker (yet, or left): the record without a pid */
		pthread_mutex_unlock(&a->mu);
		fs_audit_add(fs, pid, "write", rule, path);
		return;
	}
	j = &a->jobs[a->njobs++];
	memset(j, 0, sizeof(*j));
	j->nodeid = n->nodeid;
	j->fid = n->fid;
	j->rec.time_ns = fs_now_ns();
	j->rec.pid = (int32_t)pid;
	snprintf(j->rec.op, sizeof(j->rec.op), "write");
	snprintf(j->rec.rule, sizeof(j->rec.rule), "%s", rule);
	snprintf(j->rec.path, sizeof(j->rec.path), "%s", path);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* ---- the worker ------------------------------------------------------ */

/* "maj:min" of the mount, from /proc/self/mountinfo. */
static void mount_dev(struct fs *fs, struct fs_audit *a)
{
	char line[4096], mp[4096];
	unsigned maj, min;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return;
	while (!a->dev_known && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mp) ==
			3 &&
		    !strcmp(mp, fs->opt->mount)) {
			a->dev_major = maj;
			a->dev_minor = min;
			a->dev_known = true;
		}
	}
	fclose(f);
}

/* Does pid map inode ino of the mount shared and writable? */
static bool maps_file(struct fs_audit *a, pid_t pid, uint64_t ino)
{
	char path[64], line[4096], perms[8];
	unsigned maj, min;
	uint64_t i;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*x-%*x %7s %*x %x:%x %" SCNu64, perms, &maj,
			   &min, &i) == 4)
			found = i == ino && maj == a->dev_major &&
				min == a->dev_minor && perms[1] == 'w' &&
				perms[3] == 's';
	}
	fclose(f);
	return found;
}

/* A process mapping file fid for writing: the writer of its writeback
 * (0: none found, e.g. it unmapped meanwhile). */
static pid_t mapper_pid(struct fs *fs, struct fs_audit *a, uint64_t fid)
{
	DIR *d;
	struct dirent *de;
	pid_t pid = 0, self = getpid();

	if (!a->dev_known)
		mount_dev(fs, a);
	if (!a->dev_known || !(d = opendir("/proc")))
		return 0;
	while (!pid && (de = readdir(d))) {
		pid_t p = (pid_t)atoi(de->d_name);

		if (isdigit((unsigned char)de->d_name[0]) && p != self &&
		    maps_file(a, p, fid))
			pid = p;
	}
	closedir(d);
	return pid;
}

static void *worker_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_audit *a = fs->audit;
	struct job j;

	pthread_mutex_lock(&a->mu);
	while (!a->stopping) {
		if (!a->njobs) {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		j = a->jobs[0];
		memmove(a->jobs, a->jobs + 1, --a->njobs * sizeof(*a->jobs));
		pthread_mutex_unlock(&a->mu);
		if (!j.rec.pid)
			j.rec.pid = (int32_t)mapper_pid(fs, a, j.fid);
		if (j.rec.pid)
			fs_audit_comm(j.rec.pid, j.rec.comm,
				      sizeof(j.rec.comm));
		/* the refused bytes leave the page cache: readers get the
		 * stored ones. A dirty page is laundered first (one more
		 * refused WRITE, one more job, which finds it clean). */
		fuse_lowlevel_notify_inval_inode(fs->se, j.nodeid, 0, 0);
		pthread_mutex_lock(&a->mu);
		ring_push(a, &j.rec);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int fs_audit_start(struct fs *fs)
{
	struct fs_audit *a = fs->audit;
	int err = pthread_create(&a->worker, NULL, worker_main, fs);

	if (err)
		return -err;
	pthread_mutex_lock(&a->mu);
	a->started = true;
	pthread_mutex_unlock(&a->mu);
	return 0;
}

void fs_audit_stop(struct fs *fs)
{
	struct fs_audit *a = fs->audit;
	bool started;

	pthread_mutex_lock(&a->mu);
	started = a->started;
	a->stopping = true;
	a->started = false;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (started)
		pthread_join(a->worker, NULL);
	/* what the worker left: recorded as it is */
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->njobs; i++)
		ring_push(a, &a->jobs[i].rec);
	a->njobs = 0;
	pthread_mutex_unlock(&a->mu);
}

/* ---- to the store ---------------------------------------------------- */

int fs_audit_flush(struct fs *fs)
{
	struct fs_audit *a = fs->audit;
	struct policy_audit_drops drops;
	struct policy_audit *v;
	struct store_txn *t;
	struct store_env e;
	size_t n;
	int err;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->mu);
	n = a->n;
	drops = a->drops;
	v = n ? malloc(n * sizeof(*v)) : NULL;
	if (n && !v) {
		pthread_mutex_unlock(&a->mu);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = a->ring[(a->head + i) % RING_MAX];
	a->head = a->n = 0;
	memset(&a->drops, 0, sizeof(a->drops));
	pthread_mutex_unlock(&a->mu);
	if (!n && !drops.count)
		return 0;
	pthread_mutex_lock(&fs->wlock);
	err = fs_wtxn(fs, &t, &e);
	if (!err) {
		err = policy_audit_append(t, &e, v, n, &drops);
		if (err)
			store_txn_abort(t);
		else
			err = store_txn_commit(t);
	}
	pthread_mutex_unlock(&fs->wlock);
	free(v);
	return err;
}

void fs_audit_release(struct fs *fs)
{
	struct fs_audit *a = fs->audit;

	if (!a)
		return;
	if (fs_audit_flush(fs))
		fprintf(stderr, "blastfs: cannot write the audit log\n");
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a->ring);
	free(a->jobs);
	free(a);
	fs->audit = NULL;
}
