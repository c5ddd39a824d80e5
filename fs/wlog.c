/* SPDX-License-Identifier: MIT */
/*
 * wlog.c - the write log: what makes a write survive the daemon's death
 * before its file is sealed into the store.
 *
 * blastfs answers OPEN and FLUSH with ENOSYS (io.c), so a reader's open
 * and close cost no round trip; the price is that the kernel no longer
 * says when a file opened for writing is closed, so a close cannot wait
 * for a seal. Instead every WRITE is appended here before it is answered
 * (the append and the change to the node happen under wlog.mu, so the
 * log's order is the order of the changes), and a seal appends a mark
 * saying which of its file's records the stored content now covers.
 * After kill -9, the next start replays, before it mounts, every record
 * no mark covers onto the file's stored content (writes and truncates
 * in log order are idempotent on any state between the first and the
 * last), through the same seal as a live write.
 *
 * Positions are gen << 40 | offset and only grow: the log is a series of
 * files STORE/staging/ENV.wlog.GEN; a new generation starts whenever no
 * file is dirty (the old files are deleted: everything is sealed) and
 * when the current one passes `max` bytes (the sealer then seals the
 * files that keep older generations alive, and deletes those). Appends
 * are plain writes: they survive the daemon, not the OS; fsync seals
 * and syncs the store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include "fs_internal.h"

#define WLOG_MAGIC  0x474c5742u /* "BWLG" */
#define WLOG_WRITE  1u
#define WLOG_SEALED 2u
#define WLOG_TRUNC  3u /* off: the file's new size */
#define WLOG_FALLOC                                                            \
	4u /* fallocate(2): off, length in upto, the mode in                   \
	      kind's bits 16 and up */
#define KIND_MASK   0xffffu
#define OFF_BITS    40
#define MAX_DEFAULT (64ull << 20)

/* One record: this header, then len data bytes (writes). */
struct wlog_rec {
	uint32_t magic, kind;
	uint64_t fid;
	uint64_t off, len;	    /* write: file offset, data bytes */
	uint64_t upto;		    /* mark: records before this are sealed */
	int64_t mtime_ns, ctime_ns; /* write: the file's times after it */
	uint64_t sum; /* XXH3 of the header before it, then data */
};

static uint64_t rec_sum(const struct wlog_rec *r, const void *data)
{
	uint64_t h = XXH3_64bits(r, offsetof(struct wlog_rec, sum));

	return XXH3_64bits_withSeed(data, r->len, h);
}

static void gen_path(const struct fs_wlog *w, uint64_t gen, char *out,
		     size_t len)
{
	snprintf(out, len, "%s.%" PRIu64, w->base, gen);
}

static int gen_create(struct fs_wlog *w, uint64_t gen)
{
	char path[sizeof(w->base) + 24];
	int fd;

	gen_path(w, gen, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->gen = gen;
	atomic_store(&w->gen_now, gen);
	w->off = 0;
	return 0;
}

/* Delete generations [w->oldest, upto). */
static void gens_delete(struct fs_wlog *w, uint64_t upto)
{
	char path[sizeof(w->base) + 24];
	struct stat sb;

	for (; w->oldest < upto; w->oldest++) {
		gen_path(w, w->oldest, path, sizeof(path));
		if (stat(path, &sb) == 0)
			atomic_fetch_sub(&w->bytes,
					 (unsigned long long)sb.st_size);
		unlink(path);
	}
}

uint64_t fs_wlog_pos(struct fs *fs)
{
	return fs->wlog.gen << OFF_BITS | fs->wlog.off;
}

static int append(struct fs_wlog *w, struct wlog_rec *r, const void *data)
{
	struct iovec iov[2] = {{r, sizeof(*r)}, {(void *)data, r->len}};
	size_t want = sizeof(*r) + r->len, done = 0;
	ssize_t got;

	r->magic = WLOG_MAGIC;
	r->sum = rec_sum(r, data);
	while (done < want) {
		struct iovec *v = iov;
		int cnt = 2;
		size_t skip = done;

		if (skip >= iov[0].iov_len) {
			skip -= iov[0].iov_len;
			v++;
			cnt--;
		}
		v->iov_base = (char *)v->iov_base + skip;
		v->iov_len -= skip;
		got = pwritev(w->fd, v, cnt, (off_t)(w->off + done));
		v->iov_base = (char *)v->iov_base - skip;
		v->iov_len += skip;
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			int err = got < 0 ? -errno : -EIO;

			/* a torn record must not stay in front of later ones */
			if (ftruncate(w->fd, (off_t)w->off) < 0)
				err = -EIO;
			return err;
		}
		done += (size_t)got;
	}
	w->off += want;
	atomic_fetch_add(&w->bytes, (unsigned long long)want);
	return 0;
}

