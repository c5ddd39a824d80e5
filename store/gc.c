/* SPDX-License-Identifier: MIT */
/*
 * gc.c - accounting, garbage collection and verification. Tables are
 * freed eagerly when their refcount drops to 0; blobs wait here for gc,
 * so an open unlinked file or an import in progress (pins) keeps its data.
 * Verify recomputes every refcount from the roots and compares.
 */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store_internal.h"
#include "u64map.h"

/* ---- usage of one tree ---- */

struct usage_ctx {
	struct store_txn *t;
	struct store_usage *u;
	struct u64map blobs, tabs;
	struct store_ids todo; /* tables seen, not listed yet */
	int err;
	int tables; /* inside the root's hidden tables: no names there */
};

uint64_t store_usage_entry_cost(uint32_t mode, uint64_t size)
{
	if (S_ISDIR(mode))
		return STORE_USAGE_DIR;
	return STORE_USAGE_NAME + (S_ISLNK(mode) ? size : 0);
}

static int usage_tab(struct usage_ctx *c, uint64_t tab);

static int usage_entry(void *arg, const char *name, size_t nlen,
		       const struct store_entry *e)
{
	struct usage_ctx *c = arg;
	struct store_blob_info bi;
	uint64_t *seen;
	int err;

	if (name[0] == '/' && e->payload == STORE_P_TAB) {
		c->tables++; /* the links table holds inodes, not names */
		err = usage_tab(c, e->ref);
		c->tables--;
		return err;
	}
	if (!c->tables && name[0] != '/')
		c->u->meta +=
		    e->payload == STORE_P_HARDLINK
			? STORE_USAGE_NAME
			: store_usage_entry_cost(e->a.mode, e->a.size);
	if (e->xattr && e->payload != STORE_P_TAB) {
		/* a file's extended attributes count as ext4's block */
		err = store_blob_stat(c->t, e->xattr, &bi);
		if (err)
			return err;
		c->u->meta += bi.size;
	}
	if (e->payload == STORE_P_TAB)
		return usage_tab(c, e->ref);
	if (e->payload == STORE_P_HARDLINK)
		return 0; /* counted once, in the links table */
	if (S_ISREG(e->a.mode)) {
		c->u->files++;
		c->u->logical += e->a.size;
	}
	if (e->payload != STORE_P_BLOB)
		return 0;
	seen = u64map_slot(&c->blobs, e->ref);
	if (!seen)
		return -ENOMEM;
	if (*seen)
		return 0;
	*seen = 1;
	err = store_blob_stat(c->t, e->ref, &bi);
	if (err)
		return err;
	c->u->blobs++;
	c->u->stored += bi.stored;
	return 0;
}

/* Count tab once, list it later (a worklist, not recursion: any depth). */
static int usage_tab(struct usage_ctx *c, uint64_t tab)
{
	uint64_t *seen = u64map_slot(&c->tabs, tab);

	if (!seen)
		return -ENOMEM;
	if (*seen) /* a shared subtree (hard to get, but count it once) */
		return 0;
	*seen = 1;
	c->u->dirs++;
	return store_ids_push(&c->todo, tab);
}

int store_usage_tree(struct store_txn *t, uint64_t root,
		     struct store_usage *out)
{
	struct store_usage u = {0};
	struct usage_ctx c = {.t = t, .u = &u};
	int err;

	u64map_init(&c.blobs);
	u64map_init(&c.tabs);
	err = usage_tab(&c, root);
	while (!err && c.todo.n)
		err = store_dir_iter(t, c.todo.v[--c.todo.n], NULL, 0,
				     usage_entry, &c);
	store_ids_release(&c.todo);
	u64map_release(&c.blobs);
	u64map_release(&c.tabs);
	if (!err)
		*out = u;
	return err;
}

int store_totals(struct store_txn *t, struct store_totals *out)
{
	struct store_totals s = {0};
	MDB_envinfo info;
	MDB_stat ms;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_stat(t->txn, sdb(t, DB_TABS), &ms);
	if (rc)
		return store_mdb_err(rc);
	s.tables = ms.ms_entries;
	rc = mdb_stat(t->txn, sdb(t, DB_ENVS), &ms);
	if (rc)
		return store_mdb_err(rc);
	s.envs = ms.ms_entries;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_BLOBS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (v.mv_size < 16)
			continue; /* verify reports it */
		s.blobs++;
		s.blob_bytes += get_le64(v.mv_data);
		s.stored += get_le64((const unsigned char *)v.mv_data + 8);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	mdb_env_info(t->st->env, &info);
	mdb_env_stat(t->st->env, &ms);
	s.map_used = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
	s.map_size = info.me_mapsize;
	*out = s;
	return 0;
}

