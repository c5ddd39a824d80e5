/* SPDX-License-Identifier: MIT */
/*
 * usock.h - the supervisor of CMD's socket addresses (`blastctl run`).
 * CMD's seccomp filter hands connect(2), sendmsg(2), sendmmsg(2) and
 * sendto(2) with an address to a thread of blastctl, which performs
 * each on a copy of CMD's socket (pidfd_getfd) with the address it read
 * once: no thread of CMD can change it between the check and the call.
 * A unix socket named by a path is reached only inside what CMD may
 * write (the project, the env's mount, host.writable but not the
 * host.readonly paths below them, its private /tmp and /dev/shm) or
 * host.sockets; any other gets ECONNREFUSED, as a hidden one does. The
 * call is made with CMD's uid, gids and (no) capabilities, so file
 * permissions are CMD's. Other addresses (IP, abstract) go through as
 * given: the supervisor shares CMD's Landlock scope (confine_scope_parent).
 */
#ifndef BLAST_CTL_USOCK_H
#define BLAST_CTL_USOCK_H

#include <sys/types.h>

struct confine;
struct usock;

/*
 * Start the supervisor thread: it receives the filter's listener over
 * chan (one SCM_RIGHTS message, usock_child_relay; a chan closed
 * without one ends it) and answers it until no process uses the filter
 * any more. Takes chan; cf's paths are copied. 0 or -errno (nothing
 * started, chan closed). Main thread, after confine_scope_parent.
 */
int usock_start(int chan, const struct confine *cf, struct usock **out);
/* Once CMD and its processes are gone: join the thread, free. A worker
 * still blocked in a call (a connect to a server that never accepts)
 * keeps what it uses: blastctl is about to exit. */
void usock_stop(struct usock *u);

/* In CMD after the filter is loaded: tell its parent (over hp, a
 * socketpair) the listener's number and wait until the parent has
 * taken it. 0 or -errno. */
int usock_child_send(int hp, int listener);
/* In CMD's parent (the PID namespace's init): take the listener from
 * pid (CMD) as usock_child_send says, pass it to blastctl over chan,
 * release CMD. 0 or -errno (CMD then fails: it reads EOF). */
int usock_child_relay(int hp, pid_t pid, int chan);

#endif
