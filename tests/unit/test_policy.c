/* SPDX-License-Identifier: MIT */
/*
 * test_policy.c - policy values (sizes, counts, fractions, net modes),
 * pattern validation, the matcher ('*', '**', coverage of everything
 * below a match, incremental states), loading from env state and the
 * bounded audit log.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "store.h"
#include "treeutil.h"

static char workdir[256];
static char home[300];
static struct store *st;

static void setup(void)
{
	snprintf(workdir, sizeof(workdir), "/tmp/blast-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(workdir));
	snprintf(home, sizeof(home), "%s/store", workdir);
	cr_assert_eq(store_open(home, 0, &st), 0);
}

static void teardown(void)
{
	store_close(st);
	st = NULL;
	tree_remove(workdir);
}

TestSuite(policy, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t size_of(const char *s)
{
	uint64_t v = 0;

	cr_assert_eq(policy_size_parse(s, &v), 0, "size '%s'", s);
	return v;
}

Test(policy, sizes_take_binary_suffixes)
{
	uint64_t v;

	cr_assert_eq(size_of("4096"), 4096);
	cr_assert_eq(size_of("10K"), 10240);
	cr_assert_eq(size_of("10k"), 10240);
	cr_assert_eq(size_of("1M"), 1048576);
	cr_assert_eq(size_of("1.5G"), 1610612736ull);
	cr_assert_eq(size_of("2MiB"), 2097152);
	cr_assert_eq(size_of("1T"), 1ull << 40);
	cr_assert_eq(policy_size_parse("", &v), -EINVAL);
	cr_assert_eq(policy_size_parse("-1", &v), -EINVAL);
	cr_assert_eq(policy_size_parse("1.5", &v), -EINVAL);
	cr_assert_eq(policy_size_parse("12X", &v), -EINVAL);
	cr_assert_eq(policy_size_parse("1MM", &v), -EINVAL);
	cr_assert_eq(policy_size_parse("M", &v), -EINVAL);
	cr_assert_eq(policy_size_parse("nan", &v), -EINVAL);
	cr_assert_eq(policy_size_parse("99999999T", &v), -ERANGE);
}

static int parse1(enum policy_key k, const char *v, char **out)
{
	char err[POLICY_ERR_LEN];
	const char *vals[] = {v};

	return policy_value_parse(k, vals, 1, out, err, sizeof(err));
}

Test(policy, values_are_validated_and_canonical)
{
	char *out = NULL;

	cr_assert_eq(parse1(POLICY_FS_QUOTA, "10M", &out), 0);
	cr_assert_str_eq(out, "10485760");
	free(out);
	cr_assert_eq(parse1(POLICY_RES_CPU, "0.5", &out), 0);
	cr_assert_str_eq(out, "0.5");
	free(out);
	cr_assert_eq(parse1(POLICY_RES_PIDS, "64", &out), 0);
	free(out);
	cr_assert_eq(parse1(POLICY_NET_MODE, "loopback", &out), 0);
	cr_assert_str_eq(out, "loopback");
	free(out);
	out = NULL;
	cr_assert_eq(parse1(POLICY_FS_QUOTA, "0", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_FS_QUOTA, "ten", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_RES_CPU, "0", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_RES_CPU, "-1", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_RES_CPU, "half", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_RES_PIDS, "0", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_RES_PIDS, "1.5", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_NET_MODE, "bridge", &out), -EINVAL);
	cr_assert_null(out);
	cr_assert_eq(policy_key_find("fs.readonly"), POLICY_FS_READONLY);
	cr_assert_eq(policy_key_find("fs.nope"), -EINVAL);
}

Test(policy, patterns_escaping_the_env_or_malformed_are_refused)
{
	const char *bad[] = {"/etc/passwd", "../x",    "a/../../b", "a//b",
			     "./a",	    "a/b**",   "**x/y",	    "[abc",
			     "a/[!x",	    "trail\\", ""};
	char err[POLICY_ERR_LEN];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		cr_assert_eq(policy_pattern_check(bad[i], err, sizeof(err)),
			     -EINVAL, "'%s' accepted", bad[i]);
		cr_assert_neq(err[0], '\0', "no reason for '%s'", bad[i]);
	}
	cr_assert_eq(policy_pattern_check("lib/**/x*.py", err, sizeof(err)), 0);
	cr_assert_eq(policy_pattern_check("bin/", err, sizeof(err)), 0);
	cr_assert_eq(policy_pattern_check("a/[ab]c", err, sizeof(err)), 0);
	cr_assert_eq(policy_pattern_check("..a", err, sizeof(err)), 0);
}

