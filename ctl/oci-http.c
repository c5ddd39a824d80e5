/* SPDX-License-Identifier: MIT */
/*
 * oci-http.c - an OCI Distribution Spec client on one libcurl handle
 * (connections kept alive). A 401 is answered once from its
 * WWW-Authenticate challenge: Basic with the stored credentials, or
 * Bearer with a token fetched from the challenge's realm.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "oci.h"

#define ERR_BODY_MAX 4096

struct oci_client {
	CURL *curl;
	struct oci_ref ref;
	char base[300];	   /* scheme://host */
	char *auth;	   /* "Authorization: ..." header, or NULL */
	char *user, *pass; /* stored credentials, or NULL */
	char msg[512];	   /* why the last call failed */
	uint64_t sent, received;
};

/* One response: status, the headers we use and a body (memory or sink). */
struct resp {
	long status;
	char location[2048];
	char challenge[1024];
	char digest[OCI_DIGEST_LEN];
	unsigned char *body; /* non-2xx bodies, and 2xx ones without sink */
	size_t len, max;
	FILE *sink;	/* 2xx bodies go here when set */
	EVP_MD_CTX *md; /* and are hashed here when set */
	int err;
};

static void resp_release(struct resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static int fail(struct oci_client *cl, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct oci_client *cl, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cl->msg, sizeof(cl->msg), fmt, ap);
	va_end(ap);
	return err;
}

static void copy_value(char *dst, size_t dlen, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n && *v == ' ')
		v++, n--;
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, v, n);
	dst[n] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	static const struct {
		const char *name;
		size_t off, cap;
	} hs[] = {
	    {"location:", offsetof(struct resp, location), 2048},
	    {"www-authenticate:", offsetof(struct resp, challenge), 1024},
	    {"docker-content-digest:", offsetof(struct resp, digest),
	     OCI_DIGEST_LEN},
	};

	/* a new response (after a redirect or 100) starts afresh */
	if (len > 5 && !strncmp(p, "HTTP/", 5)) {
		r->location[0] = r->challenge[0] = r->digest[0] = 0;
		return len;
	}
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		size_t hl = strlen(hs[i].name);

		if (len > hl && !strncasecmp(p, hs[i].name, hl))
			copy_value((char *)r + hs[i].off, hs[i].cap, p + hl,
				   len - hl);
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	unsigned char *b;

	if (r->sink && r->status / 100 == 2) {
		if (fwrite(p, 1, len, r->sink) != len) {
			r->err = -errno;
			return 0;
		}
		if (r->md)
			EVP_DigestUpdate(r->md, p, len);
		return len;
	}
	if (r->len + len > r->max) {
		r->err = -EFBIG;
		return 0;
	}
	b = realloc(r->body, r->len + len + 1);
	if (!b) {
		r->err = -ENOMEM;
		return 0;
	}
	r->body = b;
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = 0;
	return len;
}

int oci_client_new(const struct oci_ref *r, struct oci_client **out)
{
	struct oci_client *cl = calloc(1, sizeof(*cl));
	int err;

	if (!cl)
		return -ENOMEM;
	cl->ref = *r;
	snprintf(cl->base, sizeof(cl->base), "%s://%s",
		 r->plain_http ? "http" : "https", r->host);
	err = oci_creds_get(r->host, &cl->user, &cl->pass);
	if (err && err != -ENOENT) {
		free(cl);
		return err;
	}
	cl->curl = curl_easy_init();
	if (!cl->curl) {
		free(cl->user);
		free(cl->pass);
		free(cl);
		return -ENOMEM;
	}
	*out = cl;
	return 0;
}

void oci_client_free(struct oci_client *cl)
{
	if (!cl)
		return;
	curl_easy_cleanup(cl->curl);
	free(cl->auth);
	free(cl->user);
	free(cl->pass);
	free(cl);
}

int oci_client_creds(struct oci_client *cl, const char *user, const char *pass)
{
	char *u = strdup(user), *pw = strdup(pass);

	if (!u || !pw) {
		free(u);
		free(pw);
		return -ENOMEM;
	}
	free(cl->user);
	free(cl->pass);
	cl->user = u;
	cl->pass = pw;
	return 0;
}

