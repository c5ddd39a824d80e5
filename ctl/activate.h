/* SPDX-License-Identifier: MIT */
/*
 * activate.h - the shell side of an env: its variables (env state keys
 * "var:KEY"), the activate scripts a mounted env carries in bin/
 * (activate for sh/bash/zsh, activate.fish, activate.ps1, activate.nu,
 * activate.csh, and activate.json, the same data for tools), rendered from the
 * templates in shell/ with the env's name, mountpoint and variables, and
 * the `blast` functions of `blastctl shell-init`.
 *
 * The scripts embed everything they set, so they are regenerated whenever
 * that changes while mounted: at start, after `vars set/unset`, after
 * load and undo (ctl_activate_refresh).
 *
 * Threads: main thread only.
 */
#ifndef BLAST_CTL_ACTIVATE_H
#define BLAST_CTL_ACTIVATE_H

#include <stddef.h>
#include <stdint.h>

struct ctl;
struct store_txn;

#define ACTIVATE_VAR_PREFIX "var:" /* env state key of variable KEY */
#define ACTIVATE_KEY_MAX    128	   /* longest variable name */
#define ACTIVATE_VAL_MAX    (64u << 10)

struct activate_var {
	char *key; /* "FOO" (without the prefix) */
	char *val;
};

/* An env's variables, in key order. */
struct activate_vars {
	struct activate_var *v;
	size_t n;
};

/* The shells (and formats) blast writes for. */
enum activate_shell {
	ACTIVATE_SH,   /* bin/activate: POSIX sh, bash, zsh */
	ACTIVATE_FISH, /* bin/activate.fish */
	ACTIVATE_PS1,  /* bin/activate.ps1 */
	ACTIVATE_NU,   /* bin/activate.nu */
	ACTIVATE_CSH,  /* bin/activate.csh: csh, tcsh */
	ACTIVATE_JSON, /* bin/activate.json: {"name", "dir", "vars"} */
	ACTIVATE_NSHELLS,
};

/*
 * Check a variable name: a shell identifier ([A-Za-z_][A-Za-z0-9_]*, at
 * most ACTIVATE_KEY_MAX) that activation does not manage itself (PATH,
 * VIRTUAL_ENV, PYTHONHOME, the prompt, the shells' own, _BLAST* and
 * _OLD_VIRTUAL_*). 0, or -EINVAL with *why set to a static reason.
 */
int activate_key_check(const char *key, const char **why);

/* The variables kept in the env state of the tree at root (read or write
 * txn). *out is filled (empty when there are none); release it. -errno. */
int activate_vars_load(struct store_txn *t, uint64_t root,
		       struct activate_vars *out);
void activate_vars_release(struct activate_vars *v);

/*
 * The script (or JSON) for shell s activating env `name` mounted at mnt
 * with variables v, quoted for that shell (paths and values with spaces,
 * quotes or newlines survive). Returns a malloc'd string, NULL on ENOMEM.
 */
char *activate_render(enum activate_shell s, const char *mnt, const char *name,
		      const struct activate_vars *v);

/*
 * Write every bin/activate* of the env mounted at mnt (files already
 * right are left alone). -errno with the failing file's name in failed.
 */
int activate_write(const char *mnt, const char *name,
		   const struct activate_vars *v, char *failed, size_t flen);

/* The `blast` function for shell "bash", "zsh", "sh", "dash", "fish",
 * "pwsh" or "nu" (the `blast` alias for "csh" or "tcsh": one command a
 * line, each but the last ending with ';', so that eval can run it)
 * into *out (malloc'd). -EINVAL for another name, -ENOMEM. */
int activate_init_script(const char *shell, char **out);

/*
 * Read env `name`'s variables from c's store and write the scripts of
 * its mount at mnt. Prints why it fails (naming the mount) and returns
 * -errno.
 */
int ctl_activate_refresh(struct ctl *c, const char *name, const char *mnt);

#endif
