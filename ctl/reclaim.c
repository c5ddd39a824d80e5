/* SPDX-License-Identifier: MIT */
/*
 * reclaim.c - commands that drop references (destroy, rm-snapshot,
 * snapshots --keep-auto, import) free at once what nobody references any
 * more (store_reclaim: pinned blobs stay for their processes), so space
 * comes back without a `blastctl gc`.
 */
#include "ctl.h"
#include "store.h"

#define CTL_RECLAIM_BATCH 1024

int ctl_reclaim(struct ctl *c, struct store *st, char *freed, size_t len)
{
	struct store_reclaim_stats rs = {0};
	struct store_repack_stats ps = {0};
	char b[CTL_BYTES_LEN];
	int r;

	do
		r = store_reclaim(st, 0, CTL_RECLAIM_BATCH, &rs);
	while (r > 0);
	if (r >= 0)
		r = store_give_back(st, STORE_REPACK_PCT, &ps, NULL, NULL);
	if (r < 0)
		ctl_err(c, "cannot reclaim space in store '%s': %s",
			store_path(st), ctl_strerror(r));
	snprintf(freed, len, "freed %llu blobs (%s)",
		 (unsigned long long)rs.blobs_freed,
		 ctl_fmt_bytes(b, sizeof(b), rs.bytes_freed));
	return r;
}
