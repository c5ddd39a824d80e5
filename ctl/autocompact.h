/* SPDX-License-Identifier: MIT */
/*
 * autocompact.h - background compaction (ctl/autocompact.c): commands
 * that add content (import, pull, kill after an env ran, save) kick a
 * detached `blastctl compact --background` that recompresses and packs
 * what is new at idle CPU and IO priority, one at a time per store.
 * BLAST_AUTO_COMPACT=0 in the environment turns the kicks off.
 */
#ifndef BLAST_CTL_AUTOCOMPACT_H
#define BLAST_CTL_AUTOCOMPACT_H

#include <stdbool.h>
#include <sys/types.h>

#include "ctl.h"
#include "store.h"

/* zstd level and threads of the background passes: the smallest store
 * (it only uses idle CPU), one core */
#define CTL_AUTOCOMPACT_LEVEL	19
#define CTL_AUTOCOMPACT_THREADS 1

/* false when BLAST_AUTO_COMPACT=0 */
bool ctl_autocompact_enabled(void);

/* Ask for a background pass over the new content of the store in home
 * (store_path): starts the compactor
 * unless one runs (which then runs another pass). 0 (also when turned
 * off) or -errno; the command's own result does not depend on it. */
int ctl_autocompact_kick(const char *home);

/* The pid of the background compactor of the store in home (1 when it
 * runs but its pid is not written yet), 0 if none runs. */
pid_t ctl_autocompact_running(const char *home);

/* `compact --background`: unless another compactor holds the lock, pass
 * over the store while kicks are pending, at idle priority, a status
 * line per pass. 0 or -errno. */
int ctl_autocompact_run(struct ctl *c, struct store *st, int level,
			int threads);

#endif
