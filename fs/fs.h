/* SPDX-License-Identifier: MIT */
/*
 * fs.h - blastfs, the FUSE daemon that serves one env's live tree out of
 * the store. Run as `blastfs [-f] [-d] [--home DIR] [--threads N] [--spin-us N]
 * [--notify-fd FD] [--allow-other] [--serve-open] [--atime LIST]
 * NAME MOUNTPOINT`.
 *
 * Contract with blastctl (see docs/ARCHITECTURE.md):
 *  - without -f the process forks; the parent exits 0 once the mount is
 *    live, or 1 after printing one error line;
 *  - run files in STORE/run/: NAME.lock (flock held for the daemon's
 *    life: one daemon per env), NAME.info ("pid=N\nmount=PATH\n"),
 *    NAME.sock (0600 control socket: one command line in, one JSON
 *    object out: "status", "sync", "seal", ...);
 *  - the daemon exits by itself, after sealing and syncing, when its
 *    mount goes away (fusermount3 -u / umount);
 *  - `blastfs [--home DIR] --recover NAME` (no mountpoint, foreground)
 *    replays what a killed daemon left in the env's write log into the
 *    store and exits 0 (blastctl runs it before it reads an unmounted
 *    env that has one), or 1 after one error line.
 */
#ifndef BLAST_FS_H
#define BLAST_FS_H

struct fs_options {
	const char *home;  /* store directory */
	const char *env;   /* env name */
	const char *mount; /* absolute mountpoint */
	int foreground;
	int debug;
	int threads;
	int spin_us;   /* after a request, poll the device this long */
	int notify_fd; /* -1: none */
	int allow_other;
	int serve_open; /* answer OPEN and FLUSH (else ENOSYS: io.c) */
	int recover;	/* --recover: replay the write log, do not mount */
	int atime;	/* enum fs_atime: --atime (or BLASTFS_ATIME) */
	int nodiratime; /* directories' atimes are not updated */
};

/* When reads update atime (fs/atime.c), as ext4's mount options. */
enum fs_atime { FS_ATIME_RELATIME, FS_ATIME_STRICT, FS_ATIME_NOATIME };

/* Parse argv into opts. 0, FS_OPTIONS_HELP after printing --help on
 * stdout (exit 0), or an exit status after printing a usage error. */
#define FS_OPTIONS_HELP (-1)
int fs_options_parse(int argc, char **argv, struct fs_options *opts);

/* Run the daemon to completion. Returns the process exit code. */
int fs_run(const struct fs_options *opts);

#endif
