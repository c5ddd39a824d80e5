/* SPDX-License-Identifier: MIT */
/*
 * cmd-top.c - `blastctl top [NAME] [--json]`: what each running
 * `blastctl run` uses (runreg.h finds them, topstat.h samples them):
 * memory, CPU time and throttling, pids, IO bytes, connections. On a
 * terminal it refreshes every second until interrupted; otherwise (or
 * with --json) it prints one sample.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "snap.h"
#include "store.h"
#include "topstat.h"

#define TOP_MAX 64 /* sandboxes shown */

struct top_entry {
	json_t *reg; /* the registry file */
	struct topstat st;
};

/* Is pid a live blastctl? */
static bool blastctl_live(json_int_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%lld/comm", (long long)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strcmp(comm, "blastctl\n");
}

static void entry_sample(struct top_entry *e)
{
	json_t *cg = json_object_get(e->reg, "cgroups"), *v;
	const char *dirs[8];
	size_t n = 0, i;
	const char *net = json_string_value(json_object_get(e->reg, "net"));

	json_array_foreach(cg, i, v) if (n < 8 && json_is_string(v)) dirs[n++] =
	    json_string_value(v);
	topstat_sample(
	    (pid_t)json_integer_value(json_object_get(e->reg, "pid")),
	    (pid_t)json_integer_value(json_object_get(e->reg, "child")), dirs,
	    n, !net || !strcmp(net, "host"), &e->st);
}

