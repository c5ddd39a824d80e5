/* SPDX-License-Identifier: MIT */
/*
 * ctlproto.h - the control protocol between blastctl (ctl/daemon.c) and
 * a running blastfs (fs/ctlsock.c), over the daemon's unix socket
 * STORE/run/ENV.sock (mode 0600; the daemon answers only its own uid and
 * root, by SO_PEERCRED).
 *
 * One request per connection: a line of words separated by single
 * spaces, each percent-encoded (any byte but NUL can travel; %00 is
 * refused), at most CTLP_REQUEST_MAX bytes with its newline. The reply is
 * one JSON object and a newline, then the daemon closes: {"ok":true,...}
 * or {"ok":false,"error":"..."}. `watch` is the exception: the
 * connection stays open and the daemon writes one JSON line per event.
 *
 * The commands are ctlproto_cmds[], each with its word count (the command
 * included); both sides name them through this table.
 */
#ifndef BLAST_STORE_CTLPROTO_H
#define BLAST_STORE_CTLPROTO_H

#include <stddef.h>

#define CTLP_REQUEST_MAX (64 * 1024)
/* the most words a request has ("save SNAP AUTO MESSAGE") */
#define CTLP_WORDS_MAX 8

enum ctlproto_cmd {
	CTLP_STATUS,	    /* live metrics: {"ok":true, counters...} */
	CTLP_SYNC,	    /* seal every written file, then sync the store */
	CTLP_SEAL,	    /* seal every written file (no sync) */
	CTLP_POLICY_RELOAD, /* apply the stored policy now */
	CTLP_AUDIT_FLUSH,   /* write buffered policy denials to the store */
	CTLP_PKG_REFRESH,   /* blastctl rewrote the package state: tell
			      `watch` clients what changed */
	CTLP_SAVE,	    /* SNAP AUTO(0|1) MESSAGE: seal, snapshot */
	CTLP_LOAD,	    /* SNAP: flip the env's root to it */
	CTLP_WATCH,	    /* kept open: package events (fs/pkgwatch.c) */
	CTLP__COUNT
};

struct ctlproto_cmd_desc {
	const char *name;  /* the first word */
	unsigned words;	   /* words in a valid request, the name included */
	const char *usage; /* "save SNAP AUTO MESSAGE" */
};

extern const struct ctlproto_cmd_desc ctlproto_cmds[CTLP__COUNT];

/* The command named name, or -1. */
int ctlproto_cmd_find(const char *name);

/* Percent-encode argv's words (NULL-terminated), joined by spaces, into
 * a new line ending in '\n' (*out, malloc'd; *len). -EMSGSIZE beyond
 * CTLP_REQUEST_MAX, -EINVAL for no words. */
int ctlproto_encode(const char *const *argv, char **out, size_t *len);

/* Split a request line (no newline) in place into at most max decoded
 * words; their count, or -EINVAL (a bad escape, %00, too many words). */
int ctlproto_split(char *line, char **w, int max);

#endif
