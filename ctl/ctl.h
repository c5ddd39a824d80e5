/* SPDX-License-Identifier: MIT */
/*
 * ctl.h - blastctl's contract: the command table, the per-run state every
 * command gets (struct ctl), option parsing and output helpers. Commands
 * write data to stdout and status and errors to stderr; they never print
 * ANSI escapes on stdout.
 *
 * Adding a command NAME (git's builtin/ model):
 *  1. write ctl/cmd-NAME.c defining
 *        int ctl_cmd_NAME(struct ctl *c, int argc, char **argv)
 *     which parses its options with ctl_getopt() and then does the work
 *     in separate functions (parsing apart from the work);
 *  2. declare it below, next to the others;
 *  3. add one line to the table in ctl/main.c (name, synopsis, summary,
 *     option help);
 *  4. append 'cmd-NAME.c' to ctl_sources in ctl/meson.build;
 *  5. document it in doc/blastctl.1.scd, in the table's order, with the
 *     same synopsis and options (tests/integration/man-help.py checks).
 *
 * A command returns the process exit status: CTL_EXIT_OK (0),
 * CTL_EXIT_FAIL (1, after printing why with ctl_err) or CTL_EXIT_USAGE
 * (2, after ctl_usage_error). argv[0] is the command name; global options
 * (--home, --json, ...) are already consumed by main.
 *
 * Threads: struct ctl belongs to the main thread; ctl_err and ctl_warn
 * may also be called from the store's workers (through its logger): each
 * line is written under stderr's lock.
 */
#ifndef BLAST_CTL_H
#define BLAST_CTL_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

struct store;
struct ctl;
struct ctl_progress;

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,
	CTL_EXIT_USAGE = 2,
	CTL_PARSED = -1, /* from a command's parser: go on with the work */
};

typedef int (*ctl_cmd_fn)(struct ctl *c, int argc, char **argv);

/* One row of the command table (ctl/main.c). */
struct ctl_cmd {
	const char *name;    /* "import" */
	ctl_cmd_fn fn;	     /* ctl_cmd_import */
	const char *args;    /* synopsis after the name, or "" */
	const char *summary; /* one line for `blastctl help` */
	const char *help;    /* option lines for `blastctl NAME --help`, or
				NULL; each line indented two spaces */
};

/* Per-run state. Filled by main before a command runs; commands read it
 * and open the store through ctl_store(). */
struct ctl {
	const char *home_arg;	   /* --home as given, NULL for the default */
	struct store *st;	   /* opened on first ctl_store(), closed by
				      main (NULL until then) */
	const struct ctl_cmd *cmd; /* the running command (NULL in main) */
	bool json;		   /* --json: data as JSON on stdout, status
				      lines suppressed */
	bool color_err;		   /* colour allowed on stderr */
	bool quiet;		   /* -q, --quiet: no progress line, no
				      status lines (errors and warnings
				      still) */
	struct ctl_progress *progress; /* the progress line, if one may be
					  on screen (progress.h): erased
					  before other stderr lines */
};

/* ---- commands ---------------------------------------------------- */

