/* SPDX-License-Identifier: MIT */
/*
 * store.h - Blast's content store: one LMDB environment holding envs,
 * snapshots, copy-on-write directory tables and deduplicated,
 * zstd-compressed blobs. No FUSE in here; fs/ and ctl/ link it.
 *
 * Conventions (every function below unless it says otherwise):
 *  - returns 0 or a negative errno; ssize_t results are >= 0 or -errno;
 *  - new objects come back through the last `**out` / `*out` parameter,
 *    which is left untouched on failure;
 *  - corrupt data is -EIO and is reported through the store's logger,
 *    naming the object (never a crash, never wrong bytes);
 *  - LMDB's "map full" is -ENOSPC, a busy writer is waited for (LMDB's
 *    own lock), an unknown name is -ENOENT, an existing one -EEXIST.
 *
 * Threads: a struct store may be shared by threads. A struct store_txn
 * belongs to one thread at a time (MDB_NOTLS: it may move between
 * threads while no call is running on it). At most one write txn per
 * process at a time (LMDB serializes writers across processes).
 * Never use a store across fork(): open it in the child instead.
 */
#ifndef BLAST_STORE_H
#define BLAST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Format 4 (over 3): sparse blobs. A blob's 4 KiB blocks of zeros are
 * holes: its info record's flag word (once reserved, 0) says it has a
 * hole map (a chunk record at index UINT32_MAX, codec 3) and how many
 * blocks are holes, and chunks wholly inside holes have no record
 * (store_internal.h, holes.c). And inode flags (chattr +i/+a/+d/+A):
 * store_attr.flags, in the last 4 bytes of an attr record, which older
 * formats always wrote as 0. Blobs of older formats have no map and
 * read as before, their inodes have no flags; extended attributes: an
 * optional tag-length-value trailer of entries and table headers (tag 1:
 * the inode's xattr blob, store_xattr.h) that older records lack:
 * 3 -> 4 converts nothing. */
#define STORE_FORMAT_VERSION 4
#define STORE_NAME_MAX	     255 /* longest directory entry name */
#define STORE_ENV_NAME_MAX   64	 /* longest env or snapshot name */
#define STORE_INLINE_MAX     64	 /* regular files up to this are inline */
/* the largest inline payload an entry holds (a symlink's target) */
#define STORE_ENTRY_INLINE_MAX 4096
#define STORE_WHOLE_MAX	       (256 * 1024) /* blobs up to this are one chunk */
#define STORE_CHUNK_SIZE       (128 * 1024) /* chunk size of larger blobs */

struct store;
struct store_txn;

/* ---- open / close ------------------------------------------------ */

enum store_open_flags {
	STORE_NOSYNC = 1u << 0,	  /* commits do not fsync (daemon: sync on
				     save/unmount/timer via store_sync);
				     writes go through a writable map, so
				     data.mdb's apparent size becomes the
				     map size (sparse; blocks allocated
				     ahead, else no writable map) */
	STORE_READONLY = 1u << 1, /* never write; fail if absent */
};

/* Logger for problems found in stored data and for warnings. `msg` has no
 * trailing newline. The default writes "blast: MSG\n" to stderr. */
typedef void (*store_log_fn)(void *arg, const char *msg);

/*
 * Default store directory: $BLAST_HOME, else
 * ${XDG_DATA_HOME:-$HOME/.local/share}/blast. Writes a NUL-terminated path
 * into buf. -ENAMETOOLONG if it does not fit, -ENOENT if neither HOME nor
 * the variables are set.
 */
int store_home_default(char *buf, size_t len);

/*
 * Open (creating 0700 if missing, unless STORE_READONLY) the store in
 * directory `home`. Runs mdb_reader_check. A format 1, 2 or 3 store is
 * upgraded in place (logged; read as it is under STORE_READONLY): its
 * records keep their bytes inline until store_pfile_repack moves them to
 * pack files; format 4 gave an attr's last 4 bytes (0 before) to the
 * inode flags, so nothing is converted. A store of any other format version
 * than STORE_FORMAT_VERSION is refused with -EPROTO (message logged); `home`
 * naming a non-directory gives -ENOTDIR.
 */
int store_open(const char *home, unsigned flags, struct store **out);

/*
 * store_open, and on failure a one-line reason in why (len bytes; "" when
 * the errno says it all). Besides store_open's errors: -EPERM when home is
 * not owned by the caller or is writable by group or others
 * (store_home_trust); -EIO when data.mdb is shorter than its meta pages
 * say, not an LMDB file, or missing/empty in a directory that held a
 * store (the marker file `blast-store`, run/ or staging/ exist). A damaged
 * store is refused before anything in it is created or changed.
 */
int store_open_why(const char *home, unsigned flags, char *why, size_t len,
		   struct store **out);

/* ---- the store directory ------------------------------------------
 * Everything Blast creates in a store directory is created by its owner,
 * in directories no one else may write, without following links. These
 * never log; the `why` buffers get one line naming the path and the fix.
 */

/* 0 if home is a directory owned by the caller (euid) and not writable by
 * group or others; else -EPERM, -ENOTDIR or stat's -errno, and why. */
int store_home_trust(const char *home, char *why, size_t len);

/* Create (0700) if missing the subdirectory home/name (run, staging) and
 * check it like home (and that it is no symlink); its path goes to path
 * (pathlen bytes). Errors as store_home_trust, or mkdir's. */
int store_home_subdir(const char *home, const char *name, char *path,
		      size_t pathlen, char *why, size_t len);

/* open(2) for files in the store directory: O_NOFOLLOW and O_CLOEXEC
 * always, O_EXCL with O_CREAT. Returns the fd or -errno (-ELOOP for a
 * symlink, -EEXIST for any existing name when creating). */
int store_home_open(const char *path, int flags, mode_t mode);

/* Replace path with len bytes of buf: PATH.tmp is unlinked, created
 * O_EXCL|O_NOFOLLOW (0600), written and renamed over path. On failure
 * path is unchanged and PATH.tmp is gone. */
int store_home_write(const char *path, const void *buf, size_t len);

/* 1 if home holds no store yet (no data.mdb, or an empty one, and no trace
 * of a store: marker, run/, staging/), 0 if data.mdb is as long as its
 * meta pages need, else -EIO (damaged, see store_open_why) or open's
 * -errno, with why. Reads the file only with pread. */
int store_home_check_data(const char *home, char *why, size_t len);

/* Create the marker file home/blast-store if missing (0 if it exists). */
int store_home_mark(const char *home);

/* Close. All txns must be finished. NULL is a no-op. */
void store_close(struct store *st);

/* Directory the store lives in (owned by st). */
const char *store_path(const struct store *st);

/* Replace the logger (NULL restores the default). Not thread-safe with
 * concurrent store use; call right after open. */
void store_set_log(struct store *st, store_log_fn fn, void *arg);

/*
 * Progress of the long operations (store_import, store_compact, store_gc,
 * store_verify): `what` names the step ("importing", "verifying"), `unit`
 * what done and total count ("files", "blobs"; NULL: bytes), done of
 * total (total 0: not known). Within a step done never decreases nor
 * passes total, and the last report of a step that completes has done ==
 * total, but for verify's "checking tables", whose total counts the
 * tables nothing reaches too. The store never prints progress
 * itself: it calls fn, often (per file or blob), on the thread that
 * called the operation, possibly inside a txn (fn must not use the
 * store); fn decides what to show and how often. Strings live for the
 * call only.
 */
struct store_progress {
	const char *what, *unit;
	uint64_t done, total;
};
typedef void (*store_progress_fn)(void *arg, const struct store_progress *p);
/* Set (NULL: none, the default) the progress callback. Like
 * store_set_log, not thread-safe with concurrent store use. */
void store_set_progress(struct store *st, store_progress_fn fn, void *arg);

/* Log through the store's logger (printf-style). */
void store_logf(struct store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Flush LMDB to disk (meaningful with STORE_NOSYNC). */
int store_sync(struct store *st);

/* ---- transactions ------------------------------------------------ */

/* Begin a read (write=false) or write txn. With STORE_NOSYNC a write txn
 * first allocates disk blocks ahead of LMDB (space.c), and so do its puts
 * and deletes: -ENOSPC (or fallocate's -errno) from them means nothing
 * was changed, abort the txn. */
int store_txn_begin(struct store *st, bool write, struct store_txn **out);
/* Commit and free. On failure the txn is aborted and freed too. */
int store_txn_commit(struct store_txn *t);
/* Abort and free. NULL is a no-op. */
void store_txn_abort(struct store_txn *t);
/* Read txns only: release the snapshot but keep the handle (cheap), and
 * take a fresh snapshot again. */
void store_txn_reset(struct store_txn *t);
int store_txn_renew(struct store_txn *t);
struct store *store_txn_store(const struct store_txn *t);

/* ---- ids and counters -------------------------------------------- */

/* Allocate a fresh persistent file id (st_ino) / generation (write txn). */
int store_fid_new(struct store_txn *t, uint64_t *out);
int store_gen_new(struct store_txn *t, uint64_t *out);

/* ---- blobs --------------------------------------------------------
 * Content-addressed by XXH3-128. Stored zstd level 3 (raw when that does
 * not shrink), whole up to STORE_WHOLE_MAX, else in STORE_CHUNK_SIZE
 * chunks. A dedup hit is byte-compared before it is shared. A blob's
 * refcount is the number of directory entries (and pins) naming it;
 * blobs at refcount 0 are freed by store_reclaim (or store_gc), not at
 * once: pins keep them for the processes that still need them.
 */

struct store_hash {
	unsigned char b[16];
};

/* A blob hashed and compressed outside any txn (any thread). */
struct store_blob_prep;

/* Prepare `len` bytes at `data` (copied). */
int store_blob_prepare(const void *data, size_t len,
		       struct store_blob_prep **out);
/* Prepare the malloc'd buffer `data` (taken over, freed on failure too),
 * hashed only: compression waits for store_blob_prep_compress (outside any
 * txn) or, failing that, happens in store_blob_commit when the content is
 * new. For content the store may already have. */
int store_blob_prepare_lazy(void *data, size_t len,
			    struct store_blob_prep **out);
int store_blob_prep_compress(struct store_blob_prep *p);
/* 1 when the store indexes a blob with p's hash (a commit will most
 * likely reuse it: compressing p is wasted), 0 when not, or -errno. */
int store_blob_known(struct store_txn *t, const struct store_blob_prep *p);
/* Prepare `len` bytes read from fd at offset 0 (pread; ranges that
 * lseek(SEEK_DATA) says are holes are not read, and the fd's offset
 * moves). -EIO if the file is shorter than len. */
int store_blob_prepare_fd(int fd, uint64_t len, struct store_blob_prep **out);
/* Lazy (see store_blob_prepare_lazy) up to STORE_WHOLE_MAX; larger files
 * are compressed as they are read, as by store_blob_prepare_fd. */
int store_blob_prepare_fd_lazy(int fd, uint64_t len,
			       struct store_blob_prep **out);
void store_blob_prep_free(struct store_blob_prep *p);
uint64_t store_blob_prep_size(const struct store_blob_prep *p);
/* Stored (compressed) bytes the prep would add (0 for a lazy prep not yet
 * compressed). */
uint64_t store_blob_prep_stored(const struct store_blob_prep *p);

/*
 * Store a prepared blob (write txn): an identical stored blob is reused
 * (after a byte compare); *out is its id. Does not change refcounts.
 * `*deduped` (may be NULL) tells whether an existing blob was reused.
 */
int store_blob_commit(struct store_txn *t, struct store_blob_prep *p,
		      uint64_t *out, bool *deduped);

/*
 * Shared frames: the new small files of a run compressed together, so
 * that files of one package compress against each other from the start
 * (import, and blastfs's seals of several files at once).
 * store_frame_make compresses the raw bytes of preps (each one chunk, at
 * most STORE_PACK_MEMBER_MAX, no holes: store_blob_prep_bytes not NULL)
 * at zstd `level` into one frame, outside any txn, and gives each its
 * offset; members then commit with store_blob_commit_member (as
 * store_blob_commit), which writes the frame to a pack file at the first
 * member that is new and records it with the count of members that were
 * new. All members of a frame commit in one txn, and the frame is freed
 * after it. A frame that does not shrink is refused (-ENODATA): commit its
 * preps one by one. A member left uncommitted only wastes its bytes in the
 * frame, until compaction rewrites it.
 */
#define STORE_PACK_MEMBER_MAX (64 * 1024)
/* zstd levels of new content. Imports take the fast level: the background
 * compactor (ctl/autocompact.c) recompresses them at 19 soon after, so a
 * slower first pass would cost import time for bytes that do not last. */
#define STORE_IMPORT_LEVEL                                                     \
	1		   /* import (store_blob_prepare_fd_lazy, its frames) */
#define STORE_SEAL_LEVEL 3 /* seals, pulls, everything else */
struct store_frame;
int store_frame_make(struct store_blob_prep **p, size_t n, int level,
		     uint32_t *offs, struct store_frame **out);
int store_blob_commit_member(struct store_txn *t, struct store_blob_prep *p,
			     struct store_frame *f, uint32_t off, uint64_t *out,
			     bool *deduped);
void store_frame_free(struct store_frame *f);
/* A prep's raw bytes when it holds them (small files), else NULL. */
const unsigned char *store_blob_prep_bytes(const struct store_blob_prep *p);
/* Reads of a frame's members decode the whole frame once into a cache
 * each process keeps, shared by its threads: up to 32 frames (32 MiB),
 * mapped as they are first filled. store_frame_cache_trim unmaps the
 * frames no read used for idle_ns (0: all) and returns the bytes given
 * back; safe at any time, from any thread. With readahead on
 * (store_frame_readahead), its thread does it when idle. */
size_t store_frame_cache_trim(uint64_t idle_ns);
/* Decode frames ahead of the reads of st on a thread of its own at
 * SCHED_IDLE (on: start it; off: stop it and wait for it), for a
 * long-lived reader such as blastfs. One store per process: -EBUSY for
 * another while it runs, -EAGAIN if the thread cannot start. Turn it off
 * before store_close. */
int store_frame_readahead(struct store *st, bool on);

/* Convenience: prepare + commit. */
int store_blob_put(struct store_txn *t, const void *data, size_t len,
		   uint64_t *out);

struct store_blob_info {
	uint64_t id;
	uint64_t size;	 /* uncompressed bytes */
	uint64_t stored; /* bytes its chunks take in LMDB */
	uint64_t refcount;
	uint32_t nchunks;
	struct store_hash hash;
	uint64_t hole_blocks; /* its 4 KiB blocks that are holes (all
				 zeros, not stored; a short last block
				 counts as one) */
};
int store_blob_stat(struct store_txn *t, uint64_t id,
		    struct store_blob_info *out);

/* lseek's SEEK_DATA (data) or SEEK_HOLE from off in blob id: *out the
 * offset; -ENXIO past the end (and, for data, when only holes follow).
 * Holes are the blob's all-zero 4 KiB blocks (the last block may be
 * short); the end of the blob counts as a hole. */
int store_blob_seek(struct store_txn *t, uint64_t id, uint64_t off, bool data,
		    uint64_t *out);

/* Read up to len bytes at off; decompresses only the chunks touched
 * (holes read as zeros without a lookup).
 * Returns bytes read (short only at end of blob). */
ssize_t store_blob_read(struct store_txn *t, uint64_t id, void *buf, size_t len,
			uint64_t off);

/* Refcount +1 / -1 (write txn). -EIO on underflow. */
int store_blob_ref(struct store_txn *t, uint64_t id);
int store_blob_unref(struct store_txn *t, uint64_t id);

/* ---- directory tables (copy-on-write) ----------------------------
 * A directory is a table: a header (the directory's own stat) and
 * entries sorted by name bytes. A table's refcount is the number of
 * entries, env roots and snapshots that name it. A table is writable by
 * an env iff its gen equals the env's gen; anything else is frozen
 * (shared with a snapshot or another env) and must be copied first
 * (store_env_dir_writable does that along the whole path).
 */

enum store_payload {
	STORE_P_NONE = 0,     /* empty file, fifo, device */
	STORE_P_TAB = 1,      /* directory: ref = child table id */
	STORE_P_BLOB = 2,     /* sealed file: ref = blob id */
	STORE_P_INLINE = 3,   /* symlink target or tiny file: inline bytes */
	STORE_P_PENDING = 4,  /* unsealed file: ref = staging id (fs/) */
	STORE_P_HARDLINK = 5, /* one name of a hard-linked inode: ref = fid;
				 the inode's entry is in the root's links
				 table (STORE_LINKS_NAME) under
				 store_link_key(fid) */
};

/* The root's table of hard-linked inodes: a name no path can spell. */
#define STORE_LINKS_NAME "/links"
/* Name of fid's entry in the links table: STORE_LINK_KEY_LEN hex
 * digits + NUL. */
#define STORE_LINK_KEY_LEN 16
void store_link_key(uint64_t fid, char out[STORE_LINK_KEY_LEN + 1]);

/* nanoseconds in a second: times are int64_t ns since the epoch */
#define STORE_NS_PER_S 1000000000ll

struct store_attr {
	uint32_t mode; /* S_IFMT | permission bits */
	uint32_t uid, gid;
	uint32_t rdev;
	uint32_t nlink; /* hard-linked inodes (links table entries) only */
	uint64_t fid;	/* persistent file id (st_ino) */
	uint64_t size;	/* file bytes, symlink target length */
	int64_t atime_ns, mtime_ns, ctime_ns;
	uint32_t flags; /* STORE_FL_*: chattr's, as FS_IOC_SETFLAGS has them */
};

/* Inode flags kept (format 4; 0 in records of older formats), with the
 * values of linux/fs.h's FS_*_FL. Others are refused (EOPNOTSUPP). */
#define STORE_FL_IMMUTABLE 0x00000010u /* FS_IMMUTABLE_FL */
#define STORE_FL_APPEND	   0x00000020u /* FS_APPEND_FL */
#define STORE_FL_NODUMP	   0x00000040u /* FS_NODUMP_FL */
#define STORE_FL_NOATIME   0x00000080u /* FS_NOATIME_FL */
#define STORE_FL_ALL                                                           \
	(STORE_FL_IMMUTABLE | STORE_FL_APPEND | STORE_FL_NODUMP |              \
	 STORE_FL_NOATIME)

/* A timespec as ns since the epoch, clamped to what int64 ns can hold
 * (years 1678 to 2262), as Linux filesystems clamp to their own range. */
static inline int64_t store_ts_ns(const struct timespec *ts)
{
	const int64_t lim = INT64_MAX / STORE_NS_PER_S - 1;

	if (ts->tv_sec > lim)
		return INT64_MAX;
	if (ts->tv_sec < -lim)
		return INT64_MIN;
	return (int64_t)ts->tv_sec * STORE_NS_PER_S + ts->tv_nsec;
}

struct store_entry {
	struct store_attr a; /* for a directory, the child table's header
				holds the authoritative attrs */
	uint8_t payload;     /* enum store_payload */
	uint64_t ref;
	uint32_t inline_len;
	/* Points into LMDB memory or the caller's buffer: valid until the
	 * txn ends or its next write, as for mdb_get. */
	const void *inline_data;
	uint64_t xattr; /* blob of the inode's extended attributes (0: none;
			   store_xattrs_*); the entry holds a reference */
};

struct store_dir {
	uint64_t tab;
	uint64_t refcount;
	uint64_t gen;
	uint64_t nentries;
	uint64_t nsubdirs; /* entries that are directories (nlink - 2) */
	struct store_attr a;
	uint64_t xattr; /* the directory's extended attributes, as an
			   entry's (the header holds the reference) */
};

/* Create an empty table with attrs `a` (mode must be S_IFDIR|...),
 * refcount 0 and generation gen (write txn). */
int store_dir_new(struct store_txn *t, const struct store_attr *a, uint64_t gen,
		  uint64_t *out);
int store_dir_stat(struct store_txn *t, uint64_t tab, struct store_dir *out);
/* Rewrite a writable table's header attrs (fid and type are kept). */
int store_dir_set_attr(struct store_txn *t, uint64_t tab,
		       const struct store_attr *a);
/* Point a writable table's extended attributes at blob xattr (0: none),
 * moving the header's reference from the old blob to it. */
int store_dir_set_xattr(struct store_txn *t, uint64_t tab, uint64_t xattr);

/* Look up name (not NUL-terminated; nlen <= STORE_NAME_MAX). -ENOENT. */
int store_dir_get(struct store_txn *t, uint64_t tab, const char *name,
		  size_t nlen, struct store_entry *out);

/*
 * Insert or replace name in a writable table. The entry's payload gains a
 * reference; a replaced entry's payload loses one (a table reaching 0 is
 * freed with its subtree). Maintains nentries/nsubdirs; does not touch the
 * directory's mtime (callers decide).
 */
int store_dir_put(struct store_txn *t, uint64_t tab, const char *name,
		  size_t nlen, const struct store_entry *e);
/* RENAME_EXCHANGE: a's entry goes to tab_b/name_b and b's to tab_a/name_a
 * (both names exist; writable tables, possibly the same one). Each
 * payload keeps its one reference throughout (a table is never freed in
 * between); counts follow the entries. The entries' inline bytes must not
 * point into LMDB memory (copy them first). 0 or -errno. */
int store_dir_exchange(struct store_txn *t, uint64_t tab_a, const char *name_a,
		       const struct store_entry *a, uint64_t tab_b,
		       const char *name_b, const struct store_entry *b);
/* Remove name from a writable table, dropping its payload reference. */
int store_dir_del(struct store_txn *t, uint64_t tab, const char *name,
		  size_t nlen);

/*
 * Iterate entries in name-byte order starting after `after` (NULL: from
 * the first). fn returns 0 to continue, >0 to stop (returned as 0),
 * <0 to abort with that error.
 */
typedef int (*store_dir_iter_fn)(void *arg, const char *name, size_t nlen,
				 const struct store_entry *e);
int store_dir_iter(struct store_txn *t, uint64_t tab, const char *after,
		   size_t alen, store_dir_iter_fn fn, void *arg);

/*
 * A table's entries in name order, copied out of the txn: names are
 * NUL-terminated, inline_data points into the entry's own copy. Walks of
 * trees of any depth keep one listing per level on a heap stack instead of
 * recursing. Caller owns *out (store_dirlist_release). -ENOMEM, -EIO.
 */
struct store_dirlist_ent {
	char *name;
	size_t nlen;
	struct store_entry e;
};

struct store_dirlist {
	struct store_dirlist_ent *v;
	size_t n, cap;
};

int store_dir_list(struct store_txn *t, uint64_t tab,
		   struct store_dirlist *out);
void store_dirlist_release(struct store_dirlist *l);

/* A growable array of ids, the worklist of walks whose order does not
 * matter. store_ids_push: 0 or -ENOMEM. */
struct store_ids {
	uint64_t *v;
	size_t n, cap;
};

int store_ids_push(struct store_ids *s, uint64_t id);
void store_ids_release(struct store_ids *s);

/* Copy a frozen table into a new one at gen (refcount 0): entries are
 * copied and their payloads gain a reference each. */
int store_dir_copy(struct store_txn *t, uint64_t tab, uint64_t gen,
		   uint64_t *out);

/* Table refcount +1 / -1 (write txn); at 0 the table and its entries
 * are freed, dropping their references (recursively). */
int store_dir_ref(struct store_txn *t, uint64_t tab);
int store_dir_unref(struct store_txn *t, uint64_t tab);

/* ---- extended attributes -----------------------------------------
 * An inode's extended attributes are one blob, so identical sets are
 * stored once: the names in byte order, each nlen(1) ++ vlen(le32) ++
 * name ++ value. An entry (or a table header, for a directory) names the
 * blob in its xattr field and holds one reference on it (0: none). To
 * change them, load, edit the copy, put it and point the entry (or
 * store_dir_set_xattr) at the new blob.
 */
#define STORE_XATTR_NAME_MAX 255
#define STORE_XATTR_SIZE_MAX 65536 /* one value (the kernel's limit) */
#define STORE_XATTR_CREATE   1	   /* as XATTR_CREATE: -EEXIST if set */
#define STORE_XATTR_REPLACE  2	   /* as XATTR_REPLACE: -ENODATA if not */

struct store_xattr {
	char *name; /* NUL-terminated */
	size_t nlen;
	unsigned char *value;
	size_t vlen;
};

struct store_xattrs {
	struct store_xattr *v; /* in name byte order */
	size_t n, cap;
};

/* Decode blob's list into *out (caller's, released with
 * store_xattrs_release; blob 0: empty). -EIO when it does not decode. */
int store_xattrs_load(struct store_txn *t, uint64_t blob,
		      struct store_xattrs *out);
int store_xattrs_decode(const void *buf, size_t len, struct store_xattrs *out);
void store_xattrs_release(struct store_xattrs *x);
/* The attribute called name, or NULL. */
const struct store_xattr *store_xattrs_find(const struct store_xattrs *x,
					    const char *name);
/* Set name to len bytes of val. flags: STORE_XATTR_CREATE (-EEXIST),
 * STORE_XATTR_REPLACE (-ENODATA); -ERANGE (name empty or too long),
 * -E2BIG (value), -ENOMEM. */
int store_xattrs_set(struct store_xattrs *x, const char *name, const void *val,
		     size_t len, int flags);
/* Remove name: -ENODATA when it is not set. */
int store_xattrs_remove(struct store_xattrs *x, const char *name);
/* The encoding of x into *buf (malloc'd, *len bytes; NULL and 0 when x
 * is empty). */
int store_xattrs_encode(const struct store_xattrs *x, unsigned char **buf,
			size_t *len);
/* Store x as a blob (write txn; deduplicated, no reference taken): *out
 * is its id, or 0 when x is empty. */
int store_xattrs_put(struct store_txn *t, const struct store_xattrs *x,
		     uint64_t *out);

/* ---- envs and snapshots ------------------------------------------ */

struct store_env {
	char name[STORE_ENV_NAME_MAX + 1];
	uint64_t id;
	uint64_t root; /* live root table */
	uint64_t gen;  /* tables at this gen are writable */
	int64_t created_ns;
	char python[4096]; /* base interpreter path */
	char pyver[16];	   /* "3.11" */
	char mount[4096];  /* mount path last used ("" if never) */
};

/* A project directory's mountpoint DIR/.blast holds, while unmounted,
 * this file naming its env and store (written by `blastctl start`,
 * covered by the mount): blastfs and blastctl mount over it. */
#define STORE_PROJECT_MARKER ".blast-env"

/* Valid env/snapshot name: 1-64 of [A-Za-z0-9._-], not starting with
 * '.' (hidden, "..") or '-' (read as an option on a command line).
 * Returns 0 or -EINVAL. */
int store_name_check(const char *name);

/*
 * Create env `e->name` with an empty root directory (mode 0755, owner
 * the caller) or, if root_from != 0, sharing that table (O(1) clone).
 * Fills id, root, gen, created_ns. -EEXIST, -EINVAL (bad name).
 */
int store_env_create(struct store_txn *t, struct store_env *e,
		     uint64_t root_from);
int store_env_get(struct store_txn *t, const char *name, struct store_env *out);
/* Rewrite an existing env's record (root, gen, python, mount...). The
 * caller keeps table refcounts right when it changes root. */
int store_env_put(struct store_txn *t, const struct store_env *e);
/* Delete an env, its snapshots and its reference on its tables. */
int store_env_delete(struct store_txn *t, const char *name);

typedef int (*store_env_iter_fn)(void *arg, const struct store_env *e);
int store_env_iter(struct store_txn *t, store_env_iter_fn fn, void *arg);

/*
 * Resolve the directory reached from env's live root by names[0..depth)
 * and make it and its ancestors writable, copying frozen tables once per
 * generation and repointing parents (and e->root, whose record is
 * rewritten). *out is the writable table. -ENOTDIR / -ENOENT on the path.
 */
int store_env_dir_writable(struct store_txn *t, struct store_env *e,
			   const char *const *names, size_t depth,
			   uint64_t *out);

/* Read fid's inode entry from the links table of `root` (-ENOENT if
 * none). Use it to resolve a STORE_P_HARDLINK entry. */
int store_link_get(struct store_txn *t, uint64_t root, uint64_t fid,
		   struct store_entry *out);
/* e's links table made writable (created when missing). */
int store_env_links_writable(struct store_txn *t, struct store_env *e,
			     uint64_t *out);

/* Freeze: bump e->gen so every table reachable now is frozen (write
 * txn; rewrites the env record). */
int store_env_freeze(struct store_txn *t, struct store_env *e);

struct store_snap {
	char name[STORE_ENV_NAME_MAX + 1];
	uint64_t root;
	int64_t created_ns;
	bool automatic;
	char message[512];
};

/* Save e's live root as snapshot `s->name` (O(1)); fills root/created. */
int store_snap_create(struct store_txn *t, struct store_env *e,
		      struct store_snap *s);
int store_snap_get(struct store_txn *t, const struct store_env *e,
		   const char *name, struct store_snap *out);
int store_snap_delete(struct store_txn *t, const struct store_env *e,
		      const char *name);
typedef int (*store_snap_iter_fn)(void *arg, const struct store_snap *s);
int store_snap_iter(struct store_txn *t, const struct store_env *e,
		    store_snap_iter_fn fn, void *arg);
/* Point e's live root at table `root` (O(1)), dropping the old root. */
int store_env_set_root(struct store_txn *t, struct store_env *e, uint64_t root);

/* ---- per-env settings: small numbers kept with the env (by its id, so
 * a later env of the same name starts fresh). key: up to 64 bytes. */
#define STORE_AUTO_KEEP_DEFAULT 20 /* automatic snapshots kept */
int store_env_setting_get(struct store_txn *t, const struct store_env *e,
			  const char *key, uint64_t *out); /* -ENOENT */
int store_env_setting_set(struct store_txn *t, const struct store_env *e,
			  const char *key, uint64_t val);
/* Delete e's oldest automatic snapshots until at most `keep` remain. */
int store_snap_prune_auto(struct store_txn *t, const struct store_env *e,
			  uint64_t keep);

/* ---- env state: small named values (per-env variables, policy,
 * package state) kept in a hidden table of the env's root
 * (STORE_STATE_NAME), so snapshots, clones and load carry them with the
 * files. Keys: 1..STORE_NAME_MAX bytes, any but NUL; by convention
 * "AREA:NAME" (e.g. "var:PATH", "policy:fs.quota"). Values: bytes, up to
 * STORE_STATE_MAX. */
#define STORE_STATE_NAME "/state"
#define STORE_STATE_MAX	 (16u << 20)
/* *val is malloc'd and NUL-terminated (not counted in *len). -ENOENT. */
int store_state_get(struct store_txn *t, uint64_t root, const char *key,
		    void **val, size_t *len);
/* Set key (write txn; makes the root writable, rewriting e's record when
 * a frozen table is copied). Setting the same bytes changes nothing.
 * -EINVAL (bad key), -EFBIG. */
int store_state_set(struct store_txn *t, struct store_env *e, const char *key,
		    const void *val, size_t len);
/* Remove key. -ENOENT when it is not set (nothing changes). */
int store_state_del(struct store_txn *t, struct store_env *e, const char *key);
/* Call fn for every key starting with prefix (NULL or "": all), in key
 * byte order. fn returns 0 to go on, >0 to stop (returned as 0), <0 to
 * abort with that error. val is valid during the call only. */
typedef int (*store_state_iter_fn)(void *arg, const char *key, const void *val,
				   size_t len);
int store_state_iter(struct store_txn *t, uint64_t root, const char *prefix,
		     store_state_iter_fn fn, void *arg);

/* ---- seeds: named frozen roots shared by new envs (e.g. a venv layout
 * with pip installed for one interpreter), keyed by any string up to 255
 * bytes. A seed holds one reference on its root. */
int store_seed_get(struct store_txn *t, const char *key, uint64_t *out);
/* Set (or with root 0, remove) a seed; envs whose live root it is are
 * frozen first, so the seed can never change under its users. */
int store_seed_set(struct store_txn *t, const char *key, uint64_t root);
typedef int (*store_seed_iter_fn)(void *arg, const char *key, uint64_t root);
int store_seed_iter(struct store_txn *t, store_seed_iter_fn fn, void *arg);

/* ---- pins: keep refcount-0 blobs from gc while a live process uses
 * them (an import in progress, an open unlinked file). Owner is a
 * process (pid + start time); pins of dead owners are dropped by gc. */
int store_pin(struct store_txn *t, uint64_t blob);
int store_unpin(struct store_txn *t, uint64_t blob);
/* Drop every pin held by this process. */
int store_unpin_all(struct store_txn *t);

/* ---- import / export --------------------------------------------- */

struct store_import_stats {
	uint64_t files, dirs, symlinks, bytes; /* apparent */
	uint64_t stored_added;		       /* new stored bytes */
	uint64_t deduped;		       /* files that reused a blob */
	uint64_t dirs_shared; /* directories that reused a stored table */
};

/*
 * Import the tree at `dir` as the live root of a new env `e->name` (other
 * fields of e as for store_env_create). Reads and compresses with
 * `threads` workers outside the write lock, then commits. The store is
 * unchanged on failure (blobs already written are unreferenced and left
 * to gc). Regular files, dirs, symlinks, fifos; modes, uid/gid, mtimes to
 * the ns. `stats` may be NULL. Any depth: one open directory per level
 * (store_nofile_raise), no recursion.
 */
int store_import(struct store *st, const char *dir, struct store_env *e,
		 int threads, struct store_import_stats *stats);

/* Export root table `root` into directory `dir` (created if missing,
 * must be empty). Restores modes, symlinks, mtimes (ns), and owners when
 * running as root. Any depth: one open directory per level. Never leaves
 * dir by a symlink, even one planted while it runs: such a name fails the
 * export (-EEXIST, -ELOOP or -ENOTDIR), it is not followed. */
int store_export(struct store *st, uint64_t root, const char *dir);

/* Raise this process's soft limit of open files to its hard limit: import
 * and export hold one directory open per level of the tree. Best effort. */
void store_nofile_raise(void);

/* Resolve "ENV" or "ENV@SNAP" to a root table (read txn). */
int store_ref_resolve(struct store_txn *t, const char *ref, uint64_t *out);

/* ---- accounting, gc, verify -------------------------------------- */

struct store_usage {
	uint64_t files, dirs, logical; /* apparent file bytes */
	uint64_t blobs, stored;	       /* distinct blobs, their stored bytes */
	uint64_t meta; /* entries' metadata cost (store_usage_entry_cost) */
};
/* What one name costs fs.quota beside file content: STORE_USAGE_NAME
 * bytes (the name and its inode), a directory STORE_USAGE_DIR (a block,
 * as du counts it), a symlink the name's cost plus its target's length
 * (size). A hard link's name costs STORE_USAGE_NAME; the root nothing. */
#define STORE_USAGE_NAME 256
#define STORE_USAGE_DIR	 4096
uint64_t store_usage_entry_cost(uint32_t mode, uint64_t size);
/* Walk the tree at `root`, counting distinct blobs once. */
int store_usage_tree(struct store_txn *t, uint64_t root,
		     struct store_usage *out);

struct store_totals {
	uint64_t blobs, blob_bytes, stored, tables, envs;
	uint64_t map_used, map_size; /* LMDB pages in use, map size */
};
int store_totals(struct store_txn *t, struct store_totals *out);

/*
 * Compact: recompress stored content at zstd `level` (0: default
 * STORE_COMPACT_LEVEL) on `threads` workers (<= 0: one per CPU), packing
 * every chunk (small files and the chunks of big ones, in blob order)
 * into shared frames of up to STORE_PACK_RAW bytes, so that files compress
 * against their neighbours. Content, hashes and ids are unchanged; chunks
 * already compacted are skipped, so a second run only does new content.
 * Works in batches with short write txns next to mounted envs and
 * imports, then gives the space back (store_give_back). Stored bytes
 * before/after in *out.
 */
#define STORE_COMPACT_LEVEL 15
#define STORE_PACK_RAW	    (1024 * 1024)
struct store_compact_stats {
	uint64_t chunks_recompressed, packs, blobs_packed;
	uint64_t stored_before, stored_after;
};
int store_compact(struct store *st, int level, int threads,
		  struct store_compact_stats *out);

struct store_gc_stats {
	uint64_t blobs_freed, bytes_freed, tables_freed, pins_dropped;
	uint64_t repacked_bytes, pack_bytes_removed;
	unsigned pack_files_removed;
};
/* Free blobs at refcount 0 (not pinned by a live process), tables no
 * root reaches, and pins of dead owners; then rewrite the pack files under
 * STORE_GC_REPACK_PCT % live and remove the emptied ones
 * (store_give_back). */
#define STORE_GC_REPACK_PCT 90
int store_gc(struct store *st, struct store_gc_stats *out);

/*
 * Replace data.mdb by a copy without free pages (LMDB never shrinks its
 * file), but only while no other process has the store open: -EBUSY
 * (nothing done) otherwise; -EAGAIN if a dead pack file could not be
 * removed first. No txn of st may be open. Other processes' store_open
 * waits for the swap. *saved: the bytes of disk given back. On an error
 * after the copy st may be unusable (every call then fails): close it.
 */
int store_shrink_index(struct store *st, uint64_t *saved);

struct store_reclaim_stats {
	uint64_t blobs_freed, bytes_freed, pins_dropped;
};
/*
 * Free up to `batch` blobs that reached refcount 0 at least min_age_ns ago
 * and that no live process pins (dropping pins of dead owners), in one
 * write txn of its own (the calling thread holds none); unlike store_gc it
 * visits only the blobs at refcount 0. Adds what it did to *stats (not
 * NULL). Returns 1 when more candidates are left (call again), 0 when
 * none, or -EINVAL (batch 0), -EROFS (read-only store), -errno.
 */
int store_reclaim(struct store *st, int64_t min_age_ns, size_t batch,
		  struct store_reclaim_stats *stats);
/*
 * Pack files (pfile.c, repack.c): stored bytes live in append-only files
 * STORE/packs/NNNNNNNN.pack, LMDB keeps references. store_repack moves
 * the live records of every pack file (but the one being appended to)
 * whose live bytes are under pct % of its length to the current file,
 * and with `migrate` the bytes a store made before format 3 keeps inside
 * LMDB, at most about `budget` bytes in one write txn of its own (the
 * calling thread holds none). 1: more to do (call again), 0: done,
 * -errno. Files it empties are marked dead; store_pfile_sweep unlinks the
 * dead files no reader's snapshot can still see (adding to *files and
 * *bytes), in a write txn of its own.
 */
struct store_repack_stats {
	uint64_t moved_bytes; /* bytes copied */
	uint64_t records;     /* records moved */
	unsigned files;	      /* files emptied (being emptied) */
};
int store_repack(struct store *st, unsigned pct, uint64_t budget, bool migrate,
		 struct store_repack_stats *s);
int store_pfile_sweep(struct store *st, unsigned *files, uint64_t *bytes);
/* Repack (migrating) until done, in txns of STORE_REPACK_BUDGET, then
 * sweep: what gc and the commands that drop references run. */
#define STORE_REPACK_PCT    50 /* a file is rewritten under 50 % live */
#define STORE_REPACK_BUDGET (4u << 20)
int store_give_back(struct store *st, unsigned pct,
		    struct store_repack_stats *rs, unsigned *files,
		    uint64_t *bytes);
/* Disk the store takes, as du counts it: allocated blocks of data.mdb,
 * lock.mdb and the pack files. */
int store_disk_usage(struct store *st, uint64_t *out);

/* Blobs at refcount 0 now (waiting for store_reclaim, or pinned) into
 * *out; 0 or -errno. Any txn. */
int store_reclaim_pending(struct store_txn *t, uint64_t *out);
/* Stored bytes of blobs this process dropped to refcount 0 since its last
 * store_reclaim (an estimate: aborted txns count too). Any thread. */
uint64_t store_reclaim_due(struct store *st);

/*
 * Check every env and snapshot: tables decode, refcounts match what is
 * reachable, blobs and their chunks exist and decompress to their size,
 * index agrees with blobs; deep re-hashes every blob. Each problem is
 * reported through fn (never NULL) naming the object. Returns the number
 * of problems (>= 0) or -errno if the check itself could not run.
 */
typedef void (*store_report_fn)(void *arg, const char *problem);
ssize_t store_verify(struct store *st, bool deep, store_report_fn fn,
		     void *arg);

/* ---- fault injection (test builds: meson -Dfault_injection=true) ----
 * Make the nth (1-based) operation of a kind fail from now on; 0 turns
 * it off. Without fault injection compiled in, returns -ENOTSUP. */
enum store_fault {
	STORE_FAULT_MALLOC,
	STORE_FAULT_WRITE,
	STORE_FAULT_FSYNC,
	STORE_FAULT_COMMIT,
	STORE_FAULT_PUT,
	STORE_FAULT__COUNT
};
int store_fault_set(enum store_fault kind, unsigned long nth);

#endif