/* ---- gc ---- */

/* Collect keys of a DB (u64 ids, be64 in the key) matching a filter. */
struct id_list {
	uint64_t *ids;
	size_t n, cap;
};

static int id_list_add(struct id_list *l, uint64_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *p = store_realloc(l->ids, cap * sizeof(*l->ids));

		if (!p)
			return -ENOMEM;
		l->ids = p;
		l->cap = cap;
	}
	l->ids[l->n++] = id;
	return 0;
}

/* Walk database db, deleting each record keep() says 0 to (1 keeps it,
 * < 0 stops with that error); *dropped counts deletions. */
static int sweep(struct store_txn *t, enum store_db db,
		 int (*keep)(struct store_txn *t, const MDB_val *k,
			     const MDB_val *v, void *arg),
		 void *arg, uint64_t *dropped)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, err = 0;

	rc = mdb_cursor_open(t->txn, sdb(t, db), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;) {
		int r = keep(t, &k, &v, arg);

		if (r < 0) {
			err = r;
			break;
		}
		if (r) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		err = store_space_charge(t, db, 0);
		if (err)
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
		(*dropped)++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
		if (rc == EINVAL)
			rc = MDB_NOTFOUND;
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

/* A pin of a live owner stays, and its blob goes into `pinned`. */
static int keep_pin(struct store_txn *t, const MDB_val *k, const MDB_val *v,
		    void *pinned)
{
	if (k->mv_size != 24 || !store_pin_owner_alive(k->mv_data))
		return 0;
	return u64map_slot(pinned, get_be64((unsigned char *)k->mv_data + 16))
		   ? 1
		   : -ENOMEM;
}

int store_gc_pins(struct store_txn *t, struct u64map *pinned,
		  struct store_gc_stats *gs)
{
	return sweep(t, DB_PINS, keep_pin, pinned, &gs->pins_dropped);
}

static int gc_blobs(struct store_txn *t, const struct u64map *pinned,
		    struct store_gc_stats *gs)
{
	struct id_list l = {0};
	uint64_t total = 0, seen = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t i;
	int rc, err = store_db_entries(t, DB_BLOBS, &total);

	if (err)
		return err;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_BLOBS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t id;

		store_progress_report(t->st, "scanning", "blobs", ++seen,
				      total);
		if (k.mv_size != 8 || v.mv_size < 24)
			continue;
		id = get_be64(k.mv_data);
		if (get_le64((unsigned char *)v.mv_data + 16) == 0 &&
		    !u64map_find(pinned, id))
			err = id_list_add(&l, id);
	}
	mdb_cursor_close(cur);
	for (i = 0; !err && i < l.n; i++) {
		uint64_t stored = 0;

		store_progress_report(t->st, "freeing", "blobs", i + 1, l.n);
		err = store_blob_delete(t, l.ids[i], &stored);
		gs->blobs_freed++;
		gs->bytes_freed += stored;
	}
	free(l.ids);
	return err;
}

/* Tables at refcount 0 that nothing references (left by a bug or an
 * older version): free them. */