Test(policy, host_paths_are_absolute_or_home_and_checked)
{
	const char *bad[] = {"rel/x", "/a/../b", "/a/./b", "/a//b", "/a/**",
			     "/a/[b", "~user/x", "",	   "/x\n/y"};
	const char *good[] = {"/",  "/home/u/.cache", "~/.cache/pip",
			      "~/", "/srv/data-*",    "/a/[ab]c/"};
	const char *text[POLICY__NKEYS] = {0};
	char err[POLICY_ERR_LEN], *out = NULL;
	struct policy *p = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		cr_assert_eq(parse1(POLICY_HOST_WRITABLE, bad[i], &out),
			     -EINVAL, "'%s' accepted", bad[i]);
		cr_assert_eq(
		    policy_host_pattern_check(bad[i], false, err, sizeof(err)),
		    -EINVAL);
		cr_assert_neq(err[0], '\0', "no reason for '%s'", bad[i]);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		cr_assert_eq(parse1(POLICY_HOST_READONLY, good[i], &out), 0,
			     "'%s' refused", good[i]);
		free(out);
	}
	cr_assert_eq(parse1(POLICY_HOST_SOCKETS, "~/.ssh/*.sock", &out), 0);
	cr_assert_str_eq(out, "~/.ssh/*.sock");
	free(out);
	cr_assert_eq(parse1(POLICY_HOST_SOCKETS, "ssh.sock", &out), -EINVAL);
	cr_assert_eq(policy_key_find("host.sockets"), POLICY_HOST_SOCKETS);
	cr_assert_eq(parse1(POLICY_HOST_HIDDEN, "/", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_HOST_HIDDEN, "/a/b/", &out), 0);
	cr_assert_str_eq(out, "/a/b");
	free(out);
	/* host paths are kept as text, not compiled into env patterns */
	text[POLICY_HOST_HIDDEN] = "/srv/x\n~/.ssh";
	cr_assert_eq(policy_compile(text, &p), 0);
	cr_assert_eq(p->npat, 0);
	cr_assert_str_eq(p->text[POLICY_HOST_HIDDEN], "/srv/x\n~/.ssh");
	policy_free(p);
}

Test(policy, weights_and_soft_memory)
{
	const char *text[POLICY__NKEYS] = {0};
	struct policy *p = NULL;
	char *out = NULL;

	cr_assert_eq(parse1(POLICY_RES_CPU_WEIGHT, "50", &out), 0);
	cr_assert_str_eq(out, "50");
	free(out);
	cr_assert_eq(parse1(POLICY_RES_MEMORY_SOFT, "1G", &out), 0);
	cr_assert_str_eq(out, "1073741824");
	free(out);
	out = NULL;
	cr_assert_eq(parse1(POLICY_RES_IO_WEIGHT, "0", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_RES_IO_WEIGHT, "10001", &out), -EINVAL);
	cr_assert_eq(parse1(POLICY_RES_CPU_WEIGHT, "1.5", &out), -EINVAL);
	cr_assert_null(out);
	text[POLICY_RES_CPU_WEIGHT] = "50";
	text[POLICY_RES_IO_WEIGHT] = "10000";
	text[POLICY_RES_MEMORY_SOFT] = "4096";
	cr_assert_eq(policy_compile(text, &p), 0);
	cr_assert_eq(p->cpu_weight, 50);
	cr_assert_eq(p->io_weight, 10000);
	cr_assert_eq(p->memory_soft, 4096);
	policy_free(p);
}

static struct policy *compile(const char *ro, const char *hidden)
{
	const char *text[POLICY__NKEYS] = {0};
	struct policy *p = NULL;

	text[POLICY_FS_READONLY] = ro;
	text[POLICY_FS_HIDDEN] = hidden;
	cr_assert_eq(policy_compile(text, &p), 0);
	return p;
}

#define RO  POLICY_RULE_READONLY
#define HID POLICY_RULE_HIDDEN

