/* SPDX-License-Identifier: MIT */
/*
 * spec.c - PEP 440 version specifiers: which spellings each operator
 * accepts, prefix (.*) and compatible-release matching, the exclusive
 * ordered comparisons' pre-/post-release and local rules, and sets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg.h"

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static const char *const op_text[] = {
    [PKG_OP_EQ] = "==",	    [PKG_OP_NE] = "!=",		[PKG_OP_LE] = "<=",
    [PKG_OP_GE] = ">=",	    [PKG_OP_LT] = "<",		[PKG_OP_GT] = ">",
    [PKG_OP_COMPAT] = "~=", [PKG_OP_ARBITRARY] = "===",
};

static int scan_op(const char *s, size_t len, enum pkg_op *op)
{
	/* longest first */
	static const enum pkg_op order[] = {
	    PKG_OP_ARBITRARY, PKG_OP_EQ,     PKG_OP_NE, PKG_OP_LE,
	    PKG_OP_GE,	      PKG_OP_COMPAT, PKG_OP_LT, PKG_OP_GT,
	};
	size_t k, n;

	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		n = strlen(op_text[order[k]]);
		if (len >= n && !memcmp(s, op_text[order[k]], n)) {
			*op = order[k];
			return (int)n;
		}
	}
	return -1;
}

int pkg_spec_parse(const char *s, size_t len, struct pkg_spec *out, char *err)
{
	size_t i = 0, vlen;
	const char *v;
	int n;

	memset(out, 0, sizeof(*out));
	while (len && is_space(*s))
		s++, len--;
	while (len && is_space(s[len - 1]))
		len--;
	n = scan_op(s, len, &out->op);
	if (n < 0) {
		if (err)
			snprintf(err, PKG_ERR_LEN,
				 "invalid specifier '%.*s': no operator",
				 (int)(len > 40 ? 40 : len), s);
		return -EINVAL;
	}
	for (i = (size_t)n; i < len && is_space(s[i]); i++)
		;
	v = s + i;
	vlen = len - i;
	if (!vlen || vlen >= sizeof(out->ver))
		goto bad;
	for (i = 0; i < vlen; i++)
		if (is_space(v[i]) || !v[i])
			goto bad;
	memcpy(out->ver, v, vlen);
	out->ver[vlen] = 0;
	if (out->op == PKG_OP_ARBITRARY)
		return 0;
	if ((out->op == PKG_OP_EQ || out->op == PKG_OP_NE) && vlen > 2 &&
	    !memcmp(v + vlen - 2, ".*", 2)) {
		out->wildcard = true;
		vlen -= 2;
		out->ver[vlen] = 0;
	}
	if (pkg_version_parse(v, vlen, &out->v, NULL))
		goto bad;
	/* only == and != take a local label; ~= needs two components */
	if (out->v.local[0] &&
	    (out->wildcard || (out->op != PKG_OP_EQ && out->op != PKG_OP_NE)))
		goto bad;
	if (out->op == PKG_OP_COMPAT && out->v.nrelease < 2)
		goto bad;
	return 0;
bad:
	if (err)
		snprintf(err, PKG_ERR_LEN, "invalid specifier '%.*s'",
			 (int)(len > 60 ? 60 : len), s);
	return -EINVAL;
}

/* ---- prefix matching: packaging splits the specifier's text as written
 * and the candidate's normalized text ---- */

struct items {
	const char *p[PKG_VERSION_LEN / 2 + 4];
	size_t l[PKG_VERSION_LEN / 2 + 4];
	size_t n;
};

static bool all_digits(const char *p, size_t l)
{
	size_t k;

	for (k = 0; k < l; k++)
		if (p[k] < '0' || p[k] > '9')
			return false;
	return l > 0;
}

/* Length of an "a1"/"rc2"-like pre-release item's label, or 0. */
static size_t pre_label(const char *p, size_t l)
{
	size_t n = l >= 2 && p[0] == 'r' && p[1] == 'c'			   ? 2
		   : l >= 1 && (p[0] == 'a' || p[0] == 'b' || p[0] == 'c') ? 1
									   : 0;

	return n && all_digits(p + n, l - n) ? n : 0;
}

/* Split on '.', and "1rc2"-like items into "1", "rc2". */
static void split(const char *s, struct items *it)
{
	it->n = 0;
	while (it->n + 2 < sizeof(it->p) / sizeof(it->p[0])) {
		size_t l = strcspn(s, "."), d = 0;

		while (d < l && s[d] >= '0' && s[d] <= '9')
			d++;
		if (d && d < l && pre_label(s + d, l - d)) {
			it->p[it->n] = s;
			it->l[it->n++] = d;
			it->p[it->n] = s + d;
			it->l[it->n++] = l - d;
		} else {
			it->p[it->n] = s;
			it->l[it->n++] = l;
		}
		if (!s[l])
			break;
		s += l + 1;
	}
}

