/* SPDX-License-Identifier: MIT */
/*
 * policy.c - policy values (parse, validate, canonical text), the path
 * pattern matcher and the audit log. Patterns are compiled into
 * components once; matching walks a small NFA one path component at a
 * time, so a directory's state is computed once and each name below it
 * costs one step over the patterns still alive there (none, away from
 * the patterns' prefixes).
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "store_internal.h"

enum comp_kind { C_LIT, C_GLOB, C_ANY /* ** */ };

struct policy_pat {
	unsigned rule;
	unsigned ncomp;
	unsigned tail; /* comps from here on are all '**' */
	char **comp;
	uint8_t *kind;
	uint32_t *len;	/* of each comp */
	uint64_t *hash; /* of each literal comp (name_hash) */
};

/* FNV-1a: literals are compared by length and hash before their bytes. */
static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

static const struct {
	const char *name;
	enum policy_kind kind;
} keys[POLICY__NKEYS] = {
    [POLICY_FS_READONLY] = {"fs.readonly", POLICY_PATTERNS},
    [POLICY_FS_HIDDEN] = {"fs.hidden", POLICY_PATTERNS},
    [POLICY_FS_MAX_FILE_SIZE] = {"fs.max-file-size", POLICY_SIZE},
    [POLICY_FS_QUOTA] = {"fs.quota", POLICY_SIZE},
    [POLICY_RES_MEMORY] = {"res.memory", POLICY_SIZE},
    [POLICY_RES_CPU] = {"res.cpu", POLICY_FRACTION},
    [POLICY_RES_PIDS] = {"res.pids", POLICY_COUNT},
    [POLICY_RES_IO_READ] = {"res.io-read", POLICY_SIZE},
    [POLICY_RES_IO_WRITE] = {"res.io-write", POLICY_SIZE},
    [POLICY_NET_MODE] = {"net.mode", POLICY_NETMODE},
    /* network rules: policy-net.c */
    [POLICY_NET_ALLOW_IP] = {"net.allow-ip", POLICY_NETLIST},
    [POLICY_NET_ALLOW_PORT] = {"net.allow-port", POLICY_NETLIST},
    [POLICY_NET_ALLOW_DOMAIN] = {"net.allow-domain", POLICY_NETLIST},
    [POLICY_NET_INBOUND] = {"net.inbound", POLICY_NETLIST},
    [POLICY_NET_DNS] = {"net.dns", POLICY_NETLIST},
    [POLICY_NET_BANDWIDTH] = {"net.bandwidth", POLICY_NETBW},
    [POLICY_HOST_WRITABLE] = {"host.writable", POLICY_HOSTPATHS},
    [POLICY_HOST_READONLY] = {"host.readonly", POLICY_HOSTPATHS},
    [POLICY_HOST_HIDDEN] = {"host.hidden", POLICY_HOSTPATHS},
    [POLICY_RES_CPU_WEIGHT] = {"res.cpu-weight", POLICY_WEIGHT},
    [POLICY_RES_MEMORY_SOFT] = {"res.memory-soft", POLICY_SIZE},
    [POLICY_RES_IO_WEIGHT] = {"res.io-weight", POLICY_WEIGHT},
    [POLICY_SHELL_CONFINE] = {"shell.confine", POLICY_BOOL},
    [POLICY_HOST_SOCKETS] = {"host.sockets", POLICY_HOSTPATHS},
};

const char *policy_key_name(enum policy_key k)
{
	return (unsigned)k < POLICY__NKEYS ? keys[k].name : "?";
}

enum policy_kind policy_key_kind(enum policy_key k)
{
	return keys[k].kind;
}

int policy_key_find(const char *name)
{
	for (int k = 0; k < POLICY__NKEYS; k++)
		if (!strcmp(keys[k].name, name))
			return k;
	return -EINVAL;
}

/* ---- values -------------------------------------------------------- */

