/* SPDX-License-Identifier: MIT */
/*
 * main.c - blastfs startup and shutdown: options, checks that give clear
 * errors before anything changes, daemonizing before LMDB is opened
 * (readiness is reported to the starting process through a pipe), the
 * one-daemon-per-env lock, run files, the FUSE session and its end.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs_internal.h"
#include "fs_xattr.h"

static int report_fd = -1; /* pipe to the starting process */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Say why we cannot start: to the starter when daemonized, else stderr. */
static void fail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (report_fd >= 0 && write(report_fd, buf, (size_t)n) < 0)
		report_fd = -1;
	fprintf(stderr, "blastfs: %.*s", n, buf);
}

#define USAGE                                                                  \
	"usage: blastfs [-f] [-d] [--home DIR] [--threads N] [--spin-us N] "   \
	"[--notify-fd FD] [--allow-other] [--serve-open] [--atime LIST] "      \
	"NAME MOUNTPOINT\n"                                                    \
	"       blastfs [--home DIR] --recover NAME\n"

static void usage(void)
{
	fputs(USAGE, stderr);
}

/* --help: the usage and what each option does, on stdout. */
static void help(void)
{
	fputs(
	    USAGE
	    "\nserve env NAME of the store at MOUNTPOINT (an empty directory)\n"
	    "\n"
	    "  -f              stay in the foreground\n"
	    "  -d              debug: log every request (implies -f)\n"
	    "  --home DIR      the store's directory (default: $BLAST_HOME,\n"
	    "                  else "
	    "${XDG_DATA_HOME:-$HOME/.local/share}/blast)\n"
	    "  --threads N     request workers, 1 to 256 (default 4)\n"
	    "  --spin-us N     after a request, poll the device N "
	    "microseconds\n"
	    "                  (0 to 100000, default 2000; or "
	    "BLASTFS_SPIN_US)\n"
	    "  --notify-fd FD  write 'ready' to FD once serving\n"
	    "  --allow-other   let other users use the mount "
	    "(user_allow_other)\n"
	    "  --serve-open    answer open and flush requests (or\n"
	    "                  BLASTFS_SERVE_OPEN=1)\n"
	    "  --atime LIST    when reads update atime: relatime "
	    "(default),\n"
	    "                  strictatime or noatime, and nodiratime "
	    "(comma-\n"
	    "                  separated; or BLASTFS_ATIME)\n"
	    "  --recover       replay env NAME's write log, then exit\n"
	    "  -h, --help      this help\n",
	    stdout);
}

