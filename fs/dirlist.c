/* SPDX-License-Identifier: MIT */
/*
 * dirlist.c - directory listings for readdir without opendir. blastfs
 * answers OPENDIR with ENOSYS, so the kernel stops sending OPENDIR and
 * RELEASEDIR (two round trips per directory walked) and keeps caching
 * listings (FOPEN_CACHE_DIR is its default then). readdir is therefore
 * stateless from the kernel's side: the offset it passes back carries
 * everything. A listing is materialized when a reader starts (offset 0)
 * and kept on the directory's node under an id; each entry's offset is
 *   listing id << 32 | index of the next entry,
 * so a reader continues in the snapshot it started with, whatever
 * changes meanwhile (no entry skipped or repeated, as with a handle). A
 * listing is dropped when its reader reaches the end, when the node goes,
 * or when a node holds more than DIRLIST_MAX (the oldest goes); a reader
 * whose listing went continues by index in a fresh one (best effort, as
 * for a directory changed under a plain index).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

#define DIRLIST_MAX 4

static int listing_add(void *arg, const char *name, size_t nlen,
		       const struct store_entry *e)
{
	struct dirlist *l = arg;

	if (name[0] == '/')
		return 0; /* the root's hidden tables: not names */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *a = realloc(l->names, cap * sizeof(*l->names));

		if (!a)
			return -ENOMEM;
		l->names = a;
		if (!(a = realloc(l->fids, cap * sizeof(*l->fids))))
			return -ENOMEM;
		l->fids = a;
		if (!(a = realloc(l->modes, cap * sizeof(*l->modes))))
			return -ENOMEM;
		l->modes = a;
		l->cap = cap;
	}
	l->names[l->n] = strndup(name, nlen);
	if (!l->names[l->n])
		return -ENOMEM;
	l->fids[l->n] = e->a.fid;
	l->modes[l->n] = e->a.mode;
	l->n++;
	return 0;
}

static void listing_free(struct dirlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->fids);
	free(l->modes);
	free(l);
}

/* Drop one reference (under fs->lock). */
static void listing_unref(struct dirlist *l)
{
	if (--l->refs == 0)
		listing_free(l);
}

/* Take l off its node's list (under fs->lock). */
static void listing_detach(struct node *n, struct dirlist *l)
{
	struct dirlist **p;

	for (p = &n->lists; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			l->next = NULL;
			n->nlists--;
			listing_unref(l);
			return;
		}
}

/* Hidden names are not listed (the policy's listing filter). */
static int listing_policy(struct fs *fs, struct node *dir, struct dirlist *l)
{
	struct fs_pol_dir *d;
	size_t w = 0;
	int err = fs_pol_dir_get(fs, dir, &d);

	if (err || !d)
		return err;
	for (size_t i = 0; i < l->n; i++) {
		if (fs_pol_dir_hides(d, l->names[i])) {
			free(l->names[i]);
			continue;
		}
		l->names[w] = l->names[i];
		l->fids[w] = l->fids[i];
		l->modes[w] = l->modes[i];
		w++;
	}
	l->n = w;
	fs_pol_dir_put(d);
	return 0;
}

/* Read directory node n into a new listing (refs 0, not attached). */
static int listing_build(struct fs *fs, struct node *n, struct dirlist **out)
{
	struct dirlist *l = calloc(1, sizeof(*l));
	struct store_txn *t;
	uint64_t tab;
	int err = l ? fs_rtxn(fs, &t) : -ENOMEM;

	if (!err) {
		err = fs_dir_tab(fs, t, n, &tab);
		if (!err)
			err = store_dir_iter(t, tab, NULL, 0, listing_add, l);
		fs_rtxn_done(t);
		if (!err)
			err = listing_policy(fs, n, l);
	}
	if (err) {
		if (l)
			listing_free(l);
		return err;
	}
	*out = l;
	return 0;
}

int fs_dirlist_get(struct fs *fs, struct node *n, uint64_t off,
		   struct dirlist **out, size_t *pos)
{
	uint32_t id = (uint32_t)(off >> 32);
	struct dirlist *l = NULL, *p;
	struct node *up;
	int err;

	*pos = (size_t)(off & 0xffffffffu);
	if (off) {
		fs_lock(fs);
		for (l = n->lists; l && l->id != id; l = l->next)
			;
		if (l)
			l->refs++;
		fs_unlock(fs);
		if (l) {
			*out = l;
			return 0;
		}
		atomic_fetch_add(&fs->dirlist_lost, 1);
	}
	err = listing_build(fs, n, &l);
	if (err)
		return err;
	fs_lock(fs);
	up = fs_node_get(fs, n->parent);
	l->self = n->fid;
	l->parent = up ? up->fid : n->fid;
	l->id = ++fs->next_dirlist;
	if (l->id == 0) /* 0 is "start over": skip it */
		l->id = ++fs->next_dirlist;
	l->refs = 2; /* the node's and the reader's */
	l->next = n->lists;
	n->lists = l;
	if (++n->nlists > DIRLIST_MAX) {
		for (p = n->lists; p->next && p->next->next; p = p->next)
			;
		listing_detach(n, p->next); /* the oldest */
	}
	fs_unlock(fs);
	*out = l;
	return 0;
}

void fs_dirlist_put(struct fs *fs, struct node *n, struct dirlist *l, bool done)
{
	fs_lock(fs);
	if (done)
		listing_detach(n, l);
	listing_unref(l);
	fs_unlock(fs);
}

void fs_dirlists_drop(struct node *n)
{
	while (n->lists)
		listing_detach(n, n->lists);
}

