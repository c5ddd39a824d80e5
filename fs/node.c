/* SPDX-License-Identifier: MIT */
/*
 * node.c - the kernel's view: node ids are handed out monotonically and
 * never reused (generation 0 stays valid), looked up by persistent file
 * id so one file has one node. A node lives while the kernel counts it
 * (nlookup), a handle has it open, it holds writes not yet sealed (or a
 * package file waits for its writer), or a node below it lives (nkids):
 * the kernel forgets a directory once it forgot what is in it, but a file
 * kept for its writes still needs its directories' names to be sealed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

static size_t fid_slot(const struct fs *fs, uint64_t fid)
{
	fid ^= fid >> 31;
	fid *= 0x9e3779b97f4a7c15ull;
	return (size_t)(fid >> 17) & (fs->fidcap - 1);
}

int fs_nodes_init(struct fs *fs, uint64_t root_fid)
{
	struct node *root;

	fs->fidcap = 1u << 16;
	fs->fidtab = calloc(fs->fidcap, sizeof(*fs->fidtab));
	fs->nnodes = 1024;
	fs->nodes = calloc(fs->nnodes, sizeof(*fs->nodes));
	root = calloc(1, sizeof(*root));
	if (!fs->fidtab || !fs->nodes || !root) {
		free(root);
		return -ENOMEM;
	}
	root->nodeid = FUSE_ROOT_ID;
	root->sfd = -1;
	root->fid = root_fid;
	root->mode = S_IFDIR;
	root->nlookup = 1;
	root->name = strdup("");
	fs->nodes[FUSE_ROOT_ID] = root;
	fs->next_nodeid = FUSE_ROOT_ID + 1;
	fs->fidtab[fid_slot(fs, root_fid)] = root;
	return root->name ? 0 : -ENOMEM;
}

static void node_free(struct fs *fs, struct node *n)
{
	FS_ASSERT_LOCKED(fs);
	fs_dirlists_drop(n);
	free(n->name);
	fs_content_drop(fs, n);
	fs_pol_node_free(n);
	free(n);
}

void fs_nodes_release(struct fs *fs)
{
	/* no request runs any more; the lock is for node_free's contract */
	fs_lock(fs);
	for (uint64_t i = 0; i < fs->next_nodeid && i < fs->nnodes; i++)
		if (fs->nodes[i])
			node_free(fs, fs->nodes[i]);
	fs_unlock(fs);
	free(fs->nodes);
	free(fs->fidtab);
}

struct node *fs_node_get(struct fs *fs, uint64_t nodeid)
{
	return nodeid < fs->nnodes ? fs->nodes[nodeid] : NULL;
}

struct node *fs_node_find(struct fs *fs, uint64_t nodeid)
{
	struct node *n;

	fs_lock(fs);
	n = fs_node_get(fs, nodeid);
	fs_unlock(fs);
	return n;
}

struct node *fs_node_by_fid(struct fs *fs, uint64_t fid)
{
	struct node *n = fs->fidtab[fid_slot(fs, fid)];

	while (n && n->fid != fid)
		n = n->fid_next;
	return n;
}

static void kid_add(struct fs *fs, uint64_t parent)
{
	struct node *p = parent ? fs_node_get(fs, parent) : NULL;

	if (p)
		p->nkids++;
}

static void fid_unlink(struct fs *fs, struct node *n)
{
	struct node **p = &fs->fidtab[fid_slot(fs, n->fid)];

	while (*p && *p != n)
		p = &(*p)->fid_next;
	if (*p)
		*p = n->fid_next;
}

