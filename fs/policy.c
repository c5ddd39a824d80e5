/* SPDX-License-Identifier: MIT */
/*
 * policy.c - the env's filesystem policy (store/policy.h) enforced on
 * every route: names (lookup, create, remove, rename into and out of,
 * link), nodes (getattr, open, setattr, write; a hard-linked inode by
 * every one of its names), listings, sizes (max file size, quota) and
 * statfs. Each directory node caches its match state, recomputed when
 * the epoch moves (policy reload, rename, link); with no fs rules set a
 * hook costs one atomic load. Denials go to polaudit.c's ring, flushed
 * to the store by the sync thread, never one txn per denial.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "fs_internal.h"
#include "policy.h"

/* A loaded policy; kept until unmount once loaded (readers may hold it
 * without a reference while it is replaced). */
struct pol_ver {
	struct policy *p;
	struct policy_state root;
	struct pol_ver *older;
};

struct fs_pol {
	struct pol_ver *cur; /* protected by fs->lock; NULL: no fs rules */
	struct pol_ver *all; /* every version, for release */
	atomic_ullong epoch; /* node caches valid at this epoch */
	atomic_llong used;   /* env's logical bytes (quota) */
};

static const char *const op_names[FS_POL__COUNT] = {
    "lookup", "getattr", "readlink", "open",  "open-write", "create",
    "mkdir",  "mknod",	 "symlink",  "link",  "unlink",	    "rmdir",
    "rename", "setattr", "truncate", "write", "readdir",    "read",
};

static bool op_writes(enum fs_pol_op op)
{
	return op != FS_POL_LOOKUP && op != FS_POL_GETATTR &&
	       op != FS_POL_READLINK && op != FS_POL_OPEN &&
	       op != FS_POL_READDIR && op != FS_POL_READ;
}

/* ---- loading ------------------------------------------------------- */

static bool has_fs_rules(const struct policy *p)
{
	return policy_has_paths(p) || p->max_file_size || p->quota;
}

static int version_load(struct fs *fs, struct pol_ver **out, uint64_t *used)
{
	struct store_usage u = {0};
	struct store_txn *t;
	struct store_env e;
	struct pol_ver *v = calloc(1, sizeof(*v));
	int err = v ? store_txn_begin(fs->st, false, &t) : -ENOMEM;

	if (err) {
		free(v);
		return err;
	}
	err = store_env_get(t, fs->opt->env, &e);
	if (!err)
		err = policy_load(t, e.root, &v->p);
	if (!err && v->p->quota)
		err = store_usage_tree(t, e.root, &u);
	store_txn_abort(t);
	if (!err)
		err = policy_state_root(v->p, &v->root);
	if (err) {
		policy_free(v->p);
		free(v);
		return err;
	}
	*used = u.logical + u.meta;
	*out = v;
	return 0;
}

int fs_pol_init(struct fs *fs)
{
	struct fs_pol *fp = calloc(1, sizeof(*fp));
	int err = fp ? fs_audit_init(fs) : -ENOMEM;

	if (err) {
		free(fp);
		return err;
	}
	atomic_store(&fp->epoch, 1);
	fs->pol = fp;
	return fs_pol_reload(fs, false);
}

/* Every name, listing and file page the kernel may hold: dropped, so
 * hidden names cannot survive in its caches, nor hidden content in its
 * page cache (descriptors and mappings made before keep reading it
 * without a READ otherwise). From the control thread, no lock. */
struct inval_list {
	uint64_t *ino;
	char **name;
	size_t n, cap;
	uint64_t *files; /* nodes whose pages go */
	size_t nfiles, capfiles;
};