const char *oci_client_error(const struct oci_client *cl)
{
	return cl->msg[0] ? cl->msg : NULL;
}

void oci_client_bytes(const struct oci_client *cl, uint64_t *sent,
		      uint64_t *received)
{
	*sent = cl->sent;
	*received = cl->received;
}

/* The header callback runs before the body: it records the status so
 * on_body knows where a body goes. */
static size_t on_header_status(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	unsigned code;

	if (size * n > 12 && !strncmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', size * n);

		if (sp && sscanf(sp, " %u", &code) == 1)
			r->status = code;
	}
	return on_header(p, size, n, arg);
}

/* The options of one request on handle h (reset before). */
static void http_setopts(CURL *h, const char *method, const char *url,
			 struct curl_slist *hl, const void *body, size_t blen,
			 struct resp *r)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "blastctl/" BLAST_VERSION);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header_status);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "PUT") || !strcmp(method, "POST")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)blen);
	}
}

/* One request without retries. url: absolute. */
static int http_once(struct oci_client *cl, const char *method, const char *url,
		     const char *const *hdrs, const void *body, size_t blen,
		     struct resp *r)
{
	struct curl_slist *hl = NULL, *tmp;
	CURL *h = cl->curl;
	CURLcode rc;
	int err = 0;

	curl_easy_reset(h);
	for (size_t i = 0; hdrs && hdrs[i]; i++) {
		tmp = curl_slist_append(hl, hdrs[i]);
		if (!tmp)
			goto out_nomem;
		hl = tmp;
	}
	if (cl->auth) {
		tmp = curl_slist_append(hl, cl->auth);
		if (!tmp)
			goto out_nomem;
		hl = tmp;
	}
	tmp = curl_slist_append(hl, "Expect:");
	if (!tmp)
		goto out_nomem;
	hl = tmp;
	http_setopts(h, method, url, hl, body, blen, r);
	r->status = 0;
	rc = curl_easy_perform(h);
	if (r->err) {
		err = r->err;
		fail(cl, err, "%s %s: %s", method, url, strerror(-err));
	} else if (rc != CURLE_OK) {
		err = rc == CURLE_COULDNT_CONNECT	 ? -ECONNREFUSED
		      : rc == CURLE_OPERATION_TIMEDOUT	 ? -ETIMEDOUT
		      : rc == CURLE_COULDNT_RESOLVE_HOST ? -EHOSTUNREACH
							 : -EIO;
		fail(cl, err, "cannot reach registry '%s': %s", cl->ref.host,
		     curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (strcmp(method, "HEAD") && strcmp(method, "GET"))
			cl->sent += blen;
	}
	curl_slist_free_all(hl);
	return err;
out_nomem:
	curl_slist_free_all(hl);
	return -ENOMEM;
}

/* Value of key="..." in a challenge into out ("" if absent). */
static void challenge_param(const char *ch, const char *key, char *out,
			    size_t len)
{
	size_t kl = strlen(key);
	const char *p = ch;

	out[0] = 0;
	while ((p = strcasestr(p, key))) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[kl] == '=' &&
		    p[kl + 1] == '"') {
			const char *v = p + kl + 2, *e = strchr(v, '"');

			if (e)
				copy_value(out, len, v, (size_t)(e - v));
			return;
		}
		p += kl;
	}
}

static int set_auth(struct oci_client *cl, const char *kind, const char *cred)
{
	char *h;

	if (asprintf(&h, "Authorization: %s %s", kind, cred) < 0)
		return -ENOMEM;
	free(cl->auth);
	cl->auth = h;
	return 0;
}

static int basic_auth(struct oci_client *cl)
{
	char *up, *b64;
	int err;

	if (asprintf(&up, "%s:%s", cl->user, cl->pass) < 0)
		return -ENOMEM;
	err = oci_b64_encode(up, strlen(up), &b64);
	free(up);
	if (err)
		return err;
	err = set_auth(cl, "Basic", b64);
	free(b64);
	return err;
}

