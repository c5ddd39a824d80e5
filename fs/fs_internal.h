/* SPDX-License-Identifier: MIT */
/*
 * fs_internal.h - blastfs's private state: the node table (kernel node
 * ids, never reused, mapped to persistent file ids), open file state with
 * in-memory write buffers, and the request counters.
 */
#ifndef BLAST_FS_INTERNAL_H
#define BLAST_FS_INTERNAL_H

#include <assert.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fs.h"
#include "store.h"

/* A directory's entries as one reader saw them when it started
 * (dirlist.c). */
struct dirlist {
	uint32_t id;
	unsigned refs;	       /* readers, + 1 while on its node's list */
	uint64_t self, parent; /* file ids of "." and ".." */
	size_t n, cap;
	char **names;
	uint64_t *fids;
	uint32_t *modes;
	struct dirlist *next;
};

/* One kernel-visible inode. Directories and files alike. nodeid, fid
 * and mode never change once the node is in the table; every other field
 * is under fs->lock. */
struct node {
	uint64_t nodeid;
	uint64_t fid;
	uint32_t mode;	 /* S_IFMT bits */
	uint64_t parent; /* parent node id; 0 when unlinked (or root);
			    changed under wlock too (a rename) */
	char *name;	 /* name in parent; as parent */
	uint64_t nlookup;
	unsigned nkids;	 /* nodes whose parent this is: it stays while any
			    does, so a kept node can always tell its path */
	unsigned nopen;	 /* open handles */
	unsigned nwrite; /* open handles that may write */
	bool unlinked;
	bool linked; /* a hard-linked inode: its entry is in the links table */
	/* File content state, protected by fs->lock. */
	bool loaded;	     /* attrs/payload below are authoritative */
	bool dirty;	     /* buf holds content not yet sealed */
	struct store_attr a; /* valid when loaded */
	uint8_t payload;
	uint64_t ref;	    /* blob id when payload is BLOB */
	unsigned char *buf; /* content when dirty or inline */
	size_t len, cap;
	size_t mem;	       /* of cap, what fs->mem counts (content.c) */
	bool buffered;	       /* buf (or sfd) holds the whole content */
	int sfd;	       /* staging file of large content, or -1 */
	bool sealing;	       /* a seal reads sfd: writers wait (seal_cond) */
	bool in_seal;	       /* a seal runs: the next waits (seal_cond) */
	bool seal_soon;	       /* closed by its last writer while small: the
				  sealer's next pass seals it with the others
				  closed meanwhile, as shared frames (seal.c) */
	uint64_t wgen;	       /* bumped by every change a seal must carry */
	bool pkg_pending;      /* sealed while writers remained: the package
				  layer looks at it on the last release */
	bool pinned;	       /* unlinked: its blob is pinned until freed */
	bool quota_held;       /* unlinked while in use: its bytes count
				  toward fs.quota until it is freed */
	bool wopen;	       /* open for writing, as /proc said when last
				  asked (openscan.c) */
	uint64_t dgen;	       /* dirty: oldest write log generation its
				  unsealed writes are in (wlog.c) */
	int64_t dirty_ns;      /* dirty since */
	int64_t wlast_ns;      /* last write */
	struct node *fid_next; /* fid hash chain */
	struct dirlist *lists; /* directories: listings being read */
	unsigned nlists;
	bool anon;	  /* O_TMPFILE: no name yet, linkable (tmpfile.c) */
	bool atime_pend;  /* atime_ns is not in the store yet (atime.c) */
	int64_t atime_ns; /* a read's atime, when atime_pend */
	/* xattr.c: known to have no extended attributes while xa_epoch is
	 * fs->xa_epoch; xa_seq counts changes. Under fs->lock. */
	bool xa_none;
	uint64_t xa_epoch, xa_seq;
	/* policy.c's cache, protected by fs->lock */
	uint64_t pol_epoch;
	unsigned pol_rules;
	struct policy_state *pol_st; /* directories */
};

struct fs_counters {
	atomic_ullong req[48];
	atomic_ullong bytes_read, bytes_written, sealed, deduped;
	atomic_ullong sealed_framed; /* sealed as shared frame members */
	atomic_ullong pkg_updates;   /* package state records changed */
	atomic_ullong loop_sleeps;   /* the leader went to sleep in poll() */
};

enum fs_req {
	R_LOOKUP,
	R_FORGET,
	R_GETATTR,
	R_SETATTR,
	R_READLINK,
	R_MKNOD,
	R_MKDIR,
	R_UNLINK,
	R_RMDIR,
	R_SYMLINK,
	R_RENAME,
	R_LINK,
	R_OPEN,
	R_READ,
	R_WRITE,
	R_FLUSH,
	R_RELEASE,
	R_FSYNC,
	R_OPENDIR,
	R_READDIR,
	R_RELEASEDIR,
	R_FSYNCDIR,
	R_STATFS,
	R_CREATE,
	R_IOCTL,
	R_FALLOCATE,
	R_LSEEK,
	R_SETXATTR,
	R_GETXATTR,
	R_LISTXATTR,
	R_REMOVEXATTR,
	R__COUNT
};

