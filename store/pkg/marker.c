/* SPDX-License-Identifier: MIT */
/*
 * marker.c - PEP 508 environment markers: a recursive-descent parser with
 * bounded depth into a tree shaped as packaging 21.3 builds it (a flat
 * list of comparisons and parenthesized groups joined by and/or), its
 * evaluation (version comparisons through specifiers when both sides
 * allow, string comparisons otherwise) and its printed form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg.h"

struct operand {
	int var; /* enum pkg_mvar, or -1 for a string */
	char *str;
};

enum { M_CMP, M_LIST };

struct pkg_marker {
	int kind;
	/* M_CMP */
	struct operand lhs, rhs;
	char op[8];
	/* M_LIST: items joined by and (or_after[i] false) / or (true) */
	struct pkg_marker **items;
	bool *or_after;
	size_t n;
};

static const char *const mvar_names[PKG_MV__COUNT] = {
    [PKG_MV_PYTHON_VERSION] = "python_version",
    [PKG_MV_PYTHON_FULL_VERSION] = "python_full_version",
    [PKG_MV_OS_NAME] = "os_name",
    [PKG_MV_SYS_PLATFORM] = "sys_platform",
    [PKG_MV_PLATFORM_RELEASE] = "platform_release",
    [PKG_MV_PLATFORM_SYSTEM] = "platform_system",
    [PKG_MV_PLATFORM_VERSION] = "platform_version",
    [PKG_MV_PLATFORM_MACHINE] = "platform_machine",
    [PKG_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "platform_python_implementation",
    [PKG_MV_IMPLEMENTATION_NAME] = "implementation_name",
    [PKG_MV_IMPLEMENTATION_VERSION] = "implementation_version",
    [PKG_MV_EXTRA] = "extra",
};

static const struct {
	const char *name;
	enum pkg_mvar var;
} aliases[] = {
    {"os.name", PKG_MV_OS_NAME},
    {"sys.platform", PKG_MV_SYS_PLATFORM},
    {"platform.version", PKG_MV_PLATFORM_VERSION},
    {"platform.machine", PKG_MV_PLATFORM_MACHINE},
    {"platform.python_implementation", PKG_MV_PLATFORM_PYTHON_IMPLEMENTATION},
    {"python_implementation", PKG_MV_PLATFORM_PYTHON_IMPLEMENTATION},
};

int pkg_mvar_lookup(const char *name, size_t len)
{
	size_t k;

	for (k = 0; k < PKG_MV__COUNT; k++)
		if (strlen(mvar_names[k]) == len &&
		    !memcmp(mvar_names[k], name, len))
			return (int)k;
	for (k = 0; k < sizeof(aliases) / sizeof(aliases[0]); k++)
		if (strlen(aliases[k].name) == len &&
		    !memcmp(aliases[k].name, name, len))
			return (int)aliases[k].var;
	return -1;
}

int pkg_markerenv_parse(const char *s, size_t len, struct pkg_markerenv *out)
{
	size_t i = 0, j, eq;
	int var;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		for (j = i; j < len && s[j] != '\n'; j++)
			;
		if (j > i) {
			for (eq = i; eq < j && s[eq] != '='; eq++)
				;
			if (eq == j)
				return -EINVAL;
			var = pkg_mvar_lookup(s + i, eq - i);
			if (var >= 0) {
				if (j - eq - 1 >= PKG_MARKER_VALUE_LEN)
					return -EINVAL;
				memcpy(out->v[var], s + eq + 1, j - eq - 1);
				out->v[var][j - eq - 1] = 0;
			}
		}
		i = j + 1;
	}
	return 0;
}

int pkg_markerenv_format(const struct pkg_markerenv *env, char *buf, size_t len)
{
	size_t o = 0, k;
	int w;

	for (k = 0; k < PKG_MV__COUNT; k++) {
		if (k == PKG_MV_EXTRA)
			continue;
		w = snprintf(buf + o, len - o, "%s=%s\n", mvar_names[k],
			     env->v[k]);
		if (w < 0 || (size_t)w >= len - o)
			return -ENOSPC;
		o += (size_t)w;
	}
	return (int)o;
}

/* ---- parsing ---- */

struct parser {
	const char *s;
	size_t i, n;
	unsigned depth;
	char *err;
};

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->n && is_space(p->s[p->i]))
		p->i++;
}

static int fail(struct parser *p, const char *what)
{
	if (p->err && !p->err[0])
		snprintf(p->err, PKG_ERR_LEN,
			 "invalid marker: %s at offset %zu", what, p->i);
	return -EINVAL;
}

static bool ident_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.';
}

