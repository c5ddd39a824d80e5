/* SPDX-License-Identifier: MIT */
/*
 * cmd-login.c - `blastctl login REGISTRY -u USER`: check credentials
 * against the registry (GET /v2/ with the auth dance) and record them in
 * ~/.docker/config.json as docker does, where push and pull find them.
 * The password comes from stdin (one line), never from the command line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "oci.h"

struct login_args {
	const char *host;
	const char *user;
	bool insecure;
};

enum { OPT_INSECURE = 0x100, OPT_USER };

static int login_parse(struct ctl *c, int argc, char **argv,
		       struct login_args *a)
{
	static const struct option opts[] = {
	    {"insecure", no_argument, NULL, OPT_INSECURE},
	    {"username", required_argument, NULL, OPT_USER},
	    CTL_OPTION_HELP,
	    {0},
	};
	int o;

	while ((o = ctl_getopt(c, argc, argv, "u:", opts)) != -1) {
		if (o == OPT_INSECURE)
			a->insecure = true;
		else if (o == OPT_USER || o == 'u')
			a->user = optarg;
		else
			return ctl_opt_exit(o);
	}
	if (argc - optind != 1)
		return ctl_usage_error(c, argc - optind < 1
					      ? "expected REGISTRY"
					      : "too many arguments");
	a->host = argv[optind];
	if (!a->user || !*a->user || strchr(a->user, ':'))
		return ctl_usage_error(c, "expected -u USER (without ':')");
	return CTL_PARSED;
}

/* One line of stdin, without its newline, into malloc'd *out. */
static int read_password(char **out)
{
	size_t cap = 0;
	ssize_t n;

	*out = NULL;
	n = getline(out, &cap, stdin);
	if (n < 0) {
		free(*out);
		*out = NULL;
		return -ENODATA;
	}
	while (n && ((*out)[n - 1] == '\n' || (*out)[n - 1] == '\r'))
		(*out)[--n] = 0;
	return 0;
}

int ctl_cmd_login(struct ctl *c, int argc, char **argv)
{
	struct login_args a = {0};
	struct oci_client *cl = NULL;
	struct oci_ref r;
	char ref[300], *pass = NULL;
	const char *msg;
	int rc, err;

	rc = login_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	snprintf(ref, sizeof(ref), "%s/x", a.host);
	if (oci_ref_parse(ref, a.insecure, &r))
		return ctl_usage_error(c,
				       "invalid registry '%s': use "
				       "HOST[:PORT]",
				       a.host);
	err = read_password(&pass);
	if (err) {
		ctl_err(c, "cannot log in to '%s': no password on stdin",
			a.host);
		return CTL_EXIT_FAIL;
	}
	err = oci_client_new(&r, &cl);
	if (!err)
		err = oci_client_creds(cl, a.user, pass);
	if (!err)
		err = oci_ping(cl);
	msg = err && cl ? oci_client_error(cl) : NULL;
	if (!err) {
		err = oci_creds_set(r.host, a.user, pass);
		msg = err ? ctl_strerror(err) : NULL;
	}
	if (err)
		ctl_err(c, "cannot log in to '%s': %s", a.host,
			msg ? msg : ctl_strerror(err));
	else
		ctl_status(c, "logged in to '%s' as '%s'", a.host, a.user);
	explicit_bzero(pass, strlen(pass));
	free(pass);
	oci_client_free(cl);
	return err ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