static int inval_add_file(struct inval_list *l, uint64_t ino)
{
	if (l->nfiles == l->capfiles) {
		size_t cap = l->capfiles ? l->capfiles * 2 : 64;
		uint64_t *f = realloc(l->files, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		l->files = f;
		l->capfiles = cap;
	}
	l->files[l->nfiles++] = ino;
	return 0;
}

static int inval_add(struct inval_list *l, uint64_t ino, const char *name,
		     size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		uint64_t *i = realloc(l->ino, cap * sizeof(*i));
		char **nm;

		if (!i)
			return -ENOMEM;
		l->ino = i;
		nm = realloc(l->name, cap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		l->name = nm;
		l->cap = cap;
	}
	l->name[l->n] = NULL;
	if (name && !(l->name[l->n] = strndup(name, len)))
		return -ENOMEM;
	l->ino[l->n++] = ino;
	return 0;
}

static int inval_collect(struct fs *fs, struct inval_list *l)
{
	int err = 0;

	for (uint64_t i = FUSE_ROOT_ID; i < fs->next_nodeid && !err; i++) {
		struct node *nd = fs_node_get(fs, i);

		if (!nd)
			continue;
		if (S_ISDIR(nd->mode)) /* its cached listing */
			err = inval_add(l, nd->nodeid, NULL, 0);
		else if (S_ISREG(nd->mode)) /* its cached pages */
			err = inval_add_file(l, nd->nodeid);
		if (!err && nd->parent && nd->name[0] && !nd->unlinked)
			err = inval_add(l, nd->parent, nd->name,
					strlen(nd->name));
	}
	return err;
}

struct links_walk {
	struct inval_list *l;
	uint64_t dir;
};

static int link_name(void *arg, const char *name, size_t nlen,
		     const struct store_entry *e)
{
	struct links_walk *w = arg;

	if (e->payload != STORE_P_HARDLINK || name[0] == '/')
		return 0;
	return inval_add(w->l, w->dir, name, nlen);
}

/* A hard-linked inode's node has one of its names: the others, in the
 * directories the kernel knows, are dropped too (an older name of an
 * inode hidden by another must not stay open-able: no OPEN checks it). */
static int inval_links(struct fs *fs, struct inval_list *l)
{
	size_t ndirs = l->n;
	struct store_txn *t = NULL;
	int err = fs_rtxn(fs, &t);

	for (size_t i = 0; i < ndirs && !err; i++) {
		struct links_walk w = {l, l->ino[i]};
		struct node *d;
		uint64_t tab;

		if (l->name[i])
			continue;
		d = fs_node_find(fs, l->ino[i]);
		if (!d || fs_dir_tab(fs, t, d, &tab))
			continue; /* gone meanwhile */
		err = store_dir_iter(t, tab, NULL, 0, link_name, &w);
	}
	if (t)
		fs_rtxn_done(t);
	return err;
}

static void inval_send(struct fs *fs, struct inval_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->name[i])
			fuse_lowlevel_notify_inval_entry(
			    fs->se, l->ino[i], l->name[i], strlen(l->name[i]));
		else
			fuse_lowlevel_notify_inval_inode(fs->se, l->ino[i], -1,
							 0);
		free(l->name[i]);
	}
	for (size_t i = 0; i < l->nfiles; i++)
		fuse_lowlevel_notify_inval_inode(fs->se, l->files[i], 0, 0);
	free(l->ino);
	free(l->name);
	free(l->files);
}

static bool same_paths(const struct pol_ver *a, const struct pol_ver *b)
{
	const char *x, *y;

	for (int k = POLICY_FS_READONLY; k <= POLICY_FS_HIDDEN; k++) {
		x = a && a->p->text[k] ? a->p->text[k] : "";
		y = b && b->p->text[k] ? b->p->text[k] : "";
		if (strcmp(x, y))
			return false;
	}
	return true;
}

/* Under fs->lock: bytes of files unlinked while in use (not in the
 * tree, still counted: node.c subtracts them when they are freed). */
static uint64_t held_bytes(struct fs *fs)
{
	uint64_t sum = 0;

	for (uint64_t i = FUSE_ROOT_ID; i < fs->next_nodeid; i++) {
		struct node *nd = fs_node_get(fs, i);

		if (nd && nd->quota_held)
			sum += nd->a.size;
	}
	return sum;
}

int fs_pol_reload(struct fs *fs, bool invalidate)
{
	struct fs_pol *fp = fs->pol;
	struct inval_list l = {0};
	struct pol_ver *v, *old;
	uint64_t used = 0;
	bool changed;
	int err = version_load(fs, &v, &used);

	if (err)
		return err;
	fs_lock(fs);
	v->older = fp->all;
	fp->all = v;
	old = fp->cur;
	fp->cur = has_fs_rules(v->p) ? v : NULL;
	changed = !same_paths(old, fp->cur);
	used += held_bytes(fs);
	atomic_store(&fp->used, (long long)used);
	atomic_fetch_add(&fp->epoch, 1);
	atomic_store(&fs->pol_on, fp->cur != NULL);
	if (invalidate && changed)
		err = inval_collect(fs, &l);
	fs_unlock(fs);
	if (!err && invalidate && changed)
		err = inval_links(fs, &l);
	inval_send(fs, &l);
	return err;
}