int ctl_cmd_init(struct ctl *c, int argc, char **argv);
int ctl_cmd_import(struct ctl *c, int argc, char **argv);
int ctl_cmd_export(struct ctl *c, int argc, char **argv);
int ctl_cmd_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_gc(struct ctl *c, int argc, char **argv);
int ctl_cmd_compact(struct ctl *c, int argc, char **argv);
int ctl_cmd_check(struct ctl *c, int argc, char **argv);
int ctl_cmd_create(struct ctl *c, int argc, char **argv);
int ctl_cmd_start(struct ctl *c, int argc, char **argv);
int ctl_cmd_kill(struct ctl *c, int argc, char **argv);
int ctl_cmd_status(struct ctl *c, int argc, char **argv);
int ctl_cmd_save(struct ctl *c, int argc, char **argv);
int ctl_cmd_load(struct ctl *c, int argc, char **argv);
int ctl_cmd_snapshots(struct ctl *c, int argc, char **argv);
int ctl_cmd_rm_snapshot(struct ctl *c, int argc, char **argv);
int ctl_cmd_undo(struct ctl *c, int argc, char **argv);
int ctl_cmd_diff(struct ctl *c, int argc, char **argv);
int ctl_cmd_destroy(struct ctl *c, int argc, char **argv);
int ctl_cmd_vars(struct ctl *c, int argc, char **argv);
int ctl_cmd_shell_init(struct ctl *c, int argc, char **argv);
int ctl_cmd_deps(struct ctl *c, int argc, char **argv);
int ctl_cmd_clean(struct ctl *c, int argc, char **argv);
int ctl_cmd_watch(struct ctl *c, int argc, char **argv);
int ctl_cmd_rules(struct ctl *c, int argc, char **argv);
int ctl_cmd_policy(struct ctl *c, int argc, char **argv);
int ctl_cmd_run(struct ctl *c, int argc, char **argv);
int ctl_cmd_top(struct ctl *c, int argc, char **argv);
int ctl_cmd_audit(struct ctl *c, int argc, char **argv);
int ctl_cmd_push(struct ctl *c, int argc, char **argv);
int ctl_cmd_pull(struct ctl *c, int argc, char **argv);
int ctl_cmd_login(struct ctl *c, int argc, char **argv);

/* ---- shared steps ------------------------------------------------ */

struct store_env;

/*
 * Create env `name` with the venv layout for interpreter `python` (see
 * venv_python_find; NULL: python3 on PATH) and pip: an O(1) clone of the
 * interpreter's seed, or, the first time, ensurepip run through a
 * private mount, which then becomes the seed (ctl/cmd-create.c). Prints
 * progress and why it fails; on failure the env does not exist. *out
 * (may be NULL) is the new env's record.
 */
int ctl_env_create(struct ctl *c, const char *name, const char *python,
		   struct store_env *out);

/*
 * Stop env name's daemon (pid) (ctl/cmd-kill.c) mounted at mnt: `sync` (waits
 * for every written file to be sealed), unmount, wait for the daemon to exit. A
 * busy mount is an error unless `force`, which detaches it lazily and,
 * if processes inside keep the daemon alive, stops it with SIGTERM.
 */
int ctl_daemon_stop(struct ctl *c, const char *rundir, const char *name,
		    const char *mnt, pid_t pid, bool force);

/* ---- the store --------------------------------------------------- */

/*
 * The store of this run: opened (and created if missing) on first use in
 * --home DIR or store_home_default(), with blastctl's logger installed.
 * On failure prints why (naming the directory) and returns -errno; the
 * caller then just returns CTL_EXIT_FAIL. *out belongs to c.
 */
int ctl_store(struct ctl *c, struct store **out);

/*
 * Free the blobs nobody references or pins any more (ctl/reclaim.c), after
 * a command dropped references; writes "freed N blobs (SIZE)" into freed
 * (CTL_RECLAIM_LEN is enough) for the command's status line. On failure
 * prints why and returns -errno (what the command committed stays: gc
 * frees the rest later).
 */
#define CTL_RECLAIM_LEN 64
int ctl_reclaim(struct ctl *c, struct store *st, char *freed, size_t len);

/* ---- option parsing ---------------------------------------------- */

/* Values ctl_getopt returns besides the command's own options. */
enum {
	CTL_OPT_JSON = 0x1000,	/* handled inside ctl_getopt */
	CTL_OPT_HELP = 0x1001,	/* usage printed on stdout: exit 0 */
	CTL_OPT_BAD = 0x1002,	/* usage error printed: exit 2 */
	CTL_OPT_QUIET = 0x1003, /* handled inside ctl_getopt */
};

/* Entries for a command's long option array. Every command lists
 * CTL_OPTION_HELP (-h works regardless); a command that lists
 * CTL_OPTION_JSON accepts --json also before its name, the others refuse
 * it there with a usage error. Likewise CTL_OPTION_QUIET (the commands
 * with a progress line): -q and --quiet, which set c->quiet. */
/* clang-format off */
#define CTL_OPTION_HELP {"help", no_argument, NULL, CTL_OPT_HELP}
#define CTL_OPTION_JSON {"json", no_argument, NULL, CTL_OPT_JSON}
#define CTL_OPTION_QUIET {"quiet", no_argument, NULL, CTL_OPT_QUIET}
/* clang-format on */

