/* SPDX-License-Identifier: MIT */
/*
 * cmd-audit.c - `blastctl audit [NAME] [--json]`: the operations the
 * env's filesystem policy denied, oldest first (the store keeps the
 * newest POLICY_AUDIT_MAX), then how many denials were never recorded
 * (a burst past the daemon's buffer) and when. A mounted env's daemon is
 * asked to write what it buffered first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "policy.h"
#include "snap.h"
#include "store.h"

#define FLUSH_TIMEOUT_MS 30000

struct audit_out {
	struct ctl *c;
	struct ctl_table *tab;
	json_t *arr;
	struct policy_audit_drops drops;
};

static void fmt_time(int64_t ns, bool utc, char *buf, size_t len)
{
	time_t s = (time_t)(ns / STORE_NS_PER_S);
	struct tm tm;

	if (utc)
		gmtime_r(&s, &tm);
	else
		localtime_r(&s, &tm);
	strftime(buf, len, utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S",
		 &tm);
}

static int audit_one(void *arg, const struct policy_audit *a)
{
	struct audit_out *o = arg;
	char when[64];
	json_t *j;

	fmt_time(a->time_ns, o->arr != NULL, when, sizeof(when));
	if (o->arr) {
		j = ctl_json_add(json_object(), "time", ctl_json_str(when));
		j = ctl_json_add(j, "time_ns", json_integer(a->time_ns));
		j = ctl_json_add(j, "pid", json_integer(a->pid));
		j = ctl_json_add(j, "process", ctl_json_str(a->comm));
		j = ctl_json_add(j, "op", ctl_json_str(a->op));
		j = ctl_json_add(j, "rule", ctl_json_str(a->rule));
		j = ctl_json_add(j, "path", json_string(a->path));
		return j && !json_array_append_new(o->arr, j) ? 0 : -ENOMEM;
	}
	ctl_table_cell(o->tab, "%s", when);
	ctl_table_cell(o->tab, "%d", (int)a->pid);
	ctl_table_cell(o->tab, "%s", a->comm[0] ? a->comm : "?");
	ctl_table_cell(o->tab, "%s", a->op);
	ctl_table_cell(o->tab, "%s", a->rule);
	ctl_table_cell(o->tab, "%s", a->path);
	return 0;
}

/* Records lost to bursts: {"count", "first", "last"} (times UTC). */
static json_t *drops_json(const struct policy_audit_drops *d)
{
	char first[64] = "", last[64] = "";
	json_t *j;

	if (d->count) {
		fmt_time(d->first_ns, true, first, sizeof(first));
		fmt_time(d->last_ns, true, last, sizeof(last));
	}
	j = ctl_json_add(json_object(), "count",
			 json_integer((json_int_t)d->count));
	j = ctl_json_add(j, "first",
			 d->count ? ctl_json_str(first) : json_null());
	return ctl_json_add(j, "last",
			    d->count ? ctl_json_str(last) : json_null());
}

static void drops_print(const struct policy_audit_drops *d)
{
	char first[64], last[64];

	fmt_time(d->first_ns, false, first, sizeof(first));
	fmt_time(d->last_ns, false, last, sizeof(last));
	printf("%llu denials not recorded (bursts past the daemon's buffer "
	       "dropped the oldest), from %s to %s\n",
	       (unsigned long long)d->count, first, last);
}

static int audit_read(struct snap_target *tg, struct audit_out *o)
{
	struct store_txn *t;
	struct store_env e;
	int r = store_txn_begin(tg->st, false, &t);

	if (r < 0)
		return r;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = policy_audit_iter(t, &e, audit_one, o);
	if (!r)
		r = policy_audit_drops_get(t, &e, &o->drops);
	store_txn_abort(t);
	return r;
}

static int audit_print(struct ctl *c, struct snap_target *tg)
{
	static const char *const heads[] = {"TIME", "PID",  "PROCESS",
					    "OP",   "RULE", "PATH"};
	struct audit_out o = {.c = c};
	json_t *j;
	int r;

	if (c->json)
		o.arr = json_array();
	else if ((r = ctl_table_new(heads, "lrllll", 6, &o.tab)) < 0)
		return r;
	r = c->json && !o.arr ? -ENOMEM : audit_read(tg, &o);
	if (r < 0) {
		ctl_err(c, "cannot read the audit log of env '%s': %s",
			tg->name, ctl_strerror(r));
		json_decref(o.arr);
		ctl_table_free(o.tab);
		return r;
	}
	if (c->json) {
		j = ctl_json_add(json_object(), "env", ctl_json_str(tg->name));
		j = ctl_json_add(j, "denials", o.arr);
		j = ctl_json_add(j, "dropped", drops_json(&o.drops));
		return ctl_json_print(c, j);
	}
	if (ctl_table_rows(o.tab))
		r = ctl_table_print(o.tab, stdout);
	else if (!o.drops.count)
		ctl_status(c, "no denied operations recorded for env '%s'",
			   tg->name);
	ctl_table_free(o.tab);
	if (!r && o.drops.count)
		drops_print(&o.drops);
	return r;
}

int ctl_cmd_audit(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	struct snap_target tg;
	const char *name = NULL;
	json_t *rep;
	int o, r;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	if (argc - optind > 1)
		return ctl_usage_error(c, "too many arguments");
	if (optind < argc) {
		name = argv[optind];
		if (store_name_check(name))
			return snap_name_usage(c, "env", name);
	}
	r = snap_target_open(c, name, &tg);
	if (r == 0 && tg.mounted) {
		r = snap_request(&tg, "audit-flush", FLUSH_TIMEOUT_MS, &rep);
		if (r == 0)
			json_decref(rep);
	}
	if (r == 0)
		r = audit_print(c, &tg);
	snap_target_close(&tg);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
