/* SPDX-License-Identifier: MIT */
/*
 * netsbx.h - net.mode filtered for `blastctl run`: the env gets its own
 * network namespace joined to the host's by a veth pair (host end
 * "blast<PID>", env end "eth0", a /30 of 10.213.0.0/16 chosen under a
 * lock so concurrent runs never share one), outbound NAT, an nftables
 * table "blast_<PID>" on the host end with the policy's allow rules
 * (nft.c), tc token buckets for net.bandwidth (shape.c) and a DNS
 * forwarder on the host end (dnsfwd.c) that answers only allowed names
 * and adds their addresses to the table's allowed set as it resolves
 * them. IPv4 only inside the env.
 *
 * Clean-up on every exit path: the namespace is held only by blastctl
 * (an fd) and its child, so it dies with them and takes the veth pair
 * and its qdiscs along; the nftables table is created with the "owner"
 * flag, so the kernel drops it when blastctl's netlink socket closes,
 * also on SIGKILL. netsbx_close does both at once on a normal exit.
 *
 * Needs root (CAP_NET_ADMIN in the host's namespace). Main thread only,
 * except the forwarder's own thread.
 */
#ifndef BLAST_CTL_NETSBX_H
#define BLAST_CTL_NETSBX_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct policy;
struct nft_ctx;
struct dnsfwd;

/* What the policy asks (canonical policy text, policy.h; NULL: unset). */
struct netsbx_conf {
	const char *allow_ip, *allow_port, *allow_domain, *inbound, *dns;
	uint64_t bw_up, bw_down; /* bytes/s, 0: none */
};

struct netsbx {
	int ns_fd;			/* the env's network namespace */
	char host_if[IF_NAMESIZE];	/* host end of the veth pair */
	struct in_addr host_ip, env_ip; /* .1 and .2 of the run's /30 */
	char table[32];			/* nftables table (inet family) */
	struct nft_ctx *nft;		/* owns the table: keep it open */
	struct dnsfwd *dns;		/* NULL when not started */
	bool deny;			/* default deny outbound */
};

/* The rules of policy p into c (pointers into p: keep p alive). */
void netsbx_conf_from_policy(const struct policy *p, struct netsbx_conf *c);
/* True when c asks default deny (an allow-ip, -port or -domain). */
bool netsbx_conf_denies(const struct netsbx_conf *c);

/*
 * Build it all for the blastctl process `owner` (its pid names the
 * objects). On failure nothing is left and msg says why. *out is
 * heap-allocated; netsbx_close frees it.
 */
int netsbx_open(const struct netsbx_conf *c, struct netsbx **out, char *msg,
		size_t len);
/* In the forked child, before exec: join the namespace and see the
 * forwarder as the only name server (a private mount namespace with
 * /etc/resolv.conf bound over). */
int netsbx_child_enter(const struct netsbx *n, char *msg, size_t len);
/* Stop the forwarder, drop the table and the veth pair, free n. */
void netsbx_close(struct netsbx *n);

/* ---- nft.c: the rules --------------------------------------------- */

/* Create the table "blast_<pid>" (owner flag) with the chains for c.
 * -errno with libnftables' message in msg. */
int netsbx_nft_open(struct netsbx *n, const struct netsbx_conf *c, char *msg,
		    size_t len);
/* Add an address (AF_INET or AF_INET6, 4 or 16 bytes) to the allowed
 * set of resolved names for ttl seconds (at least NETSBX_TTL_MIN, at
 * most NETSBX_TTL_MAX; an address already there gets the new timeout).
 * Connections opened meanwhile outlive it (conntrack). Called by the
 * forwarder thread only. */
#define NETSBX_TTL_MIN 1
#define NETSBX_TTL_MAX 86400
int netsbx_nft_allow(struct netsbx *n, int family, const void *addr,
		     uint32_t ttl);
void netsbx_nft_close(struct netsbx *n);

/* ---- shape.c: bandwidth ------------------------------------------- */

/* A token bucket (tbf) of rate bytes/s as the root qdisc of ifindex,
 * through sock (a connected NETLINK_ROUTE libnl socket, in the
 * interface's namespace). */
struct nl_sock;
int netsbx_shape(struct nl_sock *sock, int ifindex, uint64_t rate);

#endif