/* ---- denials ----------------------------------------------------- */

static pid_t req_pid(fuse_req_t req)
{
	return req ? fuse_req_ctx(req)->pid : 0;
}

int fs_pol_flush(struct fs *fs)
{
	return fs_audit_flush(fs);
}

void fs_pol_release(struct fs *fs)
{
	struct fs_pol *fp = fs->pol;
	struct pol_ver *v, *next;

	fs_audit_release(fs);
	if (!fp)
		return;
	for (v = fp->all; v; v = next) {
		next = v->older;
		policy_state_release(&v->root);
		policy_free(v->p);
		free(v);
	}
	free(fp);
	fs->pol = NULL;
}

/* ---- match states of nodes (under fs->lock) -------------------------- */

static const struct policy_state no_state;

void fs_pol_node_free(struct node *n)
{
	if (n->pol_st) {
		policy_state_release(n->pol_st);
		free(n->pol_st);
		n->pol_st = NULL;
	}
}

/* Give chain[0..nc) (each the parent of the one before) their states,
 * from the last one's parent's state ps down. */
static int dir_state_down(struct pol_ver *v, uint64_t epoch,
			  struct node **chain, size_t nc,
			  const struct policy_state **ps)
{
	while (nc--) {
		struct node *n = chain[nc];
		struct policy_state *s =
		    n->pol_st ? n->pol_st : calloc(1, sizeof(*s));
		int err;

		if (!s)
			return -ENOMEM;
		policy_state_release(s);
		err = policy_state_step(v->p, *ps, n->name, strlen(n->name), s);
		if (err) {
			free(s);
			n->pol_st = NULL;
			return err;
		}
		n->pol_st = s;
		n->pol_epoch = epoch;
		n->pol_rules = s->covered;
		*ps = s;
	}
	return 0;
}

/* Directory node n's state; a node away from the tree (unlinked) has
 * none. The ancestors without a current state are climbed into a heap
 * array, not recursed into (any depth). -ENOMEM. */
static int dir_state(struct fs *fs, struct pol_ver *v, struct node *n,
		     const struct policy_state **out)
{
	uint64_t epoch = atomic_load(&fs->pol->epoch);
	const struct policy_state *ps;
	struct node **chain = NULL;
	size_t nc = 0, cap = 0;
	int err;

	for (;;) {
		struct node *p;

		if (n->nodeid == FUSE_ROOT_ID) {
			ps = &v->root;
			break;
		}
		if (n->pol_st && n->pol_epoch == epoch) {
			ps = n->pol_st;
			break;
		}
		p = n->unlinked ? NULL : fs_node_get(fs, n->parent);
		if (!p) {
			ps = &no_state;
			break;
		}
		if (nc == cap) {
			void *c = realloc(chain, (cap ? 2 * cap : 16) *
						     sizeof(*chain));

			if (!c) {
				free(chain);
				return -ENOMEM;
			}
			chain = c;
			cap = cap ? 2 * cap : 16;
		}
		chain[nc++] = n;
		n = p;
	}
	err = dir_state_down(v, epoch, chain, nc, &ps);
	free(chain);
	if (!err)
		*out = ps;
	return err;
}

/* Rules covering node n by its current path. */
static unsigned path_rules(struct fs *fs, struct pol_ver *v, struct node *n)
{
	const struct policy_state *ps;
	struct node *p;

	if (S_ISDIR(n->mode))
		return dir_state(fs, v, n, &ps) ? 0 : ps->covered;
	p = n->unlinked ? NULL : fs_node_get(fs, n->parent);
	if (!p || dir_state(fs, v, p, &ps))
		return 0;
	return policy_name_rules(v->p, ps, n->name, strlen(n->name));
}

