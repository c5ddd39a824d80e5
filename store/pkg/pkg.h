/* SPDX-License-Identifier: MIT */
/*
 * pkg.h - Python packaging parsers with no store, LMDB or FUSE in them:
 * PEP 440 versions and specifiers, PEP 508 requirements and markers,
 * core metadata (METADATA / PKG-INFO), egg-info requires.txt, PEP 503
 * names, the compact record blastfs keeps per installed distribution, and
 * `pip check` over a set of distributions.
 *
 * Semantics follow what pip 23 applies (its vendored packaging 21.3): an
 * installed version that is not PEP 440 is "legacy" (sorts before every
 * PEP 440 version, matches only ===), requirement and marker strings are
 * printed the way packaging prints them, and `pip check` allows
 * pre-releases.
 *
 * Every parser takes (bytes, length), never reads past them, accepts any
 * bytes (NUL, invalid UTF-8, huge input) and fails with -EINVAL and a
 * one-line reason in `err` (PKG_ERR_LEN bytes, may be NULL) rather than
 * crash; recursion is bounded by PKG_MARKER_DEPTH. Functions are pure and
 * thread-safe; heap results belong to the caller, freed by the matching
 * _free / _release.
 */
#ifndef BLAST_PKG_H
#define BLAST_PKG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKG_ERR_LEN	     160
#define PKG_VERSION_LEN	     256 /* longest version string kept */
#define PKG_RELEASE_MAX	     32	 /* release components */
#define PKG_NAME_LEN	     256 /* longest distribution name */
#define PKG_MARKER_DEPTH     32	 /* nested parentheses in a marker */
#define PKG_MARKER_VALUE_LEN 128 /* one marker environment value */

/* ---- names (PEP 503) ---------------------------------------------- */

/* Lowercase name with every run of [-_.] made one '-', into out (len
 * bytes, NUL-terminated). Returns the normalized length, or -ENAMETOOLONG
 * if it does not fit. Does not validate. */
int pkg_name_normalize(const char *name, size_t nlen, char *out, size_t len);
/* true if name is a valid PEP 508 name: [A-Za-z0-9]([A-Za-z0-9._-]*
 * [A-Za-z0-9])? and shorter than PKG_NAME_LEN. */
bool pkg_name_valid(const char *name, size_t nlen);

/* ---- versions (PEP 440) ------------------------------------------- */

struct pkg_version {
	bool legacy;	/* not PEP 440: only str is meaningful */
	uint64_t epoch; /* numbers above 10^18 are refused */
	uint64_t release[PKG_RELEASE_MAX];
	unsigned nrelease;
	char pre_l; /* 0 (none), 'a', 'b' or 'c' (rc) */
	uint64_t pre;
	bool has_post, has_dev;
	uint64_t post, dev;
	char local[PKG_VERSION_LEN]; /* normalized ("ubuntu.1"), "" none */
	char str[PKG_VERSION_LEN];   /* normalized form (legacy: as given,
					whitespace stripped) */
};

/*
 * Parse a PEP 440 version (any spelling PEP 440 normalizes: "v1.0",
 * "1.0-alpha.1", "1.0_post2", "1!2.0+Ubuntu-1", surrounding whitespace).
 * 0, or -EINVAL with a reason in err (not PEP 440, longer than
 * PKG_VERSION_LEN - 1, a number of 19 digits or more, more than
 * PKG_RELEASE_MAX components). *out is meaningful only on 0.
 */
int pkg_version_parse(const char *s, size_t len, struct pkg_version *out,
		      char *err);
/* As pkg_version_parse, but a non-PEP 440 string (up to PKG_VERSION_LEN-1
 * bytes after stripping) becomes a legacy version (returns 0 with
 * out->legacy set). -EINVAL only if it is too long or empty. */
int pkg_version_parse_any(const char *s, size_t len, struct pkg_version *out,
			  char *err);
/* PEP 440 ordering: <0, 0, >0. Legacy versions sort before all others
 * and among themselves by string. */
int pkg_version_cmp(const struct pkg_version *a, const struct pkg_version *b);
bool pkg_version_is_prerelease(const struct pkg_version *v); /* pre or dev */

