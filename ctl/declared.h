/* SPDX-License-Identifier: MIT */
/*
 * declared.h (ctl) - a project's declared requirements (requirements*.txt,
 * constraints*.txt in the project directory, with -r/-c includes) held
 * against an env's installed distributions, as check's "declared"
 * section. Main thread.
 */
#ifndef BLAST_CTL_DECLARED_H
#define BLAST_CTL_DECLARED_H

#include "pkg.h"

typedef void (*declared_fn)(void *arg, const char *problem);

/*
 * Call fn for every problem: "NAME is not installed (FILE:LINE: REQ)",
 * "NAME VERSION is excluded by FILE:LINE: REQ", an invalid line, a
 * missing include. Requirements whose marker is false for env are
 * skipped; constraints never require. *files: top-level files read. A
 * project directory that does not exist has none. 0 or -errno.
 */
int declared_check(const char *project, const struct pkg_dist *d, size_t n,
		   const struct pkg_markerenv *env, declared_fn fn, void *arg,
		   size_t *files);

#endif