/* "a/b/name" of dir + name, for the audit log. */
static void path_of(struct fs *fs, struct node *dir, const char *name,
		    char *buf, size_t len)
{
	const char **names = NULL;
	size_t depth = 0, at = 0;

	buf[0] = '\0';
	if (dir && fs_node_path(fs, dir, true, &names, &depth) == 0) {
		for (size_t i = 0; i < depth && at < len; i++)
			at += (size_t)snprintf(buf + at, len - at, "%s%s",
					       i ? "/" : "", names[i]);
		free(names);
	}
	if (name && at < len)
		snprintf(buf + at, len - at, "%s%s", at ? "/" : "", name);
}

/* ---- hard links: every name of an inode ---------------------------- */

struct scan {
	const struct policy *p;
	struct store_txn *t;
	uint64_t fid; /* the inode whose names count */
	bool all;     /* or: every name (a subtree's rules) */
	unsigned rules;
};

/* One directory of a scan: its entries, the next one, its state (owned
 * but for the first frame's). */
struct scan_frame {
	struct store_dirlist l;
	size_t i;
	struct policy_state st;
};

static void scan_frame_release(struct scan_frame *f, bool own)
{
	store_dirlist_release(&f->l);
	if (own)
		policy_state_release(&f->st);
}

/* Add to sc->rules what the names under tab (in state s) match: one
 * listing per level on a heap stack (any depth). */
static int scan_dir(struct scan *sc, uint64_t tab, const struct policy_state *s)
{
	struct scan_frame *fr = calloc(16, sizeof(*fr));
	size_t nfr = 1, cap = 16;
	int err;

	if (!fr)
		return -ENOMEM;
	fr[0].st = *s;
	err = store_dir_list(sc->t, tab, &fr[0].l);
	while (!err && nfr) {
		struct scan_frame *f = &fr[nfr - 1];
		const struct store_dirlist_ent *d;
		struct policy_state sub;

		if (f->i == f->l.n) {
			scan_frame_release(f, nfr-- > 1);
			continue;
		}
		d = &f->l.v[f->i++];
		if (d->name[0] == '/')
			continue; /* links and state tables */
		if (sc->all ||
		    (d->e.payload == STORE_P_HARDLINK && d->e.ref == sc->fid))
			sc->rules |=
			    policy_name_rules(sc->p, &f->st, d->name, d->nlen);
		if (d->e.payload != STORE_P_TAB)
			continue;
		err = policy_state_step(sc->p, &f->st, d->name, d->nlen, &sub);
		if (err)
			break;
		/* all: nothing below can match once no state lives */
		if (sc->all && !sub.n) {
			policy_state_release(&sub);
			continue;
		}
		if (nfr == cap) {
			void *p = realloc(fr, 2 * cap * sizeof(*fr));

			if (!p) {
				policy_state_release(&sub);
				err = -ENOMEM;
				break;
			}
			fr = p;
			cap *= 2;
		}
		memset(&fr[nfr], 0, sizeof(fr[nfr]));
		fr[nfr].st = sub;
		err = store_dir_list(sc->t, d->e.ref, &fr[nfr++].l);
	}
	while (nfr) {
		nfr--;
		scan_frame_release(&fr[nfr], nfr > 0);
	}
	free(fr);
	return err;
}

/* Rules covering any name of hard-linked inode fid (a walk of the tree;
 * hard links are rare in an env). */
static int linked_rules(struct fs *fs, struct pol_ver *v, uint64_t fid,
			unsigned *out)
{
	struct scan sc = {.p = v->p, .fid = fid};
	struct store_env e;
	int err = fs_rtxn(fs, &sc.t);

	if (err)
		return err;
	err = store_env_get(sc.t, fs->opt->env, &e);
	if (!err)
		err = scan_dir(&sc, e.root, &v->root);
	fs_rtxn_done(sc.t);
	*out = sc.rules;
	return err;
}

/* Rules of node n, cached per epoch; a hard-linked inode's are those
 * of all its names. */
