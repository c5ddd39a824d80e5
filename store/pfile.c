/* SPDX-License-Identifier: MIT */
/*
 * pfile.c - pack files: the stored bytes of chunks and shared frames,
 * appended to files STORE/packs/NNNNNNNN.pack of up to PFILE_MAX bytes
 * (tests make them smaller with BLAST_PFILE_MAX, in bytes);
 * LMDB keeps only a reference (file id, offset, length) in the chunk or
 * frame record. So a blob costs its compressed bytes on disk, not whole
 * 4 KiB overflow pages, and the bytes of one import or seal lie one after
 * the other, in the order they were written.
 *
 * Appends happen in a write txn, whose holder is the only writer of the
 * whole store (LMDB's writer lock, across processes): bytes go at the
 * current file's committed end with pwrite; at commit the file is
 * fdatasync'd (and the directory, for a new file) before LMDB commits the
 * records that point there. A crash or abort leaves bytes past the
 * committed end, which the next writer overwrites (and cuts off first).
 * Committed bytes never change, so readers pread them without a lock.
 *
 * DB_PFILES holds per file: end(le64) ++ live bytes(le64) ++ dead(le64).
 * Freeing a reference lowers live; a file that is not the current one
 * with live 0 is marked dead with the id of the txn that emptied it, and
 * is unlinked by store_pfile_sweep once no reader's snapshot is older
 * than that txn (LMDB's reader table), then its record goes. Files whose
 * live fraction fell below a threshold are rewritten by store_pfile_repack
 * (their live records moved to the current file), which also moves the
 * records an older store kept inside LMDB.
 */
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

#define PFILE_REC_LEN 24

struct pfile_rec {
	uint64_t end, live, dead;
};

struct pfile_delta {
	uint32_t file;
	bool end_set;
	uint64_t end;
	int64_t live;
};

/* Per write txn (store_txn.pf), allocated at its first append or free. */
struct pfile_txn {
	bool have_cur; /* cur/end loaded */
	bool created;  /* a file was created: fsync the directory */
	bool appended; /* bytes written to the writer fd */
	uint32_t cur;
	uint64_t end;
	struct pfile_delta *d;
	size_t nd, cap;
};

/* ---- names and records ---- */

