/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h - confinement for `blastctl run` (and a shell placed in an
 * env): resource limits through cgroup v2, else the cgroup v1
 * controllers the machine mounts (memory, cpu, pids, blkio), else
 * setrlimit where that can express the limit; network, PID, IPC and
 * mount namespaces. A limit no mechanism can apply is an error, never
 * a silent no-op.
 *
 * The sandbox_* functions never print: they return 0 or -errno with a
 * one-line reason in the caller's buffer. Main thread only; the
 * *_child functions run in the forked child before exec.
 */
#ifndef BLAST_CTL_SANDBOX_H
#define BLAST_CTL_SANDBOX_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SANDBOX_MSG_LEN (PATH_MAX + 512)

enum sandbox_ns {
	SANDBOX_NS_PID = 1u << 0,
	SANDBOX_NS_IPC = 1u << 1,
	SANDBOX_NS_MOUNT = 1u << 2,
};

struct sandbox_limits {
	uint64_t memory;	    /* bytes, 0: none */
	double cpu;		    /* CPUs, 0: none */
	uint64_t pids;		    /* 0: none */
	uint64_t io_read, io_write; /* bytes/s, 0: none */
	uint64_t memory_soft;	    /* bytes, 0: none (reclaimed first) */
	unsigned cpu_weight;	    /* 1..10000 (100: default), 0: none */
	unsigned io_weight;	    /* 1..10000 (100: default), 0: none */
	int net;		    /* enum policy_net, -1 or HOST: unchanged */
	unsigned unshare;	    /* enum sandbox_ns bits */
};

enum sandbox_mech {
	SANDBOX_NONE,	 /* no resource limits asked */
	SANDBOX_CGROUP2, /* one cgroup v2 directory */
	SANDBOX_CGROUP1, /* one directory per v1 controller */
	SANDBOX_RLIMIT,	 /* setrlimit in the child */
};

#define SANDBOX_MAX_DIRS 4

struct sandbox {
	enum sandbox_mech mech;
	struct sandbox_limits lim;
	size_t ndirs;
	char dirs[SANDBOX_MAX_DIRS][PATH_MAX]; /* cgroups created */
};

/* Name of a mechanism: "cgroup v2", "cgroup v1", "setrlimit", "none". */
const char *sandbox_mech_name(enum sandbox_mech m);

enum sandbox_flags {
	SANDBOX_REUSE = 1u << 0, /* an existing cgroup of that name is
				    taken over (an env's shells share one) */
};

/*
 * Create a cgroup named `leaf` below this process's own cgroup, with
 * lim's resource limits written, by the first mechanism that can apply
 * every asked limit. Falls back to setrlimit (applied later in the
 * child, or to another process by prlimit) when no cgroup is writable; a
 * limit nothing can apply is -ENOTSUP with the reason in msg. On failure
 * nothing it made is left behind.
 */
int sandbox_create(struct sandbox *sb, const char *leaf,
		   const struct sandbox_limits *lim, unsigned flags, char *msg,
		   size_t len);

/* Move pid (0: the caller) into the sandbox's cgroups; with setrlimit,
 * another pid gets its rlimits by prlimit. */
int sandbox_enter(const struct sandbox *sb, pid_t pid, char *msg, size_t len);

/* pid's cgroups (/proc/PID/cgroup) into buf, to give to sandbox_leave. */
int sandbox_cgroups_of(pid_t pid, char *buf, size_t len);
/* Move pid back to the cgroups `saved` names (only those that differ
 * from where it is now). */
int sandbox_leave(pid_t pid, const char *saved, char *msg, size_t len);
/* Remove the sandbox's cgroups if no process is left in them (others
 * may still use a shared one: then they stay). */
void sandbox_release(struct sandbox *sb);

/* A cgroup setting as its file holds it ("50000 100000"), for display
 * and tests: the cpu limit's file and value into buf. */
int sandbox_describe(const struct sandbox *sb, char *buf, size_t len);

/* What the sandbox's cgroup limits did so far: *oom is true once the
 * OOM killer killed in it (the memory limit), *forks_refused counts the
 * forks the pids limit refused. Both 0 without cgroups. */
void sandbox_events(const struct sandbox *sb, bool *oom,
		    uint64_t *forks_refused);

/* Kill what is left in the cgroups and remove them. 0 once gone. */
int sandbox_destroy(struct sandbox *sb);
/* The same for the cgroups named "PREFIX...-PID" where sandbox_create
 * makes them whose PID is no live process named comm: what a blastctl
 * killed before it could clean up left. */
void sandbox_sweep(const char *prefix, const char *comm);

/* In the child: rlimits (SANDBOX_RLIMIT), then the namespaces asked
 * (network, IPC, mount; PID is done by the caller's double fork). */
int sandbox_child_limits(const struct sandbox *sb, char *msg, size_t len);
int sandbox_child_namespaces(const struct sandbox_limits *lim, char *msg,
			     size_t len);

#endif
