/* SPDX-License-Identifier: MIT */
/*
 * cmd-rules.c - `blastctl rules [NAME] [set PKG SPEC | unset PKG]
 * [--json]`: an env's version rules, pins such as `numpy <2` that `check`
 * holds the installed distributions against (enforcing them at write time
 * is a later step: the rule is data the daemon can read). Kept in env
 * state under "pkgrule:<normalized name>" as the specifier text, so
 * snapshots and clones carry them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "pkg.h"

#define RULE_PREFIX "pkgrule:"

struct rules_list {
	struct ctl *c;
	json_t *arr;
};

static int rule_print(void *arg, const char *key, const void *val, size_t len)
{
	struct rules_list *l = arg;
	const char *name = key + strlen(RULE_PREFIX);

	if (l->arr)
		json_array_append_new(
		    l->arr,
		    json_pack("{s:s,s:s#}", "name", name, "spec", val, len));
	else
		printf("%s %.*s\n", name, (int)len, (const char *)val);
	return 0;
}

static int rules_list(struct ctl *c, struct snap_target *tg)
{
	struct rules_list l = {c, c->json ? json_array() : NULL};
	struct store_txn *t;
	struct store_env e;
	int r = store_txn_begin(tg->st, false, &t);

	if (!r) {
		r = store_env_get(t, tg->name, &e);
		if (!r)
			r = store_state_iter(t, e.root, RULE_PREFIX, rule_print,
					     &l);
		if (r == -ENOENT)
			r = 0;
		store_txn_abort(t);
	}
	if (r) {
		json_decref(l.arr);
		ctl_err(c, "cannot read the rules of '%s': %s", tg->name,
			ctl_strerror(r));
		return r;
	}
	if (l.arr)
		return ctl_json_print(
		    c, ctl_json_add(ctl_json_add(json_object(), "env",
						 json_string(tg->name)),
				    "rules", l.arr));
	return 0;
}

static int rules_change(struct ctl *c, struct snap_target *tg, const char *pkg,
			const char *spec)
{
	char norm[PKG_NAME_LEN], key[PKG_NAME_LEN + 16], err[PKG_ERR_LEN];
	struct pkg_specset set;
	struct store_txn *t;
	struct store_env e;
	int r;

	if (!pkg_name_valid(pkg, strlen(pkg)))
		return ctl_usage_error(c, "invalid distribution name '%s'",
				       pkg),
		       -EINVAL;
	if (spec) {
		if (pkg_specset_parse(spec, strlen(spec), &set, err))
			return ctl_usage_error(c, "%s", err), -EINVAL;
		pkg_specset_release(&set);
	}
	pkg_name_normalize(pkg, strlen(pkg), norm, sizeof(norm));
	snprintf(key, sizeof(key), RULE_PREFIX "%s", norm);
	r = store_txn_begin(tg->st, true, &t);
	if (r)
		goto out;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = spec ? store_state_set(t, &e, key, spec, strlen(spec))
			 : store_state_del(t, &e, key);
	if (!r)
		r = store_txn_commit(t);
	else
		store_txn_abort(t);
out:
	if (r == -ENOENT && !spec)
		ctl_err(c, "env '%s' has no rule for '%s'", tg->name, norm);
	else if (r)
		ctl_err(c, "cannot change the rules of '%s': %s", tg->name,
			ctl_strerror(r));
	else if (spec)
		ctl_status(c, "%s: rule %s %s", tg->name, norm, spec);
	else
		ctl_status(c, "%s: rule for %s removed", tg->name, norm);
	return r;
}

static bool is_verb(const char *s)
{
	return !strcmp(s, "set") || !strcmp(s, "unset") || !strcmp(s, "list");
}

int ctl_cmd_rules(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	struct snap_target tg = {.lock_fd = -1};
	const char *name = NULL, *verb = "list";
	int o, r, n;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1)
		return ctl_opt_exit(o);
	if (optind < argc && !is_verb(argv[optind]))
		name = argv[optind++];
	if (optind < argc)
		verb = argv[optind++];
	n = argc - optind;
	if (!is_verb(verb))
		return ctl_usage_error(c, "unknown action '%s'", verb);
	if ((!strcmp(verb, "set") && n != 2) ||
	    (!strcmp(verb, "unset") && n != 1) ||
	    (!strcmp(verb, "list") && n != 0))
		return ctl_usage_error(c, "wrong number of arguments for '%s'",
				       verb);
	if (name && store_name_check(name))
		return snap_name_usage(c, "env", name);
	r = snap_target_open(c, name, &tg);
	if (!r && !strcmp(verb, "list"))
		r = rules_list(c, &tg);
	else if (!r)
		r = rules_change(c, &tg, argv[optind],
				 !strcmp(verb, "set") ? argv[optind + 1]
						      : NULL);
	snap_target_close(&tg);
	if (r == -EINVAL)
		return CTL_EXIT_USAGE;
	return r ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
