/* SPDX-License-Identifier: MIT */
/* fuzz_version.c - libFuzzer target: any bytes as a version; a parsed
 * version's normalized form parses to an equal version. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkg_version v, w;
	char err[PKG_ERR_LEN];

	if (pkg_version_parse((const char *)data, size, &v, err))
		return 0;
	assert(pkg_version_parse(v.str, strlen(v.str), &w, err) == 0);
	assert(pkg_version_cmp(&v, &w) == 0);
	assert(!strcmp(v.str, w.str));
	return 0;
}
