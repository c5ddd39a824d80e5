/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - blastctl's side of blastfs: finding and running the daemon,
 * its run files in STORE/run/ (NAME.info, NAME.sock, NAME.lock), the
 * control socket client, running helper programs, and what
 * /proc/self/mountinfo says about a mountpoint. The daemon_* functions
 * never print: they return 0 or -errno, with details in caller buffers;
 * the ctl_daemon_* ones at the end are blastctl's steps built on them
 * and print why they fail (ctl_daemon_stop, the longest, is in ctl.h).
 *
 * Threads: main thread only (fork, environment changes in the child).
 */
#ifndef BLAST_CTL_DAEMON_H
#define BLAST_CTL_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "store.h"

struct ctl;

#define DAEMON_PROG    "blastfs"
#define DAEMON_ERR_LEN 512 /* room for one error line of a helper */

/* What STORE/run/NAME.info says, and whether its pid is still a running
 * blastfs (not a zombie, /proc/PID/stat names blastfs). mount is where
 * the mount is now: a directory moved (or renamed) with the mount in it
 * takes the mount along, which /proc/self/mountinfo shows under the
 * mount's id (mnt_id); without that id, or when no mount of the env has
 * it any more, mount is the path the daemon was given. */
struct daemon_info {
	pid_t pid;
	bool live;
	int mnt_id; /* 0: unknown (an older blastfs) */
	char mount[PATH_MAX];
};

/* STORE/run into buf, created (0700) if missing, and trusted as the
 * store is (store_home_subdir: ours, not writable by others, no
 * symlink); else -errno and, when known, a reason in why. */
int daemon_run_dir(const char *home, char *buf, size_t len, char *why,
		   size_t whylen);

/* Read RUNDIR/NAME.info. -ENOENT if there is none, -EIO if malformed. */
int daemon_info_read(const char *rundir, const char *name,
		     struct daemon_info *out);

/* True if pid is a running (non-zombie) blastfs. */
bool daemon_pid_live(pid_t pid);

/* The env (name into name[STORE_ENV_NAME_MAX + 1]) whose live daemon
 * serves mountpoint mnt, from RUNDIR/ *.info. -ENOENT if none. */
int daemon_find_by_mount(const char *rundir, const char *mnt, char *name,
			 struct daemon_info *out);
/* The same for an env whose daemon is gone (it may have left a stale
 * mount at mnt). */
int daemon_find_dead_by_mount(const char *rundir, const char *mnt, char *name,
			      struct daemon_info *out);

/*
 * Path of the blastfs to run: $BLASTFS; else fs/blastfs in the build
 * tree of this blastctl (<build>/ctl/blastctl -> <build>/fs/blastfs);
 * else blastfs next to this blastctl (installed); else blastfs on PATH.
 * -ENOENT if none is executable.
 */
int daemon_path(char *buf, size_t len);

/* ---- running programs ---------------------------------------------- */

/* The first executable regular file PROG in $PATH's directories, into
 * buf. -ENOENT if none. */
int daemon_which(const char *prog, char *buf, size_t len);

struct daemon_exec {
	const char *const *argv; /* argv[0] is searched on PATH if no '/' */
	const char *cwd;	 /* NULL: ours */
	/* Variables removed from the child's environment; an entry ending
	 * in '*' removes every variable with that prefix. NULL-terminated,
	 * or NULL. */
	const char *const *unset;
	const char *const *set; /* "K=V" added after that, or NULL */
	char *out;		/* stdout captured here (NUL-terminated,
				   truncated to outlen), or NULL: /dev/null */
	size_t outlen;
	bool err_to_out; /* stderr joins stdout in out; else it is
			    captured in err (or dropped if err is NULL) */
	char *err;
	size_t errlen;
	int timeout_ms; /* kill the child after this (0: no limit) */
	int status;	/* wait status, filled on return 0 */
};

/*
 * Run x->argv with stdin from /dev/null, wait for it to exit (not for
 * grandchildren that keep its pipes open: a daemon's), capture its
 * output. 0 once it has exited (check x->status), -ETIMEDOUT if killed
 * at the timeout, -errno if it could not be started (exec failure shows
 * as exit status 127 with the reason in err/out).
 */
int daemon_exec_run(struct daemon_exec *x);

/* The last non-empty line of s, without a leading "PROG: " if it starts
 * with prog (may be NULL), copied into buf. */
void daemon_last_line(const char *s, const char *prog, char *buf, size_t len);

