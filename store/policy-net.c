/* SPDX-License-Identifier: MIT */
/*
 * policy-net.c - the network rule keys of a policy (net.allow-ip,
 * net.allow-port, net.allow-domain, net.inbound, net.dns,
 * net.bandwidth): validation and canonical text. blastctl run turns the
 * canonical text into nftables rules, tc qdiscs and the DNS forwarder's
 * allow list (ctl/netsbx.h), so it must stay simple to read back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

bool policy_key_is_net_rule(enum policy_key k)
{
	/* by name, not a range: other keys may come to sit between */
	switch (k) {
	case POLICY_NET_ALLOW_IP:
	case POLICY_NET_ALLOW_PORT:
	case POLICY_NET_ALLOW_DOMAIN:
	case POLICY_NET_INBOUND:
	case POLICY_NET_DNS:
	case POLICY_NET_BANDWIDTH:
		return true;
	default:
		return false;
	}
}

/* A decimal port 1-65535 from s (n bytes). -1 if not one. */
static long port_of(const char *s, size_t n)
{
	long v = 0;

	if (!n || n > 5 || *s == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535 ? v : -1;
}

static int cidr_parse(const char *v, char *buf, size_t len)
{
	unsigned char a[16];
	char addr[INET6_ADDRSTRLEN + 1], txt[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);
	int fam, bits, max;
	char *end;

	if (alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, v, alen);
	addr[alen] = '\0';
	fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
	max = fam == AF_INET ? 32 : 128;
	if (inet_pton(fam, addr, a) != 1)
		return -EINVAL;
	bits = max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		bits = (int)strtol(slash + 1, &end, 10);
		if (*end || errno || bits < 0 || bits > max)
			return -EINVAL;
	}
	for (int i = 0; i < max / 8; i++) {
		int keep = bits - i * 8;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (unsigned char)(0xff << (8 - keep));
	}
	inet_ntop(fam, a, txt, sizeof(txt));
	snprintf(buf, len, "%s/%d", txt, bits);
	return 0;
}

/* "443", "443/tcp", "8000-8100/udp" */
static int port_parse(const char *v, char *buf, size_t len)
{
	const char *slash = strchr(v, '/'), *dash;
	size_t n = slash ? (size_t)(slash - v) : strlen(v);
	long lo, hi;

	if (slash && strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp"))
		return -EINVAL;
	dash = memchr(v, '-', n);
	lo = port_of(v, dash ? (size_t)(dash - v) : n);
	hi = dash ? port_of(dash + 1, n - (size_t)(dash - v) - 1) : lo;
	if (lo < 0 || hi < lo)
		return -EINVAL;
	if (hi == lo)
		snprintf(buf, len, "%ld%s", lo, slash ? slash : "");
	else
		snprintf(buf, len, "%ld-%ld%s", lo, hi, slash ? slash : "");
	return 0;
}

static int domain_parse(const char *v, char *buf, size_t len)
{
	size_t n = strlen(v), label = 0;
	const char *s = v;

	if (!strncmp(s, "*.", 2))
		s += 2;
	if (n && v[n - 1] == '.')
		n--;
	if (s >= v + n || n > 253 || n + 1 > len)
		return -EINVAL;
	for (const char *p = s; p < v + n; p++) {
		char ch = *p;

		if (ch == '.') {
			if (!label || p[-1] == '-')
				return -EINVAL;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' ||
		      (ch == '-' && label)) ||
		    ++label > 63)
			return -EINVAL;
	}
	if (!label || v[n - 1] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		buf[i] = (v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i];
	buf[n] = '\0';
	return 0;
}

/* "8080", "8080:80", "8080:80/udp" -> "8080:80/tcp" */
static int inbound_parse(const char *v, char *buf, size_t len)
{
	const char *slash = strchr(v, '/'), *colon;
	size_t n = slash ? (size_t)(slash - v) : strlen(v);
	long hp, ep;

	if (slash && strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp"))
		return -EINVAL;
	colon = memchr(v, ':', n);
	hp = port_of(v, colon ? (size_t)(colon - v) : n);
	ep = colon ? port_of(colon + 1, n - (size_t)(colon - v) - 1) : hp;
	if (hp < 0 || ep < 0)
		return -EINVAL;
	snprintf(buf, len, "%ld:%ld/%s", hp, ep, slash ? slash + 1 : "tcp");
	return 0;
}

static int dns_parse(const char *v, char *buf, size_t len)
{
	unsigned char a[16];
	int fam = strchr(v, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(fam, v, a) != 1)
		return -EINVAL;
	inet_ntop(fam, a, buf, (socklen_t)len);
	return 0;
}

int policy_net_rule_parse(enum policy_key k, const char *v, char *buf,
			  size_t len, char *err, size_t errlen)
{
	const char *want;
	int r;

	switch (k) {
	case POLICY_NET_ALLOW_IP:
		r = cidr_parse(v, buf, len);
		want = "an IPv4 or IPv6 address or CIDR (10.0.0.0/8)";
		break;
	case POLICY_NET_ALLOW_PORT:
		r = port_parse(v, buf, len);
		want = "PORT or LOW-HIGH, 1-65535, with an optional /tcp or "
		       "/udp (443, 8000-8100/udp)";
		break;
	case POLICY_NET_ALLOW_DOMAIN:
		r = domain_parse(v, buf, len);
		want = "a domain name, or *.DOMAIN for every name below it";
		break;
	case POLICY_NET_INBOUND:
		r = inbound_parse(v, buf, len);
		want = "HOSTPORT[:ENVPORT][/tcp|/udp] (8080:80)";
		break;
	case POLICY_NET_DNS:
		r = dns_parse(v, buf, len);
		want = "the IPv4 or IPv6 address of a DNS server";
		break;
	default:
		return -EINVAL;
	}
	if (r)
		snprintf(err, errlen, "invalid value '%s' for %s: expected %s",
			 v, policy_key_name(k), want);
	return r ? -EINVAL : 0;
}

int policy_net_bw_parse(const char *const *vals, size_t n, uint64_t *up,
			uint64_t *down, char *buf, size_t len, char *err,
			size_t errlen)
{
	char words[256] = "", *w, *save = NULL;
	const char *dir = NULL;
	bool any = false;

	*up = *down = 0;
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(words);

		if ((size_t)snprintf(words + used, sizeof(words) - used, "%s%s",
				     i ? " " : "",
				     vals[i]) >= sizeof(words) - used)
			goto out_bad;
	}
	for (w = strtok_r(words, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		uint64_t v;

		if (!dir) {
			if (strcmp(w, "up") && strcmp(w, "down"))
				goto out_bad;
			dir = w;
			continue;
		}
		if (policy_size_parse(w, &v) || v < 1024 || v > UINT32_MAX)
			goto out_bad;
		*(dir[0] == 'u' ? up : down) = v;
		dir = NULL;
		any = true;
	}
	if (dir || !any)
		goto out_bad;
	snprintf(buf, len, "up %" PRIu64 " down %" PRIu64, *up, *down);
	return 0;
out_bad:
	snprintf(err, errlen,
		 "invalid value for net.bandwidth: expected 'up RATE', 'down "
		 "RATE' or both, RATE in bytes per second from 1K to 4G (K, "
		 "M, G suffixes)");
	return -EINVAL;
}
