/* SPDX-License-Identifier: MIT */
/*
 * runreg.h - the registry of running sandboxes, for `blastctl top`: one
 * JSON file per `blastctl run`, STORE/run/sbx-PID.json (PID: blastctl's),
 * naming the env, the command's pid, its cgroups, its network mode and
 * veth. Written once the command is forked, removed when it has exited;
 * a file whose blastctl is gone (SIGKILL) is stale and top removes it.
 */
#ifndef BLAST_CTL_RUNREG_H
#define BLAST_CTL_RUNREG_H

#include <limits.h>
#include <sys/types.h>

struct sandbox;
struct netsbx;

struct runreg {
	char path[PATH_MAX]; /* the file */
	const char *env, *mnt;
};

/* Name the file for this process in rundir; env and mnt are kept as
 * pointers (they must outlive reg). */
void runreg_init(struct runreg *reg, const char *rundir, const char *env,
		 const char *mnt);
/* Write the file (atomically: a temporary renamed over it). Failures
 * only cost `top` its view: ignored. net may be NULL. */
void runreg_write(const struct runreg *reg, pid_t child,
		  const struct sandbox *sb, const struct netsbx *net);
void runreg_remove(const struct runreg *reg);

#endif
