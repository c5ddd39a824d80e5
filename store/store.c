/* SPDX-License-Identifier: MIT */
/*
 * store.c - open/close of the LMDB environment, format version check,
 * transactions, counters, logging and fault injection points.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

/* A large map costs nothing until used (sparse file, no preallocation). */
/* the map's size: address space, not disk. A ThreadSanitizer build maps
 * less (tests/tsan-run: 1 TiB does not always fit beside TSan's shadow) */
#ifndef STORE_MAP_SIZE
#define STORE_MAP_SIZE (1ull << 40)
#endif
#define STORE_MAX_READERS 512

static const char *const db_names[DB__COUNT] = {
    [DB_META] = "meta",	    [DB_ENVS] = "envs",	      [DB_SNAPS] = "snaps",
    [DB_TABS] = "tabs",	    [DB_DIRENTS] = "dirents", [DB_BLOBIDX] = "blobidx",
    [DB_BLOBS] = "blobs",   [DB_CHUNKS] = "chunks",   [DB_PINS] = "pins",
    [DB_PACKS] = "packs",   [DB_TABIDX] = "tabidx",   [DB_ZEROREF] = "zeroref",
    [DB_PFILES] = "pfiles",
};

int store_mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return -ENOSPC;
	case MDB_READERS_FULL:
		return -EAGAIN;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return -EIO;
	case MDB_BAD_VALSIZE:
		return -ENAMETOOLONG;
	case MDB_DBS_FULL:
	case MDB_MAP_RESIZED:
	case MDB_BAD_TXN:
	case MDB_BAD_RSLOT:
		return -EIO;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

static void log_default(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "blast: %s\n", msg);
}

void store_logf(struct store *st, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (st && st->log)
		st->log(st->log_arg, buf);
	else
		log_default(NULL, buf);
}

void store_set_log(struct store *st, store_log_fn fn, void *arg)
{
	st->log = fn ? fn : log_default;
	st->log_arg = fn ? arg : NULL;
}

void store_set_progress(struct store *st, store_progress_fn fn, void *arg)
{
	st->progress = fn;
	st->progress_arg = fn ? arg : NULL;
}

void store_progress_report(struct store *st, const char *what, const char *unit,
			   uint64_t done, uint64_t total)
{
	struct store_progress p = {what, unit, done, total};

	if (total && done > total) /* content added meanwhile (compact) */
		p.done = total;
	if (st->progress)
		st->progress(st->progress_arg, &p);
}

int store_db_entries(struct store_txn *t, enum store_db d, uint64_t *out)
{
	MDB_stat ms;
	int rc = mdb_stat(t->txn, sdb(t, d), &ms);

	if (rc)
		return store_mdb_err(rc);
	*out = ms.ms_entries;
	return 0;
}

int64_t store_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * STORE_NS_PER_S + ts.tv_nsec;
}

