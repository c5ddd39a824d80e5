/* SPDX-License-Identifier: MIT */
/*
 * change.h - a change to the namespace (change.c), shared by the
 * handlers that create, remove, rename and link names (ops.c). A change
 * holds fs->wlock and one write txn from fs_change_begin to
 * fs_change_end (or fs_change_commit then fs_change_unlock, when a
 * handler has node bookkeeping to do between the commit and the unlock);
 * fs->lock is taken inside for node fields, never held across a call.
 */
#ifndef BLAST_FS_CHANGE_H
#define BLAST_FS_CHANGE_H

#include "fs_internal.h"

struct change {
	struct fs *fs;
	struct store_txn *t;
	struct store_env e;
	uint64_t tab;	    /* writable table of the directory */
	const char **names; /* its path (into nodes: valid under wlock) */
	size_t depth;
	/* where an inode's entry lives (inode_slot) */
	uint64_t slot_tab;
	char slot[STORE_NAME_MAX + 1];
	bool slot_linked; /* the slot is in the links table */
};

/* Lock fs->wlock, begin a write txn, make dir's table writable (c->tab);
 * takes an automatic snapshot first when one is due. */
int fs_change_begin(struct fs *fs, struct node *dir, struct change *c);
/* A change over two directories (rename): fs_change_begin on p, and np's
 * table made writable too (d2->tab; d2->names is malloc'd, the caller
 * frees it). On failure nothing is held. */
struct fs_dir2 {
	uint64_t tab;
	const char **names;
	size_t depth;
};
int fs_change_begin_two(struct fs *fs, struct node *p, struct node *np,
			struct change *c, struct fs_dir2 *d2);
/* After a rename of name (in c's directory) to newname (in d2's): both
 * directories' times move, the package layer hears of both names. */
int fs_change_moved(struct fs *fs, struct change *c, const struct fs_dir2 *d2,
		    const char *name, const char *newname);
/* fs_change_begin for a new name in dir: -EEXIST when it is taken,
 * -EPERM when dir's flags refuse new entries (nothing held then). */
int fs_change_begin_name(struct fs *fs, struct node *dir, const char *name,
			 struct change *c);
/* Commit (or abort when err): wlock stays held. */
int fs_change_commit(struct fs *fs, struct change *c, int err);
/* Let fs->wlock go. */
void fs_change_unlock(struct fs *fs);
/* fs_change_commit, then fs_change_unlock. */
int fs_change_end(struct fs *fs, struct change *c, int err);

/* The entry holding name's inode in writable table tab: the entry
 * itself, or for a hard link the links table's. Sets c->slot_tab and
 * c->slot; inline bytes are copied to inl (STORE_ENTRY_INLINE_MAX). */
int fs_inode_slot(struct change *c, uint64_t tab, const char *name,
		  struct store_entry *e, unsigned char *inl);
/* The entry holding node n's inode (as fs_inode_slot). */
int fs_node_slot(struct change *c, struct node *n, struct store_entry *e,
		 unsigned char *inl);
/* One name of e (in table tab) goes away: a hard-linked inode loses a
 * link (and is detached at the last); anything else is detached: an open
 * node keeps its content (pinned), quota gives the bytes back. The
 * caller deletes the name itself. */
int fs_drop_name(struct fs *fs, struct change *c, uint64_t tab,
		 const char *name, const struct store_entry *e);
/* A directory's mtime/ctime move forward, by at least 1 us. */
int fs_touch_dir(struct store_txn *t, uint64_t tab);
/* Directory name in directory node np (name NULL: np itself) gets a new
 * ctime and/or atime (0: kept), in its table's header (made writable). */
int fs_dir_times(struct fs *fs, struct change *c, struct node *np,
		 const char *name, int64_t ctime_ns, int64_t atime_ns);
/* fsflags.c: chattr's flags of the inode behind entry e (a directory's
 * from its table, a hard link's from the links table). */
int fs_flags_entry(struct change *c, const struct store_entry *e,
		   uint32_t *out);
/* -EPERM when e's inode is immutable or append-only (ext4: it cannot be
 * unlinked, renamed or replaced). */
int fs_flags_victim(struct change *c, const struct store_entry *e);
/* -EPERM when directory table tab is immutable (no entry made or
 * removed), or append-only and an entry is removing (or replaced). */
int fs_flags_dir(struct change *c, uint64_t tab, bool removing);
/* 0, -EINVAL (empty) or -ENAMETOOLONG. */
int fs_check_name(const char *name);

#endif
