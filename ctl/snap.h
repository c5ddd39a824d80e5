/* SPDX-License-Identifier: MIT */
/*
 * snap.h - what the snapshot commands (save, load, snapshots,
 * rm-snapshot, undo, diff, destroy, create --from) share: resolving the
 * env they act on and whether a live blastfs serves it, the daemon's
 * control-socket requests, and the unmounted load done in the store.
 *
 * Mounted or not is decided by the env's lock (STORE/run/NAME.lock),
 * which blastfs holds for as long as it runs: blastctl takes it for an
 * unmounted operation and keeps it until snap_target_close, so no daemon
 * can start on the env halfway through. Failing to take it means a
 * daemon serves the env: its control socket is used instead.
 *
 * Every function here prints why it fails (ctl_err) and returns -errno.
 * Main thread only.
 */
#ifndef BLAST_CTL_SNAP_H
#define BLAST_CTL_SNAP_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "store.h"

struct ctl;

struct snap_target {
	struct ctl *c;
	struct store *st;
	char home[PATH_MAX], rundir[PATH_MAX];
	char name[STORE_ENV_NAME_MAX + 1];
	bool mounted; /* a live blastfs (pid) serves the env */
	pid_t pid;
	char mnt[PATH_MAX]; /* mounted: where */
	int lock_fd;	    /* unmounted: the env's lock, held; else -1 */
	bool recovered;	    /* its write log was looked at (daemon_recover) */
};

/*
 * Resolve env `name` (NULL: the env mounted at ./.blast) in c's store
 * and find out whether it is mounted; unmounted, take its lock.
 * -ENOENT for an unknown env, -EBUSY if another blastctl holds the lock
 * of an unmounted env. Release with snap_target_close (also after a
 * failure; tg must be zeroed or opened first).
 */
int snap_target_open(struct ctl *c, const char *name, struct snap_target *out);
void snap_target_close(struct snap_target *tg);

/* Send `cmd` to the env's daemon; a reply without "ok": true is -EIO
 * with the daemon's "error" printed. *out is a new reference. */
int snap_request(struct snap_target *tg, const char *cmd, int timeout_ms,
		 json_t **out);
/* The same for a request of several words (daemon_requestv). */
int snap_requestv(struct snap_target *tg, const char *const *argv,
		  int timeout_ms, json_t **out);

/* env `name`'s snapshots, oldest first (ties by name). *out is malloc'd
 * (NULL when there are none). Read or write txn. */
int snap_list(struct store_txn *t, const struct store_env *e,
	      struct store_snap **out, size_t *n);

/* The first free automatic name `auto-YYYYmmdd-HHMMSS-N` (local time,
 * N from 1) into out[STORE_ENV_NAME_MAX + 1]. */
int snap_auto_name(struct store_txn *t, const struct store_env *e, char *out);

/*
 * Load snapshot `snap` into the (unmounted, locked) env: if its live
 * root is no snapshot's root, save it first as an automatic snapshot
 * (its name into auto_saved, else ""), then point the live root at the
 * snapshot's. One write txn: all or nothing.
 */
int snap_load_store(struct snap_target *tg, const char *snap,
		    char auto_saved[STORE_ENV_NAME_MAX + 1]);

/*
 * Load `snap` whichever way the env is served and say what happened
 * (status lines: loaded, the automatic snapshot taken, the time).
 */
int snap_load(struct snap_target *tg, const char *snap);

/* Usage error for an invalid env or snapshot name (what: "env",
 * "snapshot"); returns CTL_EXIT_USAGE. */
int snap_name_usage(struct ctl *c, const char *what, const char *name);

#endif
