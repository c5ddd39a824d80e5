/* SPDX-License-Identifier: MIT */
/*
 * activate.c - rendering shell/'s templates (compiled in by
 * shell/embed.py) for one env: @NAME@ (an env name, safe in any shell
 * as is), @DIR@ (the mountpoint, quoted for the shell) and @VARS@ (the
 * env's variables as that shell's calls). Each shell gets its own quoting
 * (see the *_quote functions), so any path or value survives.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "activate.h"
#include "ctl.h"
#include "shell-templates.h"
#include "store.h"
#include "venv.h"

/* ---- a growing string ----------------------------------------------- */

struct buf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	char *p;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* The string built, or NULL (freed) if an allocation failed. */
static char *buf_take(struct buf *b)
{
	if (b->failed || !b->s) {
		free(b->s);
		return b->failed ? NULL : strdup("");
	}
	return b->s;
}

/* ---- quoting, one function per shell -------------------------------- */

/* sh: '...', each ' as '\'' (nothing else is special inside). */
static void sh_quote(struct buf *b, const char *s)
{
	buf_str(b, "'");
	for (; *s; s++)
		if (*s == '\'')
			buf_str(b, "'\\''");
		else
			buf_add(b, s, 1);
	buf_str(b, "'");
}

/* fish: '...', where only \\ and \' are escapes. */
static void fish_quote(struct buf *b, const char *s)
{
	buf_str(b, "'");
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			buf_str(b, "\\");
		buf_add(b, s, 1);
	}
	buf_str(b, "'");
}

/* PowerShell: '...', a quote doubled. PowerShell also takes the
 * typographic single quotes U+2018-U+201B as quotes: doubled too. */
static void ps1_quote(struct buf *b, const char *s)
{
	const unsigned char *u;

	buf_str(b, "'");
	for (; *s; s++) {
		u = (const unsigned char *)s;
		if (*s == '\'') {
			buf_str(b, "''");
		} else if (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x98 &&
			   u[2] <= 0x9b) {
			buf_add(b, s, 3);
			buf_add(b, s, 3);
			s += 2;
		} else {
			buf_add(b, s, 1);
		}
	}
	buf_str(b, "'");
}

/* nushell: "..." with backslash escapes for \ " and control bytes. */
static void nu_quote(struct buf *b, const char *s)
{
	char esc[16];

	buf_str(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\\' || ch == '"') {
			esc[0] = '\\';
			esc[1] = *s;
			buf_add(b, esc, 2);
		} else if (ch == '\n') {
			buf_str(b, "\\n");
		} else if (ch == '\t') {
			buf_str(b, "\\t");
		} else if (ch == '\r') {
			buf_str(b, "\\r");
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u{%x}", ch);
			buf_str(b, esc);
		} else {
			buf_add(b, s, 1);
		}
	}
	buf_str(b, "\"");
}

/* csh: '...' with '\'' for a quote; inside quotes history expansion
 * still sees '!' (written \!) and a newline must be escaped (\ newline). */
static void csh_quote(struct buf *b, const char *s)
{
	buf_str(b, "'");
	for (; *s; s++)
		if (*s == '\'')
			buf_str(b, "'\\''");
		else if (*s == '!')
			buf_str(b, "\\!");
		else if (*s == '\n')
			buf_str(b, "\\\n");
		else
			buf_add(b, s, 1);
	buf_str(b, "'");
}

typedef void (*quote_fn)(struct buf *b, const char *s);

/* ---- the env's variables -------------------------------------------- */

/* Names activation manages itself, or that no env should override. */
static const char *const reserved[] = {
    "PATH",
    "VIRTUAL_ENV",
    "VIRTUAL_ENV_PROMPT",
    "VIRTUAL_ENV_DISABLE_PROMPT",
    "PYTHONHOME",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PROMPT",
    "PROMPT_COMMAND",
    "RPROMPT",
    "IFS",
    "HOME",
    "PWD",
    "OLDPWD",
    "SHELL",
    "SHLVL",
    "_",
    "BLAST_HOOK",
    "BLAST_ENV_DIR",
};

int activate_key_check(const char *key, const char **why)
{
	size_t i, n = strlen(key);

	if (!n || n > ACTIVATE_KEY_MAX) {
		*why = "a variable name has 1 to 128 characters";
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		char ch = key[i];
		bool alpha = (ch >= 'A' && ch <= 'Z') ||
			     (ch >= 'a' && ch <= 'z') || ch == '_';

		if (!alpha && (i == 0 || ch < '0' || ch > '9')) {
			*why = "a variable name is a shell identifier: "
			       "letters, digits and '_', not starting with a "
			       "digit";
			return -EINVAL;
		}
	}
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(key, reserved[i])) {
			*why = "activation sets or needs it itself";
			return -EINVAL;
		}
	if (!strncmp(key, "_BLAST", 6) || !strncmp(key, "_OLD_VIRTUAL_", 13)) {
		*why = "names starting with _BLAST or _OLD_VIRTUAL_ are the "
		       "activate scripts' own";
		return -EINVAL;
	}
	return 0;
}

