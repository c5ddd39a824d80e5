/* SPDX-License-Identifier: MIT */
/*
 * cmd-compact.c - `blastctl compact [--level N] [--threads N]`:
 * recompress the store's content at a high zstd level and pack small
 * files together (store_compact), then say what it saved. Safe next to
 * mounted envs; a second run only does content added since.
 */
#include <stdlib.h>

#include "autocompact.h"
#include "ctl.h"
#include "progress.h"
#include "store.h"

static int compact_report(struct ctl *c, const struct store_compact_stats *s)
{
	char a[CTL_BYTES_LEN], b[CTL_BYTES_LEN];

	if (c->json) {
		json_t *j = json_object();

		j = ctl_json_add(j, "chunks_recompressed",
				 ctl_json_u64(s->chunks_recompressed));
		j = ctl_json_add(j, "packs", ctl_json_u64(s->packs));
		j = ctl_json_add(j, "blobs_packed",
				 ctl_json_u64(s->blobs_packed));
		j = ctl_json_add(j, "stored_before",
				 ctl_json_u64(s->stored_before));
		j = ctl_json_add(j, "stored_after",
				 ctl_json_u64(s->stored_after));
		return ctl_json_print(c, j);
	}
	ctl_status(c,
		   "compact: stored %s -> %s (%llu chunks recompressed, "
		   "%llu files in %llu packs)",
		   ctl_fmt_bytes(a, sizeof(a), s->stored_before),
		   ctl_fmt_bytes(b, sizeof(b), s->stored_after),
		   (unsigned long long)s->chunks_recompressed,
		   (unsigned long long)s->blobs_packed,
		   (unsigned long long)s->packs);
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int ctl_cmd_compact(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    CTL_OPTION_QUIET,
	    {"level", required_argument, NULL, 'l'},
	    {"threads", required_argument, NULL, 't'},
	    {"background", no_argument, NULL, 'b'},
	    {0},
	};
	struct store_compact_stats stats = {0};
	struct ctl_progress pg;
	int o, r, level = 0, threads = 0;
	bool background = false;
	struct store *st;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		if (o == 'l' && !parse_int(optarg, 1, 22, &level))
			continue;
		if (o == 't' && !parse_int(optarg, 1, 64, &threads))
			continue;
		if (o == 'b') {
			background = true;
			continue;
		}
		if (o == 'l')
			return ctl_usage_error(
			    c, "--level: want 1..22, not '%s'", optarg);
		if (o == 't')
			return ctl_usage_error(
			    c, "--threads: want 1..64, not '%s'", optarg);
		return ctl_opt_exit(o);
	}
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'",
				       argv[optind]);
	if (ctl_store(c, &st) < 0)
		return CTL_EXIT_FAIL;
	if (background) {
		r = ctl_autocompact_run(
		    c, st, level ? level : CTL_AUTOCOMPACT_LEVEL,
		    threads ? threads : CTL_AUTOCOMPACT_THREADS);
		if (r < 0)
			ctl_err(c, "cannot compact store '%s': %s",
				store_path(st), ctl_strerror(r));
		return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	ctl_progress_init(&pg, c);
	ctl_progress_attach(&pg, st);
	r = store_compact(st, level, threads, &stats);
	ctl_progress_release(&pg);
	if (r < 0) {
		ctl_err(c, "cannot compact store '%s': %s", store_path(st),
			ctl_strerror(r));
		return CTL_EXIT_FAIL;
	}
	return compact_report(c, &stats) < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