/* Group commit of durability (durable.c), under mu. */
struct fs_durable {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t asked, done;	   /* tickets handed out / covered by a sync */
	bool running;		   /* a sync is in progress */
	uint64_t fail_lo, fail_hi; /* tickets the last failed sync covered */
	int fail_err;
	uint64_t requests, syncs; /* for status */
};

/* Background reclaim of unreferenced blobs (reclaim.c). mu/cv only wake
 * the thread; counters are for status. */
struct fs_reclaim {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started; /* by the main thread only */
	atomic_bool stopping;
	atomic_ullong passes, blobs, bytes, errors;
	/* pack file bytes moved, files unlinked */
	atomic_ullong repacked, files_removed;
};

/* The write log (wlog.c). mu is taken before fs->lock, never with
 * fs->wlock held (lock order: before struct fs). */
struct fs_wlog {
	pthread_mutex_t mu; /* appends with the change they log; seal copies */
	char base[4200];    /* STORE/staging/ENV.wlog; files are base.GEN */
	int fd;		    /* the current generation's file */
	uint64_t gen, off;  /* current generation, its size */
	atomic_ullong gen_now; /* gen, for readers without mu */
	uint64_t oldest;       /* oldest generation whose file may exist */
	uint64_t max;	       /* a new generation past this size */
	atomic_ullong bytes;   /* in all files, for status */
};

/* The sealer thread (sealer.c): seals dirty files once idle. */
struct fs_sealer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_mutex_t run_mu; /* one pass at a time (fs_sealer_run) */
	bool kicked, stopping, started;
	int64_t idle_ns, age_ns; /* seal after this long idle / dirty */
	bool left;	  /* the last run left work (dirty or waiting files);
			     under run_mu */
	int64_t scan_ns;  /* last asked /proc (openscan.c); under run_mu */
	uint64_t *unpins; /* blobs of freed unlinked nodes, under fs->lock */
	size_t nunpins, capunpins;
	atomic_ullong passes, sealed, errors;
};

/* fi->fh of a file handle: counted in the node's nopen (and nwrite, with
 * FH_WRITER). Without opens (fs_no_open) a created file's handle is not
 * counted: the kernel sends no RELEASE for it either. */
#define FH_COUNTED   1u
#define FH_WRITER    2u
#define FH_PID_SHIFT 32 /* above: the opener's pid (a counted handle) */

enum fs_open_mode { FS_OPEN_UNDECIDED, FS_OPEN_NONE, FS_OPEN_SERVED };

/*
 * Locks, in the order they are taken: a thread holding one takes only
 * locks further down this list.
 *   sealer.run_mu   one sealer pass at a time (sealer.c)
 *   fs->wlock       every store write: path resolution, the write txn,
 *                   the node table's update (change.c, seal.c, snap.c,
 *                   pkgwatch.c, reclaim.c, ctlsock.c)
 *   wlog.mu         the write log: an append together with the change
 *                   it logs (write.c), a seal's copy (seal.c); never
 *                   taken while wlock is held, nor wlock while it is
 *   fs->lock        the node table, every field of struct node, and the
 *                   fields of struct fs marked "under lock"
 *   pkgwatch lock   `watch` clients (pkgwatch.c), under wlock
 *   sealer.mu       the sealer's wake-up (fs_sealer_kick)
 * Leaves, nothing taken while held: dur.mu (durable.c), reclaim.mu
 * (only wakes reclaim.c), sync_lock (main.c), the audit ring's mu
 * (polaudit.c), the request loop's mu (loop.c), the store's own
 * (space_lock, import's lock). No lock is held across a FUSE reply.
 */