/* ---- specifiers (PEP 440) ----------------------------------------- */

enum pkg_op {
	PKG_OP_EQ,	  /* == */
	PKG_OP_NE,	  /* != */
	PKG_OP_LE,	  /* <= */
	PKG_OP_GE,	  /* >= */
	PKG_OP_LT,	  /* < */
	PKG_OP_GT,	  /* > */
	PKG_OP_COMPAT,	  /* ~= */
	PKG_OP_ARBITRARY, /* === */
};

struct pkg_spec {
	enum pkg_op op;
	bool wildcard;		   /* ==V.* or !=V.* */
	char ver[PKG_VERSION_LEN]; /* version as written (without .*) */
	struct pkg_version v;	   /* parsed (not for ===) */
};

struct pkg_specset {
	struct pkg_spec *v; /* malloc'd */
	size_t n;
};

/* Parse one specifier ("~= 1.4.2", "==1.*"). 0 or -EINVAL. */
int pkg_spec_parse(const char *s, size_t len, struct pkg_spec *out, char *err);
/* Parse a comma-separated set ("" is the empty set, matching all).
 * Duplicates (same op and version text) are kept once. 0, -EINVAL,
 * -ENOMEM; *out untouched on failure. */
int pkg_specset_parse(const char *s, size_t len, struct pkg_specset *out,
		      char *err);
void pkg_specset_release(struct pkg_specset *s);
/* Does spec admit v? prereleases: pre-release/dev versions are allowed
 * (pip check passes true); otherwise they match only when the specifier
 * itself names a pre-release (==, >=, <=, ~=, ===). */
bool pkg_spec_contains(const struct pkg_spec *spec, const struct pkg_version *v,
		       bool prereleases);
bool pkg_specset_contains(const struct pkg_specset *s,
			  const struct pkg_version *v, bool prereleases);
/* The set as packaging prints it: the specifiers' "OPVER" texts sorted
 * and joined by ','. Returns the length, or -ENOSPC. */
int pkg_specset_format(const struct pkg_specset *s, char *buf, size_t len);

/* ---- markers (PEP 508) -------------------------------------------- */

enum pkg_mvar {
	PKG_MV_PYTHON_VERSION,
	PKG_MV_PYTHON_FULL_VERSION,
	PKG_MV_OS_NAME,
	PKG_MV_SYS_PLATFORM,
	PKG_MV_PLATFORM_RELEASE,
	PKG_MV_PLATFORM_SYSTEM,
	PKG_MV_PLATFORM_VERSION,
	PKG_MV_PLATFORM_MACHINE,
	PKG_MV_PLATFORM_PYTHON_IMPLEMENTATION,
	PKG_MV_IMPLEMENTATION_NAME,
	PKG_MV_IMPLEMENTATION_VERSION,
	PKG_MV_EXTRA,
	PKG_MV__COUNT,
};

/* The values markers compare against (an interpreter's description). */
struct pkg_markerenv {
	char v[PKG_MV__COUNT][PKG_MARKER_VALUE_LEN];
};

/* Variable by name, including the legacy aliases ("os.name",
 * "sys.platform", "platform.machine", "platform.version",
 * "platform.python_implementation", "python_implementation"). -1 if none. */
int pkg_mvar_lookup(const char *name, size_t len);
/* Environment from "key=value" lines (unknown keys ignored, missing ones
 * ""). Returns 0 or -EINVAL (a line without '=', a value too long). */
int pkg_markerenv_parse(const char *s, size_t len, struct pkg_markerenv *out);
/* The "key=value\n" text pkg_markerenv_parse reads (extra left out).
 * Returns its length or -ENOSPC. */
int pkg_markerenv_format(const struct pkg_markerenv *env, char *buf,
			 size_t len);

struct pkg_marker; /* opaque parse tree */

/* Parse a marker expression ("python_version < '3.8' and extra ==
 * 'test'"). 0, -EINVAL (syntax, unknown variable, deeper than
 * PKG_MARKER_DEPTH), -ENOMEM. */
int pkg_marker_parse(const char *s, size_t len, struct pkg_marker **out,
		     char *err);
