/* SPDX-License-Identifier: MIT */
/*
 * pkgwatch.c - `watch` clients of the package layer: each gets one JSON
 * line per event, written non-blocking (a client that cannot keep up is
 * dropped). Whatever changed the state (a record change from fs/pkg.c
 * inside its write txn, a snapshot load or undo flipping the root, a
 * `clean` rescan by blastctl), the installed set, the conflicts (pip
 * check lines) and the project's declared-requirement problems are
 * recomputed and diffed with what the clients were last told. While
 * there are clients, an inotify thread watches the project directory (the
 * one holding the mount) and recomputes the declared problems when a
 * *.txt file in it changes.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "fs_internal.h"
#include "pkgstate.h"

#define WATCH_MAX 16

struct lines {
	char **v; /* sorted */
	size_t n;
};

struct fs_pkgwatch {
	pthread_mutex_t lock; /* all below; taken under wlock, never the
				 other way round */
	int fds[WATCH_MAX];
	unsigned n;
	struct lines dists; /* "norm version", as last announced */
	struct lines conflicts, declared;
	char project[PATH_MAX];
	int ifd; /* inotify, or -1 */
	pthread_t thread;
	bool running, stop;
};

static struct fs_pkgwatch watch_static = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .ifd = -1,
};

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

static void lines_release(struct lines *l)
{
	pkg_strv_free(l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

static int conflict_line(void *arg, const struct pkg_problem *p)
{
	struct lines *l = arg;

	return pkg_strv_push(&l->v, &l->n, p->line, strlen(p->line));
}

static void declared_line(void *arg, const char *problem)
{
	struct lines *l = arg;

	pkg_strv_push(&l->v, &l->n, problem, strlen(problem));
}

/* "norm version" of each distribution with a version. */
static int dist_lines(const struct pkg_dist *d, size_t n, struct lines *out)
{
	char line[1024];
	size_t i;
	int r = 0;

	for (i = 0; !r && i < n; i++) {
		int len;

		if (!d[i].norm || !d[i].version)
			continue;
		len = snprintf(line, sizeof(line), "%s %s", d[i].norm,
			       d[i].version);
		if (len > 0 && (size_t)len < sizeof(line))
			r = pkg_strv_push(&out->v, &out->n, line, (size_t)len);
	}
	return r;
}

/* The installed set, conflicts and declared problems of root's state. */
static int compute(struct fs_pkgwatch *w, struct store_txn *t, uint64_t root,
		   struct lines *dists, struct lines *conflicts,
		   struct lines *declared)
{
	struct pkg_markerenv env;
	struct pkg_dist *d = NULL;
	size_t n = 0, files;
	long r;

	memset(dists, 0, sizeof(*dists));
	memset(conflicts, 0, sizeof(*conflicts));
	memset(declared, 0, sizeof(*declared));
	if (pkgstate_markers_get(t, root, &env))
		memset(&env, 0, sizeof(env));
	r = pkgstate_load(t, root, &d, &n);
	if (!r)
		r = dist_lines(d, n, dists);
	if (!r)
		r = pkg_check(d, n, &env, conflict_line, conflicts);
	if (r >= 0 && w->project[0])
		r = pkg_declared_check(w->project, d, n, &env, declared_line,
				       declared, &files);
	pkgstate_free(d, n);
	if (r < 0) {
		lines_release(dists);
		lines_release(conflicts);
		lines_release(declared);
		return (int)r;
	}
	if (dists->n)
		qsort(dists->v, dists->n, sizeof(char *), cmp_str);
	if (conflicts->n)
		qsort(conflicts->v, conflicts->n, sizeof(char *), cmp_str);
	if (declared->n)
		qsort(declared->v, declared->n, sizeof(char *), cmp_str);
	return 0;
}

static bool has(const struct lines *l, const char *s)
{
	return l->n && bsearch(&s, l->v, l->n, sizeof(char *), cmp_str);
}

/* Send what appeared (as `on`) and went (as `off`); now replaces old. */
static void diff_send(struct fs_pkgwatch *w, struct lines *old,
		      struct lines *now, const char *on, const char *off)
{
	size_t k;

	for (k = 0; k < now->n; k++)
		if (!has(old, now->v[k]))
			watch_send(w, json_pack("{s:s,s:s}", "event", on,
						"line", now->v[k]));
	for (k = 0; k < old->n; k++)
		if (!has(now, old->v[k]))
			watch_send(w, json_pack("{s:s,s:s}", "event", off,
						"line", old->v[k]));
	lines_release(old);
	*old = *now;
}

/* One event for a distribution whose version went from old to now (""
 * for none). */
static void dist_send(struct fs_pkgwatch *w, const char *norm, const char *old,
		      const char *now)
{
	struct pkg_version a, b;
	const char *what;

	if (!*old)
		what = "installed";
	else if (!*now)
		what = "removed";
	else if (pkg_version_parse_any(old, strlen(old), &a, NULL) ||
		 pkg_version_parse_any(now, strlen(now), &b, NULL))
		what = "changed";
	else
		what = pkg_version_cmp(&a, &b) < 0   ? "upgraded"
		       : pkg_version_cmp(&a, &b) > 0 ? "downgraded"
						     : "changed";
	watch_send(w, json_pack("{s:s,s:s,s:s?,s:s?}", "event", what, "name",
				norm, "from", *old ? old : NULL, "to",
				*now ? now : NULL));
}

/* Split "norm version" (in place). */
static const char *dist_split(char *line, const char **version)
{
	char *sp = strchr(line, ' ');

	*version = sp ? sp + 1 : "";
	if (sp)
		*sp = '\0';
	return line;
}

/* Events for what differs between two sorted installed sets; now
 * replaces old (both consumed). */
static void dists_send(struct fs_pkgwatch *w, struct lines *old,
		       struct lines *now)
{
	size_t i = 0, j = 0;

	while (i < old->n || j < now->n) {
		char a[1024], b[1024];
		const char *na = NULL, *nb = NULL, *va = "", *vb = "";
		int c;

		if (i < old->n) {
			snprintf(a, sizeof(a), "%s", old->v[i]);
			na = dist_split(a, &va);
		}
		if (j < now->n) {
			snprintf(b, sizeof(b), "%s", now->v[j]);
			nb = dist_split(b, &vb);
		}
		c = !na ? 1 : !nb ? -1 : strcmp(na, nb);
		if (c < 0) {
			dist_send(w, na, va, "");
			i++;
		} else if (c > 0) {
			dist_send(w, nb, "", vb);
			j++;
		} else {
			if (strcmp(va, vb))
				dist_send(w, na, va, vb);
			i++;
			j++;
		}
	}
	lines_release(old);
	*old = *now;
}

/* Recompute and send the differences (under w->lock). */
static void refresh(struct fs_pkgwatch *w, struct store_txn *t, uint64_t root)
{
	struct lines i, c, d;

	if (compute(w, t, root, &i, &c, &d))
		return;
	dists_send(w, &w->dists, &i);
	diff_send(w, &w->conflicts, &c, "conflict", "resolved");
	diff_send(w, &w->declared, &d, "declared", "declared-resolved");
}

void fs_pkg_watch_event(struct fs *fs, struct store_txn *t,
			const struct store_env *e,
			const struct pkgstate_change *ch)
{
	struct fs_pkgwatch *w = fs->pkgwatch;

	(void)ch; /* the whole state is diffed: one path for every cause */
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->n)
		refresh(w, t, e->root);
	pthread_mutex_unlock(&w->lock);
}

void fs_pkg_watch_refresh(struct fs *fs)
{
	struct fs_pkgwatch *w = fs->pkgwatch;
	struct store_txn *t;
	struct store_env e;

	if (!w)
		return;
	pthread_mutex_lock(&fs->wlock);
	pthread_mutex_lock(&w->lock);
	if (w->n && !store_txn_begin(fs->st, false, &t)) {
		if (!store_env_get(t, fs->opt->env, &e))
			refresh(w, t, e.root);
		store_txn_abort(t);
	}
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&fs->wlock);
}