struct fs {
	struct store *st;
	const struct fs_options *opt;
	struct fuse_session *se;
	pthread_key_t rtxn_key;
	/* Under fs->lock, bumped twice by each rename (under wlock, so one at
	 * a time): before its commit and after its node's new name, so odd
	 * while one is in between. A path read from the nodes and walked in a
	 * txn can disagree meanwhile: txn.c retries such a miss. */
	uint64_t rename_seq;
	/* Seals committed, bumped under fs->lock as the node's dirty state
	 * changes with it: a stat read from a txn older than a seal of a file
	 * now clean would give its old size (the kernel would shrink i_size
	 * under a mapping: SIGBUS). */
	atomic_ullong seal_seq;
	/* wlock serializes every change: path resolution, write txn, node
	 * table update. lock guards the node table and node contents (take
	 * it with fs_lock: debug builds record its holder). Order: above. */
	pthread_mutex_t wlock;
	pthread_mutex_t lock;
	atomic_ulong lock_owner;  /* pthread_self() of lock's holder, or 0 */
	pthread_cond_t seal_cond; /* with lock: a seal ended */
	char staging[4096];	  /* STORE/staging, for O_TMPFILE */
	struct node **nodes;	  /* by node id, protected by lock */
	uint64_t nnodes, next_nodeid;
	struct node **fidtab; /* fid hash, protected by lock */
	size_t fidcap;
	/* nodes' content buffers, and their budget (content.c), under lock */
	uint64_t mem, mem_budget;
	struct fs_counters cnt;
	struct fs_durable dur;
	uint32_t next_dirlist;	     /* under lock */
	bool no_opendir;	     /* the kernel can skip OPENDIR (fs_init) */
	atomic_ullong dirlist_lost;  /* readers that lost their listing */
	atomic_llong last_change_ns; /* written under wlock; status reads */
	int64_t auto_quiet_ns;	     /* snap.c: the quiet period (knob) */
	bool pkg_off;		     /* BLASTFS_NO_PACKAGES: no package layer */
	struct fs_pkgwatch *pkgwatch; /* `watch` clients (fs/pkg.c) */
	int ctl_fd;		      /* control socket listener */
	/* periodic sync: bounds what an OS crash can lose */
	pthread_t sync_thread;
	pthread_mutex_t sync_lock;
	pthread_cond_t sync_cond;
	bool stopping; /* protected by sync_lock */
	pthread_t ctl_thread;
	char run_info[4096], run_sock[4096];
	struct fs_pol *pol;	/* policy.c */
	struct fs_audit *audit; /* polaudit.c */
	atomic_bool pol_on;	/* a policy with filesystem rules is loaded */
	unsigned spin_us;	/* the request loop's spin in effect (loop.c) */
	bool can_no_open;	/* the kernel can skip OPEN (fs_init) */
	atomic_int open_mode; /* enum fs_open_mode, decided by the first open */
	struct fs_wlog wlog;
	struct fs_sealer sealer;
	struct fs_reclaim reclaim;
	/* xattr.c: bumped when the tree is replaced (a load): nodes forget
	 * that they had no extended attributes */
	atomic_ullong xa_epoch;
	bool acl;	   /* the kernel enforces POSIX ACLs (fs_init) */
	atomic_int mnt_id; /* the mount's id, once openscan.c asked (0: not
			      yet) */
	/* atime.c: nodes with a pending atime, flushes done (status) */
	atomic_ullong atime_pending, atime_flushes;
	int64_t atime_flush_ns;	  /* BLASTFS_ATIME_FLUSH_MS */
	int64_t atime_last_flush; /* by the sync thread only */
};

/* atime.c: node n was read (a READ, a listing from its start): its atime
 * becomes now if the mount's rule says so, in memory (no lock held). */
void fs_atime_read(struct fs *fs, struct node *n);
/* A stat of n shows its pending atime. Takes fs->lock. */
void fs_atime_stat(struct fs *fs, struct node *n, struct stat *st);
/* A SETATTR set n's atime in the store: nothing is pending any more. */
void fs_atime_set(struct fs *fs, struct node *n);
/* Every pending atime into the store, in one txn (takes wlock). */
int fs_atime_flush(struct fs *fs);
/* A load replaced the tree: pending atimes are dropped, not written
 * (an atime is no unsaved change). Takes fs->lock. */
void fs_atime_drop(struct fs *fs);
/* The sync thread's: a flush once BLASTFS_ATIME_FLUSH_MS passed. */
void fs_atime_tick(struct fs *fs);

/* openscan.c: the mount's id (as in /proc/self/mountinfo), learnt once
 * from an O_PATH descriptor of its root (no FUSE request: callable before
 * the request loop runs), or -errno. */
int fs_mount_id(struct fs *fs);

/* mountwhy.c: fuse_session_mount of fs->se at the mountpoint, with stderr
 * caught meanwhile (copied to the log after): 0, or -EIO with the cause
 * libfuse or fusermount3 printed and the likely fix in why. */
int fs_mount_session(struct fs *fs, char *why, size_t len);
/* The cause (last line of what was printed, "fuse: " dropped) and the
 * likely fix, as one line into why. */
void fs_mount_why(const char *printed, char *why, size_t len);

/* openscan.c: the file ids (inode numbers) of the mount's files open for
 * writing by any process now, from /proc/PID/fdinfo. Not from a request
 * loop thread. Set who/wholen (caller's buffer) before the scan to also
 * get "PATH (pid PID COMM), ..." of each descriptor, cut to fit. */
struct fs_wopen {
	uint64_t *ino;
	size_t n, cap;
	char *who; /* caller's, or NULL */
	size_t wholen;
};
int fs_wopen_scan(struct fs *fs, struct fs_wopen *out);
bool fs_wopen_has(const struct fs_wopen *w, uint64_t ino);
void fs_wopen_release(struct fs_wopen *w);

/* io.c: are opens served (OPEN, FLUSH) or not? The first caller decides
 * for the mount's life: served when a filesystem policy is loaded then
 * (its open-time checks) or --serve-open, else not. */
bool fs_no_open(struct fs *fs);

/* wlog.c: replay what a killed daemon left in the write log (through
 * fs_seal, before the mount: the node table must be ready), then open a
 * new generation. 0 or -errno (the daemon must not mount). */
int fs_wlog_start(struct fs *fs);
/* Close the log; with sealed (everything sealed and synced) delete it. */
void fs_wlog_stop(struct fs *fs, bool sealed);
/* Under wlog.mu: append a write (its data, the times it gave the file),
 * or a truncate (O_TRUNC, SETATTR size), at *at, after starting a new
 * generation if the current one passed its limit. */
int fs_wlog_write(struct fs *fs, uint64_t fid, uint64_t off, const void *data,
		  size_t len, int64_t now, uint64_t *at);
int fs_wlog_truncate(struct fs *fs, uint64_t fid, uint64_t size, int64_t now,
		     uint64_t *at);
