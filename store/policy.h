/* SPDX-License-Identifier: MIT */
/*
 * policy.h - an env's policy: what its files may become (read-only and
 * hidden paths, file size, quota), what the processes run in it may use
 * (memory, CPU, pids, IO) and reach (network). Kept in the env state
 * (keys "policy:KEY", see store.h), so snapshots and clones carry it.
 * Parsing and validation of values, the path pattern matcher blastfs
 * enforces with, and the bounded audit log of denials (audit.c). No FUSE
 * in here.
 *
 * Patterns are paths relative to the env root, components split on '/':
 * a component may hold fnmatch globs ('*' and '?' within the component,
 * '[...]'), and a whole component '**' matches any number (also zero) of
 * components. A pattern covers the paths it matches and everything
 * below them ("lib/" + "**" also covers "lib" itself).
 *
 * Threads: a compiled struct policy is read-only once built; any number
 * of threads may match against it.
 */
#ifndef BLAST_STORE_POLICY_H
#define BLAST_STORE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_txn;
struct store_env;

enum policy_key {
	POLICY_FS_READONLY,
	POLICY_FS_HIDDEN,
	POLICY_FS_MAX_FILE_SIZE,
	POLICY_FS_QUOTA,
	POLICY_RES_MEMORY,
	POLICY_RES_CPU,
	POLICY_RES_PIDS,
	POLICY_RES_IO_READ,
	POLICY_RES_IO_WRITE,
	POLICY_NET_MODE,
	/* network rules (policy-net.c), net.mode filtered */
	POLICY_NET_ALLOW_IP,
	POLICY_NET_ALLOW_PORT,
	POLICY_NET_ALLOW_DOMAIN,
	POLICY_NET_INBOUND,
	POLICY_NET_DNS,
	POLICY_NET_BANDWIDTH,
	/* the host seen by `blastctl run`, and resource weights */
	POLICY_HOST_WRITABLE,
	POLICY_HOST_READONLY,
	POLICY_HOST_HIDDEN,
	POLICY_RES_CPU_WEIGHT,
	POLICY_RES_MEMORY_SOFT,
	POLICY_RES_IO_WEIGHT,
	/* `blast start`'s shell run under `blastctl run` */
	POLICY_SHELL_CONFINE,
	/* host unix sockets `blastctl run` may connect to */
	POLICY_HOST_SOCKETS,
	POLICY__NKEYS
};

enum policy_kind {
	POLICY_PATTERNS,  /* one or more patterns */
	POLICY_SIZE,	  /* bytes, with K/M/G/T suffixes (binary) */
	POLICY_FRACTION,  /* CPUs, e.g. 0.5 or 2 */
	POLICY_COUNT,	  /* a positive integer */
	POLICY_NETMODE,	  /* none, loopback, filtered or host */
	POLICY_NETLIST,	  /* one or more network rules (policy-net.c) */
	POLICY_NETBW,	  /* "up SIZE down SIZE", either or both */
	POLICY_HOSTPATHS, /* absolute host path patterns (host.*) */
	POLICY_WEIGHT,	  /* a relative weight, 1 to 10000 (100: default) */
	POLICY_BOOL,	  /* true or false */
};

#define POLICY_STATE_PREFIX "policy:"
#define POLICY_PATTERNS_MAX 1024 /* patterns per key */
#define POLICY_ERR_LEN	    256

/* Name ("fs.readonly") and kind of a key. */
const char *policy_key_name(enum policy_key k);
enum policy_kind policy_key_kind(enum policy_key k);
/* The key called name, or -EINVAL. */
int policy_key_find(const char *name);

/* "10M", "1.5G", "4096" -> bytes (K=1024...). -EINVAL if malformed,
 * -ERANGE past 2^62. */
int policy_size_parse(const char *s, uint64_t *out);

/* Check one pattern: relative, no '.' or '..' component, no empty
 * component, '**' only as a whole component, brackets closed, no
 * trailing backslash. 0 or -EINVAL with the reason in err. */
