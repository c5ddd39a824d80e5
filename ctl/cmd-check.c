/* SPDX-License-Identifier: MIT */
/*
 * cmd-check.c - `blastctl check`: runs check sections (today: the store's
 * integrity) and reports every problem on stdout, one per line, or as
 * JSON. Exit 1 if anything is wrong. A new kind of check is a new row in
 * `sections` with its own selection flag.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "store.h"

enum check_which {
	CHECK_STORE = 1u << 0,
	CHECK_ALL = CHECK_STORE,
};

struct check_opts {
	unsigned which; /* enum check_which; 0 = all */
	bool deep;
};

/* One section's outcome. */
struct check_result {
	const char *section;
	size_t problems;
	bool json;    /* problems go to list, not stdout */
	json_t *obj;  /* JSON mode: the section's object */
	json_t *list; /* JSON mode: its "problems" array */
};

struct check_section {
	const char *name;
	unsigned flag;
	/* Report problems through check_problem; 0, or -errno (printed) if
	 * the check could not run. */
	int (*run)(struct ctl *c, const struct check_opts *o,
		   struct check_result *res);
};

/* A JSON string for text that may not be UTF-8 (it can quote file
 * names): non-ASCII bytes become '?' rather than losing the line. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char *copy, *p;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static void check_problem(void *arg, const char *problem)
{
	struct check_result *res = arg;

	res->problems++;
	if (res->json)
		json_array_append_new(res->list, json_text(problem));
	else
		printf("%s: %s\n", res->section, problem);
}

static int check_store(struct ctl *c, const struct check_opts *o,
		       struct check_result *res)
{
	struct store *st;
	ssize_t n;
	int r;

	r = ctl_store(c, &st);
	if (r < 0)
		return r;
	if (res->obj)
		json_object_set_new(res->obj, "deep", json_boolean(o->deep));
	n = store_verify(st, o->deep, check_problem, res);
	if (n < 0) {
		ctl_err(c, "cannot check store '%s': %s", store_path(st),
			ctl_strerror((int)n));
		return (int)n;
	}
	return 0;
}

static const struct check_section sections[] = {
    {"store", CHECK_STORE, check_store},
};

enum { OPT_STORE = 0x100, OPT_DEEP };

static int check_parse(struct ctl *c, int argc, char **argv,
		       struct check_opts *o)
{
	static const struct option opts[] = {
	    {"store", no_argument, NULL, OPT_STORE},
	    {"deep", no_argument, NULL, OPT_DEEP},
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    {0},
	};
	int opt;

	while ((opt = ctl_getopt(c, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case OPT_STORE:
			o->which |= CHECK_STORE;
			break;
		case OPT_DEEP:
			o->deep = true;
			break;
		default:
			return ctl_opt_exit(opt);
		}
	}
	if (optind < argc)
		return ctl_usage_error(c, "unexpected argument '%s'",
				       argv[optind]);
	if (!o->which)
		o->which = CHECK_ALL;
	return CTL_PARSED;
}

/* Run one section; false if it found problems or could not run. */
static bool section_run(struct ctl *c, const struct check_section *s,
			const struct check_opts *o, json_t *top)
{
	struct check_result res = {.section = s->name};
	int r;

	if (top) {
		res.json = true;
		res.obj = ctl_json_add(json_object(), "ok", json_true());
		res.list = json_array();
		json_object_set_new(top, s->name, res.obj);
	}
	r = s->run(c, o, &res);
	if (res.obj) {
		json_object_set_new(res.obj, "problems", res.list);
		json_object_set_new(res.obj, "ok",
				    json_boolean(!r && !res.problems));
		if (r < 0)
			json_object_set_new(res.obj, "error",
					    json_string(ctl_strerror(r)));
	} else {
		json_decref(res.list);
	}
	if (r < 0)
		return false;
	if (res.problems)
		ctl_err(c, "%s: %zu problem%s found", s->name, res.problems,
			res.problems == 1 ? "" : "s");
	else
		ctl_status(c, "%s ok", s->name);
	return !res.problems;
}

int ctl_cmd_check(struct ctl *c, int argc, char **argv)
{
	struct check_opts o = {0};
	json_t *top = NULL;
	bool ok = true;
	size_t i;
	int rc;

	rc = check_parse(c, argc, argv, &o);
	if (rc != CTL_PARSED)
		return rc;
	if (c->json) {
		top = ctl_json_add(json_object(), "ok", json_true());
		if (!top) {
			ctl_json_print(c, NULL);
			return CTL_EXIT_FAIL;
		}
	}
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (o.which & sections[i].flag)
			ok = section_run(c, &sections[i], &o, top) && ok;
	if (top) {
		json_object_set_new(top, "ok", json_boolean(ok));
		if (ctl_json_print(c, top) < 0)
			return CTL_EXIT_FAIL;
	}
	return ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}