/* The registered runs (of env `name`, NULL: all), stale files removed. */
static size_t entries_load(const char *rundir, const char *name,
			   struct top_entry *out, size_t max)
{
	DIR *d = opendir(rundir);
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)) && n < max) {
		char path[PATH_MAX + 300];
		const char *env;
		json_t *j;

		if (strncmp(de->d_name, "sbx-", 4) ||
		    !strstr(de->d_name, ".json") || strstr(de->d_name, ".tmp"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", rundir, de->d_name);
		j = json_load_file(path, 0, NULL);
		if (!j)
			continue;
		if (!blastctl_live(
			json_integer_value(json_object_get(j, "pid")))) {
			unlink(path); /* its blastctl was killed */
			json_decref(j);
			continue;
		}
		env = json_string_value(json_object_get(j, "env"));
		if (name && (!env || strcmp(env, name))) {
			json_decref(j);
			continue;
		}
		out[n].reg = j;
		entry_sample(&out[n]);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

static json_t *u64_or_null(uint64_t v)
{
	return v == TOPSTAT_NONE ? json_null() : ctl_json_u64(v);
}

static json_t *conn_json(const struct topstat_conn *c)
{
	json_t *j =
	    ctl_json_add(json_object(), "proto", ctl_json_str(c->proto));

	j = ctl_json_add(j, "local", ctl_json_str(c->local));
	j = ctl_json_add(j, "local_port", ctl_json_u64(c->lport));
	j = ctl_json_add(j, "remote", ctl_json_str(c->remote));
	j = ctl_json_add(j, "remote_port", ctl_json_u64(c->rport));
	j = ctl_json_add(j, "state", ctl_json_str(c->state));
	j = ctl_json_add(j, "bytes_sent", u64_or_null(c->sent));
	return ctl_json_add(j, "bytes_received", u64_or_null(c->recv));
}

static json_t *entry_json(const struct top_entry *e)
{
	const struct topstat *s = &e->st;
	json_t *r = e->reg, *conns = json_array(), *j;

	for (size_t i = 0; conns && i < s->nconn; i++)
		if (json_array_append_new(conns, conn_json(&s->conn[i])))
			conns = NULL;
	j = ctl_json_add(json_object(), "env",
			 json_incref(json_object_get(r, "env")));
	j = ctl_json_add(j, "pid", json_incref(json_object_get(r, "pid")));
	j = ctl_json_add(j, "child", json_incref(json_object_get(r, "child")));
	j = ctl_json_add(j, "net", json_incref(json_object_get(r, "net")));
	j = ctl_json_add(j, "memory_current", u64_or_null(s->mem_current));
	j = ctl_json_add(j, "memory_peak", u64_or_null(s->mem_peak));
	j = ctl_json_add(j, "memory_limit", u64_or_null(s->mem_limit));
	j = ctl_json_add(j, "cpu_ns", u64_or_null(s->cpu_ns));
	j = ctl_json_add(j, "cpu_throttled", u64_or_null(s->throttled));
	j = ctl_json_add(j, "cpu_throttled_ns", u64_or_null(s->throttled_ns));
	j = ctl_json_add(j, "pids", u64_or_null(s->pids));
	j = ctl_json_add(j, "pids_limit", u64_or_null(s->pids_limit));
	j = ctl_json_add(j, "io_read_bytes", u64_or_null(s->io_read));
	j = ctl_json_add(j, "io_write_bytes", u64_or_null(s->io_write));
	return ctl_json_add(j, "connections", conns);
}

static const char *fmt(char *b, size_t len, uint64_t v)
{
	if (v == TOPSTAT_NONE)
		return "-";
	return ctl_fmt_bytes(b, len, v);
}

static void entry_print(const struct top_entry *e)
{
	const struct topstat *s = &e->st;
	char b1[CTL_BYTES_LEN], b2[CTL_BYTES_LEN], b3[CTL_BYTES_LEN];
	json_t *r = e->reg;

	printf("env %s  pid %lld  net %s\n",
	       json_string_value(json_object_get(r, "env")),
	       (long long)json_integer_value(json_object_get(r, "pid")),
	       json_string_value(json_object_get(r, "net")));
	printf("  memory %s (peak %s, limit %s)\n",
	       fmt(b1, sizeof(b1), s->mem_current),
	       fmt(b2, sizeof(b2), s->mem_peak),
	       fmt(b3, sizeof(b3), s->mem_limit));
	printf("  cpu %.2fs", (double)s->cpu_ns / 1e9);
	if (s->throttled != TOPSTAT_NONE)
		printf(" (throttled %llu times, %.2fs)",
		       (unsigned long long)s->throttled,
		       s->throttled_ns == TOPSTAT_NONE
			   ? 0.0
			   : (double)s->throttled_ns / 1e9);
	printf("  pids %llu", (unsigned long long)s->pids);
	if (s->pids_limit != TOPSTAT_NONE)
		printf("/%llu", (unsigned long long)s->pids_limit);
	printf("  io read %s write %s\n", fmt(b1, sizeof(b1), s->io_read),
	       fmt(b2, sizeof(b2), s->io_write));
	if (s->net_err[0])
		printf("  connections: %s\n", s->net_err);
	for (size_t i = 0; i < s->nconn; i++) {
		const struct topstat_conn *c = &s->conn[i];

		printf("  %-3s %s:%u -> %s:%u %s", c->proto, c->local, c->lport,
		       c->remote, c->rport, c->state);
		if (c->sent != TOPSTAT_NONE)
			printf(" sent %s recv %s", fmt(b1, sizeof(b1), c->sent),
			       fmt(b2, sizeof(b2), c->recv));
		putchar('\n');
	}
}

static void entries_free(struct top_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		topstat_release(&e[i].st);
		json_decref(e[i].reg);
	}
}

static int top_once(struct ctl *c, const char *rundir, const char *name,
		    bool refresh)
{
	static struct top_entry e[TOP_MAX];
	size_t n = entries_load(rundir, name, e, TOP_MAX);
	json_t *arr;

	if (c->json) {
		arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			if (json_array_append_new(arr, entry_json(&e[i])))
				arr = NULL;
		entries_free(e, n);
		return ctl_json_print(
		    c, ctl_json_add(json_object(), "sandboxes", arr));
	}
	if (refresh)
		fputs("\033[H\033[2J", stdout);
	if (!n)
		printf("no running sandbox%s%s\n", name ? " of env " : "",
		       name ? name : "");
	for (size_t i = 0; i < n; i++)
		entry_print(&e[i]);
	fflush(stdout);
	entries_free(e, n);
	return 0;
}

int ctl_cmd_top(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	char rundir[PATH_MAX];
	const char *name = NULL;
	struct store *st;
	bool refresh;
	int o, r;

	while ((o = ctl_getopt(c, argc, argv, "", opts)) != -1)
		return ctl_opt_exit(o);
	if (argc - optind > 1)
		return ctl_usage_error(c, "too many arguments");
	if (optind < argc) {
		name = argv[optind];
		if (store_name_check(name))
			return snap_name_usage(c, "env", name);
	}
	r = ctl_store(c, &st);
	if (r < 0)
		return CTL_EXIT_FAIL;
	snprintf(rundir, sizeof(rundir), "%s/run", store_path(st));
	refresh = !c->json && isatty(STDOUT_FILENO);
	for (;;) {
		struct timespec ts = {1, 0};

		if (top_once(c, rundir, name, refresh) < 0)
			return CTL_EXIT_FAIL;
		if (!refresh)
			return CTL_EXIT_OK;
		nanosleep(&ts, NULL);
	}
}
