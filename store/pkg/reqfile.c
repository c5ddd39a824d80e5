/* SPDX-License-Identifier: MIT */
/*
 * reqfile.c - pip requirements files (requirements*.txt,
 * constraints*.txt) as pip reads them: '\' joins lines, a '#' at the start
 * or after whitespace starts a comment, -r/--requirement and
 * -c/--constraint include other files, other options (-e, --index-url,
 * --hash on a requirement line...) are not requirements.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pkg.h"

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* One logical line (joined, comment stripped) into out. */
static int logical(const char *buf, size_t len, size_t *i, size_t *lineno,
		   char **out, size_t *olen, size_t *first)
{
	size_t cap = 256, o = 0;
	char *s = malloc(cap);

	if (!s)
		return -ENOMEM;
	*first = *lineno + 1;
	for (;;) {
		const char *nl = memchr(buf + *i, '\n', len - *i);
		size_t end = nl ? (size_t)(nl - buf) : len, l = end - *i;
		bool cont;

		(*lineno)++;
		while (l && buf[*i + l - 1] == '\r')
			l--;
		cont = l && buf[*i + l - 1] == '\\';
		if (cont)
			l--;
		if (o + l + 1 > cap) {
			char *ns;

			cap = (o + l + 1) * 2;
			ns = realloc(s, cap);
			if (!ns) {
				free(s);
				return -ENOMEM;
			}
			s = ns;
		}
		memcpy(s + o, buf + *i, l);
		o += l;
		*i = nl ? end + 1 : len;
		if (!cont || *i >= len)
			break;
	}
	s[o] = 0;
	for (size_t k = 0; k < o; k++)
		if (s[k] == '#' && (k == 0 || ws(s[k - 1]))) {
			o = k;
			s[o] = 0;
			break;
		}
	while (o && ws(s[o - 1]))
		s[--o] = 0;
	*out = s;
	*olen = o;
	return 0;
}

/* An option with a value: "-r FILE", "-rFILE", "--requirement=FILE". */
static const char *opt_value(const char *s, const char *shrt, const char *lng)
{
	size_t ls = strlen(shrt), ll = strlen(lng);

	if (!strncmp(s, lng, ll) && (s[ll] == '=' || ws(s[ll])))
		s += ll + 1;
	else if (!strncmp(s, shrt, ls))
		s += ls;
	else
		return NULL;
	while (ws(*s) || *s == '=')
		s++;
	return *s ? s : NULL;
}

int pkg_reqfile_parse(const char *buf, size_t len, pkg_reqfile_fn fn, void *arg)
{
	size_t i = 0, lineno = 0, first, l;
	const char *v, *s;
	char *line, *cut;
	int r = 0;

	if (!pkg_utf8_valid(buf, len))
		return -EINVAL;
	while (i < len && !r) {
		r = logical(buf, len, &i, &lineno, &line, &l, &first);
		if (r)
			return r;
		s = line;
		while (ws(*s))
			s++;
		if (!*s) {
			free(line);
			continue;
		}
		if ((v = opt_value(s, "-r", "--requirement")))
			r = fn(arg, PKG_REQFILE_INCLUDE, first, v);
		else if ((v = opt_value(s, "-c", "--constraint")))
			r = fn(arg, PKG_REQFILE_CONSTRAINTS, first, v);
		else if (*s != '-') {
			/* per-requirement options (--hash=...) end it */
			cut = strstr(line, " --");
			if (!cut)
				cut = strstr(line, "\t--");
			if (cut)
				*cut = 0;
			for (l = strlen(line); l && ws(line[l - 1]); l--)
				line[l - 1] = 0;
			r = fn(arg, PKG_REQFILE_REQUIREMENT, first, s);
		}
		free(line);
	}
	return r;
}
