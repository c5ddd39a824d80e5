/* SPDX-License-Identifier: MIT */
/*
 * oci.h - what push, pull and login share: registry references, an OCI
 * Distribution client (libcurl; basic and bearer-token auth from the
 * docker credential file), sha256 (libcrypto), base64, deterministic
 * tar+zstd layers, and the media types of a Blast env (docs/REGISTRY.md).
 * Main thread only. Functions return 0 or -errno; a client's failures
 * leave one line saying why in oci_client_error().
 */
#ifndef BLAST_CTL_OCI_H
#define BLAST_CTL_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OCI_ARTIFACT_TYPE "application/vnd.blast.env.v1+json"
/* The config is Blast's JSON under the image config's media type: tools
 * that only inspect images (skopeo inspect) refuse any other. */
#define OCI_CONFIG_TYPE	  "application/vnd.oci.image.config.v1+json"
#define OCI_LAYER_TYPE	  "application/vnd.oci.image.layer.v1.tar+zstd"
#define OCI_MANIFEST_TYPE "application/vnd.oci.image.manifest.v1+json"
#define OCI_ZSTD_LEVEL	  3 /* layers: fixed, so bytes are reproducible */

#define OCI_DIGEST_LEN 72 /* "sha256:" + 64 hex + NUL, rounded */

/* host[:port]/repo[:tag|@digest]; tag defaults to "latest". */
struct oci_ref {
	char host[256];
	char repo[256];
	char tag[129];		     /* "" when digest is set */
	char digest[OCI_DIGEST_LEN]; /* "" unless @sha256:... */
	bool plain_http; /* localhost, 127.0.0.1, ::1 or --insecure */
};

/* Parse s; -EINVAL when it is not a reference (no host or repo, bad
 * characters, a digest that is not sha256). */
int oci_ref_parse(const char *s, bool insecure, struct oci_ref *out);

/* "sha256:<64 hex>" of data into out. */
void oci_sha256(const void *data, size_t len, char out[OCI_DIGEST_LEN]);

/* Base64 (standard alphabet, padded). *out is malloc'd, NUL-terminated.
 * Decoding refuses anything but canonical base64 (-EINVAL). */
int oci_b64_encode(const void *data, size_t len, char **out);
int oci_b64_decode(const char *s, void **out, size_t *len);

/* ---- credentials (~/.docker/config.json, docker's format) -------- */

/* User and password for registry host (as in a ref: host[:port]) into
 * malloc'd *user and *pass; -ENOENT when there are none. */
int oci_creds_get(const char *host, char **user, char **pass);
/* Record them (the file is created or rewritten 0600, other keys kept). */
int oci_creds_set(const char *host, const char *user, const char *pass);

/* ---- repositories this store pushed to or pulled from, per host: where
 * push asks for cross-repository mounts (store_dir/oci-repos) ---- */

#define OCI_REPOS_MAX 8 /* most recent first, per host */
/* The repositories on host into out[0..*n) (malloc'd strings). */
int oci_repos_load(const char *store_dir, const char *host,
		   char *out[OCI_REPOS_MAX], size_t *n);
/* Note host/repo as the most recent one. */
int oci_repos_note(const char *store_dir, const char *host, const char *repo);

/* ---- client ------------------------------------------------------ */

struct oci_client;

int oci_client_new(const struct oci_ref *r, struct oci_client **out);
void oci_client_free(struct oci_client *cl);
/* Use these credentials instead of the stored ones. */
int oci_client_creds(struct oci_client *cl, const char *user, const char *pass);
/* Why the last failing call failed: one line, no newline; NULL when it
 * did not say (out of memory). */
const char *oci_client_error(const struct oci_client *cl);
/* Bytes sent and received in blob and manifest bodies so far. */
void oci_client_bytes(const struct oci_client *cl, uint64_t *sent,
		      uint64_t *received);

/* GET /v2/: reachable and credentials accepted. */
int oci_ping(struct oci_client *cl);
/* 1 if the repository has blob `digest`, 0 if not. */
int oci_blob_exists(struct oci_client *cl, const char *digest);
/* Upload (POST then PUT, monolithic) len bytes whose digest is given;
 * first ask the registry to mount the blob from each repository of
 * from[0..nfrom) (same host): 1 when one did (nothing uploaded), 0 after
 * an upload. */
int oci_blob_upload(struct oci_client *cl, const char *digest, const void *data,
		    size_t len, const char *const *from, size_t nfrom);
/* Fetch blob `digest` (at most max bytes) into malloc'd *out; its
 * sha256 is checked (-EBADMSG on a mismatch). */
int oci_blob_get(struct oci_client *cl, const char *digest, size_t max,
		 void **out, size_t *len);
/* Fetch blob `digest` into file `path` (written beside it, checked, then
 * renamed into place: a present `path` is a complete, verified blob). */
int oci_blob_get_file(struct oci_client *cl, const char *digest,
		      const char *path);
/* PUT manifest body under reference `tag` (a tag or a digest). */
int oci_manifest_put(struct oci_client *cl, const char *tag, const char *body,
		     size_t len);
/* GET the manifest of ref's tag or digest into malloc'd *out (NUL-
 * terminated) and its digest; a digest reference is checked. -ENOENT
 * for an unknown tag. */
int oci_manifest_get(struct oci_client *cl, const struct oci_ref *r, char **out,
		     size_t *len, char digest[OCI_DIGEST_LEN]);

/* ---- layers: tar + zstd, content only ---------------------------- */

struct oci_tar {
	unsigned char *buf;
	size_t len, cap;
	int err; /* sticky -ENOMEM */
};

/* Append a regular file `name` of len bytes (mode 0644, owner 0, mtime
 * 0, no names of users: the bytes depend on name and content only). The
 * content is written by the caller into the returned pointer (len bytes,
 * then padding is added); NULL on allocation failure. */
unsigned char *oci_tar_add(struct oci_tar *tr, const char *name, size_t len);
/* End the archive, compress it (OCI_ZSTD_LEVEL, checksummed) into
 * malloc'd *out and release tr's buffer. */
int oci_tar_finish(struct oci_tar *tr, void **out, size_t *len);

/* Decompress a layer and call fn for each regular file (name, bytes);
 * fn returns 0 or -errno to stop. -EBADMSG for a malformed layer. */
typedef int (*oci_tar_fn)(void *arg, const char *name, const void *data,
			  size_t len);
int oci_layer_each(const void *zdata, size_t zlen, oci_tar_fn fn, void *arg);

#endif
