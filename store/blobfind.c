/* SPDX-License-Identifier: MIT */
/*
 * blobfind.c - blob lookup by content hash through the blob index
 * (DB_BLOBIDX), for callers that know a hash but not the bytes.
 */
#include <errno.h>

#include "blobfind.h"
#include "store_internal.h"

int store_blob_find(struct store_txn *t, const struct store_hash *h,
		    uint64_t *out)
{
	MDB_val k = {16, (void *)h->b}, v;
	int err = store_get(t, DB_BLOBIDX, &k, &v);

	if (err)
		return err;
	if (v.mv_size != 8) {
		store_logf(store_txn_store(t), "corrupt blob index record");
		return -EIO;
	}
	*out = get_le64(v.mv_data);
	return 0;
}
