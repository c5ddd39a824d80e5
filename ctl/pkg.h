/* SPDX-License-Identifier: MIT */
/*
 * pkg.h (ctl) - what check, deps and clean share about an env's package
 * state: the marker environment of its interpreter (asked once, then kept
 * in env state) and the recorded distributions. Main thread; functions
 * print why they fail (ctl_err) and return -errno.
 */
#ifndef BLAST_CTL_PKG_H
#define BLAST_CTL_PKG_H

#include "pkgstate.h"
#include "snap.h"

/* The env's marker environment from its state. An env never checked has
 * none: its package state is then rebuilt (ctl_pkg_rebuild), which
 * records it. */
int ctl_pkg_markers(struct snap_target *tg, struct pkg_markerenv *out);

/* Ask interpreter `python` for its marker environment. */
int ctl_pkg_markers_ask(struct ctl *c, const char *python,
			struct pkg_markerenv *out);

/* The env's recorded distributions (*out: pkgstate_free), and its env
 * record (may be NULL). */
int ctl_pkg_load(struct snap_target *tg, struct store_env *env,
		 struct pkg_dist **out, size_t *n);

/* Append to *v (n entries, pkgstate_free frees) the distributions pip
 * also sees outside site-packages: in the directories its .pth files put
 * on sys.path, read from the host (relative paths only when mounted), a
 * name already in *v skipped. Read txn t. 0 or -errno; *v and *n stay
 * valid either way. (pthdist.c) */
int ctl_pkg_pth_dists(struct store_txn *t, const struct store_env *e,
		      bool mounted, struct pkg_dist **v, size_t *n);

/* Rebuild the env's package state from a full rescan (and record the
 * marker environment anew). Mounted, the daemon seals its files first. */
int ctl_pkg_rebuild(struct snap_target *tg, size_t *count);

#endif
