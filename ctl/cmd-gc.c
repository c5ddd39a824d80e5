/* SPDX-License-Identifier: MIT */
/*
 * cmd-gc.c - `blastctl gc`: free blobs at refcount 0 that no live process
 * pins, tables no root reaches and pins of dead processes, rewrite the
 * pack files with garbage and remove the emptied ones, then say what was
 * freed.
 */
#include "ctl.h"
#include "progress.h"
#include "store.h"

static int gc_report(struct ctl *c, const struct store_gc_stats *s)
{
	char b[CTL_BYTES_LEN], b2[CTL_BYTES_LEN], b3[CTL_BYTES_LEN];

	if (c->json) {
		json_t *j = json_object();

		j = ctl_json_add(j, "blobs_freed",
				 ctl_json_u64(s->blobs_freed));
		j = ctl_json_add(j, "bytes_freed",
				 ctl_json_u64(s->bytes_freed));
		j = ctl_json_add(j, "tables_freed",
				 ctl_json_u64(s->tables_freed));
		j = ctl_json_add(j, "pins_dropped",
				 ctl_json_u64(s->pins_dropped));
		j = ctl_json_add(j, "repacked_bytes",
				 ctl_json_u64(s->repacked_bytes));
		j = ctl_json_add(j, "pack_files_removed",
				 ctl_json_u64(s->pack_files_removed));
		j = ctl_json_add(j, "pack_bytes_removed",
				 ctl_json_u64(s->pack_bytes_removed));
		return ctl_json_print(c, j);
	}
	ctl_status(c,
		   "gc: freed %llu blobs (%s), %llu tables, %llu stale pins; "
		   "removed %u pack files (%s), %s moved",
		   (unsigned long long)s->blobs_freed,
		   ctl_fmt_bytes(b, sizeof(b), s->bytes_freed),
		   (unsigned long long)s->tables_freed,
		   (unsigned long long)s->pins_dropped, s->pack_files_removed,
		   ctl_fmt_bytes(b2, sizeof(b2), s->pack_bytes_removed),
		   ctl_fmt_bytes(b3, sizeof(b3), s->repacked_bytes));
	return 0;
}

int ctl_cmd_gc(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    CTL_OPTION_QUIET,
	    {0},
	};
	struct store_gc_stats stats = {0};
	struct ctl_progress pg;
	struct store *st;
	int o, r;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'",
				       argv[optind]);

	if (ctl_store(c, &st) < 0)
		return CTL_EXIT_FAIL;
	ctl_progress_init(&pg, c);
	ctl_progress_attach(&pg, st);
	r = store_gc(st, &stats);
	ctl_progress_release(&pg);
	if (r < 0) {
		ctl_err(c, "cannot collect garbage in store '%s': %s",
			store_path(st), ctl_strerror(r));
		return CTL_EXIT_FAIL;
	}
	return gc_report(c, &stats) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
