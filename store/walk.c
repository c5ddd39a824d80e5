/* SPDX-License-Identifier: MIT */
/*
 * walk.c - helpers for walks over trees of any depth: a table's entries
 * copied out of the txn (so a walk keeps one listing per level on its own
 * heap stack instead of recursing), and a growable array of table ids.
 */
#include <sys/resource.h>

#include "store_internal.h"

static int dirlist_add(void *arg, const char *name, size_t nlen,
		       const struct store_entry *e)
{
	struct store_dirlist *l = arg;
	struct store_dirlist_ent *x;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = store_realloc(l->v, cap * sizeof(*l->v));

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	x = &l->v[l->n];
	memset(x, 0, sizeof(*x));
	x->name = store_malloc(nlen + 1 + e->inline_len);
	if (!x->name)
		return -ENOMEM;
	memcpy(x->name, name, nlen);
	x->name[nlen] = '\0';
	x->nlen = nlen;
	x->e = *e;
	if (e->inline_len)
		memcpy(x->name + nlen + 1, e->inline_data, e->inline_len);
	x->e.inline_data = e->inline_len ? x->name + nlen + 1 : NULL;
	l->n++;
	return 0;
}

int store_dir_list(struct store_txn *t, uint64_t tab, struct store_dirlist *out)
{
	struct store_dirlist l = {0};
	int err = store_dir_iter(t, tab, NULL, 0, dirlist_add, &l);

	if (err) {
		store_dirlist_release(&l);
		return err;
	}
	*out = l;
	return 0;
}

void store_dirlist_release(struct store_dirlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int store_ids_push(struct store_ids *s, uint64_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		void *p = store_realloc(s->v, cap * sizeof(*s->v));

		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = id;
	return 0;
}

void store_ids_release(struct store_ids *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void store_nofile_raise(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}
