/* SPDX-License-Identifier: MIT */
/*
 * progress.c - the progress line (progress.h): counts in, a line of at
 * most the terminal's width out, redrawn with \r and padded with blanks
 * over a longer previous line (no escape sequences: TERM=dumb works too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ctl.h"
#include "progress.h"
#include "store.h"

#define PROGRESS_DEFAULT_MS 250
#define PROGRESS_LINE_MAX   160

static long interval_ns(void)
{
	const char *v = getenv("BLAST_PROGRESS_MS");
	char *end;
	long ms;

	if (!v || !*v)
		return PROGRESS_DEFAULT_MS * 1000000L;
	ms = strtol(v, &end, 10);
	if (*end || ms < 0 || ms > 3600 * 1000)
		ms = PROGRESS_DEFAULT_MS;
	return ms * 1000000L;
}

static long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000000000L +
	       (b->tv_nsec - a->tv_nsec);
}

void ctl_progress_init(struct ctl_progress *p, struct ctl *c)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->on = !c->quiet && isatty(STDERR_FILENO);
	p->interval_ns = interval_ns();
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last = p->start;
	c->progress = p;
}

/* Columns the line may use: one less than the terminal's, so that the
 * cursor never wraps (a wrapped line cannot be redrawn with \r). */
static size_t line_width(void)
{
	struct winsize ws;
	size_t w = 80;

	if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 1)
		w = ws.ws_col;
	w--;
	return w < PROGRESS_LINE_MAX ? w : PROGRESS_LINE_MAX;
}

/* "1:02:03" or "2:03". */
static void fmt_eta(char *buf, size_t len, double secs)
{
	unsigned long s = secs > 360000 ? 360000 : (unsigned long)(secs + 0.5);

	if (s >= 3600)
		snprintf(buf, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60,
			 s % 60);
	else
		snprintf(buf, len, "%lu:%02lu", s / 60, s % 60);
}

/* "N/M unit" or sizes; then the share, rate and ETA when known. */
static void fmt_line(const struct ctl_progress *p, const char *unit,
		     uint64_t done, uint64_t total, double secs, char *buf,
		     size_t len)
{
	char a[CTL_BYTES_LEN], b[CTL_BYTES_LEN], eta[24];
	double rate = secs > 0 ? (double)(done - p->done0) / secs : 0;
	size_t n;

	if (unit && total)
		n = (size_t)snprintf(buf, len, "%s %llu/%llu %s", p->what,
				     (unsigned long long)done,
				     (unsigned long long)total, unit);
	else if (unit)
		n = (size_t)snprintf(buf, len, "%s %llu %s", p->what,
				     (unsigned long long)done, unit);
	else if (total)
		n = (size_t)snprintf(buf, len, "%s %s/%s", p->what,
				     ctl_fmt_bytes(a, sizeof(a), done),
				     ctl_fmt_bytes(b, sizeof(b), total));
	else
		n = (size_t)snprintf(buf, len, "%s %s", p->what,
				     ctl_fmt_bytes(a, sizeof(a), done));
	if (n < len && total)
		n += (size_t)snprintf(buf + n, len - n, " %u%%",
				      (unsigned)(done * 100 / total));
	if (n < len && rate > 0 && unit)
		n += (size_t)snprintf(buf + n, len - n, ", %.0f %s/s", rate,
				      unit);
	else if (n < len && rate > 0)
		n += (size_t)snprintf(
		    buf + n, len - n, ", %s/s",
		    ctl_fmt_bytes(a, sizeof(a), (uint64_t)rate));
	if (n < len && rate > 0 && total) {
		fmt_eta(eta, sizeof(eta), (double)(total - done) / rate);
		snprintf(buf + n, len - n, ", ETA %s", eta);
	}
}

/* Write the line over the previous one (under stderr's lock). */
static void draw(struct ctl_progress *p, const char *line)
{
	size_t n = strlen(line), w = line_width();

	if (n > w)
		n = w;
	flockfile(stderr);
	fprintf(stderr, "\r%.*s", (int)n, line);
	if (p->shown > n)
		fprintf(stderr, "%*s\r%.*s", (int)(p->shown - n), "", (int)n,
			line);
	p->shown = n ? n : 1;
	fflush(stderr);
	funlockfile(stderr);
}

void ctl_progress_update(struct ctl_progress *p, const char *what,
			 const char *unit, uint64_t done, uint64_t total)
{
	char line[PROGRESS_LINE_MAX + 1];
	struct timespec now;

	if (!p || !p->on)
		return;
	if (total && done > total)
		done = total;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (strncmp(p->what, what, sizeof(p->what) - 1) || done < p->done) {
		snprintf(p->what, sizeof(p->what), "%s", what);
		p->start = now;
		p->done0 = done;
	}
	p->done = done;
	if (ns_between(&p->last, &now) < p->interval_ns)
		return;
	p->last = now;
	fmt_line(p, unit, done, total,
		 (double)ns_between(&p->start, &now) / 1e9, line, sizeof(line));
	draw(p, line);
}

void ctl_progress_clear(struct ctl_progress *p)
{
	if (!p)
		return;
	flockfile(stderr);
	if (p->shown) {
		fprintf(stderr, "\r%*s\r", (int)p->shown, "");
		fflush(stderr);
		p->shown = 0;
	}
	funlockfile(stderr);
}

static void store_cb(void *arg, const struct store_progress *sp)
{
	ctl_progress_update(arg, sp->what, sp->unit, sp->done, sp->total);
}

void ctl_progress_attach(struct ctl_progress *p, struct store *st)
{
	p->st = st;
	store_set_progress(st, store_cb, p);
}

void ctl_progress_release(struct ctl_progress *p)
{
	if (p->st)
		store_set_progress(p->st, NULL, NULL);
	p->st = NULL;
	ctl_progress_clear(p);
	if (p->c->progress == p)
		p->c->progress = NULL;
}