Test(policy, star_stays_within_a_component)
{
	struct policy *p = compile("bin/py*\npyvenv.cfg", NULL);

	cr_assert_eq(policy_path_rules(p, "pyvenv.cfg"), RO);
	cr_assert_eq(policy_path_rules(p, "bin/python3"), RO);
	cr_assert_eq(policy_path_rules(p, "bin/pip"), 0);
	cr_assert_eq(policy_path_rules(p, "bin"), 0);
	cr_assert_eq(policy_path_rules(p, "lib/bin/python"), 0);
	cr_assert_eq(policy_path_rules(p, "pyvenv.cfg.bak"), 0);
	policy_free(p);
}

Test(policy, a_match_covers_everything_below)
{
	struct policy *p = compile("lib/python3.11/site-packages", "secret");

	cr_assert_eq(policy_path_rules(p, "lib/python3.11/site-packages"), RO);
	cr_assert_eq(
	    policy_path_rules(p, "lib/python3.11/site-packages/a/b/c.py"), RO);
	cr_assert_eq(policy_path_rules(p, "lib/python3.11"), 0);
	cr_assert_eq(policy_path_rules(p, "secret/x/y"), HID);
	cr_assert_eq(policy_path_rules(p, "secrets"), 0);
	policy_free(p);
}

Test(policy, double_star_spans_components)
{
	struct policy *p = compile("**/*.pth\nlib/**/vendored", "**/.env");

	cr_assert_eq(policy_path_rules(p, "x.pth"), RO);
	cr_assert_eq(policy_path_rules(p, "lib/a/b/c/y.pth"), RO);
	cr_assert_eq(policy_path_rules(p, "lib/vendored"), RO);
	cr_assert_eq(policy_path_rules(p, "lib/a/vendored/z"), RO);
	cr_assert_eq(policy_path_rules(p, "lib/a/vendoredx"), 0);
	cr_assert_eq(policy_path_rules(p, "vendored"), 0);
	cr_assert_eq(policy_path_rules(p, ".env"), HID);
	cr_assert_eq(policy_path_rules(p, "a/b/.env"), HID);
	cr_assert_eq(policy_path_rules(p, "a/b/.envrc"), 0);
	policy_free(p);
}

Test(policy, name_rules_agree_with_stepping)
{
	struct policy *p =
	    compile("a/b*/c\n**/*.pth\nx/**\nlib/**/v/**", "a/**/h?d");
	const char *dirs[] = {"", "a", "a/bx", "a/q/r", "x", "lib/1/v", "lib"};
	const char *names[] = {"c", "h1d", "z.pth", "v", "bq", "hid", "y"};
	char path[256];

	for (size_t d = 0; d < sizeof(dirs) / sizeof(*dirs); d++) {
		struct policy_state s, next, fin;
		const char *c = dirs[d];

		cr_assert_eq(policy_state_root(p, &s), 0);
		while (*c) {
			const char *sl = strchr(c, '/');
			size_t n = sl ? (size_t)(sl - c) : strlen(c);

			cr_assert_eq(policy_state_step(p, &s, c, n, &next), 0);
			policy_state_release(&s);
			s = next;
			c += n + (sl ? 1 : 0);
		}
		cr_assert_eq(policy_state_final(p, &s, HID, &fin), 0);
		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
			snprintf(path, sizeof(path), "%s%s%s", dirs[d],
				 *dirs[d] ? "/" : "", names[i]);
			cr_assert_eq(policy_name_rules(p, &s, names[i],
						       strlen(names[i])),
				     policy_path_rules(p, path), "%s", path);
			cr_assert_eq(policy_name_rules(p, &fin, names[i],
						       strlen(names[i])) &
					 HID,
				     policy_path_rules(p, path) & HID,
				     "final states: %s", path);
		}
		policy_state_release(&fin);
		policy_state_release(&s);
	}
	policy_free(p);
}

Test(policy, states_die_away_from_the_patterns)
{
	struct policy *p = compile("lib/python3.11/site-packages/x", NULL);
	struct policy_state s, t;

	cr_assert_eq(policy_state_root(p, &s), 0);
	cr_assert_eq(s.below, RO);
	cr_assert_eq(policy_state_step(p, &s, "bin", 3, &t), 0);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(t.below, 0);
	cr_assert_null(t.v);
	policy_state_release(&t);
	policy_state_release(&s);
	policy_free(p);
}