int fs_wlog_falloc(struct fs *fs, uint64_t fid, int mode, uint64_t off,
		   uint64_t len, int64_t now, uint64_t *at);
/* Under wlog.mu: the next record's position; cut back to one (a write
 * that failed after it was logged). */
uint64_t fs_wlog_pos(struct fs *fs);
void fs_wlog_cut(struct fs *fs, uint64_t pos);
uint64_t fs_wlog_gen_of(uint64_t pos);
/* Takes wlog.mu: fid's records before upto are in the store. */
int fs_wlog_sealed(struct fs *fs, uint64_t fid, uint64_t upto);
/* Takes wlog.mu and fs->lock: delete generations no dirty node needs;
 * a new generation when nothing is dirty or the current one is full. */
int fs_wlog_tidy(struct fs *fs);
/* A dirty node whose oldest write is in an older generation keeps that
 * file alive: seal it now. */
bool fs_wlog_pressed(struct fs *fs, uint64_t dgen);

/* sealer.c */
enum fs_seal_how {
	FS_SEAL_DUE,   /* the sealer's pass: files idle or dirty too long */
	FS_SEAL_ALL,   /* every dirty file (control commands, snapshots) */
	FS_SEAL_FINAL, /* every file, and every package file still waiting
			  for its writer to close (the daemon's exit) */
};
/* Seal files, then judge package files whose writers have closed. One
 * pass at a time (sealer.run_mu; the caller holds none of fs->lock,
 * fs->wlock). The first seal error, or 0. */
int fs_sealer_run(struct fs *fs, enum fs_seal_how how);
int fs_sealer_start(struct fs *fs);
void fs_sealer_stop(struct fs *fs);

/* reclaim.c: a thread freeing blobs nobody references (store_reclaim);
 * start: 0 or -EAGAIN; stop joins it (a no-op if it never started). Main
 * thread only. */
int fs_reclaim_start(struct fs *fs);
void fs_reclaim_stop(struct fs *fs);
/* After the final seal: free what the last seals dropped (errors are
 * logged; gc or the next daemon frees it then). */
void fs_reclaim_final(struct fs *fs);
/* A node became dirty: the sealer has work (no lock needed). */
void fs_sealer_kick(struct fs *fs);
/* Under fs->lock: unpin blob after the node is gone (by the sealer). */
void fs_sealer_unpin_later(struct fs *fs, uint64_t blob);

/* loop.c: serve fs->se's requests on opt->threads workers until the
 * session ends; the receiving thread polls the device for fs->spin_us
 * after each request before it sleeps. 0 or -errno. */
int fs_loop(struct fs *fs);
/* The spin to use for a requested one: 0 with one usable CPU. */
unsigned fs_loop_spin(unsigned spin_us);

/* node.c */
int fs_nodes_init(struct fs *fs, uint64_t root_fid);
void fs_nodes_release(struct fs *fs);
/* Under fs->lock. */
struct node *fs_node_get(struct fs *fs, uint64_t nodeid);
struct node *fs_node_by_fid(struct fs *fs, uint64_t fid);
/* fs_node_get taking fs->lock itself (callers that do not hold it). */
struct node *fs_node_find(struct fs *fs, uint64_t nodeid);
/* Find or create the node for fid under parent/name; nlookup += 1. */
int fs_node_ref(struct fs *fs, uint64_t fid, uint32_t mode, uint64_t parent,
		const char *name, struct node **out);
/* nlookup -= n; frees a node nobody needs (under fs->lock). */
void fs_node_forget(struct fs *fs, struct node *n, uint64_t count);
/* Take n out of the file id map: later lookups make a new node. */
void fs_node_detach(struct fs *fs, struct node *n);
/* n is now name (NULL: the same) in directory node parent (0: unlinked,
 * no parent). The old parent may be freed. Fails only with a name. */
int fs_node_rename(struct fs *fs, struct node *n, uint64_t parent,
		   const char *name);
/* Names from the root to n's directory (n itself included when it is a
 * directory and self is true). *out is malloc'd (names point into nodes:
 * valid while fs->wlock is held); *depth set. -ENOENT if unlinked. */
int fs_node_path(struct fs *fs, struct node *n, bool self, const char ***out,
		 size_t *depth);

/* dirlist.c: readdir offsets are listing id << 32 | next index; offset
 * 0 starts a new listing. get/put take fs->lock themselves; the listing
 * stays valid between them. done: the reader reached the end. */
int fs_dirlist_get(struct fs *fs, struct node *n, uint64_t off,
		   struct dirlist **out, size_t *pos);
void fs_dirlist_put(struct fs *fs, struct node *n, struct dirlist *l,
		    bool done);
uint64_t fs_dirlist_off(const struct dirlist *l, size_t next);
/* Drop a node's listings (under fs->lock, as it is freed). */
void fs_dirlists_drop(struct node *n);

/* durable.c: return once everything committed before the call is on
 * disk; concurrent callers share syncs (group commit). */
void fs_durable_init(struct fs *fs);
int fs_durable(struct fs *fs);

