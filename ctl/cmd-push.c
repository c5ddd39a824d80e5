/* SPDX-License-Identifier: MIT */
/*
 * cmd-push.c - `blastctl push NAME[@SNAP] REF`: an env as an OCI artifact
 * (docs/REGISTRY.md). The config holds the tree's metadata and the env's
 * state; file contents go in layers, one per top-level entry of
 * site-packages (a package's files, named relative to site-packages, so
 * the same package version makes the same layer in any env) and one for
 * everything else. Only blobs the registry lacks (HEAD) are uploaded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "oci.h"
#include "oci_env.h"
#include "pkgstate.h"
#include "progress.h"
#include "store.h"

struct push_args {
	const char *src; /* NAME[@SNAP] */
	const char *ref;
	bool insecure;
};

enum { OPT_INSECURE = 0x100 };

static int push_parse(struct ctl *c, int argc, char **argv, struct push_args *a)
{
	static const struct option opts[] = {
	    {"insecure", no_argument, NULL, OPT_INSECURE},
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    CTL_OPTION_QUIET,
	    {0},
	};
	int o;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		if (o != OPT_INSECURE)
			return ctl_opt_exit(o);
		a->insecure = true;
	}
	if (argc - optind != 2)
		return ctl_usage_error(c, argc - optind < 2
					      ? "expected NAME[@SNAP] and REF"
					      : "too many arguments");
	a->src = argv[optind];
	a->ref = argv[optind + 1];
	return CTL_PARSED;
}

/* One layer: its files in name order, then its digest once built. */
struct push_layer {
	const char *title;
	char digest[OCI_DIGEST_LEN];
	size_t size;
	bool uploaded;
};

struct push {
	struct ctl *c;
	struct oci_client *cl;
	struct oci_env_out env;
	struct push_layer *layers;
	char *from[OCI_REPOS_MAX]; /* repositories to mount blobs from */
	size_t nfrom;
	uint64_t mounted, uploaded, up_bytes, done_bytes, total_bytes;
	size_t blobs_done;
	struct ctl_progress pg;
};

static void push_progress(struct push *p)
{
	ctl_progress_update(&p->pg, "pushing", NULL, p->done_bytes,
			    p->total_bytes);
}

/* HEAD, then upload when missing. */
static int push_blob(struct push *p, const char *digest, const void *data,
		     size_t len, bool *uploaded)
{
	int r = oci_blob_exists(p->cl, digest);

	*uploaded = false;
	if (r < 0)
		return r;
	if (r == 0) {
		r = oci_blob_upload(p->cl, digest, data, len,
				    (const char *const *)p->from, p->nfrom);
		if (r < 0)
			return r;
		if (r == 1) {
			p->mounted++;
		} else {
			*uploaded = true;
			p->uploaded++;
			p->up_bytes += len;
		}
	}
	p->blobs_done++;
	return 0;
}

static int push_layers(struct push *p, struct store_txn *t)
{
	for (size_t i = 0; i < p->env.nlayers; i++) {
		struct push_layer *l = &p->layers[i];
		void *z;
		size_t zlen;
		int err;

		err = oci_env_layer_build(t, &p->env, i, &z, &zlen);
		if (err)
			return err;
		oci_sha256(z, zlen, l->digest);
		l->size = zlen;
		err = push_blob(p, l->digest, z, zlen, &l->uploaded);
		free(z);
		if (err)
			return err;
		p->done_bytes += p->env.layer_bytes[i];
		push_progress(p);
	}
	return 0;
}

static json_t *push_manifest(struct push *p, const char *cdigest, size_t clen)
{
	json_t *layers = json_array(), *m;

	for (size_t i = 0; layers && i < p->env.nlayers; i++) {
		json_t *l =
		    json_pack("{s:s,s:s,s:I,s:{s:s}}", "mediaType",
			      OCI_LAYER_TYPE, "digest", p->layers[i].digest,
			      "size", (json_int_t)p->layers[i].size,
			      "annotations", "org.opencontainers.image.title",
			      p->env.layer_titles[i][0] ? p->env.layer_titles[i]
							: "(env)");

		if (!l || json_array_append_new(layers, l)) {
			json_decref(layers);
			return NULL;
		}
	}
	m = json_pack("{s:i,s:s,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2,
		      "mediaType", OCI_MANIFEST_TYPE, "artifactType",
		      OCI_ARTIFACT_TYPE, "config", "mediaType", OCI_CONFIG_TYPE,
		      "digest", cdigest, "size", (json_int_t)clen, "layers",
		      layers);
	return m;
}

