/* SPDX-License-Identifier: MIT */
/*
 * cmd-policy.c - `blastctl policy [NAME] show|set KEY VALUE...|unset KEY`:
 * an env's policy, kept in its state ("policy:KEY") so snapshots carry
 * it. Values are validated before anything is written (store/policy.h);
 * a mounted env's daemon is told to apply the change at once. `enter PID`
 * / `leave PID` put a running shell in (and out of) the env's resource
 * limits, for `blast start` / `blast kill`; with shell.confine set,
 * `enter --confine-shell` tells the shell function to open a confined
 * shell (`blastctl run NAME -- $SHELL`) instead.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "policy.h"
#include "sandbox.h"
#include "snap.h"
#include "store.h"

#define RELOAD_TIMEOUT_MS 30000

enum policy_action { ACT_SHOW, ACT_SET, ACT_UNSET, ACT_ENTER, ACT_LEAVE };
enum { OPT_CONFINE_SHELL = 0x100 };

struct policy_args {
	const char *name; /* NULL: the env mounted at ./.blast */
	enum policy_action act;
	int key;
	const char *const *vals;
	size_t nvals;
	pid_t pid;	    /* enter, leave */
	bool quiet;	    /* enter, leave: nothing to do is said by nothing */
	bool confine_shell; /* enter: the caller can run a confined shell */
};

static int action_find(const char *s)
{
	if (!strcmp(s, "show"))
		return ACT_SHOW;
	if (!strcmp(s, "set"))
		return ACT_SET;
	if (!strcmp(s, "unset"))
		return ACT_UNSET;
	if (!strcmp(s, "enter"))
		return ACT_ENTER;
	if (!strcmp(s, "leave"))
		return ACT_LEAVE;
	return -1;
}

static int key_parse(struct ctl *c, const char *s, int *out)
{
	int k = policy_key_find(s);
	char all[1024] = "";

	for (int i = 0; k < 0 && i < POLICY__NKEYS; i++) {
		size_t n = strlen(all);

		snprintf(all + n, sizeof(all) - n, "%s%s",
			 !i			  ? ""
			 : i + 1 == POLICY__NKEYS ? " or "
						  : ", ",
			 policy_key_name(i));
	}
	if (k < 0)
		return ctl_usage_error(
		    c, "unknown policy key '%s': expected %s", s, all);
	*out = k;
	return CTL_PARSED;
}

static int policy_parse(struct ctl *c, int argc, char **argv,
			struct policy_args *a)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {"quiet", no_argument, NULL, 'q'},
	    {"confine-shell", no_argument, NULL, OPT_CONFINE_SHELL},
	    {0},
	};
	int o, i, act;

	while ((o = ctl_getopt(c, argc, argv, "q", opts)) == 'q' ||
	       o == OPT_CONFINE_SHELL)
		if (o == 'q')
			a->quiet = true;
		else
			a->confine_shell = true;
	if (o != -1)
		return ctl_opt_exit(o);
	i = optind;
	if (i < argc && action_find(argv[i]) < 0) {
		a->name = argv[i++];
		if (store_name_check(a->name))
			return snap_name_usage(c, "env", a->name);
	}
	act = i < argc ? action_find(argv[i]) : ACT_SHOW;
	if (act < 0)
		return ctl_usage_error(c,
				       "unknown action '%s': expected show, "
				       "set, unset, enter or leave",
				       argv[i]);
	a->act = act;
	i += i < argc;
	if (act == ACT_ENTER || act == ACT_LEAVE) {
		unsigned long pid;

		if (argc - i != 1)
			return ctl_usage_error(c, argc - i
						      ? "too many arguments"
						      : "expected PID");
		if (ctl_parse_uint(c, "PID", argv[i], 1, INT32_MAX, &pid))
			return CTL_EXIT_USAGE;
		a->pid = (pid_t)pid;
		return CTL_PARSED;
	}
	if (a->confine_shell)
		return ctl_usage_error(c, "--confine-shell only goes with "
					  "enter");
	if (act == ACT_SHOW) {
		if (i < argc)
			return ctl_usage_error(c, "too many arguments");
		return CTL_PARSED;
	}
	if (i >= argc)
		return ctl_usage_error(c, "expected KEY");
	if (key_parse(c, argv[i], &a->key) != CTL_PARSED)
		return CTL_EXIT_USAGE;
	i++;
	a->vals = (const char *const *)argv + i;
	a->nvals = (size_t)(argc - i);
	if (act == ACT_UNSET && a->nvals)
		return ctl_usage_error(c, "too many arguments");
	if (act == ACT_SET && !a->nvals)
		return ctl_usage_error(c, "expected a value for %s",
				       policy_key_name(a->key));
	return CTL_PARSED;
}

