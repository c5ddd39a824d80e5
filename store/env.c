/* SPDX-License-Identifier: MIT */
/*
 * env.c - env records, snapshots and pins. An env owns one reference on
 * its live root, a snapshot one on its root. Generations decide what is
 * writable: copy-on-write along a path happens in store_env_dir_writable.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

int store_name_check(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > STORE_ENV_NAME_MAX || name[0] == '.' ||
	    name[0] == '-')
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return -EINVAL;
	}
	return 0;
}

/* ---- env records: id root gen created (4 x 8) then 3 x (u16 len, str) */

static size_t put_str(unsigned char *b, const char *s)
{
	size_t n = strlen(s);

	b[0] = (unsigned char)(n & 0xff);
	b[1] = (unsigned char)(n >> 8);
	memcpy(b + 2, s, n);
	return n + 2;
}

static int get_str(const unsigned char **p, const unsigned char *end, char *dst,
		   size_t cap)
{
	size_t n;

	if (end - *p < 2)
		return -EIO;
	n = (size_t)(*p)[0] | ((size_t)(*p)[1] << 8);
	if ((size_t)(end - *p - 2) < n || n >= cap)
		return -EIO;
	memcpy(dst, *p + 2, n);
	dst[n] = '\0';
	*p += n + 2;
	return 0;
}

int store_env_decode(const MDB_val *k, const MDB_val *v, struct store_env *e)
{
	const unsigned char *p = v->mv_data, *end = p + v->mv_size;

	memset(e, 0, sizeof(*e));
	if (k->mv_size == 0 || k->mv_size > STORE_ENV_NAME_MAX ||
	    v->mv_size < 32)
		return -EIO;
	memcpy(e->name, k->mv_data, k->mv_size);
	e->id = get_le64(p);
	e->root = get_le64(p + 8);
	e->gen = get_le64(p + 16);
	e->created_ns = (int64_t)get_le64(p + 24);
	p += 32;
	if (get_str(&p, end, e->python, sizeof(e->python)) ||
	    get_str(&p, end, e->pyver, sizeof(e->pyver)) ||
	    get_str(&p, end, e->mount, sizeof(e->mount)) || p != end)
		return -EIO;
	return 0;
}

int store_env_put(struct store_txn *t, const struct store_env *e)
{
	unsigned char buf[32 + 3 * 2 + sizeof(e->python) + sizeof(e->pyver) +
			  sizeof(e->mount)];
	MDB_val k = {strlen(e->name), (void *)e->name}, v;
	size_t n = 32;

	if (strnlen(e->python, sizeof(e->python)) >= sizeof(e->python) ||
	    strnlen(e->pyver, sizeof(e->pyver)) >= sizeof(e->pyver) ||
	    strnlen(e->mount, sizeof(e->mount)) >= sizeof(e->mount))
		return -ENAMETOOLONG;
	put_le64(buf, e->id);
	put_le64(buf + 8, e->root);
	put_le64(buf + 16, e->gen);
	put_le64(buf + 24, (uint64_t)e->created_ns);
	n += put_str(buf + n, e->python);
	n += put_str(buf + n, e->pyver);
	n += put_str(buf + n, e->mount);
	v.mv_size = n;
	v.mv_data = buf;
	return store_put(t, DB_ENVS, &k, &v, 0);
}

int store_env_get(struct store_txn *t, const char *name, struct store_env *out)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	int err;

	if (store_name_check(name))
		return -EINVAL;
	err = store_get(t, DB_ENVS, &k, &v);
	if (err)
		return err;
	if (store_env_decode(&k, &v, out)) {
		store_logf(t->st, "env '%s': corrupt record", name);
		return -EIO;
	}
	return 0;
}