Test(policy, empty_policy_matches_nothing)
{
	struct policy *p = compile(NULL, NULL);

	cr_assert(!policy_has_paths(p));
	cr_assert_eq(policy_path_rules(p, "a/b"), 0);
	cr_assert_eq(p->net, -1);
	policy_free(p);
}

static void env_new(struct store_env *e, const char *name)
{
	struct store_txn *t;

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_env_create(t, e, 0), 0);
	cr_assert_eq(store_txn_commit(t), 0);
}

Test(policy, loads_from_env_state)
{
	struct store_env e;
	struct store_txn *t;
	struct policy *p;

	env_new(&e, "env");
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(store_state_set(t, &e, "policy:fs.quota", "1048576", 7),
		     0);
	cr_assert_eq(store_state_set(t, &e, "policy:fs.hidden", "a\nb/*", 5),
		     0);
	cr_assert_eq(store_state_set(t, &e, "policy:net.mode", "none", 4), 0);
	cr_assert_eq(store_state_set(t, &e, "var:X", "1", 1), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(policy_load(t, e.root, &p), 0);
	store_txn_abort(t);
	cr_assert_eq(p->quota, 1048576);
	cr_assert_eq(p->net, POLICY_NET_NONE);
	cr_assert_eq(p->npat, 2);
	cr_assert_eq(policy_path_rules(p, "b/c"), HID);
	cr_assert_str_eq(p->text[POLICY_FS_HIDDEN], "a\nb/*");
	policy_free(p);
}

static int count_audit(void *arg, const struct policy_audit *a)
{
	int *n = arg;

	if (*n == 0)
		cr_assert_str_eq(a->path, "first\tpath");
	(*n)++;
	return 0;
}

Test(policy, audit_log_is_bounded_and_keeps_the_newest)
{
	struct policy_audit *v = calloc(700, sizeof(*v));
	struct store_env e;
	struct store_txn *t;
	int n = 0;

	env_new(&e, "env");
	for (int i = 0; i < 700; i++) {
		v[i].time_ns = i;
		v[i].pid = 42;
		snprintf(v[i].comm, sizeof(v[i].comm), "python3");
		snprintf(v[i].op, sizeof(v[i].op), "open");
		snprintf(v[i].rule, sizeof(v[i].rule), "fs.readonly");
		snprintf(v[i].path, sizeof(v[i].path), "p%d", i);
	}
	snprintf(v[400].path, sizeof(v[400].path), "first\tpath");
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(policy_audit_append(t, &e, v, 700, NULL), 0);
	cr_assert_eq(policy_audit_append(t, &e, v, 700, NULL), 0);
	cr_assert_eq(store_txn_commit(t), 0);
	cr_assert_eq(store_txn_begin(st, false, &t), 0);
	cr_assert_eq(policy_audit_iter(t, &e, count_audit, &n), 0);
	store_txn_abort(t);
	cr_assert_eq(n, POLICY_AUDIT_MAX);
	free(v);
}

Test(policy, audit_log_counts_dropped_records_until_cleared)
{
	struct policy_audit_drops d = {0}, got;
	struct store_env e;
	struct store_txn *t;

	env_new(&e, "env");
	policy_audit_dropped(&d, 20);
	policy_audit_dropped(&d, 10);
	policy_audit_dropped(&d, 30);
	cr_assert_eq(d.count, 3);
	cr_assert_eq(store_txn_begin(st, true, &t), 0);
	cr_assert_eq(policy_audit_append(t, &e, NULL, 0, &d), 0);
	d.first_ns = 5;
	d.last_ns = 25;
	cr_assert_eq(policy_audit_append(t, &e, NULL, 0, &d), 0);
	cr_assert_eq(policy_audit_drops_get(t, &e, &got), 0);
	cr_assert_eq(got.count, 6);
	cr_assert_eq(got.first_ns, 5);
	cr_assert_eq(got.last_ns, 30);
	cr_assert_eq(policy_audit_clear(t, &e), 0);
	cr_assert_eq(policy_audit_drops_get(t, &e, &got), 0);
	cr_assert_eq(got.count, 0);
	store_txn_abort(t);
}