int policy_size_parse(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *u;
	double v;
	char *end;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	if (*end) {
		u = strchr(units, end[0] >= 'a' ? end[0] - 32 : end[0]);
		if (!u || !*u)
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
		if (*end)
			return -EINVAL;
	} else if (strchr(s, '.') || strchr(s, 'e') || strchr(s, 'E')) {
		return -EINVAL; /* a fraction of a byte */
	}
	v = ldexp(v, shift);
	if (v >= 4611686018427387904.0) /* 2^62 */
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

int policy_net_parse(const char *s)
{
	if (!strcmp(s, "none"))
		return POLICY_NET_NONE;
	if (!strcmp(s, "loopback"))
		return POLICY_NET_LOOPBACK;
	if (!strcmp(s, "host"))
		return POLICY_NET_HOST;
	if (!strcmp(s, "filtered"))
		return POLICY_NET_FILTERED;
	return -EINVAL;
}

const char *policy_net_name(int net)
{
	return net == POLICY_NET_NONE	    ? "none"
	       : net == POLICY_NET_LOOPBACK ? "loopback"
	       : net == POLICY_NET_HOST	    ? "host"
	       : net == POLICY_NET_FILTERED ? "filtered"
					    : "unset";
}

/* A glob's brackets must close and a backslash must escape something. */
static int glob_check(const char *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (c[i] == '\\') {
			if (++i == n)
				return -1;
		} else if (c[i] == '[') {
			size_t j = i + 1;

			if (j < n && (c[j] == '!' || c[j] == '^'))
				j++;
			if (j < n && c[j] == ']')
				j++;
			while (j < n && c[j] != ']')
				j++;
			if (j == n)
				return -2;
			i = j;
		}
	}
	return 0;
}

int policy_pattern_check(const char *pat, char *err, size_t errlen)
{
	const char *p = pat, *slash;
	size_t len = strlen(pat), n;

	while (len > 1 && pat[len - 1] == '/')
		len--;
	if (!len) {
		snprintf(err, errlen, "empty pattern");
		return -EINVAL;
	}
	if (pat[0] == '/') {
		snprintf(err, errlen,
			 "pattern '%s' is absolute: patterns are relative "
			 "to the env root",
			 pat);
		return -EINVAL;
	}
	if (len > 4000) {
		snprintf(err, errlen, "pattern too long");
		return -EINVAL;
	}
	while (p < pat + len) {
		slash = memchr(p, '/', (size_t)(pat + len - p));
		n = slash ? (size_t)(slash - p) : (size_t)(pat + len - p);
		if (!n || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(err, errlen,
				 "pattern '%s' has an empty, '.' or '..' "
				 "component: patterns stay inside the env",
				 pat);
			return -EINVAL;
		}
		if (n > 2 && memmem(p, n, "**", 2)) {
			snprintf(err, errlen,
				 "pattern '%s': '**' must be a whole path "
				 "component",
				 pat);
			return -EINVAL;
		}
		if (glob_check(p, n)) {
			snprintf(err, errlen,
				 "pattern '%s' is not a valid glob "
				 "(unclosed '[' or trailing '\\')",
				 pat);
			return -EINVAL;
		}
		p += n + 1;
	}
	return 0;
}

int policy_host_pattern_check(const char *pat, bool hidden, char *err,
			      size_t errlen)
{
	const char *rel = pat + (pat[0] == '~' && pat[1] == '/' ? 2 : 1);
	char inner[4096];

	if (!strcmp(pat, "~"))
		return 0; /* "~/" as stored */
	if (pat[0] != '/' && !(pat[0] == '~' && pat[1] == '/')) {
		snprintf(err, errlen,
			 "host path '%s' is not absolute: expected /PATH or "
			 "~/PATH",
			 pat);
		return -EINVAL;
	}
	if (strchr(pat, '\n')) {
		snprintf(err, errlen, "a host path cannot hold a newline");
		return -EINVAL;
	}
	if (!*rel) {
		if (!hidden || pat[0] == '~')
			return 0; /* the whole host or home: the user's call */
		snprintf(err, errlen, "host path '/' cannot be hidden");
		return -EINVAL;
	}
	if (strlen(rel) >= sizeof(inner)) {
		snprintf(err, errlen, "host path too long");
		return -EINVAL;
	}
	/* the components are checked as a relative pattern's are */
	if (policy_pattern_check(rel, inner, sizeof(inner)) ||
	    strstr(rel, "**")) {
		snprintf(err, errlen,
			 "invalid host path '%s': no '.', '..' or empty "
			 "component, no '**', brackets closed",
			 pat);
		return -EINVAL;
	}
	return 0;
}

