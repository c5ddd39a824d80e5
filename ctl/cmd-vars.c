/* SPDX-License-Identifier: MIT */
/*
 * cmd-vars.c - `blastctl vars [NAME] set KEY=VALUE... | unset KEY... |
 * list [--json]`: the variables activation exports, kept in the env
 * state ("var:KEY"), so snapshots, clones and load carry them. Every
 * operand is checked before anything changes; one write txn does them
 * all. A mounted env's activate scripts are rewritten at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "activate.h"
#include "ctl.h"
#include "snap.h"
#include "store.h"

enum vars_op { VARS_LIST, VARS_SET, VARS_UNSET };

struct vars_args {
	const char *name; /* NULL: the env mounted at ./.blast */
	enum vars_op op;
	char **items; /* KEY=VALUE or KEY */
	int nitems;
};

static int op_parse(const char *s, enum vars_op *op)
{
	if (!strcmp(s, "list"))
		*op = VARS_LIST;
	else if (!strcmp(s, "set"))
		*op = VARS_SET;
	else if (!strcmp(s, "unset"))
		*op = VARS_UNSET;
	else
		return -EINVAL;
	return 0;
}

/* Values go into JSON (vars list --json, bin/activate.json) and every
 * shell's quoting: text only. */
static bool utf8_ok(const char *s)
{
	json_t *j = json_string(s); /* NULL when not valid UTF-8 */

	json_decref(j);
	return j != NULL;
}

/* Each operand well formed, or a usage error naming it. */
static int items_check(struct ctl *c, const struct vars_args *a)
{
	char key[ACTIVATE_KEY_MAX + 2];
	const char *why, *eq;
	size_t klen;
	int i;

	if (a->op != VARS_LIST && a->nitems == 0)
		return ctl_usage_error(c, a->op == VARS_SET
					      ? "expected KEY=VALUE"
					      : "expected KEY");
	if (a->op == VARS_LIST && a->nitems)
		return ctl_usage_error(c, "too many arguments");
	for (i = 0; i < a->nitems; i++) {
		eq = strchr(a->items[i], '=');
		if (a->op == VARS_SET && !eq)
			return ctl_usage_error(
			    c, "expected KEY=VALUE, got '%s'", a->items[i]);
		klen = eq && a->op == VARS_SET ? (size_t)(eq - a->items[i])
					       : strlen(a->items[i]);
		snprintf(key, sizeof(key), "%.*s", (int)klen, a->items[i]);
		if (klen > ACTIVATE_KEY_MAX ||
		    activate_key_check(key, &why) < 0)
			return ctl_usage_error(
			    c, "invalid variable name '%s': %s", key, why);
		if (eq && a->op == VARS_SET &&
		    strlen(eq + 1) > ACTIVATE_VAL_MAX)
			return ctl_usage_error(
			    c, "value of '%s' is longer than %u bytes", key,
			    ACTIVATE_VAL_MAX);
		if (eq && a->op == VARS_SET && !utf8_ok(eq + 1))
			return ctl_usage_error(c, "value of '%s' is not UTF-8",
					       key);
	}
	return CTL_PARSED;
}

static int vars_parse(struct ctl *c, int argc, char **argv, struct vars_args *a)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	enum vars_op op;
	int o, n;

	/* '+': a value may start with '-' (vars set X=-1) */
	o = ctl_getopt(c, argc, argv, "+", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	n = argc - optind;
	argv += optind;
	/* NAME first unless the first operand is the operation (an env
	 * named like one is given as `vars list list`) */
	if (n > 0 && (op_parse(argv[0], &op) < 0 ||
		      (n > 1 && op_parse(argv[1], &op) == 0))) {
		a->name = argv[0];
		argv++;
		n--;
		if (store_name_check(a->name))
			return snap_name_usage(c, "env", a->name);
	}
	a->op = VARS_LIST;
	if (n > 0) {
		if (op_parse(argv[0], &a->op) < 0)
			return ctl_usage_error(c, "unknown operation '%s'",
					       argv[0]);
		argv++;
		n--;
	}
	if (c->json && a->op != VARS_LIST)
		return ctl_usage_error(c, "--json is only for list");
	/* options after the operation ("list --json") */
	while (n > 0 && a->op == VARS_LIST && !strcmp(argv[n - 1], "--json")) {
		c->json = true;
		n--;
	}
	a->items = argv;
	a->nitems = n;
	return items_check(c, a);
}

