/* SPDX-License-Identifier: MIT */
/*
 * req.c - PEP 508 requirements ("name[extras] specs ; marker" and
 * "name[extras] @ url ; marker") and PEP 503 names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg.h"

static bool alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool punct(int c)
{
	return c == '-' || c == '_' || c == '.';
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int pkg_name_normalize(const char *name, size_t nlen, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < nlen; i++) {
		char c = name[i];

		if (punct(c)) {
			while (i + 1 < nlen && punct(name[i + 1]))
				i++;
			c = '-';
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c + 32);
		}
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	if (!len)
		return -ENAMETOOLONG;
	out[o] = 0;
	return (int)o;
}

bool pkg_name_valid(const char *name, size_t nlen)
{
	size_t i;

	if (!nlen || nlen >= PKG_NAME_LEN || !alnum(name[0]) ||
	    !alnum(name[nlen - 1]))
		return false;
	for (i = 0; i < nlen; i++)
		if (!alnum(name[i]) && !punct(name[i]))
			return false;
	return true;
}

struct cur {
	const char *s;
	size_t i, n;
	char *err;
};

static void skip_ws(struct cur *c)
{
	while (c->i < c->n && is_space(c->s[c->i]))
		c->i++;
}

static int bad(struct cur *c, const char *what)
{
	if (c->err)
		snprintf(c->err, PKG_ERR_LEN, "invalid requirement '%.*s': %s",
			 (int)(c->n > 60 ? 60 : c->n), c->s, what);
	return -EINVAL;
}

/* An identifier: alnum (punct* alnum)*; returns its length. */
static size_t ident(struct cur *c)
{
	size_t start = c->i, end;

	if (c->i >= c->n || !alnum(c->s[c->i]))
		return 0;
	end = c->i;
	while (c->i < c->n && (alnum(c->s[c->i]) || punct(c->s[c->i]))) {
		if (alnum(c->s[c->i]))
			end = c->i + 1;
		c->i++;
	}
	c->i = end;
	return end - start;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int parse_extras(struct cur *c, struct pkg_req *r)
{
	size_t start, len, k;
	int err;

	skip_ws(c);
	if (c->i >= c->n || c->s[c->i] != '[')
		return 0;
	c->i++;
	skip_ws(c);
	if (c->i < c->n && c->s[c->i] == ']') {
		c->i++;
		return 0;
	}
	for (;;) {
		skip_ws(c);
		start = c->i;
		len = ident(c);
		if (!len)
			return bad(c, "bad extra");
		for (k = 0; k < r->nextras; k++)
			if (strlen(r->extras[k]) == len &&
			    !memcmp(r->extras[k], c->s + start, len))
				break;
		if (k == r->nextras) {
			err = pkg_strv_push(&r->extras, &r->nextras,
					    c->s + start, len);
			if (err)
				return err;
		}
		skip_ws(c);
		if (c->i < c->n && c->s[c->i] == ',') {
			c->i++;
			continue;
		}
		if (c->i < c->n && c->s[c->i] == ']') {
			c->i++;
			break;
		}
		return bad(c, "expected ',' or ']' in extras");
	}
	qsort(r->extras, r->nextras, sizeof(char *), cmp_str);
	return 0;
}

/* scheme ":" and, but for file:, "//" and a host */
static bool url_valid(const char *u, size_t n)
{
	size_t i = 0;

	if (!n ||
	    !((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z')))
		return false;
	while (i < n &&
	       (alnum(u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.'))
		i++;
	if (i >= n || u[i] != ':')
		return false;
	if (i == 4 && !strncmp(u, "file", 4))
		return true;
	return n > i + 3 && u[i + 1] == '/' && u[i + 2] == '/' &&
	       u[i + 3] != '/';
}

static int parse_url(struct cur *c, struct pkg_req *r)
{
	size_t start;

	c->i++; /* '@' */
	skip_ws(c);
	start = c->i;
	while (c->i < c->n && !is_space(c->s[c->i]))
		c->i++;
	if (!url_valid(c->s + start, c->i - start))
		return bad(c, "invalid URL");
	r->url = strndup(c->s + start, c->i - start);
	if (!r->url)
		return -ENOMEM;
	skip_ws(c);
	if (c->i < c->n && c->s[c->i] != ';')
		return bad(c, "expected ';' after URL");
	return 0;
}

/* A comma with nothing (but spaces) before or after it. */
static bool empty_item(const char *s, size_t len)
{
	size_t i, k, start = 0;
	bool any = false;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		for (k = start; k < i && is_space(s[k]); k++)
			;
		if (k == i && (i < len || any))
			return true;
		any = true;
		start = i + 1;
	}
	return false;
}

static int parse_specs(struct cur *c, struct pkg_req *r)
{
	size_t start, end;
	bool paren = false;
	int e;

	skip_ws(c);
	if (c->i < c->n && c->s[c->i] == '(') {
		paren = true;
		c->i++;
	}
	start = c->i;
	while (c->i < c->n && c->s[c->i] != ';' && c->s[c->i] != ')')
		c->i++;
	end = c->i;
	if (paren) {
		if (c->i >= c->n || c->s[c->i] != ')')
			return bad(c, "expected ')'");
		c->i++;
	} else if (c->i < c->n && c->s[c->i] == ')') {
		return bad(c, "unexpected ')'");
	}
	if (empty_item(c->s + start, end - start))
		return bad(c, "empty version specifier");
	e = pkg_specset_parse(c->s + start, end - start, &r->specs, NULL);
	if (e == -EINVAL)
		return bad(c, "invalid version specifier");
	return e;
}

int pkg_req_parse(const char *s, size_t len, struct pkg_req *out, char *err)
{
	struct cur c = {s, 0, len, err};
	struct pkg_req r;
	size_t start, nlen;
	int e;

	memset(&r, 0, sizeof(r));
	if (err)
		err[0] = 0;
	if (memchr(s, 0, len)) {
		e = bad(&c, "NUL byte");
		goto fail;
	}
	skip_ws(&c);
	start = c.i;
	nlen = ident(&c);
	if (!nlen || nlen >= PKG_NAME_LEN) {
		e = bad(&c, nlen ? "name too long" : "expected a name");
		goto fail;
	}
	memcpy(r.name, s + start, nlen);
	pkg_name_normalize(r.name, nlen, r.norm, sizeof(r.norm));
	e = parse_extras(&c, &r);
	if (e)
		goto fail;
	skip_ws(&c);
	if (c.i < c.n && c.s[c.i] == '@')
		e = parse_url(&c, &r);
	else
		e = parse_specs(&c, &r);
	if (e)
		goto fail;
	skip_ws(&c);
	if (c.i < c.n) {
		if (c.s[c.i] != ';') {
			e = bad(&c, "unexpected text");
			goto fail;
		}
		c.i++;
		e = pkg_marker_parse(s + c.i, len - c.i, &r.marker, err);
		if (e)
			goto fail;
	}
	*out = r;
	return 0;
fail:
	pkg_req_release(&r);
	return e;
}

void pkg_req_release(struct pkg_req *r)
{
	pkg_strv_free(r->extras, r->nextras);
	pkg_specset_release(&r->specs);
	free(r->url);
	pkg_marker_free(r->marker);
	memset(r, 0, sizeof(*r));
}

int pkg_req_format(const struct pkg_req *r, char *buf, size_t len)
{
	size_t o, k;
	int w;

	w = snprintf(buf, len, "%s", r->name);
	if (w < 0 || (size_t)w >= len)
		return -ENOSPC;
	o = (size_t)w;
	for (k = 0; k < r->nextras; k++) {
		w = snprintf(buf + o, len - o, "%s%s%s", k ? "," : "[",
			     r->extras[k], k + 1 == r->nextras ? "]" : "");
		if (w < 0 || (size_t)w >= len - o)
			return -ENOSPC;
		o += (size_t)w;
	}
	w = pkg_specset_format(&r->specs, buf + o, len - o);
	if (w < 0)
		return w;
	o += (size_t)w;
	if (r->url) {
		w = snprintf(buf + o, len - o, "@ %s%s", r->url,
			     r->marker ? " " : "");
		if (w < 0 || (size_t)w >= len - o)
			return -ENOSPC;
		o += (size_t)w;
	}
	if (r->marker) {
		if (o + 2 >= len)
			return -ENOSPC;
		memcpy(buf + o, "; ", 3);
		o += 2;
		w = pkg_marker_format(r->marker, buf + o, len - o);
		if (w < 0)
			return w;
		o += (size_t)w;
	}
	return (int)o;
}
