/* SPDX-License-Identifier: MIT */
/* fuzz_metadata.c - libFuzzer target: any bytes as METADATA; then the
 * record of what was read round-trips and `pip check` over it runs. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkg_markerenv env = {{{0}}};
	struct pkg_meta m;
	struct pkg_dist d, e;
	char *rec;
	size_t len;

	if (pkg_meta_parse((const char *)data, size, &m, NULL))
		return 0;
	if (pkg_dist_from_meta(&m, "x-1.dist-info", &d)) {
		pkg_meta_release(&m);
		return 0;
	}
	pkg_meta_release(&m);
	if (!pkg_record_encode(&d, &rec, &len)) {
		assert(pkg_record_decode(rec, len, &e) == 0);
		assert(!strcmp(e.version, d.version));
		assert(e.nrequires == d.nrequires);
		pkg_dist_release(&e);
		free(rec);
	}
	pkg_check(&d, 1, &env, NULL, NULL);
	pkg_dist_release(&d);
	return 0;
}