int policy_pattern_check(const char *pat, char *err, size_t errlen);

/* Check one host path pattern (host.*): absolute, or "~/..." (the
 * invoking user's home); no '.', '..' or empty component; '*', '?' and
 * '[...]' within a component, no '**'; not "/" for host.hidden (hidden
 * true). 0 or -EINVAL with the reason in err. */
int policy_host_pattern_check(const char *pat, bool hidden, char *err,
			      size_t errlen);

/*
 * Validate vals[0..n) for key k and produce the canonical stored value
 * (*out malloc'd, NUL-terminated): patterns joined by '\n' (trailing '/'
 * dropped), sizes and counts as decimal, fractions as given (checked),
 * the net mode as its word. -EINVAL with a one-line reason in err.
 */
int policy_value_parse(enum policy_key k, const char *const *vals, size_t n,
		       char **out, char *err, size_t errlen);

/* ---- compiled policy ---------------------------------------------- */

enum policy_rule {
	POLICY_RULE_READONLY = 1u << 0,
	POLICY_RULE_HIDDEN = 1u << 1,
};

struct policy {
	uint64_t max_file_size;			  /* 0: none */
	uint64_t quota;				  /* 0: none */
	uint64_t memory, pids, io_read, io_write; /* 0: none */
	double cpu;				  /* 0: none */
	uint64_t memory_soft;			  /* bytes, 0: none */
	unsigned cpu_weight, io_weight;		  /* 1..10000, 0: none */
	int net;		   /* -1: unset, else enum policy_net */
	bool shell_confine;	   /* shell.confine true */
	unsigned npat;		   /* patterns, readonly first */
	struct policy_pat *pat;	   /* npat compiled patterns */
	char *text[POLICY__NKEYS]; /* stored values, NULL when unset */
};

enum policy_net {
	POLICY_NET_NONE,
	POLICY_NET_LOOPBACK,
	POLICY_NET_HOST,
	POLICY_NET_FILTERED, /* own namespace, veth to the host, rules */
};
/* "none" -> POLICY_NET_NONE...; -EINVAL. */
int policy_net_parse(const char *s);
const char *policy_net_name(int net);

/* ---- network rules (policy-net.c) ---------------------------------
 * Canonical forms, one rule per line in the stored text:
 *   net.allow-ip      CIDR, "10.0.0.0/8" (a bare address is /32;
 *                     host bits are cleared). policy_net_rule_parse
 *                     reads IPv6 ("2001:db8::/32", bare /128), as older
 *                     stores may hold; policy_value_parse refuses it
 *                     (the env has no IPv6 route: always denied)
 *   net.allow-port    "443", "443/tcp", "8000-8100/udp" (no protocol:
 *                     both tcp and udp)
 *   net.allow-domain  "pypi.org" (that name), "*.example.com" (every
 *                     name below it); lowercase, no final dot
 *   net.inbound       "HOSTPORT:ENVPORT/PROTO", from "8080",
 *                     "8080:80" or "8080:80/udp" (default tcp)
 *   net.dns           an address, "192.0.2.53" (the forwarder's
 *                     upstream servers)
 *   net.bandwidth     "up BYTES down BYTES" (per second; either part
 *                     may be missing), from "up 1M down 2M"
 * Any of these set with net.mode unset compiles to net.mode filtered.
 */

/* Check one value v of list key k (allow-ip, allow-port, allow-domain,
 * inbound, dns) and write its canonical form into buf. -EINVAL with a
 * one-line reason in err. */
int policy_net_rule_parse(enum policy_key k, const char *v, char *buf,
			  size_t len, char *err, size_t errlen);
/* net.bandwidth from its words ("up", "1M", "down", "2M"): bytes per
 * second into *up and *down (0: no limit that way), canonical text into
 * buf. -EINVAL with the reason in err. */
int policy_net_bw_parse(const char *const *vals, size_t n, uint64_t *up,
			uint64_t *down, char *buf, size_t len, char *err,
			size_t errlen);
