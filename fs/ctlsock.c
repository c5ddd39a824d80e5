/* SPDX-License-Identifier: MIT */
/*
 * ctlsock.c - the daemon's control socket (STORE/run/NAME.sock, 0600):
 * one command line in, one JSON object out, then close. Commands:
 * "status" (live metrics) and "sync" (seal every written file, sync LMDB),
 * "policy-reload" (apply the stored policy now), "audit-flush" (write
 * buffered policy denials to the store).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs_internal.h"

static const char *const req_names[R__COUNT] = {
    "lookup",	  "forget",   "getattr", "setattr", "readlink",
    "mknod",	  "mkdir",    "unlink",	 "rmdir",   "symlink",
    "rename",	  "link",     "open",	 "read",    "write",
    "flush",	  "release",  "fsync",	 "opendir", "readdir",
    "releasedir", "fsyncdir", "statfs",	 "create",  "ioctl",
};

static json_t *status_json(struct fs *fs)
{
	json_t *o = json_object(), *r = json_object();
	struct store_totals tot = {0};
	struct store_txn *t;
	uint64_t backlog = 0, mem;

	for (int i = 0; i < R__COUNT; i++)
		json_object_set_new(
		    r, req_names[i],
		    json_integer((json_int_t)atomic_load(&fs->cnt.req[i])));
	pthread_mutex_lock(&fs->lock);
	for (uint64_t i = 1; i < fs->next_nodeid; i++) {
		struct node *n = fs_node_get(fs, i);

		if (n && n->dirty)
			backlog++;
	}
	mem = fs->mem;
	pthread_mutex_unlock(&fs->lock);
	if (!store_txn_begin(fs->st, false, &t)) {
		store_totals(t, &tot);
		store_txn_abort(t);
	}
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "env", json_string(fs->opt->env));
	json_object_set_new(o, "mount", json_string(fs->opt->mount));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "threads", json_integer(fs->opt->threads));
	json_object_set_new(o, "spin_us", json_integer(fs->spin_us));
	json_object_set_new(o, "requests", r);
	json_object_set_new(o, "bytes_read",
			    json_integer((json_int_t)fs->cnt.bytes_read));
	json_object_set_new(o, "bytes_written",
			    json_integer((json_int_t)fs->cnt.bytes_written));
	json_object_set_new(o, "files_sealed",
			    json_integer((json_int_t)fs->cnt.sealed));
	json_object_set_new(o, "blobs_deduped",
			    json_integer((json_int_t)fs->cnt.deduped));
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
	    o, "sealer_errors",
	    json_integer((json_int_t)atomic_load(&fs->sealer.errors)));
	pthread_mutex_lock(&fs->dur.mu);
	json_object_set_new(o, "sync_requests",
			    json_integer((json_int_t)fs->dur.requests));
	json_object_set_new(o, "syncs",
			    json_integer((json_int_t)fs->dur.syncs));
	pthread_mutex_unlock(&fs->dur.mu);
	json_object_set_new(
	    o, "readdir_listings_lost",
	    json_integer((json_int_t)atomic_load(&fs->dirlist_lost)));
	json_object_set_new(o, "nodes",
			    json_integer((json_int_t)fs->next_nodeid));
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

/* "SNAP AUTO MESSAGE..." */
static json_t *do_save(struct fs *fs, char *args)
{
	char *sp = strchr(args, ' '), *msg = "";
	bool automatic = false;
	int err;

	if (sp) {
		*sp = '\0';
		automatic = sp[1] == '1';
		msg = sp[1] && sp[2] == ' ' ? sp + 3 : "";
	}
	err = fs_snap_save(fs, args, automatic, msg);
	if (err)
		return fail_json(args, err);
	return json_pack("{s:b,s:s}", "ok", 1, "snapshot", args);
}

static json_t *do_load(struct fs *fs, char *name)
{
	char auto_name[STORE_ENV_NAME_MAX + 1], msg[64];
	unsigned busy = 0;
	int err = fs_snap_load(fs, name, auto_name, sizeof(auto_name), &busy);

	if (err == -EBUSY) {
		snprintf(msg, sizeof(msg), "files open for writing: %u", busy);
		return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	}
	if (err)
		return fail_json(name, err);
	return json_pack("{s:b,s:s,s:s?}", "ok", 1, "loaded", name,
			 "auto_saved", auto_name[0] ? auto_name : NULL);
}

/* Answer one request; true when c was kept (a `watch` client). */
static bool serve(struct fs *fs, int c)
{
	char line[1024];
	ssize_t n = read(c, line, sizeof(line) - 1);
	json_t *o;
	char *s;
	int err;

	if (n <= 0)
		return false;
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (!strcmp(line, "watch") && fs_pkg_watch_add(fs, c) == 0)
		return true;
	if (!strcmp(line, "status")) {
		o = status_json(fs);
	} else if (!strcmp(line, "sync") || !strcmp(line, "seal")) {
		/* seal: what was written is in the store (the sealer's
		 * backlog done now); sync: and on disk */
		err = fs_seal_all(fs);
		if (!err && !strcmp(line, "sync"))
			err = fs_durable(fs);
		o = err ? json_pack("{s:b,s:s}", "ok", 0, "error",
				    strerror(-err))
			: json_pack("{s:b}", "ok", 1);
	} else if (!strcmp(line, "policy-reload") ||
		   !strcmp(line, "audit-flush")) {
		err =
		    line[0] == 'p' ? fs_pol_reload(fs, true) : fs_pol_flush(fs);
		o = err ? json_pack("{s:b,s:s}", "ok", 0, "error",
				    strerror(-err))
			: json_pack("{s:b}", "ok", 1);
	} else if (!strncmp(line, "save ", 5)) {
		o = do_save(fs, line + 5);
	} else if (!strncmp(line, "load ", 5)) {
		o = do_load(fs, line + 5);
	} else {
		o = json_pack("{s:b,s:s}", "ok", 0, "error", "unknown command");
	}
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
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
