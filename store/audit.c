/* SPDX-License-Identifier: MIT */
/*
 * audit.c - the policy's audit log: per env (by id, in the meta database,
 * outside the env state so a load does not rewind it) the newest
 * POLICY_AUDIT_MAX denials as text lines, and the count of records
 * lost before they reached it. Appended in batches by the daemon, never
 * one txn per denial.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "store_internal.h"

/* ---- audit log: meta "audit:<env id>" -> lines
 * "TIME_NS\tPID\tCOMM\tOP\tRULE\tPATH\n", text fields escaped ---- */

static void esc_put(char **w, const char *s)
{
	for (; *s; s++) {
		if (*s == '\t' || *s == '\n' || *s == '\\') {
			*(*w)++ = '\\';
			*(*w)++ = *s == '\t' ? 't' : *s == '\n' ? 'n' : '\\';
		} else {
			*(*w)++ = *s;
		}
	}
}

static size_t unesc(char *dst, size_t cap, const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n && w + 1 < cap; i++) {
		char ch = s[i];

		if (ch == '\\' && i + 1 < n) {
			ch = s[++i];
			ch = ch == 't' ? '\t' : ch == 'n' ? '\n' : ch;
		}
		dst[w++] = ch;
	}
	dst[w] = '\0';
	return w;
}

static void audit_key(char *kb, size_t len, const struct store_env *e)
{
	snprintf(kb, len, "audit:%" PRIu64, e->id);
}

/* ---- meta "auditdrops:<env id>" -> "COUNT FIRST_NS LAST_NS" ---- */

static void drops_key(char *kb, size_t len, const struct store_env *e)
{
	snprintf(kb, len, "auditdrops:%" PRIu64, e->id);
}

void policy_audit_dropped(struct policy_audit_drops *d, int64_t time_ns)
{
	if (!d->count || time_ns < d->first_ns)
		d->first_ns = time_ns;
	if (!d->count || time_ns > d->last_ns)
		d->last_ns = time_ns;
	d->count++;
}

int policy_audit_drops_get(struct store_txn *t, const struct store_env *e,
			   struct policy_audit_drops *out)
{
	char kb[64], buf[96];
	MDB_val k, v;
	int err;

	memset(out, 0, sizeof(*out));
	drops_key(kb, sizeof(kb), e);
	k.mv_size = strlen(kb);
	k.mv_data = kb;
	err = store_get(t, DB_META, &k, &v);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	if (v.mv_size >= sizeof(buf))
		return -EIO;
	memcpy(buf, v.mv_data, v.mv_size);
	buf[v.mv_size] = '\0';
	if (sscanf(buf, "%" SCNu64 " %" SCNd64 " %" SCNd64, &out->count,
		   &out->first_ns, &out->last_ns) != 3)
		return -EIO;
	return 0;
}

static int drops_add(struct store_txn *t, const struct store_env *e,
		     const struct policy_audit_drops *d)
{
	struct policy_audit_drops sum;
	char kb[64], buf[96];
	MDB_val k, v;
	int err;

	if (!d || !d->count)
		return 0;
	err = policy_audit_drops_get(t, e, &sum);
	if (err)
		return err;
	if (!sum.count || d->first_ns < sum.first_ns)
		sum.first_ns = d->first_ns;
	if (!sum.count || d->last_ns > sum.last_ns)
		sum.last_ns = d->last_ns;
	sum.count += d->count;
	drops_key(kb, sizeof(kb), e);
	k.mv_size = strlen(kb);
	k.mv_data = kb;
	v.mv_size = (size_t)snprintf(buf, sizeof(buf),
				     "%" PRIu64 " %" PRId64 " %" PRId64,
				     sum.count, sum.first_ns, sum.last_ns);
	v.mv_data = buf;
	return store_put(t, DB_META, &k, &v, 0);
}

