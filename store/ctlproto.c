/* SPDX-License-Identifier: MIT */
/*
 * ctlproto.c - the control protocol's command table and word encoding
 * (contract in ctlproto.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"

const struct ctlproto_cmd_desc ctlproto_cmds[CTLP__COUNT] = {
    [CTLP_STATUS] = {"status", 1, "status"},
    [CTLP_SYNC] = {"sync", 1, "sync"},
    [CTLP_SEAL] = {"seal", 1, "seal"},
    [CTLP_POLICY_RELOAD] = {"policy-reload", 1, "policy-reload"},
    [CTLP_AUDIT_FLUSH] = {"audit-flush", 1, "audit-flush"},
    [CTLP_PKG_REFRESH] = {"pkg-refresh", 1, "pkg-refresh"},
    [CTLP_SAVE] = {"save", 4, "save SNAP AUTO MESSAGE"},
    [CTLP_LOAD] = {"load", 2, "load SNAP"},
    [CTLP_WATCH] = {"watch", 1, "watch"},
};

int ctlproto_cmd_find(const char *name)
{
	for (int i = 0; i < CTLP__COUNT; i++)
		if (!strcmp(ctlproto_cmds[i].name, name))
			return i;
	return -1;
}

/* Bytes a request word carries as they are; the rest travel as %XX. */
static bool word_plain(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || (ch && strchr("._-/:@+,=", ch));
}

int ctlproto_encode(const char *const *argv, char **out, size_t *len)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *const *a;
	const unsigned char *p;
	size_t n = 0;
	char *buf, *d;

	if (!argv[0])
		return -EINVAL;
	for (a = argv; *a; a++)
		for (n++, p = (const unsigned char *)*a; *p; p++)
			n += word_plain(*p) ? 1 : 3;
	if (n > CTLP_REQUEST_MAX)
		return -EMSGSIZE;
	buf = malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	d = buf;
	for (a = argv; *a; a++) {
		if (a != argv)
			*d++ = ' ';
		for (p = (const unsigned char *)*a; *p; p++) {
			if (word_plain(*p)) {
				*d++ = (char)*p;
				continue;
			}
			*d++ = '%';
			*d++ = hex[*p >> 4];
			*d++ = hex[*p & 15];
		}
	}
	*d++ = '\n';
	*out = buf;
	*len = (size_t)(d - buf);
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Undo the percent-encoding of a word in place; -EINVAL for a bad
 * escape or an encoded NUL. */
static int word_decode(char *s)
{
	char *d = s;

	for (; *s; s++) {
		int hi, lo;

		if (*s != '%') {
			*d++ = *s;
			continue;
		}
		hi = hex_digit(s[1]);
		lo = hi < 0 ? -1 : hex_digit(s[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return -EINVAL;
		*d++ = (char)(hi * 16 + lo);
		s += 2;
	}
	*d = '\0';
	return 0;
}

int ctlproto_split(char *line, char **w, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *sp = strchr(p, ' ');

		if (n == max)
			return -EINVAL;
		if (sp)
			*sp = '\0';
		if (word_decode(p) < 0)
			return -EINVAL;
		w[n++] = p;
		if (!sp)
			return n;
		p = sp + 1;
	}
}