int store_home_default(char *buf, size_t len)
{
	const char *v = getenv("BLAST_HOME");
	int n;

	if (v && *v) {
		n = snprintf(buf, len, "%s", v);
	} else if ((v = getenv("XDG_DATA_HOME")) && *v) {
		n = snprintf(buf, len, "%s/blast", v);
	} else if ((v = getenv("HOME")) && *v) {
		n = snprintf(buf, len, "%s/.local/share/blast", v);
	} else {
		return -ENOENT;
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* mkdir -p with mode 0700 for the last component (parents 0755). */
static int mkdir_home(const char *path)
{
	char *p = strdup(path), *s;
	struct stat sb;
	int err = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			err = -errno;
			goto out;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST) {
		err = -errno;
		goto out;
	}
	if (stat(p, &sb) < 0)
		err = -errno;
	else if (!S_ISDIR(sb.st_mode))
		err = -ENOTDIR;
out:
	free(p);
	return err;
}

static int check_format(struct store *st, MDB_txn *txn, bool fresh)
{
	MDB_val k = {6, "format"}, v;
	uint64_t ver;
	unsigned char buf[8];
	int rc;

	rc = mdb_get(txn, st->dbi[DB_META], &k, &v);
	if (rc == MDB_NOTFOUND && fresh) {
		put_le64(buf, STORE_FORMAT_VERSION);
		v.mv_size = 8;
		v.mv_data = buf;
		return store_mdb_err(mdb_put(txn, st->dbi[DB_META], &k, &v, 0));
	}
	if (rc == MDB_NOTFOUND) {
		store_logf(st,
			   "store '%s' has no format version: not a blast "
			   "store, refusing to use it",
			   st->path);
		return -EPROTO;
	}
	if (rc)
		return store_mdb_err(rc);
	if (v.mv_size != 8) {
		store_logf(st, "store '%s': corrupt format record", st->path);
		return -EIO;
	}
	ver = get_le64(v.mv_data);
	if (ver >= 1 && ver < STORE_FORMAT_VERSION &&
	    !(st->flags & STORE_READONLY)) {
		/* format 2 added the packs database, format 3 the pack
		 * files (and their database), format 4 hole maps, inode
		 * flags (in an attr's 4 bytes that were 0) and the optional
		 * trailer of entries and table headers (extended
		 * attributes): open_dbs has just created what is missing,
		 * and records of formats 1 to 3 read as they are (their
		 * bytes move to pack files as the store is repacked; their
		 * blobs have no holes, their inodes no flags or xattrs) */
		put_le64(buf, STORE_FORMAT_VERSION);
		v.mv_size = 8;
		v.mv_data = buf;
		rc = mdb_put(txn, st->dbi[DB_META], &k, &v, 0);
		if (!rc)
			store_logf(st,
				   "store '%s' upgraded from format %llu to %d "
				   "(older blast versions will refuse it)",
				   st->path, (unsigned long long)ver,
				   STORE_FORMAT_VERSION);
		return store_mdb_err(rc);
	}
	if (ver < 1 || ver > STORE_FORMAT_VERSION) {
		store_logf(st,
			   "store '%s' has format version %llu, this blast "
			   "reads version %d: refusing to use it",
			   st->path, (unsigned long long)ver,
			   STORE_FORMAT_VERSION);
		return -EPROTO;
	}
	return 0;
}

/* A store made before the reclaim index: index its blobs at refcount 0
 * (in the opening txn, so a crash leaves no half-built index). */
static int zeroref_build(struct store *st, MDB_txn *txn)
{
	struct store_txn t = {.st = st, .txn = txn, .write = true};
	int err = store_zeroref_build(&t);

	if (!err)
		store_logf(st, "store '%s': reclaim index built", st->path);
	return err;
}

/* Open every named database; create them (and the format record) on a
 * fresh store. A store with data but no meta is refused. */
static int open_dbs(struct store *st)
{
	bool ro = st->flags & STORE_READONLY;
	MDB_txn *txn;
	MDB_dbi main_dbi;
	MDB_stat ms;
	bool fresh, build_zeroref = false;
	int rc, i;

	rc = mdb_txn_begin(st->env, NULL, ro ? MDB_RDONLY : 0, &txn);
	if (rc)
		return store_mdb_err(rc);
	if (!ro) {
		struct store_txn space = {.st = st, .txn = txn, .write = true};
		int err = store_space_begin(&space);

		if (err) {
			mdb_txn_abort(txn);
			return err;
		}
	}
	rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
	if (rc)
		goto out_abort;
	rc = mdb_stat(txn, main_dbi, &ms);
	if (rc)
		goto out_abort;
	fresh = ms.ms_entries == 0;
	if (fresh && ro) {
		rc = MDB_NOTFOUND;
		goto out_abort;
	}
	for (i = 0; i < DB__COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i], fresh ? MDB_CREATE : 0,
				  &st->dbi[i]);
		if (rc == MDB_NOTFOUND && i == DB_META) {
			store_logf(st,
				   "store '%s' is not a blast store "
				   "(no meta database): refusing to use it",
				   st->path);
			mdb_txn_abort(txn);
			return -EPROTO;
		}
		if (rc == MDB_NOTFOUND && ro && i == DB_ZEROREF) {
			/* only reclaim (a write) needs it */
			st->no_zeroref = true;
			continue;
		}
		if (rc == MDB_NOTFOUND && ro && i == DB_PFILES) {
			/* a format-2 store: its bytes are all inline */
			st->no_pfiles = true;
			continue;
		}
		if (rc == MDB_NOTFOUND && !ro) { /* added in a later format */
			rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE,
					  &st->dbi[i]);
			build_zeroref = !rc && i == DB_ZEROREF;
		}
		if (rc)
			goto out_abort;
	}
	rc = check_format(st, txn, fresh);
	if (!rc && build_zeroref)
		rc = zeroref_build(st, txn);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return store_mdb_err(mdb_txn_commit(txn));
out_abort:
	mdb_txn_abort(txn);
	return store_mdb_err(rc);
}

