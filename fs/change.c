/* SPDX-License-Identifier: MIT */
/*
 * change.c - the steps every namespace change takes (contracts in
 * change.h): begin (wlock, write txn, the directory's table made
 * writable along its path, an automatic snapshot when due), the entry
 * that holds an inode (a name's own, or the links table's for a hard
 * link), dropping a name (detaching its node, pinning an open file's
 * blob, quota), and commit/unlock. Locks: fs->wlock for the whole
 * change, fs->lock briefly inside for node fields.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "change.h"
#include "fs_xattr.h"

int fs_inode_slot(struct change *c, uint64_t tab, const char *name,
		  struct store_entry *e, unsigned char *inl)
{
	int err = store_dir_get(c->t, tab, name, strlen(name), e);

	if (err)
		return err;
	c->slot_tab = tab;
	c->slot_linked = e->payload == STORE_P_HARDLINK;
	snprintf(c->slot, sizeof(c->slot), "%s", name);
	if (c->slot_linked) {
		err = store_env_links_writable(c->t, &c->e, &c->slot_tab);
		store_link_key(e->ref, c->slot);
		if (!err)
			err = store_dir_get(c->t, c->slot_tab, c->slot,
					    STORE_LINK_KEY_LEN, e);
		if (err == -ENOENT)
			err = -EIO;
		if (err)
			return err;
	}
	if (e->inline_len) {
		memcpy(inl, e->inline_data, e->inline_len);
		e->inline_data = inl;
	}
	return 0;
}

int fs_change_begin(struct fs *fs, struct node *dir, struct change *c)
{
	const char **names = NULL;
	size_t depth;
	int err;

	c->fs = fs;
	pthread_mutex_lock(&fs->wlock);
	err = fs_wtxn(fs, &c->t, &c->e);
	if (err)
		goto out_unlock;
	fs_lock(fs);
	err = fs_node_path(fs, dir, true, &names, &depth);
	fs_unlock(fs);
	if (!err)
		err = fs_auto_snapshot(fs, c->t, &c->e, names, depth);
	if (!err)
		err =
		    store_env_dir_writable(c->t, &c->e, names, depth, &c->tab);
	c->names = names;
	c->depth = depth;
	if (!err)
		return 0;
	free(names);
	store_txn_abort(c->t);
out_unlock:
	pthread_mutex_unlock(&fs->wlock);
	return err == -ENOTDIR ? -ENOENT : err;
}

int fs_change_begin_two(struct fs *fs, struct node *p, struct node *np,
			struct change *c, struct fs_dir2 *d2)
{
	int err = fs_change_begin(fs, p, c);

	if (err)
		return err;
	d2->names = NULL;
	fs_lock(fs);
	err = fs_node_path(fs, np, true, &d2->names, &d2->depth);
	fs_unlock(fs);
	if (!err)
		err = store_env_dir_writable(c->t, &c->e, d2->names, d2->depth,
					     &d2->tab);
	if (!err)
		return 0;
	free(d2->names);
	d2->names = NULL;
	return fs_change_end(fs, c, err);
}

int fs_change_moved(struct fs *fs, struct change *c, const struct fs_dir2 *d2,
		    const char *name, const char *newname)
{
	int err = fs_touch_dir(c->t, c->tab);

	if (!err && d2->tab != c->tab)
		err = fs_touch_dir(c->t, d2->tab);
	if (!err)
		err = fs_pkg_changed(fs, c->t, &c->e, c->names, c->depth, name);
	if (!err)
		err = fs_pkg_changed(fs, c->t, &c->e, d2->names, d2->depth,
				     newname);
	return err;
}

int fs_change_begin_name(struct fs *fs, struct node *dir, const char *name,
			 struct change *c)
{
	struct store_entry old;
	int err = fs_change_begin(fs, dir, c);

	if (err)
		return err;
	err = store_dir_get(c->t, c->tab, name, strlen(name), &old);
	if (!err)
		err = -EEXIST;
	else if (err == -ENOENT)
		err = fs_flags_dir(c, c->tab, false);
	return err ? fs_change_end(fs, c, err) : 0;
}

int fs_change_commit(struct fs *fs, struct change *c, int err)
{
	free(c->names);
	c->names = NULL;
	if (err)
		store_txn_abort(c->t);
	else
		err = store_txn_commit(c->t);
	return err;
}

void fs_change_unlock(struct fs *fs)
{
	pthread_mutex_unlock(&fs->wlock);
}

int fs_change_end(struct fs *fs, struct change *c, int err)
{
	err = fs_change_commit(fs, c, err);
	fs_change_unlock(fs);
	return err;
}

/* A directory's mtime/ctime move forward on every change, by at least
 * 1 us: CPython and the kernel's readdir cache compare them. */
