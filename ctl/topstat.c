/* SPDX-License-Identifier: MIT */
/*
 * topstat.c - one sample of a running sandbox (topstat.h). Cgroup files
 * are read by name, so one reader serves v2 ("memory.current") and v1
 * ("memory.usage_in_bytes") directories alike. Connections come from
 * NETLINK_SOCK_DIAG dumps (TCP with INET_DIAG_INFO, UDP) taken inside
 * the sandbox's network namespace.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "topstat.h"

#define MAX_PROCS 4096

static uint64_t file_u64(const char *dir, const char *file)
{
	char path[PATH_MAX + 64], buf[64];
	unsigned long long v;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return TOPSTAT_NONE;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return TOPSTAT_NONE;
	if (!strncmp(buf, "max", 3))
		return TOPSTAT_NONE;
	return sscanf(buf, "%llu", &v) == 1 ? v : TOPSTAT_NONE;
}

/* Sum of the values of key in a "KEY VALUE" file (cpu.stat), or of
 * "KEY=VALUE" words (io.stat), or of "DEV KEY VALUE" lines (blkio). */
static uint64_t file_key(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX + 64], line[512], *p;
	uint64_t sum = TOPSTAT_NONE;
	size_t kl = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return TOPSTAT_NONE;
	while (fgets(line, sizeof(line), f)) {
		for (p = line; (p = strstr(p, key)); p += kl) {
			char sep = p[kl];

			if ((p != line && p[-1] != ' ') ||
			    (sep != ' ' && sep != '='))
				continue;
			if (sum == TOPSTAT_NONE)
				sum = 0;
			sum += strtoull(p + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return sum;
}

static void take(uint64_t *to, uint64_t v)
{
	if (v != TOPSTAT_NONE)
		*to = v;
}

static void cgroup_read(const char *d, struct topstat *s)
{
	take(&s->mem_current, file_u64(d, "memory.current"));
	take(&s->mem_current, file_u64(d, "memory.usage_in_bytes"));
	take(&s->mem_peak, file_u64(d, "memory.peak"));
	take(&s->mem_peak, file_u64(d, "memory.max_usage_in_bytes"));
	take(&s->mem_limit, file_u64(d, "memory.max"));
	take(&s->mem_limit, file_u64(d, "memory.limit_in_bytes"));
	take(&s->throttled, file_key(d, "cpu.stat", "nr_throttled"));
	take(&s->throttled_ns, file_key(d, "cpu.stat", "throttled_time"));
	if (file_key(d, "cpu.stat", "throttled_usec") != TOPSTAT_NONE)
		s->throttled_ns =
		    file_key(d, "cpu.stat", "throttled_usec") * 1000;
	take(&s->pids, file_u64(d, "pids.current"));
	take(&s->pids_limit, file_u64(d, "pids.max"));
	take(&s->io_read, file_key(d, "io.stat", "rbytes"));
	take(&s->io_write, file_key(d, "io.stat", "wbytes"));
	take(&s->io_read,
	     file_key(d, "blkio.throttle.io_service_bytes", "Read"));
	take(&s->io_write,
	     file_key(d, "blkio.throttle.io_service_bytes", "Write"));
}

/* ---- processes -------------------------------------------------- */

struct proc {
	pid_t pid, ppid;
	uint64_t ticks;
};

static int proc_read(pid_t pid, struct proc *p)
{
	char path[64], buf[1024], *rp;
	unsigned long long ut, st;
	int ppid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	/* after COMM: state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	if (!rp ||
	    sscanf(rp + 2,
		   "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ppid, &ut, &st) != 3)
		return -1;
	p->pid = pid;
	p->ppid = ppid;
	p->ticks = ut + st;
	return 0;
}

/* The processes below pid (its descendants), into out[]; how many. */
static size_t descendants(pid_t pid, struct proc *out, size_t max)
{
	struct proc *all = calloc(MAX_PROCS, sizeof(*all));
	size_t n = 0, k = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!all || !d) {
		free(all);
		if (d)
			closedir(d);
		return 0;
	}
	while ((de = readdir(d)) && n < MAX_PROCS) {
		pid_t p = (pid_t)atoi(de->d_name);

		if (p > 0 && proc_read(p, &all[n]) == 0)
			n++;
	}
	closedir(d);
	/* breadth first from pid: out[] grows as children are found */
	for (size_t i = 0; i < n; i++)
		if (all[i].ppid == pid && k < max)
			out[k++] = all[i];
	for (size_t j = 0; j < k; j++)
		for (size_t i = 0; i < n; i++)
			if (all[i].ppid == out[j].pid && k < max)
				out[k++] = all[i];
	free(all);
	return k;
}

/* ---- sockets ----------------------------------------------------- */

static const char *tcp_state(unsigned st)
{
	static const char *const names[] = {
	    "?",	  "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
	    "FIN_WAIT1",  "FIN_WAIT2",	 "TIME_WAIT", "CLOSE",
	    "CLOSE_WAIT", "LAST_ACK",	 "LISTEN",    "CLOSING"};

	return st < sizeof(names) / sizeof(*names) ? names[st] : "?";
}

/* Inodes of the sockets the processes hold (/proc/PID/fd). */
static size_t sock_inodes(const struct proc *p, size_t np, unsigned long *ino,
			  size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < np; i++) {
		char dir[64], path[400], link[64];
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)p[i].pid);
		d = opendir(dir);
		while (d && (de = readdir(d)) && n < max) {
			ssize_t l;

			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			l = readlink(path, link, sizeof(link) - 1);
			if (l <= 0)
				continue;
			link[l] = '\0';
			if (sscanf(link, "socket:[%lu]", &ino[n]) == 1)
				n++;
		}
		if (d)
			closedir(d);
	}
	return n;
}