/* ---- the project's requirements files ---- */

static bool txt_event(const char *buf, ssize_t len)
{
	const struct inotify_event *ev;
	bool any = false;
	ssize_t i;

	for (i = 0; i < len; i += (ssize_t)sizeof(*ev) + ev->len) {
		ev = (const struct inotify_event *)(buf + i);
		if (ev->len) {
			size_t l = strlen(ev->name);

			any =
			    any || (l > 4 && !strcmp(ev->name + l - 4, ".txt"));
		}
	}
	return any;
}

static void *inotify_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_pkgwatch *w = fs->pkgwatch;
	char buf[8192] __attribute__((aligned(8)));
	struct store_txn *t;
	struct store_env e;
	struct pollfd p;
	ssize_t len;

	for (;;) {
		p = (struct pollfd){.fd = w->ifd, .events = POLLIN};
		pthread_mutex_lock(&w->lock);
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		pthread_mutex_unlock(&w->lock);
		if (poll(&p, 1, 200) <= 0)
			continue;
		len = read(w->ifd, buf, sizeof(buf));
		if (len <= 0 || !txt_event(buf, len))
			continue;
		if (store_txn_begin(fs->st, false, &t))
			continue;
		pthread_mutex_lock(&w->lock);
		if (w->n && !store_env_get(t, fs->opt->env, &e))
			refresh(w, t, e.root);
		pthread_mutex_unlock(&w->lock);
		store_txn_abort(t);
	}
	return NULL;
}