/* A new generation once the current one passes max, so that no file
 * grows past it; the sealer then seals the files whose writes keep the
 * old ones, and deletes those. If it cannot be made, the current one
 * goes on (tidy tries again). */
static void roll(struct fs *fs)
{
	struct fs_wlog *w = &fs->wlog;

	if (w->off >= w->max && !gen_create(w, w->gen + 1))
		fs_sealer_kick(fs);
}

/* Append a change of fid (its data, the times it gave the file) at *at. */
static int log_change(struct fs *fs, struct wlog_rec *r, const void *data,
		      int64_t now, uint64_t *at)
{
	roll(fs);
	*at = fs_wlog_pos(fs);
	r->mtime_ns = r->ctime_ns = now;
	return append(&fs->wlog, r, data);
}

int fs_wlog_write(struct fs *fs, uint64_t fid, uint64_t off, const void *data,
		  size_t len, int64_t now, uint64_t *at)
{
	struct wlog_rec r = {
	    .kind = WLOG_WRITE, .fid = fid, .off = off, .len = len};

	return log_change(fs, &r, data, now, at);
}

int fs_wlog_truncate(struct fs *fs, uint64_t fid, uint64_t size, int64_t now,
		     uint64_t *at)
{
	struct wlog_rec r = {.kind = WLOG_TRUNC, .fid = fid, .off = size};

	return log_change(fs, &r, NULL, now, at);
}

int fs_wlog_falloc(struct fs *fs, uint64_t fid, int mode, uint64_t off,
		   uint64_t len, int64_t now, uint64_t *at)
{
	struct wlog_rec r = {.kind = WLOG_FALLOC | (uint32_t)mode << 16,
			     .fid = fid,
			     .off = off,
			     .upto = len};

	return log_change(fs, &r, NULL, now, at);
}

void fs_wlog_cut(struct fs *fs, uint64_t pos)
{
	struct fs_wlog *w = &fs->wlog;
	uint64_t off = pos & ((1ull << OFF_BITS) - 1);

	if (pos >> OFF_BITS != w->gen || off > w->off)
		return;
	if (ftruncate(w->fd, (off_t)off) == 0) {
		atomic_fetch_sub(&w->bytes, w->off - off);
		w->off = off;
	}
}

int fs_wlog_sealed(struct fs *fs, uint64_t fid, uint64_t upto)
{
	struct wlog_rec r = {.kind = WLOG_SEALED, .fid = fid, .upto = upto};
	int err;

	pthread_mutex_lock(&fs->wlog.mu);
	err = append(&fs->wlog, &r, NULL);
	pthread_mutex_unlock(&fs->wlog.mu);
	return err;
}

uint64_t fs_wlog_gen_of(uint64_t pos)
{
	return pos >> OFF_BITS;
}