int fs_touch_dir(struct store_txn *t, uint64_t tab)
{
	struct store_dir d;
	int64_t now = fs_now_ns();
	int err = store_dir_stat(t, tab, &d);

	if (err)
		return err;
	if (now < d.a.mtime_ns + 1000)
		now = d.a.mtime_ns + 1000;
	d.a.mtime_ns = d.a.ctime_ns = now;
	return store_dir_set_attr(t, tab, &d.a);
}

int fs_check_name(const char *name)
{
	size_t n = strlen(name);

	if (n > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	return n ? 0 : -EINVAL;
}

/* A name is going away: an open node keeps its content (pinned). */
static int detach_node(struct fs *fs, struct store_txn *t,
		       const struct store_entry *e)
{
	struct node *n;
	uint64_t size;
	bool held;
	int err = 0;

	struct store_dir d;

	fs_lock(fs);
	n = fs_node_by_fid(fs, e->a.fid);
	if (n && S_ISDIR(n->mode) && e->payload == STORE_P_TAB &&
	    !store_dir_stat(t, e->ref, &d)) {
		/* an open directory still answers fstat, with nlink 0 */
		n->a = d.a;
		n->a.ctime_ns = fs_now_ns();
		n->loaded = true;
	} else if (n && !S_ISDIR(n->mode)) {
		unsigned char *copy = NULL;

		if (!n->loaded && e->payload == STORE_P_INLINE &&
		    e->inline_len) {
			copy = malloc(e->inline_len);
			if (!copy)
				err = -ENOMEM;
			else
				memcpy(copy, e->inline_data, e->inline_len);
		}
		if (!n->loaded && !err) {
			n->a = e->a;
			n->payload = e->payload;
			n->ref = e->ref;
			n->loaded = true;
			/* as fs_node_load: what is not a blob is held in
			 * memory (else a write through a descriptor still
			 * open reads "blob 0": EIO) */
			if (e->payload != STORE_P_BLOB) {
				free(n->buf);
				n->buf = copy;
				n->len = n->cap = copy ? e->inline_len : 0;
				n->buffered = true;
			}
		}
		/* the kernel may still read it (no OPEN says whether a
		 * file is open): its blob outlives gc until the node goes */
		if (!err && n->payload == STORE_P_BLOB && !n->dirty &&
		    (n->nopen || n->nlookup)) {
			err = store_pin(t, n->ref);
			n->pinned = !err;
		}
		n->a.ctime_ns = fs_now_ns();
	}
	if (n) {
		n->unlinked = true;
		fs_node_rename(fs, n, 0, NULL);
	}
	size = n && n->loaded ? n->a.size : e->a.size;
	/* still in use: its bytes (and what a truncate or write does to
	 * them) count until the node is freed (node.c) */
	held = n && S_ISREG(e->a.mode) && (n->nlookup || n->nopen);
	if (held)
		n->quota_held = true;
	fs_unlock(fs);
	if (S_ISREG(e->a.mode) && !held) /* the env is smaller by the file */
		fs_pol_account(fs, -(long long)size);
	return err;
}

int fs_node_slot(struct change *c, struct node *n, struct store_entry *e,
		 unsigned char *inl)
{
	const char **names = NULL;
	size_t depth;
	uint64_t tab;
	bool linked;
	int err;

	fs_lock(c->fs); /* a lookup may set it meanwhile (fs_lookup) */
	linked = n->linked;
	fs_unlock(c->fs);
	if (linked) {
		c->slot_linked = true;
		err = store_env_links_writable(c->t, &c->e, &c->slot_tab);
		store_link_key(n->fid, c->slot);
		if (!err)
			err = store_dir_get(c->t, c->slot_tab, c->slot,
					    STORE_LINK_KEY_LEN, e);
		if (!err && e->inline_len) {
			memcpy(inl, e->inline_data, e->inline_len);
			e->inline_data = inl;
		}
		return err == -ENOENT ? -ESTALE : err;
	}
	fs_lock(c->fs);
	err = fs_node_path(c->fs, n, false, &names, &depth);
	fs_unlock(c->fs);
	if (!err)
		err = store_env_dir_writable(c->t, &c->e, names, depth, &tab);
	free(names);
	return err ? err : fs_inode_slot(c, tab, n->name, e, inl);
}

int fs_drop_name(struct fs *fs, struct change *c, uint64_t tab,
		 const char *name, const struct store_entry *e)
{
	unsigned char inl[STORE_ENTRY_INLINE_MAX];
	struct store_entry inode;
	struct node *n;
	int err;

	if (e->payload != STORE_P_HARDLINK) {
		fs_pol_account(
		    fs,
		    -(long long)(store_usage_entry_cost(e->a.mode, e->a.size) +
				 fs_xattr_bytes(c->t, e->xattr)));
		return detach_node(fs, c->t, e);
	}
	fs_pol_account(fs, -(long long)STORE_USAGE_NAME);
	err = fs_inode_slot(c, tab, name, &inode, inl);
	if (err)
		return err;
	if (inode.a.nlink <= 1) {
		fs_pol_account(fs,
			       -(long long)fs_xattr_bytes(c->t, inode.xattr));
		return detach_node(fs, c->t, &inode)
			   ?: store_dir_del(c->t, c->slot_tab, c->slot,
					    STORE_LINK_KEY_LEN);
	}
	inode.a.nlink--;
	inode.a.ctime_ns = fs_now_ns();
	fs_lock(fs);
	n = fs_node_by_fid(fs, inode.a.fid);
	if (n && n->loaded) {
		n->a.nlink = inode.a.nlink;
		n->a.ctime_ns = inode.a.ctime_ns;
	}
	fs_unlock(fs);
	return store_dir_put(c->t, c->slot_tab, c->slot, STORE_LINK_KEY_LEN,
			     &inode);
}

int fs_dir_times(struct fs *fs, struct change *c, struct node *np,
		 const char *name, int64_t ctime_ns, int64_t atime_ns)
{
	const char **names = NULL, **full;
	struct store_dir d;
	uint64_t tab;
	size_t depth;
	int err;

	fs_lock(fs);
	err = fs_node_path(fs, np, true, &names, &depth);
	fs_unlock(fs);
	if (err)
		return err;
	full = realloc(names, (depth + 1) * sizeof(*names));
	if (!full) {
		free(names);
		return -ENOMEM;
	}
	full[depth] = name;
	err = store_env_dir_writable(c->t, &c->e, full, depth + (name ? 1 : 0),
				     &tab);
	free(full);
	if (!err)
		err = store_dir_stat(c->t, tab, &d);
	if (!err) {
		d.a.ctime_ns = ctime_ns ? ctime_ns : d.a.ctime_ns;
		d.a.atime_ns = atime_ns ? atime_ns : d.a.atime_ns;
		err = store_dir_set_attr(c->t, tab, &d.a);
	}
	return err;
}
