/* SPDX-License-Identifier: MIT */
/*
 * progress.h - the progress line of long commands (import, gc, compact,
 * check --store, push, pull): on stderr, only when it is a terminal and
 * the command is not --quiet, one line redrawn in place with \r:
 *     importing 12.0 MiB/287.0 MiB 4%, 45.1 MiB/s, ETA 0:06
 *     checking 1200/5600 blobs 21%, 410 blobs/s, ETA 0:11
 *     scanning 1200 files, 5120 files/s
 * at most every BLAST_PROGRESS_MS milliseconds (default 250; 0 redraws at
 * every update, for tests), the first time only after that long (a quick
 * command shows nothing). Erased before any other line on stderr (ctl_err,
 * ctl_warn, ctl_status clear it through c->progress) and when done.
 *
 * Usage: ctl_progress_init(&p, c); then ctl_progress_update() with counts
 * (or ctl_progress_attach(&p, st) to have the store's long operations
 * report through it); ctl_progress_release(&p) at the end, on every path.
 *
 * Threads: updates come from the command's thread; the line is written
 * and erased under stderr's lock, so ctl_err from other threads may clear
 * it at any time.
 */
#ifndef BLAST_CTL_PROGRESS_H
#define BLAST_CTL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ctl;
struct store;
struct store_progress;

#define CTL_PROGRESS_WHAT 32

struct ctl_progress {
	struct ctl *c;
	bool on;		      /* a terminal, not --quiet */
	long interval_ns;	      /* between redraws */
	char what[CTL_PROGRESS_WHAT]; /* the current step */
	struct timespec start;	      /* when it began */
	struct timespec last;	      /* last redraw (or init) */
	uint64_t done0;		      /* done when the step began */
	uint64_t done;		      /* last update's */
	struct store *st;	      /* attached store, or NULL */
	size_t shown; /* columns of the line on screen, 0 for none;
			 protected by stderr's lock */
};

/* Begin: decide whether to show anything (stderr a terminal and not
 * c->quiet) and register p as c->progress. Never fails: an invalid
 * BLAST_PROGRESS_MS is the default. */
void ctl_progress_init(struct ctl_progress *p, struct ctl *c);

/*
 * Step `what` ("importing"; up to CTL_PROGRESS_WHAT - 1 bytes kept) has
 * done of total `unit`s ("files"; NULL: bytes, shown as sizes); total 0:
 * not known. A new `what`, or done going backwards, starts a new step
 * (its rate and ETA start afresh). Cheap when nothing is drawn.
 */
void ctl_progress_update(struct ctl_progress *p, const char *what,
			 const char *unit, uint64_t done, uint64_t total);

/* Erase the line if one is shown (the next update redraws it). Takes
 * stderr's lock; safe from any thread. */
void ctl_progress_clear(struct ctl_progress *p);

/* Have st's long operations report through p (store_set_progress) until
 * release. */
void ctl_progress_attach(struct ctl_progress *p, struct store *st);

/* End: erase the line, detach from the store and from c. A second
 * call does nothing. */
void ctl_progress_release(struct ctl_progress *p);

#endif