int fs_wlog_tidy(struct fs *fs)
{
	struct fs_wlog *w = &fs->wlog;
	uint64_t min = UINT64_MAX;
	int err = 0;

	pthread_mutex_lock(&w->mu);
	fs_lock(fs);
	for (uint64_t i = 1; i < fs->next_nodeid; i++) {
		struct node *n = fs_node_get(fs, i);

		if (n && n->dirty && !n->unlinked && n->dgen < min)
			min = n->dgen;
	}
	fs_unlock(fs);
	if (min == UINT64_MAX && (w->off || w->oldest < w->gen))
		err = gen_create(w, w->gen + 1); /* all sealed: start afresh */
	else if (min != UINT64_MAX && w->off > w->max)
		err = gen_create(w, w->gen + 1); /* the sealer seals the rest */
	gens_delete(w, min < w->gen ? min : w->gen);
	pthread_mutex_unlock(&w->mu);
	return err;
}

bool fs_wlog_pressed(struct fs *fs, uint64_t dgen)
{
	/* the sealer asks without wlog.mu (ThreadSanitizer) */
	return dgen < atomic_load(&fs->wlog.gen_now);
}

/* ---- replay ---- */

struct op {
	uint64_t pos;
	bool trunc;  /* a truncate to off (no data) */
	bool falloc; /* a fallocate of flen bytes at off (mode) */
	int mode;
	uint64_t flen;
	unsigned gen_i; /* index into the replay's open files */
	uint64_t data_at, off, len;
	int64_t mtime_ns, ctime_ns;
};

struct fidops {
	uint64_t fid, upto;
	struct op *v;
	size_t n, cap;
	const char **path; /* names from the root, when found */
	size_t depth;
	bool found;
};

struct replay {
	struct fs *fs;
	struct store_txn *t; /* the walk's */
	int *fds;
	uint64_t *gens;
	size_t nfiles, capfiles;
	struct fidops *f;
	size_t nf, capf;
	size_t records, torn;
};

static struct fidops *fid_ops(struct replay *r, uint64_t fid, bool add)
{
	for (size_t i = 0; i < r->nf; i++)
		if (r->f[i].fid == fid)
			return &r->f[i];
	if (!add)
		return NULL;
	if (r->nf == r->capf) {
		size_t cap = r->capf ? r->capf * 2 : 16;
		struct fidops *p = realloc(r->f, cap * sizeof(*p));

		if (!p)
			return NULL;
		r->f = p;
		r->capf = cap;
	}
	memset(&r->f[r->nf], 0, sizeof(r->f[0]));
	r->f[r->nf].fid = fid;
	return &r->f[r->nf++];
}

/* Read one generation's records: writes are noted (data stays in the
 * file), marks raise their file's `upto`. Stops at the first record that
 * does not check: nothing after it was ever answered. */
static int scan_file(struct replay *r, unsigned gi)
{
	int fd = r->fds[gi];
	uint64_t at = 0, gen = r->gens[gi];
	unsigned char *data = NULL;
	size_t cap = 0;
	struct wlog_rec rec;
	ssize_t got;
	int err = 0;

	for (;;) {
		struct fidops *f;

		got = pread(fd, &rec, sizeof(rec), (off_t)at);
		if (got == 0)
			break;
		if (got != (ssize_t)sizeof(rec) || rec.magic != WLOG_MAGIC ||
		    ((rec.kind < WLOG_WRITE || rec.kind > WLOG_FALLOC) &&
		     (rec.kind & KIND_MASK) != WLOG_FALLOC) ||
		    rec.len > (1ull << 31) ||
		    (rec.kind != WLOG_WRITE && rec.len)) {
			r->torn++;
			break;
		}
		if (rec.len > cap) {
			unsigned char *p = realloc(data, rec.len);

			if (!p) {
				err = -ENOMEM;
				break;
			}
			data = p;
			cap = rec.len;
		}
		if (rec.len &&
		    pread(fd, data, rec.len, (off_t)(at + sizeof(rec))) !=
			(ssize_t)rec.len) {
			r->torn++;
			break;
		}
		if (rec_sum(&rec, data) != rec.sum) {
			r->torn++;
			break;
		}
		f = fid_ops(r, rec.fid, true);
		if (!f) {
			err = -ENOMEM;
			break;
		}
		if (rec.kind == WLOG_SEALED) {
			if (rec.upto > f->upto)
				f->upto = rec.upto;
		} else {
			if (f->n == f->cap) {
				size_t c = f->cap ? f->cap * 2 : 4;
				struct op *p = realloc(f->v, c * sizeof(*p));

				if (!p) {
					err = -ENOMEM;
					break;
				}
				f->v = p;
				f->cap = c;
			}
			f->v[f->n++] = (struct op){
			    .pos = gen << OFF_BITS | at,
			    .trunc = rec.kind == WLOG_TRUNC,
			    .falloc = (rec.kind & KIND_MASK) == WLOG_FALLOC,
			    .mode = (int)(rec.kind >> 16),
			    .flen = rec.upto,
			    .gen_i = gi,
			    .data_at = at + sizeof(rec),
			    .off = rec.off,
			    .len = rec.len,
			    .mtime_ns = rec.mtime_ns,
			    .ctime_ns = rec.ctime_ns};
			r->records++;
		}
		at += sizeof(rec) + rec.len;
	}
	free(data);
	return err;
}

