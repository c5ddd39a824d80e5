/* SPDX-License-Identifier: MIT */
/*
 * state.c - an env's state: small named values (per-env variables,
 * policy, package state) kept in a hidden table of the env's root, so
 * that snapshots, clones and load carry them with the files, at no cost.
 * Values up to STORE_INLINE_MAX bytes are inline; larger ones are blobs
 * (deduplicated like file content).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"

static int key_check(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	return n && n <= STORE_NAME_MAX ? 0 : -EINVAL;
}

static int state_tab(struct store_txn *t, uint64_t root, uint64_t *out)
{
	struct store_entry e;
	int err = store_dir_get(t, root, STORE_STATE_NAME,
				sizeof(STORE_STATE_NAME) - 1, &e);

	if (err)
		return err;
	if (e.payload != STORE_P_TAB)
		return -EIO;
	*out = e.ref;
	return 0;
}

static int value_copy(struct store_txn *t, const struct store_entry *e,
		      void **val, size_t *len)
{
	size_t n = e->a.size;
	char *buf;
	ssize_t r;

	if (n > STORE_STATE_MAX)
		return -EIO;
	buf = malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	if (e->payload == STORE_P_INLINE) {
		if (e->inline_len != n) {
			free(buf);
			return -EIO;
		}
		memcpy(buf, e->inline_data, n);
	} else if (e->payload == STORE_P_BLOB) {
		r = store_blob_read(t, e->ref, buf, n, 0);
		if (r < 0 || (size_t)r != n) {
			free(buf);
			return r < 0 ? (int)r : -EIO;
		}
	} else if (e->payload != STORE_P_NONE || n) {
		free(buf);
		return -EIO;
	}
	buf[n] = '\0';
	*val = buf;
	*len = n;
	return 0;
}

int store_state_get(struct store_txn *t, uint64_t root, const char *key,
		    void **val, size_t *len)
{
	struct store_entry e;
	uint64_t tab;
	int err = key_check(key);

	if (!err)
		err = state_tab(t, root, &tab);
	if (!err)
		err = store_dir_get(t, tab, key, strlen(key), &e);
	if (!err)
		err = value_copy(t, &e, val, len);
	return err;
}

/* e's state table made writable (created when missing and create). */
static int state_writable(struct store_txn *t, struct store_env *e, bool create,
			  uint64_t *out)
{
	const char *names[] = {STORE_STATE_NAME};
	struct store_entry s = {0};
	uint64_t root;
	int err;

	err = state_tab(t, e->root, &root);
	if (err == -ENOENT && !create)
		return err;
	err = store_env_dir_writable(t, e, NULL, 0, &root);
	if (err)
		return err;
	err = store_dir_get(t, root, STORE_STATE_NAME,
			    sizeof(STORE_STATE_NAME) - 1, &s);
	if (err == -ENOENT) {
		s.a.mode = S_IFDIR | 0700;
		s.a.mtime_ns = s.a.ctime_ns = s.a.atime_ns = store_now_ns();
		s.payload = STORE_P_TAB;
		err = store_fid_new(t, &s.a.fid);
		if (!err)
			err = store_dir_new(t, &s.a, e->gen, &s.ref);
		if (!err)
			err = store_dir_put(t, root, STORE_STATE_NAME,
					    sizeof(STORE_STATE_NAME) - 1, &s);
	}
	if (err)
		return err;
	return store_env_dir_writable(t, e, names, 1, out);
}

int store_state_set(struct store_txn *t, struct store_env *e, const char *key,
		    const void *val, size_t len)
{
	struct store_entry v = {0}, old;
	uint64_t tab;
	int err = key_check(key);

	if (err)
		return err;
	if (len > STORE_STATE_MAX)
		return -EFBIG;
	err = state_writable(t, e, true, &tab);
	if (err)
		return err;
	err = store_dir_get(t, tab, key, strlen(key), &old);
	if (!err && old.a.size == len) {
		void *cur;
		size_t n;

		err = value_copy(t, &old, &cur, &n);
		if (!err) {
			bool same = !memcmp(cur, val, len);

			free(cur);
			if (same)
				return 0; /* unchanged: no new generation */
		}
	}
	v.a.mode = S_IFREG | 0600;
	v.a.size = len;
	v.a.mtime_ns = v.a.ctime_ns = v.a.atime_ns = store_now_ns();
	err = store_fid_new(t, &v.a.fid);
	if (err)
		return err;
	if (len <= STORE_INLINE_MAX) {
		v.payload = len ? STORE_P_INLINE : STORE_P_NONE;
		v.inline_data = val;
		v.inline_len = (uint32_t)len;
	} else {
		v.payload = STORE_P_BLOB;
		err = store_blob_put(t, val, len, &v.ref);
		if (err)
			return err;
	}
	return store_dir_put(t, tab, key, strlen(key), &v);
}

int store_state_del(struct store_txn *t, struct store_env *e, const char *key)
{
	struct store_entry old;
	uint64_t tab;
	int err = key_check(key);

	if (!err)
		err = state_tab(t, e->root, &tab);
	if (!err)
		err = store_dir_get(t, tab, key, strlen(key), &old);
	if (!err)
		err = state_writable(t, e, false, &tab);
	if (!err)
		err = store_dir_del(t, tab, key, strlen(key));
	return err;
}

struct iter_ctx {
	struct store_txn *t;
	const char *prefix;
	size_t plen;
	store_state_iter_fn fn;
	void *arg;
};

static int iter_one(void *arg, const char *name, size_t nlen,
		    const struct store_entry *e)
{
	struct iter_ctx *c = arg;
	char key[STORE_NAME_MAX + 1];
	void *val = NULL;
	size_t len = 0;
	int err;

	size_t m = nlen < c->plen ? nlen : c->plen;
	int cmp = memcmp(name, c->prefix, m);

	if (cmp > 0)
		return 1; /* past the prefix: entries are sorted */
	if (cmp < 0 || nlen < c->plen)
		return 0; /* before it */
	memcpy(key, name, nlen);
	key[nlen] = '\0';
	err = value_copy(c->t, e, &val, &len);
	if (err)
		return err;
	err = c->fn(c->arg, key, val, len);
	free(val);
	return err;
}

int store_state_iter(struct store_txn *t, uint64_t root, const char *prefix,
		     store_state_iter_fn fn, void *arg)
{
	struct iter_ctx c = {t, prefix ? prefix : "", 0, fn, arg};
	uint64_t tab;
	int err = state_tab(t, root, &tab);

	if (err)
		return err == -ENOENT ? 0 : err;
	c.plen = strlen(c.prefix);
	if (c.plen > STORE_NAME_MAX)
		return -EINVAL;
	return store_dir_iter(t, tab, NULL, 0, iter_one, &c);
}