static int vars_add(void *arg, const char *key, const void *val, size_t len)
{
	struct activate_vars *v = arg;
	struct activate_var *nv;
	const char *k = key + strlen(ACTIVATE_VAR_PREFIX);
	const char *why;

	/* a key no shell can take (a store written by hand) is skipped */
	if (activate_key_check(k, &why) < 0 || memchr(val, '\0', len))
		return 0;
	nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	v->v = nv;
	nv[v->n].key = strdup(k);
	nv[v->n].val = strndup(val, len);
	if (!nv[v->n].key || !nv[v->n].val) {
		free(nv[v->n].key);
		free(nv[v->n].val);
		return -ENOMEM;
	}
	v->n++;
	return 0;
}

int activate_vars_load(struct store_txn *t, uint64_t root,
		       struct activate_vars *out)
{
	int r;

	out->v = NULL;
	out->n = 0;
	r = store_state_iter(t, root, ACTIVATE_VAR_PREFIX, vars_add, out);
	if (r < 0)
		activate_vars_release(out);
	return r;
}

void activate_vars_release(struct activate_vars *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->v[i].key);
		free(v->v[i].val);
	}
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

/* ---- rendering ------------------------------------------------------ */

struct shell_desc {
	const char *file;     /* in bin/ */
	const char *tpl;      /* template text */
	quote_fn quote;	      /* for @DIR@ and values */
	const char *var_call; /* a variable is `var_call KEY VALUE\n`; NULL:
				 a record (nushell) */
	bool key_quoted;
};

static const struct shell_desc shells[] = {
    [ACTIVATE_SH] = {"activate", shell_tpl_activate_sh, sh_quote, "_blast_var ",
		     false},
    [ACTIVATE_FISH] = {"activate.fish", shell_tpl_activate_fish, fish_quote,
		       "    _blast_var ", false},
    [ACTIVATE_PS1] = {"activate.ps1", shell_tpl_activate_ps1, ps1_quote,
		      "_blast_var ", true},
    [ACTIVATE_NU] = {"activate.nu", shell_tpl_activate_nu, nu_quote, NULL,
		     true},
    [ACTIVATE_CSH] = {"activate.csh", shell_tpl_activate_csh, csh_quote, NULL,
		      false},
    [ACTIVATE_JSON] = {"activate.json", NULL, NULL, NULL, false},
};

/* @VARS@ for shell d. */
static void vars_render(struct buf *b, const struct shell_desc *d,
			const struct activate_vars *v)
{
	size_t i;

	if (d->quote == csh_quote) { /* no functions in csh */
		for (i = 0; i < v->n; i++) {
			const char *k = v->v[i].key;

			buf_str(b, "        if ($?");
			buf_str(b, k);
			buf_str(b, ") then\n            set _blast_old_");
			buf_str(b, k);
			buf_str(b, " = $");
			buf_str(b, k);
			buf_str(b, ":q\n        endif\n        setenv ");
			buf_str(b, k);
			buf_str(b, " ");
			d->quote(b, v->v[i].val);
			buf_str(b,
				"\n        set _blast_vars = ($_blast_vars ");
			buf_str(b, k);
			buf_str(b, ")\n");
		}
		return;
	}
	if (!d->var_call) { /* nushell: a record */
		buf_str(b, "{");
		for (i = 0; i < v->n; i++) {
			buf_str(b, i ? ", " : "");
			d->quote(b, v->v[i].key);
			buf_str(b, ": ");
			d->quote(b, v->v[i].val);
		}
		buf_str(b, "}");
		return;
	}
	for (i = 0; i < v->n; i++) {
		buf_str(b, d->var_call);
		if (d->key_quoted)
			d->quote(b, v->v[i].key);
		else
			buf_str(b, v->v[i].key);
		buf_str(b, " ");
		d->quote(b, v->v[i].val);
		buf_str(b, "\n");
	}
}

/* Template text with @NAME@, @DIR@, @VARS@ and @SHELL@ filled in. A
 * whole line `@VARS@` is replaced with its lines (none when there are no
 * variables). */
static char *tpl_fill(const struct shell_desc *d, const char *tpl,
		      const char *mnt, const char *name,
		      const struct activate_vars *v, const char *shell)
{
	struct buf b = {0};
	const char *p = tpl, *at;

	while ((at = strchr(p, '@'))) {
		buf_add(&b, p, (size_t)(at - p));
		if (name && !strncmp(at, "@NAME@", 6)) {
			buf_str(&b, name);
			p = at + 6;
		} else if (mnt && !strncmp(at, "@DIR@", 5)) {
			d->quote(&b, mnt);
			p = at + 5;
		} else if (v && !strncmp(at, "@VARS@", 6)) {
			vars_render(&b, d, v);
			p = at + 6;
			if ((d->var_call || d->quote == csh_quote) &&
			    *p == '\n')
				p++; /* the lines end with their own */
		} else if (shell && !strncmp(at, "@SHELL@", 7)) {
			buf_str(&b, shell);
			p = at + 7;
		} else {
			buf_add(&b, at, 1);
			p = at + 1;
		}
	}
	buf_str(&b, p);
	return buf_take(&b);
}

