/* SPDX-License-Identifier: MIT */
/*
 * nft.c - the nftables table of a filtered run, through libnftables
 * (netsbx.h). One table per run, "blast_<PID>", flagged "owner": the
 * kernel removes it when the netlink socket of our nft context closes,
 * so a killed blastctl leaves no rule behind. Chains:
 *   out   (prerouting, filter) what enters from the env: replies, the
 *         forwarder, the allow rules, then drop when default deny
 *   in    (postrouting, filter) what goes to the env: replies and
 *         published ports only
 *   pre, lo (nat prerouting, output) published ports to the env
 *   post  (nat postrouting) the env's traffic masqueraded out
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsfwd.h"
#include "netsbx.h"

#define RULES_MAX (64 * 1024)

struct buf {
	char *s;
	size_t n, cap;
	int err;
};

static void add(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->n)
		b->err = -E2BIG;
	else
		b->n += (size_t)n;
}

/* One rule's destination match per allowed address family and set;
 * calls fn for each (an empty match when there is no address rule). */
typedef void (*dest_fn)(struct buf *b, const struct netsbx *n, const char *dest,
			const char *ports);

static void ports_each(struct buf *b, const struct netsbx *n, const char *dest,
		       const char *ports, dest_fn fn)
{
	char one[64], match[128];

	if (!ports) {
		fn(b, n, dest, "");
		return;
	}
	while (*ports) {
		size_t l = strcspn(ports, "\n");
		char *slash;

		snprintf(one, sizeof(one), "%.*s", (int)l, ports);
		slash = strchr(one, '/');
		if (slash) {
			*slash = '\0';
			snprintf(match, sizeof(match), "%s dport %s", slash + 1,
				 one);
		} else {
			snprintf(match, sizeof(match),
				 "meta l4proto { tcp, udp } th dport %s", one);
		}
		fn(b, n, dest, match);
		ports += l + (ports[l] == '\n');
	}
}

static void allow_rule(struct buf *b, const struct netsbx *n, const char *dest,
		       const char *ports)
{
	add(b, "add rule inet %s out %s %s accept\n", n->table, dest, ports);
}

/* The allow rules: (address or resolved name) x port. */
static void allow_rules(struct buf *b, const struct netsbx *n,
			const struct netsbx_conf *c)
{
	bool any_dest = c->allow_ip || c->allow_domain;
	const char *ips = c->allow_ip;
	char dest[128];

	if (!any_dest) {
		if (c->allow_port)
			ports_each(b, n, "", c->allow_port, allow_rule);
		return;
	}
	while (ips && *ips) {
		size_t l = strcspn(ips, "\n");

		/* IPv6 (an older store's) never reaches the env: no rule */
		if (!memchr(ips, ':', l)) {
			snprintf(dest, sizeof(dest), "ip daddr %.*s", (int)l,
				 ips);
			ports_each(b, n, dest, c->allow_port, allow_rule);
		}
		ips += l + (ips[l] == '\n');
	}
	if (c->allow_domain) {
		ports_each(b, n, "ip daddr @names4", c->allow_port, allow_rule);
		ports_each(b, n, "ip6 daddr @names6", c->allow_port,
			   allow_rule);
	}
}

/* Published ports: host port to the env's, from outside and from the
 * host itself (127.0.0.1 included: route_localnet on the veth). */
static void inbound_rules(struct buf *b, const struct netsbx *n, const char *in)
{
	char env[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &n->env_ip, env, sizeof(env));
	while (in && *in) {
		unsigned hp, ep;
		char proto[4];
		size_t l = strcspn(in, "\n");

		if (sscanf(in, "%u:%u/%3s", &hp, &ep, proto) == 3) {
			add(b,
			    "add rule inet %s pre iifname != \"%s\" fib daddr "
			    "type local %s dport %u dnat ip to %s:%u\n",
			    n->table, n->host_if, proto, hp, env, ep);
			add(b,
			    "add rule inet %s lo fib daddr type local %s "
			    "dport %u dnat ip to %s:%u\n",
			    n->table, proto, hp, env, ep);
		}
		in += l + (in[l] == '\n');
	}
}