static int patterns_parse(enum policy_key k, const char *const *vals, size_t n,
			  char **out, char *err, size_t errlen)
{
	size_t total = 1, len;
	char *buf, *w;

	if (n > POLICY_PATTERNS_MAX) {
		snprintf(err, errlen, "too many patterns (at most %d)",
			 POLICY_PATTERNS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (strchr(vals[i], '\n')) {
			snprintf(err, errlen,
				 "a pattern cannot hold a newline");
			return -EINVAL;
		}
		if (keys[k].kind == POLICY_HOSTPATHS
			? policy_host_pattern_check(
			      vals[i], k == POLICY_HOST_HIDDEN, err, errlen)
			: policy_pattern_check(vals[i], err, errlen))
			return -EINVAL;
		total += strlen(vals[i]) + 1;
	}
	buf = w = malloc(total);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		len = strlen(vals[i]);
		while (len > 1 && vals[i][len - 1] == '/')
			len--;
		if (i)
			*w++ = '\n';
		memcpy(w, vals[i], len);
		w += len;
	}
	*w = '\0';
	*out = buf;
	return 0;
}

static int scalar_parse(enum policy_key k, const char *v, char *buf, size_t len,
			char *err, size_t errlen)
{
	const char *what = keys[k].name;
	uint64_t u;
	double d;
	char *end;
	int r;

	switch (keys[k].kind) {
	case POLICY_SIZE:
		r = policy_size_parse(v, &u);
		if (r || !u) {
			snprintf(err, errlen,
				 "invalid size '%s' for %s: expected bytes "
				 "above 0, with an optional K, M, G or T "
				 "suffix",
				 v, what);
			return -EINVAL;
		}
		snprintf(buf, len, "%" PRIu64, u);
		return 0;
	case POLICY_COUNT:
		errno = 0;
		u = strtoull(v, &end, 10);
		if (*v < '1' || *v > '9' || *end || errno || u > 1u << 22) {
			snprintf(err, errlen,
				 "invalid value '%s' for %s: expected a "
				 "number from 1 to 4194304",
				 v, what);
			return -EINVAL;
		}
		snprintf(buf, len, "%" PRIu64, u);
		return 0;
	case POLICY_FRACTION:
		errno = 0;
		d = strtod(v, &end);
		if ((*v < '0' || *v > '9') || *end || errno || !(d >= 0.01) ||
		    d > 1024) {
			snprintf(err, errlen,
				 "invalid value '%s' for %s: expected CPUs "
				 "from 0.01 to 1024 (e.g. 0.5)",
				 v, what);
			return -EINVAL;
		}
		snprintf(buf, len, "%g", d);
		return 0;
	case POLICY_WEIGHT:
		errno = 0;
		u = strtoull(v, &end, 10);
		if (*v < '1' || *v > '9' || *end || errno || u > 10000) {
			snprintf(err, errlen,
				 "invalid weight '%s' for %s: expected 1 to "
				 "10000 (100 is the default share)",
				 v, what);
			return -EINVAL;
		}
		snprintf(buf, len, "%" PRIu64, u);
		return 0;
	case POLICY_NETMODE:
		if (policy_net_parse(v) < 0) {
			snprintf(err, errlen,
				 "invalid value '%s' for %s: expected none, "
				 "loopback, filtered or host",
				 v, what);
			return -EINVAL;
		}
		snprintf(buf, len, "%s", v);
		return 0;
	case POLICY_BOOL:
		if (strcmp(v, "true") && strcmp(v, "false")) {
			snprintf(err, errlen,
				 "invalid value '%s' for %s: expected true "
				 "or false",
				 v, what);
			return -EINVAL;
		}
		snprintf(buf, len, "%s", v);
		return 0;
	default:
		return -EINVAL;
	}
}

/* Network rules: each value checked, canonical forms joined by '\n'
 * (duplicates dropped). */