int store_open_lock(struct store *st)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/lock.mdb", st->path) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	st->open_fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (st->open_fd < 0)
		/* read-only media without a lock file: nobody swaps
		 * data.mdb there (store_shrink_index needs a writer) */
		return errno == ENOENT || errno == EACCES ? 0 : -errno;
	while (flock(st->open_fd, LOCK_SH) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int store_env_open(struct store *st)
{
	unsigned envflags = MDB_NOTLS;
	int err, dead;

	err = store_mdb_err(mdb_env_create(&st->env));
	if (err) {
		st->env = NULL;
		return err;
	}
	mdb_env_set_maxdbs(st->env, 16);
	mdb_env_set_maxreaders(st->env, STORE_MAX_READERS);
	mdb_env_set_mapsize(st->env, STORE_MAP_SIZE);
	if (st->flags & STORE_NOSYNC)
		envflags |= MDB_NOSYNC;
	if ((st->flags & STORE_NOSYNC) && st->can_alloc)
		/* the daemon: commits write through the map instead of
		 * pwrite()s (a pip install of 4k files: 4.5 s -> 2.6 s).
		 * The file then shows the map size, sparse: space.c
		 * allocates blocks ahead of LMDB's writes (without
		 * fallocate, pwrite() meets a full disk as ENOSPC, a write
		 * through the map as SIGBUS). */
		envflags |= MDB_WRITEMAP;
	if (st->flags & STORE_READONLY)
		envflags |= MDB_RDONLY;
	err = store_mdb_err(mdb_env_open(st->env, st->path, envflags, 0600));
	if (!err)
		err = store_space_open(st, envflags & MDB_WRITEMAP);
	if (!err) {
		mdb_reader_check(st->env, &dead);
		err = open_dbs(st);
	}
	if (err) {
		mdb_env_close(st->env);
		st->env = NULL;
		st->space_fd = -1;
	}
	return err;
}

/* store->serial: never reused in the process, unlike the pointer */
static atomic_uint_fast64_t serials;

int store_open_why(const char *home, unsigned flags, char *why, size_t len,
		   struct store **out)
{
	struct store *st;
	bool can_alloc;
	struct stat sb;
	int err, fresh;

	if (why && len)
		why[0] = '\0';
	if (flags & STORE_READONLY) {
		if (stat(home, &sb) < 0)
			return -errno;
		if (!S_ISDIR(sb.st_mode))
			return -ENOTDIR;
	} else {
		err = mkdir_home(home);
		if (err)
			return err;
	}
	err = store_home_trust(home, why, len);
	if (err)
		return err;
	fresh = store_home_check_data(home, why, len);
	if (fresh < 0)
		return fresh;
	if (fresh && (flags & STORE_READONLY))
		return -ENOENT;
	err = store_space_lockfile(home, &can_alloc);
	if (err) {
		if (why && len)
			snprintf(why, len, "cannot allocate '%s/lock.mdb': %s",
				 home, strerror(-err));
		return err;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->serial = atomic_fetch_add(&serials, 1) + 1;
	st->space_fd = -1;
	st->open_fd = -1;
	st->can_alloc = can_alloc;
	pthread_mutex_init(&st->space_lock, NULL);
	store_pfile_init(st);
	st->flags = flags;
	st->log = log_default;
	st->path = strdup(home);
	if (!st->path) {
		err = -ENOMEM;
		goto out_free;
	}
	err = store_open_lock(st);
	if (!err)
		err = store_env_open(st);
	if (err)
		goto out_free;
	if (!(flags & STORE_READONLY))
		/* best effort: without it, an emptied data.mdb would read
		 * as a new store only where the daemon never ran */
		store_home_mark(home);
	*out = st;
	return 0;
out_free:
	if (st->open_fd >= 0)
		close(st->open_fd);
	pthread_mutex_destroy(&st->space_lock);
	store_pfile_close(st);
	free(st->path);
	free(st);
	return err;
}

int store_open(const char *home, unsigned flags, struct store **out)
{
	char why[512];
	int err = store_open_why(home, flags, why, sizeof(why), out);

	if (err && why[0])
		log_default(NULL, why);
	return err;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->env)
		mdb_env_close(st->env);
	if (st->open_fd >= 0) /* after LMDB: see store_open_lock */
		close(st->open_fd);
	pthread_mutex_destroy(&st->space_lock);
	store_pfile_close(st);
	free(st->path);
	free(st);
}

const char *store_path(const struct store *st)
{
	return st->path;
}

int store_sync(struct store *st)
{
	if (store_fault_hit(STORE_FAULT_FSYNC))
		return -EIO;
	return store_mdb_err(mdb_env_sync(st->env, 1));
}

/* ---- transactions ---- */

int store_txn_begin(struct store *st, bool write, struct store_txn **out)
{
	struct store_txn *t;
	int rc;

	if (write && (st->flags & STORE_READONLY))
		return -EROFS;
	if (!st->env) /* lost by a failed store_shrink_index */
		return -EIO;
	t = store_malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->st = st;
	t->write = write;
	t->pf = NULL;
	rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
	if (rc == MDB_MAP_RESIZED) {
		/* another process grew the map: adopt its size and retry */
		mdb_env_set_mapsize(st->env, 0);
		rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY,
				   &t->txn);
	}
	if (rc) {
		free(t);
		return store_mdb_err(rc);
	}
	if (write) {
		int err = store_space_begin(t);

		if (err) {
			mdb_txn_abort(t->txn);
			free(t);
			return err;
		}
	}
	*out = t;
	return 0;
}