/* Under w->lock: the inotify thread, once. Without it, declared
 * problems still follow package changes. */
static void inotify_start(struct fs *fs, struct fs_pkgwatch *w)
{
	if (w->running || !w->project[0])
		return;
	w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->ifd < 0)
		return;
	if (inotify_add_watch(w->ifd, w->project,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
				  IN_DELETE | IN_CREATE) < 0 ||
	    pthread_create(&w->thread, NULL, inotify_main, fs)) {
		close(w->ifd);
		w->ifd = -1;
		return;
	}
	w->running = true;
}

static void project_of(const char *mount, char *out, size_t len)
{
	const char *slash = strrchr(mount, '/');

	if (slash && slash != mount)
		snprintf(out, len, "%.*s", (int)(slash - mount), mount);
	else
		out[0] = 0;
}

int fs_pkg_watch_add(struct fs *fs, int fd)
{
	struct fs_pkgwatch *w = &watch_static;
	struct lines i, c, d;
	struct store_txn *t;
	struct store_env e;
	char *s;
	int r;

	if (fs->pkg_off)
		return -EOPNOTSUPP;
	/* the baseline, under wlock so that no change slips between */
	pthread_mutex_lock(&fs->wlock);
	pthread_mutex_lock(&w->lock);
	fs->pkgwatch = w;
	if (!w->project[0])
		project_of(fs->opt->mount, w->project, sizeof(w->project));
	r = w->n == WATCH_MAX ? -EMFILE : store_txn_begin(fs->st, false, &t);
	if (!r) {
		r = store_env_get(t, fs->opt->env, &e);
		if (!r)
			r = compute(w, t, e.root, &i, &c, &d);
		store_txn_abort(t);
	}
	if (!r) {
		lines_release(&w->dists);
		lines_release(&w->conflicts);
		lines_release(&w->declared);
		w->dists = i;
		w->conflicts = c;
		w->declared = d;
		json_t *hello =
		    json_pack("{s:b,s:s}", "ok", 1, "watching", fs->opt->env);

		s = hello ? json_dumps(hello, JSON_COMPACT) : NULL;
		json_decref(hello);
		if (s && send(fd, s, strlen(s), MSG_NOSIGNAL) >= 0 &&
		    send(fd, "\n", 1, MSG_NOSIGNAL) == 1)
			w->fds[w->n++] = fd;
		else
			r = -EIO;
		free(s);
	}
	if (!r)
		inotify_start(fs, w);
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&fs->wlock);
	return r;
}

void fs_pkg_watch_release(struct fs *fs)
{
	struct fs_pkgwatch *w = fs->pkgwatch;
	bool running;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	running = w->running;
	pthread_mutex_unlock(&w->lock);
	if (running)
		pthread_join(w->thread, NULL);
	pthread_mutex_lock(&w->lock);
	w->running = false;
	if (w->ifd >= 0)
		close(w->ifd);
	w->ifd = -1;
	while (w->n)
		close(w->fds[--w->n]);
	lines_release(&w->dists);
	lines_release(&w->conflicts);
	lines_release(&w->declared);
	pthread_mutex_unlock(&w->lock);
}
