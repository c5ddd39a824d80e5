/* SPDX-License-Identifier: MIT */
/*
 * io.c - file content: open/create/read/write/flush/release/fsync and
 * directory listings. Written content is buffered in memory per node,
 * appended to the write log before a WRITE is answered (wlog.c: it
 * survives kill -9 of the daemon), and sealed into the store (hash,
 * dedup, compress, one write txn) when a creating handle is released,
 * on fsync, or by the sealer once the file is idle (sealer.c). OPEN and
 * FLUSH answer ENOSYS (fs_no_open): the kernel then opens and closes
 * files without a round trip, and Python's imports pay one (its isatty
 * IOCTL) instead of two per module. No fd is held per inode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

#define FS(req)	     ((struct fs *)fuse_req_userdata(req))
#define COUNT(fs, r) atomic_fetch_add(&(fs)->cnt.req[r], 1)

int fs_node_load(struct fs *fs, struct node *n)
{
	struct store_txn *t;
	struct store_entry e;
	unsigned char *copy = NULL;
	int err;

	pthread_mutex_lock(&fs->lock);
	err = n->loaded ? 1 : 0;
	pthread_mutex_unlock(&fs->lock);
	if (err)
		return 0;
	err = fs_rtxn(fs, &t);
	if (err)
		return err;
	err = fs_node_entry(fs, t, n, &e);
	if (!err && e.payload == STORE_P_INLINE && e.inline_len) {
		copy = malloc(e.inline_len);
		if (copy)
			memcpy(copy, e.inline_data, e.inline_len);
		else
			err = -ENOMEM;
	}
	fs_rtxn_done(t);
	if (err)
		return err;
	pthread_mutex_lock(&fs->lock);
	if (!n->loaded) {
		n->a = e.a;
		n->payload = e.payload;
		n->ref = e.ref;
		n->loaded = true;
		if (e.payload != STORE_P_BLOB) {
			n->buf = copy;
			n->len = n->cap = copy ? e.inline_len : 0;
			n->buffered = true;
			copy = NULL;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	free(copy);
	return 0;
}

/* Under wlog.mu and fs->lock: n's content changed at now. A clean node
 * turning dirty wakes the sealer, whatever the path (write, truncate,
 * O_TRUNC open, copy-up): every dirty file is then sealed within the
 * sealer's bound (sealer.c). */
static void mark_written_at(struct fs *fs, struct node *n, int64_t now)
{
	n->a.size = n->len;
	n->a.mtime_ns = n->a.ctime_ns = now;
	n->wlast_ns = now;
	if (!n->dirty) {
		n->dirty = true;
		n->dirty_ns = now;
		n->dgen = fs->wlog.gen; /* at most the generation of its
					   first record: conservative */
		fs_sealer_kick(fs);
	}
	n->wgen++;
}

/* Change n's content, logged first (both under wlog.mu: the log's order
 * is the order of the changes): data written at off, or with data NULL
 * a resize to off (keep: the old bytes below it; an O_TRUNC open keeps
 * none), which a replay applies in order too. *old: the size before. */
static int change_logged(struct fs *fs, struct node *n, const void *data,
			 size_t size, uint64_t off, bool keep, uint64_t *old)
{
	int64_t now = fs_now_ns();
	uint64_t at;
	int err = fs_node_load(fs, n);

	if (err)
		return err;
	pthread_mutex_lock(&fs->wlog.mu);
	err = data ? fs_wlog_write(fs, n->fid, off, data, size, now, &at)
		   : fs_wlog_truncate(fs, n->fid, off, now, &at);
	if (!err) {
		pthread_mutex_lock(&fs->lock);
		*old = n->a.size;
		err = data ? fs_content_write(fs, n, data, size, off)
			   : fs_content_resize(fs, n, off, keep);
		if (!err)
			mark_written_at(fs, n, now);
		pthread_mutex_unlock(&fs->lock);
		if (err)
			fs_wlog_cut(fs, at);
	}
	pthread_mutex_unlock(&fs->wlog.mu);
	return err;
}

int fs_node_resize(struct fs *fs, struct node *n, uint64_t size)
{
	uint64_t old;

	return change_logged(fs, n, NULL, 0, size, true, &old);
}

/* ---- sealing ---- */