static int net_value_parse(enum policy_key k, const char *const *vals, size_t n,
			   char **out, char *err, size_t errlen)
{
	char one[300], *buf;
	size_t used = 0;
	uint64_t up, down;

	if (keys[k].kind == POLICY_NETBW) {
		if (policy_net_bw_parse(vals, n, &up, &down, one, sizeof(one),
					err, errlen))
			return -EINVAL;
		*out = strdup(one);
		return *out ? 0 : -ENOMEM;
	}
	if (n > POLICY_PATTERNS_MAX) {
		snprintf(err, errlen, "too many values (at most %d)",
			 POLICY_PATTERNS_MAX);
		return -EINVAL;
	}
	buf = malloc(n * sizeof(one) + 1);
	if (!buf)
		return -ENOMEM;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t l;
		const char *dup;

		if (policy_net_rule_parse(k, vals[i], one, sizeof(one), err,
					  errlen)) {
			free(buf);
			return -EINVAL;
		}
		/* a rule that could never match is refused, not stored:
		 * the env has no IPv6 route (policy.h) */
		if (k == POLICY_NET_ALLOW_IP && strchr(one, ':')) {
			snprintf(err, errlen,
				 "net.allow-ip '%s': IPv6 does not reach the "
				 "env (net.mode filtered is IPv4 only, IPv6 "
				 "always denied)",
				 vals[i]);
			free(buf);
			return -EINVAL;
		}
		l = strlen(one);
		for (dup = buf; (dup = strstr(dup, one)); dup++)
			if ((dup == buf || dup[-1] == '\n') &&
			    (dup[l] == '\n' || dup[l] == '\0'))
				break;
		if (dup)
			continue;
		used += (size_t)snprintf(buf + used, n * sizeof(one) + 1 - used,
					 "%s%s", used ? "\n" : "", one);
	}
	*out = buf;
	return 0;
}

/* A stored rule list must still parse (a corrupt or newer store). */
static int net_text_check(enum policy_key k, const char *text)
{
	char one[300], err[POLICY_ERR_LEN];
	const char *vals[1] = {text};
	uint64_t up, down;

	if (keys[k].kind == POLICY_NETBW)
		return policy_net_bw_parse(vals, 1, &up, &down, one,
					   sizeof(one), err, sizeof(err));
	while (*text) {
		size_t n = strcspn(text, "\n");

		if (n >= sizeof(one))
			return -EINVAL;
		memcpy(one, text, n);
		one[n] = '\0';
		if (policy_net_rule_parse(k, one, one, sizeof(one), err,
					  sizeof(err)))
			return -EINVAL;
		text += n + (text[n] == '\n');
	}
	return 0;
}

int policy_value_parse(enum policy_key k, const char *const *vals, size_t n,
		       char **out, char *err, size_t errlen)
{
	char buf[64];
	int r;

	if ((unsigned)k >= POLICY__NKEYS)
		return -EINVAL;
	if (!n) {
		snprintf(err, errlen, "%s needs a value", keys[k].name);
		return -EINVAL;
	}
	if (keys[k].kind == POLICY_PATTERNS || keys[k].kind == POLICY_HOSTPATHS)
		return patterns_parse(k, vals, n, out, err, errlen);
	if (keys[k].kind == POLICY_NETLIST || keys[k].kind == POLICY_NETBW)
		return net_value_parse(k, vals, n, out, err, errlen);
	if (n > 1) {
		snprintf(err, errlen, "%s takes one value", keys[k].name);
		return -EINVAL;
	}
	r = scalar_parse(k, vals[0], buf, sizeof(buf), err, errlen);
	if (r)
		return r;
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

/* ---- compile ------------------------------------------------------- */

static void pat_release(struct policy_pat *p)
{
	for (unsigned i = 0; i < p->ncomp; i++)
		free(p->comp[i]);
	free(p->comp);
	free(p->kind);
	free(p->len);
	free(p->hash);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->npat; i++)
		pat_release(&p->pat[i]);
	free(p->pat);
	for (int k = 0; k < POLICY__NKEYS; k++)
		free(p->text[k]);
	free(p);
}

static int pat_compile(const char *s, size_t len, unsigned rule,
		       struct policy_pat *out)
{
	size_t n = 1, i = 0;
	const char *p = s, *end = s + len;

