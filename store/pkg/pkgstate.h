/* SPDX-License-Identifier: MIT */
/*
 * pkgstate.h - an env's package state in the store: one record per
 * installed distribution under env state key "pkg:<normalized name>"
 * (pkg_record_encode), plus the marker environment of the env's
 * interpreter under "pkgenv:markers". Read from the store tree, so no
 * mount is needed; written in the caller's write txn, so blastfs updates
 * it in the same transaction as the file change that caused it.
 *
 * A distribution is a `*.dist-info` directory with a sealed METADATA, a
 * `*.egg-info` directory with a PKG-INFO (and maybe requires.txt), or a
 * `*.egg-info` file, directly in lib/pythonX.Y/site-packages, whose
 * metadata has a Name; names starting with '~' (pip's stash of what it
 * is uninstalling) are not.
 * Unreadable metadata (invalid UTF-8, too big) still gives a record, with
 * its error, so check can say why.
 *
 * All functions return 0 or -errno; any thread with its own txn.
 */
#ifndef BLAST_PKGSTATE_H
#define BLAST_PKGSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkg.h"
#include "store.h"

#define PKGSTATE_PREFIX	     "pkg:"
#define PKGSTATE_MARKERS_KEY "pkgenv:markers"
#define PKGSTATE_META_MAX    (16u << 20) /* larger metadata: an error */

/* true if `name` (an entry of site-packages) names a distribution. */
bool pkgstate_is_dist_name(const char *name, size_t len);

/* The site-packages table under root (lib/python*\/site-packages, the
 * first in name order) into *tab. -ENOENT if there is none. */
int pkgstate_site_tab(struct store_txn *t, uint64_t root, uint64_t *tab);

/*
 * Read distribution `name` in site-packages table `site` of `root`:
 * -ENOENT if it is not one (or its METADATA is missing or still being
 * written), else *out (release with pkg_dist_release), possibly with
 * out->error set.
 */
int pkgstate_read(struct store_txn *t, uint64_t root, uint64_t site,
		  const char *name, struct pkg_dist *out);

/* Every distribution in root's site-packages, in name order. *out is
 * malloc'd (free with pkgstate_free). */
int pkgstate_scan(struct store_txn *t, uint64_t root, struct pkg_dist **out,
		  size_t *n);
/* The recorded distributions (state keys "pkg:"), in key order. */
int pkgstate_load(struct store_txn *t, uint64_t root, struct pkg_dist **out,
		  size_t *n);
void pkgstate_free(struct pkg_dist *d, size_t n);

/* Replace e's "pkg:" keys by a full rescan (write txn). *count (may be
 * NULL): distributions found. */
int pkgstate_rebuild(struct store_txn *t, struct store_env *e, size_t *count);

/*
 * Site-packages entry `name` was created, rewritten, renamed or removed
 * (or a file in it was): bring its record up to date (write txn, after
 * the change). A removed distribution whose name another one still has
 * falls back to that one. *changed (may be NULL) tells whether any key
 * changed; old/new (may be NULL) get the normalized name and the version
 * before and after ("" when absent), for event streams.
 */
struct pkgstate_change {
	char norm[PKG_NAME_LEN];
	char old_version[PKG_VERSION_LEN], new_version[PKG_VERSION_LEN];
	bool changed;
};
int pkgstate_update(struct store_txn *t, struct store_env *e, const char *name,
		    struct pkgstate_change *out);

/* The env's marker environment (-ENOENT if never recorded). */
int pkgstate_markers_get(struct store_txn *t, uint64_t root,
			 struct pkg_markerenv *out);
int pkgstate_markers_set(struct store_txn *t, struct store_env *e,
			 const struct pkg_markerenv *env);

/* Read a regular file entry's bytes (blob, inline or hard link; a file
 * still being written is -EAGAIN). *out is malloc'd and NUL-terminated;
 * -EFBIG above max bytes. */
int pkgstate_read_file(struct store_txn *t, uint64_t root,
		       const struct store_entry *e, size_t max, char **out,
		       size_t *len);

/*
 * Check every file the RECORDs of dists[0..n) list (paths relative to
 * site-packages, resolved from root) for presence, size and sha256, and
 * the directories they name for files no RECORD lists (*.pyc aside),
 * and site-packages for entries no distribution owns (a RECORD lists
 * nothing in them, they are no dist-info, egg-info, __pycache__ or
 * module an egg-info's top_level.txt names).
 * fn(arg, dist, kind, path) per problem: kind "missing", "modified",
 * "unlisted" (dist NULL), "unowned" (dist NULL) or "pip-stash" (dist
 * NULL: a "~name" entry pip left), path relative to the env root. *files (may
 * be NULL): RECORD lines checked. Distributions without RECORD (egg-info) are
 * skipped; scripts in bin/ (blast rewrites their #! line for the env's mount)
 * are checked for presence only.
 */
typedef void (*pkgstate_file_fn)(void *arg, const struct pkg_dist *d,
				 const char *kind, const char *path);
int pkgstate_verify_files(struct store_txn *t, uint64_t root,
			  const struct pkg_dist *dists, size_t n,
			  pkgstate_file_fn fn, void *arg, size_t *files);

#endif
