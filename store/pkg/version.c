/* SPDX-License-Identifier: MIT */
/*
 * version.c - PEP 440 versions: a hand-written scanner for the spelling
 * PEP 440 accepts (case-insensitive, optional separators, implicit
 * numbers), the normalized string, and the ordering key PEP 440 defines
 * (dev before pre before final before post; local labels after).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pkg.h"

#define NUM_MAX 1000000000000000000ull

struct scan {
	const char *s;
	size_t i, n;
};

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static void set_err(char *err, const char *msg)
{
	if (err)
		snprintf(err, PKG_ERR_LEN, "%s", msg);
}

/* Digits at the cursor as a number; -1 if none, -2 if too large. */
static int scan_num(struct scan *sc, uint64_t *out)
{
	uint64_t v = 0;
	size_t start = sc->i;

	while (sc->i < sc->n && is_digit(sc->s[sc->i])) {
		v = v * 10 + (uint64_t)(sc->s[sc->i] - '0');
		if (v >= NUM_MAX)
			return -2;
		sc->i++;
	}
	if (sc->i == start)
		return -1;
	*out = v;
	return 0;
}

/* Case-insensitive keyword at the cursor (consumed when it matches). */
static bool scan_word(struct scan *sc, const char *w)
{
	size_t k = strlen(w), j;

	if (sc->n - sc->i < k)
		return false;
	for (j = 0; j < k; j++)
		if (lower(sc->s[sc->i + j]) != w[j])
			return false;
	sc->i += k;
	return true;
}

static bool scan_sep(struct scan *sc)
{
	if (sc->i < sc->n && (sc->s[sc->i] == '-' || sc->s[sc->i] == '_' ||
			      sc->s[sc->i] == '.')) {
		sc->i++;
		return true;
	}
	return false;
}

/* An optional [-_.]?N after a label: the number, 0 if absent. */
static int scan_label_num(struct scan *sc, uint64_t *out)
{
	size_t save = sc->i;
	int r;

	scan_sep(sc);
	r = scan_num(sc, out);
	if (r == -2)
		return r;
	if (r == -1) {
		sc->i = save;
		*out = 0;
	}
	return 0;
}

static int scan_pre(struct scan *sc, struct pkg_version *v)
{
	/* longest spellings first */
	static const struct {
		const char *w;
		char l;
	} pre[] = {{"preview", 'c'}, {"alpha", 'a'}, {"beta", 'b'},
		   {"pre", 'c'},     {"rc", 'c'},    {"a", 'a'},
		   {"b", 'b'},	     {"c", 'c'}};
	size_t save = sc->i, k;

	scan_sep(sc);
	for (k = 0; k < sizeof(pre) / sizeof(pre[0]); k++) {
		if (scan_word(sc, pre[k].w)) {
			v->pre_l = pre[k].l;
			return scan_label_num(sc, &v->pre);
		}
	}
	sc->i = save;
	return 0;
}

static int scan_post(struct scan *sc, struct pkg_version *v)
{
	size_t save = sc->i;
	int r;

	if (sc->i < sc->n && sc->s[sc->i] == '-') {
		sc->i++;
		r = scan_num(sc, &v->post);
		if (r == -2)
			return r;
		if (r == 0) {
			v->has_post = true;
			return 0;
		}
		sc->i = save;
	}
	scan_sep(sc);
	if (scan_word(sc, "post") || scan_word(sc, "rev") ||
	    scan_word(sc, "r")) {
		v->has_post = true;
		return scan_label_num(sc, &v->post);
	}
	sc->i = save;
	return 0;
}

static int scan_dev(struct scan *sc, struct pkg_version *v)
{
	size_t save = sc->i;

	scan_sep(sc);
	if (scan_word(sc, "dev")) {
		v->has_dev = true;
		return scan_label_num(sc, &v->dev);
	}
	sc->i = save;
	return 0;
}