/*
 * getopt_long for a command; every command calls it, even one without
 * options, so --help and unknown options behave the same everywhere.
 * Call in a loop until it returns -1; optind is then the first operand
 * (operands and options may be mixed; "--" ends options). `shortopts`
 * holds only the command's own letters ("" if none; a leading '+' stops
 * at the first operand); -h, --help and (if listed) --json are handled
 * here. Returns the command's own option value, -1, CTL_OPT_HELP or
 * CTL_OPT_BAD (messages already printed); pass the last two to
 * ctl_opt_exit(). main resets getopt (optind = 0) before each command.
 */
int ctl_getopt(struct ctl *c, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);
/* Exit status for CTL_OPT_HELP (0) or anything else unexpected (2). */
int ctl_opt_exit(int opt);

/* Parse a decimal in [min, max] for option `what`; on error prints a usage
 * error and returns -EINVAL. */
int ctl_parse_uint(struct ctl *c, const char *what, const char *s,
		   unsigned long min, unsigned long max, unsigned long *out);

/* Print `usage: blastctl NAME ARGS` to f, and with `full` the summary and
 * option help too. cmd == NULL: blastctl's own usage (with `full`, the
 * command list). */
void ctl_usage_print(const struct ctl_cmd *cmd, FILE *f, bool full);

/* ---- output ------------------------------------------------------ */

/* `blastctl: MSG` on stderr (prefix in red when c->color_err). */
void ctl_err(struct ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* `blastctl: warning: MSG` on stderr (yellow when c->color_err). */
void ctl_warn(struct ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ctl_err, then the running command's usage line; returns
 * CTL_EXIT_USAGE so callers can `return ctl_usage_error(...)`. */
int ctl_usage_error(struct ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A status line `MSG` on stderr; nothing under --json or --quiet. */
void ctl_status(struct ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Message for an errno, positive or negative ("Permission denied"). */
const char *ctl_strerror(int err);

/* Human size, binary units: "0 B", "512 B", "1.5 KiB", "12.0 MiB".
 * Writes into buf (CTL_BYTES_LEN is enough) and returns it. */
#define CTL_BYTES_LEN 24
const char *ctl_fmt_bytes(char *buf, size_t len, uint64_t n);

/* Seconds elapsed since *start (CLOCK_MONOTONIC). */
double ctl_seconds_since(const struct timespec *start);

/*
 * JSON objects are built by chaining, one line per key:
 *	j = ctl_json_add(json_object(), "files", ctl_json_u64(n));
 *	j = ctl_json_add(j, "python", ctl_json_str(e->python));
 *	return ctl_json_print(c, j);
 * ctl_json_add sets key in object o (stealing v) and returns o; if o or v
 * is NULL or the set fails, it drops both and returns NULL, which the
 * rest of the chain passes along and ctl_json_print reports.
 */
json_t *ctl_json_add(json_t *o, const char *key, json_t *v);
/* A JSON integer (values above INT64_MAX do not occur: byte counts). */
json_t *ctl_json_u64(uint64_t v);
/* A JSON string, or null for NULL or "". */
json_t *ctl_json_str(const char *s);

/*
 * Print j (indented, keys in insertion order, one trailing newline) on
 * stdout and drop the reference. j == NULL (a failed build) is -ENOMEM.
 * Errors are printed; the caller just returns CTL_EXIT_FAIL.
 */
int ctl_json_print(struct ctl *c, json_t *j);

/* ---- tables (human output on stdout) -----------------------------
 * Cells are added left to right and wrap into rows; columns are padded
 * to their widest cell, the last column is never padded. Allocation
 * failures are sticky and reported by ctl_table_print. */

struct ctl_table;

/* `heads` names the columns; align[i] is 'l' or 'r'. */
int ctl_table_new(const char *const *heads, const char *align, size_t ncols,
		  struct ctl_table **out);
void ctl_table_cell(struct ctl_table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t ctl_table_rows(const struct ctl_table *t);
/* Print header and rows; -ENOMEM if a cell could not be stored. */
int ctl_table_print(struct ctl_table *t, FILE *f);
void ctl_table_free(struct ctl_table *t);

#endif