static char *json_render(const char *mnt, const char *name,
			 const struct activate_vars *v)
{
	json_t *vars = json_object(), *j;
	char *s = NULL, *out = NULL;
	size_t i;

	for (i = 0; vars && i < v->n; i++)
		if (json_object_set_new(vars, v->v[i].key,
					json_string(v->v[i].val)) < 0) {
			json_decref(vars);
			return NULL;
		}
	j = ctl_json_add(json_object(), "name", json_string(name));
	/* a mountpoint that is not UTF-8 is kept as is (nothing else in
	 * the file can be wrong) */
	j = ctl_json_add(j, "dir", json_stringn_nocheck(mnt, strlen(mnt)));
	j = ctl_json_add(j, "vars", vars);
	if (j)
		s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s && asprintf(&out, "%s\n", s) < 0)
		out = NULL;
	free(s);
	return out;
}

char *activate_render(enum activate_shell s, const char *mnt, const char *name,
		      const struct activate_vars *v)
{
	if (s == ACTIVATE_JSON)
		return json_render(mnt, name, v);
	return tpl_fill(&shells[s], shells[s].tpl, mnt, name, v, NULL);
}

int activate_write(const char *mnt, const char *name,
		   const struct activate_vars *v, char *failed, size_t flen)
{
	char bin[PATH_MAX];
	enum activate_shell s;
	char *text;
	int r = 0;

	if (snprintf(bin, sizeof(bin), "%s/bin", mnt) >= (int)sizeof(bin))
		return -ENAMETOOLONG;
	for (s = 0; s < ACTIVATE_NSHELLS && !r; s++) {
		text = activate_render(s, mnt, name, v);
		r = text ? venv_file_update(bin, shells[s].file, text,
					    strlen(text), 0644)
			 : -ENOMEM;
		free(text);
		if (r)
			snprintf(failed, flen, "%s/%s", bin, shells[s].file);
	}
	return r;
}

/* csh's `eval "`...`"` joins the output's lines with blanks: keep the
 * template's commands (one a line), drop its comment and blank lines, and
 * end every command but the last with " ;". The result sources as well. */
static char *csh_eval_lines(const char *tpl)
{
	struct buf b = {0};
	const char *p = tpl, *nl;
	bool first = true;

	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (nl == p || *p == '#')
			continue;
		if (!first)
			buf_str(&b, " ;\n");
		buf_add(&b, p, (size_t)(nl - p));
		first = false;
	}
	buf_str(&b, "\n");
	return buf_take(&b);
}

int activate_init_script(const char *shell, char **out)
{
	struct shell_desc d = {0};
	const char *tpl;
	char *s;

	/* POSIX sh: Debian's policy (10.4) makes /bin/sh support `local` */
	if (!strcmp(shell, "bash") || !strcmp(shell, "zsh") ||
	    !strcmp(shell, "sh") || !strcmp(shell, "dash"))
		tpl = shell_tpl_init_sh;
	else if (!strcmp(shell, "fish"))
		tpl = shell_tpl_init_fish;
	else if (!strcmp(shell, "pwsh"))
		tpl = shell_tpl_init_ps1;
	else if (!strcmp(shell, "nu"))
		tpl = shell_tpl_init_nu;
	else if (!strcmp(shell, "csh") || !strcmp(shell, "tcsh"))
		return (*out = csh_eval_lines(shell_tpl_init_csh)) ? 0
								   : -ENOMEM;
	else
		return -EINVAL;
	s = tpl_fill(&d, tpl, NULL, NULL, NULL, shell);
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}

int ctl_activate_refresh(struct ctl *c, const char *name, const char *mnt)
{
	struct activate_vars v = {0};
	char failed[PATH_MAX + 32];
	struct store_txn *t;
	struct store_env e;
	struct store *st;
	int r;

	r = ctl_store(c, &st);
	if (r < 0)
		return r;
	r = store_txn_begin(st, false, &t);
	if (r == 0) {
		r = store_env_get(t, name, &e);
		if (r == 0)
			r = activate_vars_load(t, e.root, &v);
		store_txn_abort(t);
	}
	if (r < 0) {
		ctl_err(c, "cannot read the variables of env '%s': %s", name,
			ctl_strerror(r));
		return r;
	}
	r = activate_write(mnt, name, &v, failed, sizeof(failed));
	if (r < 0)
		ctl_err(c, "cannot write '%s': %s", failed, ctl_strerror(r));
	activate_vars_release(&v);
	return r;
}
