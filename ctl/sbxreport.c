/* SPDX-License-Identifier: MIT */
/*
 * sbxreport.c - the cgroup event counters behind a sandboxed command's
 * end (sbxreport.h). v2 and v1 files are tried by name in each of the
 * sandbox's directories.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "sandbox.h"
#include "sbxreport.h"

/* The value of "KEY N" in dir/file, 0 when absent. */
static uint64_t event(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX + 64], line[128];
	unsigned long long v = 0;
	size_t kl = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			sscanf(line + kl + 1, "%llu", &v);
	fclose(f);
	return v;
}

void sandbox_report(struct ctl *c, const struct sandbox *sb)
{
	char b[CTL_BYTES_LEN];
	uint64_t oom = 0, forks = 0;

	for (size_t i = 0; i < sb->ndirs; i++) {
		oom += event(sb->dirs[i], "memory.events", "oom_kill");
		oom += event(sb->dirs[i], "memory.oom_control", "oom_kill");
		forks += event(sb->dirs[i], "pids.events", "max");
	}
	if (oom)
		ctl_err(c,
			"out of memory: the memory limit (%s) killed %" PRIu64
			" process%s",
			ctl_fmt_bytes(b, sizeof(b), sb->lim.memory), oom,
			oom == 1 ? "" : "es");
	if (forks)
		ctl_err(c,
			"the pids limit (%" PRIu64 ") refused %" PRIu64
			" fork%s",
			sb->lim.pids, forks, forks == 1 ? "" : "s");
}
