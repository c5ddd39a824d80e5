/* SPDX-License-Identifier: MIT */
/*
 * write.c - one change of a file's content, the first step of every
 * write path (WRITE, SETATTR size, an O_TRUNC open): load the node's
 * entry if no request did yet, append the change to the write log
 * (wlog.c) and apply it to the node's buffered content (content.c),
 * both under wlog.mu so the log's order is the order of the changes,
 * then mark the node dirty, which wakes the sealer (sealer.c) when a
 * clean node turns dirty. Locks: wlog.mu, then fs->lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"

int fs_node_load(struct fs *fs, struct node *n)
{
	struct store_txn *t;
	struct store_entry e;
	unsigned char *copy = NULL;
	int err;

	fs_lock(fs);
	err = n->loaded ? 1 : 0;
	fs_unlock(fs);
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
	fs_lock(fs);
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
	fs_unlock(fs);
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

/* One change of a file's content: data written at off, a resize to off
 * (data NULL; keep: the old bytes below it), or a fallocate (falloc). */
struct content_op {
	const void *data;
	size_t size;
	uint64_t off, len;
	bool keep, falloc;
	int mode;
};

/* Change n's content, logged first (both under wlog.mu: the log's order
 * is the order of the changes), which a replay applies in order too.
 * *old: the size before. */
static int content_op(struct fs *fs, struct node *n, const struct content_op *o,
		      uint64_t *old)
{
	int64_t now = fs_now_ns();
	uint64_t at;
	int err = fs_node_load(fs, n);

	if (err)
		return err;
	pthread_mutex_lock(&fs->wlog.mu);
	if (o->falloc)
		err = fs_wlog_falloc(fs, n->fid, o->mode, o->off, o->len, now,
				     &at);
	else if (o->data)
		err = fs_wlog_write(fs, n->fid, o->off, o->data, o->size, now,
				    &at);
	else
		err = fs_wlog_truncate(fs, n->fid, o->off, now, &at);
	if (!err) {
		fs_lock(fs);
		*old = n->a.size;
		if (o->falloc)
			err = fs_content_falloc(fs, n, o->mode, o->off, o->len);
		else if (o->data)
			err = fs_content_write(fs, n, o->data, o->size, o->off);
		else
			err = fs_content_resize(fs, n, o->off, o->keep);
		if (!err)
			mark_written_at(fs, n, now);
		fs_unlock(fs);
		if (err)
			fs_wlog_cut(fs, at);
	}
	pthread_mutex_unlock(&fs->wlog.mu);
	return err;
}

int fs_content_change(struct fs *fs, struct node *n, const void *data,
		      size_t size, uint64_t off, bool keep, uint64_t *old)
{
	struct content_op o = {
	    .data = data, .size = size, .off = off, .keep = keep};

	return content_op(fs, n, &o, old);
}

int fs_content_falloc_change(struct fs *fs, struct node *n, int mode,
			     uint64_t off, uint64_t len, uint64_t *old)
{
	struct content_op o = {
	    .off = off, .len = len, .falloc = true, .mode = mode};

	return content_op(fs, n, &o, old);
}

int fs_node_resize(struct fs *fs, struct node *n, uint64_t size)
{
	uint64_t old;

	return fs_content_change(fs, n, NULL, 0, size, true, &old);
}
