/* SPDX-License-Identifier: MIT */
/*
 * shape.c - net.bandwidth as a token bucket filter (tbf) at the root of
 * a veth end, through libnl-route: the host end's egress limits what
 * the env receives, the env end's egress what it sends. The bucket
 * holds 20 ms of the rate (at least 16 KiB, so one GSO segment of a
 * slow link still passes) and the queue another 50 ms.
 */
#include <errno.h>
#include <linux/pkt_sched.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

#include "netsbx.h"

int netsbx_shape(struct nl_sock *sock, int ifindex, uint64_t rate)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	uint64_t bucket = rate / 50, limit;
	int r;

	if (!q)
		return -ENOMEM;
	if (bucket < 16384)
		bucket = 16384;
	limit = bucket + rate / 20;
	if (rate > INT32_MAX)
		rate = INT32_MAX;
	if (limit > INT32_MAX)
		limit = INT32_MAX;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(1, 0));
	r = rtnl_tc_set_kind(TC_CAST(q), "tbf");
	if (!r) {
		rtnl_qdisc_tbf_set_rate(q, (int)rate, (int)bucket, 0);
		rtnl_qdisc_tbf_set_limit(q, (int)limit);
		r = rtnl_qdisc_add(sock, q, NLM_F_CREATE | NLM_F_REPLACE);
	}
	rtnl_qdisc_put(q);
	return r < 0 ? -EINVAL : 0;
}