static bool is_alnum_lc(int c)
{
	c = lower(c);
	return is_digit(c) || (c >= 'a' && c <= 'z');
}

/* "+label" with [-_.] separators, normalized to '.', lowercase, and
 * numeric segments without leading zeros. */
static int scan_local(struct scan *sc, struct pkg_version *v)
{
	size_t o = 0, seg = 0;

	if (sc->i >= sc->n || sc->s[sc->i] != '+')
		return 0;
	sc->i++;
	for (;;) {
		size_t start = sc->i, k;
		bool digits = true;

		while (sc->i < sc->n && is_alnum_lc(sc->s[sc->i])) {
			digits = digits && is_digit(sc->s[sc->i]);
			sc->i++;
		}
		if (sc->i == start)
			return -1;
		if (digits)
			while (sc->i - start > 1 && sc->s[start] == '0')
				start++;
		if (o + (sc->i - start) + 2 >= sizeof(v->local))
			return -1;
		if (seg++)
			v->local[o++] = '.';
		for (k = start; k < sc->i; k++)
			v->local[o++] = (char)lower(sc->s[k]);
		if (sc->i < sc->n &&
		    (sc->s[sc->i] == '-' || sc->s[sc->i] == '_' ||
		     sc->s[sc->i] == '.'))
			sc->i++;
		else
			break;
	}
	v->local[o] = 0;
	return 0;
}

