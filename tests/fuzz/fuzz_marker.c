/* SPDX-License-Identifier: MIT */
/* fuzz_marker.c - libFuzzer target: any bytes as a requirement (and so a
 * marker); evaluation never crashes and the printed form is stable. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char envtext[] = "python_version=3.11\n"
				      "python_full_version=3.11.2\n"
				      "os_name=posix\nsys_platform=linux\n";
	struct pkg_markerenv env;
	struct pkg_marker *m;
	struct pkg_req r, again;
	char a[8192], b[8192];
	int n;

	pkg_markerenv_parse(envtext, sizeof(envtext) - 1, &env);
	if (!pkg_marker_parse((const char *)data, size, &m, NULL)) {
		pkg_marker_eval(m, &env, "");
		pkg_marker_eval(m, &env, "test");
		pkg_marker_format(m, a, sizeof(a));
		pkg_marker_free(m);
	}
	if (pkg_req_parse((const char *)data, size, &r, NULL))
		return 0;
	n = pkg_req_format(&r, a, sizeof(a));
	if (n >= 0) {
		assert(pkg_req_parse(a, (size_t)n, &again, NULL) == 0);
		assert(pkg_req_format(&again, b, sizeof(b)) == n);
		assert(!strcmp(a, b));
		pkg_req_release(&again);
	}
	pkg_req_release(&r);
	return 0;
}
