/* SPDX-License-Identifier: MIT */
/*
 * oci_build.h - an env's tree built back from a Blast config (pull).
 */
#ifndef BLAST_CTL_OCI_BUILD_H
#define BLAST_CTL_OCI_BUILD_H

#include <jansson.h>

#include "store.h"

struct oci_build {
	struct store_txn *t; /* write txn */
	uint64_t gen;	     /* tables are created at this generation */
	uint64_t files;	     /* files naming a blob, so far */
	char why[512];	     /* what was wrong in the config, or "" */
};

/*
 * Build the directory config object obj (with "mode", "mtime",
 * "entries") as a new table (refcount 0) into *tab. `path` names it in
 * messages ("" for the root); a->fid == 0 means "take the attrs from
 * obj" (a is filled then). Files' content must be in the store already
 * (by hash). -EBADMSG with b->why for a malformed config.
 */
int oci_build_dir(struct oci_build *b, const char *path, json_t *obj,
		  uint64_t *tab, struct store_attr *a);
/* Set every key of the config's "state" object on env e. */
int oci_build_state(struct oci_build *b, struct store_env *e, json_t *state);

#endif
