/* SPDX-License-Identifier: MIT */
/*
 * output.c - how blastctl talks: error, warning and status lines on
 * stderr (coloured only where ctl decided colour is allowed), sizes for
 * humans, JSON and padded tables on stdout (never coloured).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "progress.h"

#define COLOR_RED    "\033[1;31m"
#define COLOR_YELLOW "\033[1;33m"
#define COLOR_RESET  "\033[0m"

static void __attribute__((format(printf, 4, 0)))
vline(struct ctl *c, const char *color, const char *tag, const char *fmt,
      va_list ap)
{
	flockfile(stderr);
	ctl_progress_clear(c->progress);
	if (c->color_err)
		fprintf(stderr, "%sblastctl:%s%s ", color, tag, COLOR_RESET);
	else
		fprintf(stderr, "blastctl:%s ", tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void ctl_err(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(c, COLOR_RED, "", fmt, ap);
	va_end(ap);
}

void ctl_warn(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(c, COLOR_YELLOW, " warning:", fmt, ap);
	va_end(ap);
}

int ctl_usage_error(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(c, COLOR_RED, "", fmt, ap);
	va_end(ap);
	ctl_usage_print(c->cmd, stderr, false);
	return CTL_EXIT_USAGE;
}

void ctl_status(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	if (c->json || c->quiet)
		return;
	flockfile(stderr);
	ctl_progress_clear(c->progress);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

const char *ctl_strerror(int err)
{
	return strerror(err < 0 ? -err : err);
}

const char *ctl_fmt_bytes(char *buf, size_t len, uint64_t n)
{
	static const char *const units[] = {"KiB", "MiB", "GiB",
					    "TiB", "PiB", "EiB"};
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)n);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

double ctl_seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

json_t *ctl_json_add(json_t *o, const char *key, json_t *v)
{
	if (!o || !v || json_object_set_new(o, key, v) < 0) {
		json_decref(o);
		if (!o)
			json_decref(v);
		return NULL;
	}
	return o;
}

json_t *ctl_json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

json_t *ctl_json_str(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

int ctl_json_print(struct ctl *c, json_t *j)
{
	int r;

	if (!j) {
		ctl_err(c, "cannot build JSON output: out of memory or a "
			   "string that is not UTF-8");
		return -ENOMEM;
	}
	r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (r < 0 || fputc('\n', stdout) == EOF) {
		ctl_err(c, "cannot write JSON to stdout");
		return -EIO;
	}
	return 0;
}

/* ---- tables ------------------------------------------------------ */

struct ctl_table {
	size_t ncols;
	const char *const *heads;
	const char *align;
	char **cells; /* row-major, ncells used of cap */
	size_t ncells, cap;
	bool failed; /* a cell could not be stored */
};

int ctl_table_new(const char *const *heads, const char *align, size_t ncols,
		  struct ctl_table **out)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->ncols = ncols;
	t->heads = heads;
	t->align = align;
	*out = t;
	return 0;
}

void ctl_table_cell(struct ctl_table *t, const char *fmt, ...)
{
	char **cells;
	va_list ap;
	char *s;
	int n;

	if (t->failed)
		return;
	if (t->ncells == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8 * t->ncols;

		cells = realloc(t->cells, cap * sizeof(*cells));
		if (!cells)
			goto out_fail;
		t->cells = cells;
		t->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out_fail;
	t->cells[t->ncells++] = s;
	return;
out_fail:
	t->failed = true;
}

size_t ctl_table_rows(const struct ctl_table *t)
{
	return t->ncells / t->ncols;
}

static void table_row(const struct ctl_table *t, FILE *f,
		      const char *const *row, const size_t *width)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		bool last = i + 1 == t->ncols;
		int w = (int)width[i];

		if (i)
			fputs("  ", f);
		if (t->align[i] == 'r')
			fprintf(f, "%*s", w, row[i]);
		else if (last)
			fputs(row[i], f);
		else
			fprintf(f, "%-*s", w, row[i]);
	}
	fputc('\n', f);
}

int ctl_table_print(struct ctl_table *t, FILE *f)
{
	size_t *width, i, r, rows;

	if (t->failed || t->ncells % t->ncols)
		return -ENOMEM;
	width = calloc(t->ncols, sizeof(*width));
	if (!width)
		return -ENOMEM;
	rows = ctl_table_rows(t);
	for (i = 0; i < t->ncols; i++) {
		width[i] = strlen(t->heads[i]);
		for (r = 0; r < rows; r++) {
			size_t n = strlen(t->cells[r * t->ncols + i]);

			if (n > width[i])
				width[i] = n;
		}
	}
	table_row(t, f, t->heads, width);
	for (r = 0; r < rows; r++)
		table_row(t, f, (const char *const *)&t->cells[r * t->ncols],
			  width);
	free(width);
	return 0;
}

void ctl_table_free(struct ctl_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
