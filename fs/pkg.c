/* SPDX-License-Identifier: MIT */
/*
 * pkg.c - the live package layer: after a change to a distribution under
 * site-packages (a *.dist-info / *.egg-info entry created, renamed or
 * removed, or its METADATA, PKG-INFO or requires.txt sealed, renamed or
 * removed), update the env's package state in the same write txn as the
 * change. A file is judged when sealed with no writer left, or, sealed
 * while still open for writing (n->pkg_pending), once its writers are
 * gone: at its RELEASE when opens are served, else at the first sealer
 * pass that finds it closed in /proc (sealer.c); or when renamed. Never
 * while being written, so a half-written METADATA never counts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"
#include "pkgstate.h"

static bool is_meta_file(const char *name)
{
	return !strcmp(name, "METADATA") || !strcmp(name, "PKG-INFO") ||
	       !strcmp(name, "requires.txt");
}

bool fs_pkg_watched(const char *dir, const char *name)
{
	return pkgstate_is_dist_name(name, strlen(name)) ||
	       (dir && is_meta_file(name) &&
		pkgstate_is_dist_name(dir, strlen(dir)));
}

/* names[0..depth) is lib/python*\/site-packages. */
static bool is_site(const char *const *names, size_t depth)
{
	return depth >= 3 && !strcmp(names[0], "lib") &&
	       !strncmp(names[1], "python", 6) &&
	       !strcmp(names[2], "site-packages");
}

int fs_pkg_changed(struct fs *fs, struct store_txn *t, struct store_env *e,
		   const char *const *names, size_t depth, const char *name)
{
	struct pkgstate_change ch;
	const char *dist;
	int err;

	if (fs->pkg_off)
		return 0;
	if (depth == 3 && is_site(names, depth) &&
	    pkgstate_is_dist_name(name, strlen(name)))
		dist = name;
	else if (depth == 4 && is_site(names, depth) && is_meta_file(name) &&
		 pkgstate_is_dist_name(names[3], strlen(names[3])))
		dist = names[3];
	else
		return 0;
	err = pkgstate_update(t, e, dist, &ch);
	if (err)
		store_logf(fs->st, "package state of '%s' not updated: %s",
			   dist, strerror(-err));
	else if (ch.changed) {
		atomic_fetch_add(&fs->cnt.pkg_updates, 1);
		fs_pkg_watch_event(fs, t, e, &ch);
	}
	return err;
}

int fs_pkg_released(struct fs *fs, struct node *n)
{
	struct store_txn *t;
	struct store_env env;
	const char **names = NULL;
	char name[STORE_NAME_MAX + 1];
	struct node *p;
	size_t depth;
	int err;

	pthread_mutex_lock(&fs->wlock);
	err = fs_wtxn(fs, &t, &env);
	if (err)
		goto out_unlock;
	fs_lock(fs);
	n->pkg_pending = false;
	p = n->unlinked || n->linked ? NULL : fs_node_get(fs, n->parent);
	err = p ? fs_node_path(fs, p, true, &names, &depth) : -ENOENT;
	if (!err)
		snprintf(name, sizeof(name), "%s", n->name);
	fs_unlock(fs);
	if (!err)
		err = fs_pkg_changed(fs, t, &env, names, depth, name);
	else if (err == -ENOENT)
		err = 0; /* gone meanwhile: its removal was judged */
	free(names);
	if (err)
		store_txn_abort(t);
	else
		err = store_txn_commit(t);
out_unlock:
	pthread_mutex_unlock(&fs->wlock);
	return err;
}
