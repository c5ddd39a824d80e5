/* SPDX-License-Identifier: MIT */
/*
 * netsbx.c - net.mode filtered (netsbx.h): the namespace, the veth pair
 * and its addresses through libnl-route, then the rules (nft.c), the
 * shaping (shape.c) and the DNS forwarder (dnsfwd.c). The namespace is
 * made by unshare in this thread and kept as an fd; this thread steps
 * into it (setns) to configure the env's side and back out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include "dnsfwd.h"
#include "netsbx.h"
#include "policy.h"

#define NET_BASE  0x0ad50000u /* 10.213.0.0/16: 16384 blocks of /30 */
#define NET_LOCK  "/run/blast-net.lock"
#define ENV_IF	  "eth0"
#define RESOLV_AT "/etc/resolv.conf"

void netsbx_conf_from_policy(const struct policy *p, struct netsbx_conf *c)
{
	unsigned long long up = 0, down = 0;

	memset(c, 0, sizeof(*c));
	c->allow_ip = p->text[POLICY_NET_ALLOW_IP];
	c->allow_port = p->text[POLICY_NET_ALLOW_PORT];
	c->allow_domain = p->text[POLICY_NET_ALLOW_DOMAIN];
	c->inbound = p->text[POLICY_NET_INBOUND];
	c->dns = p->text[POLICY_NET_DNS];
	if (p->text[POLICY_NET_BANDWIDTH] &&
	    sscanf(p->text[POLICY_NET_BANDWIDTH], "up %llu down %llu", &up,
		   &down) == 2) {
		c->bw_up = up;
		c->bw_down = down;
	}
}

bool netsbx_conf_denies(const struct netsbx_conf *c)
{
	return c->allow_ip || c->allow_port || c->allow_domain;
}

static int sysctl_set(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* A /30 no address of this namespace lies in, from pid's slot on. */
static int subnet_pick(struct netsbx *n, pid_t pid)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (unsigned k = 0; k < 16384; k++) {
		uint32_t base = NET_BASE + (((unsigned)pid + k) % 16384) * 4;
		bool used = false;

		for (i = ifa; i && !used; i = i->ifa_next)
			if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
				used =
				    (ntohl(((struct sockaddr_in *)i->ifa_addr)
					       ->sin_addr.s_addr) &
				     ~3u) == base;
		if (!used) {
			n->host_ip.s_addr = htonl(base + 1);
			n->env_ip.s_addr = htonl(base + 2);
			freeifaddrs(ifa);
			return 0;
		}
	}
	freeifaddrs(ifa);
	return -EADDRINUSE;
}

static struct nl_sock *nl_open(void)
{
	struct nl_sock *s = nl_socket_alloc();

	if (s && nl_connect(s, NETLINK_ROUTE) < 0) {
		nl_socket_free(s);
		s = NULL;
	}
	return s;
}

static int addr_add(struct nl_sock *s, int ifindex, struct in_addr a)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *la = nl_addr_build(AF_INET, &a, 4);
	int r = -ENOMEM;

	if (ra && la) {
		nl_addr_set_prefixlen(la, 30);
		rtnl_addr_set_ifindex(ra, ifindex);
		r = rtnl_addr_set_local(ra, la);
		if (!r)
			r = rtnl_addr_add(s, ra, 0);
	}
	nl_addr_put(la);
	rtnl_addr_put(ra);
	return r < 0 ? -EINVAL : 0;
}

static int link_up(struct nl_sock *s, int ifindex)
{
	struct rtnl_link *old = rtnl_link_alloc(), *chg = rtnl_link_alloc();
	int r = -ENOMEM;

	if (old && chg) {
		rtnl_link_set_ifindex(old, ifindex);
		rtnl_link_set_flags(chg, IFF_UP);
		r = rtnl_link_change(s, old, chg, 0) < 0 ? -EINVAL : 0;
	}
	rtnl_link_put(old);
	rtnl_link_put(chg);
	return r;
}

static int default_route(struct nl_sock *s, int ifindex, struct in_addr gw)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = NULL, *g = nl_addr_build(AF_INET, &gw, 4);
	int r = -ENOMEM;

	if (rt && nh && g && nl_addr_parse("0.0.0.0/0", AF_INET, &dst) == 0) {
		rtnl_route_set_family(rt, AF_INET);
		rtnl_route_set_dst(rt, dst);
		rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_nh_set_gateway(nh, g);
		rtnl_route_add_nexthop(rt, nh);
		nh = NULL;
		r = rtnl_route_add(s, rt, NLM_F_CREATE) < 0 ? -EINVAL : 0;
	}
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	nl_addr_put(g);
	rtnl_route_put(rt);
	return r;
}