int store_env_iter(struct store_txn *t, store_env_iter_fn fn, void *arg)
{
	struct store_env *e = malloc(sizeof(*e));
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, err = 0;

	if (!e)
		return -ENOMEM;
	rc = mdb_cursor_open(t->txn, sdb(t, DB_ENVS), &cur);
	if (rc) {
		free(e);
		return store_mdb_err(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (store_env_decode(&k, &v, e)) {
			store_logf(t->st, "env '%.*s': corrupt record",
				   (int)k.mv_size, (const char *)k.mv_data);
			err = -EIO;
			break;
		}
		err = fn(arg, e);
		if (err) {
			err = err > 0 ? 0 : err;
			break;
		}
	}
	if (rc && rc != MDB_NOTFOUND && !err)
		err = store_mdb_err(rc);
	mdb_cursor_close(cur);
	free(e);
	return err;
}

struct freeze_ctx {
	struct store_txn *t;
	uint64_t root;
	int err;
};

static int freeze_sharers(void *arg, const struct store_env *e)
{
	struct freeze_ctx *c = arg;
	struct store_env copy;

	if (e->root != c->root)
		return 0;
	copy = *e;
	return store_env_freeze(c->t, &copy);
}

int store_env_create(struct store_txn *t, struct store_env *e,
		     uint64_t root_from)
{
	struct store_env old;
	struct store_attr a = {0};
	int err;

	if (store_name_check(e->name))
		return -EINVAL;
	err = store_env_get(t, e->name, &old);
	if (!err)
		return -EEXIST;
	if (err != -ENOENT)
		return err;
	err = store_meta_next(t, "next_env", &e->id);
	if (!err)
		err = store_gen_new(t, &e->gen);
	if (err)
		return err;
	e->created_ns = store_now_ns();
	if (root_from) {
		/* a live root being shared must stop being writable */
		struct freeze_ctx c = {t, root_from, 0};

		err = store_env_iter(t, freeze_sharers, &c);
		if (err)
			return err;
		e->root = root_from;
	} else {
		a.mode = S_IFDIR | 0755;
		a.uid = getuid();
		a.gid = getgid();
		a.atime_ns = a.mtime_ns = a.ctime_ns = e->created_ns;
		err = store_fid_new(t, &a.fid);
		if (!err)
			err = store_dir_new(t, &a, e->gen, &e->root);
		if (err)
			return err;
	}
	err = store_dir_ref(t, e->root);
	if (!err)
		err = store_env_put(t, e);
	return err;
}

int store_env_freeze(struct store_txn *t, struct store_env *e)
{
	int err = store_gen_new(t, &e->gen);

	return err ? err : store_env_put(t, e);
}

int store_env_set_root(struct store_txn *t, struct store_env *e, uint64_t root)
{
	uint64_t old = e->root;
	int err;

	err = store_dir_ref(t, root);
	if (err)
		return err;
	e->root = root;
	err = store_env_freeze(t, e);
	if (!err)
		err = store_dir_unref(t, old);
	return err;
}

/* Copy a frozen table for env e; the caller repoints the parent. */
static int cow_tab(struct store_txn *t, struct store_env *e, uint64_t tab,
		   uint64_t *out)
{
	struct store_dir d;
	int err = store_tab_get(t, tab, &d);

	if (err)
		return err;
	if (d.gen == e->gen) {
		*out = tab;
		return 0;
	}
	return store_dir_copy(t, tab, e->gen, out);
}

int store_env_dir_writable(struct store_txn *t, struct store_env *e,
			   const char *const *names, size_t depth,
			   uint64_t *out)
{
	struct store_entry ent;
	uint64_t cur, next;
	size_t i;
	int err;

	err = cow_tab(t, e, e->root, &cur);
	if (err)
		return err;
	if (cur != e->root) {
		uint64_t old = e->root;

		err = store_dir_ref(t, cur);
		if (err)
			return err;
		e->root = cur;
		err = store_env_put(t, e);
		if (!err)
			err = store_dir_unref(t, old);
		if (err)
			return err;
	}
	for (i = 0; i < depth; i++) {
		size_t nlen = strlen(names[i]);

		err = store_dir_get(t, cur, names[i], nlen, &ent);
		if (err)
			return err;
		if (ent.payload != STORE_P_TAB)
			return -ENOTDIR;
		err = cow_tab(t, e, ent.ref, &next);
		if (err)
			return err;
		if (next != ent.ref) {
			ent.ref = next;
			ent.inline_data = NULL;
			ent.inline_len = 0;
			err = store_dir_put(t, cur, names[i], nlen, &ent);
			if (err)
				return err;
		}
		cur = next;
	}
	*out = cur;
	return 0;
}

/* ---- snapshots: key env id(be64) ++ name;
 * value root(8) created(8) flags(4) msglen(4) msg */

static int snap_key(unsigned char *kb, const struct store_env *e,
		    const char *name, size_t *klen)
{
	size_t n = strlen(name);

	if (store_name_check(name))
		return -EINVAL;
	put_be64(kb, e->id);
	memcpy(kb + 8, name, n);
	*klen = 8 + n;
	return 0;
}

static int snap_decode(const MDB_val *k, const MDB_val *v, struct store_snap *s)
{
	const unsigned char *b = v->mv_data;
	uint32_t mlen;

	memset(s, 0, sizeof(*s));
	if (k->mv_size <= 8 || k->mv_size > 8 + STORE_ENV_NAME_MAX ||
	    v->mv_size < 24)
		return -EIO;
	memcpy(s->name, (const char *)k->mv_data + 8, k->mv_size - 8);
	s->root = get_le64(b);
	s->created_ns = (int64_t)get_le64(b + 8);
	s->automatic = get_le32(b + 16) & 1;
	mlen = get_le32(b + 20);
	if (mlen >= sizeof(s->message) || v->mv_size != 24 + (size_t)mlen)
		return -EIO;
	memcpy(s->message, b + 24, mlen);
	return 0;
}

int store_snap_get(struct store_txn *t, const struct store_env *e,
		   const char *name, struct store_snap *out)
{
	unsigned char kb[8 + STORE_ENV_NAME_MAX + 1];
	MDB_val k, v;
	size_t klen;
	int err = snap_key(kb, e, name, &klen);

	if (err)
		return err;
	k.mv_size = klen;
	k.mv_data = kb;
	err = store_get(t, DB_SNAPS, &k, &v);
	if (err)
		return err;
	if (snap_decode(&k, &v, out)) {
		store_logf(t->st, "snapshot '%s@%s': corrupt record", e->name,
			   name);
		return -EIO;
	}
	return 0;
}

int store_snap_create(struct store_txn *t, struct store_env *e,
		      struct store_snap *s)
{
	unsigned char kb[8 + STORE_ENV_NAME_MAX + 1];
	unsigned char vb[24 + sizeof(s->message)];
	struct store_snap old;
	size_t klen, mlen = strnlen(s->message, sizeof(s->message));
	MDB_val k, v;
	int err;

	if (mlen >= sizeof(s->message))
		return -ENAMETOOLONG;
	err = snap_key(kb, e, s->name, &klen);
	if (err)
		return err;
	err = store_snap_get(t, e, s->name, &old);
	if (!err)
		return -EEXIST;
	if (err != -ENOENT)
		return err;
	err = store_env_freeze(t, e);
	if (!err)
		err = store_dir_ref(t, e->root);
	if (err)
		return err;
	s->root = e->root;
	s->created_ns = store_now_ns();
	put_le64(vb, s->root);
	put_le64(vb + 8, (uint64_t)s->created_ns);
	put_le32(vb + 16, s->automatic ? 1 : 0);
	put_le32(vb + 20, (uint32_t)mlen);
	memcpy(vb + 24, s->message, mlen);
	k.mv_size = klen;
	k.mv_data = kb;
	v.mv_size = 24 + mlen;
	v.mv_data = vb;
	return store_put(t, DB_SNAPS, &k, &v, MDB_NOOVERWRITE);
}

int store_snap_delete(struct store_txn *t, const struct store_env *e,
		      const char *name)
{
	unsigned char kb[8 + STORE_ENV_NAME_MAX + 1];
	struct store_snap s;
	size_t klen = 0;
	MDB_val k;
	int err;

	err = store_snap_get(t, e, name, &s);
	if (err)
		return err;
	snap_key(kb, e, name, &klen);
	k.mv_size = klen;
	k.mv_data = kb;
	err = store_del(t, DB_SNAPS, &k);
	if (!err)
		err = store_dir_unref(t, s.root);
	return err;
}

int store_snap_iter(struct store_txn *t, const struct store_env *e,
		    store_snap_iter_fn fn, void *arg)
{
	unsigned char kb[8];
	struct store_snap s;
	MDB_cursor *cur;
	MDB_val k = {8, kb}, v;
	int rc, err = 0;

	put_be64(kb, e->id);
	rc = mdb_cursor_open(t->txn, sdb(t, DB_SNAPS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < 8 || get_be64(k.mv_data) != e->id)
			break;
		if (snap_decode(&k, &v, &s)) {
			store_logf(t->st, "env '%s': corrupt snapshot record",
				   e->name);
			err = -EIO;
			break;
		}
		err = fn(arg, &s);
		if (err) {
			err = err > 0 ? 0 : err;
			break;
		}
	}
	if (rc && rc != MDB_NOTFOUND && !err)
		err = store_mdb_err(rc);
	mdb_cursor_close(cur);
	return err;
}

struct name_list {
	size_t n;
	char names[256][STORE_ENV_NAME_MAX + 1];
};

static int collect_snap(void *arg, const struct store_snap *s)
{
	struct name_list *l = arg;

	if (l->n == 256)
		return 1; /* the caller loops until none are left */
	memcpy(l->names[l->n++], s->name, sizeof(s->name));
	return 0;
}

int store_env_delete(struct store_txn *t, const char *name)
{
	MDB_val k = {strlen(name), (void *)name};
	struct name_list *l;
	struct store_env e;
	size_t i;
	int err;

	err = store_env_get(t, name, &e);
	if (err)
		return err;
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	do {
		l->n = 0;
		err = store_snap_iter(t, &e, collect_snap, l);
		for (i = 0; !err && i < l->n; i++)
			err = store_snap_delete(t, &e, l->names[i]);
	} while (!err && l->n == 256);
	free(l);
	if (!err)
		err = store_del(t, DB_ENVS, &k);
	if (!err)
		err = store_dir_unref(t, e.root);
	return err;
}

int store_ref_resolve(struct store_txn *t, const char *ref, uint64_t *out)
{
	char name[STORE_ENV_NAME_MAX + 1];
	const char *at = strchr(ref, '@');
	struct store_env e;
	struct store_snap s;
	size_t n = at ? (size_t)(at - ref) : strlen(ref);
	int err;

	if (n == 0 || n > STORE_ENV_NAME_MAX)
		return -EINVAL;
	memcpy(name, ref, n);
	name[n] = '\0';
	err = store_env_get(t, name, &e);
	if (err)
		return err;
	if (!at) {
		*out = e.root;
		return 0;
	}
	err = store_snap_get(t, &e, at + 1, &s);
	if (!err)
		*out = s.root;
	return err;
}

/* ---- pins ---- */

static uint64_t proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p)
		return 0;
	/* field 3 starts after ") "; starttime is field 22 */
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &st);
	return st;
}