/*
 * Run blastfs (without -f: it exits once the mount is live) for env
 * `name` of the store in `home` at `mnt`, and wait. -EIO (err holds
 * blastfs's error line) if it failed.
 */
int daemon_start(const char *blastfs, const char *home, const char *name,
		 const char *mnt, char *err, size_t errlen);

/*
 * An unmounted env whose blastfs was killed may have writes only in its
 * write log (STORE/staging/NAME.wlog.*): if it has one, run `blastfs
 * --recover` to put them in the store, and say so. The caller must not
 * hold the env's lock. 0, or -errno after an error line.
 */
int daemon_recover(struct ctl *c, const char *home, const char *name);
/* The same when nobody holds the env's lock (RUNDIR/NAME.lock): else a
 * live daemon has replayed its log itself. */
int daemon_recover_unlocked(struct ctl *c, const char *home, const char *rundir,
			    const char *name);

/* A connection to env name's control socket (fd, or -errno). */
int daemon_connect(const char *rundir, const char *name);

/*
 * Send one request to RUNDIR/NAME.sock, the words of the NULL-terminated
 * argv ({"save", SNAP, "0", MESSAGE, NULL}: any bytes but NUL, each word
 * percent-encoded on one line), and parse the JSON object replied (read
 * until EOF). *out is a new reference. -ENOENT/-ECONNREFUSED (no
 * daemon), -ETIMEDOUT, -EPROTO (not JSON), -EMSGSIZE (the request
 * is over CTLP_REQUEST_MAX). The protocol: store/ctlproto.h.
 */
int daemon_requestv(const char *rundir, const char *name,
		    const char *const *argv, int timeout_ms, json_t **out);
/* daemon_requestv of the one word cmd ("status", "sync"). */
int daemon_request(const char *rundir, const char *name, const char *cmd,
		   int timeout_ms, json_t **out);

/* Wait up to timeout_ms for pid to stop being a running blastfs. 0 once
 * gone, -ETIMEDOUT. */
int daemon_wait_gone(pid_t pid, int timeout_ms);

/* ---- mounts --------------------------------------------------------- */

struct daemon_mount {
	int id;		 /* mountinfo's first field */
	char fstype[64]; /* "fuse.blastfs", "ext4", ... */
	char source[256];
};

/* The mount at exactly mnt (an absolute, canonical path) in
 * /proc/self/mountinfo, the top one if stacked. -ENOENT if none. */
int daemon_mount_find(const char *mnt, struct daemon_mount *out);

/*
 * Unmount mnt: umount2 as root, else fusermount3 -u; `lazy` detaches
 * (MNT_DETACH / fusermount3 -uz). -EBUSY if processes use it, else
 * -errno (err holds fusermount3's message).
 */
int daemon_umount(const char *mnt, bool lazy, char *err, size_t errlen);

enum daemon_mnt_state {
	DAEMON_MNT_NONE,    /* not a mountpoint */
	DAEMON_MNT_LIVE,    /* served by a live daemon of this store */
	DAEMON_MNT_STALE,   /* a FUSE mount whose daemon is gone */
	DAEMON_MNT_FOREIGN, /* anything else mounted there */
};

struct daemon_probe {
	enum daemon_mnt_state state;
	char env[STORE_ENV_NAME_MAX + 1]; /* DAEMON_MNT_LIVE: the env */
	struct daemon_info info;	  /* DAEMON_MNT_LIVE: its daemon */
	struct daemon_mount m;		  /* not DAEMON_MNT_NONE */
};

/*
 * What is mounted at mnt (absolute, canonical). A FUSE mount that no
 * live daemon of this store serves is stale when the kernel says its
 * connection is gone (statfs: ENOTCONN / ECONNABORTED); one that still
 * answers belongs to someone else (DAEMON_MNT_FOREIGN).
 */
int daemon_mount_probe(const char *rundir, const char *mnt,
		       struct daemon_probe *out);

/* Clear a stale mount (lazy unmount). */
int daemon_mount_clear(const char *mnt, char *err, size_t errlen);

/* ---- blastctl's steps (print why they fail) ------------------------- */

struct ctl;

/* Open the store; its directory (absolute) into home, STORE/run
 * (created if missing) into rundir; both PATH_MAX bytes. */
int ctl_daemon_dirs(struct ctl *c, char *home, char *rundir);

/* Clear the stale mount at mnt, saying so on stderr. */
int ctl_daemon_clear_stale(struct ctl *c, const char *mnt);

#endif