void pkg_marker_free(struct pkg_marker *m);
/* Evaluate against env, with the `extra` variable set to extra (NULL:
 * env's own). 1 true, 0 false, -EINVAL for a comparison packaging
 * cannot make (e.g. ~= against a value that is not a version). */
int pkg_marker_eval(const struct pkg_marker *m, const struct pkg_markerenv *env,
		    const char *extra);
/* As packaging prints it: `python_version < "3.8" and (a or b)`. Returns
 * the length, or -ENOSPC. */
int pkg_marker_format(const struct pkg_marker *m, char *buf, size_t len);

/* ---- requirements (PEP 508) --------------------------------------- */

struct pkg_req {
	char name[PKG_NAME_LEN]; /* as written */
	char norm[PKG_NAME_LEN]; /* PEP 503 normalized */
	char **extras;		 /* malloc'd, sorted, unique */
	size_t nextras;
	struct pkg_specset specs;
	char *url;		   /* "name @ URL" or NULL */
	struct pkg_marker *marker; /* or NULL */
};

/* Parse "name[extra,...] (specs) ; marker" or "name[extras] @ url ;
 * marker". 0, -EINVAL, -ENOMEM; *out is valid (release it) only on 0. */
int pkg_req_parse(const char *s, size_t len, struct pkg_req *out, char *err);
void pkg_req_release(struct pkg_req *r);
/* As packaging's str(Requirement). Returns the length or -ENOSPC. */
int pkg_req_format(const struct pkg_req *r, char *buf, size_t len);

/* ---- core metadata and egg-info ------------------------------------ */

struct pkg_meta {
	char *name;	 /* Name: (NULL if absent) */
	char *version;	 /* Version: (NULL if absent) */
	char **requires; /* Requires-Dist: values, unfolded, in order */
	size_t nrequires;
	char **extras; /* Provides-Extra: values */
	size_t nextras;
};

/*
 * Parse METADATA / PKG-INFO (RFC 822 headers up to the first empty line;
 * continuation lines start with a space or tab; CRLF accepted; the body is
 * ignored). Fields are matched case-insensitively; the first Name and
 * Version win. -EINVAL (invalid UTF-8, a NUL byte, a header line without
 * ':'), -ENOMEM. On failure *out is released.
 */
int pkg_meta_parse(const char *buf, size_t len, struct pkg_meta *out,
		   char *err);
/*
 * Add an egg-info requires.txt to m the way pip does: only if m has no
 * Requires-Dist, its lines become requirements with their section turned
 * into a marker: "[e]" -> `req ; extra == "e"` (e made safe: runs of
 * [^A-Za-z0-9.-] become '_', lowercase), "[:m]" -> `req ; m`, "[e:m]" ->
 * `req ; (m) and extra == "e"`; only if m has no Provides-Extra, the
 * sections' extras become m->extras. Blank lines and '#' comments are
 * skipped. 0, -EINVAL (invalid UTF-8, a section over 1 KiB), -ENOMEM.
 */
int pkg_requires_txt_parse(const char *buf, size_t len, struct pkg_meta *m,
			   char *err);
void pkg_meta_release(struct pkg_meta *m);
/* Append a copy of s (len bytes) to a string vector. 0 or -ENOMEM. */
int pkg_strv_push(char ***v, size_t *n, const char *s, size_t len);
void pkg_strv_free(char **v, size_t n);
/* true if buf holds valid UTF-8 without NUL bytes. */
bool pkg_utf8_valid(const char *buf, size_t len);

/* ---- requirements files (pip's format) ------------------------------ */

enum pkg_reqfile_kind {
	PKG_REQFILE_REQUIREMENT, /* text: a requirement line (unparsed) */
	PKG_REQFILE_INCLUDE,	 /* text: -r FILE (as written) */
	PKG_REQFILE_CONSTRAINTS, /* text: -c FILE (as written) */
};
/* fn returns 0 to go on, else that value stops the parse. */
typedef int (*pkg_reqfile_fn)(void *arg, enum pkg_reqfile_kind kind,
			      size_t lineno, const char *text);