static size_t release_len(const struct items *it, size_t n)
{
	size_t k = 0;

	while (k < n && all_digits(it->p[k], it->l[k]))
		k++;
	return k;
}

/* spec's items (the first ns) against the first ns of v's, with their
 * release parts padded with "0" to the same length. */
static bool prefix_match(const struct items *spec, size_t ns,
			 const struct items *v)
{
	size_t nv = v->n < ns ? v->n : ns;
	size_t rs = release_len(spec, ns), rv = release_len(v, nv);
	size_t r = rs > rv ? rs : rv, k;

	if (ns - rs != nv - rv)
		return false;
	for (k = 0; k < r; k++) {
		const char *a = k < rs ? spec->p[k] : "0";
		size_t al = k < rs ? spec->l[k] : 1;
		const char *b = k < rv ? v->p[k] : "0";
		size_t bl = k < rv ? v->l[k] : 1;

		if (al != bl || memcmp(a, b, al))
			return false;
	}
	for (k = 0; k < ns - rs; k++)
		if (spec->l[rs + k] != v->l[rv + k] ||
		    memcmp(spec->p[rs + k], v->p[rv + k], spec->l[rs + k]))
			return false;
	return true;
}

static void public_str(const struct pkg_version *v, char *buf, size_t len)
{
	struct pkg_version p = *v;

	p.local[0] = 0;
	snprintf(buf, len, "%s", p.str);
	if (v->local[0]) {
		char *plus = strchr(buf, '+');
		if (plus)
			*plus = 0;
	}
}

static bool wildcard_eq(const char *prefix, const struct pkg_version *v)
{
	static _Thread_local struct items a, b;
	char vs[PKG_VERSION_LEN];

	public_str(v, vs, sizeof(vs));
	split(prefix, &a);
	split(vs, &b);
	return prefix_match(&a, a.n, &b);
}

static bool is_suffix(const char *p, size_t l)
{
	static const char *const sfx[] = {"dev", "a", "b", "rc", "post"};
	size_t k, n;

	for (k = 0; k < 5; k++) {
		n = strlen(sfx[k]);
		if (l >= n && !memcmp(p, sfx[k], n))
			return true;
	}
	return false;
}

/* ~=V: >=V and ==P.* where P is V's release without its last part. */
static bool compat_match(const struct pkg_spec *s, const struct pkg_version *v)
{
	static _Thread_local struct items a, b;
	char vs[PKG_VERSION_LEN];
	size_t n = 0;

	if (pkg_version_cmp(v, &s->v) < 0)
		return false;
	split(s->ver, &a);
	while (n < a.n && !is_suffix(a.p[n], a.l[n]))
		n++;
	if (n)
		n--;
	public_str(v, vs, sizeof(vs));
	split(vs, &b);
	return prefix_match(&a, n, &b);
}

static void base_of(const struct pkg_version *v, struct pkg_version *out)
{
	*out = *v;
	out->pre_l = 0;
	out->has_post = out->has_dev = false;
	out->pre = out->post = out->dev = 0;
	out->local[0] = 0;
}

static bool same_base(const struct pkg_version *a, const struct pkg_version *b)
{
	struct pkg_version x, y;

	base_of(a, &x);
	base_of(b, &y);
	return pkg_version_cmp(&x, &y) == 0;
}

static bool spec_prereleases(const struct pkg_spec *s)
{
	struct pkg_version v;

	switch (s->op) {
	case PKG_OP_ARBITRARY:
		return !pkg_version_parse(s->ver, strlen(s->ver), &v, NULL) &&
		       pkg_version_is_prerelease(&v);
	case PKG_OP_EQ:
	case PKG_OP_GE:
	case PKG_OP_LE:
	case PKG_OP_COMPAT:
		return pkg_version_is_prerelease(&s->v);
	default:
		return false;
	}
}

