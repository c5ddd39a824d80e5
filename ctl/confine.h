/* SPDX-License-Identifier: MIT */
/*
 * confine.h - what `blastctl run` keeps CMD from: the host's filesystem
 * (default deny: read-only but for the project, the env's mount, a
 * private /tmp and the policy's host.writable paths; host.hidden paths,
 * $BLAST_HOME and the unix sockets under /run invisible; other host
 * path sockets refused by usock.h's supervisor but host.sockets) and
 * every way back out (no capabilities, no_new_privs, a seccomp filter,
 * its own cgroup namespace). Root confines directly; another user through an
 * unprivileged user namespace. Under sudo CMD runs as SUDO_UID/SUDO_GID.
 *
 * confine_init runs in the parent (it may allocate and print nothing);
 * the confine_child_* functions run in the forked child, in order:
 * user (before any other namespace), fs (after the network/IPC ones),
 * lockdown (last, just before exec). Each returns 0 or -errno with a
 * one-line reason in msg. Main thread only.
 */
#ifndef BLAST_CTL_CONFINE_H
#define BLAST_CTL_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct policy;

struct confine_paths {
	size_t n;
	char **v; /* absolute, symlinks resolved; malloc'd */
};

struct confine {
	bool userns;	 /* not root: a user namespace gives the rights */
	bool drop_ids;	 /* root under sudo: CMD runs as uid, gid */
	uid_t uid;	 /* who CMD runs as */
	gid_t gid;	 /* ditto */
	uid_t outer_uid; /* the caller's, for the user namespace's map */
	gid_t outer_gid;
	char cwd[4096];		       /* re-entered inside */
	struct confine_paths writable; /* project, env mount, host.writable */
	struct confine_paths readonly; /* host.readonly */
	struct confine_paths hidden;   /* $BLAST_HOME, host.hidden */
	struct confine_paths sockets;  /* host.sockets */
};

/* Append a copy of path to ps (-ENOMEM); free ps's paths, leaving it
 * empty (hostfs.c). */
int confine_paths_push(struct confine_paths *ps, const char *path);
void confine_paths_free(struct confine_paths *ps);

/*
 * Decide who CMD runs as and expand the policy's host.* patterns (glob,
 * "~/" as the invoking user's home; a pattern matching nothing is
 * skipped) for env mount `mnt` (its parent is the project when it is
 * named .blast) and store `home`. -EACCES when the mount would not let
 * SUDO_UID in, -ENOSYS without user namespaces (non-root), -ENOMEM.
 * Release with confine_release (also after a failure).
 */
int confine_init(struct confine *cf, const struct policy *p, const char *mnt,
		 const char *home, char *msg, size_t len);
void confine_release(struct confine *cf);

/* In the child. Not root: a new user namespace mapping the caller's
 * uid and gid to themselves (a no-op for root). */
int confine_child_user(const struct confine *cf, char *msg, size_t len);
/* New mount and cgroup namespaces, the host view described above. */
int confine_child_fs(const struct confine *cf, char *msg, size_t len);
/* Drop the bounding set, the capabilities and (under sudo) root, set
 * no_new_privs, scope abstract unix sockets with Landlock where the
 * kernel has ABI 6 (connect(2) to one made outside CMD fails with
 * EPERM) and load the seccomp filter; *listener is then its
 * user-notification fd (O_CLOEXEC), for usock.h's supervisor. */
int confine_child_lockdown(const struct confine *cf, int *listener, char *msg,
			   size_t len);
/* In blastctl before it forks CMD: the same abstract-socket scope for
 * the calling thread (no_new_privs first when not root), so that the
 * supervisor, which performs CMD's connects, and CMD (a nested domain)
 * share it. 0 (also without ABI 6), or -errno. */
int confine_scope_parent(void);
/* The kernel's Landlock ABI version (>= 6: abstract sockets scoped), or
 * -errno (-EOPNOTSUPP: built but off, -ENOSYS: not built). */
int confine_landlock_abi(void);

/* The seccomp filter alone (seccomp.c): refuses mount and the new mount
 * API, setns, unshare and namespace flags to clone, ptrace and
 * process_vm_*, bpf, modules, keyrings, kexec, reboot, swap, handles,
 * perf, userfaultfd, clock setting, io_uring, TIOCSTI; EPERM each. With
 * listener, connect, sendmsg, sendmmsg and sendto with an address
 * wait for the supervisor reading *listener. */
int confine_seccomp_load(int *listener, char *msg, size_t len);

#endif
