/* SPDX-License-Identifier: MIT */
/* storefix.c - see storefix.h. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "storefix.h"
#include "treeutil.h"

void storefix_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

void storefix_open(char *workdir, size_t wlen, char *home, size_t hlen,
		   struct store **st)
{
	snprintf(workdir, wlen, "/tmp/blast-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(workdir));
	snprintf(home, hlen, "%s/store", workdir);
	cr_assert_eq(store_open(home, 0, st), 0);
	store_set_log(*st, storefix_quiet, NULL);
}

void storefix_close(struct store **st, const char *workdir)
{
	store_close(*st);
	*st = NULL;
	tree_remove(workdir);
}
