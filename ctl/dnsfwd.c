/* SPDX-License-Identifier: MIT */
/*
 * dnsfwd.c - the DNS forwarder of net.mode filtered (dnsfwd.h). Only
 * the header and the question of a query are parsed; of a reply, the
 * answer section, skipping names (compression pointers included) to
 * read the A and AAAA records and their TTLs. Anything malformed is
 * dropped. Over TCP, one query a connection (RFC 7766 lets a server
 * close after answering), the whole query within CLIENT_WAIT so a slow
 * or silent client cannot hold the forwarder.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsfwd.h"

#define DNS_MAX	       4096 /* EDNS0 sizes clients ask for fit */
#define UPSTREAM_WAIT  2000 /* ms per upstream server */
#define CLIENT_WAIT    2000 /* ms for a whole TCP query to arrive */
#define RCODE_NXDOMAIN 3
#define RCODE_SERVFAIL 2

struct dnsfwd {
	int fd, tfd, stop[2]; /* UDP, TCP listening */
	pthread_t thread;
	bool started;
	unsigned port, tport;
	char *allow; /* NULL: every name */
	size_t nup;
	struct sockaddr_storage up[8];
	dnsfwd_addr_fn fn;
	void *arg;
};

static bool label_tail_eq(const char *name, size_t n, const char *dom,
			  size_t dn)
{
	return n > dn && name[n - dn - 1] == '.' &&
	       !strncasecmp(name + n - dn, dom, dn);
}

int dnsfwd_name_allowed(const char *allow, const char *name)
{
	size_t n = strlen(name);

	if (!allow)
		return 1;
	while (*allow) {
		size_t l = strcspn(allow, "\n");

		if (l > 2 && !strncmp(allow, "*.", 2)) {
			if (label_tail_eq(name, n, allow + 2, l - 2))
				return 1;
		} else if (l == n && !strncasecmp(allow, name, n)) {
			return 1;
		}
		allow += l + (allow[l] == '\n');
	}
	return 0;
}

/* The question's name at off (no compression in a query) into name;
 * the offset past it, or -1. */
static int qname(const uint8_t *p, size_t n, size_t off, char *name, size_t len)
{
	size_t w = 0;

	for (;;) {
		uint8_t l;

		if (off >= n)
			return -1;
		l = p[off++];
		if (!l)
			break;
		if (l > 63 || off + l > n || w + l + 2 > len)
			return -1;
		if (w)
			name[w++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			char ch = (char)p[off + i];

			/* no '.' or NUL inside a label: it would read as
			 * another name */
			if (ch == '.' || ch == '\0')
				return -1;
			name[w++] = ch;
		}
		off += l;
	}
	name[w] = '\0';
	return (int)off;
}

/* Skip a (possibly compressed) name; the offset past it, or -1. */
static long name_skip(const uint8_t *p, size_t n, size_t off)
{
	while (off < n) {
		uint8_t l = p[off];

		if (!l)
			return (long)off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= n ? (long)off + 2 : -1;
		if (l > 63)
			return -1;
		off += 1u + l;
	}
	return -1;
}

/* Hand every A/AAAA record of reply r to the callback. */
void dnsfwd_answers(const uint8_t *r, size_t n, dnsfwd_addr_fn fn, void *arg)
{
	unsigned qd, an;
	long off = 12;

	if (n < 12)
		return;
	qd = (unsigned)r[4] << 8 | r[5];
	an = (unsigned)r[6] << 8 | r[7];
	for (unsigned i = 0; i < qd && off >= 0; i++) {
		off = name_skip(r, n, (size_t)off);
		off = off >= 0 && (size_t)off + 4 <= n ? off + 4 : -1;
	}
	for (unsigned i = 0; i < an && off >= 0; i++) {
		unsigned type, rdlen;
		uint32_t ttl;

		off = name_skip(r, n, (size_t)off);
		if (off < 0 || (size_t)off + 10 > n)
			return;
		type = (unsigned)r[off] << 8 | r[off + 1];
		ttl = (uint32_t)r[off + 4] << 24 | (uint32_t)r[off + 5] << 16 |
		      (uint32_t)r[off + 6] << 8 | r[off + 7];
		rdlen = (unsigned)r[off + 8] << 8 | r[off + 9];
		off += 10;
		if ((size_t)off + rdlen > n)
			return;
		if (type == 1 && rdlen == 4)
			fn(arg, AF_INET, r + off, ttl);
		else if (type == 28 && rdlen == 16)
			fn(arg, AF_INET6, r + off, ttl);
		off += rdlen;
	}
}

