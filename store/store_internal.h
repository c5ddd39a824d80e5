/* SPDX-License-Identifier: MIT */
/*
 * store_internal.h - private layout of the store: LMDB databases, record
 * encodings and helpers shared by the store sources. Keys holding ids are
 * big-endian (ordered, contiguous per table); values are little-endian.
 */
#ifndef BLAST_STORE_INTERNAL_H
#define BLAST_STORE_INTERNAL_H

#include <endian.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct u64map;
struct pfile_txn;

/* Pack files (pfile.c): their size, and the read fds a process caches. */
#ifndef PFILE_MAX
#define PFILE_MAX (8u << 20)
#endif
#define PFILE_RFDS	64
#define STORE_PFREF_LEN 16 /* file(le32) ++ offset(le64) ++ length(le32) */
/* Chunks up to this many stored bytes stay in their record. */
#define STORE_CHUNK_INLINE_MAX 32

enum store_db {
	DB_META,    /* ascii key -> u64 / bytes */
	DB_ENVS,    /* env name -> env record */
	DB_SNAPS,   /* env id(be64) ++ snap name -> snap record */
	DB_TABS,    /* tab id(be64) -> table header */
	DB_DIRENTS, /* tab id(be64) ++ name -> entry */
	DB_BLOBIDX, /* hash(16) -> blob id(le64) */
	DB_BLOBS,   /* blob id(be64) -> blob info */
	DB_CHUNKS,  /* blob id(be64) ++ chunk(be32) -> codec(1) ++ bytes */
	DB_PINS,    /* owner(16) ++ blob id(be64) -> "" */
	DB_PACKS,   /* pack id(be64) -> pack record (pack.c) */
	DB_TABIDX,  /* subtree hash(16) -> tab id(le64) (import.c; may be
		       stale: a hit is used only if the table exists) */
	DB_ZEROREF, /* blob id(be64) -> time it reached refcount 0 (le64 ns);
		       exactly the blobs at refcount 0 (reclaim.c) */
	DB_PFILES,  /* pack file id(be32) -> end ++ live ++ dead (pfile.c) */
	DB__COUNT
};

struct store {
	uint64_t serial; /* unique in the process: keys its decoded frames */
	MDB_env *env;
	MDB_dbi dbi[DB__COUNT];
	char *path;
	unsigned flags;
	store_log_fn log;
	void *log_arg;
	store_progress_fn progress;
	void *progress_arg;
	bool no_zeroref; /* read-only open of a store without DB_ZEROREF */
	atomic_ullong zeroref_due; /* store_reclaim_due */
	/* lock.mdb, flock()ed shared while the store is open (-1: none on
	 * read-only media); store_shrink_index replaces data.mdb only
	 * under the exclusive lock, when no other process has it open */
	int open_fd;
	bool can_alloc;		    /* fallocate works: MDB_WRITEMAP allowed */
	int space_fd;		    /* data.mdb under MDB_WRITEMAP, else -1 */
	uint64_t space_end;	    /* its blocks [0, space_end) exist; */
	pthread_mutex_t space_lock; /* protects space_end */
	bool no_pfiles;		    /* read-only open of a format-2 store */
	/* pack files (pfile.c): the writer's fd, touched only by the thread
	 * holding LMDB's writer lock (a write txn), and cached read fds */
	int wfd;
	uint32_t wfile;
	uint64_t pfile_max;	  /* PFILE_MAX, or $BLAST_PFILE_MAX (tests) */
	pthread_mutex_t rfd_lock; /* protects rfd[], rfd_clock */
	struct {
		int fd; /* -1: empty */
		uint32_t file;
		unsigned refs; /* reads using fd now */
		uint64_t used;
	} rfd[PFILE_RFDS];
	uint64_t rfd_clock;
};

/* store.c: take st->open_fd's shared lock (waits while a
 * store_shrink_index swaps data.mdb); open st->env and its databases
 * (st->env NULL on failure). */