/* txn.c: per-thread read txn, renewed per request */
int fs_rtxn(struct fs *fs, struct store_txn **out);
void fs_rtxn_done(struct store_txn *t);
/* Begin a write txn and load the env record. */
int fs_wtxn(struct fs *fs, struct store_txn **t, struct store_env *e);
/* Table of directory node n in txn t (read). */
int fs_dir_tab(struct fs *fs, struct store_txn *t, struct node *n,
	       uint64_t *out);
/* Entry of node n (not a directory) in its parent. */
int fs_node_entry(struct fs *fs, struct store_txn *t, struct node *n,
		  struct store_entry *out);
/* A STORE_P_HARDLINK entry is replaced by its inode's entry. 1 when it
 * was one, 0 when e was a plain entry, or -errno. */
int fs_resolve_link(struct fs *fs, struct store_txn *t, struct store_entry *e);
/* Files: nlink from a links-table entry, else 1. */
uint64_t fs_file_nlink(const struct store_attr *a);
/* stat of node n (dirty state wins). seq: fs->seal_seq read before t
 * began; a clean file sealed since is read again with t renewed. */
int fs_node_stat(struct fs *fs, struct store_txn *t, struct node *n,
		 uint64_t seq, struct stat *out);
void fs_attr_to_stat(const struct store_attr *a, uint64_t nlink,
		     struct stat *st);
/* st_blocks of a sealed file's entry e: its data, without the blob's
 * holes (a lookup of the blob's record). */
void fs_stat_blocks(struct store_txn *t, const struct store_entry *e,
		    struct stat *st);

/* ops.c: look name up in parent; a found entry's node gains a lookup,
 * a missing one gives a negative entry (ino 0). */
int fs_lookup(struct fs *fs, fuse_ino_t parent, const char *name,
	      struct fuse_entry_param *ep);
/* exchange.c: renameat2(RENAME_EXCHANGE) of p/name and np/newname
 * (both nodes of directories): 0, -ENOENT (either is missing), -EINVAL
 * (a directory into its own subtree), or a store error. Takes fs->wlock. */
int fs_exchange(struct fs *fs, struct node *p, const char *name,
		struct node *np, const char *newname);
/* ops.c: SETATTR's change of node n (to_set: FUSE_SET_ATTR_* bits, and
 * FS_SET_ATTR_FLAGS: chattr's flags become st->st_rdev, which setattr
 * never sets otherwise). No checks: the caller made them. */
#define FS_SET_ATTR_FLAGS (1 << 30)
int fs_setattr_node(struct fs *fs, struct node *n, const struct stat *st,
		    int to_set);
/* fsflags.c: chattr's flags (STORE_FL_*) of node n. */
int fs_node_flags(struct fs *fs, struct node *n, uint32_t *out);
/* -EPERM when a write to n through an fd opened with open_flags is
 * refused by its flags (immutable; append-only without O_APPEND). */
int fs_flags_write(struct fs *fs, struct node *n, int open_flags);
/* -EPERM when n's flags refuse a SETATTR of to_set (immutable: any;
 * append-only: anything but times set to now). */
int fs_flags_setattr(struct fs *fs, struct node *n, int to_set);
/* -EPERM when n's flags refuse a change of its extended attributes (and
 * ACLs): immutable or append-only, as ext4's xattr_permission. */
int fs_flags_xattr(struct fs *fs, struct node *n);
/* An IOCTL on n: FS_IOC_GETFLAGS/SETFLAGS, FS_IOC_FSGETXATTR/FSSETXATTR.
 * The bytes written to out (a GET), 0 (a SET), -ENOTTY for any other
 * command, -EOPNOTSUPP for flags not kept, or -errno. */
ssize_t fs_flags_ioctl(struct fs *fs, fuse_req_t req, struct node *n,
		       unsigned cmd, const void *in, size_t in_len, void *out,
		       size_t out_len);
/* tmpfile.c: a FUSE_TMPFILE request in b is made and answered here
 * (true), anything else is left to libfuse (false). */
bool fs_tmpfile_take(struct fs *fs, struct fuse_session *se,
		     const struct fuse_buf *b);
/* linkat of an O_TMPFILE node n: its first name np/newname, its content
 * sealed. 0, -EEXIST, -EPERM (flags) or -errno; the node gains a lookup. */
int fs_tmpfile_link(struct fs *fs, struct node *n, struct node *np,
		    const char *newname, struct stat *st);
/* ops.c: create a regular file entry and its node (nlookup 1). */
int fs_new_file(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct node **nout, struct stat *st);

/* write.c: a change of a file's content, logged before it is applied */
/* Load a file node's attrs and payload from the store (once). */
int fs_node_load(struct fs *fs, struct node *n);
/* Change n's content: data written at off, or with data NULL a resize
 * to off (keep: the old bytes below it; an O_TRUNC open keeps none).
 * Logged first, then applied, then n is dirty. *old: the size before.
 * Takes wlog.mu and fs->lock (neither may be held). */
int fs_content_change(struct fs *fs, struct node *n, const void *data,
		      size_t size, uint64_t off, bool keep, uint64_t *old);
/* fallocate(2) of n's content (fs_content_falloc), logged first as
 * fs_content_change. *old: the size before. */
int fs_content_falloc_change(struct fs *fs, struct node *n, int mode,
			     uint64_t off, uint64_t len, uint64_t *old);