/* Fetch a bearer token for challenge ch from its realm. */
static int bearer_auth(struct oci_client *cl, const char *ch)
{
	char realm[1024], service[256], scope[512], *url = NULL, *es, *ec;
	struct resp r = {.max = 1 << 20};
	json_t *j = NULL, *tok;
	int err;

	challenge_param(ch, "realm", realm, sizeof(realm));
	challenge_param(ch, "service", service, sizeof(service));
	challenge_param(ch, "scope", scope, sizeof(scope));
	if (!realm[0])
		return fail(cl, -EPROTO,
			    "registry '%s' sent a bearer "
			    "challenge without a realm",
			    cl->ref.host);
	es = curl_easy_escape(cl->curl, service, 0);
	ec = curl_easy_escape(cl->curl, scope, 0);
	if (!es || !ec ||
	    asprintf(&url, "%s%sservice=%s&scope=%s", realm,
		     strchr(realm, '?') ? "&" : "?", es, ec) < 0)
		url = NULL;
	curl_free(es);
	curl_free(ec);
	if (!url)
		return -ENOMEM;
	free(cl->auth);
	cl->auth = NULL;
	if (cl->user && (err = basic_auth(cl)))
		goto out;
	err = http_once(cl, "GET", url, NULL, NULL, 0, &r);
	free(cl->auth);
	cl->auth = NULL;
	if (err)
		goto out;
	if (r.status == 401 || r.status == 403) {
		err =
		    fail(cl, -EACCES, "registry '%s' refused the credentials%s",
			 cl->ref.host,
			 cl->user ? "" : " (none stored: blastctl login)");
		goto out;
	}
	j = r.status == 200 ? json_loadb((char *)r.body, r.len, 0, NULL) : NULL;
	tok = json_object_get(j, "token");
	if (!json_is_string(tok))
		tok = json_object_get(j, "access_token");
	if (!json_is_string(tok)) {
		err = fail(cl, -EPROTO,
			   "token server '%s' answered %ld "
			   "without a token",
			   realm, r.status);
		goto out;
	}
	err = set_auth(cl, "Bearer", json_string_value(tok));
out:
	json_decref(j);
	resp_release(&r);
	free(url);
	return err;
}

/* A request; a 401 is answered once from its challenge. path: relative
 * to the base (starts with '/') or absolute. */
static int http_req(struct oci_client *cl, const char *method, const char *path,
		    const char *const *hdrs, const void *body, size_t blen,
		    struct resp *r)
{
	char url[4096];
	int err;

	if (strstr(path, "://"))
		snprintf(url, sizeof(url), "%s", path);
	else
		snprintf(url, sizeof(url), "%s%s", cl->base, path);
	for (int attempt = 0;; attempt++) {
		resp_release(r);
		if (r->sink &&
		    (fflush(r->sink) || ftruncate(fileno(r->sink), 0) ||
		     fseek(r->sink, 0, SEEK_SET)))
			return -errno;
		if (r->md)
			EVP_DigestInit_ex(r->md, EVP_sha256(), NULL);
		err = http_once(cl, method, url, hdrs, body, blen, r);
		if (err || r->status != 401)
			return err;
		if (attempt)
			break;
		if (!strncasecmp(r->challenge, "bearer", 6)) {
			err = bearer_auth(cl, r->challenge);
		} else if (!strncasecmp(r->challenge, "basic", 5) && cl->user) {
			err = basic_auth(cl);
		} else {
			break;
		}
		if (err)
			return err;
	}
	return fail(cl, -EACCES, "registry '%s' refused %s%s", cl->ref.host,
		    cl->auth ? "the credentials" : "access without credentials",
		    cl->user ? "" : " (blastctl login HOST)");
}

/* An unexpected status: say which, with the registry's error code. */
static int bad_status(struct oci_client *cl, const char *what, struct resp *r)
{
	json_t *j =
	    r->body ? json_loadb((char *)r->body, r->len, 0, NULL) : NULL;
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e0, "code"));
	const char *msg = json_string_value(json_object_get(e0, "message"));
	int err = r->status == 404   ? -ENOENT
		  : r->status == 403 ? -EACCES
				     : -EPROTO;

	fail(cl, err, "%s: registry answered %ld%s%s%s%s", what, r->status,
	     code ? " " : "", code ? code : "", msg ? ": " : "",
	     msg ? msg : "");
	json_decref(j);
	return err;
}