/* --atime LIST (BLASTFS_ATIME): comma-separated mount words. */
static int parse_atime(const char *arg, struct fs_options *o)
{
	char buf[128], *save = NULL, *w;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "relatime")) {
			o->atime = FS_ATIME_RELATIME;
		} else if (!strcmp(w, "strictatime")) {
			o->atime = FS_ATIME_STRICT;
		} else if (!strcmp(w, "noatime")) {
			o->atime = FS_ATIME_NOATIME;
		} else if (!strcmp(w, "nodiratime")) {
			o->nodiratime = 1;
		} else if (!strcmp(w, "diratime")) {
			o->nodiratime = 0;
		} else {
			fprintf(stderr,
				"blastfs: --atime (BLASTFS_ATIME) takes "
				"relatime, strictatime, noatime, "
				"nodiratime: not '%s'\n",
				w);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_spin(const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (!*arg || *end || v < 0 || v > 100000) {
		fprintf(stderr, "blastfs: --spin-us (BLASTFS_SPIN_US) takes 0 "
				"to 100000 microseconds\n");
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

int fs_options_parse(int argc, char **argv, struct fs_options *o)
{
	static const struct option longopts[] = {
	    {"home", required_argument, NULL, 'H'},
	    {"threads", required_argument, NULL, 't'},
	    {"spin-us", required_argument, NULL, 's'},
	    {"notify-fd", required_argument, NULL, 'n'},
	    {"allow-other", no_argument, NULL, 'a'},
	    {"serve-open", no_argument, NULL, 'o'},
	    {"recover", no_argument, NULL, 'r'},
	    {"atime", required_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static char home[PATH_MAX], mnt[PATH_MAX];
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->threads = 4;
	o->spin_us = 2000;
	/* blastctl start passes the environment on: the default for it */
	if (getenv("BLASTFS_SPIN_US") &&
	    parse_spin(getenv("BLASTFS_SPIN_US"), &o->spin_us))
		return 2;
	o->serve_open = getenv("BLASTFS_SERVE_OPEN") &&
			*getenv("BLASTFS_SERVE_OPEN") &&
			strcmp(getenv("BLASTFS_SERVE_OPEN"), "0");
	if (getenv("BLASTFS_ATIME") && parse_atime(getenv("BLASTFS_ATIME"), o))
		return 2;
	o->notify_fd = -1;
	while ((c = getopt_long(argc, argv, "fdh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = 1;
			break;
		case 'd':
			o->debug = 1;
			o->foreground = 1;
			break;
		case 'H':
			o->home = optarg;
			break;
		case 't':
			o->threads = (int)strtol(optarg, &end, 10);
			if (!*optarg || *end || o->threads < 1 ||
			    o->threads > 256) {
				fprintf(stderr, "blastfs: --threads takes 1 "
						"to 256\n");
				return 2;
			}
			break;
		case 's':
			if (parse_spin(optarg, &o->spin_us))
				return 2;
			break;
		case 'n':
			o->notify_fd = (int)strtol(optarg, &end, 10);
			if (!*optarg || *end || o->notify_fd < 0) {
				fprintf(stderr, "blastfs: bad --notify-fd\n");
				return 2;
			}
			break;
		case 'a':
			o->allow_other = 1;
			break;
		case 'o':
			o->serve_open = 1;
			break;
		case 'A':
			if (parse_atime(optarg, o))
				return 2;
			break;
		case 'r':
			o->recover = 1;
			o->foreground = 1;
			break;
		case 'h':
			help();
			return FS_OPTIONS_HELP;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind != (o->recover ? 1 : 2)) {
		usage();
		return 2;
	}
	o->env = argv[optind];
	if (store_name_check(o->env)) {
		fprintf(stderr, "blastfs: invalid env name '%s'\n", o->env);
		return 2;
	}
	if (!o->home) {
		if (store_home_default(home, sizeof(home))) {
			fprintf(stderr, "blastfs: no store: set BLAST_HOME "
					"or HOME\n");
			return 2;
		}
		o->home = home;
	}
	if (o->recover)
		return 0;
	if (!realpath(argv[optind + 1], mnt)) {
		fprintf(stderr, "blastfs: cannot use mountpoint '%s': %s\n",
			argv[optind + 1], strerror(errno));
		return 1;
	}
	o->mount = mnt;
	return 0;
}

/* The mountpoint must be an empty directory that is not a mount; the
 * project marker blastctl keeps there (and its temporary) do not count. */
static int check_mountpoint(const char *mnt)
{
	struct stat sb, parent;
	char up[PATH_MAX + 4];
	struct dirent *de;
	DIR *d;

	if (stat(mnt, &sb) < 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	snprintf(up, sizeof(up), "%s/..", mnt);
	if (stat(up, &parent) == 0 && parent.st_dev != sb.st_dev)
		return -EBUSY;
	d = opendir(mnt);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strncmp(de->d_name, STORE_PROJECT_MARKER,
			    strlen(STORE_PROJECT_MARKER))) {
			closedir(d);
			return -ENOTEMPTY;
		}
	closedir(d);
	return 0;
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	/* opendir answers ENOSYS: no OPENDIR/RELEASEDIR round trips */
	fs->no_opendir = conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT;
	/* open answers ENOSYS too (fs_no_open); an O_TRUNC open then comes
	 * as a SETATTR, which it must, as the kernel sends no OPEN */
	fs->can_no_open = conn->capable & FUSE_CAP_NO_OPEN_SUPPORT;
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* the kernel clears suid/sgid itself through setattr */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* chattr on a directory: its flags' IOCTLs (fsflags.c) */
	if (conn->capable & FUSE_CAP_IOCTL_DIR)
		conn->want |= FUSE_CAP_IOCTL_DIR;
	/* POSIX ACLs, enforced by the kernel from system.posix_acl_*; then
	 * the umask and the ACLs' mode rules are ours (acl.c) */
	if (!getenv("BLASTFS_NO_ACL") && (conn->capable & FUSE_CAP_POSIX_ACL))
		conn->want |= FUSE_CAP_POSIX_ACL;
	/* the umask comes apart from the mode: a default ACL replaces it */
	if ((conn->want & FUSE_CAP_POSIX_ACL) &&
	    (conn->capable & FUSE_CAP_DONT_MASK))
		conn->want |= FUSE_CAP_DONT_MASK;
	fs->acl = conn->want & FUSE_CAP_POSIX_ACL;
	conn->max_background = 64;
}

/* Take the env's lock; on failure say who holds it. */
static int take_lock(struct fs *fs, const char *run, int *lock_fd)
{
	char path[PATH_MAX + 64], info[512] = "";
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s.lock", run, fs->opt->env);
	/* a lock file outlives its holders: no O_EXCL, but no symlink */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		*lock_fd = fd;
		return 0;
	}
	close(fd);
	fd = open(fs->run_info, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		n = (int)read(fd, info, sizeof(info) - 1);
		info[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	for (char *p = info; *p; p++)
		if (*p == '\n')
			*p = ' ';
	fail("env '%s' is already mounted (%s)", fs->opt->env,
	     *info ? info : "lock held");
	return -EBUSY;
}

/* NAME.info: the daemon's pid, where it mounted and the mount's id, by
 * which blastctl finds the mount after its directory moved. */
static int write_info(struct fs *fs)
{
	char buf[PATH_MAX + 96];
	int id = fs_mount_id(fs);
	int n = snprintf(buf, sizeof(buf), "pid=%d\nmount=%s\nmnt_id=%d\n",
			 (int)getpid(), fs->opt->mount, id > 0 ? id : 0);

	if (n < 0 || n >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	return store_home_write(fs->run_info, buf, (size_t)n);
}

static int set_env_mount(struct fs *fs, uint64_t *root_fid)
{
	struct store_txn *t;
	struct store_env e;
	struct store_dir d;
	int err = store_txn_begin(fs->st, true, &t);

	if (err)
		return err;
	err = store_env_get(t, fs->opt->env, &e);
	if (err == -ENOENT)
		fail("no env named '%s' in store '%s'", fs->opt->env,
		     fs->opt->home);
	if (!err && fs->opt->mount && strcmp(e.mount, fs->opt->mount)) {
		snprintf(e.mount, sizeof(e.mount), "%s", fs->opt->mount);
		err = store_env_put(t, &e);
	}
	if (!err)
		err = store_dir_stat(t, e.root, &d);
	if (err) {
		store_txn_abort(t);
		return err;
	}
	*root_fid = d.a.fid;
	return store_txn_commit(t);
}

static int new_session(struct fs *fs, char *why, size_t len)
{
	struct fuse_lowlevel_ops ops;
	char opts[512];
	char *argv[4];
	int argc = 0;
	struct fuse_args args;

	memset(&ops, 0, sizeof(ops));
	ops.init = fs_init;
	fs_ops_dir(&ops);
	fs_ops_io(&ops);
	fs_ops_list(&ops);
	fs_ops_xattr(&ops);
	snprintf(opts, sizeof(opts),
		 "default_permissions,fsname=blast:%s,subtype=blastfs%s%s",
		 fs->opt->env, fs->opt->allow_other ? ",allow_other" : "",
		 /* the kernel updates no FUSE atime; libfuse 3.14 passes on
		    noatime only, so /proc/mounts shows it, else relatime */
		 fs->opt->atime == FS_ATIME_NOATIME ? ",noatime" : "");
	argv[argc++] = "blastfs";
	argv[argc++] = "-o";
	argv[argc++] = opts;
	if (fs->opt->debug)
		argv[argc++] = "-d";
	args.argc = argc;
	args.argv = argv;
	args.allocated = 0;
	fs->se = fuse_session_new(&args, &ops, sizeof(ops), fs);
	fuse_opt_free_args(&args); /* frees only what libfuse added */
	if (!fs->se) {
		snprintf(why, len, "cannot create a FUSE session");
		return -EIO;
	}
	if (fuse_set_signal_handlers(fs->se) ||
	    fs_mount_session(fs, why, len)) {
		if (!why[0])
			snprintf(why, len, "cannot set signal handlers");
		fuse_session_destroy(fs->se);
		fs->se = NULL;
		return -EIO;
	}
	return 0;
}

#define SYNC_INTERVAL_S 5

/* Sync LMDB every few seconds: commits are MDB_NOSYNC. */
static void *sync_main(void *arg)
{
	struct fs *fs = arg;
	struct timespec ts;

	pthread_mutex_lock(&fs->sync_lock);
	while (!fs->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += SYNC_INTERVAL_S;
		pthread_cond_timedwait(&fs->sync_cond, &fs->sync_lock, &ts);
		if (fs->stopping)
			break;
		pthread_mutex_unlock(&fs->sync_lock);
		if (fs_pol_flush(fs))
			fprintf(stderr,
				"blastfs: cannot write the audit log\n");
		fs_atime_tick(fs);
		if (fs_durable(fs))
			fprintf(stderr, "blastfs: periodic sync failed\n");
		pthread_mutex_lock(&fs->sync_lock);
	}
	pthread_mutex_unlock(&fs->sync_lock);
	return NULL;
}

static void sync_stop(struct fs *fs)
{
	pthread_mutex_lock(&fs->sync_lock);
	fs->stopping = true;
	pthread_cond_signal(&fs->sync_cond);
	pthread_mutex_unlock(&fs->sync_lock);
	pthread_join(fs->sync_thread, NULL);
}

static void log_to_stderr(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "blastfs: %s\n", msg);
}

static void rtxn_free(void *p)
{
	store_txn_abort(p);
}

/* Everything after the fork: returns the exit code. */
static int serve(struct fs *fs)
{
	char run[PATH_MAX - 512], why[1024];
	uint64_t root_fid = 0;
	bool sealed = false;
	int lock_fd = -1, err;

	err = store_open_why(fs->opt->home, STORE_NOSYNC, why, sizeof(why),
			     &fs->st);
	if (err) {
		fail("cannot open store '%s': %s", fs->opt->home,
		     why[0] ? why : strerror(-err));
		return 1;
	}
	store_set_log(fs->st, log_to_stderr, NULL);
	if (snprintf(run, sizeof(run), "%s/run", fs->opt->home) >=
	    (int)sizeof(run)) {
		fail("store path '%s' is too long", fs->opt->home);
		err = -ENAMETOOLONG;
		goto out_store;
	}
	snprintf(fs->run_info, sizeof(fs->run_info), "%s/%s.info", run,
		 fs->opt->env);
	snprintf(fs->run_sock, sizeof(fs->run_sock), "%s/%s.sock", run,
		 fs->opt->env);
	err = store_home_subdir(fs->opt->home, "run", run, sizeof(run), why,
				sizeof(why));
	if (!err)
		err = store_home_subdir(fs->opt->home, "staging", fs->staging,
					sizeof(fs->staging), why, sizeof(why));
	if (err) {
		fail("%s", why[0] ? why : strerror(-err));
		goto out_store;
	}
	err = take_lock(fs, run, &lock_fd);
	if (err)
		goto out_store;
	err = set_env_mount(fs, &root_fid);
	if (err) {
		if (err != -ENOENT)
			fail("cannot read env '%s': %s", fs->opt->env,
			     strerror(-err));
		goto out_lock;
	}
	err = fs_nodes_init(fs, root_fid);
	if (!err)
		err = fs_pol_init(fs);
	if (!err)
		err =
		    pthread_key_create(&fs->rtxn_key, rtxn_free) ? -ENOMEM : 0;
	if (err) {
		fail("cannot serve env '%s': %s", fs->opt->env, strerror(-err));
		goto out_nodes;
	}
	err = fs_wlog_start(fs);
	if (err) {
		fail("cannot replay the write log of env '%s' (%s): %s",
		     fs->opt->env, fs->wlog.base, strerror(-err));
		goto out_wlog;
	}
	if (fs->opt->recover) { /* replayed and sealed: done */
		sealed = !store_sync(fs->st);
		if (!sealed)
			fail("cannot sync store '%s'", fs->opt->home);
		err = sealed ? 0 : -EIO;
		goto out_wlog;
	}
	err = new_session(fs, why, sizeof(why));
	if (err) {
		fail("cannot mount env '%s' at '%s': %s", fs->opt->env,
		     fs->opt->mount, why);
		goto out_wlog;
	}
	err = write_info(fs);
	if (!err)
		err = fs_ctl_start(fs);
	if (err) {
		fail("cannot create run files in '%s': %s", run,
		     strerror(-err));
		goto out_unmount;
	}
	/* ready: tell whoever started us */
	if (report_fd >= 0) {
		if (write(report_fd, "OK\n", 3) < 0)
			err = 0;
		close(report_fd);
		report_fd = -1;
	}
	if (fs->opt->notify_fd >= 0) {
		if (write(fs->opt->notify_fd, "ready\n", 6) < 0)
			err = 0;
		close(fs->opt->notify_fd);
	}
	if (fs_sealer_start(fs)) {
		fprintf(stderr, "blastfs: cannot start the sealer thread\n");
		err = -EAGAIN;
		goto out_ctl;
	}
	if (pthread_create(&fs->sync_thread, NULL, sync_main, fs)) {
		fprintf(stderr, "blastfs: cannot start the sync thread\n");
		err = -EAGAIN;
		goto out_ctl;
	}
	if (fs_audit_start(fs)) {
		fprintf(stderr, "blastfs: cannot start the audit thread\n");
		err = -EAGAIN;
		goto out_sync;
	}
	if (fs_reclaim_start(fs)) {
		fprintf(stderr, "blastfs: cannot start the reclaim thread\n");
		err = -EAGAIN;
		goto out_audit;
	}
	/* frames decoded ahead of reads (store/framecache.c): a speedup
	 * only, so a thread that cannot start is no failure */
	if (store_frame_readahead(fs->st, true))
		fprintf(stderr, "blastfs: no frame readahead\n");
	err = fs_loop(fs);
	store_frame_readahead(fs->st, false);
	fs_reclaim_stop(fs);
out_audit:
	fs_audit_stop(fs);
out_sync:
	sync_stop(fs);
out_ctl:
	fs_sealer_stop(fs);
	sealed = !fs_sealer_run(fs, FS_SEAL_FINAL);
	if (sealed)
		fs_reclaim_final(fs);
	sealed = sealed && !store_sync(fs->st);
	if (!sealed)
		fprintf(stderr,
			"blastfs: final sync of '%s' failed; its "
			"write log is kept for the next start\n",
			fs->opt->env);
	fs_ctl_stop(fs);
	fs_pkg_watch_release(fs);
	unlink(fs->run_info);
out_unmount:
	fuse_session_unmount(fs->se);
	fuse_remove_signal_handlers(fs->se);
	fuse_session_destroy(fs->se);
out_wlog:
	fs_wlog_stop(fs, sealed);
out_nodes:
	fs_pol_release(fs);
	fs_nodes_release(fs);
out_lock:
	close(lock_fd);
out_store:
	store_close(fs->st);
	return err ? 1 : 0;
}

/* Fork; the parent waits for "OK" or an error line from the child. */
static int daemonize(const char *logpath)
{
	char buf[1100];
	int p[2], fd;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		n = read(p[0], buf, sizeof(buf) - 1);
		if (n >= 3 && !memcmp(buf, "OK\n", 3))
			_exit(0);
		if (n <= 0)
			fprintf(stderr,
				"blastfs: daemon exited while "
				"starting (see '%s')\n",
				logpath);
		else
			fprintf(stderr, "blastfs: %.*s", (int)n, buf);
		/* a failed start is over when we return: reap the child */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		_exit(1);
	}
	close(p[0]);
	report_fd = p[1];
	setsid();
	if (chdir("/") < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	fd = open(logpath,
		  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ELOOP) {
		fail("log '%s' is a symlink: not following it", logpath);
		return -ELOOP;
	}
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
	return 0;
}

int fs_run(const struct fs_options *o)
{
	/* benchmarks measure what the package layer costs by turning it off */
	struct fs fs = {.opt = o,
			.ctl_fd = -1,
			.wlog.fd = -1,
			.spin_us = fs_loop_spin((unsigned)o->spin_us),
			.pkg_off = getenv("BLASTFS_NO_PACKAGES") != NULL};
	char logpath[PATH_MAX + 64], why[512];
	struct stat sb;
	int err;

	if (stat(o->home, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "blastfs: no store at '%s'\n", o->home);
		return 1;
	}
	/* before anything is created in it (run/, the log) */
	err = store_home_trust(o->home, why, sizeof(why));
	if (err) {
		fprintf(stderr, "blastfs: cannot use store '%s': %s\n", o->home,
			why);
		return 1;
	}
	err = o->recover ? 0 : check_mountpoint(o->mount);
	if (err) {
		fprintf(stderr, "blastfs: cannot mount at '%s': %s\n", o->mount,
			err == -ENOTEMPTY ? "directory not empty"
			: err == -EBUSY	  ? "already a mountpoint"
					  : strerror(-err));
		return 1;
	}
	snprintf(logpath, sizeof(logpath), "%s/run/%s.log", o->home, o->env);
	if (!o->foreground) {
		char run[PATH_MAX + 8];

		err = store_home_subdir(o->home, "run", run, sizeof(run), why,
					sizeof(why));
		if (err) {
			fprintf(stderr, "blastfs: %s\n", why);
			return 1;
		}
		err = daemonize(logpath);
		if (err == -ELOOP)
			return 1;
		if (err) {
			fail("cannot daemonize: %s", strerror(-err));
			return 1;
		}
	}
	pthread_mutex_init(&fs.lock, NULL);
	pthread_mutex_init(&fs.wlock, NULL);
	pthread_mutex_init(&fs.sync_lock, NULL);
	pthread_cond_init(&fs.seal_cond, NULL);
	pthread_cond_init(&fs.sync_cond, NULL);
	pthread_mutex_init(&fs.sealer.mu, NULL);
	pthread_cond_init(&fs.sealer.cv, NULL);
	pthread_mutex_init(&fs.sealer.run_mu, NULL);
	fs_durable_init(&fs);
	fs.auto_quiet_ns =
	    fs_knob_ns("BLASTFS_AUTO_QUIET_MS", FS_AUTO_QUIET_MS);
	fs.atime_flush_ns = fs_knob_ns("BLASTFS_ATIME_FLUSH_MS", 600000);
	fs.atime_last_flush = fs_now_ns();
	return serve(&fs);
}

int main(int argc, char **argv)
{
	struct fs_options o;
	int rc = fs_options_parse(argc, argv, &o);

	if (rc == FS_OPTIONS_HELP)
		return 0;
	return rc ? rc : fs_run(&o);
}
