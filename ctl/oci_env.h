/* SPDX-License-Identifier: MIT */
/*
 * oci_env.h - an env's tree as a Blast artifact (docs/REGISTRY.md): the
 * config (metadata, env state, packages) and its content layers, read
 * from the store (push), and the tree built back into a store (pull).
 */
#ifndef BLAST_CTL_OCI_ENV_H
#define BLAST_CTL_OCI_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

struct oci_env_file {
	char *lpath; /* name in its layer */
	char *title; /* its layer's title ("" for the rest) */
	uint64_t blob, size;
	json_t *obj; /* its config entry (borrowed) */
};

struct oci_env_out {
	json_t *config;
	size_t nlayers;
	char **layer_titles;	    /* "" for files outside packages */
	uint64_t *layer_bytes;	    /* uncompressed content per layer */
	size_t *layer_first;	    /* index into files of each layer's first */
	struct oci_env_file *files; /* sorted by layer, then lpath */
	size_t nfiles, fcap;
	char why[512]; /* a failure the user can act on, or "" */
};

/* Read env or snapshot `src` (NAME[@SNAP]) into *out (read txn t):
 * config and file lists. On failure *out holds what to release and maybe
 * a reason in out->why. */
int oci_env_collect(struct store_txn *t, const char *src,
		    struct oci_env_out *out);
/* Build layer i (tar+zstd) into malloc'd *z. */
int oci_env_layer_build(struct store_txn *t, const struct oci_env_out *env,
			size_t i, void **z, size_t *zlen);
void oci_env_out_release(struct oci_env_out *o);

/* 32 hex digits of a content hash, and back (-EINVAL). */
void oci_hash_hex(const struct store_hash *h, char out[33]);
int oci_hash_parse(const char *s, struct store_hash *out);

#endif