static int vars_print(struct ctl *c, const struct activate_vars *v)
{
	json_t *j;
	size_t i;

	if (!c->json) {
		for (i = 0; i < v->n; i++)
			printf("%s=%s\n", v->v[i].key, v->v[i].val);
		return 0;
	}
	j = json_object();
	for (i = 0; j && i < v->n; i++)
		j = ctl_json_add(j, v->v[i].key, json_string(v->v[i].val));
	j = ctl_json_add(json_object(), "vars", j);
	return ctl_json_print(c, j);
}

static int vars_list(struct snap_target *tg)
{
	struct activate_vars v = {0};
	struct store_txn *t;
	struct store_env e;
	int r;

	r = store_txn_begin(tg->st, false, &t);
	if (r == 0) {
		r = store_env_get(t, tg->name, &e);
		if (r == 0)
			r = activate_vars_load(t, e.root, &v);
		store_txn_abort(t);
	}
	if (r < 0) {
		ctl_err(tg->c, "cannot read the variables of env '%s': %s",
			tg->name, ctl_strerror(r));
		return r;
	}
	r = vars_print(tg->c, &v);
	activate_vars_release(&v);
	return r;
}

/* One item in write txn t; *changed counts what changed. */
static int vars_apply_one(struct store_txn *t, struct store_env *e,
			  enum vars_op op, const char *item, int *changed)
{
	char key[sizeof(ACTIVATE_VAR_PREFIX) + ACTIVATE_KEY_MAX + 1];
	const char *eq = strchr(item, '='), *val;
	void *cur = NULL;
	size_t klen, len;
	int r;

	klen = op == VARS_SET ? (size_t)(eq - item) : strlen(item);
	snprintf(key, sizeof(key), "%s%.*s", ACTIVATE_VAR_PREFIX, (int)klen,
		 item);
	if (op == VARS_UNSET) {
		r = store_state_del(t, e, key);
		if (r == 0)
			(*changed)++;
		return r == -ENOENT ? 0 : r;
	}
	val = eq + 1;
	r = store_state_get(t, e->root, key, &cur, &len);
	if (r == 0 && len == strlen(val) && !memcmp(cur, val, len)) {
		free(cur);
		return 0;
	}
	free(cur);
	if (r < 0 && r != -ENOENT)
		return r;
	(*changed)++;
	return store_state_set(t, e, key, val, strlen(val));
}

static int vars_change(struct snap_target *tg, const struct vars_args *a)
{
	struct store_txn *t;
	struct store_env e;
	int r, i, changed = 0;

	r = store_txn_begin(tg->st, true, &t);
	if (r < 0)
		goto out_err;
	r = store_env_get(t, tg->name, &e);
	for (i = 0; r == 0 && i < a->nitems; i++)
		r = vars_apply_one(t, &e, a->op, a->items[i], &changed);
	if (r == 0)
		r = store_txn_commit(t);
	else
		store_txn_abort(t);
	if (r < 0)
		goto out_err;
	if (tg->mounted && changed) {
		r = ctl_activate_refresh(tg->c, tg->name, tg->mnt);
		if (r < 0)
			return r;
	}
	if (changed)
		ctl_status(tg->c, "env '%s': %d variable%s %s%s", tg->name,
			   changed, changed == 1 ? "" : "s",
			   a->op == VARS_SET ? "set" : "unset",
			   tg->mounted ? "; activate again to apply" : "");
	else
		ctl_status(tg->c, "env '%s': nothing changed", tg->name);
	return 0;
out_err:
	ctl_err(tg->c, "cannot change the variables of env '%s': %s", tg->name,
		ctl_strerror(r));
	return r;
}

int ctl_cmd_vars(struct ctl *c, int argc, char **argv)
{
	struct vars_args a = {0};
	struct snap_target tg;
	int rc, r;

	rc = vars_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	r = snap_target_open(c, a.name, &tg);
	if (r == 0)
		r = a.op == VARS_LIST ? vars_list(&tg) : vars_change(&tg, &a);
	snap_target_close(&tg);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
