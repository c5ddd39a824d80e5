/* SPDX-License-Identifier: MIT */
/* fuzz_reqfile.c - libFuzzer target: any bytes as a requirements file;
 * every requirement line it yields is parsed as PEP 508 too. */
#include <stdint.h>
#include <string.h>

#include "pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int line(void *arg, enum pkg_reqfile_kind kind, size_t lineno,
		const char *text)
{
	struct pkg_req r;

	(void)arg;
	(void)lineno;
	if (kind == PKG_REQFILE_REQUIREMENT &&
	    !pkg_req_parse(text, strlen(text), &r, NULL))
		pkg_req_release(&r);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pkg_reqfile_parse((const char *)data, size, line, NULL);
	return 0;
}