void store_pin_owner(unsigned char owner[16])
{
	pid_t pid = getpid();

	put_be64(owner, (uint64_t)pid);
	put_be64(owner + 8, proc_starttime(pid));
}

bool store_pin_owner_alive(const unsigned char owner[16])
{
	pid_t pid = (pid_t)get_be64(owner);

	return kill(pid, 0) == 0 || errno == EPERM
		   ? proc_starttime(pid) == get_be64(owner + 8)
		   : false;
}

int store_pin(struct store_txn *t, uint64_t blob)
{
	unsigned char kb[24];
	MDB_val k = {24, kb}, v = {0, ""};

	store_pin_owner(kb);
	put_be64(kb + 16, blob);
	return store_put(t, DB_PINS, &k, &v, 0);
}

int store_unpin(struct store_txn *t, uint64_t blob)
{
	unsigned char kb[24];
	MDB_val k = {24, kb};
	int err;

	store_pin_owner(kb);
	put_be64(kb + 16, blob);
	err = store_del(t, DB_PINS, &k);
	return err == -ENOENT ? 0 : err;
}

int store_unpin_all(struct store_txn *t)
{
	unsigned char owner[16];
	MDB_cursor *cur;
	MDB_val k = {16, owner}, v;
	int rc, err = 0;

	store_pin_owner(owner);
	rc = mdb_cursor_open(t->txn, sdb(t, DB_PINS), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (;;) {
		k.mv_size = 16;
		k.mv_data = owner;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc || k.mv_size != 24 || memcmp(k.mv_data, owner, 16))
			break;
		err = store_space_charge(t, DB_PINS, 0);
		if (err)
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc && rc != MDB_NOTFOUND ? store_mdb_err(rc) : 0;
}

/* ---- seeds: meta keys "seed:" ++ key -> root (le64) ---- */

#define SEED_PREFIX "seed:"

static int seed_key(char *kb, size_t cap, const char *key, size_t *klen)
{
	int n = snprintf(kb, cap, SEED_PREFIX "%s", key);

	if (!*key || n < 0 || (size_t)n >= cap)
		return -EINVAL;
	*klen = (size_t)n;
	return 0;
}

int store_seed_get(struct store_txn *t, const char *key, uint64_t *out)
{
	char kb[sizeof(SEED_PREFIX) + 256];
	size_t klen;
	MDB_val k, v;
	int err = seed_key(kb, sizeof(kb), key, &klen);

	if (err)
		return err;
	k.mv_size = klen;
	k.mv_data = kb;
	err = store_get(t, DB_META, &k, &v);
	if (err)
		return err;
	if (v.mv_size != 8) {
		store_logf(t->st, "seed '%s': corrupt record", key);
		return -EIO;
	}
	*out = get_le64(v.mv_data);
	return 0;
}

int store_seed_set(struct store_txn *t, const char *key, uint64_t root)
{
	char kb[sizeof(SEED_PREFIX) + 256];
	unsigned char vb[8];
	uint64_t old = 0;
	size_t klen;
	MDB_val k, v = {8, vb};
	int err = seed_key(kb, sizeof(kb), key, &klen);

	if (err)
		return err;
	k.mv_size = klen;
	k.mv_data = kb;
	err = store_seed_get(t, key, &old);
	if (err && err != -ENOENT)
		return err;
	if (root) {
		struct freeze_ctx c = {t, root, 0};

		err = store_env_iter(t, freeze_sharers, &c);
		if (!err)
			err = store_dir_ref(t, root);
		put_le64(vb, root);
		if (!err)
			err = store_put(t, DB_META, &k, &v, 0);
	} else if (old) {
		err = store_del(t, DB_META, &k);
	}
	if (!err && old)
		err = store_dir_unref(t, old);
	return err;
}

int store_seed_iter(struct store_txn *t, store_seed_iter_fn fn, void *arg)
{
	char key[257];
	MDB_cursor *cur;
	MDB_val k = {sizeof(SEED_PREFIX) - 1, SEED_PREFIX}, v;
	int rc, err = 0;

	rc = mdb_cursor_open(t->txn, sdb(t, DB_META), &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		size_t n = k.mv_size - (sizeof(SEED_PREFIX) - 1);

		if (k.mv_size < sizeof(SEED_PREFIX) - 1 ||
		    memcmp(k.mv_data, SEED_PREFIX, sizeof(SEED_PREFIX) - 1))
			break;
		if (v.mv_size != 8 || n >= sizeof(key)) {
			err = -EIO;
			break;
		}
		memcpy(key, (char *)k.mv_data + sizeof(SEED_PREFIX) - 1, n);
		key[n] = '\0';
		err = fn(arg, key, get_le64(v.mv_data));
		if (err) {
			err = err > 0 ? 0 : err;
			break;
		}
	}
	if (rc && rc != MDB_NOTFOUND && !err)
		err = store_mdb_err(rc);
	mdb_cursor_close(cur);
	return err;
}

void store_link_key(uint64_t fid, char out[STORE_LINK_KEY_LEN + 1])
{
	snprintf(out, STORE_LINK_KEY_LEN + 1, "%016llx",
		 (unsigned long long)fid);
}

int store_link_get(struct store_txn *t, uint64_t root, uint64_t fid,
		   struct store_entry *out)
{
	struct store_entry l;
	char key[STORE_LINK_KEY_LEN + 1];
	int err;

	err = store_dir_get(t, root, STORE_LINKS_NAME,
			    sizeof(STORE_LINKS_NAME) - 1, &l);
	if (err)
		return err;
	if (l.payload != STORE_P_TAB)
		return -EIO;
	store_link_key(fid, key);
	return store_dir_get(t, l.ref, key, STORE_LINK_KEY_LEN, out);
}

int store_env_links_writable(struct store_txn *t, struct store_env *e,
			     uint64_t *out)
{
	const char *names[] = {STORE_LINKS_NAME};
	struct store_entry l = {0};
	uint64_t root;
	int err;

	err = store_env_dir_writable(t, e, NULL, 0, &root);
	if (err)
		return err;
	err = store_dir_get(t, root, STORE_LINKS_NAME,
			    sizeof(STORE_LINKS_NAME) - 1, &l);
	if (err == -ENOENT) {
		l.a.mode = S_IFDIR | 0700;
		l.a.mtime_ns = l.a.ctime_ns = l.a.atime_ns = store_now_ns();
		l.payload = STORE_P_TAB;
		err = store_fid_new(t, &l.a.fid);
		if (!err)
			err = store_dir_new(t, &l.a, e->gen, &l.ref);
		if (!err)
			err = store_dir_put(t, root, STORE_LINKS_NAME,
					    sizeof(STORE_LINKS_NAME) - 1, &l);
	}
	if (err)
		return err;
	return store_env_dir_writable(t, e, names, 1, out);
}

/* ---- per-env settings: meta key "env:<id>:<key>" -> u64 ---- */

static int setting_key(char *kb, size_t cap, const struct store_env *e,
		       const char *key)
{
	int n =
	    snprintf(kb, cap, "env:%llu:%s", (unsigned long long)e->id, key);

	return n < 0 || (size_t)n >= cap || !*key ? -EINVAL : 0;
}

int store_env_setting_get(struct store_txn *t, const struct store_env *e,
			  const char *key, uint64_t *out)
{
	char kb[96];
	int err = setting_key(kb, sizeof(kb), e, key);

	return err ? err : store_meta_get_u64(t, kb, out);
}

int store_env_setting_set(struct store_txn *t, const struct store_env *e,
			  const char *key, uint64_t val)
{
	char kb[96];
	int err = setting_key(kb, sizeof(kb), e, key);

	return err ? err : store_meta_put_u64(t, kb, val);
}

struct oldest_auto {
	size_t n;
	int64_t ns;
	char name[STORE_ENV_NAME_MAX + 1];
};

static int find_oldest_auto(void *arg, const struct store_snap *s)
{
	struct oldest_auto *o = arg;

	if (!s->automatic)
		return 0;
	if (!o->n++ || s->created_ns < o->ns) {
		o->ns = s->created_ns;
		memcpy(o->name, s->name, sizeof(o->name));
	}
	return 0;
}

int store_snap_prune_auto(struct store_txn *t, const struct store_env *e,
			  uint64_t keep)
{
	struct oldest_auto o;
	int err;

	for (;;) {
		memset(&o, 0, sizeof(o));
		err = store_snap_iter(t, e, find_oldest_auto, &o);
		if (err || o.n <= keep)
			return err;
		err = store_snap_delete(t, e, o.name);
		if (err)
			return err;
	}
}
