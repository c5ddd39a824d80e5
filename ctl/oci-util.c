/* SPDX-License-Identifier: MIT */
/*
 * oci-util.c - registry references, sha256 and base64 (libcrypto), and
 * credentials in docker's ~/.docker/config.json ("auths": {HOST:
 * {"auth": base64("user:pass")}}), which docker, podman and skopeo share.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "oci.h"

static bool all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(set, s[i]) || !s[i])
			return false;
	return n > 0;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

int oci_ref_parse(const char *s, bool insecure, struct oci_ref *out)
{
	struct oci_ref r = {0};
	const char *slash = strchr(s, '/'), *at, *colon, *repo;
	size_t rlen;

	if (!slash || slash == s || (size_t)(slash - s) >= sizeof(r.host))
		return -EINVAL;
	memcpy(r.host, s, (size_t)(slash - s));
	if (!all_of(r.host, strlen(r.host),
		    LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:[]"))
		return -EINVAL;
	repo = slash + 1;
	at = strchr(repo, '@');
	if (at) {
		if (strncmp(at + 1, "sha256:", 7) || strlen(at + 1) != 71 ||
		    !all_of(at + 8, 64, "0123456789abcdef"))
			return -EINVAL;
		memcpy(r.digest, at + 1, 71);
		rlen = (size_t)(at - repo);
	} else {
		colon = strrchr(repo, ':');
		if (colon && !strchr(colon, '/')) {
			size_t tl = strlen(colon + 1);

			if (tl == 0 || tl >= sizeof(r.tag) ||
			    !all_of(colon + 1, tl,
				    LOWER_DIGITS
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-"))
				return -EINVAL;
			memcpy(r.tag, colon + 1, tl);
			rlen = (size_t)(colon - repo);
		} else {
			snprintf(r.tag, sizeof(r.tag), "latest");
			rlen = strlen(repo);
		}
	}
	if (rlen >= sizeof(r.repo) ||
	    !all_of(repo, rlen, LOWER_DIGITS "._-/") || repo[0] == '/' ||
	    repo[rlen - 1] == '/')
		return -EINVAL;
	memcpy(r.repo, repo, rlen);
	r.plain_http = insecure || !strncmp(r.host, "localhost", 9) ||
		       !strncmp(r.host, "127.0.0.1", 9) ||
		       !strncmp(r.host, "[::1]", 5);
	*out = r;
	return 0;
}

void oci_sha256(const void *data, size_t len, char out[OCI_DIGEST_LEN])
{
	unsigned char h[32];

	EVP_Digest(data, len, h, NULL, EVP_sha256(), NULL);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", h[i]);
}

int oci_b64_encode(const void *data, size_t len, char **out)
{
	char *s = malloc(4 * ((len + 2) / 3) + 1);

	if (!s)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)s, data, (int)len);
	*out = s;
	return 0;
}

int oci_b64_decode(const char *s, void **out, size_t *len)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *b;
	int got;

	if (n % 4 || n > (size_t)INT32_MAX)
		return -EINVAL;
	b = malloc(n / 4 * 3 + 1);
	if (!b)
		return -ENOMEM;
	got = EVP_DecodeBlock(b, (const unsigned char *)s, (int)n);
	if (got < 0) {
		free(b);
		return -EINVAL;
	}
	if (n && s[n - 1] == '=')
		pad++;
	if (n > 1 && s[n - 2] == '=')
		pad++;
	*len = (size_t)got - pad;
	b[*len] = 0;
	*out = b;
	return 0;
}

/* ~/.docker/config.json, or $DOCKER_CONFIG/config.json. */
static int creds_path(char *buf, size_t len)
{
	const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	int n;

	if (dc && *dc)
		n = snprintf(buf, len, "%s/config.json", dc);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.docker/config.json", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int oci_creds_get(const char *host, char **user, char **pass)
{
	char path[4096], *colon;
	const char *auth;
	json_t *j;
	void *up;
	size_t len;
	int err;

	err = creds_path(path, sizeof(path));
	if (err)
		return err;
	j = json_load_file(path, 0, NULL);
	if (!j)
		return -ENOENT; /* absent or unreadable: no credentials */
	auth = json_string_value(json_object_get(
	    json_object_get(json_object_get(j, "auths"), host), "auth"));
	err = auth ? oci_b64_decode(auth, &up, &len) : -ENOENT;
	json_decref(j);
	if (err)
		return err;
	colon = strchr(up, ':');
	if (!colon) {
		free(up);
		return -EINVAL;
	}
	*colon = 0;
	*user = strdup(up);
	*pass = strdup(colon + 1);
	free(up);
	if (!*user || !*pass) {
		free(*user);
		free(*pass);
		return -ENOMEM;
	}
	return 0;
}

int oci_creds_set(const char *host, const char *user, const char *pass)
{
	char path[4096], tmp[4200], *up = NULL, *b64 = NULL, *dir;
	json_t *j, *auths, *e;
	int err, fd;

	err = creds_path(path, sizeof(path));
	if (err)
		return err;
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	*strrchr(dir, '/') = 0;
	if (mkdir(dir, 0700) && errno != EEXIST)
		err = -errno;
	free(dir);
	if (err)
		return err;
	j = json_load_file(path, 0, NULL);
	if (!j)
		j = json_object();
	auths = json_object_get(j, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(j, "auths", auths);
	}
	if (asprintf(&up, "%s:%s", user, pass) < 0) {
		up = NULL;
		err = -ENOMEM;
		goto out;
	}
	err = oci_b64_encode(up, strlen(up), &b64);
	if (err)
		goto out;
	e = json_pack("{s:s}", "auth", b64);
	if (!e || json_object_set_new(auths, host, e)) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (json_dumpfd(j, fd, JSON_INDENT(1)) || write(fd, "\n", 1) != 1 ||
	    fsync(fd))
		err = errno ? -errno : -EIO;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	if (up)
		explicit_bzero(up, strlen(up));
	free(up);
	free(b64);
	json_decref(j);
	return err;
}

/* Lines "HOST REPO" of store_dir/oci-repos, most recent first. */
#define REPOS_LINES 64

static int repos_read(const char *path, char **lines, size_t *n)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	*n = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (*n < REPOS_LINES && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = 0;
		lines[*n] = strdup(line);
		if (!lines[*n])
			break;
		(*n)++;
	}
	free(line);
	fclose(f);
	return 0;
}

