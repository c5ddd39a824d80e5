/* SPDX-License-Identifier: MIT */
/* fuzz_requires.c - libFuzzer target: any bytes as an egg-info
 * requires.txt, then `pip check` over the requirements it produced. */
#include <stdint.h>
#include <string.h>

#include "pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkg_markerenv env = {{{0}}};
	struct pkg_meta m = {0};
	struct pkg_dist d;

	if (pkg_requires_txt_parse((const char *)data, size, &m, NULL)) {
		pkg_meta_release(&m);
		return 0;
	}
	if (!pkg_dist_from_meta(&m, "x.egg-info", &d)) {
		pkg_check(&d, 1, &env, NULL, NULL);
		pkg_dist_release(&d);
	}
	pkg_meta_release(&m);
	return 0;
}