static unsigned node_rules(struct fs *fs, struct pol_ver **vout, struct node *n)
{
	uint64_t epoch;
	struct pol_ver *v;
	unsigned r = 0, more = 0;
	bool linked;

	fs_lock(fs);
	v = *vout = fs->pol->cur;
	epoch = atomic_load(&fs->pol->epoch);
	if (!v) {
		fs_unlock(fs);
		return 0;
	}
	if (n->pol_epoch == epoch && !S_ISDIR(n->mode)) {
		r = n->pol_rules;
		fs_unlock(fs);
		return r;
	}
	r = path_rules(fs, v, n);
	linked = n->linked && !S_ISDIR(n->mode);
	fs_unlock(fs);
	if (linked && policy_has_paths(v->p) &&
	    linked_rules(fs, v, n->fid, &more))
		more = POLICY_RULE_READONLY; /* cannot tell: refuse writes */
	r |= more;
	fs_lock(fs);
	if (!S_ISDIR(n->mode) && atomic_load(&fs->pol->epoch) == epoch) {
		n->pol_rules = r;
		n->pol_epoch = epoch;
	}
	fs_unlock(fs);
	return r;
}

/* ---- checks ----------------------------------------------------------- */

static const char *rule_of(int err)
{
	return err == -ENOENT  ? "fs.hidden"
	       : err == -EROFS ? "fs.readonly"
	       : err == -EFBIG ? "fs.max-file-size"
			       : "fs.quota";
}

/* Audit op refused with err on dir/name (or node dir) by pid; err. */
static int deny_err(struct fs *fs, pid_t pid, enum fs_pol_op op, int err,
		    struct node *dir, const char *name)
{
	char path[1024];

	fs_lock(fs);
	path_of(fs, dir, name, path, sizeof(path));
	fs_unlock(fs);
	fs_audit_add(fs, pid, op_names[op], rule_of(err), path);
	return err;
}

static int deny(struct fs *fs, fuse_req_t req, enum fs_pol_op op,
		unsigned rules, struct node *dir, const char *name)
{
	return deny_err(fs, req_pid(req), op,
			(rules & POLICY_RULE_HIDDEN) ? -ENOENT : -EROFS, dir,
			name);
}

static int verdict(enum fs_pol_op op, unsigned rules)
{
	if (rules & POLICY_RULE_HIDDEN)
		return -ENOENT;
	if ((rules & POLICY_RULE_READONLY) && op_writes(op))
		return -EROFS;
	return 0;
}

int fs_pol_name(struct fs *fs, fuse_req_t req, fuse_ino_t dir, const char *name,
		enum fs_pol_op op)
{
	const struct policy_state *ps;
	struct pol_ver *v;
	struct node *d;
	unsigned rules = 0;

	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	fs_lock(fs);
	v = fs->pol->cur;
	d = fs_node_get(fs, dir);
	if (v && d && !dir_state(fs, v, d, &ps))
		rules = policy_name_rules(v->p, ps, name, strlen(name));
	fs_unlock(fs);
	if (!verdict(op, rules))
		return 0;
	return deny(fs, req, op, rules, d, name);
}

int fs_pol_node(struct fs *fs, fuse_req_t req, struct node *n,
		enum fs_pol_op op)
{
	struct pol_ver *v;
	unsigned rules;

	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	rules = node_rules(fs, &v, n);
	if (!verdict(op, rules))
		return 0;
	return deny(fs, req, op, rules, n, NULL);
}

/* Under fs->lock: the env grows by delta bytes (or shrinks), -EDQUOT
 * past the quota. */
static int quota_apply(struct fs *fs, const struct policy *p, long long delta)
{
	struct fs_pol *fp = fs->pol;

	if (delta > 0 && p->quota &&
	    atomic_load(&fp->used) + delta > (long long)p->quota)
		return -EDQUOT;
	atomic_fetch_add(&fp->used, delta);
	return 0;
}

/* Under fs->lock: a size from old_size to new_size, checked (-EFBIG,
 * -EDQUOT) and accounted. */
static int size_apply(struct fs *fs, uint64_t old_size, uint64_t new_size)
{
	struct fs_pol *fp = fs->pol;
	const struct policy *p = fp->cur ? fp->cur->p : NULL;
	long long delta = (long long)new_size - (long long)old_size;

	if (!p)
		return 0;
	if (p->max_file_size && new_size > p->max_file_size &&
	    new_size > old_size)
		return -EFBIG;
	return quota_apply(fs, p, delta);
}

int fs_pol_entry_new(struct fs *fs, fuse_req_t req, fuse_ino_t parent,
		     const char *name, uint64_t cost, enum fs_pol_op op)
{
	struct fs_pol *fp = fs->pol;
	int err = 0;

	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	fs_lock(fs);
	if (fp->cur)
		err = quota_apply(fs, fp->cur->p, (long long)cost);
	fs_unlock(fs);
	return err ? deny_err(fs, req_pid(req), op, err,
			      fs_node_find(fs, parent), name)
		   : 0;
}

