/* SPDX-License-Identifier: MIT */
/*
 * cmd-pull.c - `blastctl pull REF [NAME]`: a Blast artifact becomes env
 * NAME. Only layers holding content the store lacks are fetched, each
 * into the store's oci-cache/ (checked, then renamed: a rerun after an
 * interruption reuses them); then one write txn commits their files, the
 * tree and the env state. Until that commit the store is unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobfind.h"
#include "autocompact.h"
#include "ctl.h"
#include "oci.h"
#include "oci_build.h"
#include "oci_env.h"
#include "progress.h"
#include "store.h"
#include "venv.h"

#define CONFIG_MAX (256u << 20)

struct pull_args {
	const char *ref;
	char name[STORE_ENV_NAME_MAX + 1];
	bool insecure;
};

enum { OPT_INSECURE = 0x100 };

static int pull_parse(struct ctl *c, int argc, char **argv, struct pull_args *a)
{
	static const struct option opts[] = {
	    {"insecure", no_argument, NULL, OPT_INSECURE},
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    CTL_OPTION_QUIET,
	    {0},
	};
	const char *name, *s;
	int o;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		if (o != OPT_INSECURE)
			return ctl_opt_exit(o);
		a->insecure = true;
	}
	if (argc - optind < 1 || argc - optind > 2)
		return ctl_usage_error(c, argc - optind < 1
					      ? "expected REF"
					      : "too many arguments");
	a->ref = argv[optind];
	if (argc - optind == 2) {
		name = argv[optind + 1];
		snprintf(a->name, sizeof(a->name), "%s", name);
	} else {
		/* the repository's last component, without tag or digest */
		s = strrchr(a->ref, '/');
		name = s ? s + 1 : a->ref;
		snprintf(a->name, sizeof(a->name), "%.*s",
			 (int)strcspn(name, ":@"), name);
	}
	if (store_name_check(a->name) || strlen(name) > STORE_ENV_NAME_MAX)
		return ctl_usage_error(
		    c,
		    "invalid env name '%s': use 1-64 of "
		    "A-Z a-z 0-9 . _ -, not starting with '.'",
		    name);
	return CTL_PARSED;
}

struct pull_layer {
	const char *digest;
	uint64_t size;
	bool needed;
};

struct pull {
	struct ctl *c;
	struct store *st;
	struct oci_client *cl;
	struct oci_ref r;
	const char *name;
	json_t *manifest, *config;
	struct pull_layer *layers;
	size_t nlayers, needed, fetched, cached;
	uint64_t need_bytes, got_bytes;
	char mdigest[OCI_DIGEST_LEN];
	char why[600];
	struct ctl_progress pg;
};