static bool op_match(const struct pkg_spec *s, const struct pkg_version *v)
{
	struct pkg_version pub = *v;
	int c;

	pub.local[0] = 0;
	switch (s->op) {
	case PKG_OP_EQ:
	case PKG_OP_NE:
		if (s->wildcard)
			c = wildcard_eq(s->ver, v);
		else
			c = pkg_version_cmp(s->v.local[0] ? v : &pub, &s->v) ==
			    0;
		return s->op == PKG_OP_EQ ? c : !c;
	case PKG_OP_LE:
		return pkg_version_cmp(&pub, &s->v) <= 0;
	case PKG_OP_GE:
		return pkg_version_cmp(&pub, &s->v) >= 0;
	case PKG_OP_LT:
		if (pkg_version_cmp(v, &s->v) >= 0)
			return false;
		return pkg_version_is_prerelease(&s->v) ||
		       !pkg_version_is_prerelease(v) || !same_base(v, &s->v);
	case PKG_OP_GT:
		if (pkg_version_cmp(v, &s->v) <= 0)
			return false;
		if (!s->v.has_post && v->has_post && same_base(v, &s->v))
			return false;
		return !(v->local[0] && same_base(v, &s->v));
	case PKG_OP_COMPAT:
		return compat_match(s, v);
	default:
		return false;
	}
}

static bool ci_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int x = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a;
		int y = *b >= 'A' && *b <= 'Z' ? *b + 32 : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

bool pkg_spec_contains(const struct pkg_spec *spec, const struct pkg_version *v,
		       bool prereleases)
{
	if (!prereleases && pkg_version_is_prerelease(v) &&
	    !spec_prereleases(spec))
		return false;
	if (spec->op == PKG_OP_ARBITRARY)
		return ci_equal(v->str, spec->ver);
	if (v->legacy)
		return false;
	return op_match(spec, v);
}

bool pkg_specset_contains(const struct pkg_specset *s,
			  const struct pkg_version *v, bool prereleases)
{
	size_t k;
	bool pre = prereleases;

	for (k = 0; !pre && k < s->n; k++)
		pre = spec_prereleases(&s->v[k]);
	if (!pre && pkg_version_is_prerelease(v))
		return false;
	for (k = 0; k < s->n; k++)
		if (!pkg_spec_contains(&s->v[k], v, pre))
			return false;
	return true;
}

static int spec_text(const struct pkg_spec *s, char *buf, size_t len)
{
	return snprintf(buf, len, "%s%s%s", op_text[s->op], s->ver,
			s->wildcard ? ".*" : "");
}

static bool spec_same(const struct pkg_spec *a, const struct pkg_spec *b)
{
	return a->op == b->op && a->wildcard == b->wildcard &&
	       !strcmp(a->ver, b->ver);
}

int pkg_specset_parse(const char *s, size_t len, struct pkg_specset *out,
		      char *err)
{
	struct pkg_specset set = {0};
	struct pkg_spec one, *nv;
	size_t i = 0, j, k;
	int r;

	while (i <= len) {
		for (j = i; j < len && s[j] != ','; j++)
			;
		for (k = i; k < j && is_space(s[k]); k++)
			;
		if (k < j) {
			r = pkg_spec_parse(s + i, j - i, &one, err);
			if (r)
				goto fail;
			for (k = 0; k < set.n && !spec_same(&set.v[k], &one);
			     k++)
				;
			if (k == set.n) {
				nv = realloc(set.v, (set.n + 1) * sizeof(*nv));
				if (!nv) {
					r = -ENOMEM;
					goto fail;
				}
				set.v = nv;
				set.v[set.n++] = one;
			}
		}
		i = j + 1;
	}
	*out = set;
	return 0;
fail:
	free(set.v);
	return r;
}

void pkg_specset_release(struct pkg_specset *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int cmp_text(const void *a, const void *b)
{
	char x[PKG_VERSION_LEN + 8], y[PKG_VERSION_LEN + 8];

	spec_text(*(const struct pkg_spec *const *)a, x, sizeof(x));
	spec_text(*(const struct pkg_spec *const *)b, y, sizeof(y));
	return strcmp(x, y);
}

int pkg_specset_format(const struct pkg_specset *s, char *buf, size_t len)
{
	const struct pkg_spec **p;
	size_t o = 0, k;
	int w;

	if (len)
		buf[0] = 0;
	if (!s->n)
		return 0;
	p = malloc(s->n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (k = 0; k < s->n; k++)
		p[k] = &s->v[k];
	qsort(p, s->n, sizeof(*p), cmp_text);
	for (k = 0; k < s->n; k++) {
		if (k) {
			if (o + 1 >= len)
				goto full;
			buf[o++] = ',';
			buf[o] = 0;
		}
		w = spec_text(p[k], buf + o, len - o);
		if (w < 0 || (size_t)w >= len - o)
			goto full;
		o += (size_t)w;
	}
	free(p);
	return (int)o;
full:
	free(p);
	return -ENOSPC;
}