	for (size_t j = 0; j < len; j++)
		n += s[j] == '/';
	if (n > 250)
		return -EINVAL;
	out->rule = rule;
	out->comp = calloc(n, sizeof(*out->comp));
	out->kind = calloc(n, 1);
	out->len = calloc(n, sizeof(*out->len));
	out->hash = calloc(n, sizeof(*out->hash));
	if (!out->comp || !out->kind || !out->len || !out->hash)
		return -ENOMEM;
	while (p < end) {
		const char *sl = memchr(p, '/', (size_t)(end - p));
		size_t cl = sl ? (size_t)(sl - p) : (size_t)(end - p);

		out->comp[i] = strndup(p, cl);
		if (!out->comp[i])
			return -ENOMEM;
		out->kind[i] = (cl == 2 && !memcmp(p, "**", 2)) ? C_ANY
			       : strpbrk(out->comp[i], "*?[\\") ? C_GLOB
								: C_LIT;
		out->len[i] = (uint32_t)cl;
		out->hash[i] = name_hash(p, cl);
		out->ncomp = (unsigned)++i;
		p += cl + 1;
	}
	out->tail = out->ncomp;
	while (out->tail > 0 && out->kind[out->tail - 1] == C_ANY)
		out->tail--;
	return 0;
}

static int patterns_add(struct policy *p, const char *text, unsigned rule)
{
	const char *s = text;
	char err[POLICY_ERR_LEN];

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char *one = strndup(s, len);
		void *a;
		int r;

		if (!one)
			return -ENOMEM;
		r = policy_pattern_check(one, err, sizeof(err));
		free(one);
		if (r)
			return r;
		a = realloc(p->pat, (p->npat + 1) * sizeof(*p->pat));
		if (!a)
			return -ENOMEM;
		p->pat = a;
		memset(&p->pat[p->npat], 0, sizeof(*p->pat));
		r = pat_compile(s, len, rule, &p->pat[p->npat]);
		p->npat++;
		if (r)
			return r;
		if (p->npat >= 0xffffff)
			return -EINVAL;
		s += len + (nl ? 1 : 0);
	}
	return 0;
}

