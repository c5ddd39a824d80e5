/* SPDX-License-Identifier: MIT */
/*
 * pkg.c - the live package layer: after a change to a distribution under
 * site-packages (a *.dist-info / *.egg-info entry created, renamed or
 * removed, or its METADATA, PKG-INFO or requires.txt sealed, renamed or
 * removed), update the env's package state in the same write txn as the
 * change. A file is judged once its last writer is gone (the seal at
 * release, or right after it when a flush sealed it while writers were
 * left) or when renamed, never while being written, so a half-written
 * METADATA never counts.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

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

/* ---- watch clients ---- */

#define WATCH_MAX 16

struct fs_pkgwatch {
	pthread_mutex_t lock; /* fds and problems; taken under wlock */
	int fds[WATCH_MAX];
	unsigned n;
	char **problems; /* pip check lines at the last event, sorted */
	size_t nproblems;
};

static struct fs_pkgwatch watch_static = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* One JSON line to every client; a client that cannot take it is gone. */
static void watch_send(struct fs_pkgwatch *w, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len;
	unsigned k;

	json_decref(o);
	if (!s)
		return;
	len = strlen(s);
	s[len] = '\n'; /* json_dumps' NUL becomes the newline */
	for (k = 0; k < w->n;) {
		if (send(w->fds[k], s, len + 1, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		    (ssize_t)(len + 1)) {
			k++;
			continue;
		}
		close(w->fds[k]);
		w->fds[k] = w->fds[--w->n];
	}
	free(s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect_line(void *arg, const struct pkg_problem *p)
{
	struct fs_pkgwatch *tmp = arg;

	return pkg_strv_push(&tmp->problems, &tmp->nproblems, p->line,
			     strlen(p->line));
}

/* pip check over root's state, sorted into out. */
static int problems_of(struct store_txn *t, uint64_t root,
		       struct fs_pkgwatch *out)
{
	struct pkg_markerenv env;
	struct pkg_dist *d = NULL;
	size_t n = 0;
	long r;

	out->problems = NULL;
	out->nproblems = 0;
	if (pkgstate_markers_get(t, root, &env))
		memset(&env, 0, sizeof(env));
	r = pkgstate_load(t, root, &d, &n);
	if (!r)
		r = pkg_check(d, n, &env, collect_line, out);
	pkgstate_free(d, n);
	if (r >= 0 && out->nproblems)
		qsort(out->problems, out->nproblems, sizeof(char *), cmp_str);
	return r < 0 ? (int)r : 0;
}

static bool has(char **v, size_t n, const char *s)
{
	return n && bsearch(&s, v, n, sizeof(char *), cmp_str);
}

/* After a change: the conflicts that appeared and went. */
static void watch_conflicts(struct fs_pkgwatch *w, struct store_txn *t,
			    uint64_t root)
{
	struct fs_pkgwatch now;
	size_t k;

	if (problems_of(t, root, &now))
		return;
	for (k = 0; k < now.nproblems; k++)
		if (!has(w->problems, w->nproblems, now.problems[k]))
			watch_send(w,
				   json_pack("{s:s,s:s}", "event", "conflict",
					     "line", now.problems[k]));
	for (k = 0; k < w->nproblems; k++)
		if (!has(now.problems, now.nproblems, w->problems[k]))
			watch_send(w,
				   json_pack("{s:s,s:s}", "event", "resolved",
					     "line", w->problems[k]));
	pkg_strv_free(w->problems, w->nproblems);
	w->problems = now.problems;
	w->nproblems = now.nproblems;
}

static void watch_event(struct fs *fs, struct store_txn *t,
			const struct store_env *e,
			const struct pkgstate_change *ch)
{
	struct fs_pkgwatch *w = fs->pkgwatch;
	struct pkg_version a, b;
	const char *what;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	if (!w->n)
		goto out;
	if (!ch->old_version[0])
		what = "installed";
	else if (!ch->new_version[0])
		what = "removed";
	else if (pkg_version_parse_any(ch->old_version, strlen(ch->old_version),
				       &a, NULL) ||
		 pkg_version_parse_any(ch->new_version, strlen(ch->new_version),
				       &b, NULL))
		what = "changed";
	else
		what = pkg_version_cmp(&a, &b) < 0   ? "upgraded"
		       : pkg_version_cmp(&a, &b) > 0 ? "downgraded"
						     : "changed";
	watch_send(
	    w, json_pack("{s:s,s:s,s:s?,s:s?}", "event", what, "name", ch->norm,
			 "from", ch->old_version[0] ? ch->old_version : NULL,
			 "to", ch->new_version[0] ? ch->new_version : NULL));
	watch_conflicts(w, t, e->root);
out:
	pthread_mutex_unlock(&w->lock);
}

int fs_pkg_watch_add(struct fs *fs, int fd)
{
	struct fs_pkgwatch *w = &watch_static, base;
	struct store_txn *t;
	struct store_env e;
	char *s;
	int r;

	if (fs->pkg_off)
		return -EOPNOTSUPP;
	/* the baseline conflicts, under wlock so no change slips between */
	pthread_mutex_lock(&fs->wlock);
	r = store_txn_begin(fs->st, false, &t);
	if (!r) {
		r = store_env_get(t, fs->opt->env, &e);
		if (!r)
			r = problems_of(t, e.root, &base);
		store_txn_abort(t);
	}
	if (r) {
		pthread_mutex_unlock(&fs->wlock);
		return r;
	}
	pthread_mutex_lock(&w->lock);
	if (w->n == WATCH_MAX) {
		r = -EMFILE;
		pkg_strv_free(base.problems, base.nproblems);
	} else {
		pkg_strv_free(w->problems, w->nproblems);
		w->problems = base.problems;
		w->nproblems = base.nproblems;
		s = json_dumps(
		    json_pack("{s:b,s:s}", "ok", 1, "watching", fs->opt->env),
		    JSON_COMPACT);
		if (s && send(fd, s, strlen(s), MSG_NOSIGNAL) >= 0 &&
		    send(fd, "\n", 1, MSG_NOSIGNAL) == 1)
			w->fds[w->n++] = fd;
		else
			r = -EIO;
		free(s);
	}
	fs->pkgwatch = w;
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&fs->wlock);
	return r;
}

void fs_pkg_watch_release(struct fs *fs)
{
	struct fs_pkgwatch *w = fs->pkgwatch;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	while (w->n)
		close(w->fds[--w->n]);
	pkg_strv_free(w->problems, w->nproblems);
	w->problems = NULL;
	w->nproblems = 0;
	pthread_mutex_unlock(&w->lock);
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
		watch_event(fs, t, e, &ch);
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
	pthread_mutex_lock(&fs->lock);
	n->pkg_pending = false;
	p = n->unlinked || n->linked ? NULL : fs_node_get(fs, n->parent);
	err = p ? fs_node_path(fs, p, true, &names, &depth) : -ENOENT;
	if (!err)
		snprintf(name, sizeof(name), "%s", n->name);
	pthread_mutex_unlock(&fs->lock);
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
