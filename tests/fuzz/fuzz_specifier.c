/* SPDX-License-Identifier: MIT */
/* fuzz_specifier.c - libFuzzer target: "SPECS\nVERSION"; membership never
 * crashes and the printed set parses to the same printed set. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	size_t sl = nl ? (size_t)(nl - s) : size;
	char a[4096], b[4096];
	struct pkg_specset set, again;
	struct pkg_version v;
	int n;

	if (pkg_specset_parse(s, sl, &set, NULL))
		return 0;
	if (nl && !pkg_version_parse_any(nl + 1, size - sl - 1, &v, NULL)) {
		pkg_specset_contains(&set, &v, true);
		pkg_specset_contains(&set, &v, false);
	}
	n = pkg_specset_format(&set, a, sizeof(a));
	if (n >= 0) {
		assert(pkg_specset_parse(a, (size_t)n, &again, NULL) == 0);
		assert(pkg_specset_format(&again, b, sizeof(b)) == n);
		assert(!strcmp(a, b));
		pkg_specset_release(&again);
	}
	pkg_specset_release(&set);
	return 0;
}