static int gc_tables(struct store_txn *t, struct store_gc_stats *gs)
{
	struct id_list l = {0};
	MDB_cursor *cur;
	MDB_val k, v;
	size_t i;
	int rc, err = 0;

	rc = mdb_cursor_open(t->txn, sdb(t, DB_TABS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (k.mv_size == 8 && v.mv_size >= TAB_HDR_LEN &&
		    get_le64(v.mv_data) == 0)
			err = id_list_add(&l, get_be64(k.mv_data));
	mdb_cursor_close(cur);
	for (i = 0; !err && i < l.n; i++) {
		struct store_dir d;

		if (store_tab_get(t, l.ids[i], &d) || d.refcount)
			continue; /* freed meanwhile, or revived */
		d.refcount = 1;
		err = store_tab_put(t, &d);
		if (!err)
			err = store_dir_unref(t, l.ids[i]);
		gs->tables_freed++;
	}
	free(l.ids);
	return err;
}

/* An index entry stays while its table exists. */
static int keep_tabidx(struct store_txn *t, const MDB_val *k, const MDB_val *v,
		       void *arg)
{
	return v->mv_size == 8 ? store_tab_exists(t, get_le64(v->mv_data)) : 0;
}

/* Drop index entries of tables that are gone (import.c checks a hit
 * anyway; this keeps the index from growing with freed tables). */
static int gc_tabidx(struct store_txn *t)
{
	uint64_t dropped = 0;

	return sweep(t, DB_TABIDX, keep_tabidx, NULL, &dropped);
}

int store_gc(struct store *st, struct store_gc_stats *out)
{
	struct store_gc_stats gs = {0};
	struct u64map pinned;
	struct store_txn *t;
	int err;

	u64map_init(&pinned);
	err = store_txn_begin(st, true, &t);
	if (err)
		return err;
	err = store_gc_pins(t, &pinned, &gs);
	if (!err)
		err = gc_tables(t, &gs);
	if (!err)
		err = gc_tabidx(t);
	if (!err)
		err = gc_blobs(t, &pinned, &gs);
	if (!err) /* repairs what an older blast left: it did not index */
		err = store_zeroref_build(t);
	u64map_release(&pinned);
	if (err) {
		store_txn_abort(t);
		return err;
	}
	err = store_txn_commit(t);
	if (!err) { /* "now": also files with a little garbage */
		struct store_repack_stats rs = {0};

		err = store_give_back(st, STORE_GC_REPACK_PCT, &rs,
				      &gs.pack_files_removed,
				      &gs.pack_bytes_removed);
		gs.repacked_bytes = rs.moved_bytes;
	}
	if (!err && out)
		*out = gs;
	return err;
}

/* ---- verify ---- */

static void log_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

struct verify {
	struct store_txn *t;
	store_report_fn fn;
	void *arg;
	unsigned problems;
	struct u64map tab_refs, blob_refs, walked;
	struct u64map xattrs;		/* extended attribute blobs decoded */
	struct store_ids todo;		/* tables reached, not checked yet */
	uint64_t tabs_done, tabs_total; /* for progress */
};

static void problem(struct verify *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct verify *v, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	v->fn(v->arg, buf);
	v->problems++;
}

/* One more reference on xattr blob id; the first time, it must decode
 * (a missing blob is reported with the others by verify_blobs). */
static int verify_xattr(struct verify *v, uint64_t tab, uint64_t id)
{
	struct store_xattrs x;
	uint64_t *c = u64map_slot(&v->blob_refs, id);
	int err;

	if (!c)
		return -ENOMEM;
	(*c)++;
	c = u64map_slot(&v->xattrs, id);
	if (!c)
		return -ENOMEM;
	if (*c)
		return 0;
	*c = 1;
	err = store_xattrs_load(v->t, id, &x);
	if (err == -EIO)
		problem(v,
			"table %llu: extended attributes (blob %llu) do not "
			"decode",
			(unsigned long long)tab, (unsigned long long)id);
	else if (!err)
		store_xattrs_release(&x);
	return err == -ENOMEM ? err : 0;
}

struct walk_tab {
	struct verify *v;
	uint64_t tab;
	uint64_t n, subdirs;
};

static int verify_entry(void *arg, const char *name, size_t nlen,
			const struct store_entry *e)
{
	struct walk_tab *w = arg;
	uint64_t *c;

	w->n++;
	if (S_ISDIR(e->a.mode) && name[0] != '/')
		w->subdirs++;
	if (e->xattr) {
		int err = verify_xattr(w->v, w->tab, e->xattr);

		if (err)
			return err;
	}
	if (e->payload == STORE_P_TAB) {
		c = u64map_slot(&w->v->tab_refs, e->ref);
		if (!c)
			return -ENOMEM;
		(*c)++;
		return store_ids_push(&w->v->todo, e->ref);
	}
	if (e->payload == STORE_P_BLOB) {
		c = u64map_slot(&w->v->blob_refs, e->ref);
		if (!c)
			return -ENOMEM;
		(*c)++;
	}
	if (e->payload == STORE_P_PENDING)
		problem(w->v,
			"table %llu: '%.*s' is an unsealed file "
			"(its daemon must seal it)",
			(unsigned long long)w->tab, (int)nlen, name);
	return 0;
}

static int verify_tab(struct verify *v, uint64_t tab)
{
	struct walk_tab w = {v, tab, 0, 0};
	struct store_dir d;
	uint64_t *seen = u64map_slot(&v->walked, tab);
	int err;

	if (!seen)
		return -ENOMEM;
	if (*seen)
		return 0;
	*seen = 1;
	store_progress_report(v->t->st, "checking", "tables", ++v->tabs_done,
			      v->tabs_total);
	err = store_tab_get(v->t, tab, &d);
	if (err) {
		problem(v, "table %llu: missing or corrupt header",
			(unsigned long long)tab);
		return 0;
	}
	if (d.xattr && (err = verify_xattr(v, tab, d.xattr)))
		return err;
	err = store_dir_iter(v->t, tab, NULL, 0, verify_entry, &w);
	if (err == -EIO) {
		problem(v, "table %llu: an entry does not decode",
			(unsigned long long)tab);
		return 0;
	}
	if (err)
		return err;
	if (w.n != d.nentries || w.subdirs != d.nsubdirs)
		problem(v,
			"table %llu: header counts %llu entries/%llu dirs, "
			"found %llu/%llu",
			(unsigned long long)tab, (unsigned long long)d.nentries,
			(unsigned long long)d.nsubdirs, (unsigned long long)w.n,
			(unsigned long long)w.subdirs);
	return 0;
}

/* Check root's tree: a worklist of the tables reached, not recursion. */
static int verify_root(struct verify *v, uint64_t root)
{
	uint64_t *c = u64map_slot(&v->tab_refs, root);
	int err;

	if (!c)
		return -ENOMEM;
	(*c)++;
	err = store_ids_push(&v->todo, root);
	while (!err && v->todo.n)
		err = verify_tab(v, v->todo.v[--v->todo.n]);
	v->todo.n = 0;
	return err;
}

static int verify_snap(void *arg, const struct store_snap *s)
{
	return verify_root(arg, s->root);
}

static int verify_env(void *arg, const struct store_env *e)
{
	struct verify *v = arg;
	int err = verify_root(v, e->root);

	if (!err)
		err = store_snap_iter(v->t, e, verify_snap, v);
	if (err == -EIO) {
		problem(v, "env '%s': snapshot records do not decode", e->name);
		err = 0;
	}
	return err;
}

static int verify_seed(void *arg, const char *key, uint64_t root)
{
	(void)key;
	return verify_root(arg, root);
}

static int verify_tables(struct verify *v)
{
	MDB_cursor *cur;
	MDB_val k, val;
	int rc;

	rc = mdb_cursor_open(v->t->txn, sdb(v->t, DB_TABS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		uint64_t tab, want, have;
		uint64_t *c;

		if (k.mv_size != 8 || val.mv_size < TAB_HDR_LEN) {
			problem(v, "tables: malformed record");
			continue;
		}
		tab = get_be64(k.mv_data);
		have = get_le64(val.mv_data);
		c = u64map_find(&v->tab_refs, tab);
		want = c ? *c : 0;
		if (!c)
			problem(v, "table %llu: no env or snapshot reaches it",
				(unsigned long long)tab);
		else if (want != have)
			problem(v,
				"table %llu: refcount %llu, referenced %llu "
				"times",
				(unsigned long long)tab,
				(unsigned long long)have,
				(unsigned long long)want);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc);
}

static int verify_blobs(struct verify *v, bool deep)
{
	struct id_list l = {0};
	MDB_cursor *cur;
	MDB_val k, val;
	size_t i;
	int rc, err = 0;

	rc = mdb_cursor_open(v->t->txn, sdb(v->t, DB_BLOBS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); !rc && !err;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT))
		err = k.mv_size == 8 ? id_list_add(&l, get_be64(k.mv_data)) : 0;
	mdb_cursor_close(cur);
	for (i = 0; !err && i < l.n; i++) {
		struct store_blob_info bi;
		uint64_t *c = u64map_find(&v->blob_refs, l.ids[i]);
		uint64_t want = c ? *c : 0;
		MDB_val hk, hv;

		store_progress_report(v->t->st, deep ? "verifying" : "checking",
				      "blobs", i + 1, l.n);
		err = store_blob_check(v->t, l.ids[i], deep, v->fn, v->arg,
				       &v->problems);
		if (err || store_blob_stat(v->t, l.ids[i], &bi))
			continue;
		if (bi.refcount != want)
			problem(v,
				"blob %llu: refcount %llu, referenced %llu "
				"times",
				(unsigned long long)l.ids[i],
				(unsigned long long)bi.refcount,
				(unsigned long long)want);
		hk.mv_size = 16;
		hk.mv_data = bi.hash.b;
		if (store_get(v->t, DB_BLOBIDX, &hk, &hv) || hv.mv_size != 8)
			problem(v, "blob %llu: not in the hash index",
				(unsigned long long)l.ids[i]);
	}
	/* every referenced blob must exist */
	for (i = 0; !err && i < v->blob_refs.cap; i++) {
		struct store_blob_info bi;
		uint64_t id = v->blob_refs.keys[i];

		if (id && store_blob_stat(v->t, id, &bi))
			problem(v, "blob %llu: referenced but missing",
				(unsigned long long)id);
	}
	free(l.ids);
	return err;
}

/* Every pack's member count equals the chunks that point into it. */
static int verify_packs(struct verify *v)
{
	struct u64map refs;
	MDB_cursor *cur;
	MDB_val k, val;
	int rc, err = 0;

	u64map_init(&refs);
	rc = mdb_cursor_open(v->t->txn, sdb(v->t, DB_CHUNKS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); !rc && !err;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		const unsigned char *b = val.mv_data;
		uint64_t *c;

		if (val.mv_size != STORE_CHUNK_HDR + 12 ||
		    (b[0] & ~CODEC_COMPACTED) != CODEC_PACK)
			continue;
		c = u64map_slot(&refs, get_le64(b + STORE_CHUNK_HDR));
		if (!c)
			err = -ENOMEM;
		else
			(*c)++;
	}
	mdb_cursor_close(cur);
	if (!err && rc != MDB_NOTFOUND)
		err = store_mdb_err(rc);
	if (err)
		goto out;
	rc = mdb_cursor_open(v->t->txn, sdb(v->t, DB_PACKS), &cur);
	if (rc) {
		err = store_mdb_err(rc);
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		uint64_t id, *c, have;

		if (k.mv_size != 8 || val.mv_size < PACK_RECORD_HDR) {
			problem(v, "packs: malformed record");
			continue;
		}
		id = get_be64(k.mv_data);
		have = get_le32((const unsigned char *)val.mv_data + 13);
		c = u64map_find(&refs, id);
		if (!c || *c != have)
			problem(v,
				"pack %llu: %llu members, referenced %llu "
				"times",
				(unsigned long long)id,
				(unsigned long long)have,
				(unsigned long long)(c ? *c : 0));
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		err = store_mdb_err(rc);
out:
	u64map_release(&refs);
	return err;
}

ssize_t store_verify(struct store *st, bool deep, store_report_fn fn, void *arg)
{
	struct verify v = {.fn = fn, .arg = arg};
	store_log_fn saved = st->log;
	void *saved_arg = st->log_arg;
	int err;

	err = store_txn_begin(st, false, &v.t);
	if (err)
		return err;
	u64map_init(&v.tab_refs);
	u64map_init(&v.blob_refs);
	u64map_init(&v.walked);
	u64map_init(&v.xattrs);
	/* problems go to the report, not to the log as well */
	st->log = log_quiet;
	st->log_arg = NULL;
	err = store_db_entries(v.t, DB_TABS, &v.tabs_total);
	if (!err)
		err = store_env_iter(v.t, verify_env, &v);
	if (err == -EIO) {
		problem(&v, "envs: a record does not decode");
		err = 0;
	}
	if (!err)
		err = store_seed_iter(v.t, verify_seed, &v);
	if (err == -EIO) {
		problem(&v, "seeds: a record does not decode");
		err = 0;
	}
	if (!err)
		err = verify_tables(&v);
	if (!err)
		err = verify_blobs(&v, deep);
	if (!err)
		err = verify_packs(&v);
	if (!err)
		err = store_pfile_verify(v.t, fn, arg, &v.problems);
	if (!err)
		err = store_zeroref_check(v.t, fn, arg, &v.problems);
	st->log = saved;
	st->log_arg = saved_arg;
	u64map_release(&v.tab_refs);
	u64map_release(&v.blob_refs);
	u64map_release(&v.walked);
	u64map_release(&v.xattrs);
	store_ids_release(&v.todo);
	store_txn_abort(v.t);
	return err ? err : (ssize_t)v.problems;
}
