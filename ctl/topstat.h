/* SPDX-License-Identifier: MIT */
/*
 * topstat.h - what a running sandbox uses, for `blastctl top`: its
 * cgroups' counters (v2 files, else the v1 controllers' own), CPU time
 * of its processes (/proc), and its network connections from the
 * socket tables of its network namespace (sock_diag, with tcp_info's
 * byte counts). With net.mode host the namespace is the host's: only
 * the sockets its processes hold are listed.
 *
 * Main thread only (it steps into the sandbox's namespace and back).
 */
#ifndef BLAST_CTL_TOPSTAT_H
#define BLAST_CTL_TOPSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TOPSTAT_NONE UINT64_MAX /* a counter nothing provides */

struct topstat_conn {
	char proto[4]; /* "tcp", "udp" */
	char local[46], remote[46];
	unsigned lport, rport;
	char state[12];	     /* "ESTABLISHED", "LISTEN", ... */
	uint64_t sent, recv; /* bytes (TCP), else TOPSTAT_NONE */
};

struct topstat {
	uint64_t mem_current, mem_peak, mem_limit; /* bytes */
	uint64_t cpu_ns;			   /* user + system */
	uint64_t throttled, throttled_ns;	   /* periods, time */
	uint64_t pids, pids_limit;
	uint64_t io_read, io_write; /* bytes */
	size_t nconn;
	struct topstat_conn *conn; /* malloc'd */
	char net_err[128];	   /* why connections are missing, or "" */
};

/*
 * Sample the sandbox whose blastctl is `pid`, command `child`, cgroup
 * directories dirs[0..ndirs), network namespace shared with the host
 * when host_net. Counters without a source are TOPSTAT_NONE. Free with
 * topstat_release. -ENOMEM.
 */
int topstat_sample(pid_t pid, pid_t child, const char *const *dirs,
		   size_t ndirs, bool host_net, struct topstat *out);
void topstat_release(struct topstat *s);

#endif