int store_open_lock(struct store *st);
int store_env_open(struct store *st);

struct store_txn {
	struct store *st;
	MDB_txn *txn;
	bool write;
	uint64_t hw, charged; /* write txns (space.c): high-water mark at
				 begin, bytes its puts/dels may allocate */
	unsigned psize;
	struct pfile_txn *pf; /* pack file appends and frees (pfile.c) */
};

/* ---- codecs ---- */
/* A chunk record is codec(1) ++ XXH3-64 of the decoded bytes(8) ++ data.
 * CODEC_PACK data is pack id(le64) ++ offset(le32) (pack.c).
 * CODEC_COMPACTED is a flag: store_compact has done this chunk.
 * CODEC_EXT is a flag: data is a pack file reference (STORE_PFREF_LEN
 * bytes, pfile.c) to the stored bytes; without it (stores before format
 * 3) the bytes are in the record. Shared frames (DB_PACKS) use it too. */
enum {
	CODEC_RAW = 0,
	CODEC_ZSTD = 1,
	CODEC_PACK = 2,
	CODEC_HOLES = 3, /* a blob's hole map (holes.c), at STORE_HOLES_IDX */
	CODEC_EXT = 0x40,
	CODEC_COMPACTED = 0x80
};
#define STORE_CHUNK_HDR 9
#define PACK_RECORD_HDR 17

/* ---- little helpers ---- */
static inline void put_be64(unsigned char *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}
static inline uint64_t get_be64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return be64toh(v);
}
static inline void put_be32(unsigned char *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}
static inline uint32_t get_be32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return be32toh(v);
}
static inline void put_le64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}
static inline uint64_t get_le64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}
static inline void put_le32(unsigned char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}
static inline uint32_t get_le32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline MDB_dbi sdb(struct store_txn *t, enum store_db d)
{
	return t->st->dbi[d];
}

/* Translate an LMDB return code to -errno. */
int store_mdb_err(int rc);

/* mdb_put/mdb_get/mdb_del wrappers returning -errno (put has a fault
 * point). get: -ENOENT when absent. */
int store_put(struct store_txn *t, enum store_db d, MDB_val *k, MDB_val *v,
	      unsigned flags);
int store_get(struct store_txn *t, enum store_db d, MDB_val *k, MDB_val *v);
int store_del(struct store_txn *t, enum store_db d, MDB_val *k);

/* Disk space behind the writable map (space.c); no-ops without
 * MDB_WRITEMAP. Before mdb_env_open: preallocate lock.mdb (home's), and
 * say whether the filesystem can fallocate (else no MDB_WRITEMAP). */
int store_space_lockfile(const char *home, bool *can_alloc);
/* After mdb_env_open: take data.mdb's fd if the env has MDB_WRITEMAP. */
int store_space_open(struct store *st, bool writemap);
/* Right after a write txn began: blocks up to the high-water mark plus a
 * base reserve. -ENOSPC (or fallocate's -errno): abort the txn. */
int store_space_begin(struct store_txn *t);
/* Before each put (vlen: the value's size) or delete in db d: blocks for
 * all it may allocate. -ENOSPC: do not make the change. */
int store_space_charge(struct store_txn *t, enum store_db d, size_t vlen);

/* meta counters */
int store_meta_get_u64(struct store_txn *t, const char *key, uint64_t *out);
int store_meta_put_u64(struct store_txn *t, const char *key, uint64_t v);
int store_meta_next(struct store_txn *t, const char *key, uint64_t *out);

int64_t store_now_ns(void);

/* Report progress through st's callback, if any (store_set_progress). */
void store_progress_report(struct store *st, const char *what, const char *unit,
			   uint64_t done, uint64_t total);
/* Entries of database d into *out (mdb_stat), for progress totals. */
int store_db_entries(struct store_txn *t, enum store_db d, uint64_t *out);

