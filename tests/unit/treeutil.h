/* SPDX-License-Identifier: MIT */
/* treeutil.h - directory-tree helpers for the unit tests. */
#ifndef BLAST_TREEUTIL_H
#define BLAST_TREEUTIL_H

/* rm -rf path (best effort). */
void tree_remove(const char *path);
/* Build a deterministic tree at dir: nested dirs, empty dirs, files of
 * 0 B to 1 MiB (incompressible and compressible, multi-chunk), modes,
 * ns mtimes, symlinks (relative, absolute, dangling) and a fifo. */
void tree_make_synthetic(const char *dir, unsigned seed);
/* 0 when a and b hold the same names, types, modes, owners, sizes,
 * contents, link targets and mtimes (ns); else prints the first
 * difference to stderr and returns -1. */
int tree_compare(const char *a, const char *b);
/* 0 when root/rel is a regular file holding exactly `content`. */
int tree_file_eq(const char *root, const char *rel, const char *content);

#endif
