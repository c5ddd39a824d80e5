/* SPDX-License-Identifier: MIT */
/* fuzz_dns.c - libFuzzer target: any bytes as a query to blast's DNS
 * forwarder (ctl/dnsfwd.c) and as an upstream reply; a parsed name is a
 * NUL-terminated string within bounds, with no empty label, and the
 * allow list matcher takes it; every address handed out lies inside the
 * reply. */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsfwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct span {
	const uint8_t *p;
	size_t n;
};

static void on_addr(void *arg, int family, const void *addr, uint32_t ttl)
{
	const struct span *s = arg;
	const uint8_t *a = addr;
	size_t len = family == AF_INET ? 4 : 16;

	(void)ttl;
	assert(family == AF_INET || family == AF_INET6);
	assert(a >= s->p && a + len <= s->p + s->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span s = {data, size};
	char name[256];
	int end = dnsfwd_query_name(data, size, name, sizeof(name));

	if (end >= 0) {
		size_t l = strlen(name);

		assert((size_t)end + 4 <= size && l < sizeof(name));
		assert(!strstr(name, "..") && name[0] != '.');
		dnsfwd_name_allowed("example.com\n*.test", name);
	}
	dnsfwd_answers(data, size, on_addr, &s);
	return 0;
}
