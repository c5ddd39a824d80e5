/* SPDX-License-Identifier: MIT */
/*
 * blobfind.h - find a stored blob by its content hash, without its bytes
 * (a registry pull asks whether content it has not fetched is local).
 */
#ifndef BLAST_BLOBFIND_H
#define BLAST_BLOBFIND_H

#include "store.h"

/* The id of the blob whose XXH3-128 is *h into *out (any txn). -ENOENT
 * when the store has no such blob, -EIO for a corrupt index record. */
int store_blob_find(struct store_txn *t, const struct store_hash *h,
		    uint64_t *out);

#endif