static bool wanted(struct replay *r, uint64_t fid, struct fidops **out)
{
	struct fidops *f = fid_ops(r, fid, false);

	if (!f || f->found)
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].pos >= f->upto) {
			*out = f;
			return true;
		}
	return false;
}

/* One directory of the walk: its entries and the next one. */
struct wframe {
	struct store_dirlist l;
	size_t i;
};

/* f's names from the root: the directories being walked (each frame's
 * current entry), then name. */
static int found_at(struct fidops *f, const struct wframe *fr, size_t nfr,
		    const char *name)
{
	f->path = calloc(nfr, sizeof(*f->path));
	if (!f->path)
		return -ENOMEM;
	f->depth = nfr;
	f->found = true;
	for (size_t k = 0; k + 1 < nfr; k++)
		if (!(f->path[k] = strdup(fr[k].l.v[fr[k].i - 1].name)))
			return -ENOMEM;
	f->path[nfr - 1] = strdup(name);
	return f->path[nfr - 1] ? 0 : -ENOMEM;
}

/* Find the path of every wanted file: one listing per level on a heap
 * stack (any depth). */
static int walk_tree(struct replay *r, struct store_txn *t, uint64_t root)
{
	struct wframe *fr = calloc(16, sizeof(*fr));
	size_t nfr = 0, cap = 16;
	uint64_t tab = root;
	int err = fr ? 0 : -ENOMEM;

	while (!err) {
		const struct store_dirlist_ent *d;
		struct fidops *f;

		if (tab) { /* enter it */
			if (nfr == cap) {
				void *p = realloc(fr, 2 * cap * sizeof(*fr));

				if (!p) {
					err = -ENOMEM;
					break;
				}
				fr = p;
				cap *= 2;
			}
			fr[nfr].i = 0;
			err = store_dir_list(t, tab, &fr[nfr].l);
			if (err)
				break;
			nfr++;
			tab = 0;
		}
		if (!nfr)
			break;
		if (fr[nfr - 1].i == fr[nfr - 1].l.n) {
			store_dirlist_release(&fr[--nfr].l);
			continue;
		}
		d = &fr[nfr - 1].l.v[fr[nfr - 1].i++];
		if (d->name[0] == '/') /* the links table */
			continue;
		if (d->e.payload == STORE_P_TAB)
			tab = d->e.ref;
		else if (wanted(r,
				d->e.payload == STORE_P_HARDLINK ? d->e.ref
								 : d->e.a.fid,
				&f))
			err = found_at(f, fr, nfr, d->name);
	}
	while (nfr)
		store_dirlist_release(&fr[--nfr].l);
	free(fr);
	return err;
}

/* Look the path up as the kernel would (each name gains a lookup, given
 * back by put_path). */