/* Write node n's buffered content and attrs into its entry. */
static int seal_commit(struct fs *fs, struct node *n, const void *data,
		       size_t len, struct store_blob_prep *prep, uint64_t *blob,
		       bool *dup)
{
	struct store_txn *t;
	struct store_env env;
	struct store_entry e;
	struct store_attr cur;
	struct node *p;
	const char **names = NULL;
	char name[STORE_NAME_MAX + 1];
	size_t depth;
	uint64_t tab;
	bool writers;
	int err;

	pthread_mutex_lock(&fs->wlock);
	err = fs_wtxn(fs, &t, &env);
	if (err)
		goto out_unlock;
	pthread_mutex_lock(&fs->lock);
	/* attrs as they are now, under wlock: a chmod, utimens or link since
	 * the content was copied is not undone (only size goes with it) */
	cur = n->a;
	writers = n->nwrite > 0 || n->wopen;
	p = n->unlinked ? NULL : fs_node_get(fs, n->parent);
	n->pkg_pending = writers && p && fs_pkg_watched(p->name, n->name);
	if (n->linked && !n->unlinked) {
		store_link_key(n->fid, name);
		p = NULL;
		err = 0;
	} else {
		err = p ? fs_node_path(fs, p, true, &names, &depth) : -ENOENT;
		if (!err)
			snprintf(name, sizeof(name), "%s", n->name);
	}
	pthread_mutex_unlock(&fs->lock);
	if (!err && p)
		err = fs_auto_snapshot(fs, t, &env, names, depth);
	if (!err && !p)
		err = store_env_links_writable(t, &env, &tab);
	else if (!err)
		err = store_env_dir_writable(t, &env, names, depth, &tab);
	if (!err)
		err = store_dir_get(t, tab, name, strlen(name), &e);
	if (!err && p && e.payload == STORE_P_HARDLINK && e.ref == n->fid) {
		/* linked since n->linked was read (a link's commit comes
		 * first): the inode's entry is in the links table */
		p = NULL;
		store_link_key(n->fid, name);
		err = store_env_links_writable(t, &env, &tab);
		if (!err)
			err = store_dir_get(t, tab, name, strlen(name), &e);
	}
	if (!err && e.a.fid != n->fid)
		err = -ENOENT;
	if (err)
		goto out_abort;
	memset(&e, 0, sizeof(e));
	e.a = cur;
	e.a.size = len;
	if (prep) {
		err = store_blob_commit(t, prep, blob, dup);
		e.payload = STORE_P_BLOB;
		e.ref = *blob;
	} else if (len) {
		e.payload = STORE_P_INLINE;
		e.inline_data = data;
		e.inline_len = (uint32_t)len;
	}
	if (!err)
		err = store_dir_put(t, tab, name, strlen(name), &e);
	if (!err && p && !writers) /* a flush with writers left: later */
		err = fs_pkg_changed(fs, t, &env, names, depth, name);
	if (err)
		goto out_abort;
	free(names);
	err = store_txn_commit(t);
	pthread_mutex_unlock(&fs->wlock);
	return err;
out_abort:
	free(names);
	store_txn_abort(t);
out_unlock:
	pthread_mutex_unlock(&fs->wlock);
	return err;
}

/* Hash content (data, malloc'd, is taken over), and compress it only
 * when the store does not have it yet: a pip install or cp -a of packages other
 * envs hold mostly dedups, and zstd was most of a seal's CPU. */
static int prepare_new(struct fs *fs, void *data, size_t len,
		       struct store_blob_prep **out)
{
	struct store_txn *t;
	int known = 0, err = store_blob_prepare_lazy(data, len, out);

	if (err)
		return err;
	if (!fs_rtxn(fs, &t)) {
		known = store_blob_known(t, *out);
		fs_rtxn_done(t);
	}
	return known == 1 ? 0 : store_blob_prep_compress(*out);
}