/*
 * Walk a requirements or constraints file: '\' continues a line, '#'
 * at the start or after whitespace begins a comment, options other than
 * -r/--requirement and -c/--constraint (-e, --index-url, ...) are
 * skipped, and a requirement line ends before its first " --" option
 * (--hash=...). lineno is where the logical line starts (1-based).
 * 0, fn's value, -EINVAL (invalid UTF-8), -ENOMEM.
 */
int pkg_reqfile_parse(const char *buf, size_t len, pkg_reqfile_fn fn,
		      void *arg);

/* ---- declared requirements of a project ---------------------------- */

struct pkg_dist;
typedef void (*pkg_declared_fn)(void *arg, const char *problem);

/*
 * Hold the requirements*.txt and constraints*.txt files of directory
 * `project` (with their -r/-c includes, each file once, 8 levels deep)
 * against the installed dists[0..n): fn gets one line per problem: "NAME
 * is not installed (FILE:LINE: REQ)", "NAME VERSION is excluded by
 * FILE:LINE: REQ", an invalid line, a missing include; FILE relative to
 * project. Requirements whose marker is false for env are skipped;
 * constraints never require. *files: top-level files read. Reads files
 * (the only function here that does); a missing project has none.
 * 0 or -errno.
 */
int pkg_declared_check(const char *project, const struct pkg_dist *dists,
		       size_t n, const struct pkg_markerenv *env,
		       pkg_declared_fn fn, void *arg, size_t *files);

/* ---- the per-distribution record ----------------------------------- */

/* One installed distribution, as blastfs keeps it in env state under
 * "pkg:<norm>". */
struct pkg_dist {
	char *name;    /* as in METADATA */
	char *norm;    /* PEP 503 */
	char *version; /* as in METADATA */
	char *path;    /* dist-info/egg-info name in site-packages */
	char **requires;
	size_t nrequires;
	char **extras;
	size_t nextras;
	char *error; /* why its metadata could not be read, or NULL */
};

/*
 * Fill d from parsed metadata m (moved: m is left empty) and the
 * dist-info/egg-info name `path`. A missing Name falls back to the name
 * part of path. -EINVAL (no usable name), -ENOMEM.
 */
int pkg_dist_from_meta(struct pkg_meta *m, const char *path,
		       struct pkg_dist *d);
void pkg_dist_release(struct pkg_dist *d);
/*
 * The record: text lines "KEY VALUE" (N name, V version, P path, E extra,
 * R requirement, X error), the first line "blastpkg 1". *out is malloc'd
 * (NUL-terminated, *len excludes it). 0 or -ENOMEM; values holding a
 * newline are refused (-EINVAL).
 */
int pkg_record_encode(const struct pkg_dist *d, char **out, size_t *len);
/* 0, -EINVAL (not a record), -ENOMEM; d is valid only on 0. */
int pkg_record_decode(const char *buf, size_t len, struct pkg_dist *d);

/* ---- pip check ------------------------------------------------------ */

enum pkg_problem_kind {
	PKG_MISSING,  /* "X 1.0 requires Y, which is not installed." */
	PKG_CONFLICT, /* "X 1.0 has requirement Y>=2, but you have Y 1.0." */
	PKG_BROKEN,   /* X's metadata or a requirement could not be read */
};

struct pkg_problem {
	enum pkg_problem_kind kind;
	const struct pkg_dist *dist; /* the requiring distribution */
	const char *dep;	     /* normalized name of the requirement */
	const struct pkg_dist *have; /* CONFLICT: the installed one */
	const char *line;	     /* the whole line, pip's wording */
};

typedef int (*pkg_problem_fn)(void *arg, const struct pkg_problem *p);

/*
 * `pip check` over dists[0..n) (each normalized name once: later
 * duplicates are ignored): first every distribution whose metadata or a
 * requirement cannot be read (PKG_BROKEN, left out of the set as pip
 * does), then every missing requirement, then every conflict, by
 * distribution in the order given and within one sorted as pip sorts.
 * Requirements whose marker is false for env with extra "" are skipped. fn is
 * called per problem (line valid during the call); a non-zero return stops and
 * is returned. Returns the number of problems, or -errno.
 */
long pkg_check(const struct pkg_dist *dists, size_t n,
	       const struct pkg_markerenv *env, pkg_problem_fn fn, void *arg);

#endif