static int scalar_set(struct policy *p, enum policy_key k, const char *v)
{
	char buf[64], err[POLICY_ERR_LEN];
	uint64_t u = 0;
	int r = scalar_parse(k, v, buf, sizeof(buf), err, sizeof(err));

	if (r)
		return r;
	if (keys[k].kind == POLICY_SIZE || keys[k].kind == POLICY_COUNT ||
	    keys[k].kind == POLICY_WEIGHT)
		u = strtoull(buf, NULL, 10);
	switch (k) {
	case POLICY_FS_MAX_FILE_SIZE:
		p->max_file_size = u;
		break;
	case POLICY_FS_QUOTA:
		p->quota = u;
		break;
	case POLICY_RES_MEMORY:
		p->memory = u;
		break;
	case POLICY_RES_PIDS:
		p->pids = u;
		break;
	case POLICY_RES_IO_READ:
		p->io_read = u;
		break;
	case POLICY_RES_IO_WRITE:
		p->io_write = u;
		break;
	case POLICY_RES_CPU:
		p->cpu = strtod(buf, NULL);
		break;
	case POLICY_NET_MODE:
		p->net = policy_net_parse(buf);
		break;
	case POLICY_RES_MEMORY_SOFT:
		p->memory_soft = u;
		break;
	case POLICY_RES_CPU_WEIGHT:
		p->cpu_weight = (unsigned)u;
		break;
	case POLICY_RES_IO_WEIGHT:
		p->io_weight = (unsigned)u;
		break;
	case POLICY_SHELL_CONFINE:
		p->shell_confine = !strcmp(buf, "true");
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

int policy_compile(const char *const text[POLICY__NKEYS], struct policy **out)
{
	struct policy *p = calloc(1, sizeof(*p));
	int r = 0;

	if (!p)
		return -ENOMEM;
	p->net = -1;
	for (int k = 0; !r && k < POLICY__NKEYS; k++) {
		if (!text[k])
			continue;
		p->text[k] = strdup(text[k]);
		if (!p->text[k])
			r = -ENOMEM;
		else if (keys[k].kind == POLICY_HOSTPATHS)
			r = 0; /* kept as text: blastctl run expands them */
		else if (keys[k].kind == POLICY_PATTERNS)
			r = patterns_add(p, text[k],
					 k == POLICY_FS_READONLY
					     ? POLICY_RULE_READONLY
					     : POLICY_RULE_HIDDEN);
		else if (policy_key_is_net_rule(k))
			r = net_text_check(k, text[k]);
		else
			r = scalar_set(p, k, text[k]);
	}
	if (r) {
		policy_free(p);
		return r;
	}
	/* network rules without a mode: they need the filtered one */
	for (int k = 0; p->net < 0 && k < POLICY__NKEYS; k++)
		if (p->text[k] && policy_key_is_net_rule(k))
			p->net = POLICY_NET_FILTERED;
	*out = p;
	return 0;
}

struct load_ctx {
	char *text[POLICY__NKEYS];
	int err;
};

static int load_one(void *arg, const char *key, const void *val, size_t len)
{
	struct load_ctx *l = arg;
	int k = policy_key_find(key + strlen(POLICY_STATE_PREFIX));

	if (k < 0)
		return 0; /* a key a newer blast knows: not ours to judge */
	free(l->text[k]);
	l->text[k] = strndup(val, len);
	return l->text[k] ? 0 : -ENOMEM;
}

int policy_load(struct store_txn *t, uint64_t root, struct policy **out)
{
	struct load_ctx l = {0};
	int r = store_state_iter(t, root, POLICY_STATE_PREFIX, load_one, &l);

	if (r == -ENOENT)
		r = 0;
	if (!r)
		r = policy_compile((const char *const *)l.text, out);
	for (int k = 0; k < POLICY__NKEYS; k++)
		free(l.text[k]);
	return r;
}

bool policy_has_paths(const struct policy *p)
{
	return p && p->npat;
}

/* ---- matching ------------------------------------------------------ */

#define ST(pat, pos) ((uint32_t)(pat) << 8 | (uint32_t)(pos))
#define ST_PAT(s)    ((s) >> 8)
#define ST_POS(s)    ((s)&0xff)

struct builder {
	struct policy_state *s;
	size_t cap;
	int err;
};

/* Add (pat, pos) and its closure over '**' (which may match nothing);
 * reaching the end means the path matches. */
static void add_state(const struct policy *p, struct builder *b, uint32_t pat,
		      unsigned pos)
{
	const struct policy_pat *pp = &p->pat[pat];

	for (;;) {
		if (b->s->covered & pp->rule)
			return;
		if (pos == pp->ncomp) {
			b->s->covered |= pp->rule;
			return;
		}
		/* states of one pattern are adjacent: dedup among them */
		for (uint32_t i = b->s->n; i > 0; i--) {
			uint32_t x = b->s->v[i - 1];

			if (ST_PAT(x) != pat)
				break;
			if (ST_POS(x) == pos)
				goto next;
		}
		if (b->s->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 8;
			uint32_t *v = realloc(b->s->v, cap * sizeof(*v));

			if (!v) {
				b->err = -ENOMEM;
				return;
			}
			b->s->v = v;
			b->cap = cap;
		}
		b->s->v[b->s->n++] = ST(pat, pos);
	next:
		if (pp->kind[pos] != C_ANY)
			return;
		pos++;
	}
}

/* Drop states of rules that cover the path already, compute `below`. */
static void finish(const struct policy *p, struct policy_state *s)
{
	uint32_t w = 0;

	s->below = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		unsigned rule = p->pat[ST_PAT(s->v[i])].rule;

		if (s->covered & rule)
			continue;
		s->below |= rule;
		s->v[w++] = s->v[i];
	}
	s->n = w;
	if (!w) {
		free(s->v);
		s->v = NULL;
	}
}

int policy_state_root(const struct policy *p, struct policy_state *out)
{
	struct builder b = {.s = out};

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; p && i < p->npat && !b.err; i++)
		add_state(p, &b, i, 0);
	if (b.err) {
		policy_state_release(out);
		return b.err;
	}
	finish(p, out);
	return 0;
}

/* A name being matched: NUL-terminated only when a glob needs it. */
struct mname {
	const char *name;
	size_t nlen;
	uint64_t hash;
	bool hashed;
	char *z, buf[256];
};

static void mname_release(struct mname *m)
{
	if (m->z && m->z != m->buf)
		free(m->z);
}