int store_txn_commit(struct store_txn *t)
{
	int err = t->write ? store_pfile_txn_commit(t) : 0;
	int rc;

	if (!err && t->write && store_fault_hit(STORE_FAULT_COMMIT))
		err = -EIO;
	if (err) {
		store_txn_abort(t);
		return err;
	}
	rc = mdb_txn_commit(t->txn);
	store_pfile_txn_free(t);
	free(t);
	return store_mdb_err(rc);
}

void store_txn_abort(struct store_txn *t)
{
	if (!t)
		return;
	mdb_txn_abort(t->txn);
	store_pfile_txn_free(t);
	free(t);
}

void store_txn_reset(struct store_txn *t)
{
	mdb_txn_reset(t->txn);
}

int store_txn_renew(struct store_txn *t)
{
	return store_mdb_err(mdb_txn_renew(t->txn));
}

struct store *store_txn_store(const struct store_txn *t)
{
	return t->st;
}

/* ---- raw access ---- */

int store_put(struct store_txn *t, enum store_db d, MDB_val *k, MDB_val *v,
	      unsigned flags)
{
	int err;

	if (store_fault_hit(STORE_FAULT_PUT))
		return -ENOSPC;
	err = store_space_charge(t, d, k->mv_size + v->mv_size);
	if (err)
		return err;
	return store_mdb_err(mdb_put(t->txn, sdb(t, d), k, v, flags));
}

int store_get(struct store_txn *t, enum store_db d, MDB_val *k, MDB_val *v)
{
	return store_mdb_err(mdb_get(t->txn, sdb(t, d), k, v));
}

int store_del(struct store_txn *t, enum store_db d, MDB_val *k)
{
	int err = store_space_charge(t, d, 0);

	if (err)
		return err;
	return store_mdb_err(mdb_del(t->txn, sdb(t, d), k, NULL));
}

int store_meta_get_u64(struct store_txn *t, const char *key, uint64_t *out)
{
	MDB_val k = {strlen(key), (void *)key}, v;
	int err = store_get(t, DB_META, &k, &v);

	if (err)
		return err;
	if (v.mv_size != 8) {
		store_logf(t->st, "corrupt meta record '%s'", key);
		return -EIO;
	}
	*out = get_le64(v.mv_data);
	return 0;
}

int store_meta_put_u64(struct store_txn *t, const char *key, uint64_t val)
{
	unsigned char buf[8];
	MDB_val k = {strlen(key), (void *)key}, v = {8, buf};

	put_le64(buf, val);
	return store_put(t, DB_META, &k, &v, 0);
}

/* Counters start at 1 so that 0 can mean "none". */
int store_meta_next(struct store_txn *t, const char *key, uint64_t *out)
{
	uint64_t cur = 0;
	int err = store_meta_get_u64(t, key, &cur);

	if (err && err != -ENOENT)
		return err;
	cur++;
	err = store_meta_put_u64(t, key, cur);
	if (!err)
		*out = cur;
	return err;
}

int store_fid_new(struct store_txn *t, uint64_t *out)
{
	return store_meta_next(t, "next_fid", out);
}

int store_gen_new(struct store_txn *t, uint64_t *out)
{
	return store_meta_next(t, "gen", out);
}

/* ---- fault injection ---- */

#if BLAST_FAULT_INJECTION
static unsigned long fault_nth[STORE_FAULT__COUNT];
static unsigned long fault_count[STORE_FAULT__COUNT];
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;

int store_fault_set(enum store_fault kind, unsigned long nth)
{
	if ((unsigned)kind >= STORE_FAULT__COUNT)
		return -EINVAL;
	pthread_mutex_lock(&fault_lock);
	fault_nth[kind] = nth;
	fault_count[kind] = 0;
	pthread_mutex_unlock(&fault_lock);
	return 0;
}

bool store_fault_hit(enum store_fault kind)
{
	bool hit = false;

	pthread_mutex_lock(&fault_lock);
	if (fault_nth[kind]) {
		fault_count[kind]++;
		hit = fault_count[kind] == fault_nth[kind];
	}
	pthread_mutex_unlock(&fault_lock);
	return hit;
}
#else
int store_fault_set(enum store_fault kind, unsigned long nth)
{
	(void)kind;
	(void)nth;
	return -ENOTSUP;
}

bool store_fault_hit(enum store_fault kind)
{
	(void)kind;
	return false;
}
#endif

void *store_malloc(size_t n)
{
	if (store_fault_hit(STORE_FAULT_MALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(n);
}

void *store_calloc(size_t n, size_t sz)
{
	if (store_fault_hit(STORE_FAULT_MALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return calloc(n, sz);
}

void *store_realloc(void *p, size_t n)
{
	if (store_fault_hit(STORE_FAULT_MALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}