int oci_ping(struct oci_client *cl)
{
	struct resp r = {.max = ERR_BODY_MAX};
	int err = http_req(cl, "GET", "/v2/", NULL, NULL, 0, &r);

	if (!err && r.status != 200)
		err = bad_status(cl, "GET /v2/", &r);
	resp_release(&r);
	return err;
}

int oci_blob_exists(struct oci_client *cl, const char *digest)
{
	struct resp r = {.max = ERR_BODY_MAX};
	char path[600];
	int err;

	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", cl->ref.repo, digest);
	err = http_req(cl, "HEAD", path, NULL, NULL, 0, &r);
	if (!err)
		err = r.status == 200	? 1
		      : r.status == 404 ? 0
					: bad_status(cl, "HEAD blob", &r);
	resp_release(&r);
	return err;
}

/* POST an upload, mounting from one of `from` where the registry allows:
 * 1 when a mount made the blob, else 0 with the upload's Location in r. */
static int upload_start(struct oci_client *cl, const char *digest,
			const char *const *from, size_t nfrom, struct resp *r)
{
	char path[1200];
	int err;

	for (size_t i = 0; i <= nfrom; i++) {
		if (i == nfrom && r->location[0])
			return 0; /* the last refused mount opened an upload */
		if (i < nfrom && !strcmp(from[i], cl->ref.repo))
			continue;
		if (i < nfrom)
			snprintf(path, sizeof(path),
				 "/v2/%s/blobs/uploads/?mount=%s&from=%s",
				 cl->ref.repo, digest, from[i]);
		else
			snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/",
				 cl->ref.repo);
		err = http_req(cl, "POST", path, NULL, NULL, 0, r);
		if (err)
			return err;
		if (r->status == 201 && i < nfrom)
			return 1;
		if (r->status != 202 || !r->location[0])
			return bad_status(cl, "start upload", r);
	}
	return 0;
}

int oci_blob_upload(struct oci_client *cl, const char *digest, const void *data,
		    size_t len, const char *const *from, size_t nfrom)
{
	static const char *const hdrs[] = {
	    "Content-Type: application/octet-stream", NULL};
	struct resp r = {.max = ERR_BODY_MAX};
	char *put = NULL;
	int err;

	err = upload_start(cl, digest, from, nfrom, &r);
	if (err == 1) {
		resp_release(&r);
		return 1;
	}
	if (!err && asprintf(&put, "%s%s%cdigest=%s",
			     r.location[0] == '/' ? cl->base : "", r.location,
			     strchr(r.location, '?') ? '&' : '?', digest) < 0) {
		put = NULL;
		err = -ENOMEM;
	}
	if (!err)
		err = http_req(cl, "PUT", put, hdrs, data, len, &r);
	if (!err && r.status != 201)
		err = bad_status(cl, "upload blob", &r);
	free(put);
	resp_release(&r);
	return err;
}

int oci_blob_get(struct oci_client *cl, const char *digest, size_t max,
		 void **out, size_t *len)
{
	struct resp r = {.max = max};
	char path[600], got[OCI_DIGEST_LEN];
	int err;

	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", cl->ref.repo, digest);
	err = http_req(cl, "GET", path, NULL, NULL, 0, &r);
	if (!err && r.status != 200)
		err = bad_status(cl, "GET blob", &r);
	if (!err) {
		cl->received += r.len;
		oci_sha256(r.body ? r.body : (unsigned char *)"", r.len, got);
		if (strcmp(got, digest))
			err = fail(cl, -EBADMSG,
				   "blob %s from '%s' has digest %s: refused",
				   digest, cl->ref.host, got);
	}
	if (!err) {
		*out = r.body ? r.body : calloc(1, 1);
		*len = r.len;
		return *out ? 0 : -ENOMEM;
	}
	resp_release(&r);
	return err;
}