static int seal_one(struct fs *fs, struct node *n)
{
	struct store_blob_prep *prep = NULL;
	unsigned char *copy = NULL;
	uint64_t wgen, blob = 0, upto;
	size_t len;
	bool dup = false;
	int err = 0, staged = -1;

	/* what is copied now covers every logged write before upto */
	pthread_mutex_lock(&fs->wlog.mu);
	pthread_mutex_lock(&fs->lock);
	upto = fs_wlog_pos(fs);
	if (!n->loaded || !n->dirty || n->unlinked) {
		pthread_mutex_unlock(&fs->lock);
		pthread_mutex_unlock(&fs->wlog.mu);
		return 0;
	}
	len = n->len;
	wgen = n->wgen;
	if (n->sfd >= 0) {
		/* large: hashed from the staging file, writers wait */
		staged = n->sfd;
		n->sealing = true;
	} else {
		copy = malloc(len ? len : 1);
		if (copy && len)
			memcpy(copy, n->buf, len);
	}
	pthread_mutex_unlock(&fs->lock);
	pthread_mutex_unlock(&fs->wlog.mu);
	if (staged >= 0)
		err = store_blob_prepare_fd(staged, len, &prep);
	else if (!copy)
		err = -ENOMEM;
	else if (len > STORE_INLINE_MAX) {
		err = prepare_new(fs, copy, len, &prep); /* takes copy */
		copy = NULL;
	}
	if (!err)
		err = seal_commit(fs, n, copy, len, prep, &blob, &dup);
	store_blob_prep_free(prep);
	free(copy);
	if (staged >= 0) {
		pthread_mutex_lock(&fs->lock);
		n->sealing = false;
		pthread_cond_broadcast(&fs->seal_cond);
		pthread_mutex_unlock(&fs->lock);
	}
	if (err == -ENOENT)
		return 0; /* unlinked meanwhile: the content dies with it */
	if (err)
		return err;
	/* a mark that cannot be written (a full disk) costs a replay of
	 * writes already sealed, which gives the same content */
	(void)fs_wlog_sealed(fs, n->fid, upto);
	pthread_mutex_lock(&fs->lock);
	if (n->wgen == wgen) {
		n->dirty = false;
		n->payload =
		    prep ? STORE_P_BLOB : (len ? STORE_P_INLINE : STORE_P_NONE);
		n->ref = blob;
	} else {
		n->dgen = fs_wlog_gen_of(upto); /* older ones are covered */
	}
	atomic_fetch_add(&fs->seal_seq, 1);
	pthread_mutex_unlock(&fs->lock);
	atomic_fetch_add(&fs->cnt.sealed, 1);
	if (dup)
		atomic_fetch_add(&fs->cnt.deduped, 1);
	return 0;
}

/* One seal of a node at a time: a later one copies after the earlier
 * one committed, so it never overwrites newer attrs with older ones. */