/* Fault points: true when this call of `kind` must fail. */
bool store_fault_hit(enum store_fault kind);
void *store_malloc(size_t n);
void *store_calloc(size_t n, size_t sz);
void *store_realloc(void *p, size_t n);

/* Table/entry encodings (dir.c) */
#define TAB_HDR_LEN 96
#define ENT_HDR_LEN 80 /* 16 + attr */
void store_entry_encode(unsigned char *buf, const struct store_entry *e);
int store_entry_decode(const void *buf, size_t len, struct store_entry *e);
int store_tab_get(struct store_txn *t, uint64_t tab, struct store_dir *out);
/* 1 if table tab exists, 0 if not, or -errno (no log: for indexes whose
 * entries may be stale). */
int store_tab_exists(struct store_txn *t, uint64_t tab);
int store_tab_put(struct store_txn *t, const struct store_dir *d);
/* Drop the reference an entry holds on its payload. */
int store_entry_unref(struct store_txn *t, const struct store_entry *e);
int store_entry_ref(struct store_txn *t, const struct store_entry *e);

/* Blob internals (blob.c) */
int store_blob_delete(struct store_txn *t, uint64_t id, uint64_t *stored);
int store_blob_check(struct store_txn *t, uint64_t id, bool deep,
		     store_report_fn fn, void *arg, unsigned *problems);
int store_blob_info_put(struct store_txn *t, const struct store_blob_info *i);
/* Chunk idx of blob id: codec, check and data (LMDB memory). */
int store_chunk_get(struct store_txn *t, uint64_t id, uint32_t idx,
		    unsigned char *codec, uint64_t *check,
		    const unsigned char **data, size_t *len);
/* Chunk idx's codec (with CODEC_COMPACTED, without CODEC_EXT), without
 * reading its bytes. */
int store_chunk_codec(struct store_txn *t, uint64_t id, uint32_t idx,
		      unsigned char *codec);
/* Decode chunk idx (ulen bytes) into dst, checked. */
int store_chunk_decode(struct store_txn *t, uint64_t id, uint32_t idx,
		       void *dst, size_t ulen);
int store_chunk_put(struct store_txn *t, uint64_t id, uint32_t idx,
		    unsigned char codec, uint64_t check, const void *data,
		    size_t len);
/* A new chunk record (no old one to release): bytes into the current
 * pack file, or inline when tiny. */
int store_chunk_put_new(struct store_txn *t, uint64_t id, uint32_t idx,
			unsigned char codec, uint64_t check, const void *data,
			size_t len);

/*
 * Hole maps (holes.c, format 4). A blob whose info record has
 * BLOB_F_HOLES has one more chunk record, at index STORE_HOLES_IDX, codec
 * CODEC_HOLES: le64 bytes in holes ++ runs of le64 start ++ le64 length,
 * sorted, disjoint, starts 4 KiB aligned, lengths whole blocks but the
 * file's last. A run is blocks of zeros; a chunk wholly inside a run has
 * no record of its own. At most STORE_HOLES_RUNS_MAX runs: further zeros
 * are stored as data.
 */
#define STORE_HOLE_BLOCK     4096
#define STORE_HOLES_IDX	     UINT32_MAX
#define STORE_HOLES_RUNS_MAX 65536
#define BLOB_F_HOLES	     1u
/* The info record's flag word: BLOB_F_HOLES, and above it the count of
 * hole blocks (st_blocks without reading the map), saturated at
 * BLOB_HOLE_BLOCKS_SAT (then counted from the map). */
#define BLOB_HOLE_BLOCKS_SAT 0x7fffffffu

/* Built while content is read, block by block in order. */
struct store_holes_build {
	unsigned char *map; /* the record being built (owned) */
	size_t len, cap;
	uint64_t bytes, blocks, run_start, run_len;
	uint32_t nruns;
	bool open; /* a run is being extended */
	int err;   /* sticky -ENOMEM */
};
/* The block at off (len bytes: 4 KiB, or the file's last) is zero or not. */
void store_holes_add(struct store_holes_build *b, uint64_t off, uint64_t len,
		     bool zero);
