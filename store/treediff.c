/* SPDX-License-Identifier: MIT */
/*
 * treediff.c - the pruned walk of two trees (treediff.h): a FIFO of table
 * pairs, each pair's two listings merged by name. Every pair stays
 * allocated until the walk ends, since its children name it as parent
 * (the paths are built from that chain when a caller asks).
 */
#include <errno.h>
#include <string.h>

#include "store_internal.h"
#include "treediff.h"

bool store_attr_same(const struct store_attr *a, const struct store_attr *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       a->rdev == b->rdev && a->nlink == b->nlink && a->fid == b->fid &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->ctime_ns == b->ctime_ns && a->atime_ns == b->atime_ns &&
	       a->flags == b->flags;
}

bool store_entry_same(const struct store_entry *a, const struct store_entry *b)
{
	if (a->payload != b->payload || !store_attr_same(&a->a, &b->a) ||
	    a->xattr != b->xattr)
		return false;
	if (a->payload == STORE_P_INLINE)
		return a->inline_len == b->inline_len &&
		       (!a->inline_len ||
			!memcmp(a->inline_data, b->inline_data, a->inline_len));
	return a->ref == b->ref;
}

/* A pair on the worklist. */
struct pair {
	struct store_treediff_dir d;
	uint64_t ta, tb;
	struct pair *next;
};

struct walk {
	struct store_txn *t;
	struct pair *head, *tail;
};

/* One table's entries; names and inline bytes point into the txn. */
struct ent {
	const char *name;
	size_t nlen;
	struct store_entry e;
};

struct list {
	struct ent *v;
	size_t n, cap;
};

static int list_add(void *arg, const char *name, size_t nlen,
		    const struct store_entry *e)
{
	struct list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *v = store_realloc(l->v, cap * sizeof(*l->v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct ent){.name = name, .nlen = nlen, .e = *e};
	return 0;
}

/* LMDB's order: bytes, then the shorter first. */
static int name_cmp(const struct ent *x, const struct ent *y)
{
	size_t m = x->nlen < y->nlen ? x->nlen : y->nlen;
	int c = memcmp(x->name, y->name, m);

	return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

static int queue(struct walk *w, const struct store_treediff_dir *parent,
		 const char *name, size_t nlen, uint64_t ta, uint64_t tb)
{
	struct pair *p = store_malloc(sizeof(*p));

	if (!p)
		return -ENOMEM;
	*p = (struct pair){
	    .d = {.parent = parent,
		  .name = name,
		  .nlen = nlen,
		  .depth = parent ? parent->depth + 1 : 0},
	    .ta = ta,
	    .tb = tb,
	};
	if (w->tail)
		w->tail->next = p;
	else
		w->head = p;
	w->tail = p;
	return 0;
}

/* One name: x or y may be NULL. */
static int visit(struct walk *w, struct pair *p, const struct ent *x,
		 const struct ent *y, const struct store_treediff_ops *ops,
		 void *arg)
{
	const struct ent *any = x ? x : y;
	int r;

	if (x && y && x->e.payload != STORE_P_HARDLINK &&
	    store_entry_same(&x->e, &y->e))
		return 0;
	r = ops->entry(arg, &p->d, any->name, any->nlen, x ? &x->e : NULL,
		       y ? &y->e : NULL);
	if (r != STORE_TREEDIFF_DESCEND)
		return r > 0 ? -EINVAL : r;
	if (!x || !y || x->e.payload != STORE_P_TAB ||
	    y->e.payload != STORE_P_TAB)
		return -EINVAL;
	return queue(w, &p->d, x->name, x->nlen, x->e.ref, y->e.ref);
}

/* Compare the tables of pair p by name; la and lb are reused buffers. */
static int walk_pair(struct walk *w, struct pair *p, struct list *la,
		     struct list *lb, const struct store_treediff_ops *ops,
		     void *arg)
{
	size_t i = 0, j = 0;
	int r;

	r = store_dir_stat(w->t, p->ta, &p->d.a);
	if (!r)
		r = store_dir_stat(w->t, p->tb, &p->d.b);
	if (!r && ops->dir)
		r = ops->dir(arg, &p->d);
	la->n = lb->n = 0;
	if (!r)
		r = store_dir_iter(w->t, p->ta, NULL, 0, list_add, la);
	if (!r)
		r = store_dir_iter(w->t, p->tb, NULL, 0, list_add, lb);
	while (!r && (i < la->n || j < lb->n)) {
		const struct ent *x = i < la->n ? &la->v[i] : NULL;
		const struct ent *y = j < lb->n ? &lb->v[j] : NULL;
		int c = !x ? 1 : !y ? -1 : name_cmp(x, y);

		if (c < 0)
			y = NULL;
		if (c > 0)
			x = NULL;
		i += x != NULL;
		j += y != NULL;
		r = visit(w, p, x, y, ops, arg);
	}
	return r;
}

int store_treediff(struct store_txn *t, uint64_t root_a, uint64_t root_b,
		   const struct store_treediff_ops *ops, void *arg)
{
	struct walk w = {.t = t};
	struct list la = {0}, lb = {0};
	struct pair *p;
	int r = 0;

	if (root_a != root_b)
		r = queue(&w, NULL, "", 0, root_a, root_b);
	for (p = w.head; !r && p; p = p->next)
		r = walk_pair(&w, p, &la, &lb, ops, arg);
	while (w.head) {
		p = w.head;
		w.head = p->next;
		free(p);
	}
	free(la.v);
	free(lb.v);
	return r;
}

char *store_treediff_path(const struct store_treediff_dir *d, const char *name,
			  size_t nlen, const char *suffix)
{
	size_t slen = strlen(suffix), len = nlen + slen;
	const struct store_treediff_dir *x;
	char *p;

	for (x = d; x && x->parent; x = x->parent)
		len += x->nlen + 1;
	if (!nlen && len > slen)
		len--; /* d itself: no '/' before the (absent) name */
	p = malloc(len + 1);
	if (!p)
		return NULL;
	len -= slen;
	memcpy(p + len, suffix, slen + 1);
	len -= nlen;
	if (nlen)
		memcpy(p + len, name, nlen);
	for (x = d; x && x->parent; x = x->parent) {
		if (len && (nlen || x != d))
			p[--len] = '/';
		len -= x->nlen;
		memcpy(p + len, x->name, x->nlen);
	}
	return p;
}
