/* SPDX-License-Identifier: MIT */
/*
 * ctlsock.c - the daemon's side of the control socket (the protocol and
 * its commands: store/ctlproto.h): a thread accepts one connection at a
 * time, reads one request line, answers it through handlers[] (indexed
 * by enum ctlproto_cmd), and closes; a `watch` connection is handed to
 * pkgwatch.c and kept.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "fs_internal.h"

static const char *const req_names[R__COUNT] = {
    "lookup",	   "forget",   "getattr",  "setattr",  "readlink",
    "mknod",	   "mkdir",    "unlink",   "rmdir",    "symlink",
    "rename",	   "link",     "open",	   "read",     "write",
    "flush",	   "release",  "fsync",	   "opendir",  "readdir",
    "releasedir",  "fsyncdir", "statfs",   "create",   "ioctl",
    "fallocate",   "lseek",    "setxattr", "getxattr", "listxattr",
    "removexattr",
};

static json_t *status_json(struct fs *fs)
{
	json_t *o = json_object(), *r = json_object();
	struct store_totals tot = {0};
	struct store_txn *t;
	uint64_t backlog = 0, unref = 0, du = 0, mem, nodes;

	for (int i = 0; i < R__COUNT; i++)
		json_object_set_new(
		    r, req_names[i],
		    json_integer((json_int_t)atomic_load(&fs->cnt.req[i])));
	fs_lock(fs);
	for (uint64_t i = 1; i < fs->next_nodeid; i++) {
		struct node *n = fs_node_get(fs, i);

		if (n && n->dirty)
			backlog++;
	}
	mem = fs->mem;
	fs_unlock(fs);
	if (!store_txn_begin(fs->st, false, &t)) {
		store_totals(t, &tot);
		store_reclaim_pending(t, &unref);
		store_txn_abort(t);
	}
	store_disk_usage(fs->st, &du); /* 0 when it fails */
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "env", json_string(fs->opt->env));
	json_object_set_new(o, "mount", json_string(fs->opt->mount));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "threads", json_integer(fs->opt->threads));
	json_object_set_new(o, "spin_us", json_integer(fs->spin_us));
	json_object_set_new(o, "loop_sleeps",
			    json_integer((json_int_t)fs->cnt.loop_sleeps));
	/* the next change takes an automatic snapshot once quiet_ms >=
	 * auto_quiet_ms */
	json_object_set_new(
	    o, "quiet_ms",
	    json_integer((fs_now_ns() - atomic_load(&fs->last_change_ns)) /
			 1000000));
	json_object_set_new(o, "auto_quiet_ms",
			    json_integer(fs->auto_quiet_ns / 1000000));
	json_object_set_new(o, "requests", r);
	json_object_set_new(o, "bytes_read",
			    json_integer((json_int_t)fs->cnt.bytes_read));
	json_object_set_new(o, "bytes_written",
			    json_integer((json_int_t)fs->cnt.bytes_written));
	json_object_set_new(o, "files_sealed",
			    json_integer((json_int_t)fs->cnt.sealed));
	json_object_set_new(o, "blobs_deduped",
			    json_integer((json_int_t)fs->cnt.deduped));
	json_object_set_new(o, "sealed_in_frames",
			    json_integer((json_int_t)fs->cnt.sealed_framed));
	json_object_set_new(o, "package_updates",
			    json_integer((json_int_t)fs->cnt.pkg_updates));
	json_object_set_new(o, "sealing_backlog",
			    json_integer((json_int_t)backlog));
	json_object_set_new(
	    o, "opens",
	    json_string(atomic_load(&fs->open_mode) == FS_OPEN_NONE ? "kernel"
			: atomic_load(&fs->open_mode) == FS_OPEN_SERVED
			    ? "served"
			    : "undecided"));
	json_object_set_new(o, "content_memory_bytes",
			    json_integer((json_int_t)mem));
	json_object_set_new(
	    o, "write_log_bytes",
	    json_integer((json_int_t)atomic_load(&fs->wlog.bytes)));
	json_object_set_new(
	    o, "sealer_passes",
	    json_integer((json_int_t)atomic_load(&fs->sealer.passes)));
	json_object_set_new(
	    o, "atime_pending",
	    json_integer((json_int_t)atomic_load(&fs->atime_pending)));
	json_object_set_new(
	    o, "atime_flushes",
	    json_integer((json_int_t)atomic_load(&fs->atime_flushes)));
	json_object_set_new(
	    o, "sealer_errors",
	    json_integer((json_int_t)atomic_load(&fs->sealer.errors)));
	pthread_mutex_lock(&fs->dur.mu);
	json_object_set_new(o, "sync_requests",
			    json_integer((json_int_t)fs->dur.requests));
	json_object_set_new(o, "syncs",
			    json_integer((json_int_t)fs->dur.syncs));
	pthread_mutex_unlock(&fs->dur.mu);
	json_object_set_new(
	    o, "reclaim_passes",
	    json_integer((json_int_t)atomic_load(&fs->reclaim.passes)));
	json_object_set_new(
	    o, "reclaimed_blobs",
	    json_integer((json_int_t)atomic_load(&fs->reclaim.blobs)));
	json_object_set_new(
	    o, "reclaimed_bytes",
	    json_integer((json_int_t)atomic_load(&fs->reclaim.bytes)));
	json_object_set_new(
	    o, "reclaim_errors",
	    json_integer((json_int_t)atomic_load(&fs->reclaim.errors)));
	json_object_set_new(
	    o, "repacked_bytes",
	    json_integer((json_int_t)atomic_load(&fs->reclaim.repacked)));
	json_object_set_new(
	    o, "pack_files_removed",
	    json_integer((json_int_t)atomic_load(&fs->reclaim.files_removed)));
	json_object_set_new(o, "store_disk_bytes",
			    json_integer((json_int_t)du));
	json_object_set_new(o, "unreferenced_blobs",
			    json_integer((json_int_t)unref));
	json_object_set_new(
	    o, "readdir_listings_lost",
	    json_integer((json_int_t)atomic_load(&fs->dirlist_lost)));
	fs_lock(fs); /* next_nodeid is under fs->lock (ThreadSanitizer) */
	nodes = fs->next_nodeid;
	fs_unlock(fs);
	json_object_set_new(o, "nodes", json_integer((json_int_t)nodes));
	json_object_set_new(o, "lmdb_map_used",
			    json_integer((json_int_t)tot.map_used));
	json_object_set_new(o, "lmdb_map_size",
			    json_integer((json_int_t)tot.map_size));
	return o;
}

