/* SPDX-License-Identifier: MIT */
/* storefix.h - a fresh store in a temporary directory, for the unit
 * tests' setup and teardown. */
#ifndef BLAST_STOREFIX_H
#define BLAST_STOREFIX_H

#include <stddef.h>

#include "store.h"

/* mkdtemp a /tmp/blast-unit-XXXXXX into workdir (wlen bytes), open (create)
 * the store WORKDIR/store (its path in home, hlen bytes) into *st with a
 * logger that says nothing; criterion asserts on failure. */
void storefix_open(char *workdir, size_t wlen, char *home, size_t hlen,
		   struct store **st);
/* A store logger that says nothing. */
void storefix_quiet(void *arg, const char *msg);
/* Close *st (NULL after) and remove workdir. */
void storefix_close(struct store **st, const char *workdir);

#endif