static int push_report(struct push *p, const struct oci_ref *r,
		       const char *mdigest, const char *src)
{
	uint64_t sent, recv;
	json_t *j;

	ctl_progress_release(&p->pg);
	oci_client_bytes(p->cl, &sent, &recv);
	if (!p->c->json) {
		char a[CTL_BYTES_LEN];

		ctl_status(p->c,
			   "pushed '%s' as %s/%s@%s: %llu of %zu blobs "
			   "uploaded (%s)",
			   src, r->host, r->repo, mdigest,
			   (unsigned long long)p->uploaded, p->env.nlayers + 1,
			   ctl_fmt_bytes(a, sizeof(a), p->up_bytes));
		return 0;
	}
	j = ctl_json_add(json_object(), "digest", ctl_json_str(mdigest));
	j = ctl_json_add(j, "layers", ctl_json_u64(p->env.nlayers));
	j = ctl_json_add(j, "blobs", ctl_json_u64(p->env.nlayers + 1));
	j = ctl_json_add(j, "uploaded", ctl_json_u64(p->uploaded));
	j = ctl_json_add(j, "mounted", ctl_json_u64(p->mounted));
	j = ctl_json_add(j, "uploaded_bytes", ctl_json_u64(p->up_bytes));
	j = ctl_json_add(j, "sent_bytes", ctl_json_u64(sent));
	j = ctl_json_add(j, "bytes", ctl_json_u64(p->total_bytes));
	return ctl_json_print(p->c, j);
}

static int push_run(struct push *p, struct store_txn *t,
		    const struct oci_ref *r, const char *src)
{
	char cdigest[OCI_DIGEST_LEN], mdigest[OCI_DIGEST_LEN];
	char *config = NULL, *man = NULL;
	json_t *m = NULL;
	bool up;
	int err;

	err = oci_env_collect(t, src, &p->env);
	if (err)
		return err;
	for (size_t i = 0; i < p->env.nlayers; i++)
		p->total_bytes += p->env.layer_bytes[i];
	p->layers = calloc(p->env.nlayers + 1, sizeof(*p->layers));
	if (!p->layers)
		return -ENOMEM;
	err = oci_ping(p->cl);
	if (!err)
		err = oci_repos_load(store_path(store_txn_store(t)), r->host,
				     p->from, &p->nfrom);
	if (!err)
		err = push_layers(p, t);
	if (err)
		return err;
	config = json_dumps(p->env.config, JSON_COMPACT | JSON_SORT_KEYS);
	if (!config)
		return -ENOMEM;
	oci_sha256(config, strlen(config), cdigest);
	err = push_blob(p, cdigest, config, strlen(config), &up);
	if (!err) {
		m = push_manifest(p, cdigest, strlen(config));
		man = m ? json_dumps(m, JSON_COMPACT) : NULL;
		err = man ? 0 : -ENOMEM;
	}
	if (!err) {
		oci_sha256(man, strlen(man), mdigest);
		err = oci_manifest_put(p->cl, r->digest[0] ? r->digest : r->tag,
				       man, strlen(man));
	}
	if (!err) /* a hint for later mounts: failing to note it is no error */
		oci_repos_note(store_path(store_txn_store(t)), r->host,
			       r->repo);
	if (!err)
		err = push_report(p, r, mdigest, src);
	json_decref(m);
	free(man);
	free(config);
	return err;
}

int ctl_cmd_push(struct ctl *c, int argc, char **argv)
{
	struct push_args a = {0};
	struct push p = {.c = c};
	struct store_txn *t = NULL;
	struct oci_ref r;
	struct store *st;
	int rc, err;

	rc = push_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	if (oci_ref_parse(a.ref, a.insecure, &r))
		return ctl_usage_error(c,
				       "invalid reference '%s': use "
				       "HOST[:PORT]/REPO[:TAG|@DIGEST]",
				       a.ref);
	if (ctl_store(c, &st))
		return CTL_EXIT_FAIL;
	ctl_progress_init(&p.pg, c);
	err = oci_client_new(&r, &p.cl);
	if (!err)
		err = store_txn_begin(st, false, &t);
	if (!err)
		err = push_run(&p, t, &r, a.src);
	if (err) {
		if (p.env.why[0])
			ctl_err(c, "cannot push '%s': %s", a.src, p.env.why);
		else if (p.cl && oci_client_error(p.cl) && err != -ENOMEM)
			ctl_err(c, "cannot push '%s' to '%s': %s", a.src, a.ref,
				oci_client_error(p.cl));
		else
			ctl_err(c, "cannot push '%s': %s", a.src,
				ctl_strerror(err));
	}
	ctl_progress_release(&p.pg);
	store_txn_abort(t);
	oci_env_out_release(&p.env);
	free(p.layers);
	for (size_t i = 0; i < p.nfrom; i++)
		free(p.from[i]);
	oci_client_free(p.cl);
	return err ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
