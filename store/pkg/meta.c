/* SPDX-License-Identifier: MIT */
/*
 * meta.c - core metadata (METADATA / PKG-INFO: RFC 822 headers read the
 * way Python's email parser reads them), egg-info requires.txt (read the
 * way pip turns it into Requires-Dist), and the record blastfs keeps per
 * installed distribution.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg.h"

static void set_err(char *err, const char *msg)
{
	if (err)
		snprintf(err, PKG_ERR_LEN, "%s", msg);
}

int pkg_strv_push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));
	char *copy;

	if (!nv)
		return -ENOMEM;
	*v = nv;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, len);
	copy[len] = 0;
	nv[(*n)++] = copy;
	return 0;
}

void pkg_strv_free(char **v, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		free(v[k]);
	free(v);
}

bool pkg_utf8_valid(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0, k, need;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];

		if (!c)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return false;
		if (len - i <= need)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 &&
		     (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += need + 1;
	}
	return true;
}

void pkg_meta_release(struct pkg_meta *m)
{
	free(m->name);
	free(m->version);
	pkg_strv_free(m->requires, m->nrequires);
	pkg_strv_free(m->extras, m->nextras);
	memset(m, 0, sizeof(*m));
}

static bool ws(char c)
{
	return c == ' ' || c == '\t';
}

/* A header's field name: printable ASCII but ':' and space. */
static bool field_char(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ':';
}

static bool field_is(const char *f, size_t fl, const char *name)
{
	size_t k;

	if (strlen(name) != fl)
		return false;
	for (k = 0; k < fl; k++) {
		char c = f[k] >= 'A' && f[k] <= 'Z' ? (char)(f[k] + 32) : f[k];

		if (c != name[k])
			return false;
	}
	return true;
}

/* The unfolded value of a header whose first line's value starts at
 * buf[vs] and whose continuation lines end at buf[end]; trimmed. */
static int take_value(const char *buf, size_t vs, size_t end, char **out)
{
	char *v = malloc(end - vs + 1);
	size_t i, o = 0;

	if (!v)
		return -ENOMEM;
	for (i = vs; i < end; i++)
		if (buf[i] != '\n' && buf[i] != '\r')
			v[o++] = buf[i];
	while (o && ws(v[o - 1]))
		o--;
	i = 0;
	while (i < o && ws(v[i]))
		i++;
	memmove(v, v + i, o - i);
	v[o - i] = 0;
	*out = v;
	return 0;
}

static size_t line_end(const char *buf, size_t i, size_t len)
{
	const char *nl = memchr(buf + i, '\n', len - i);

	return nl ? (size_t)(nl - buf) : len;
}

static int meta_field(struct pkg_meta *m, const char *f, size_t fl, char *v)
{
	char ***vec = NULL;
	size_t *n = NULL;
	int r;

	if (field_is(f, fl, "name") && !m->name) {
		m->name = v;
		return 0;
	}
	if (field_is(f, fl, "version") && !m->version) {
		m->version = v;
		return 0;
	}
	if (field_is(f, fl, "requires-dist"))
	vec = &m->requires, n = &m->nrequires;
	else if (field_is(f, fl, "provides-extra")) vec = &m->extras,
						    n = &m->nextras;
	if (!vec) {
		free(v);
		return 0;
	}
	r = pkg_strv_push(vec, n, v, strlen(v));
	free(v);
	return r;
}

int pkg_meta_parse(const char *buf, size_t len, struct pkg_meta *out, char *err)
{
	size_t i = 0, fe, vs, end;
	char *v;
	int r;

	memset(out, 0, sizeof(*out));
	if (!pkg_utf8_valid(buf, len)) {
		set_err(err, memchr(buf, 0, len) ? "NUL byte in metadata"
						 : "invalid UTF-8 in metadata");
		return -EINVAL;
	}
	while (i < len) {
		end = line_end(buf, i, len);
		if (end == i || (end == i + 1 && buf[i] == '\r'))
			break; /* empty line: the body follows */
		for (fe = i; fe < end && field_char((unsigned char)buf[fe]);
		     fe++)
			;
		if (fe == i || fe == end || buf[fe] != ':')
			break; /* not a header: the email parser's body */
		vs = fe + 1;
		/* continuation lines */
		while (end < len && end + 1 < len && ws(buf[end + 1]))
			end = line_end(buf, end + 1, len);
		r = take_value(buf, vs, end, &v);
		if (!r)
			r = meta_field(out, buf + i, fe - i, v);
		if (r) {
			pkg_meta_release(out);
			set_err(err, "out of memory");
			return r;
		}
		i = end + 1;
	}
	return 0;
}