/* ---- show ------------------------------------------------------------ */

static json_t *key_json(enum policy_key k, const char *text)
{
	json_t *arr;

	switch (policy_key_kind(k)) {
	case POLICY_PATTERNS:
	case POLICY_NETLIST:
	case POLICY_HOSTPATHS:
		arr = json_array();
		for (const char *s = text; arr && *s;) {
			const char *nl = strchr(s, '\n');
			size_t n = nl ? (size_t)(nl - s) : strlen(s);

			json_array_append_new(arr, json_stringn(s, n));
			s += n + (nl ? 1 : 0);
		}
		return arr;
	case POLICY_FRACTION:
		return json_real(strtod(text, NULL));
	case POLICY_NETMODE:
	case POLICY_NETBW:
		return json_string(text);
	case POLICY_BOOL:
		return json_boolean(!strcmp(text, "true"));
	default:
		return ctl_json_u64(strtoull(text, NULL, 10));
	}
}

static void key_print(enum policy_key k, const char *text)
{
	char b[CTL_BYTES_LEN];

	printf("%-17s", policy_key_name(k));
	switch (policy_key_kind(k)) {
	case POLICY_PATTERNS:
	case POLICY_NETLIST:
	case POLICY_HOSTPATHS:
		for (const char *s = text; *s;) {
			const char *nl = strchr(s, '\n');
			int n = nl ? (int)(nl - s) : (int)strlen(s);
			bool q = memchr(s, ' ', (size_t)n) != NULL;

			printf(" %s%.*s%s", q ? "'" : "", n, s, q ? "'" : "");
			s += n + (nl ? 1 : 0);
		}
		putchar('\n');
		break;
	case POLICY_SIZE:
		printf(" %s (%s)\n", text,
		       ctl_fmt_bytes(b, sizeof(b), strtoull(text, NULL, 10)));
		break;
	default:
		printf(" %s\n", text);
	}
}

static int policy_show(struct ctl *c, struct snap_target *tg)
{
	struct store_txn *t;
	struct store_env e;
	struct policy *p = NULL;
	json_t *j, *o;
	int r, n = 0;

	r = store_txn_begin(tg->st, false, &t);
	if (r < 0)
		goto out_err;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = policy_load(t, e.root, &p);
	store_txn_abort(t);
	if (r < 0)
		goto out_err;
	if (c->json) {
		o = json_object();
		for (int k = 0; o && k < POLICY__NKEYS; k++)
			if (p->text[k])
				o = ctl_json_add(o, policy_key_name(k),
						 key_json(k, p->text[k]));
		j = ctl_json_add(json_object(), "env", ctl_json_str(tg->name));
		j = ctl_json_add(j, "policy", o);
		policy_free(p);
		return ctl_json_print(c, j);
	}
	for (int k = 0; k < POLICY__NKEYS; k++)
		if (p->text[k]) {
			key_print(k, p->text[k]);
			n++;
		}
	if (!n)
		ctl_status(c, "env '%s' has no policy", tg->name);
	policy_free(p);
	return 0;
out_err:
	ctl_err(c, "cannot read the policy of env '%s': %s", tg->name,
		ctl_strerror(r));
	return r;
}

/* ---- set / unset ----------------------------------------------------- */

static int policy_write(struct snap_target *tg, const struct policy_args *a,
			const char *val)
{
	char key[64];
	struct store_txn *t;
	struct store_env e;
	int r;

	snprintf(key, sizeof(key), POLICY_STATE_PREFIX "%s",
		 policy_key_name(a->key));
	r = store_txn_begin(tg->st, true, &t);
	if (r < 0)
		return r;
	r = store_env_get(t, tg->name, &e);
	if (!r && val)
		r = store_state_set(t, &e, key, val, strlen(val));
	else if (!r)
		r = store_state_del(t, &e, key);
	if (r < 0) {
		store_txn_abort(t);
		return r;
	}
	return store_txn_commit(t);
}

/* The daemon applies the stored policy at once. */
static int policy_reload(struct snap_target *tg)
{
	json_t *rep;
	int r = snap_request(tg, "policy-reload", RELOAD_TIMEOUT_MS, &rep);

	if (r < 0)
		return r;
	json_decref(rep);
	return 0;
}

/* A resource limit this machine cannot apply is refused at set time:
 * try it on a throwaway cgroup (or setrlimit) first. */