static void repos_free(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
}

int oci_repos_load(const char *store_dir, const char *host,
		   char *out[OCI_REPOS_MAX], size_t *n)
{
	char path[4200], *lines[REPOS_LINES];
	size_t nl, hl = strlen(host);
	int err;

	snprintf(path, sizeof(path), "%s/oci-repos", store_dir);
	err = repos_read(path, lines, &nl);
	*n = 0;
	for (size_t i = 0; !err && i < nl && *n < OCI_REPOS_MAX; i++) {
		if (strncmp(lines[i], host, hl) || lines[i][hl] != ' ')
			continue;
		out[*n] = strdup(lines[i] + hl + 1);
		if (!out[*n])
			err = -ENOMEM;
		else
			(*n)++;
	}
	repos_free(lines, nl);
	return err;
}

int oci_repos_note(const char *store_dir, const char *host, const char *repo)
{
	char path[4200], tmp[4300], *lines[REPOS_LINES], *me;
	size_t nl;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/oci-repos", store_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	if (asprintf(&me, "%s %s", host, repo) < 0)
		return -ENOMEM;
	err = repos_read(path, lines, &nl);
	f = err ? NULL : fopen(tmp, "we");
	if (!err && !f)
		err = -errno;
	if (f) {
		fprintf(f, "%s\n", me);
		for (size_t i = 0; i < nl && i + 1 < REPOS_LINES; i++)
			if (strcmp(lines[i], me))
				fprintf(f, "%s\n", lines[i]);
		if (fclose(f) || rename(tmp, path))
			err = -errno;
		if (err)
			unlink(tmp);
	}
	repos_free(lines, nl);
	free(me);
	return err;
}