/* The veth pair, its peer born in the env's namespace. */
static int veth_add(struct nl_sock *s, struct netsbx *n)
{
	struct rtnl_link *l = rtnl_link_veth_alloc(), *peer;
	int r;

	if (!l)
		return -ENOMEM;
	peer = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(l, n->host_if);
	rtnl_link_set_name(peer, ENV_IF);
	rtnl_link_set_ns_fd(peer, n->ns_fd);
	r = rtnl_link_add(s, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(peer);
	rtnl_link_veth_release(l);
	return r < 0 ? (r == -NLE_EXIST ? -EEXIST : -EINVAL) : 0;
}

/* Inside the env's namespace (this thread in it): lo and eth0 up, the
 * address, the default route, the upload limit. */
static int env_side(const struct netsbx *n, const struct netsbx_conf *c,
		    const char **what)
{
	struct nl_sock *s = nl_open();
	int eth, r;

	*what = "netlink";
	if (!s)
		return -ENOMEM;
	eth = (int)if_nametoindex(ENV_IF);
	r = eth ? 0 : -ENODEV;
	*what = "lo";
	if (!r)
		r = link_up(s, (int)if_nametoindex("lo"));
	*what = "the env's address";
	if (!r)
		r = addr_add(s, eth, n->env_ip);
	if (!r)
		r = link_up(s, eth);
	*what = "the env's route";
	if (!r)
		r = default_route(s, eth, n->host_ip);
	*what = "net.bandwidth up";
	if (!r && c->bw_up)
		r = netsbx_shape(s, eth, c->bw_up);
	nl_socket_free(s);
	return r;
}

/* The host's side, in the host's namespace. */
static int host_side(struct nl_sock *s, const struct netsbx *n,
		     const struct netsbx_conf *c, const char **what)
{
	char path[128];
	int ifi = (int)if_nametoindex(n->host_if), r;

	*what = "the host's address";
	if (!ifi)
		return -ENODEV;
	r = addr_add(s, ifi, n->host_ip);
	if (!r)
		r = link_up(s, ifi);
	*what = "net.bandwidth down";
	if (!r && c->bw_down)
		r = netsbx_shape(s, ifi, c->bw_down);
	/* published ports reached at the host's 127.0.0.1 */
	snprintf(path, sizeof(path),
		 "/proc/sys/net/ipv4/conf/%s/route_localnet", n->host_if);
	*what = "route_localnet";
	if (!r && c->inbound)
		r = sysctl_set(path, "1");
	return r;
}

/* The namespace (ns_fd), the pair, both sides. Called under the lock. */
static int plumb(struct netsbx *n, const struct netsbx_conf *c, char *msg,
		 size_t len)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	const char *what = "a network namespace";
	struct nl_sock *s = NULL;
	int r = 0;

	if (self < 0 || unshare(CLONE_NEWNET) < 0)
		r = -errno;
	if (!r) {
		n->ns_fd =
		    open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (n->ns_fd < 0)
			r = -errno;
		if (setns(self, CLONE_NEWNET) < 0)
			abort(); /* we would go on in the wrong namespace */
	}
	what = "the veth pair";
	if (!r)
		r = (s = nl_open()) ? veth_add(s, n) : -ENOMEM;
	if (!r)
		r = host_side(s, n, c, &what);
	if (!r) {
		if (setns(n->ns_fd, CLONE_NEWNET) < 0) {
			r = -errno;
		} else {
			r = env_side(n, c, &what);
			if (setns(self, CLONE_NEWNET) < 0)
				abort();
		}
	}
	if (s)
		nl_socket_free(s);
	if (self >= 0)
		close(self);
	if (r)
		snprintf(msg, len, "cannot set up %s: %s", what,
			 strerror(r == -EINVAL ? EIO : -r));
	return r;
}

static void veth_del(const char *name)
{
	struct nl_sock *s = nl_open();
	struct rtnl_link *l = rtnl_link_alloc();

	if (s && l) {
		rtnl_link_set_name(l, name);
		rtnl_link_delete(s, l);
	}
	rtnl_link_put(l);
	if (s)
		nl_socket_free(s);
}

static void on_addr(void *arg, int family, const void *addr, uint32_t ttl)
{
	netsbx_nft_allow(arg, family, addr, ttl);
}

/* The host's name servers (/etc/resolv.conf), newline-separated. */
static void host_dns(char *buf, size_t len)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[256], a[64];

	*buf = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "nameserver %63s", a) == 1 &&
		    strlen(buf) + strlen(a) + 2 < len)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s\n",
				 a);
	if (f)
		fclose(f);
}