static int get_path(struct fs *fs, struct fidops *f, uint64_t *inos,
		    size_t *got)
{
	fuse_ino_t cur = FUSE_ROOT_ID;
	struct fuse_entry_param ep;
	int err = 0;

	*got = 0;
	for (size_t i = 0; i < f->depth && !err; i++) {
		err = fs_lookup(fs, cur, f->path[i], &ep);
		if (!err && !ep.ino)
			err = -ENOENT;
		if (!err)
			inos[(*got)++] = cur = ep.ino;
	}
	return err;
}

static void put_path(struct fs *fs, const uint64_t *inos, size_t n)
{
	fs_lock(fs);
	while (n--) {
		struct node *x = fs_node_get(fs, inos[n]);

		if (x)
			fs_node_forget(fs, x, 1);
	}
	fs_unlock(fs);
}

/* Apply f's uncovered writes to its file, then seal it. */
static int replay_file(struct replay *r, struct fidops *f)
{
	struct fs *fs = r->fs;
	uint64_t *inos = malloc((f->depth ? f->depth : 1) * sizeof(*inos));
	unsigned char *data = NULL;
	size_t got = 0, cap = 0;
	struct node *n;
	int err = inos ? 0 : -ENOMEM;

	if (!err)
		err = get_path(fs, f, inos, &got);
	n = err ? NULL : fs_node_find(fs, inos[got - 1]);
	if (!err && (!n || !S_ISREG(n->mode)))
		err = -ENOENT;
	if (!err)
		err = fs_node_load(fs, n);
	for (size_t i = 0; i < f->n && !err; i++) {
		struct op *o = &f->v[i];

		if (o->pos < f->upto)
			continue;
		if (o->len > cap) {
			unsigned char *p = realloc(data, o->len);

			if (!p) {
				err = -ENOMEM;
				break;
			}
			data = p;
			cap = o->len;
		}
		if (o->len && pread(r->fds[o->gen_i], data, o->len,
				    (off_t)o->data_at) != (ssize_t)o->len) {
			err = -EIO;
			break;
		}
		fs_lock(fs);
		if (o->falloc)
			err =
			    fs_content_falloc(fs, n, o->mode, o->off, o->flen);
		else if (o->trunc) /* to 0: the old content is not read */
			err = fs_content_resize(fs, n, o->off, o->off != 0);
		else
			err = fs_content_write(fs, n, data, o->len, o->off);
		if (!err) {
			n->a.size = n->len;
			n->a.mtime_ns = o->mtime_ns;
			n->a.ctime_ns = o->ctime_ns;
			n->dirty = true;
			n->wgen++;
		}
		fs_unlock(fs);
	}
	if (!err)
		err = fs_seal(fs, n);
	if (got)
		put_path(fs, inos, got);
	free(inos);
	free(data);
	return err;
}

static int list_gens(struct replay *r)
{
	struct fs_wlog *w = &r->fs->wlog;
	const char *slash = strrchr(w->base, '/');
	char dir[sizeof(w->base)];
	size_t plen;
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - w->base), w->base);
	plen = strlen(slash + 1);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		uint64_t g;

		if (strncmp(de->d_name, slash + 1, plen) ||
		    de->d_name[plen] != '.' || !de->d_name[plen + 1])
			continue;
		g = strtoull(de->d_name + plen + 1, &end, 10);
		if (*end)
			continue;
		if (g >= w->gen)
			w->gen = g + 1;
		if (r->nfiles == r->capfiles) {
			size_t c = r->capfiles ? r->capfiles * 2 : 8;
			uint64_t *p = realloc(r->gens, c * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			r->gens = p;
			r->capfiles = c;
		}
		r->gens[r->nfiles++] = g;
	}
	closedir(d);
	/* generation order is log order */
	for (size_t i = 1; i < r->nfiles; i++)
		for (size_t j = i; j && r->gens[j - 1] > r->gens[j]; j--) {
			uint64_t x = r->gens[j];

			r->gens[j] = r->gens[j - 1];
			r->gens[j - 1] = x;
		}
	return err;
}