int policy_audit_append(struct store_txn *t, const struct store_env *e,
			const struct policy_audit *v, size_t n,
			const struct policy_audit_drops *drops)
{
	char kb[64], *buf, *w;
	MDB_val k, old = {0, NULL}, nv;
	size_t lines = 0, cap, skip = 0;
	const char *o;
	int err;

	err = drops_add(t, e, drops);
	if (err || !n)
		return err;
	audit_key(kb, sizeof(kb), e);
	k.mv_size = strlen(kb);
	k.mv_data = kb;
	err = store_get(t, DB_META, &k, &old);
	if (err && err != -ENOENT)
		return err;
	o = old.mv_data;
	for (size_t i = 0; i < old.mv_size; i++)
		lines += o[i] == '\n';
	/* drop the oldest lines past the bound */
	while (lines + n > POLICY_AUDIT_MAX && skip < old.mv_size) {
		const char *nl = memchr(o + skip, '\n', old.mv_size - skip);

		skip = nl ? (size_t)(nl - o) + 1 : old.mv_size;
		lines--;
	}
	if (n > POLICY_AUDIT_MAX) {
		v += n - POLICY_AUDIT_MAX;
		n = POLICY_AUDIT_MAX;
	}
	cap = old.mv_size - skip + n * (64 + 2 * (17 + 16 + 24 + 1024));
	buf = w = malloc(cap);
	if (!buf)
		return -ENOMEM;
	if (old.mv_size > skip) {
		memcpy(w, o + skip, old.mv_size - skip);
		w += old.mv_size - skip;
	}
	for (size_t i = 0; i < n; i++) {
		w += snprintf(w, 48, "%" PRId64 "\t%" PRId32 "\t", v[i].time_ns,
			      v[i].pid);
		esc_put(&w, v[i].comm);
		*w++ = '\t';
		esc_put(&w, v[i].op);
		*w++ = '\t';
		esc_put(&w, v[i].rule);
		*w++ = '\t';
		esc_put(&w, v[i].path);
		*w++ = '\n';
	}
	nv.mv_size = (size_t)(w - buf);
	nv.mv_data = buf;
	err = store_put(t, DB_META, &k, &nv, 0);
	free(buf);
	return err;
}

static int audit_parse(const char *s, size_t n, struct policy_audit *a)
{
	const char *f[6];
	size_t fl[6], nf = 0;
	const char *p = s, *end = s + n;

	while (nf < 6) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));

		f[nf] = p;
		fl[nf] = tab && nf < 5 ? (size_t)(tab - p) : (size_t)(end - p);
		nf++;
		if (!tab || nf == 6)
			break;
		p = tab + 1;
	}
	if (nf != 6)
		return -EIO;
	memset(a, 0, sizeof(*a));
	a->time_ns = strtoll(f[0], NULL, 10);
	a->pid = (int32_t)strtol(f[1], NULL, 10);
	unesc(a->comm, sizeof(a->comm), f[2], fl[2]);
	unesc(a->op, sizeof(a->op), f[3], fl[3]);
	unesc(a->rule, sizeof(a->rule), f[4], fl[4]);
	unesc(a->path, sizeof(a->path), f[5], fl[5]);
	return 0;
}

int policy_audit_iter(struct store_txn *t, const struct store_env *e,
		      policy_audit_fn fn, void *arg)
{
	struct policy_audit a;
	char kb[64];
	MDB_val k, v;
	const char *o;
	size_t at = 0;
	int err;

	audit_key(kb, sizeof(kb), e);
	k.mv_size = strlen(kb);
	k.mv_data = kb;
	err = store_get(t, DB_META, &k, &v);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	o = v.mv_data;
	while (at < v.mv_size) {
		const char *nl = memchr(o + at, '\n', v.mv_size - at);
		size_t len = nl ? (size_t)(nl - o) - at : v.mv_size - at;

		if (audit_parse(o + at, len, &a) == 0) {
			err = fn(arg, &a);
			if (err)
				return err;
		}
		at += len + 1;
	}
	return 0;
}

int policy_audit_clear(struct store_txn *t, const struct store_env *e)
{
	char kb[64];
	MDB_val k;
	int err;

	audit_key(kb, sizeof(kb), e);
	k.mv_size = strlen(kb);
	k.mv_data = kb;
	err = store_del(t, DB_META, &k);
	if (err && err != -ENOENT)
		return err;
	drops_key(kb, sizeof(kb), e);
	k.mv_size = strlen(kb);
	err = store_del(t, DB_META, &k);
	return err == -ENOENT ? 0 : err;
}