/* pip's safe_extra: runs of [^A-Za-z0-9.-] become '_', lowercase. */
static void safe_extra(const char *s, size_t len, char *out, size_t olen)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < olen; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '-';

		if (!ok) {
			while (i + 1 < len) {
				char d = s[i + 1];
				if ((d >= 'a' && d <= 'z') ||
				    (d >= 'A' && d <= 'Z') ||
				    (d >= '0' && d <= '9') || d == '.' ||
				    d == '-')
					break;
				i++;
			}
			c = '_';
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c + 32);
		}
		out[o++] = c;
	}
	out[o] = 0;
}

static void trim(const char **s, size_t *len)
{
	while (*len && (ws(**s) || **s == '\r'))
		(*s)++, (*len)--;
	while (*len && (ws((*s)[*len - 1]) || (*s)[*len - 1] == '\r'))
		(*len)--;
}

int pkg_requires_txt_parse(const char *buf, size_t len, struct pkg_meta *m,
			   char *err)
{
	char extra[PKG_NAME_LEN] = "", marker[1024] = "", *line = NULL;
	bool add_reqs = m->nrequires == 0, add_extras = m->nextras == 0;
	size_t i = 0, end, l, colon, k;
	const char *s;
	int r = 0, w;

	if (!pkg_utf8_valid(buf, len)) {
		set_err(err, "invalid UTF-8 in requires.txt");
		return -EINVAL;
	}
	while (i < len && !r) {
		end = line_end(buf, i, len);
		s = buf + i;
		l = end - i;
		i = end + 1;
		trim(&s, &l);
		if (!l || s[0] == '#')
			continue;
		if (s[0] == '[' && s[l - 1] == ']') {
			while (l && (s[0] == '[' || s[0] == ']'))
				s++, l--;
			while (l && (s[l - 1] == '[' || s[l - 1] == ']'))
				l--;
			for (colon = 0; colon < l && s[colon] != ':'; colon++)
				;
			if (colon >= sizeof(extra) ||
			    l - colon >= sizeof(marker)) {
				set_err(err, "requires.txt section too long");
				return -EINVAL;
			}
			memcpy(extra, s, colon);
			extra[colon] = 0;
			marker[0] = 0;
			if (colon < l) {
				memcpy(marker, s + colon + 1, l - colon - 1);
				marker[l - colon - 1] = 0;
			}
			for (k = 0; add_extras && extra[0] && k < m->nextras;
			     k++)
				if (!strcmp(m->extras[k], extra))
					break;
			if (add_extras && extra[0] && k == m->nextras)
				r = pkg_strv_push(&m->extras, &m->nextras,
						  extra, strlen(extra));
			continue;
		}
		if (!add_reqs)
			continue;
		line = malloc(l + sizeof(marker) + PKG_NAME_LEN + 32);
		if (!line)
			return -ENOMEM;
		if (extra[0]) {
			char safe[PKG_NAME_LEN];

			safe_extra(extra, strlen(extra), safe, sizeof(safe));
			if (marker[0])
				w = snprintf(line,
					     l + sizeof(marker) + PKG_NAME_LEN +
						 32,
					     "%.*s ; (%s) and extra == \"%s\"",
					     (int)l, s, marker, safe);
			else
				w = snprintf(
				    line,
				    l + sizeof(marker) + PKG_NAME_LEN + 32,
				    "%.*s ; extra == \"%s\"", (int)l, s, safe);
		} else if (marker[0]) {
			w = snprintf(line,
				     l + sizeof(marker) + PKG_NAME_LEN + 32,
				     "%.*s ; %s", (int)l, s, marker);
		} else {
			w = snprintf(line,
				     l + sizeof(marker) + PKG_NAME_LEN + 32,
				     "%.*s", (int)l, s);
		}
		r = w < 0 ? -EINVAL
			  : pkg_strv_push(&m->requires, &m->nrequires, line,
					  (size_t)w);
		free(line);
	}
	return r;
}

/* ---- the per-distribution record ---- */

void pkg_dist_release(struct pkg_dist *d)
{
	free(d->name);
	free(d->norm);
	free(d->version);
	free(d->path);
	free(d->error);
	pkg_strv_free(d->requires, d->nrequires);
	pkg_strv_free(d->extras, d->nextras);
	memset(d, 0, sizeof(*d));
}