static void md_hex(EVP_MD_CTX *md, char out[OCI_DIGEST_LEN])
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_DigestFinal_ex(md, h, &n);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", h[i]);
}

int oci_blob_get_file(struct oci_client *cl, const char *digest,
		      const char *path)
{
	struct resp r = {.max = ERR_BODY_MAX};
	char url[600], tmp[4200], got[OCI_DIGEST_LEN];
	long size;
	int err = 0;

	snprintf(url, sizeof(url), "/v2/%s/blobs/%s", cl->ref.repo, digest);
	snprintf(tmp, sizeof(tmp), "%s.part", path);
	r.sink = fopen(tmp, "w+e");
	if (!r.sink)
		return fail(cl, -errno, "cannot write '%s': %s", tmp,
			    strerror(errno));
	r.md = EVP_MD_CTX_new();
	if (!r.md) {
		err = -ENOMEM;
		goto out;
	}
	err = http_req(cl, "GET", url, NULL, NULL, 0, &r);
	if (!err && r.status != 200)
		err = bad_status(cl, "GET blob", &r);
	if (err)
		goto out;
	md_hex(r.md, got);
	if (strcmp(got, digest)) {
		err = fail(cl, -EBADMSG,
			   "blob %s from '%s' has digest %s: refused", digest,
			   cl->ref.host, got);
		goto out;
	}
	size = ftell(r.sink);
	cl->received += size > 0 ? (uint64_t)size : 0;
	if (fflush(r.sink) || fsync(fileno(r.sink)) || rename(tmp, path))
		err = fail(cl, -errno, "cannot write '%s': %s", path,
			   strerror(errno));
out:
	EVP_MD_CTX_free(r.md);
	fclose(r.sink);
	if (err)
		unlink(tmp);
	resp_release(&r);
	return err;
}

int oci_manifest_put(struct oci_client *cl, const char *tag, const char *body,
		     size_t len)
{
	static const char *const hdrs[] = {"Content-Type: " OCI_MANIFEST_TYPE,
					   NULL};
	struct resp r = {.max = ERR_BODY_MAX};
	char path[600];
	int err;

	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", cl->ref.repo, tag);
	err = http_req(cl, "PUT", path, hdrs, body, len, &r);
	if (!err && r.status != 201)
		err = bad_status(cl, "PUT manifest", &r);
	resp_release(&r);
	return err;
}

int oci_manifest_get(struct oci_client *cl, const struct oci_ref *ref,
		     char **out, size_t *len, char digest[OCI_DIGEST_LEN])
{
	static const char *const hdrs[] = {"Accept: " OCI_MANIFEST_TYPE, NULL};
	struct resp r = {.max = 4 << 20};
	char path[600], what[400];
	int err;

	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", ref->repo,
		 ref->digest[0] ? ref->digest : ref->tag);
	err = http_req(cl, "GET", path, hdrs, NULL, 0, &r);
	if (!err && r.status == 404) {
		resp_release(&r);
		return fail(cl, -ENOENT, "no manifest '%s' in '%s/%s'",
			    ref->digest[0] ? ref->digest : ref->tag, ref->host,
			    ref->repo);
	}
	snprintf(what, sizeof(what), "GET manifest of '%s'", ref->repo);
	if (!err && r.status != 200)
		err = bad_status(cl, what, &r);
	if (!err) {
		oci_sha256(r.body ? r.body : (unsigned char *)"", r.len,
			   digest);
		if ((ref->digest[0] && strcmp(digest, ref->digest)) ||
		    (r.digest[0] && strcmp(digest, r.digest)))
			err = fail(cl, -EBADMSG,
				   "manifest from '%s' has digest %s: refused",
				   ref->host, digest);
	}
	if (!err && !r.body)
		err = fail(cl, -EPROTO, "empty manifest from '%s'", ref->host);
	if (err) {
		resp_release(&r);
		return err;
	}
	cl->received += r.len;
	*out = (char *)r.body;
	*len = r.len;
	return 0;
}