/* Truncate or extend a file node's content to size (copy-up). */
int fs_node_resize(struct fs *fs, struct node *n, uint64_t size);

/* seal.c: n's buffered content and attrs into its entry (a no-op for a
 * clean or unlinked node). No lock held by the caller. */
int fs_seal(struct fs *fs, struct node *n);
/* The small dirty files among v[0, n) (held by the caller, no lock held),
 * in groups of up to 64 files and STORE_PACK_RAW bytes: each group in one
 * txn, its new content compressed as one shared frame (store.h), so a pip
 * install's files are packed as they are sealed. sealed[i]: v[i] was
 * sealed here; the others are left to fs_seal. */
void fs_seal_small(struct fs *fs, struct node **v, size_t n, bool *sealed);
/* Would n be sealed by fs_seal_small: dirty, in memory, a blob of at most
 * STORE_PACK_MEMBER_MAX bytes? Under fs->lock. */
bool fs_seal_small_ok(struct fs *fs, struct node *n);
/* Every dirty node, now (the sealer's FS_SEAL_ALL pass). */
int fs_seal_all(struct fs *fs);

/* The request handlers, registered by main.c: io.c (file content),
 * ops.c (names and attributes), dirlist.c (listings). */
void fs_ops_io(struct fuse_lowlevel_ops *ops);
void fs_ops_dir(struct fuse_lowlevel_ops *ops);
void fs_ops_list(struct fuse_lowlevel_ops *ops);
/* An entry reply for node n (NULL: a cached negative entry) with st. */
void fs_fill_entry(struct fuse_entry_param *ep, struct node *n,
		   const struct stat *st);
/* A handler's fs, and its request counter. */
#define FS(req)	     ((struct fs *)fuse_req_userdata(req))
#define COUNT(fs, r) atomic_fetch_add(&(fs)->cnt.req[r], 1)

/* content.c: a node's unsealed content (memory or staging file). Under
 * fs->lock; writers wait while a seal reads the staging file. */
int fs_content_load(struct fs *fs, struct node *n);
int fs_content_write(struct fs *fs, struct node *n, const void *data,
		     size_t size, uint64_t off);
/* keep=false drops the old content first (O_TRUNC). */
int fs_content_resize(struct fs *fs, struct node *n, uint64_t size, bool keep);
ssize_t fs_content_read(struct node *n, void *buf, size_t size, uint64_t off);
/* fallocate(2) of n's content (mode as the syscall's, checked by the
 * caller): the content moves to a staging file first, whose filesystem
 * does the work (a mode it lacks is done with holes or zeros;
 * collapse and insert are then -EOPNOTSUPP). n->len follows. */
int fs_content_falloc(struct fs *fs, struct node *n, int mode, uint64_t off,
		      uint64_t len);
/* SEEK_DATA (data) / SEEK_HOLE of buffered content: -ENXIO past the end;
 * content in memory has no holes. */
int fs_content_seek(struct node *n, uint64_t off, bool data, uint64_t *out);
/* st_blocks of buffered content: the staging file's, else 4 KiB blocks. */
uint64_t fs_content_blocks(const struct node *n);
/* st_blocks of data bytes, in 4 KiB blocks as ext4 allocates them. */
static inline uint64_t fs_blocks_of(uint64_t data)
{
	return (data + 4095) / 4096 * 8;
}
void fs_content_drop(struct fs *fs, struct node *n);
/* Is n's content large (on disk for good, not resealed while it grows)? */
bool fs_content_large(const struct node *n);
/* Do the nodes' buffers pass their budget (BLASTFS_MEM_BUDGET, 64 MiB)?
 * Content that would grow past it goes to staging files meanwhile. */
bool fs_content_over(struct fs *fs);

/* snap.c: save/load of the mounted env (from the control thread only). */
int fs_snap_save(struct fs *fs, const char *name, bool automatic,
		 const char *msg);
/* -EBUSY refuses: files are open for writing (*busy of them; who gets
 * "PATH (pid PID COMM), ...", cut to wholen); auto_name gets the
 * automatic snapshot that kept unsaved changes ("" when none). */
int fs_snap_load(struct fs *fs, const char *name, char *auto_name, size_t len,
		 unsigned *busy, char *who, size_t wholen);
/* Before the first change after a quiet period (a package operation),
 * snapshot the state (in txn t, before anything is changed). Under
 * fs->wlock. The period: FS_AUTO_QUIET_MS, or BLASTFS_AUTO_QUIET_MS. */
#define FS_AUTO_QUIET_MS 2000
int fs_auto_snapshot(struct fs *fs, struct store_txn *t, struct store_env *e,
		     const char *const *names, size_t depth);

/* inval.c: what differs between two trees, for kernel invalidation. A
 * record names a directory (by file id) and a name in it whose entry
 * differs (old_fid: the old entry's file id, 0 if none), or with name
 * NULL the directory's own attrs. links_changed: hard-linked inodes
 * differ (callers then invalidate everything). */
struct fs_change {
	uint64_t dir_fid, old_fid;
	char *name;
};
struct fs_changes {
	struct fs_change *v;
	size_t n, cap;
	bool links_changed;
};
int fs_changes_between(struct store *st, uint64_t old_root, uint64_t new_root,
		       struct fs_changes *out);