int fs_seal(struct fs *fs, struct node *n)
{
	int err;

	pthread_mutex_lock(&fs->lock);
	while (n->in_seal)
		pthread_cond_wait(&fs->seal_cond, &fs->lock);
	n->in_seal = true;
	pthread_mutex_unlock(&fs->lock);
	err = seal_one(fs, n);
	pthread_mutex_lock(&fs->lock);
	n->in_seal = false;
	pthread_cond_broadcast(&fs->seal_cond);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

int fs_seal_all(struct fs *fs)
{
	return fs_sealer_run(fs, FS_SEAL_ALL);
}

/* ---- open / create / read / write ---- */

static int do_open(fuse_req_t req, struct fs *fs, struct node *n,
		   struct fuse_file_info *fi)
{
	bool writer = (fi->flags & O_ACCMODE) != O_RDONLY;
	bool counted = !fs_no_open(fs);
	int err;

	if (S_ISDIR(n->mode))
		return -EISDIR;
	err = fs_node_load(fs, n);
	if (err)
		return err;
	if (writer && (fi->flags & O_TRUNC) && S_ISREG(n->mode)) {
		uint64_t old;

		err = change_logged(fs, n, NULL, 0, 0, false, &old);
		if (!err)
			fs_pol_account(fs, -(long long)old);
	}
	pthread_mutex_lock(&fs->lock);
	if (!err && counted) {
		n->nopen++;
		if (writer)
			n->nwrite++;
	}
	pthread_mutex_unlock(&fs->lock);
	fi->fh = (counted ? FH_COUNTED : 0) | (writer ? FH_WRITER : 0);
	if (counted) /* a writeback carries no pid: the opener's stands in */
		fi->fh |= (uint64_t)fuse_req_ctx(req)->pid << FH_PID_SHIFT;
	fi->keep_cache = 1;
	/* a reader's close has nothing to seal: no FLUSH round trip; without
	 * opens a writer's is logged and sealed after */
	fi->noflush = !writer || !counted;
	return err;
}

bool fs_no_open(struct fs *fs)
{
	int mode = atomic_load(&fs->open_mode);

	if (mode == FS_OPEN_UNDECIDED) {
		int want = fs->can_no_open && !fs->opt->serve_open &&
				   !atomic_load(&fs->pol_on)
			       ? FS_OPEN_NONE
			       : FS_OPEN_SERVED;

		atomic_compare_exchange_strong(&fs->open_mode, &mode, want);
		mode = atomic_load(&fs->open_mode);
	}
	return mode == FS_OPEN_NONE;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	int err;

	COUNT(fs, R_OPEN);
	if (fs_no_open(fs)) {
		/* the kernel opens files itself from now on: no OPEN, no
		 * RELEASE; reads and writes name the node */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	err = n ? fs_pol_node(fs, req, n,
			      (fi->flags & O_ACCMODE) != O_RDONLY
				  ? FS_POL_OPEN_WRITE
				  : FS_POL_OPEN)
		: -ESTALE;
	if (!err)
		err = do_open(req, fs, n, fi);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_open(req, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fuse_entry_param ep;
	struct node *n = NULL;
	struct stat st;
	int err;

	COUNT(fs, R_CREATE);
	err = fs_new_file(req, parent, name, mode, &n, &st);
	if (!err)
		err = do_open(req, fs, n, fi);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	memset(&ep, 0, sizeof(ep));
	ep.ino = n->nodeid;
	ep.attr = st;
	ep.attr_timeout = ep.entry_timeout = FS_TIMEOUT;
	fuse_reply_create(req, &ep, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	struct store_txn *t;
	unsigned char *buf = NULL;
	ssize_t got = 0;
	uint64_t ref = 0;
	bool from_store = false;
	int err = n ? 0 : -ESTALE;

	COUNT(fs, R_READ);
	if (!err) /* a policy set since the open applies */
		err = fs_pol_node(fs, req, n, FS_POL_READ);
	if (!err)
		err = fs_node_load(fs, n); /* no OPEN loaded it */
	if (!err)
		buf = malloc(size ? size : 1);
	if (!err && !buf)
		err = -ENOMEM;
	if (!err) {
		pthread_mutex_lock(&fs->lock);
		if (n->buffered) {
			got = fs_content_read(n, buf, size, (uint64_t)off);
			if (got < 0)
				err = (int)got;
		} else if (n->payload == STORE_P_BLOB) {
			from_store = true;
			ref = n->ref;
		}
		pthread_mutex_unlock(&fs->lock);
	}
	if (!err && from_store) {
		err = fs_rtxn(fs, &t);
		if (!err) {
			got = store_blob_read(t, ref, buf, size, (uint64_t)off);
			fs_rtxn_done(t);
			if (got < 0)
				err = (int)got;
		}
	}
	if (err) {
		fuse_reply_err(req, -err);
	} else {
		atomic_fetch_add(&fs->cnt.bytes_read, (unsigned long long)got);
		fuse_reply_buf(req, (const char *)buf, (size_t)got);
	}
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	uint64_t old;
	int err;

	struct fs_pol_writer w = {(pid_t)(fi->fh >> FH_PID_SHIFT),
				  fi->writepage};

	COUNT(fs, R_WRITE);
	err = n ? fs_pol_write(fs, req, n, (uint64_t)off, size, &w) : -ESTALE;
	if (!err)
		err =
		    change_logged(fs, n, buf, size, (uint64_t)off, true, &old);
	if (err) {
		fuse_reply_err(req, -err);
	} else {
		atomic_fetch_add(&fs->cnt.bytes_written, size);
		fuse_reply_write(req, size);
	}
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);

	COUNT(fs, R_FLUSH);
	if (fs_no_open(fs)) /* and no FLUSH: a close costs nothing */
		fuse_reply_err(req, ENOSYS);
	else
		fuse_reply_err(req, n ? -fs_seal(fs, n) : ESTALE);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	bool last;
	int err = 0;

	COUNT(fs, R_RELEASE);
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	if ((fi->fh & FH_COUNTED) && (fi->fh & FH_WRITER))
		n->nwrite--;
	last = n->nwrite == 0;
	pthread_mutex_unlock(&fs->lock);
	if (last)
		err = fs_seal(fs, n);
	if (last && !err && n->pkg_pending)
		err = fs_pkg_released(fs, n);
	pthread_mutex_lock(&fs->lock);
	if (fi->fh & FH_COUNTED)
		n->nopen--;
	if (n->nwrite == 0 && !n->dirty && n->payload == STORE_P_BLOB &&
	    n->buffered) {
		fs_content_drop(fs, n); /* sealed: reads go to the store */
	}
	fs_node_forget(fs, n, 0); /* an unlinked one's pin goes with it */
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, -err);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct node *n = fs_node_find(fs, ino);
	int err = n ? fs_seal(fs, n) : -ESTALE;

	COUNT(fs, R_FSYNC);
	if (!err)
		err = fs_durable(fs);
	fuse_reply_err(req, -err);
}

/* ---- directories: listings live on the directory's node (dirlist.c),
 * so opendir has nothing to do: it answers ENOSYS, and the kernel stops
 * sending OPENDIR and RELEASEDIR and keeps its readdir cache ---- */

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);

	COUNT(fs, R_OPENDIR);
	if (!fs_node_find(fs, ino)) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (fs->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = 1;
	fi->cache_readdir = 1;
	fuse_reply_open(req, fi);
}

/* One entry of l: index 0 is ".", 1 "..", then the names. */
static const char *dl_name(const struct dirlist *l, size_t i)
{
	return i == 0 ? "." : i == 1 ? ".." : l->names[i - 2];
}

/* Start a readdir(plus) reply: the node, a reply buffer and the
 * listing the offset names. On failure the request is answered and NULL
 * returned; otherwise the caller replies, then fs_dirlist_put. */
static char *readdir_begin(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct node **n, struct dirlist **l,
			   size_t *i)
{
	struct fs *fs = FS(req);
	char *buf = malloc(size ? size : 1);
	int err;

	COUNT(fs, R_READDIR);
	*n = fs_node_find(fs, ino);
	err = !*n ? -ESTALE : !buf ? -ENOMEM : 0;
	if (!err)
		err = fs_dirlist_get(fs, *n, (uint64_t)off, l, i);
	if (err) {
		free(buf);
		fuse_reply_err(req, -err);
		return NULL;
	}
	return buf;
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct dirlist *l = NULL;
	struct node *n;
	struct stat st;
	size_t used = 0, i = 0;
	char *buf = readdir_begin(req, ino, size, off, &n, &l, &i);

	if (!buf)
		return;
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
	fs_dirlist_put(fs, n, l, used == 0);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/* readdirplus: each entry comes with its attributes and a lookup, so a
 * listing followed by stats costs one round trip. An entry that does not
 * fit gives its lookup back. */
static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fuse_entry_param ep;
	struct dirlist *l = NULL;
	struct node *n;
	size_t used = 0, i = 0;
	int err = 0;
	char *buf = readdir_begin(req, ino, size, off, &n, &l, &i);

	if (!buf)
		return;
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
		need = fuse_add_direntry_plus(req, buf + used, size - used,
					      dl_name(l, i), &ep,
					      (off_t)fs_dirlist_off(l, i + 1));
		if (need > size - used) {
			if (ep.ino) {
				struct node *c;

				pthread_mutex_lock(&fs->lock);
				c = fs_node_get(fs, ep.ino);
				if (c)
					fs_node_forget(fs, c, 1);
				pthread_mutex_unlock(&fs->lock);
			}
			break;
		}
		used += need;
	}
	fs_dirlist_put(fs, n, l, used == 0 && !err);
	if (err && !used)
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

/* No ioctl is supported: ENOTTY, as for a regular file on ext4. Counted,
 * because Python's open() asks one (isatty) for every file it opens. */
static void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd,
		     void *arg, struct fuse_file_info *fi, unsigned flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	COUNT(FS(req), R_IOCTL);
	fuse_reply_err(req, ENOTTY);
}

void fs_ops_io(struct fuse_lowlevel_ops *ops)
{
	ops->open = op_open;
	ops->create = op_create;
	ops->read = op_read;
	ops->write = op_write;
	ops->flush = op_flush;
	ops->release = op_release;
	ops->fsync = op_fsync;
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->readdirplus = op_readdirplus;
	ops->releasedir = op_releasedir;
	ops->fsyncdir = op_fsyncdir;
	ops->ioctl = op_ioctl;
}