int fs_node_ref(struct fs *fs, uint64_t fid, uint32_t mode, uint64_t parent,
		const char *name, struct node **out)
{
	struct node *n = fs_node_by_fid(fs, fid);
	size_t slot;

	FS_ASSERT_LOCKED(fs);
	if (n && !n->unlinked) {
		/* a file kept for its unsealed writes after the kernel forgot
		 * it may be known again by a new parent node */
		if (!n->linked && !S_ISDIR(n->mode) &&
		    (n->parent != parent || strcmp(n->name, name)) &&
		    fs_node_rename(fs, n, parent, name))
			return -ENOMEM;
		n->nlookup++;
		*out = n;
		return 0;
	}
	if (fs->next_nodeid == fs->nnodes) {
		size_t cap = fs->nnodes * 2;
		struct node **p = realloc(fs->nodes, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + fs->nnodes, 0, (cap - fs->nnodes) * sizeof(*p));
		fs->nodes = p;
		fs->nnodes = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name))) {
		free(n);
		return -ENOMEM;
	}
	n->nodeid = fs->next_nodeid++;
	n->sfd = -1;
	n->fid = fid;
	n->mode = mode & S_IFMT;
	n->parent = parent;
	kid_add(fs, parent);
	n->nlookup = 1;
	fs->nodes[n->nodeid] = n;
	slot = fid_slot(fs, fid);
	n->fid_next = fs->fidtab[slot];
	fs->fidtab[slot] = n;
	*out = n;
	return 0;
}

void fs_node_detach(struct fs *fs, struct node *n)
{
	fid_unlink(fs, n);
	n->fid_next = NULL;
}

/* Free n if nobody needs it, then its parent if that was all it was
 * kept for, and so on up. */
static void node_maybe_free(struct fs *fs, struct node *n)
{
	while (n) {
		struct node *p;

		/* a forgotten file with unsealed writes (or a package file
		 * whose writer has not closed it) waits for the sealer */
		if (n->nlookup || n->nopen || n->nkids ||
		    n->nodeid == FUSE_ROOT_ID ||
		    ((n->dirty || n->pkg_pending || n->atime_pend) &&
		     !n->unlinked))
			return;
		if (n->pinned)
			fs_sealer_unpin_later(fs, n->ref);
		if (n->quota_held) /* its bytes leave the env now */
			fs_pol_account(fs, -(long long)n->a.size);
		p = n->parent ? fs_node_get(fs, n->parent) : NULL;
		fid_unlink(fs, n);
		fs->nodes[n->nodeid] = NULL;
		node_free(fs, n);
		if (p)
			p->nkids--;
		n = p;
	}
}

void fs_node_forget(struct fs *fs, struct node *n, uint64_t count)
{
	FS_ASSERT_LOCKED(fs);
	n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
	node_maybe_free(fs, n);
}

int fs_node_rename(struct fs *fs, struct node *n, uint64_t parent,
		   const char *name)
{
	char *s = name ? strdup(name) : NULL;
	struct node *old;

	FS_ASSERT_LOCKED(fs);
	if (name && !s)
		return -ENOMEM;
	if (s) {
		free(n->name);
		n->name = s;
	}
	if (parent == n->parent)
		return 0;
	old = n->parent ? fs_node_get(fs, n->parent) : NULL;
	n->parent = parent;
	kid_add(fs, parent);
	if (old) {
		old->nkids--;
		node_maybe_free(fs, old);
	}
	return 0;
}

int fs_node_path(struct fs *fs, struct node *n, bool self, const char ***out,
		 size_t *depth)
{
	struct node *p = self ? n : fs_node_get(fs, n->parent);
	const char **names;
	size_t d = 0, i;

	if (n->unlinked || (!self && !p))
		return -ENOENT;
	for (struct node *q = p; q && q->nodeid != FUSE_ROOT_ID;
	     q = fs_node_get(fs, q->parent)) {
		if (q->unlinked || !q->parent)
			return -ENOENT;
		d++;
	}
	names = malloc((d ? d : 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	i = d;
	for (struct node *q = p; q && q->nodeid != FUSE_ROOT_ID;
	     q = fs_node_get(fs, q->parent))
		names[--i] = q->name;
	*out = names;
	*depth = d;
	return 0;
}