static int parse_operand(struct parser *p, struct operand *o)
{
	size_t start;
	char q;

	skip_ws(p);
	if (p->i >= p->n)
		return fail(p, "expected a variable or a string");
	q = p->s[p->i];
	if (q == '\'' || q == '"') {
		start = ++p->i;
		while (p->i < p->n && p->s[p->i] != q && p->s[p->i] != '\n' &&
		       p->s[p->i])
			p->i++;
		if (p->i >= p->n || p->s[p->i] != q)
			return fail(p, "unterminated string");
		o->var = -1;
		o->str = strndup(p->s + start, p->i - start);
		p->i++;
		return o->str ? 0 : -ENOMEM;
	}
	start = p->i;
	while (p->i < p->n && ident_char(p->s[p->i]))
		p->i++;
	o->var = pkg_mvar_lookup(p->s + start, p->i - start);
	if (o->var < 0) {
		p->i = start;
		return fail(p, "unknown variable");
	}
	return 0;
}

static int parse_op(struct parser *p, char op[8])
{
	static const char *const ops[] = {
	    "===", "==", ">=", "<=", "!=", "~=", ">", "<", "in"};
	size_t k, l;

	skip_ws(p);
	if (p->n - p->i >= 6 && !memcmp(p->s + p->i, "not in", 6)) {
		p->i += 6;
		snprintf(op, 8, "not in");
		return 0;
	}
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		l = strlen(ops[k]);
		if (p->n - p->i >= l && !memcmp(p->s + p->i, ops[k], l)) {
			p->i += l;
			snprintf(op, 8, "%s", ops[k]);
			return 0;
		}
	}
	return fail(p, "expected an operator");
}

static int parse_list(struct parser *p, struct pkg_marker **out);

static int list_push(struct pkg_marker *l, struct pkg_marker *item)
{
	struct pkg_marker **ni;
	bool *no;

	ni = realloc(l->items, (l->n + 1) * sizeof(*ni));
	if (!ni)
		return -ENOMEM;
	l->items = ni;
	no = realloc(l->or_after, (l->n + 1) * sizeof(*no));
	if (!no)
		return -ENOMEM;
	l->or_after = no;
	l->items[l->n] = item;
	l->or_after[l->n++] = false;
	return 0;
}

static int parse_atom(struct parser *p, struct pkg_marker **out)
{
	struct pkg_marker *m;
	int r;

	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == '(') {
		if (++p->depth > PKG_MARKER_DEPTH)
			return fail(p, "nested too deeply");
		p->i++;
		r = parse_list(p, out);
		if (r)
			return r;
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != ')') {
			pkg_marker_free(*out);
			return fail(p, "expected ')'");
		}
		p->i++;
		p->depth--;
		return 0;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->kind = M_CMP;
	r = parse_operand(p, &m->lhs);
	if (!r)
		r = parse_op(p, m->op);
	if (!r)
		r = parse_operand(p, &m->rhs);
	if (r) {
		pkg_marker_free(m);
		return r;
	}
	*out = m;
	return 0;
}

/* "and"/"or" followed by a non-identifier character. */
static int parse_boolop(struct parser *p)
{
	size_t save;

	skip_ws(p);
	save = p->i;
	if (p->n - p->i >= 3 && !memcmp(p->s + p->i, "and", 3))
		p->i += 3;
	else if (p->n - p->i >= 2 && !memcmp(p->s + p->i, "or", 2))
		p->i += 2;
	else
		return 0;
	return p->s[save] == 'a' ? 1 : 2;
}

static int parse_list(struct parser *p, struct pkg_marker **out)
{
	struct pkg_marker *l = calloc(1, sizeof(*l)), *item;
	int r, op;

	if (!l)
		return -ENOMEM;
	l->kind = M_LIST;
	for (;;) {
		r = parse_atom(p, &item);
		if (r)
			goto fail;
		r = list_push(l, item);
		if (r) {
			pkg_marker_free(item);
			goto fail;
		}
		op = parse_boolop(p);
		if (!op)
			break;
		l->or_after[l->n - 1] = op == 2;
	}
	*out = l;
	return 0;
fail:
	pkg_marker_free(l);
	return r;
}

int pkg_marker_parse(const char *s, size_t len, struct pkg_marker **out,
		     char *err)
{
	struct parser p = {s, 0, len, 0, err};
	struct pkg_marker *m;
	int r;

	if (err)
		err[0] = 0;
	if (memchr(s, 0, len))
		return fail(&p, "NUL byte");
	r = parse_list(&p, &m);
	if (r)
		return r == -ENOMEM ? r : fail(&p, "syntax error");
	skip_ws(&p);
	if (p.i != p.n) {
		pkg_marker_free(m);
		return fail(&p, "unexpected text");
	}
	*out = m;
	return 0;
}