static int limit_probe(struct ctl *c, enum policy_key k, const char *val)
{
	char msg[SANDBOX_MSG_LEN], leaf[64];
	struct sandbox_limits l = {.net = -1};
	struct sandbox sb;
	uint64_t u = strtoull(val, NULL, 10);
	int r;

	switch (k) {
	case POLICY_RES_MEMORY:
		l.memory = u;
		break;
	case POLICY_RES_CPU:
		l.cpu = strtod(val, NULL);
		break;
	case POLICY_RES_PIDS:
		l.pids = u;
		break;
	case POLICY_RES_IO_READ:
		l.io_read = u;
		break;
	case POLICY_RES_IO_WRITE:
		l.io_write = u;
		break;
	case POLICY_RES_MEMORY_SOFT:
		l.memory_soft = u;
		break;
	case POLICY_RES_CPU_WEIGHT:
		l.cpu_weight = (unsigned)u;
		break;
	case POLICY_RES_IO_WEIGHT:
		l.io_weight = (unsigned)u;
		break;
	default:
		return 0;
	}
	snprintf(leaf, sizeof(leaf), "blast-probe-%d", (int)getpid());
	r = sandbox_create(&sb, leaf, &l, 0, msg, sizeof(msg));
	if (r < 0) {
		ctl_err(c, "%s cannot be applied on this machine: %s",
			policy_key_name(k), msg);
		return r;
	}
	sandbox_destroy(&sb);
	return 0;
}

static int policy_change(struct ctl *c, struct snap_target *tg,
			 const struct policy_args *a)
{
	const char *kn = policy_key_name(a->key);
	char err[POLICY_ERR_LEN], *val = NULL;
	int r;

	if (a->act == ACT_SET) {
		r = policy_value_parse(a->key, a->vals, a->nvals, &val, err,
				       sizeof(err));
		if (r == -EINVAL) {
			ctl_err(c, "%s", err);
			return -EINVAL;
		}
		if (r < 0) {
			ctl_err(c, "cannot set %s: %s", kn, ctl_strerror(r));
			return r;
		}
		r = limit_probe(c, a->key, val);
		if (r < 0) {
			free(val);
			return r;
		}
	}
	r = policy_write(tg, a, val);
	free(val);
	if (r == -ENOENT && a->act == ACT_UNSET) {
		ctl_status(c, "%s was not set for env '%s'", kn, tg->name);
		return 0;
	}
	if (r < 0) {
		ctl_err(c, "cannot %s %s of env '%s': %s",
			a->act == ACT_SET ? "set" : "unset", kn, tg->name,
			ctl_strerror(r));
		return r;
	}
	if (tg->mounted) {
		r = policy_reload(tg);
		if (r < 0) {
			ctl_err(c,
				"%s is stored but the mounted env's blastfs "
				"did not apply it: remount to apply",
				kn);
			return r;
		}
	}
	ctl_status(c, "%s %s for env '%s'%s",
		   a->act == ACT_SET ? "set" : "unset", kn, tg->name,
		   tg->mounted ? " (applied to the mount)" : "");
	return 0;
}

/* ---- enter / leave: a shell placed in the env's limits ---------------- */

static int shell_record(struct snap_target *tg, pid_t pid, char *buf,
			size_t len)
{
	return snprintf(buf, len, "%s/%s.shell-%d", tg->rundir, tg->name,
			(int)pid) >= (int)len
		   ? -ENAMETOOLONG
		   : 0;
}

static int limits_of(struct snap_target *tg, struct sandbox_limits *l,
		     bool *confine)
{
	struct store_txn *t;
	struct store_env e;
	struct policy *p = NULL;
	int r = store_txn_begin(tg->st, false, &t);

	if (r < 0)
		return r;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = policy_load(t, e.root, &p);
	store_txn_abort(t);
	if (r < 0)
		return r;
	memset(l, 0, sizeof(*l));
	l->memory = p->memory;
	l->cpu = p->cpu;
	l->pids = p->pids;
	l->io_read = p->io_read;
	l->io_write = p->io_write;
	l->memory_soft = p->memory_soft;
	l->cpu_weight = p->cpu_weight;
	l->io_weight = p->io_weight;
	l->net = p->net;
	*confine = p->shell_confine;
	policy_free(p);
	return 0;
}