static bool comp_match(const struct policy_pat *pp, unsigned pos,
		       struct mname *m)
{
	switch (pp->kind[pos]) {
	case C_ANY:
		return true;
	case C_LIT:
		if (pp->len[pos] != m->nlen)
			return false;
		if (!m->hashed) {
			m->hash = name_hash(m->name, m->nlen);
			m->hashed = true;
		}
		return pp->hash[pos] == m->hash &&
		       !memcmp(pp->comp[pos], m->name, m->nlen);
	default:
		if (!m->z) {
			m->z = m->nlen < sizeof(m->buf) ? m->buf
							: malloc(m->nlen + 1);
			if (!m->z)
				return false;
			memcpy(m->z, m->name, m->nlen);
			m->z[m->nlen] = '\0';
		}
		return fnmatch(pp->comp[pos], m->z, 0) == 0;
	}
}

int policy_state_step(const struct policy *p, const struct policy_state *dir,
		      const char *name, size_t nlen, struct policy_state *out)
{
	struct builder b = {.s = out};
	struct mname m = {.name = name, .nlen = nlen};

	memset(out, 0, sizeof(*out));
	out->covered = dir->covered;
	if (!dir->n)
		return 0;
	b.cap = dir->n + 4; /* '**' states stay: about as many as before */
	out->v = malloc(b.cap * sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (uint32_t i = 0; i < dir->n && !b.err; i++) {
		uint32_t pat = ST_PAT(dir->v[i]);
		unsigned pos = ST_POS(dir->v[i]);
		const struct policy_pat *pp = &p->pat[pat];

		if (pp->kind[pos] == C_ANY)
			add_state(p, &b, pat, pos);
		else if (comp_match(pp, pos, &m))
			add_state(p, &b, pat, pos + 1);
	}
	mname_release(&m);
	if (b.err) {
		policy_state_release(out);
		return b.err;
	}
	finish(p, out);
	return 0;
}

unsigned policy_name_rules(const struct policy *p,
			   const struct policy_state *dir, const char *name,
			   size_t nlen)
{
	struct mname m = {.name = name, .nlen = nlen};
	unsigned covered = dir->covered;

	for (uint32_t i = 0; i < dir->n; i++) {
		uint32_t pat = ST_PAT(dir->v[i]);
		unsigned pos = ST_POS(dir->v[i]);
		const struct policy_pat *pp = &p->pat[pat];

		/* a '**' state alone never ends here: its closure would
		 * have covered the directory already */
		if ((covered & pp->rule) || pp->kind[pos] == C_ANY ||
		    pos + 1 < pp->tail)
			continue;
		if (comp_match(pp, pos, &m))
			covered |= pp->rule;
	}
	mname_release(&m);
	return covered;
}

int policy_state_final(const struct policy *p, const struct policy_state *dir,
		       unsigned rules, struct policy_state *out)
{
	memset(out, 0, sizeof(*out));
	out->covered = dir->covered;
	out->below = dir->below & rules;
	if (!dir->n)
		return 0;
	out->v = malloc(dir->n * sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (uint32_t i = 0; i < dir->n; i++) {
		const struct policy_pat *pp = &p->pat[ST_PAT(dir->v[i])];
		unsigned pos = ST_POS(dir->v[i]);

		if ((pp->rule & rules) && pp->kind[pos] != C_ANY &&
		    pos + 1 >= pp->tail)
			out->v[out->n++] = dir->v[i];
	}
	if (!out->n) {
		free(out->v);
		out->v = NULL;
	}
	return 0;
}

void policy_state_release(struct policy_state *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

unsigned policy_path_rules(const struct policy *p, const char *path)
{
	struct policy_state s, next;
	const char *c = path;
	unsigned r;

	if (policy_state_root(p, &s))
		return 0;
	while (*c) {
		const char *sl = strchr(c, '/');
		size_t n = sl ? (size_t)(sl - c) : strlen(c);

		if (n && policy_state_step(p, &s, c, n, &next) == 0) {
			policy_state_release(&s);
			s = next;
		}
		c += n + (sl ? 1 : 0);
	}
	r = s.covered;
	policy_state_release(&s);
	return r;
}
