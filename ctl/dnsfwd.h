/* SPDX-License-Identifier: MIT */
/*
 * dnsfwd.h - the small DNS forwarder of net.mode filtered: UDP and TCP
 * (one query a connection), one query at a time, on its own thread. A
 * query for an allowed name goes to the upstream servers in turn (UDP)
 * and their reply comes back as is, after every A and AAAA record in it
 * was handed to the caller's callback with its TTL (which opens the
 * firewall for it until then); any other name gets NXDOMAIN without
 * leaving the host.
 */
#ifndef BLAST_CTL_DNSFWD_H
#define BLAST_CTL_DNSFWD_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct dnsfwd;

/* Called on the forwarder's thread for each address an allowed answer
 * holds (family AF_INET or AF_INET6, addr 4 or 16 bytes) with its
 * record's TTL in seconds. */
typedef void (*dnsfwd_addr_fn)(void *arg, int family, const void *addr,
			       uint32_t ttl);

/*
 * Bind a UDP and a TCP socket on listen, free ports (dnsfwd_port,
 * dnsfwd_tcp_port), for serving later. allow: newline-separated names
 * ("pypi.org", "*.example.com": every name below example.com), NULL to answer
 * every name, "" to answer none. upstream: newline-separated server addresses
 * (port 53). Both strings are copied. -errno with the reason in msg.
 */
int dnsfwd_open(struct in_addr listen, const char *allow, const char *upstream,
		dnsfwd_addr_fn fn, void *arg, struct dnsfwd **out, char *msg,
		size_t len);
unsigned dnsfwd_port(const struct dnsfwd *d);
unsigned dnsfwd_tcp_port(const struct dnsfwd *d);
/* Serve on a thread of its own from now on. */
int dnsfwd_start(struct dnsfwd *d, char *msg, size_t len);
/* Stop the thread if started (a query in flight is dropped), close,
 * free d. */
void dnsfwd_stop(struct dnsfwd *d);

/* The parsers, for the forwarder and the fuzzer (tests/fuzz/fuzz_dns.c).
 * dnsfwd_query_name: a standard query of one question of n bytes; its
 * name (presentation form, no final dot) into name; the offset of its
 * type, or -1 when q is not such a query or the name does not fit len.
 * dnsfwd_answers: fn for each A/AAAA record of the answer section of
 * reply r (n bytes); anything malformed ends the walk. */
int dnsfwd_query_name(const uint8_t *q, size_t n, char *name, size_t len);
void dnsfwd_answers(const uint8_t *r, size_t n, dnsfwd_addr_fn fn, void *arg);

/* For tests and the fuzzer: whether name (presentation form, no final
 * dot, any case) is allowed by the list. */
int dnsfwd_name_allowed(const char *allow, const char *name);

#endif
