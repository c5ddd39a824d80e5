/* SPDX-License-Identifier: MIT */
/*
 * seccomp.c - the filter CMD runs under: everything allowed but the
 * calls that reach past the sandbox (mounts, namespaces, other
 * processes' memory, the kernel's own state), which fail with EPERM.
 * A deny list, as Docker's and Flatpak's profiles are in effect for
 * these: CMD is any program, so the allow side stays open. Other
 * architectures' calls (i386 through int 0x80) kill the process.
 * connect(2) and the sends that can carry an address go to blastctl's
 * supervisor (usock.h) through a user-notification listener.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"

static const char *const denied[] = {
    /* the filesystem view */
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    /* namespaces: neither back into the host's nor new ones */
    "setns",
    "unshare",
    /* other processes */
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    /* the kernel */
    "bpf",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "iopl",
    "ioperm",
    "lookup_dcookie",
    "perf_event_open",
    "userfaultfd",
    "fanotify_init",
    "nfsservctl",
    "uselib",
    "vhangup",
    "_sysctl",
    "sysfs",
    /* keyrings are not namespaced */
    "keyctl",
    "add_key",
    "request_key",
    /* the clock is the host's */
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "stime",
    /* io_uring runs calls outside this filter */
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
};

/* clone with any of these flags: a new namespace */
static const unsigned long ns_flags[] = {
    CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET, CLONE_NEWTIME,
};

static int add_rules(scmp_filter_ctx ctx, const char **what)
{
	int nr, r;

	for (size_t i = 0; i < sizeof(denied) / sizeof(*denied); i++) {
		nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		*what = denied[i];
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0 && r != -EDOM)
			return r;
	}
	*what = "clone";
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(*ns_flags); i++) {
		r = seccomp_rule_add(
		    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
		if (r < 0)
			return r;
	}
	/* clone3 takes its flags in memory the filter cannot read: ENOSYS
	 * makes the C library fall back to clone */
	*what = "clone3";
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return r;
	*what = "ioctl";
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	if (r < 0)
		return r;
	return seccomp_rule_add(
	    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
}

/* The calls whose address argument the filter cannot read: the
 * supervisor performs them (sendto without one, send(2), stays here) */
static int add_notify(scmp_filter_ctx ctx, const char **what)
{
	int r;

	*what = "connect";
	r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0);
	*what = "sendto";
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendto), 1,
				     SCMP_A4(SCMP_CMP_NE, 0));
	*what = "sendmsg";
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendmsg),
				     0);
	*what = "sendmmsg";
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendmmsg),
				     0);
	return r;
}

/* Load ctx with a listener whose waits are killable only once the
 * supervisor has received them (Linux 5.19; libseccomp 2.5 cannot ask):
 * a signal then cannot make CMD restart a call the supervisor already
 * performed (a send sent twice); it is handled when the call returns.
 * The listener fd, or -errno. */
static int load_listener(scmp_filter_ctx ctx)
{
	struct sock_fprog prog;
	struct stat st;
	void *buf = NULL;
	int fd = memfd_create("blast-seccomp", MFD_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = seccomp_export_bpf(ctx, fd);
	if (!r && fstat(fd, &st) < 0)
		r = -errno;
	if (!r && !(buf = malloc(st.st_size ? st.st_size : 1)))
		r = -ENOMEM;
	if (!r && pread(fd, buf, st.st_size, 0) != st.st_size)
		r = -EIO;
	close(fd);
	if (!r) {
		prog.len = (unsigned short)(st.st_size / sizeof(*prog.filter));
		prog.filter = buf;
		r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				 SECCOMP_FILTER_FLAG_NEW_LISTENER |
				     SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
				 &prog);
		if (r < 0 && errno == EINVAL) /* before 5.19 */
			r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
					 SECCOMP_FILTER_FLAG_NEW_LISTENER,
					 &prog);
		r = r < 0 ? -errno : r;
	}
	free(buf);
	return r;
}

int confine_seccomp_load(int *listener, char *msg, size_t len)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	const char *what = "init";
	int r;

	if (!ctx) {
		snprintf(msg, len, "seccomp: cannot build the filter");
		return -ENOMEM;
	}
	r = add_rules(ctx, &what);
	if (!r && listener)
		r = add_notify(ctx, &what);
	if (!r && !listener)
		r = seccomp_load(ctx);
	if (!r && listener) {
		what = "load";
		r = load_listener(ctx);
		if (r >= 0)
			*listener = r;
		r = r < 0 ? r : 0;
	}
	seccomp_release(ctx);
	if (r < 0)
		snprintf(msg, len, "seccomp: %s: %s", what, strerror(-r));
	return r;
}