static int format(struct pkg_version *v)
{
	static const char *pre[] = {['a'] = "a", ['b'] = "b", ['c'] = "rc"};
	char *b = v->str;
	size_t len = sizeof(v->str), o = 0;
	unsigned k;
	int w;

#define PUT(...)                                                               \
	do {                                                                   \
		w = snprintf(b + o, len - o, __VA_ARGS__);                     \
		if (w < 0 || (size_t)w >= len - o)                             \
			return -1;                                             \
		o += (size_t)w;                                                \
	} while (0)
	if (v->epoch)
		PUT("%llu!", (unsigned long long)v->epoch);
	for (k = 0; k < v->nrelease; k++)
		PUT("%s%llu", k ? "." : "", (unsigned long long)v->release[k]);
	if (v->pre_l)
		PUT("%s%llu", pre[(int)v->pre_l], (unsigned long long)v->pre);
	if (v->has_post)
		PUT(".post%llu", (unsigned long long)v->post);
	if (v->has_dev)
		PUT(".dev%llu", (unsigned long long)v->dev);
	if (v->local[0])
		PUT("+%s", v->local);
#undef PUT
	return 0;
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_space((*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_space((*s)[*len - 1]))
		(*len)--;
}

int pkg_version_parse(const char *s, size_t len, struct pkg_version *out,
		      char *err)
{
	struct scan sc;
	uint64_t num;
	size_t save;
	int r;

	memset(out, 0, sizeof(*out));
	trim(&s, &len);
	sc = (struct scan){s, 0, len};
	if (len >= PKG_VERSION_LEN) {
		set_err(err, "version too long");
		return -EINVAL;
	}
	if (sc.i < sc.n && lower(s[sc.i]) == 'v')
		sc.i++;
	save = sc.i;
	r = scan_num(&sc, &num);
	if (r == 0 && sc.i < sc.n && s[sc.i] == '!') {
		out->epoch = num;
		sc.i++;
	} else {
		sc.i = save;
	}
	do {
		if (out->nrelease == PKG_RELEASE_MAX) {
			set_err(err, "too many release components");
			return -EINVAL;
		}
		r = scan_num(&sc, &out->release[out->nrelease]);
		if (r)
			goto bad;
		out->nrelease++;
		if (sc.i + 1 < sc.n && s[sc.i] == '.' && is_digit(s[sc.i + 1]))
			sc.i++;
		else
			break;
	} while (1);
	if (scan_pre(&sc, out) || scan_post(&sc, out) || scan_dev(&sc, out) ||
	    scan_local(&sc, out) || sc.i != sc.n)
		goto bad;
	if (format(out))
		goto bad;
	return 0;
bad:
	set_err(err, r == -2 ? "version number too large" : "invalid version");
	return -EINVAL;
}

int pkg_version_parse_any(const char *s, size_t len, struct pkg_version *out,
			  char *err)
{
	if (pkg_version_parse(s, len, out, NULL) == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	trim(&s, &len);
	if (!len || len >= PKG_VERSION_LEN || memchr(s, 0, len)) {
		set_err(err, len ? "invalid version" : "empty version");
		return -EINVAL;
	}
	out->legacy = true;
	memcpy(out->str, s, len);
	out->str[len] = 0;
	return 0;
}

bool pkg_version_is_prerelease(const struct pkg_version *v)
{
	return !v->legacy && (v->pre_l || v->has_dev);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* Release compared with trailing zeros ignored. */
static int cmp_release(const struct pkg_version *a, const struct pkg_version *b)
{
	unsigned n = a->nrelease > b->nrelease ? a->nrelease : b->nrelease, k;
	int c;

	for (k = 0; k < n; k++) {
		c = cmp_u64(k < a->nrelease ? a->release[k] : 0,
			    k < b->nrelease ? b->release[k] : 0);
		if (c)
			return c;
	}
	return 0;
}

/* Pre-release rank: dev-only sorts first, then pre-releases, then none. */
static int cmp_pre(const struct pkg_version *a, const struct pkg_version *b)
{
	int ra = a->pre_l ? 1 : (!a->has_post && a->has_dev) ? 0 : 2;
	int rb = b->pre_l ? 1 : (!b->has_post && b->has_dev) ? 0 : 2;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra != 1)
		return 0;
	if (a->pre_l != b->pre_l)
		return a->pre_l < b->pre_l ? -1 : 1;
	return cmp_u64(a->pre, b->pre);
}

/* One local segment: numbers sort after strings, strings by bytes. */
static int cmp_local_seg(const char *a, size_t al, const char *b, size_t bl)
{
	bool an = true, bn = true;
	size_t k;
	int c;

	for (k = 0; k < al; k++)
		an = an && is_digit(a[k]);
	for (k = 0; k < bl; k++)
		bn = bn && is_digit(b[k]);
	if (an != bn)
		return an ? 1 : -1;
	if (an) {
		while (al > 1 && *a == '0')
			a++, al--;
		while (bl > 1 && *b == '0')
			b++, bl--;
		if (al != bl)
			return al < bl ? -1 : 1;
	}
	c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c < 0 ? -1 : 1;
	return al < bl ? -1 : al > bl;
}

static int cmp_local(const char *a, const char *b)
{
	if (!*a || !*b)
		return *a ? 1 : *b ? -1 : 0;
	while (*a && *b) {
		size_t al = strcspn(a, "."), bl = strcspn(b, ".");
		int c = cmp_local_seg(a, al, b, bl);

		if (c)
			return c;
		a += al + (a[al] == '.');
		b += bl + (b[bl] == '.');
	}
	return *a ? 1 : *b ? -1 : 0;
}

int pkg_version_cmp(const struct pkg_version *a, const struct pkg_version *b)
{
	int c;

	if (a->legacy || b->legacy) {
		if (a->legacy != b->legacy)
			return a->legacy ? -1 : 1;
		c = strcmp(a->str, b->str);
		return c < 0 ? -1 : c > 0;
	}
	if ((c = cmp_u64(a->epoch, b->epoch)) || (c = cmp_release(a, b)) ||
	    (c = cmp_pre(a, b)))
		return c;
	if (a->has_post != b->has_post)
		return a->has_post ? 1 : -1;
	if ((c = cmp_u64(a->post, b->post)))
		return c;
	if (a->has_dev != b->has_dev)
		return a->has_dev ? -1 : 1;
	if ((c = cmp_u64(a->dev, b->dev)))
		return c;
	return cmp_local(a->local, b->local);
}