static void replay_release(struct replay *r)
{
	for (size_t i = 0; i < r->nfiles; i++)
		if (r->fds && r->fds[i] >= 0)
			close(r->fds[i]);
	for (size_t i = 0; i < r->nf; i++) {
		for (size_t k = 0; k < r->f[i].depth; k++)
			free((void *)r->f[i].path[k]);
		free(r->f[i].path);
		free(r->f[i].v);
	}
	free(r->f);
	free(r->fds);
	free(r->gens);
}

/* Replay what a killed daemon left (its generations are listed in r,
 * the new one is open), then delete its files. */
static int replay(struct replay *rp)
{
	struct replay r = *rp;
	struct fs *fs = r.fs;
	struct store_txn *t = NULL;
	struct store_env env;
	size_t files = 0, lost = 0;
	int err = 0;

	if (!r.nfiles)
		goto out;
	r.fds = malloc(r.nfiles * sizeof(*r.fds));
	if (!r.fds) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r.nfiles; i++) {
		char path[sizeof(fs->wlog.base) + 24];

		gen_path(&fs->wlog, r.gens[i], path, sizeof(path));
		r.fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (r.fds[i] < 0 && !err)
			err = -errno;
	}
	for (size_t i = 0; i < r.nfiles && !err; i++)
		err = scan_file(&r, (unsigned)i);
	if (!err && r.records)
		err = store_txn_begin(fs->st, false, &t);
	if (!err && t)
		err = store_env_get(t, fs->opt->env, &env);
	r.t = t;
	if (!err && t)
		err = walk_tree(&r, t, env.root);
	if (t)
		store_txn_abort(t);
	for (size_t i = 0; i < r.nf && !err; i++) {
		struct fidops *f = &r.f[i];

		if (!f->found)
			continue; /* gone, or every write sealed */
		err = replay_file(&r, f);
		if (err == -ENOENT) {
			lost++;
			err = 0;
		} else if (!err) {
			files++;
		}
	}
	if (!err && (files || r.torn))
		store_logf(fs->st,
			   "write log: replayed unsealed writes to %zu files "
			   "(%zu records, %zu torn tail%s dropped)",
			   files, r.records, r.torn, r.torn == 1 ? "" : "s");
	if (!err && lost)
		store_logf(fs->st, "write log: %zu files were not found", lost);
	if (!err)
		err = store_sync(fs->st);
	if (!err) {
		fs->wlog.oldest = r.gens[0];
		gens_delete(&fs->wlog, r.gens[r.nfiles - 1] + 1);
	}
out:
	replay_release(&r);
	return err;
}

int fs_wlog_start(struct fs *fs)
{
	struct fs_wlog *w = &fs->wlog;
	const char *max = getenv("BLASTFS_WLOG_MAX");
	struct replay r = {.fs = fs};
	int err;

	pthread_mutex_init(&w->mu, NULL);
	w->fd = -1;
	w->gen = 1;
	w->max = MAX_DEFAULT;
	if (max && *max)
		w->max = strtoull(max, NULL, 10);
	if (snprintf(w->base, sizeof(w->base), "%s/%s.wlog", fs->staging,
		     fs->opt->env) >= (int)sizeof(w->base))
		return -ENAMETOOLONG;
	err = list_gens(&r); /* w->gen: after the last one found */
	if (!err)
		err = gen_create(w, w->gen);
	w->oldest = w->gen;
	if (!err)
		return replay(&r); /* its seals' marks go to the new file */
	replay_release(&r);
	return err;
}

void fs_wlog_stop(struct fs *fs, bool sealed)
{
	struct fs_wlog *w = &fs->wlog;

	if (w->fd < 0)
		return;
	close(w->fd);
	w->fd = -1;
	if (sealed) /* else the next start replays it */
		gens_delete(w, w->gen + 1);
}