static int why(struct pull *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why(struct pull *p, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return err;
}

static int pull_manifest(struct pull *p)
{
	const char *at, *ct;
	json_t *ls, *l;
	char *body;
	size_t len, i;
	int err;

	err = oci_manifest_get(p->cl, &p->r, &body, &len, p->mdigest);
	if (err)
		return err;
	p->manifest = json_loadb(body, len, 0, NULL);
	free(body);
	at = json_string_value(json_object_get(p->manifest, "artifactType"));
	ct = json_string_value(json_object_get(
	    json_object_get(p->manifest, "config"), "mediaType"));
	if (!at || strcmp(at, OCI_ARTIFACT_TYPE) || !ct ||
	    strcmp(ct, OCI_CONFIG_TYPE))
		return why(p, -EPROTO, "not a Blast env (artifact type '%s')",
			   at	? at
			   : ct ? ct
				: "none");
	ls = json_object_get(p->manifest, "layers");
	p->nlayers = json_array_size(ls);
	p->layers = calloc(p->nlayers + 1, sizeof(*p->layers));
	if (!p->layers)
		return -ENOMEM;
	json_array_foreach(ls, i, l)
	{
		p->layers[i].digest =
		    json_string_value(json_object_get(l, "digest"));
		p->layers[i].size =
		    (uint64_t)json_integer_value(json_object_get(l, "size"));
		if (!p->layers[i].digest ||
		    strncmp(p->layers[i].digest, "sha256:", 7) ||
		    strlen(p->layers[i].digest) != 71 ||
		    strchr(p->layers[i].digest, '/'))
			return why(p, -EBADMSG, "manifest: bad layer %zu", i);
	}
	return 0;
}

static int pull_config(struct pull *p)
{
	const char *d = json_string_value(
	    json_object_get(json_object_get(p->manifest, "config"), "digest"));
	void *body;
	size_t len;
	int err;

	if (!d)
		return why(p, -EBADMSG, "manifest without a config digest");
	err = oci_blob_get(p->cl, d, CONFIG_MAX, &body, &len);
	if (err)
		return err;
	p->config = json_loadb(body, len, 0, NULL);
	free(body);
	if (json_integer_value(json_object_get(p->config, "blastEnv")) != 1)
		return why(p, -EPROTO, "config: not a version 1 Blast env");
	return 0;
}

/* Mark the layers holding content the store lacks (recursive). */
static int mark_needed(struct pull *p, struct store_txn *t, json_t *dir)
{
	json_t *ents = json_object_get(dir, "entries"), *v, *l;
	struct store_hash h;
	uint64_t id;
	size_t i;
	int err = 0;

	json_array_foreach(ents, i, v)
	{
		const char *hex =
		    json_string_value(json_object_get(v, "content"));

		if (json_object_get(v, "entries"))
			err = mark_needed(p, t, v);
		if (err || !hex)
			continue;
		l = json_object_get(v, "layer");
		if (oci_hash_parse(hex, &h) || !json_is_integer(l) ||
		    json_integer_value(l) < 0 ||
		    (size_t)json_integer_value(l) >= p->nlayers)
			return why(p, -EBADMSG, "config: bad file entry");
		err = store_blob_find(t, &h, &id);
		if (err == -ENOENT) {
			struct pull_layer *pl =
			    &p->layers[json_integer_value(l)];

			if (!pl->needed) {
				pl->needed = true;
				p->needed++;
				p->need_bytes += pl->size;
			}
			err = 0;
		}
	}
	return err;
}

static void pull_progress(struct pull *p)
{
	ctl_progress_update(&p->pg, "pulling", NULL, p->got_bytes,
			    p->need_bytes);
}

static void cache_path(struct pull *p, const char *digest, char *buf,
		       size_t len)
{
	snprintf(buf, len, "%s/oci-cache/%s", store_path(p->st), digest + 7);
}

static int fetch_layers(struct pull *p)
{
	char path[4200];
	struct stat sb;
	int err;

	cache_path(p, "sha256:", path, sizeof(path));
	if (mkdir(path, 0700) && errno != EEXIST)
		return why(p, -errno, "cannot create '%s': %s", path,
			   ctl_strerror(errno));
	for (size_t i = 0; i < p->nlayers; i++) {
		if (!p->layers[i].needed)
			continue;
		cache_path(p, p->layers[i].digest, path, sizeof(path));
		if (stat(path, &sb)) {
			err =
			    oci_blob_get_file(p->cl, p->layers[i].digest, path);
			if (err)
				return err;
		} else {
			p->cached++; /* fetched by an interrupted pull */
		}
		p->fetched++;
		p->got_bytes += p->layers[i].size;
		pull_progress(p);
	}
	return 0;
}

static int read_file(const char *path, void **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	struct stat sb;
	unsigned char *buf = NULL;
	size_t done = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || !(buf = malloc((size_t)sb.st_size + 1))) {
		err = errno ? -errno : -ENOMEM;
		goto out;
	}
	while (done < (size_t)sb.st_size) {
		n = read(fd, buf + done, (size_t)sb.st_size - done);
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			goto out;
		}
		done += (size_t)n;
	}
	*out = buf;
	*len = done;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

static int commit_file(void *arg, const char *name, const void *data,
		       size_t len)
{
	struct store_blob_prep *prep;
	uint64_t id;
	int err = store_blob_prepare(data, len, &prep);

	(void)name;
	if (err)
		return err;
	err = store_blob_commit(arg, prep, &id, NULL);
	store_blob_prep_free(prep);
	return err;
}

/* Commit every file of the cached layers (checked again: the cache is a
 * plain directory). */
static int commit_layers(struct pull *p, struct store_txn *t)
{
	char path[4200], got[OCI_DIGEST_LEN];
	void *z = NULL;
	size_t zlen = 0;
	int err;

	for (size_t i = 0; i < p->nlayers; i++) {
		ctl_progress_update(&p->pg, "storing", "layers", i, p->nlayers);
		if (!p->layers[i].needed)
			continue;
		cache_path(p, p->layers[i].digest, path, sizeof(path));
		err = read_file(path, &z, &zlen);
		if (err)
			return why(p, err, "cannot read '%s': %s", path,
				   ctl_strerror(err));
		oci_sha256(z, zlen, got);
		if (strcmp(got, p->layers[i].digest)) {
			free(z);
			unlink(path);
			return why(p, -EBADMSG,
				   "cached layer '%s' was damaged: removed, "
				   "pull again",
				   path);
		}
		err = oci_layer_each(z, zlen, commit_file, t);
		free(z);
		if (err == -EBADMSG)
			return why(p, err, "layer %s is not a tar+zstd",
				   p->layers[i].digest);
		if (err)
			return err;
	}
	return 0;
}

static void pull_python(struct pull *p, struct store_env *e)
{
	const char *py =
	    json_string_value(json_object_get(p->config, "python"));
	const char *ver =
	    json_string_value(json_object_get(p->config, "pythonVersion"));
	const char *mnt =
	    json_string_value(json_object_get(p->config, "mount"));
	struct venv_python vp;
	char err[256];

	snprintf(e->python, sizeof(e->python), "%s", py ? py : "");
	snprintf(e->pyver, sizeof(e->pyver), "%s", ver ? ver : "");
	/* the source's mount: start points scripts' #! lines away from it */
	snprintf(e->mount, sizeof(e->mount), "%s", mnt ? mnt : "");
	if ((py && !access(py, X_OK)) || (!(py && *py) && !(ver && *ver)))
		return; /* found, or the pushed env had none either */
	if (ver && *ver && !venv_python_find(ver, &vp, err, sizeof(err))) {
		snprintf(e->python, sizeof(e->python), "%s", vp.exe);
		return;
	}
	ctl_warn(p->c, "no python %s here: env '%s' keeps '%s'",
		 ver && *ver ? ver : "?", p->name, e->python);
}