static int forwarder(struct netsbx *n, const struct netsbx_conf *c, char *msg,
		     size_t len)
{
	char up[1024];
	const char *allow = c->allow_domain ? c->allow_domain
			    : n->deny	    ? ""
					    : NULL;

	if (c->dns)
		snprintf(up, sizeof(up), "%s", c->dns);
	else
		host_dns(up, sizeof(up));
	return dnsfwd_open(n->host_ip, allow, up, on_addr, n, &n->dns, msg,
			   len);
}

/* Is pid a live blastctl? */
static bool blastctl_live(long pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strcmp(comm, "blastctl\n");
}

/* A process CMD left behind (no PID namespace, no cgroup) keeps the
 * namespace of a killed blastctl alive, and with it the veth, now
 * without its rules: delete the host ends whose blastctl is gone, which
 * cuts such a process off. */
static void sweep(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;

	for (i = ifs; i && i->if_index; i++) {
		char *end;
		long pid;

		if (strncmp(i->if_name, "blast", 5))
			continue;
		pid = strtol(i->if_name + 5, &end, 10);
		if (pid > 0 && !*end && !blastctl_live(pid))
			veth_del(i->if_name);
	}
	if (ifs)
		if_freenameindex(ifs);
}

int netsbx_open(const struct netsbx_conf *c, struct netsbx **out, char *msg,
		size_t len)
{
	struct netsbx *n = calloc(1, sizeof(*n));
	pid_t pid = getpid();
	int lock = -1, r;

	if (!n)
		return -ENOMEM;
	if (geteuid() != 0) {
		free(n);
		snprintf(msg, len,
			 "net.mode filtered needs root (a veth pair and "
			 "nftables rules in the host's network)");
		return -EPERM;
	}
	n->ns_fd = -1;
	n->deny = netsbx_conf_denies(c);
	snprintf(n->host_if, sizeof(n->host_if), "blast%d", (int)pid);
	snprintf(n->table, sizeof(n->table), "blast_%d", (int)pid);
	lock = open(NET_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		r = -errno;
		snprintf(msg, len, "cannot lock '%s': %s", NET_LOCK,
			 strerror(-r));
		goto out_fail;
	}
	sweep();
	r = subnet_pick(n, pid);
	if (r) {
		snprintf(msg, len, "no free address block in 10.213.0.0/16");
		goto out_fail;
	}
	r = plumb(n, c, msg, len);
	close(lock);
	lock = -1;
	if (!r)
		r = forwarder(n, c, msg, len);
	if (!r)
		r = netsbx_nft_open(n, c, msg, len);
	if (!r)
		r = dnsfwd_start(n->dns, msg, len);
	/* the env's traffic routed out through the host (NAT) */
	if (!r && sysctl_set("/proc/sys/net/ipv4/ip_forward", "1") < 0)
		snprintf(msg, len, "cannot enable IPv4 forwarding");
	if (!r) {
		*out = n;
		return 0;
	}
out_fail:
	if (lock >= 0)
		close(lock);
	netsbx_close(n);
	return r;
}

int netsbx_child_enter(const struct netsbx *n, char *msg, size_t len)
{
	char path[64], ns[INET_ADDRSTRLEN], text[96];
	int fd, err = 0;

	if (setns(n->ns_fd, CLONE_NEWNET) < 0) {
		snprintf(msg, len, "cannot join the env's network: %s",
			 strerror(errno));
		return -errno;
	}
	inet_ntop(AF_INET, &n->host_ip, ns, sizeof(ns));
	snprintf(text, sizeof(text), "nameserver %s\n", ns);
	snprintf(path, sizeof(path), "/run/blast-resolv-%d", (int)getpid());
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		err = -errno;
	fd = err ? -1
		 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!err && fd < 0)
		err = -errno;
	if (!err && write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		err = -EIO;
	if (!err && mount(path, RESOLV_AT, NULL, MS_BIND, NULL) < 0)
		err = -errno;
	if (fd >= 0) {
		close(fd);
		unlink(path); /* the bind mount keeps it */
	}
	if (err)
		snprintf(msg, len, "cannot point %s at the DNS forwarder: %s",
			 RESOLV_AT, strerror(-err));
	close(n->ns_fd);
	return err;
}

void netsbx_close(struct netsbx *n)
{
	if (!n)
		return;
	dnsfwd_stop(n->dns);
	netsbx_nft_close(n);
	veth_del(n->host_if);
	if (n->ns_fd >= 0)
		close(n->ns_fd);
	free(n);
}