static int policy_enter(struct ctl *c, struct snap_target *tg,
			const struct policy_args *a)
{
	char msg[SANDBOX_MSG_LEN], rec[PATH_MAX + 96], leaf[96];
	char saved[8192];
	struct sandbox_limits l;
	struct sandbox sb;
	pid_t pid = a->pid;
	bool confine;
	int r = limits_of(tg, &l, &confine);

	if (r < 0) {
		ctl_err(c, "cannot read the policy of env '%s': %s", tg->name,
			ctl_strerror(r));
		return r;
	}
	/* a running shell cannot get a new mount, network or PID
	 * namespace: the shell function opens a confined one instead, and
	 * one that cannot is told so, not left unconfined in silence */
	if (confine && a->confine_shell) {
		printf("confine\n");
		return 0;
	}
	if (confine) {
		ctl_err(c,
			"env '%s' has shell.confine true: a running shell "
			"cannot be confined, start one with 'blastctl run %s "
			"-- SHELL'",
			tg->name, tg->name);
		return -EPERM;
	}
	r = sandbox_cgroups_of(pid, saved, sizeof(saved));
	if (r < 0) {
		ctl_err(c, "no process %d: %s", (int)pid, ctl_strerror(r));
		return r;
	}
	if (l.net >= 0 && l.net != POLICY_NET_HOST)
		ctl_warn(c,
			 "net.mode %s is not applied to a running shell (it "
			 "cannot change network namespace): use 'blastctl run'",
			 policy_net_name(l.net));
	if (!l.memory && !(l.cpu > 0) && !l.pids && !l.io_read && !l.io_write &&
	    !l.memory_soft && !l.cpu_weight && !l.io_weight) {
		if (!a->quiet)
			ctl_status(c,
				   "env '%s' has no resource limits: pid %d "
				   "unchanged",
				   tg->name, (int)pid);
		return 0;
	}
	snprintf(leaf, sizeof(leaf), "blast-env-%s", tg->name);
	r = sandbox_create(&sb, leaf, &l, SANDBOX_REUSE, msg, sizeof(msg));
	if (!r && (r = shell_record(tg, pid, rec, sizeof(rec))) == 0 &&
	    access(rec, F_OK) < 0) { /* the first enter keeps where it was */
		r = store_home_write(rec, saved, strlen(saved));
		snprintf(msg, sizeof(msg), "cannot write '%s'", rec);
	}
	if (!r)
		r = sandbox_enter(&sb, pid, msg, sizeof(msg));
	if (r < 0) {
		ctl_err(c, "cannot place pid %d in env '%s''s limits: %s",
			(int)pid, tg->name, msg);
		return r;
	}
	ctl_status(c, "pid %d in env '%s''s limits via %s%s%s", (int)pid,
		   tg->name, sandbox_mech_name(sb.mech), sb.ndirs ? " " : "",
		   sb.ndirs ? sb.dirs[0] : "");
	return 0;
}

static int policy_leave(struct ctl *c, struct snap_target *tg, pid_t pid,
			bool quiet)
{
	char msg[SANDBOX_MSG_LEN] = "", rec[PATH_MAX + 96], leaf[96];
	char saved[8192];
	struct sandbox_limits l;
	struct sandbox sb;
	bool confine;
	size_t n;
	FILE *f;
	int r;

	r = shell_record(tg, pid, rec, sizeof(rec));
	f = r ? NULL : fopen(rec, "re");
	if (!f) {
		if (!quiet)
			ctl_status(c,
				   "pid %d was not placed in env '%s''s limits",
				   (int)pid, tg->name);
		return 0;
	}
	n = fread(saved, 1, sizeof(saved) - 1, f);
	fclose(f);
	saved[n] = '\0';
	r = sandbox_leave(pid, saved, msg, sizeof(msg));
	if (r == -ENOENT) /* the process is gone */
		r = 0;
	if (r < 0) {
		ctl_err(c, "cannot take pid %d out of env '%s''s limits: %s",
			(int)pid, tg->name, msg);
		return r;
	}
	unlink(rec);
	/* the env's cgroup goes once its last shell left */
	snprintf(leaf, sizeof(leaf), "blast-env-%s", tg->name);
	if (limits_of(tg, &l, &confine) == 0 &&
	    sandbox_create(&sb, leaf, &l, SANDBOX_REUSE, msg, sizeof(msg)) == 0)
		sandbox_release(&sb);
	ctl_status(c, "pid %d out of env '%s''s limits", (int)pid, tg->name);
	return 0;
}

int ctl_cmd_policy(struct ctl *c, int argc, char **argv)
{
	struct policy_args a = {0};
	struct snap_target tg;
	int rc, r;

	rc = policy_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	if (c->json && a.act != ACT_SHOW)
		return ctl_usage_error(c, "--json only goes with show");
	r = snap_target_open(c, a.name, &tg);
	if (r == 0 && a.act == ACT_SHOW)
		r = policy_show(c, &tg);
	else if (r == 0 && a.act == ACT_ENTER)
		r = policy_enter(c, &tg, &a);
	else if (r == 0 && a.act == ACT_LEAVE)
		r = policy_leave(c, &tg, a.pid, a.quiet);
	else if (r == 0)
		r = policy_change(c, &tg, &a);
	snap_target_close(&tg);
	return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