/* store_holes_add for each block of p (len bytes of content at off). */
void store_holes_scan(struct store_holes_build *b, const unsigned char *p,
		      uint64_t off, uint64_t len);
/* Does the run being built start at or before start (it will cover
 * everything added since)? */
bool store_holes_open_from(const struct store_holes_build *b, uint64_t start);
/* After the last block: 0 or -ENOMEM. b->len 0: no holes. */
int store_holes_finish(struct store_holes_build *b);
void store_holes_build_release(struct store_holes_build *b);
int store_holes_put(struct store_txn *t, uint64_t id,
		    const struct store_holes_build *b);
bool store_block_zero(const unsigned char *p, size_t len);

/* A map to ask: runs point into own (loaded) or a builder's map. */
struct store_holes {
	const unsigned char *runs;
	size_t n;
	uint64_t bytes, blocks;
	unsigned char *own;
};
void store_holes_view(const struct store_holes_build *b, struct store_holes *h);
/* blob.c: 1 when chunk idx of bi is all hole (it has no record), 0 when
 * not, or -errno. */
int store_blob_chunk_absent(struct store_txn *t,
			    const struct store_blob_info *bi, uint32_t idx);
/* Blob id's map (checked against size; -EIO when bad). */
int store_holes_load(struct store_txn *t, uint64_t id, uint64_t size,
		     struct store_holes *h);
void store_holes_release(struct store_holes *h);
/* Is [start, start + len) all hole? */
bool store_holes_cover(const struct store_holes *h, uint64_t start,
		       uint64_t len);
/* lseek's SEEK_DATA (data) / SEEK_HOLE in a blob of size bytes. -ENXIO. */
int store_holes_seek(const struct store_holes *h, uint64_t size, uint64_t off,
		     bool data, uint64_t *out);

/* Pack files (pfile.c). Append: len bytes at the end of the current
 * file, in write txn t (made durable by its commit); ref gets where.
 * Read: ref's bytes into a per-thread buffer, valid until the thread's
 * next read (-EIO, logged with the file, when they are not there). Free:
 * ref's bytes are garbage once t commits. */
int store_pfile_append(struct store_txn *t, const void *data, size_t len,
		       unsigned char ref[STORE_PFREF_LEN]);
int store_pfile_read(struct store_txn *t, const unsigned char *ref,
		     const unsigned char **out, size_t *len);
int store_pfile_free(struct store_txn *t, const unsigned char *ref);
void store_pfref_encode(unsigned char *b, uint32_t file, uint64_t off,
			uint32_t len);
void store_pfref_decode(const unsigned char *b, uint32_t *file, uint64_t *off,
			uint32_t *len);
/* Make the next append start a new file unless the current one is empty
 * (write txn): compaction rewrites what the current file holds, which then
 * becomes garbage that repack can give back (it never takes the current
 * file). */
int store_pfile_roll(struct store_txn *t);
int store_pfile_path(const struct store *st, uint32_t file, char *buf,
		     size_t len);
/* Commit hook of write txns (store_txn_commit, before LMDB's commit):
 * the files' records, then fdatasync of the appended bytes. */
int store_pfile_txn_commit(struct store_txn *t);
void store_pfile_txn_free(struct store_txn *t);
void store_pfile_init(struct store *st);
/* check: every reference against its file's record and size; records'
 * live bytes against the references (store_verify). */
int store_pfile_verify(struct store_txn *t, store_report_fn fn, void *arg,
		       unsigned *problems);
void store_pfile_close(struct store *st);
/* A chunk's stored bytes: inline (older stores) or from its pack file.
 * codec/len/data as store_chunk_get's, of the raw record v. */
int store_chunk_bytes(struct store_txn *t, const MDB_val *v,
		      unsigned char *codec, const unsigned char **data,
		      size_t *len);