static void ruleset(struct buf *b, const struct netsbx *n,
		    const struct netsbx_conf *c)
{
	const char *t = n->table, *i = n->host_if;
	char host[INET_ADDRSTRLEN], env[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &n->host_ip, host, sizeof(host));
	inet_ntop(AF_INET, &n->env_ip, env, sizeof(env));
	add(b, "add table inet %s { flags owner; }\n", t);
	/* resolved addresses, each until its record's TTL */
	add(b, "add set inet %s names4 { type ipv4_addr; flags timeout; }\n",
	    t);
	add(b, "add set inet %s names6 { type ipv6_addr; flags timeout; }\n",
	    t);
	add(b,
	    "add chain inet %s out { type filter hook prerouting priority "
	    "-150; policy accept; }\n",
	    t);
	add(b, "add rule inet %s out iifname != \"%s\" accept\n", t, i);
	add(b, "add rule inet %s out ct state established,related accept\n", t);
	add(b, "add rule inet %s out meta nfproto != ipv4 drop\n", t);
	add(b, "add rule inet %s out ip saddr != %s drop\n", t, env);
	add(b,
	    "add rule inet %s out ip daddr %s meta l4proto { tcp, udp } th "
	    "dport 53 accept\n",
	    t, host);
	if (n->deny) {
		allow_rules(b, n, c);
		add(b, "add rule inet %s out drop\n", t);
	}
	add(b,
	    "add chain inet %s in { type filter hook postrouting priority 0; "
	    "policy accept; }\n",
	    t);
	add(b, "add rule inet %s in oifname != \"%s\" accept\n", t, i);
	add(b, "add rule inet %s in ct state established,related accept\n", t);
	add(b, "add rule inet %s in ct status dnat accept\n", t);
	add(b, "add rule inet %s in drop\n", t);
	add(b,
	    "add chain inet %s pre { type nat hook prerouting priority -100; "
	    "}\n",
	    t);
	add(b, "add chain inet %s lo { type nat hook output priority -100; }\n",
	    t);
	/* the env asks port 53, the forwarder listens where it could */
	add(b,
	    "add rule inet %s pre iifname \"%s\" ip daddr %s udp dport 53 "
	    "redirect to :%u\n",
	    t, i, host, dnsfwd_port(n->dns));
	add(b,
	    "add rule inet %s pre iifname \"%s\" ip daddr %s tcp dport 53 "
	    "redirect to :%u\n",
	    t, i, host, dnsfwd_tcp_port(n->dns));
	inbound_rules(b, n, c->inbound);
	add(b,
	    "add chain inet %s post { type nat hook postrouting priority "
	    "100; }\n",
	    t);
	add(b,
	    "add rule inet %s post ip saddr %s oifname != \"%s\" masquerade\n",
	    t, env, i);
	add(b,
	    "add rule inet %s post oifname \"%s\" ip saddr 127.0.0.0/8 "
	    "masquerade\n",
	    t, i);
}

/* The fds open now, as a bitmap of the first 1024. */
static void fds_open(unsigned char map[128])
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	memset(map, 0, 128);
	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		/* not the listing's own fd: it is closed again below */
		if (fd > 0 && fd < 1024 && fd != dirfd(d))
			map[fd / 8] |= (unsigned char)(1u << (fd % 8));
	}
	closedir(d);
}

/* libnftables opens its netlink socket without O_CLOEXEC: the command
 * must not inherit the socket that owns its rules. */
static void cloexec_new(const unsigned char before[128])
{
	unsigned char after[128];

	fds_open(after);
	for (int fd = 3; fd < 1024; fd++)
		if ((after[fd / 8] & ~before[fd / 8]) & (1u << (fd % 8)))
			fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int run(struct nft_ctx *ctx, const char *cmd, char *msg, size_t len)
{
	const char *e;
	int r = nft_run_cmd_from_buffer(ctx, cmd);

	if (!r)
		return 0;
	e = nft_ctx_get_error_buffer(ctx);
	snprintf(msg, len, "nftables: %.*s", (int)strcspn(e ? e : "", "\n"),
		 e ? e : "failed");
	return -EINVAL;
}

int netsbx_nft_open(struct netsbx *n, const struct netsbx_conf *c, char *msg,
		    size_t len)
{
	unsigned char before[128];
	struct buf b = {.cap = RULES_MAX};
	int err;

	b.s = malloc(b.cap);
	if (!b.s)
		return -ENOMEM;
	b.s[0] = '\0';
	ruleset(&b, n, c);
	if (b.err) {
		snprintf(msg, len, "too many network rules");
		err = b.err;
		goto out_free;
	}
	fds_open(before);
	n->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->nft) {
		snprintf(msg, len, "cannot start libnftables");
		err = -ENOMEM;
		goto out_free;
	}
	nft_ctx_buffer_output(n->nft);
	nft_ctx_buffer_error(n->nft);
	err = run(n->nft, b.s, msg, len);
	cloexec_new(before);
	if (err) {
		nft_ctx_free(n->nft);
		n->nft = NULL;
	}
out_free:
	free(b.s);
	return err;
}

int netsbx_nft_allow(struct netsbx *n, int family, const void *addr,
		     uint32_t ttl)
{
	char a[INET6_ADDRSTRLEN], cmd[400], msg[256];
	char set = family == AF_INET ? '4' : '6';

	if (ttl < NETSBX_TTL_MIN)
		ttl = NETSBX_TTL_MIN;
	if (ttl > NETSBX_TTL_MAX)
		ttl = NETSBX_TTL_MAX;
	inet_ntop(family, addr, a, sizeof(a));
	/* one transaction: adding an element that is there keeps its old
	 * timeout, so make sure it is there, delete it, add it anew */
	snprintf(cmd, sizeof(cmd),
		 "add element inet %s names%c { %s }\n"
		 "delete element inet %s names%c { %s }\n"
		 "add element inet %s names%c { %s timeout %us }\n",
		 n->table, set, a, n->table, set, a, n->table, set, a,
		 (unsigned)ttl);
	return run(n->nft, cmd, msg, sizeof(msg));
}

void netsbx_nft_close(struct netsbx *n)
{
	char cmd[64], msg[256];

	if (!n->nft)
		return;
	snprintf(cmd, sizeof(cmd), "delete table inet %s\n", n->table);
	run(n->nft, cmd, msg, sizeof(msg));
	nft_ctx_free(n->nft);
	n->nft = NULL;
}