/* True when key k is one of the rules that imply net.mode filtered. */
bool policy_key_is_net_rule(enum policy_key k);

/* Build a policy from stored values text[k] (NULL: unset). -EINVAL if a
 * stored value does not parse (a corrupt or newer store). */
int policy_compile(const char *const text[POLICY__NKEYS], struct policy **out);

/* Read the env state under `root` ("policy:*") and compile it. A root
 * without any policy gives a policy with nothing set. */
int policy_load(struct store_txn *t, uint64_t root, struct policy **out);
void policy_free(struct policy *p);
/* True when the policy has path rules (readonly or hidden). */
bool policy_has_paths(const struct policy *p);

/*
 * Match state at a directory: the rules that cover it (it or an
 * ancestor matched), and the pattern positions still alive below it.
 * Caller-owned; release with policy_state_release. v is NULL when n is
 * 0, which is the common case away from the patterns' prefixes.
 */
struct policy_state {
	unsigned covered; /* enum policy_rule bits */
	unsigned below;	  /* rules some deeper path may still match */
	uint32_t n;
	uint32_t *v; /* pattern << 8 | component position */
};

/* State of the env root. */
int policy_state_root(const struct policy *p, struct policy_state *out);
/* State of dir's entry `name` (nlen bytes). -ENOMEM. */
int policy_state_step(const struct policy *p, const struct policy_state *dir,
		      const char *name, size_t nlen, struct policy_state *out);
/* Just the rules covering dir's entry `name` (no allocation). */
unsigned policy_name_rules(const struct policy *p,
			   const struct policy_state *dir, const char *name,
			   size_t nlen);
void policy_state_release(struct policy_state *s);
/* Into out: only dir's states of rules `rules` that can end at a name in
 * it (what policy_name_rules needs to test those rules on many names,
 * e.g. a listing). covered is dir's. -ENOMEM. */
int policy_state_final(const struct policy *p, const struct policy_state *dir,
		       unsigned rules, struct policy_state *out);
/* Rules covering relative path `path` ("a/b/c"; "" is the root). */
unsigned policy_path_rules(const struct policy *p, const char *path);

/* ---- audit log ----------------------------------------------------
 * A bounded log of denied operations per env (by env id, outside the
 * env state: a load does not rewind it), the newest POLICY_AUDIT_MAX. */
#define POLICY_AUDIT_MAX 1000

struct policy_audit {
	int64_t time_ns;
	int32_t pid;
	char comm[17];	 /* process name (/proc/PID/comm) */
	char op[16];	 /* "open", "rename"... */
	char rule[24];	 /* "fs.readonly"... */
	char path[1024]; /* relative to the env root */
};

/* Records lost before they reached the log (a burst past the daemon's
 * buffer drops its oldest): how many, and the times of the first and
 * last of them. */
struct policy_audit_drops {
	uint64_t count;
	int64_t first_ns, last_ns;
};
/* Count one record of time time_ns as dropped in d. */
void policy_audit_dropped(struct policy_audit_drops *d, int64_t time_ns);

/* Append n records (write txn), dropping the oldest past the bound, and
 * add drops (NULL: none) to the log's count of records lost. */
int policy_audit_append(struct store_txn *t, const struct store_env *e,
			const struct policy_audit *v, size_t n,
			const struct policy_audit_drops *drops);
/* The records lost before reaching e's log, in total (zero: none). */
int policy_audit_drops_get(struct store_txn *t, const struct store_env *e,
			   struct policy_audit_drops *out);
/* Call fn for each record, oldest first. fn returns 0 to go on, <0 to
 * stop with that error. */
typedef int (*policy_audit_fn)(void *arg, const struct policy_audit *a);
int policy_audit_iter(struct store_txn *t, const struct store_env *e,
		      policy_audit_fn fn, void *arg);
/* Forget e's log (write txn). */
int policy_audit_clear(struct store_txn *t, const struct store_env *e);

#endif