void pkg_marker_free(struct pkg_marker *m)
{
	size_t k;

	if (!m)
		return;
	for (k = 0; k < m->n; k++)
		pkg_marker_free(m->items[k]);
	free(m->items);
	free(m->or_after);
	free(m->lhs.str);
	free(m->rhs.str);
	free(m);
}

/* ---- evaluation ---- */

static int eval_cmp(const struct pkg_marker *m, const struct pkg_markerenv *env,
		    const char *extra)
{
	char text[PKG_VERSION_LEN + 8];
	const char *lhs, *rhs;
	struct pkg_spec spec;
	struct pkg_version v;

	if (m->lhs.var >= 0) {
		lhs = m->lhs.var == PKG_MV_EXTRA && extra ? extra
							  : env->v[m->lhs.var];
		/* packaging takes the right side's text as is */
		rhs = m->rhs.var >= 0 ? mvar_names[m->rhs.var] : m->rhs.str;
	} else if (m->rhs.var >= 0) {
		lhs = m->lhs.str;
		rhs = m->rhs.var == PKG_MV_EXTRA && extra ? extra
							  : env->v[m->rhs.var];
	} else {
		return -EINVAL; /* two strings: no variable to look up */
	}
	snprintf(text, sizeof(text), "%s%s", m->op, rhs);
	if (strcmp(m->op, "in") && strcmp(m->op, "not in") &&
	    strlen(m->op) + strlen(rhs) < sizeof(text) &&
	    !pkg_spec_parse(text, strlen(text), &spec, NULL)) {
		if (pkg_version_parse_any(lhs, strlen(lhs), &v, NULL)) {
			memset(&v, 0, sizeof(v));
			v.legacy = true;
		}
		return pkg_spec_contains(&spec, &v, false);
	}
	if (!strcmp(m->op, "=="))
		return !strcmp(lhs, rhs);
	if (!strcmp(m->op, "!="))
		return !!strcmp(lhs, rhs);
	if (!strcmp(m->op, "<"))
		return strcmp(lhs, rhs) < 0;
	if (!strcmp(m->op, "<="))
		return strcmp(lhs, rhs) <= 0;
	if (!strcmp(m->op, ">"))
		return strcmp(lhs, rhs) > 0;
	if (!strcmp(m->op, ">="))
		return strcmp(lhs, rhs) >= 0;
	if (!strcmp(m->op, "in"))
		return strstr(rhs, lhs) != NULL;
	if (!strcmp(m->op, "not in"))
		return strstr(rhs, lhs) == NULL;
	return -EINVAL; /* ~= or === on strings that are not versions */
}

int pkg_marker_eval(const struct pkg_marker *m, const struct pkg_markerenv *env,
		    const char *extra)
{
	bool group = true, any = false;
	size_t k;
	int r;

	if (m->kind == M_CMP)
		return eval_cmp(m, env, extra);
	for (k = 0; k < m->n; k++) {
		r = pkg_marker_eval(m->items[k], env, extra);
		if (r < 0)
			return r;
		group = group && r;
		if (m->or_after[k] || k + 1 == m->n) {
			any = any || group;
			group = true;
		}
	}
	return any;
}

/* ---- printing, as packaging 21.3's _format_marker ---- */

struct out {
	char *buf;
	size_t len, o;
	bool full;
};

static void put(struct out *o, const char *s)
{
	size_t l = strlen(s);

	if (o->o + l >= o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->o, s, l + 1);
	o->o += l;
}

static void put_operand(struct out *o, const struct operand *x)
{
	if (x->var >= 0) {
		put(o, mvar_names[x->var]);
		return;
	}
	put(o, "\"");
	put(o, x->str);
	put(o, "\"");
}

static void format(struct out *o, const struct pkg_marker *m, bool first)
{
	size_t k;

	if (m->kind == M_LIST && m->n == 1) {
		format(o, m->items[0], true);
		return;
	}
	if (m->kind == M_CMP) {
		put_operand(o, &m->lhs);
		put(o, " ");
		put(o, m->op);
		put(o, " ");
		put_operand(o, &m->rhs);
		return;
	}
	if (!first)
		put(o, "(");
	for (k = 0; k < m->n; k++) {
		if (k)
			put(o, m->or_after[k - 1] ? " or " : " and ");
		format(o, m->items[k], false);
	}
	if (!first)
		put(o, ")");
}

int pkg_marker_format(const struct pkg_marker *m, char *buf, size_t len)
{
	struct out o = {buf, len, 0, false};

	if (!len)
		return -ENOSPC;
	buf[0] = 0;
	format(&o, m, true);
	return o.full ? -ENOSPC : (int)o.o;
}