struct dump {
	struct topstat *s;
	const unsigned long *ino; /* NULL: every socket */
	size_t nino;
};

static bool wanted(const struct dump *d, unsigned long ino)
{
	if (!d->ino)
		return true;
	for (size_t i = 0; i < d->nino; i++)
		if (d->ino[i] == ino)
			return true;
	return false;
}

static int conn_add(struct dump *d, int proto, struct inet_diag_msg *m,
		    size_t len)
{
	struct topstat_conn *c, *v;
	struct rtattr *a;
	size_t alen = len - NLMSG_ALIGN(sizeof(*m));

	if (!wanted(d, m->idiag_inode))
		return 0;
	v = realloc(d->s->conn, (d->s->nconn + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	d->s->conn = v;
	c = &v[d->s->nconn++];
	memset(c, 0, sizeof(*c));
	snprintf(c->proto, sizeof(c->proto), "%s",
		 proto == IPPROTO_TCP ? "tcp" : "udp");
	inet_ntop(m->idiag_family, m->id.idiag_src, c->local, sizeof(c->local));
	inet_ntop(m->idiag_family, m->id.idiag_dst, c->remote,
		  sizeof(c->remote));
	c->lport = ntohs(m->id.idiag_sport);
	c->rport = ntohs(m->id.idiag_dport);
	snprintf(c->state, sizeof(c->state), "%s",
		 proto == IPPROTO_TCP  ? tcp_state(m->idiag_state)
		 : m->idiag_state == 1 ? "ESTABLISHED"
				       : "UNCONN");
	c->sent = c->recv = TOPSTAT_NONE;
	for (a = (struct rtattr *)((char *)m + NLMSG_ALIGN(sizeof(*m)));
	     RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		struct tcp_info ti = {0};
		size_t n = RTA_PAYLOAD(a);

		if (a->rta_type != INET_DIAG_INFO)
			continue;
		memcpy(&ti, RTA_DATA(a), n < sizeof(ti) ? n : sizeof(ti));
		c->sent = ti.tcpi_bytes_acked;
		c->recv = ti.tcpi_bytes_received;
	}
	return 0;
}

static int diag_dump(struct dump *d, int family, int proto)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
	    .nh = {.nlmsg_len = sizeof(req),
		   .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
	    .r = {.sdiag_family = (__u8)family,
		  .sdiag_protocol = (__u8)proto,
		  .idiag_ext = 1 << (INET_DIAG_INFO - 1),
		  .idiag_states = ~0u},
	};
	static char buf[32768];
	int fd =
	    socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0)
		err = -errno;
	while (!err) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0) {
			err = -errno;
			break;
		}
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto out_close;
			if (h->nlmsg_type == NLMSG_ERROR) {
				err = -EIO;
				goto out_close;
			}
			err = conn_add(d, proto, NLMSG_DATA(h),
				       h->nlmsg_len - NLMSG_HDRLEN);
			if (err)
				goto out_close;
		}
	}
out_close:
	close(fd);
	return err;
}

static void connections(pid_t child, bool host_net, const struct proc *p,
			size_t np, struct topstat *s)
{
	char path[64];
	unsigned long *ino = NULL;
	struct dump d = {.s = s};
	int self = -1, ns = -1, err = 0;

	if (host_net) {
		ino = calloc(4096, sizeof(*ino));
		if (!ino)
			return;
		d.ino = ino;
		d.nino = sock_inodes(p, np, ino, 4096);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)child);
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		ns = open(path, O_RDONLY | O_CLOEXEC);
		if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET) < 0)
			err = -errno;
	}
	for (int i = 0; !err && i < 4; i++)
		err = diag_dump(&d, i & 1 ? AF_INET6 : AF_INET,
				i & 2 ? IPPROTO_UDP : IPPROTO_TCP);
	if (err)
		snprintf(s->net_err, sizeof(s->net_err), "%s", strerror(-err));
	if (ns >= 0 && self >= 0 && setns(self, CLONE_NEWNET) < 0)
		abort(); /* we would go on in the wrong namespace */
	if (ns >= 0)
		close(ns);
	if (self >= 0)
		close(self);
	free(ino);
}

int topstat_sample(pid_t pid, pid_t child, const char *const *dirs,
		   size_t ndirs, bool host_net, struct topstat *out)
{
	struct proc *p = calloc(MAX_PROCS, sizeof(*p));
	long hz = sysconf(_SC_CLK_TCK);
	size_t np;

	memset(out, 0xff, offsetof(struct topstat, nconn));
	out->nconn = 0;
	out->conn = NULL;
	out->net_err[0] = '\0';
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < ndirs; i++)
		cgroup_read(dirs[i], out);
	np = descendants(pid, p, MAX_PROCS);
	out->cpu_ns = 0;
	for (size_t i = 0; i < np; i++)
		out->cpu_ns += p[i].ticks * (1000000000ull / (uint64_t)hz);
	if (out->pids == TOPSTAT_NONE)
		out->pids = np;
	connections(child, host_net, p, np, out);
	free(p);
	return 0;
}

void topstat_release(struct topstat *s)
{
	free(s->conn);
	s->conn = NULL;
	s->nconn = 0;
}
