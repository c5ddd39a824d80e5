/* SPDX-License-Identifier: MIT */
/*
 * project.h - a project directory knows its env, mounted or not: `start`
 * keeps a marker file, DIR/.blast/.blast-env (STORE_PROJECT_MARKER),
 * beneath the mount (written through a descriptor of the mountpoint
 * opened before mounting), naming the env, its id (a destroyed env's
 * name may be given to a new one) and its store. A moved project thus
 * finds its env again; a copied one is told apart by the env's recorded
 * mount (store_env.mount), whose directory still names the env.
 *
 * Functions return 0 or -errno and never print. Main thread only.
 */
#ifndef BLAST_CTL_PROJECT_H
#define BLAST_CTL_PROJECT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct project_marker {
	char env[STORE_ENV_NAME_MAX + 1];
	uint64_t id;	     /* store_env.id */
	char home[PATH_MAX]; /* the store's directory (absolute) */
};

/*
 * Read the marker in the directory dirfd (openat's: AT_FDCWD and a
 * path to a mountpoint, or a descriptor of one) at path mnt. -ENOENT if
 * there is none, -EIO if it is not a marker (malformed, not a regular
 * file, over 8 KiB), else -errno.
 */
int project_marker_read(int dirfd, const char *mnt, struct project_marker *out);

/*
 * Write m into the directory dirfd (a descriptor of the mountpoint),
 * atomically: a temporary file (STORE_PROJECT_MARKER ".new"), fsync,
 * rename. Nothing is written if the marker there already says m.
 */
int project_marker_write(int dirfd, const struct project_marker *m);

/* True if m names env e of the store in home. */
bool project_marker_is(const struct project_marker *m, const char *home,
		       const struct store_env *e);

/* True if the unmounted mountpoint mnt still names env e of the store in
 * home: the directory is e's project (so another is a copy). */
bool project_claims(const char *mnt, const char *home,
		    const struct store_env *e);

/* Remove mnt's marker if it names env e of home (a destroyed env's). */
void project_marker_drop(const char *mnt, const char *home,
			 const struct store_env *e);

/* The project directory of mountpoint mnt (its parent) into buf. */
void project_dir(const char *mnt, char *buf, size_t len);

#endif