void fs_changes_release(struct fs_changes *c);

/* pkg.c: entry `name` of directory names[0..depth) changed (in write
 * txn t, under fs->wlock, after the change): keep the package state
 * current when it belongs to a distribution in site-packages. */
int fs_pkg_changed(struct fs *fs, struct store_txn *t, struct store_env *e,
		   const char *const *names, size_t depth, const char *name);
/* pkg.c: might file `name` in directory `dir` (names, under fs->lock)
 * matter to the package layer? A cheap test before any path walk. */
bool fs_pkg_watched(const char *dir, const char *name);
/* pkg.c: the last writer of n released it after a seal that left the
 * package layer out (n->pkg_pending): run it now, in a txn of its own. */
int fs_pkg_released(struct fs *fs, struct node *n);

/* pkgwatch.c: the `watch` control command: fd (a control connection) gets
 * one JSON line per package event from now on (installed, removed,
 * upgraded, downgraded, conflict, resolved; declared and
 * declared-resolved for the project's requirements files, which an
 * inotify thread watches while there are clients). 0: fd is kept (closed when
 * the client goes or the daemon ends), else -errno and fd stays the caller's.
 * From the control thread. */
int fs_pkg_watch_add(struct fs *fs, int fd);
void fs_pkg_watch_release(struct fs *fs);
/* pkgwatch.c: a distribution's record changed (in write txn t, under
 * wlock): tell the watch clients, with the conflicts and declared
 * requirements that appeared or went. */
struct pkgstate_change;
void fs_pkg_watch_event(struct fs *fs, struct store_txn *t,
			const struct store_env *e,
			const struct pkgstate_change *ch);
/* pkgwatch.c: the state may have changed by another route (a load or
 * undo flipped the root, blastctl's `clean` rewrote it): read it and
 * tell the clients what differs from what they were last told. Takes
 * wlock; from the control thread. */
void fs_pkg_watch_refresh(struct fs *fs);
/* policy.c: the env's filesystem policy on every route (store/policy.h).
 * Each check returns 0 or the errno to reply (-ENOENT hidden, -EROFS
 * read-only, -EFBIG, -EDQUOT), recording a denial in the audit log; with
 * no filesystem rules loaded it is one atomic load. Call them before the
 * operation's change begins (no fs lock held). */
enum fs_pol_op {
	FS_POL_LOOKUP,
	FS_POL_GETATTR,
	FS_POL_READLINK,
	FS_POL_OPEN,
	FS_POL_OPEN_WRITE,
	FS_POL_CREATE,
	FS_POL_MKDIR,
	FS_POL_MKNOD,
	FS_POL_SYMLINK,
	FS_POL_LINK,
	FS_POL_UNLINK,
	FS_POL_RMDIR,
	FS_POL_RENAME,
	FS_POL_SETATTR,
	FS_POL_TRUNCATE,
	FS_POL_WRITE,
	FS_POL_READDIR,
	FS_POL_READ,
	FS_POL__COUNT
};
struct fs_pol_dir;
struct statvfs;
int fs_pol_init(struct fs *fs);
void fs_pol_release(struct fs *fs);
/* Load the stored policy again (control thread, no lock held); with
 * invalidate, the kernel forgets names and listings if paths changed. */
int fs_pol_reload(struct fs *fs, bool invalidate);
/* Write buffered denials to the store (takes fs->wlock). */
int fs_pol_flush(struct fs *fs);
/* dir/name about to be used by op. */
int fs_pol_name(struct fs *fs, fuse_req_t req, fuse_ino_t dir, const char *name,
		enum fs_pol_op op);
/* Node n (by every name, if hard-linked) about to be used by op. */
int fs_pol_node(struct fs *fs, fuse_req_t req, struct node *n,
		enum fs_pol_op op);
/* n's size goes from old to new: max file size, quota (accounted). */
int fs_pol_size(struct fs *fs, fuse_req_t req, struct node *n,
		uint64_t old_size, uint64_t new_size, enum fs_pol_op op);
/* A new name parent/name costing cost bytes (store_usage_entry_cost)
 * is about to be made: -EDQUOT past the quota, else accounted (give it
 * back with fs_pol_account if the name is not made after all). */
int fs_pol_entry_new(struct fs *fs, fuse_req_t req, fuse_ino_t parent,
		     const char *name, uint64_t cost, enum fs_pol_op op);
/* The env's logical size changed by delta (a file went away). */
void fs_pol_account(struct fs *fs, long long delta);
/* Rename: both names, and a directory whose subtree holds covered paths
 * is refused (-EROFS, or -EACCES for hidden ones). */
int fs_pol_rename(struct fs *fs, fuse_req_t req, fuse_ino_t parent,
		  const char *name, fuse_ino_t newparent, const char *newname);
/* A rename or link happened: cached match states are recomputed. */
void fs_pol_moved(struct fs *fs);
/* Listing filter for directory dir: *out NULL when nothing in it can be
 * hidden; -ENOENT when dir itself is hidden. */