/* Shared frames (pack.c): public contract in store.h. */

/* The calling thread's zstd compression context (NULL: out of memory),
 * kept for the thread's life: one per worker, never reallocated. */
struct ZSTD_CCtx_s *store_thread_cctx(void);
/* The same for decompression. */
struct ZSTD_DCtx_s *store_thread_dctx(void);
struct store_frame {
	unsigned char *z; /* the compressed frame */
	size_t zlen, rawlen;
	uint64_t check; /* XXH3-64 of the raw bytes */
	uint64_t pack;	/* its id once written (0: not yet) */
	unsigned char ref[STORE_PFREF_LEN];
	uint32_t members; /* committed */
};
int store_frame_record_put(struct store_txn *t, const struct store_frame *f);
uint64_t store_blob_prep_check(const struct store_blob_prep *p);

/* Packs (pack.c): ref is a CODEC_PACK chunk's data. */
int store_pack_read(struct store_txn *t, const unsigned char *ref, size_t rlen,
		    void *dst, size_t len, uint64_t check);
/* Decode pack id (its record, frame and check) into buf, STORE_PACK_RAW
 * bytes; its length in *len. -EIO (logged) if it is missing or bad.
 * yielding: a step at a time, sched_yield() between steps (readahead). */
int store_pack_decode(struct store_txn *t, uint64_t id, unsigned char *buf,
		      size_t *len, bool yielding);
/* Member (off, len, check) of pack id, decoded into a buffer of its own,
 * for when the frame cache has no slot free. */
int store_pack_read_uncached(struct store_txn *t, uint64_t id, uint32_t off,
			     void *dst, size_t len, uint64_t check);
/* Log that a member of pack id does not match its check: -EIO. */
int store_pack_member_bad(struct store_txn *t, uint64_t id);
/* framecache.c: member (off, len, check) of pack id, through the
 * process's cache of decoded frames. */
int store_frame_cache_read(struct store_txn *t, uint64_t id, uint32_t off,
			   void *dst, size_t len, uint64_t check);
int store_pack_unref(struct store_txn *t, const unsigned char *ref,
		     size_t rlen);
int store_pack_exists(struct store_txn *t, const unsigned char *ref,
		      size_t rlen);

/* Reclaim index (reclaim.c), written in the txn that changes a blob's
 * refcount to or from 0: add/del return 0 or -errno (del of an absent
 * entry is 0). build rewrites it from the blobs (an older store's first
 * writing open; gc, to repair what an older blast left). check reports
 * each disagreement with the blobs through fn. */
int store_zeroref_add(struct store_txn *t, uint64_t id);
int store_zeroref_del(struct store_txn *t, uint64_t id);
int store_zeroref_build(struct store_txn *t);
int store_zeroref_check(struct store_txn *t, store_report_fn fn, void *arg,
			unsigned *problems);

/* Extended attributes of a host file (xattrio.c), for import and
 * export: the kept namespaces of fd (or, with fd < 0, of path, not
 * followed) as a blob's encoding into *buf (malloc'd; NULL, 0 when
 * none); and blob's attributes set on fd (or path, followed: a
 * /proc/self/fd link), leaving out what the target refuses (ENOTSUP,
 * EPERM). */
int store_xattrs_read_host(int fd, const char *path, unsigned char **buf,
			   size_t *len);
int store_xattrs_write_host(struct store_txn *t, uint64_t blob, int fd,
			    const char *path);

/* gc.c: drop pins of dead owners (counted in gs->pins_dropped); put the
 * blobs live pins hold into `pinned`. */
int store_gc_pins(struct store_txn *t, struct u64map *pinned,
		  struct store_gc_stats *gs);

/* Pins (env.c) */
void store_pin_owner(unsigned char owner[16]);
bool store_pin_owner_alive(const unsigned char owner[16]);

/* Decode an env record. */
int store_env_decode(const MDB_val *k, const MDB_val *v, struct store_env *e);

#endif
