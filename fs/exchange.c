/* SPDX-License-Identifier: MIT */
/*
 * exchange.c - renameat2(RENAME_EXCHANGE): two names swap their entries
 * in one write txn (store_dir_exchange), files and directories alike, as
 * ext4 does: both must exist, both inodes' ctime and both directories'
 * mtime/ctime change, the nodes take each other's names before wlock goes
 * (a seal finds a node's entry by its path).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "change.h"

/* Is directory fid the node d or one of its ancestors? Under fs->lock.
 * The kernel refuses such an exchange itself; this keeps a stale request
 * from ever making a cycle in the store. */
static bool is_ancestor(struct fs *fs, uint64_t fid, struct node *d)
{
	while (d) {
		if (d->fid == fid)
			return true;
		d = d->parent ? fs_node_get(fs, d->parent) : NULL;
	}
	return false;
}

/* Both entries of an exchange, their inline bytes copied out of LMDB. */
struct xpair {
	struct store_entry a, b;
	unsigned char ia[STORE_ENTRY_INLINE_MAX], ib[STORE_ENTRY_INLINE_MAX];
};

static int xpair_get(struct change *c, uint64_t tab_a, const char *name_a,
		     uint64_t tab_b, const char *name_b, struct xpair *x)
{
	int err = store_dir_get(c->t, tab_a, name_a, strlen(name_a), &x->a);

	if (!err && x->a.inline_len) {
		memcpy(x->ia, x->a.inline_data, x->a.inline_len);
		x->a.inline_data = x->ia;
	}
	if (!err)
		err = store_dir_get(c->t, tab_b, name_b, strlen(name_b), &x->b);
	if (!err && x->b.inline_len) {
		memcpy(x->ib, x->b.inline_data, x->b.inline_len);
		x->b.inline_data = x->ib;
	}
	return err;
}

/* A swapped directory's ctime is in its table's header. */
static int swapped_ctime(struct fs *fs, struct change *c, struct node *dir,
			 const char *name, const struct store_entry *e,
			 int64_t now)
{
	return e->payload == STORE_P_TAB
		   ? fs_dir_times(fs, c, dir, name, now, 0)
		   : 0;
}

/* After the commit, under wlock: each node takes the other's name. */
static int rename_nodes(struct fs *fs, struct xpair *x, struct node *p,
			const char *name, struct node *np, const char *newname,
			int64_t now)
{
	struct node *an, *bn;
	int err = 0;

	fs_lock(fs);
	an = fs_node_by_fid(fs, x->a.a.fid);
	bn = fs_node_by_fid(fs, x->b.a.fid);
	if (an && !an->unlinked)
		err = fs_node_rename(fs, an, np->nodeid, newname);
	if (bn && !bn->unlinked && !err)
		err = fs_node_rename(fs, bn, p->nodeid, name);
	if (an && an->loaded)
		an->a.ctime_ns = now;
	if (bn && bn->loaded)
		bn->a.ctime_ns = now;
	fs->rename_seq++;
	fs_unlock(fs);
	return err;
}

int fs_exchange(struct fs *fs, struct node *p, const char *name,
		struct node *np, const char *newname)
{
	struct fs_dir2 d2;
	struct xpair x;
	struct change c;
	int64_t now = fs_now_ns();
	int err;

	err = fs_change_begin_two(fs, p, np, &c, &d2);
	if (err)
		return err;
	err = xpair_get(&c, c.tab, name, d2.tab, newname, &x);
	if (!err && x.a.a.fid == x.b.a.fid)
		goto out; /* two names of one inode: nothing to do */
	fs_lock(fs);
	if (!err &&
	    ((x.a.payload == STORE_P_TAB && is_ancestor(fs, x.a.a.fid, np)) ||
	     (x.b.payload == STORE_P_TAB && is_ancestor(fs, x.b.a.fid, p))))
		err = -EINVAL;
	fs_unlock(fs);
	if (!err)
		err = fs_flags_dir(&c, c.tab, true)
			  ?: fs_flags_dir(&c, d2.tab, true);
	if (!err)
		err = fs_flags_victim(&c, &x.a) ?: fs_flags_victim(&c, &x.b);
	x.a.a.ctime_ns = x.b.a.ctime_ns = now;
	if (!err)
		err = store_dir_exchange(c.t, c.tab, name, &x.a, d2.tab,
					 newname, &x.b);
	if (!err)
		err = swapped_ctime(fs, &c, np, newname, &x.a, now);
	if (!err)
		err = swapped_ctime(fs, &c, p, name, &x.b, now);
	if (!err)
		err = fs_change_moved(fs, &c, &d2, name, newname);
	if (err)
		goto out;
	free(d2.names);
	fs_lock(fs);
	fs->rename_seq++; /* odd: committed, nodes not yet renamed */
	fs_unlock(fs);
	err = fs_change_commit(fs, &c, 0);
	if (!err) {
		err = rename_nodes(fs, &x, p, name, np, newname, now);
	} else {
		fs_lock(fs);
		fs->rename_seq++;
		fs_unlock(fs);
	}
	fs_change_unlock(fs);
	return err;
out:
	free(d2.names);
	return fs_change_end(fs, &c, err);
}