/* Ask the upstream servers in turn; the reply's length or -1. */
static ssize_t ask(struct dnsfwd *d, const uint8_t *q, size_t qn, uint8_t *r)
{
	for (size_t i = 0; i < d->nup; i++) {
		struct sockaddr_storage *a = &d->up[i];
		socklen_t al = a->ss_family == AF_INET
				   ? sizeof(struct sockaddr_in)
				   : sizeof(struct sockaddr_in6);
		int fd = socket(a->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct pollfd pf = {fd, POLLIN, 0};
		ssize_t n = -1;

		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)a, al) == 0 &&
		    send(fd, q, qn, 0) == (ssize_t)qn &&
		    poll(&pf, 1, UPSTREAM_WAIT) == 1)
			n = recv(fd, r, DNS_MAX, 0);
		close(fd);
		/* the same id, a reply (QR), the question we asked */
		if (n >= 12 && r[0] == q[0] && r[1] == q[1] && (r[2] & 0x80))
			return n;
	}
	return -1;
}

/* Our own reply: the query with QR, RA and rcode set, no records. */
static size_t refuse(uint8_t *q, size_t qend, unsigned rcode)
{
	q[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode, RD */
	q[3] = (uint8_t)(0x80 | rcode);
	memset(q + 6, 0, 6); /* no answer, authority, additional */
	q[4] = 0;
	q[5] = 1;
	return qend;
}

int dnsfwd_query_name(const uint8_t *q, size_t n, char *name, size_t len)
{
	int end;

	/* one question, a standard query, not a reply */
	if (n < 12 || (q[2] & 0x80) || (q[2] & 0x78) || q[4] || q[5] != 1)
		return -1;
	end = qname(q, n, 12, name, len);
	if (end < 0 || (size_t)end + 4 > n)
		return -1;
	return end;
}

/* The reply to query q (n bytes) into r: relayed from upstream for an
 * allowed name, else our own. Its length, or 0 to drop the query. */
static size_t answer(struct dnsfwd *d, uint8_t *q, size_t n, uint8_t *r)
{
	char name[256];
	int qend = dnsfwd_query_name(q, n, name, sizeof(name));
	ssize_t rn;

	if (qend < 0)
		return 0;
	if (!dnsfwd_name_allowed(d->allow, name)) {
		n = refuse(q, (size_t)qend + 4, RCODE_NXDOMAIN);
	} else if ((rn = ask(d, q, n, r)) > 0) {
		dnsfwd_answers(r, (size_t)rn, d->fn, d->arg);
		return (size_t)rn;
	} else {
		n = refuse(q, (size_t)qend + 4, RCODE_SERVFAIL);
	}
	memcpy(r, q, n);
	return n;
}

static void serve_udp(struct dnsfwd *d)
{
	uint8_t q[DNS_MAX], r[DNS_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n =
	    recvfrom(d->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	size_t rn;

	if (n < 0)
		return;
	rn = answer(d, q, (size_t)n, r);
	if (rn)
		sendto(d->fd, r, rn, 0, (struct sockaddr *)&from, fl);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly n bytes from fd before the monotonic time end (ms). */
static int read_full(int fd, uint8_t *b, size_t n, int64_t end)
{
	struct pollfd pf = {fd, POLLIN, 0};

	while (n) {
		int64_t left = end - now_ms();
		ssize_t k;

		if (left <= 0 || poll(&pf, 1, (int)left) != 1)
			return -ETIMEDOUT;
		k = read(fd, b, n);
		if (k <= 0)
			return k ? -errno : -EPIPE;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One query over TCP: two bytes of length, the message; the reply the
 * same way, then the connection is closed. */
static void serve_tcp(struct dnsfwd *d)
{
	uint8_t q[DNS_MAX], r[DNS_MAX + 2];
	int c = accept4(d->tfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	size_t n, rn;

	int64_t end = now_ms() + CLIENT_WAIT;

	if (c < 0)
		return;
	if (read_full(c, q, 2, end) == 0 && (n = (size_t)q[0] << 8 | q[1]) &&
	    n <= sizeof(q) && read_full(c, q, n, end) == 0 &&
	    (rn = answer(d, q, n, r + 2)) > 0) {
		r[0] = (uint8_t)(rn >> 8);
		r[1] = (uint8_t)rn;
		/* a reply fits the socket buffer: no wait for the client */
		if (write(c, r, rn + 2) < 0)
			(void)0;
	}
	close(c);
}

static void *serve(void *arg)
{
	struct dnsfwd *d = arg;
	struct pollfd pf[3] = {
	    {d->fd, POLLIN, 0}, {d->tfd, POLLIN, 0}, {d->stop[0], POLLIN, 0}};

	while (poll(pf, 3, -1) >= 0 || errno == EINTR) {
		if (pf[2].revents)
			break;
		if (pf[0].revents & POLLIN)
			serve_udp(d);
		if (pf[1].revents & POLLIN)
			serve_tcp(d);
	}
	return NULL;
}

static int upstream_add(struct dnsfwd *d, const char *s, size_t n)
{
	char a[64];
	struct sockaddr_in *v4 = (struct sockaddr_in *)&d->up[d->nup];
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&d->up[d->nup];

	if (n >= sizeof(a) || d->nup == sizeof(d->up) / sizeof(*d->up))
		return -EINVAL;
	memcpy(a, s, n);
	a[n] = '\0';
	memset(&d->up[d->nup], 0, sizeof(d->up[0]));
	if (inet_pton(AF_INET, a, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(53);
	} else if (inet_pton(AF_INET6, a, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(53);
	} else {
		return -EINVAL;
	}
	d->nup++;
	return 0;
}

static int dnsfwd_init(struct dnsfwd *d, const char *allow,
		       const char *upstream)
{
	d->fd = d->tfd = d->stop[0] = d->stop[1] = -1;
	if (allow && !(d->allow = strdup(allow)))
		return -ENOMEM;
	while (*upstream) {
		size_t l = strcspn(upstream, "\n");

		if (l && upstream_add(d, upstream, l))
			return -EINVAL;
		upstream += l + (upstream[l] == '\n');
	}
	return d->nup ? 0 : -ENOENT;
}

int dnsfwd_open(struct in_addr at, const char *allow, const char *upstream,
		dnsfwd_addr_fn fn, void *arg, struct dnsfwd **out, char *msg,
		size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = at};
	socklen_t sl = sizeof(sa);
	struct dnsfwd *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->fn = fn;
	d->arg = arg;
	err = dnsfwd_init(d, allow, upstream);
	if (err) {
		snprintf(msg, len,
			 "no usable DNS server to forward to (set "
			 "net.dns)");
		goto out_free;
	}
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	d->tfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* any free ports: the env's port 53 is redirected to them, so a
	 * DNS server the host runs on *:53 is no obstacle */
	if (d->fd < 0 || d->tfd < 0 ||
	    bind(d->tfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(d->tfd, 16) < 0 ||
	    getsockname(d->tfd, (struct sockaddr *)&sa, &sl) < 0) {
		err = -errno;
		snprintf(msg, len, "cannot start the DNS forwarder: %s",
			 strerror(-err));
		goto out_free;
	}
	d->tport = ntohs(sa.sin_port);
	sa.sin_port = 0;
	sl = sizeof(sa);
	if (bind(d->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(d->fd, (struct sockaddr *)&sa, &sl) < 0 ||
	    pipe2(d->stop, O_CLOEXEC) < 0) {
		err = -errno;
		snprintf(msg, len, "cannot start the DNS forwarder: %s",
			 strerror(-err));
		goto out_free;
	}
	d->port = ntohs(sa.sin_port);
	*out = d;
	return 0;
out_free:
	if (d->fd >= 0)
		close(d->fd);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->stop[0] >= 0) {
		close(d->stop[0]);
		close(d->stop[1]);
	}
	free(d->allow);
	free(d);
	return err;
}

unsigned dnsfwd_port(const struct dnsfwd *d)
{
	return d->port;
}

unsigned dnsfwd_tcp_port(const struct dnsfwd *d)
{
	return d->tport;
}

int dnsfwd_start(struct dnsfwd *d, char *msg, size_t len)
{
	int err = -pthread_create(&d->thread, NULL, serve, d);

	if (err)
		snprintf(msg, len, "cannot start the DNS forwarder: %s",
			 strerror(-err));
	d->started = !err;
	return err;
}

void dnsfwd_stop(struct dnsfwd *d)
{
	if (!d)
		return;
	if (d->started && write(d->stop[1], "x", 1) == 1)
		pthread_join(d->thread, NULL);
	close(d->stop[0]);
	close(d->stop[1]);
	close(d->fd);
	close(d->tfd);
	free(d->allow);
	free(d);
}