uint64_t fs_dirlist_off(const struct dirlist *l, size_t next)
{
	return (uint64_t)l->id << 32 | (uint64_t)next;
}

/* ---- directories: listings live on the directory's node (dirlist.c),
 * so opendir has nothing to do: it answers ENOSYS, and the kernel stops
 * sending OPENDIR and RELEASEDIR and keeps its readdir cache ---- */

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	int err = !fs_node_find(fs, ino) ? -ESTALE
		  : fs->no_opendir	 ? -ENOSYS
					 : 0;

	COUNT(fs, R_OPENDIR);
	if (!err) {
		fi->fh = 0;
		fi->keep_cache = 1;
		fi->cache_readdir = 1;
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_open(req, fi);
}

/* One entry of l: index 0 is ".", 1 "..", then the names. */
static const char *dl_name(const struct dirlist *l, size_t i)
{
	return i == 0 ? "." : i == 1 ? ".." : l->names[i - 2];
}

/* Start a readdir(plus): the node, a reply buffer (*buf, size bytes,
 * the caller frees it) and the listing the offset names (the caller
 * gives it back with fs_dirlist_put). */
static int readdir_begin(struct fs *fs, fuse_ino_t ino, size_t size, off_t off,
			 char **buf, struct node **n, struct dirlist **l,
			 size_t *i)
{
	COUNT(fs, R_READDIR);
	*buf = malloc(size ? size : 1);
	*n = fs_node_find(fs, ino);
	if (!*n)
		return -ESTALE;
	if (!*buf)
		return -ENOMEM;
	if (off == 0) /* a listing read from its start */
		fs_atime_read(fs, *n);
	return fs_dirlist_get(fs, *n, (uint64_t)off, l, i);
}

/* Entries of l from index i into buf; the bytes used. */
static size_t fill_plain(fuse_req_t req, char *buf, size_t size,
			 const struct dirlist *l, size_t i)
{
	struct stat st;
	size_t used = 0;

	memset(&st, 0, sizeof(st));
	for (; i < l->n + 2; i++) {
		size_t need;

		st.st_ino = i == 0   ? l->self
			    : i == 1 ? l->parent
				     : l->fids[i - 2];
		st.st_mode = i < 2 ? S_IFDIR : l->modes[i - 2];
		need = fuse_add_direntry(req, buf + used, size - used,
					 dl_name(l, i), &st,
					 (off_t)fs_dirlist_off(l, i + 1));
		if (need > size - used)
			break;
		used += need;
	}
	return used;
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct dirlist *l = NULL;
	struct node *n = NULL;
	size_t used = 0, i = 0;
	char *buf = NULL;
	int err = readdir_begin(fs, ino, size, off, &buf, &n, &l, &i);

	if (!err) {
		used = fill_plain(req, buf, size, l, i);
		fs_dirlist_put(fs, n, l, used == 0);
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

/* Entries of l (directory ino) from index i into buf, each with its
 * lookup; *used: the bytes used. An entry that does not fit gives its
 * lookup back. An error after some entries ends the reply there. */
static int fill_plus(fuse_req_t req, fuse_ino_t ino, char *buf, size_t size,
		     const struct dirlist *l, size_t i, size_t *used)
{
	struct fs *fs = FS(req);
	struct fuse_entry_param ep;
	int err = 0;

	*used = 0;
	for (; i < l->n + 2; i++) {
		size_t need;

		memset(&ep, 0, sizeof(ep));
		if (i < 2) {
			ep.attr.st_ino = i == 0 ? l->self : l->parent;
			ep.attr.st_mode = S_IFDIR;
		} else {
			err = fs_lookup_checked(fs, req, ino, l->names[i - 2],
						FS_POL_READDIR, &ep);
			if (err == -ENOENT) { /* hidden: the name, no entry */
				memset(&ep, 0, sizeof(ep));
				ep.attr.st_ino = l->fids[i - 2];
				ep.attr.st_mode = l->modes[i - 2];
				err = 0;
			} else if (err) {
				break;
			} else if (!ep.ino) {
				continue; /* removed since the listing */
			}
		}
		need = fuse_add_direntry_plus(req, buf + *used, size - *used,
					      dl_name(l, i), &ep,
					      (off_t)fs_dirlist_off(l, i + 1));
		if (need > size - *used) {
			if (ep.ino) {
				struct node *c;

				fs_lock(fs);
				c = fs_node_get(fs, ep.ino);
				if (c)
					fs_node_forget(fs, c, 1);
				fs_unlock(fs);
			}
			break;
		}
		*used += need;
	}
	return *used ? 0 : err;
}

/* readdirplus: each entry comes with its attributes and a lookup, so a
 * listing followed by stats costs one round trip. */
static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct dirlist *l = NULL;
	struct node *n = NULL;
	size_t used = 0, i = 0;
	char *buf = NULL;
	int err = readdir_begin(fs, ino, size, off, &buf, &n, &l, &i);

	if (!err) {
		err = fill_plus(req, ino, buf, size, l, i, &used);
		fs_dirlist_put(fs, n, l, used == 0 && !err);
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

/* Only when the kernel cannot do without opendir: nothing to free. */
static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	COUNT(FS(req), R_RELEASEDIR);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	COUNT(FS(req), R_FSYNCDIR);
	fuse_reply_err(req, -fs_durable(FS(req)));
}

void fs_ops_list(struct fuse_lowlevel_ops *ops)
{
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->readdirplus = op_readdirplus;
	ops->releasedir = op_releasedir;
	ops->fsyncdir = op_fsyncdir;
}
