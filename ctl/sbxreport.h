/* SPDX-License-Identifier: MIT */
/*
 * sbxreport.h - why a sandboxed command ended, from its cgroups' event
 * counters: an out-of-memory kill (memory.events or v1's
 * memory.oom_control "oom_kill") and forks the pids limit refused
 * (pids.events "max"), said on stderr with the limit, so a bare exit
 * 137 is explained. Read before the cgroups are removed.
 */
#ifndef BLAST_CTL_SBXREPORT_H
#define BLAST_CTL_SBXREPORT_H

struct ctl;
struct sandbox;

void sandbox_report(struct ctl *c, const struct sandbox *sb);

#endif