static int pull_commit(struct pull *p)
{
	struct oci_build b = {0};
	struct store_attr a = {0};
	struct store_env e = {0};
	uint64_t root;
	int err;

	snprintf(e.name, sizeof(e.name), "%s", p->name);
	pull_python(p, &e);
	err = store_txn_begin(p->st, true, &b.t);
	if (err)
		return err;
	err = commit_layers(p, b.t);
	if (!err)
		err = store_gen_new(b.t, &b.gen);
	if (!err)
		err = oci_build_dir(&b, "", json_object_get(p->config, "root"),
				    &root, &a);
	if (!err)
		err = store_env_create(b.t, &e, root);
	if (err == -EEXIST)
		why(p, err, "env '%s' exists", p->name);
	if (!err)
		err = oci_build_state(&b, &e,
				      json_object_get(p->config, "state"));
	if (b.why[0] && !p->why[0])
		why(p, err, "%s", b.why);
	if (err) {
		store_txn_abort(b.t);
		return err;
	}
	return store_txn_commit(b.t);
}

static int pull_report(struct pull *p)
{
	uint64_t sent, recv;
	json_t *j;

	oci_client_bytes(p->cl, &sent, &recv);
	if (!p->c->json) {
		char a[CTL_BYTES_LEN];

		ctl_status(p->c,
			   "pulled %s/%s@%s as env '%s': %zu of %zu "
			   "layers fetched (%s)",
			   p->r.host, p->r.repo, p->mdigest, p->name, p->needed,
			   p->nlayers, ctl_fmt_bytes(a, sizeof(a), recv));
		return 0;
	}
	j = ctl_json_add(json_object(), "name", ctl_json_str(p->name));
	j = ctl_json_add(j, "digest", ctl_json_str(p->mdigest));
	j = ctl_json_add(j, "layers", ctl_json_u64(p->nlayers));
	j = ctl_json_add(j, "fetched", ctl_json_u64(p->needed));
	j = ctl_json_add(j, "cached", ctl_json_u64(p->cached));
	j = ctl_json_add(j, "fetched_bytes", ctl_json_u64(p->need_bytes));
	j = ctl_json_add(j, "received_bytes", ctl_json_u64(recv));
	return ctl_json_print(p->c, j);
}

static int pull_run(struct pull *p)
{
	struct store_txn *t;
	struct store_env e;
	int err;

	err = store_txn_begin(p->st, false, &t);
	if (err)
		return err;
	err = store_env_get(t, p->name, &e);
	store_txn_abort(t);
	if (!err)
		return why(p, -EEXIST, "env '%s' exists", p->name);
	if (err != -ENOENT)
		return err;
	err = pull_manifest(p);
	if (!err)
		err = pull_config(p);
	if (err)
		return err;
	err = store_txn_begin(p->st, false, &t);
	if (err)
		return err;
	err = mark_needed(p, t, json_object_get(p->config, "root"));
	store_txn_abort(t);
	if (!err)
		err = fetch_layers(p);
	if (!err)
		err = pull_commit(p);
	if (!err) /* where a later push may mount from */
		oci_repos_note(store_path(p->st), p->r.host, p->r.repo);
	if (!err)
		err = pull_report(p);
	return err;
}

int ctl_cmd_pull(struct ctl *c, int argc, char **argv)
{
	struct pull_args a = {0};
	struct pull p = {.c = c};
	const char *msg;
	int rc, err;

	rc = pull_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	if (oci_ref_parse(a.ref, a.insecure, &p.r))
		return ctl_usage_error(c,
				       "invalid reference '%s': use "
				       "HOST[:PORT]/REPO[:TAG|@DIGEST]",
				       a.ref);
	p.name = a.name;
	if (ctl_store(c, &p.st))
		return CTL_EXIT_FAIL;
	ctl_progress_init(&p.pg, c);
	err = oci_client_new(&p.r, &p.cl);
	if (!err)
		err = pull_run(&p);
	ctl_progress_release(&p.pg);
	if (err) {
		msg = p.why[0]			       ? p.why
		      : p.cl && oci_client_error(p.cl) ? oci_client_error(p.cl)
						       : ctl_strerror(err);
		ctl_err(c, "cannot pull '%s': %s", a.ref, msg);
	} else {
		(void)ctl_autocompact_kick(store_path(p.st));
	}
	json_decref(p.manifest);
	json_decref(p.config);
	free(p.layers);
	oci_client_free(p.cl);
	return err ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