int fs_pol_dir_get(struct fs *fs, struct node *dir, struct fs_pol_dir **out);
bool fs_pol_dir_hides(struct fs_pol_dir *d, const char *name);
void fs_pol_dir_put(struct fs_pol_dir *d);
/* With a quota, statfs reports it as the size and what is left. */
void fs_pol_statfs(struct fs *fs, struct statvfs *sv);
/* fs_pol_node by node id (unknown ids pass: the handler says ESTALE). */
int fs_pol_ino(struct fs *fs, fuse_req_t req, fuse_ino_t ino,
	       enum fs_pol_op op);
/* After a lookup found ino: a hard-linked inode hidden by another name
 * is hidden here too (the lookup is given back; op is what is audited:
 * FS_POL_LOOKUP, or FS_POL_READDIR for a readdirplus entry). */
int fs_pol_entry(struct fs *fs, fuse_req_t req, fuse_ino_t ino,
		 enum fs_pol_op op);
/* ops.c: fs_lookup under the policy, as the kernel is answered (LOOKUP,
 * a readdirplus entry): a hidden name or inode is -ENOENT, audited as op. */
int fs_lookup_checked(struct fs *fs, fuse_req_t req, fuse_ino_t parent,
		      const char *name, enum fs_pol_op op,
		      struct fuse_entry_param *ep);
/* A write of size bytes at off to n: read-only, max size, quota. The
 * kernel sends no pid with a writeback (a page written back from the
 * cache: fi->writepage): opener is the pid recorded at OPEN (0: none,
 * without OPEN), and a refused writeback's pages are dropped from the
 * kernel's cache by the audit worker (polaudit.c). */
struct fs_pol_writer {
	pid_t opener;
	bool writeback;
};
int fs_pol_write(struct fs *fs, fuse_req_t req, struct node *n, uint64_t off,
		 size_t size, const struct fs_pol_writer *w);
/* A fallocate of n reaching end: read-only, and as a write the max size
 * and quota (accounted) when the size grows; with keep (KEEP_SIZE) the
 * quota must hold the bytes preallocated past the end, as ext4's counts
 * blocks, but they are not accounted: a seal keeps no preallocation. */
int fs_pol_falloc(struct fs *fs, fuse_req_t req, struct node *n, uint64_t end,
		  bool keep);
/* node.c: a node is freed. */
void fs_pol_node_free(struct node *n);

/* polaudit.c: denials on their way to the store's audit log (a ring of
 * the newest, the oldest dropped and counted when full), and a worker
 * thread for what a refused writeback leaves (its pid, its pages). */
struct fs_audit;
int fs_audit_init(struct fs *fs);
/* Flush, then free (after fs_audit_stop). */
void fs_audit_release(struct fs *fs);
/* The worker: started once the session is mounted, stopped before the
 * session goes (it sends notifications). */
int fs_audit_start(struct fs *fs);
void fs_audit_stop(struct fs *fs);
/* Record a denial (any thread; pid 0: unknown). */
void fs_audit_add(struct fs *fs, pid_t pid, const char *op, const char *rule,
		  const char *path);
/* A refused writeback of node n: recorded by the worker, which finds the
 * pid when 0 and drops n's cached pages. */
void fs_audit_writeback(struct fs *fs, struct node *n, pid_t pid,
			const char *rule, const char *path);
/* /proc/PID/comm into buf ("?" when gone). */
void fs_audit_comm(pid_t pid, char *buf, size_t len);
/* Write the ring (and the count of dropped records) to the store:
 * takes fs->wlock. */
int fs_audit_flush(struct fs *fs);

/* ctlsock.c: the control socket (protocol: store/ctlproto.h). */
int fs_ctl_start(struct fs *fs);
void fs_ctl_stop(struct fs *fs);

int64_t fs_now_ns(void);
/* A time knob: env var name in ms (BLASTFS_SEAL_IDLE_MS...), else
 * dflt_ms; in ns. Tests shorten the daemon's periods with them. */
int64_t fs_knob_ns(const char *name, long dflt_ms);

#define FS_TIMEOUT 1e6

/* fs->lock, its holder recorded for FS_ASSERT_LOCKED (debug builds). */
static inline void fs_lock(struct fs *fs)
{
	pthread_mutex_lock(&fs->lock);
#ifndef NDEBUG
	atomic_store_explicit(&fs->lock_owner, (unsigned long)pthread_self(),
			      memory_order_relaxed);
#endif
}

static inline void fs_unlock(struct fs *fs)
{
#ifndef NDEBUG
	atomic_store_explicit(&fs->lock_owner, 0, memory_order_relaxed);
#endif
	pthread_mutex_unlock(&fs->lock);
}

/* pthread_cond_wait on fs->lock */
static inline void fs_lock_wait(struct fs *fs, pthread_cond_t *cv)
{
#ifndef NDEBUG
	atomic_store_explicit(&fs->lock_owner, 0, memory_order_relaxed);
#endif
	pthread_cond_wait(cv, &fs->lock);
#ifndef NDEBUG
	atomic_store_explicit(&fs->lock_owner, (unsigned long)pthread_self(),
			      memory_order_relaxed);
#endif
}

/* A function documented "under fs->lock" checks it (debug builds). */
#define FS_ASSERT_LOCKED(fs)                                                   \
	assert(                                                                \
	    atomic_load_explicit(&(fs)->lock_owner, memory_order_relaxed) ==   \
	    (unsigned long)pthread_self())

#endif