int fs_pol_size(struct fs *fs, fuse_req_t req, struct node *n,
		uint64_t old_size, uint64_t new_size, enum fs_pol_op op)
{
	int err;

	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	fs_lock(fs);
	err = size_apply(fs, old_size, new_size);
	fs_unlock(fs);
	return err ? deny_err(fs, req_pid(req), op, err, n, NULL) : 0;
}

void fs_pol_account(struct fs *fs, long long delta)
{
	if (atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		atomic_fetch_add(&fs->pol->used, delta);
}

void fs_pol_moved(struct fs *fs)
{
	if (atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		atomic_fetch_add(&fs->pol->epoch, 1);
}

/* A directory leaving its place takes its paths along: refused when a
 * path below it is covered by a rule now (it would escape it). */
static int subtree_rules(struct fs *fs, struct pol_ver *v,
			 const struct policy_state *s, fuse_ino_t parent,
			 const char *name, unsigned *out)
{
	struct scan sc = {.p = v->p, .all = true};
	struct store_entry e;
	struct node *p = fs_node_find(fs, parent);
	uint64_t tab;
	int err;

	*out = 0;
	if (!p)
		return -ESTALE;
	err = fs_rtxn(fs, &sc.t);
	if (err)
		return err;
	err = fs_dir_tab(fs, sc.t, p, &tab);
	if (!err)
		err = store_dir_get(sc.t, tab, name, strlen(name), &e);
	if (!err && e.payload == STORE_P_TAB)
		err = scan_dir(&sc, e.ref, s);
	fs_rtxn_done(sc.t);
	*out = sc.rules;
	return err == -ENOENT ? 0 : err;
}

int fs_pol_rename(struct fs *fs, fuse_req_t req, fuse_ino_t parent,
		  const char *name, fuse_ino_t newparent, const char *newname)
{
	const struct policy_state *ps;
	struct policy_state s = {0};
	struct pol_ver *v;
	struct node *d;
	unsigned below = 0;
	int err;

	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	err = fs_pol_name(fs, req, parent, name, FS_POL_RENAME);
	if (!err)
		err = fs_pol_name(fs, req, newparent, newname, FS_POL_RENAME);
	if (err)
		return err;
	fs_lock(fs);
	v = fs->pol->cur;
	d = fs_node_get(fs, parent);
	err = v && d ? dir_state(fs, v, d, &ps) : -ESTALE;
	if (!err)
		err = policy_state_step(v->p, ps, name, strlen(name), &s);
	fs_unlock(fs);
	if (err)
		return err == -ESTALE ? 0 : err;
	if (s.below)
		err = subtree_rules(fs, v, &s, parent, name, &below);
	policy_state_release(&s);
	if (err)
		return err;
	if (!below)
		return 0;
	err =
	    deny(fs, req, FS_POL_RENAME, below, fs_node_find(fs, parent), name);
	/* the directory itself exists: say so, but refuse */
	return err == -ENOENT ? -EACCES : err;
}

/* ---- listings ------------------------------------------------------- */

struct fs_pol_dir {
	struct pol_ver *v;
	struct policy_state s;
};

int fs_pol_dir_get(struct fs *fs, struct node *dir, struct fs_pol_dir **out)
{
	const struct policy_state *ps;
	struct fs_pol_dir *d;
	int err;

	*out = NULL;
	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	fs_lock(fs);
	d->v = fs->pol->cur;
	err = d->v ? dir_state(fs, d->v, dir, &ps) : -ENOENT;
	if (!err && (ps->covered & POLICY_RULE_HIDDEN))
		err = -ENOENT; /* nothing in it may be listed */
	if (!err && !(ps->below & POLICY_RULE_HIDDEN))
		err = 1; /* nothing below can be hidden */
	if (!err)	 /* only what can hide a name here */
		err =
		    policy_state_final(d->v->p, ps, POLICY_RULE_HIDDEN, &d->s);
	if (!err && !d->s.n) {
		policy_state_release(&d->s);
		err = 1; /* no name in it can be hidden */
	}
	fs_unlock(fs);
	if (err) {
		free(d);
		return err > 0 || !atomic_load(&fs->pol_on) ? 0 : err;
	}
	*out = d;
	return 0;
}

bool fs_pol_dir_hides(struct fs_pol_dir *d, const char *name)
{
	return policy_name_rules(d->v->p, &d->s, name, strlen(name)) &
	       POLICY_RULE_HIDDEN;
}

void fs_pol_dir_put(struct fs_pol_dir *d)
{
	if (d)
		policy_state_release(&d->s);
	free(d);
}

/* ---- statfs: the quota is the filesystem's size ---------------------- */

void fs_pol_statfs(struct fs *fs, struct statvfs *sv)
{
	unsigned long long quota = 0, used, bs = sv->f_frsize;

	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed) || !bs)
		return;
	fs_lock(fs);
	if (fs->pol->cur)
		quota = fs->pol->cur->p->quota;
	fs_unlock(fs);
	if (!quota)
		return;
	used = (unsigned long long)atomic_load(&fs->pol->used);
	sv->f_blocks = quota / bs;
	sv->f_bfree = sv->f_bavail = used >= quota ? 0 : (quota - used) / bs;
}