/* The name part of a dist-info/egg-info name: without the suffix, up to
 * the first '-' (a wheel's escaped name has none). */
static size_t path_name_len(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t l = dot ? (size_t)(dot - path) : strlen(path), k;

	for (k = 0; k < l && path[k] != '-'; k++)
		;
	return k;
}

int pkg_dist_from_meta(struct pkg_meta *m, const char *path, struct pkg_dist *d)
{
	char norm[PKG_NAME_LEN];
	const char *name = m->name;
	size_t nl = name ? strlen(name) : 0;
	int r;

	memset(d, 0, sizeof(*d));
	if (!nl) {
		name = path;
		nl = path_name_len(path);
	}
	r = pkg_name_normalize(name, nl, norm, sizeof(norm));
	if (r <= 0)
		return -EINVAL;
	d->name = strndup(name, nl);
	d->norm = strdup(norm);
	d->path = strdup(path);
	d->version = strdup(m->version ? m->version : "");
	if (!d->name || !d->norm || !d->path || !d->version) {
		pkg_dist_release(d);
		return -ENOMEM;
	}
	d->requires = m->requires;
	d->nrequires = m->nrequires;
	d->extras = m->extras;
	d->nextras = m->nextras;
	m->requires = m->extras = NULL;
	m->nrequires = m->nextras = 0;
	return 0;
}

struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static void buf_line(struct buf *b, char key, const char *val)
{
	size_t l = strlen(val);
	char *np;

	if (b->err)
		return;
	if (strchr(val, '\n')) {
		b->err = -EINVAL;
		return;
	}
	if (b->len + l + 4 > b->cap) {
		size_t cap = (b->cap + l + 4) * 2;

		np = realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	b->p[b->len++] = key;
	b->p[b->len++] = ' ';
	memcpy(b->p + b->len, val, l);
	b->len += l;
	b->p[b->len++] = '\n';
	b->p[b->len] = 0;
}

int pkg_record_encode(const struct pkg_dist *d, char **out, size_t *len)
{
	struct buf b = {0};
	size_t k;

	buf_line(&b, 'B', "blastpkg 1");
	buf_line(&b, 'N', d->name);
	buf_line(&b, 'V', d->version);
	buf_line(&b, 'P', d->path);
	for (k = 0; k < d->nextras; k++)
		buf_line(&b, 'E', d->extras[k]);
	for (k = 0; k < d->nrequires; k++)
		buf_line(&b, 'R', d->requires[k]);
	if (d->error)
		buf_line(&b, 'X', d->error);
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

static int set_str(char **dst, const char *s, size_t l)
{
	free(*dst);
	*dst = strndup(s, l);
	return *dst ? 0 : -ENOMEM;
}

int pkg_record_decode(const char *buf, size_t len, struct pkg_dist *d)
{
	static const char magic[] = "B blastpkg 1\n";
	char norm[PKG_NAME_LEN];
	size_t i = sizeof(magic) - 1, end, l;
	const char *v;
	int r = 0;

	memset(d, 0, sizeof(*d));
	if (len < i || memcmp(buf, magic, i) || memchr(buf, 0, len))
		return -EINVAL;
	while (i < len && !r) {
		end = line_end(buf, i, len);
		if (end - i < 2 || buf[i + 1] != ' ') {
			r = -EINVAL;
			break;
		}
		v = buf + i + 2;
		l = end - i - 2;
		switch (buf[i]) {
		case 'N':
			r = set_str(&d->name, v, l);
			break;
		case 'V':
			r = set_str(&d->version, v, l);
			break;
		case 'P':
			r = set_str(&d->path, v, l);
			break;
		case 'X':
			r = set_str(&d->error, v, l);
			break;
		case 'E':
			r = pkg_strv_push(&d->extras, &d->nextras, v, l);
			break;
		case 'R':
			r = pkg_strv_push(&d->requires, &d->nrequires, v, l);
			break;
		default:
			break; /* a later version's field */
		}
		i = end + 1;
	}
	if (!r && (!d->name || !d->version || !d->path))
		r = -EINVAL;
	if (!r && pkg_name_normalize(d->name, strlen(d->name), norm,
				     sizeof(norm)) <= 0)
		r = -EINVAL;
	if (!r)
		r = set_str(&d->norm, norm, strlen(norm));
	if (r)
		pkg_dist_release(d);
	return r;
}