int store_pfile_path(const struct store *st, uint32_t file, char *buf,
		     size_t len)
{
	int n =
	    snprintf(buf, len, "%s/packs/%08" PRIx32 ".pack", st->path, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void rec_key(unsigned char k[4], uint32_t file)
{
	put_be32(k, file);
}

static int rec_get(struct store_txn *t, uint32_t file, struct pfile_rec *r)
{
	unsigned char kb[4];
	MDB_val k = {4, kb}, v;
	int err;

	rec_key(kb, file);
	err = store_get(t, DB_PFILES, &k, &v);
	if (err)
		return err;
	if (v.mv_size != PFILE_REC_LEN) {
		store_logf(t->st, "pack file %08" PRIx32 ": corrupt record",
			   file);
		return -EIO;
	}
	r->end = get_le64(v.mv_data);
	r->live = get_le64((const unsigned char *)v.mv_data + 8);
	r->dead = get_le64((const unsigned char *)v.mv_data + 16);
	return 0;
}

static int rec_put(struct store_txn *t, uint32_t file,
		   const struct pfile_rec *r)
{
	unsigned char kb[4], vb[PFILE_REC_LEN];
	MDB_val k = {4, kb}, v = {PFILE_REC_LEN, vb};

	rec_key(kb, file);
	put_le64(vb, r->end);
	put_le64(vb + 8, r->live);
	put_le64(vb + 16, r->dead);
	return store_put(t, DB_PFILES, &k, &v, 0);
}

void store_pfref_encode(unsigned char *b, uint32_t file, uint64_t off,
			uint32_t len)
{
	put_le32(b, file);
	put_le64(b + 4, off);
	put_le32(b + 12, len);
}

void store_pfref_decode(const unsigned char *b, uint32_t *file, uint64_t *off,
			uint32_t *len)
{
	*file = get_le32(b);
	*off = get_le64(b + 4);
	*len = get_le32(b + 12);
}

/* ---- the per-txn state ---- */

static struct pfile_txn *txn_state(struct store_txn *t)
{
	if (!t->pf)
		t->pf = store_calloc(1, sizeof(*t->pf));
	return t->pf;
}

static struct pfile_delta *delta(struct pfile_txn *p, uint32_t file)
{
	for (size_t i = 0; i < p->nd; i++)
		if (p->d[i].file == file)
			return &p->d[i];
	if (p->nd == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		void *n = store_realloc(p->d, cap * sizeof(*p->d));

		if (!n)
			return NULL;
		p->d = n;
		p->cap = cap;
	}
	memset(&p->d[p->nd], 0, sizeof(p->d[0]));
	p->d[p->nd].file = file;
	return &p->d[p->nd++];
}

void store_pfile_txn_free(struct store_txn *t)
{
	if (!t->pf)
		return;
	free(t->pf->d);
	free(t->pf);
	t->pf = NULL;
}

/* ---- the writer's file (st->wfd: used only under LMDB's writer lock) --- */

static int open_packs_dir(struct store *st)
{
	char p[4096];
	int n = snprintf(p, sizeof(p), "%s/packs", st->path);

	if (n < 0 || (size_t)n >= sizeof(p))
		return -ENAMETOOLONG;
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Make file the writer's, its bytes past end cut off. */
static int writer_open(struct store *st, uint32_t file, uint64_t end)
{
	char p[4096];
	struct stat sb;
	int err, fd = st->wfd;

	if (fd < 0 || st->wfile != file) {
		err = open_packs_dir(st);
		if (!err)
			err = store_pfile_path(st, file, p, sizeof(p));
		if (err)
			return err;
		fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			err = -errno;
			store_logf(st, "cannot open pack file '%s': %s", p,
				   strerror(errno));
			return err;
		}
		if (st->wfd >= 0)
			close(st->wfd);
		st->wfd = fd;
		st->wfile = file;
	}
	if (fstat(fd, &sb) < 0)
		return -errno;
	if ((uint64_t)sb.st_size > end && ftruncate(fd, (off_t)end) < 0)
		return -errno;
	return 0;
}

/* The durable point of what this txn appended to the writer's file. */
static int writer_sync(struct store *st)
{
	if (store_fault_hit(STORE_FAULT_FSYNC))
		return -EIO;
	return fdatasync(st->wfd) < 0 ? -errno : 0;
}

/* Start a new current file. */
static int roll(struct store_txn *t, struct pfile_txn *p)
{
	struct pfile_rec r = {0};
	uint64_t id;
	int err;

	if (p->appended) { /* the old file's bytes are committed with us */
		err = writer_sync(t->st);
		if (err)
			return err;
		p->appended = false;
	}
	err = store_meta_next(t, "next_pfile", &id);
	if (!err && id > UINT32_MAX)
		err = -EOVERFLOW;
	if (!err)
		err = rec_put(t, (uint32_t)id, &r);
	if (!err)
		err = store_meta_put_u64(t, "pfile_cur", id);
	if (!err)
		err = writer_open(t->st, (uint32_t)id, 0);
	if (err)
		return err;
	p->cur = (uint32_t)id;
	p->end = 0;
	p->created = true;
	return 0;
}

/* Load the current file; start one when there is none, it is full, most
 * of it is garbage (so that repack can take it), or it is marked dead
 * (the sweep would unlink what we append there). */
static int cur_load(struct store_txn *t, struct pfile_txn *p)
{
	struct pfile_rec r;
	uint64_t id;
	int err;

	if (p->have_cur)
		return 0;
	err = store_meta_get_u64(t, "pfile_cur", &id);
	if (!err)
		err = rec_get(t, (uint32_t)id, &r);
	if (err == -ENOENT ||
	    (!err && (r.dead || r.end >= t->st->pfile_max ||
		      (r.end >= t->st->pfile_max / 4 && r.live * 2 < r.end))))
		err = roll(t, p);
	else if (!err) {
		err = writer_open(t->st, (uint32_t)id, r.end);
		p->cur = (uint32_t)id;
		p->end = r.end;
	}
	if (!err)
		p->have_cur = true;
	return err;
}

int store_pfile_roll(struct store_txn *t)
{
	struct pfile_txn *p = txn_state(t);
	int err;

	if (!p)
		return -ENOMEM;
	err = cur_load(t, p);
	if (!err && p->end > 0)
		err = roll(t, p);
	return err;
}

int store_pfile_append(struct store_txn *t, const void *data, size_t len,
		       unsigned char ref[STORE_PFREF_LEN])
{
	struct pfile_txn *p = txn_state(t);
	struct pfile_delta *d;
	ssize_t n;
	int err;

	if (!p)
		return -ENOMEM;
	if (len > UINT32_MAX)
		return -EFBIG;
	err = cur_load(t, p);
	if (!err && p->end > 0 && p->end + len > t->st->pfile_max)
		err = roll(t, p);
	if (err)
		return err;
	if (store_fault_hit(STORE_FAULT_WRITE))
		return -ENOSPC;
	n = len ? pwrite(t->st->wfd, data, len, (off_t)p->end) : 0;
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -ENOSPC;
	d = delta(p, p->cur);
	if (!d)
		return -ENOMEM;
	store_pfref_encode(ref, p->cur, p->end, (uint32_t)len);
	p->end += len;
	p->appended = p->appended || len;
	d->end_set = true;
	d->end = p->end;
	d->live += (int64_t)len;
	return 0;
}

int store_pfile_free(struct store_txn *t, const unsigned char *ref)
{
	struct pfile_txn *p = txn_state(t);
	struct pfile_delta *d;
	uint32_t file, len;
	uint64_t off;

	if (!p)
		return -ENOMEM;
	store_pfref_decode(ref, &file, &off, &len);
	d = delta(p, file);
	if (!d)
		return -ENOMEM;
	d->live -= (int64_t)len;
	return 0;
}

int store_pfile_txn_commit(struct store_txn *t)
{
	struct pfile_txn *p = t->pf;
	uint64_t txnid;
	int err = 0;

	if (!p)
		return 0;
	txnid = mdb_txn_id(t->txn);
	if (!p->have_cur) { /* only frees: never mark the current file dead */
		uint64_t id = 0;

		err = store_meta_get_u64(t, "pfile_cur", &id);
		if (err && err != -ENOENT)
			return err;
		err = 0;
		p->cur = (uint32_t)id;
		p->have_cur = true;
	}
	for (size_t i = 0; i < p->nd && !err; i++) {
		struct pfile_delta *d = &p->d[i];
		struct pfile_rec r;

		err = rec_get(t, d->file, &r);
		if (err == -ENOENT) {
			store_logf(t->st,
				   "pack file %08" PRIx32 " has no record",
				   d->file);
			err = -EIO;
		}
		if (err)
			break;
		if (d->end_set)
			r.end = d->end;
		if (d->live < 0 && (uint64_t)-d->live > r.live) {
			store_logf(t->st,
				   "pack file %08" PRIx32 ": live bytes "
				   "underflow",
				   d->file);
			r.live = 0;
		} else {
			r.live = (uint64_t)((int64_t)r.live + d->live);
		}
		if (r.live == 0 && !r.dead &&
		    !(p->have_cur && d->file == p->cur))
			r.dead = txnid;
		err = rec_put(t, d->file, &r);
	}
	if (!err && p->appended)
		err = writer_sync(t->st);
	if (!err && p->created) {
		char dir[4096];
		int fd, n = snprintf(dir, sizeof(dir), "%s/packs", t->st->path);

		fd = n > 0 && (size_t)n < sizeof(dir)
			 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
			 : -1;
		if (fd < 0 || fsync(fd) < 0)
			err = -errno;
		if (fd >= 0)
			close(fd);
	}
	return err;
}

/* ---- reads ---- */

struct rbuf {
	size_t cap;
	unsigned char *p;
};

static pthread_key_t rbuf_key;
static pthread_once_t rbuf_once = PTHREAD_ONCE_INIT;

static void rbuf_free(void *v)
{
	struct rbuf *b = v;

	free(b->p);
	free(b);
}

static void rbuf_init(void)
{
	pthread_key_create(&rbuf_key, rbuf_free);
}

static unsigned char *thread_buf(size_t len)
{
	struct rbuf *b;

	pthread_once(&rbuf_once, rbuf_init);
	b = pthread_getspecific(rbuf_key);
	if (!b) {
		b = store_calloc(1, sizeof(*b));
		if (!b || pthread_setspecific(rbuf_key, b)) {
			free(b);
			return NULL;
		}
	}
	if (b->cap < len) {
		unsigned char *n = store_realloc(b->p, len);

		if (!n)
			return NULL;
		b->p = n;
		b->cap = len;
	}
	return b->p ? b->p : (unsigned char *)b;
}

/* A cached read fd of file: slot index with a reference, or -errno. */
static int rfd_get(struct store *st, uint32_t file)
{
	char p[4096];
	int i, victim = -1, fd, err;

	pthread_mutex_lock(&st->rfd_lock);
	for (i = 0; i < PFILE_RFDS; i++)
		if (st->rfd[i].fd >= 0 && st->rfd[i].file == file) {
			st->rfd[i].refs++;
			st->rfd[i].used = ++st->rfd_clock;
			pthread_mutex_unlock(&st->rfd_lock);
			return i;
		}
	for (i = 0; i < PFILE_RFDS; i++)
		if (st->rfd[i].refs == 0 &&
		    (victim < 0 || st->rfd[i].fd < 0 ||
		     (st->rfd[victim].fd >= 0 &&
		      st->rfd[i].used < st->rfd[victim].used)))
			victim = i;
	err = store_pfile_path(st, file, p, sizeof(p));
	fd = err ? -1 : open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (!err && fd < 0) {
		err = -errno;
		store_logf(st, "cannot open pack file '%s': %s", p,
			   strerror(errno));
	}
	if (!err && victim < 0) { /* every slot busy: read uncached */
		pthread_mutex_unlock(&st->rfd_lock);
		return PFILE_RFDS + fd;
	}
	if (!err) {
		if (st->rfd[victim].fd >= 0)
			close(st->rfd[victim].fd);
		st->rfd[victim].fd = fd;
		st->rfd[victim].file = file;
		st->rfd[victim].refs = 1;
		st->rfd[victim].used = ++st->rfd_clock;
	}
	pthread_mutex_unlock(&st->rfd_lock);
	return err ? err : victim;
}

static int rfd_fd(struct store *st, int slot)
{
	return slot >= PFILE_RFDS ? slot - PFILE_RFDS : st->rfd[slot].fd;
}

static void rfd_put(struct store *st, int slot)
{
	if (slot >= PFILE_RFDS) {
		close(slot - PFILE_RFDS);
		return;
	}
	pthread_mutex_lock(&st->rfd_lock);
	st->rfd[slot].refs--;
	pthread_mutex_unlock(&st->rfd_lock);
}

/* Close the cached fd of file (unlinked), unless a read holds it. */
static void rfd_forget(struct store *st, uint32_t file)
{
	pthread_mutex_lock(&st->rfd_lock);
	for (int i = 0; i < PFILE_RFDS; i++)
		if (st->rfd[i].fd >= 0 && st->rfd[i].file == file &&
		    st->rfd[i].refs == 0) {
			close(st->rfd[i].fd);
			st->rfd[i].fd = -1;
		}
	pthread_mutex_unlock(&st->rfd_lock);
}

int store_pfile_read(struct store_txn *t, const unsigned char *ref,
		     const unsigned char **out, size_t *outlen)
{
	struct store *st = t->st;
	unsigned char *buf;
	uint32_t file, len;
	uint64_t off;
	ssize_t n;
	int slot;

	store_pfref_decode(ref, &file, &off, &len);
	buf = thread_buf(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	slot = rfd_get(st, file);
	if (slot < 0)
		return slot == -ENOENT ? -EIO : slot;
	n = len ? pread(rfd_fd(st, slot), buf, len, (off_t)off) : 0;
	rfd_put(st, slot);
	if (n < 0)
		return -errno == -EIO ? -EIO : -errno;
	if ((size_t)n != len) {
		char p[4096];

		if (store_pfile_path(st, file, p, sizeof(p)))
			p[0] = '\0';
		store_logf(st,
			   "pack file '%s' is truncated: %" PRIu32
			   " bytes at offset %" PRIu64 " missing",
			   p, len, off);
		return -EIO;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

void store_pfile_init(struct store *st)
{
	const char *v = getenv("BLAST_PFILE_MAX");
	char *end;
	unsigned long long n = v && *v ? strtoull(v, &end, 10) : 0;

	st->pfile_max =
	    v && *v && !*end && n >= 4096 && n <= PFILE_MAX ? n : PFILE_MAX;
	st->wfd = -1;
	pthread_mutex_init(&st->rfd_lock, NULL);
	for (int i = 0; i < PFILE_RFDS; i++)
		st->rfd[i].fd = -1;
}

void store_pfile_close(struct store *st)
{
	if (st->wfd >= 0)
		close(st->wfd);
	for (int i = 0; i < PFILE_RFDS; i++)
		if (st->rfd[i].fd >= 0)
			close(st->rfd[i].fd);
	pthread_mutex_destroy(&st->rfd_lock);
}

/* ---- sweep: unlink dead files no reader can still see ---- */

struct readers {
	uint64_t oldest; /* UINT64_MAX: no reader in a txn */
};

static int reader_line(const char *msg, void *ctx)
{
	struct readers *r = ctx;
	unsigned long long txnid;
	int pid;
	size_t tid;

	if (sscanf(msg, "%d %zx %llu", &pid, &tid, &txnid) == 3 &&
	    txnid < r->oldest)
		r->oldest = txnid;
	return 0;
}

int store_pfile_sweep(struct store *st, unsigned *files, uint64_t *bytes)
{
	struct readers rd = {UINT64_MAX};
	struct store_txn *t;
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t gone[64];
	size_t ngone = 0;
	int rc, dead, err;

	mdb_reader_check(st->env, &dead);
	mdb_reader_list(st->env, reader_line, &rd);
	err = store_txn_begin(st, true, &t);
	if (err)
		return err;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_PFILES), &cur);
	if (rc) {
		store_txn_abort(t);
		return store_mdb_err(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     !rc && ngone < sizeof(gone) / sizeof(gone[0]);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t deadtx;
		char p[4096];

		if (k.mv_size != 4 || v.mv_size != PFILE_REC_LEN)
			continue;
		deadtx = get_le64((const unsigned char *)v.mv_data + 16);
		/* our own write txn is a reader of nothing older */
		if (!deadtx || deadtx > rd.oldest)
			continue;
		gone[ngone] = get_be32(k.mv_data);
		if (bytes)
			*bytes += get_le64(v.mv_data);
		rfd_forget(st, gone[ngone]);
		if (!store_pfile_path(st, gone[ngone], p, sizeof(p)) &&
		    unlink(p) < 0 && errno != ENOENT) {
			store_logf(st, "cannot remove pack file '%s': %s", p,
				   strerror(errno));
			continue;
		}
		ngone++;
	}
	mdb_cursor_close(cur);
	err = rc && rc != MDB_NOTFOUND ? store_mdb_err(rc) : 0;
	for (size_t i = 0; i < ngone && !err; i++) {
		unsigned char kb[4];
		MDB_val dk = {4, kb};

		rec_key(kb, gone[i]);
		err = store_del(t, DB_PFILES, &dk);
	}
	if (err) {
		store_txn_abort(t);
		return err;
	}
	if (files)
		*files += (unsigned)ngone;
	return store_txn_commit(t);
}

/* ---- du ---- */

static __thread uint64_t du_sum;

static int du_add(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	du_sum += (uint64_t)sb->st_blocks * 512;
	return 0;
}

int store_disk_usage(struct store *st, uint64_t *out)
{
	du_sum = 0;
	if (nftw(st->path, du_add, 16, FTW_PHYS | FTW_MOUNT) < 0)
		return -errno;
	*out = du_sum;
	return 0;
}

/* ---- verify: pack files against the index ---- */

struct vfile {
	uint32_t file;
	uint64_t end, live, dead, refd;
	int64_t disk; /* size on disk, -1: missing */
	uint64_t lost[8];
	size_t nlost;
};

struct vctx {
	struct store_txn *t;
	store_report_fn fn;
	void *arg;
	unsigned *problems;
	struct vfile *f;
	size_t nf;
};

static void vproblem(struct vctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void vproblem(struct vctx *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->fn(c->arg, buf);
	(*c->problems)++;
}

static struct vfile *vfind(struct vctx *c, uint32_t file)
{
	size_t lo = 0, hi = c->nf;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->f[mid].file == file)
			return &c->f[mid];
		if (c->f[mid].file < file)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int vload(struct vctx *c)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int rc;

	rc = mdb_cursor_open(c->t->txn, sdb(c->t, DB_PFILES), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *b = v.mv_data;
		struct vfile *f;
		struct stat sb;
		char p[4096];

		if (k.mv_size != 4 || v.mv_size != PFILE_REC_LEN) {
			vproblem(c, "pack files: malformed record");
			continue;
		}
		if (c->nf == cap) {
			void *n;

			cap = cap ? cap * 2 : 64;
			n = store_realloc(c->f, cap * sizeof(*c->f));
			if (!n) {
				mdb_cursor_close(cur);
				return -ENOMEM;
			}
			c->f = n;
		}
		f = &c->f[c->nf++];
		memset(f, 0, sizeof(*f));
		f->file = get_be32(k.mv_data);
		f->end = get_le64(b);
		f->live = get_le64(b + 8);
		f->dead = get_le64(b + 16);
		f->disk = -1;
		if (!store_pfile_path(c->t->st, f->file, p, sizeof(p)) &&
		    !stat(p, &sb))
			f->disk = sb.st_size;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

/* One reference of `what` (blob or frame id). */
static void vref(struct vctx *c, const char *what, uint64_t id,
		 const unsigned char *ref)
{
	uint32_t file, len;
	uint64_t off;
	struct vfile *f;

	store_pfref_decode(ref, &file, &off, &len);
	f = vfind(c, file);
	if (!f || f->dead) {
		vproblem(c,
			 "%s %llu: its bytes are in pack file %08" PRIx32
			 ", which is %s",
			 what, (unsigned long long)id, file,
			 f ? "dead" : "not in the index");
		return;
	}
	f->refd += len;
	if (off + len > f->end)
		vproblem(c,
			 "%s %llu: its bytes lie past the end of pack file "
			 "%08" PRIx32,
			 what, (unsigned long long)id, file);
	else if (f->disk >= 0 && off + len > (uint64_t)f->disk &&
		 f->nlost < sizeof(f->lost) / sizeof(f->lost[0]))
		f->lost[f->nlost++] = id;
	else if (f->disk >= 0 && off + len > (uint64_t)f->disk)
		f->nlost++;
}

static int vscan(struct vctx *c, enum store_db db, size_t hdr)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(c->t->txn, sdb(c->t, db), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *b = v.mv_data;

		if (k.mv_size < 8 || v.mv_size != hdr + STORE_PFREF_LEN ||
		    !(b[0] & CODEC_EXT))
			continue;
		vref(c, db == DB_CHUNKS ? "blob" : "pack", get_be64(k.mv_data),
		     b + hdr);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

static void vfile_report(struct vctx *c, const struct vfile *f)
{
	char p[4096], ids[200] = "";
	size_t n = 0;

	if (store_pfile_path(c->t->st, f->file, p, sizeof(p)))
		p[0] = '\0';
	if (f->dead)
		return;
	if (f->refd != f->live)
		vproblem(c,
			 "pack file '%s': %" PRIu64 " live bytes recorded, "
			 "%" PRIu64 " referenced",
			 p, f->live, f->refd);
	for (size_t i = 0; i < f->nlost && i < 8 && n < sizeof(ids); i++)
		n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%llu",
				      i ? ", " : "",
				      (unsigned long long)f->lost[i]);
	if (f->disk < 0 && f->refd)
		vproblem(c, "pack file '%s' is missing: its blobs lost data",
			 p);
	else if (f->disk >= 0 && (uint64_t)f->disk < f->end && f->nlost)
		vproblem(c,
			 "pack file '%s' is truncated (%lld of %" PRIu64
			 " bytes): %zu records lost data (blob or pack ids "
			 "%s%s)",
			 p, (long long)f->disk, f->end, f->nlost, ids,
			 f->nlost > 8 ? ", ..." : "");
}

int store_pfile_verify(struct store_txn *t, store_report_fn fn, void *arg,
		       unsigned *problems)
{
	struct vctx c = {.t = t, .fn = fn, .arg = arg, .problems = problems};
	int err;

	if (t->st->no_pfiles)
		return 0;
	err = vload(&c);
	if (!err)
		err = vscan(&c, DB_CHUNKS, STORE_CHUNK_HDR);
	if (!err)
		err = vscan(&c, DB_PACKS, PACK_RECORD_HDR);
	for (size_t i = 0; !err && i < c.nf; i++)
		vfile_report(&c, &c.f[i]);
	free(c.f);
	return err;
}