/* ---- conveniences for the handlers ----------------------------------- */

int fs_pol_ino(struct fs *fs, fuse_req_t req, fuse_ino_t ino, enum fs_pol_op op)
{
	struct node *n;

	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	n = fs_node_find(fs, ino);
	return n ? fs_pol_node(fs, req, n, op) : 0;
}

int fs_pol_entry(struct fs *fs, fuse_req_t req, fuse_ino_t ino,
		 enum fs_pol_op op)
{
	struct node *n;
	bool linked;
	int err;

	if (!ino || !atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	fs_lock(fs);
	n = fs_node_get(fs, ino);
	linked = n && n->linked;
	fs_unlock(fs);
	if (!linked)
		return 0;
	err = fs_pol_node(fs, req, n, op);
	if (err) {
		fs_lock(fs);
		fs_node_forget(fs, n, 1); /* the lookup is not replied */
		fs_unlock(fs);
	}
	return err;
}

int fs_pol_falloc(struct fs *fs, fuse_req_t req, struct node *n, uint64_t end,
		  bool keep)
{
	const struct policy *p;
	struct pol_ver *v;
	uint64_t old;
	int err;

	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	err = verdict(FS_POL_WRITE, node_rules(fs, &v, n));
	fs_lock(fs);
	old = n->loaded ? n->a.size : 0;
	p = fs->pol->cur ? fs->pol->cur->p : NULL;
	if (!err && !keep)
		err = size_apply(fs, old, end > old ? end : old);
	else if (!err && p && p->quota && end > old &&
		 atomic_load(&fs->pol->used) + (long long)(end - old) >
		     (long long)p->quota)
		err = -EDQUOT;
	fs_unlock(fs);
	return err ? deny_err(fs, req_pid(req), FS_POL_WRITE, err, n, NULL) : 0;
}

/* A refused writeback: the pid the kernel did not send is looked for
 * (the opener's, else the file's mapper, by the worker), and the refused
 * bytes must leave the page cache, which only the worker may ask. */
static int deny_writeback(struct fs *fs, struct node *n, pid_t pid, int err)
{
	char path[1024];

	fs_lock(fs);
	path_of(fs, n, NULL, path, sizeof(path));
	fs_unlock(fs);
	fs_audit_writeback(fs, n, pid, rule_of(err), path);
	return err;
}

int fs_pol_write(struct fs *fs, fuse_req_t req, struct node *n, uint64_t off,
		 size_t size, const struct fs_pol_writer *w)
{
	uint64_t old, end = off + size;
	struct pol_ver *v;
	pid_t pid;
	int err;

	if (!atomic_load_explicit(&fs->pol_on, memory_order_relaxed))
		return 0;
	pid = req_pid(req) ? req_pid(req) : w->opener;
	err = verdict(FS_POL_WRITE, node_rules(fs, &v, n));
	fs_lock(fs);
	old = n->loaded ? n->a.size : 0;
	if (!err)
		err = size_apply(fs, old, end > old ? end : old);
	fs_unlock(fs);
	if (!err)
		return 0;
	if (w->writeback)
		return deny_writeback(fs, n, pid, err);
	return deny_err(fs, pid, FS_POL_WRITE, err, n, NULL);
}