static json_t *fail_json(const char *what, int err)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: %s", what,
		 err == -EEXIST	  ? "a snapshot of that name exists"
		 : err == -ENOENT ? "no such snapshot"
		 : err == -EINVAL ? "invalid snapshot name"
				  : strerror(-err));
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

#define REQ_READ_TIMEOUT_S 10
#define REQ_DRAIN_MAX	   (16 * CTLP_REQUEST_MAX)

static json_t *error_json(const char *msg)
{
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

/* SNAP AUTO MESSAGE */
static json_t *do_save(struct fs *fs, char **w)
{
	char msg[64];
	int err;

	if (strcmp(w[2], "0") && strcmp(w[2], "1"))
		return error_json("usage: save SNAP AUTO MESSAGE");
	if (strlen(w[3]) >= sizeof(((struct store_snap *)0)->message)) {
		snprintf(msg, sizeof(msg), "message longer than %zu bytes",
			 sizeof(((struct store_snap *)0)->message) - 1);
		return error_json(msg);
	}
	err = fs_snap_save(fs, w[1], w[2][0] == '1', w[3]);
	if (err)
		return fail_json(w[1], err);
	return json_pack("{s:b,s:s}", "ok", 1, "snapshot", w[1]);
}

static json_t *do_load(struct fs *fs, char **w)
{
	const char *name = w[1];
	char auto_name[STORE_ENV_NAME_MAX + 1], who[768], msg[900];
	unsigned busy = 0;
	int err = fs_snap_load(fs, name, auto_name, sizeof(auto_name), &busy,
			       who, sizeof(who));

	if (err == -EBUSY) {
		snprintf(msg, sizeof(msg), "files open for writing: %u%s%s",
			 busy, *who ? ": " : "", who);
		return error_json(msg);
	}
	if (err)
		return fail_json(name, err);
	return json_pack("{s:b,s:s,s:s?}", "ok", 1, "loaded", name,
			 "auto_saved", auto_name[0] ? auto_name : NULL);
}

/* Read one request line (up to '\n' or EOF) into buf[CTLP_REQUEST_MAX];
 * -EMSGSIZE if it is longer. */
static int req_read(int c, char *buf)
{
	size_t n = 0;

	for (;;) {
		ssize_t got = read(c, buf + n, CTLP_REQUEST_MAX - n);
		char *nl;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		nl = memchr(buf + n, '\n', (size_t)got);
		n += (size_t)got;
		if (nl) {
			*nl = '\0';
			return 0;
		}
		if (got == 0 && n) {
			buf[n] = '\0';
			return 0;
		}
		if (got == 0)
			return -ENODATA;
		if (n == CTLP_REQUEST_MAX)
			return -EMSGSIZE;
	}
}

/* After the reply to an oversize request: read what the client still
 * sends (up to REQ_DRAIN_MAX, within the read timeout), as closing a
 * socket with unread data resets it and the client would lose the
 * reply. */
static void req_drain(int c)
{
	char buf[4096];
	size_t total = 0;
	ssize_t got;

	shutdown(c, SHUT_WR);
	while (total < REQ_DRAIN_MAX &&
	       ((got = read(c, buf, sizeof(buf))) > 0 ||
		(got < 0 && errno == EINTR)))
		total += got > 0 ? (size_t)got : 0;
}

/* The peer is our own uid or root. */
static bool peer_allowed(int c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

static json_t *simple_json(int err)
{
	return err ? error_json(strerror(-err)) : json_pack("{s:b}", "ok", 1);
}

static json_t *do_status(struct fs *fs, char **w)
{
	return status_json(fs);
}

/* seal: what was written is in the store (the sealer's backlog done
 * now); sync: and on disk */
static json_t *do_seal(struct fs *fs, char **w)
{
	return simple_json(fs_seal_all(fs));
}

static json_t *do_sync(struct fs *fs, char **w)
{
	int err = fs_seal_all(fs);

	if (!err)
		err = fs_atime_flush(fs);
	return simple_json(err ? err : fs_durable(fs));
}

static json_t *do_policy_reload(struct fs *fs, char **w)
{
	return simple_json(fs_pol_reload(fs, true));
}

static json_t *do_audit_flush(struct fs *fs, char **w)
{
	return simple_json(fs_pol_flush(fs));
}

static json_t *do_pkg_refresh(struct fs *fs, char **w)
{
	fs_pkg_watch_refresh(fs);
	return simple_json(0);
}

/* CTLP_WATCH is answered in serve(): it keeps the connection. */
static json_t *(*const handlers[CTLP__COUNT])(struct fs *, char **) = {
    [CTLP_STATUS] = do_status,
    [CTLP_SYNC] = do_sync,
    [CTLP_SEAL] = do_seal,
    [CTLP_POLICY_RELOAD] = do_policy_reload,
    [CTLP_AUDIT_FLUSH] = do_audit_flush,
    [CTLP_PKG_REFRESH] = do_pkg_refresh,
    [CTLP_SAVE] = do_save,
    [CTLP_LOAD] = do_load,
};

static json_t *dispatch(struct fs *fs, char **w, int n)
{
	int cmd = ctlproto_cmd_find(w[0]);
	char msg[96];

	if (cmd < 0 || !handlers[cmd])
		return error_json("unknown command");
	if ((unsigned)n != ctlproto_cmds[cmd].words) {
		snprintf(msg, sizeof(msg), "usage: %s",
			 ctlproto_cmds[cmd].usage);
		return error_json(msg);
	}
	return handlers[cmd](fs, w);
}

static void reply(int c, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (s) {
		size_t len = strlen(s), off = 0;

		while (off < len) {
			ssize_t w = write(c, s + off, len - off);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
		if (write(c, "\n", 1) < 0)
			off = 0;
	}
	free(s);
	json_decref(o);
}

/* Answer one request; true when c was kept (a `watch` client). */
static bool serve(struct fs *fs, int c)
{
	struct timeval tv = {REQ_READ_TIMEOUT_S, 0};
	char *line, *w[CTLP_WORDS_MAX], msg[64];
	json_t *o;
	int n;

	/* a client that never sends must not hold the socket's thread */
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!peer_allowed(c)) {
		reply(c, error_json("permission denied: not the owner of this "
				    "blastfs"));
		req_drain(c);
		return false;
	}
	line = malloc(CTLP_REQUEST_MAX + 1);
	if (!line) {
		reply(c, error_json(strerror(ENOMEM)));
		req_drain(c);
		return false;
	}
	n = req_read(c, line);
	if (n == -EMSGSIZE) {
		snprintf(msg, sizeof(msg), "request longer than %d bytes",
			 CTLP_REQUEST_MAX);
		o = error_json(msg);
	} else if (n < 0) {
		o = NULL;
	} else if ((n = ctlproto_split(line, w, CTLP_WORDS_MAX)) < 0) {
		o = error_json("malformed request");
	} else if (n == 1 && ctlproto_cmd_find(w[0]) == CTLP_WATCH &&
		   !(n = fs_pkg_watch_add(fs, c))) {
		free(line);
		return true;
	} else if (n < 0) {
		o = error_json(strerror(-n)); /* watch refused */
	} else {
		o = dispatch(fs, w, n);
	}
	free(line);
	reply(c, o);
	if (n == -EMSGSIZE)
		req_drain(c);
	return false;
}

static void *ctl_main(void *arg)
{
	struct fs *fs = arg;

	for (;;) {
		int c = accept4(fs->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* socket shut down: we are exiting */
		}
		if (!serve(fs, c))
			close(c);
	}
	return NULL;
}

int fs_ctl_start(struct fs *fs)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int err;

	if (strlen(fs->run_sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, fs->run_sock, strlen(fs->run_sock) + 1);
	fs->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fs->ctl_fd < 0)
		return -errno;
	unlink(fs->run_sock);
	old = umask(0177);
	err = bind(fs->ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err < 0 || listen(fs->ctl_fd, 16) < 0) {
		err = -errno;
		close(fs->ctl_fd);
		fs->ctl_fd = -1;
		return err;
	}
	err = pthread_create(&fs->ctl_thread, NULL, ctl_main, fs);
	if (err) {
		close(fs->ctl_fd);
		fs->ctl_fd = -1;
		return -err;
	}
	return 0;
}

void fs_ctl_stop(struct fs *fs)
{
	if (fs->ctl_fd < 0)
		return;
	shutdown(fs->ctl_fd, SHUT_RDWR);
	pthread_join(fs->ctl_thread, NULL);
	close(fs->ctl_fd);
	fs->ctl_fd = -1;
	unlink(fs->run_sock);
}
