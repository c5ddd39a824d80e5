/* SPDX-License-Identifier: MIT */
/*
 * pkgprobe.c - reads one query per line on stdin and prints blastpkg's
 * answer, so tests can compare it with pip's own packaging line by line:
 *   V <version>              normalized form or "invalid"
 *   C <a>\t<b>               -1, 0 or 1
 *   S <specset>\t<version>   1/0 (prereleases as pip check: allowed)
 *   P <specset>\t<version>   1/0 (default pre-release rule)
 *   R <requirement>          printed form or "invalid"
 *   M <marker>\t<extra>      1/0/"error" against the env read from
 *                            the file named by argv[1]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg.h"

static struct pkg_markerenv env;

static void query(char *line)
{
	char buf[8192], *tab = strchr(line, '\t'), *a = line + 2;
	struct pkg_version v, w;
	struct pkg_specset s;
	struct pkg_marker *m;
	struct pkg_req r;
	int x;

	if (tab)
		*tab++ = 0;
	switch (line[0]) {
	case 'V':
		if (pkg_version_parse(a, strlen(a), &v, NULL))
			puts("invalid");
		else
			puts(v.str);
		break;
	case 'C':
		if (!tab || pkg_version_parse(a, strlen(a), &v, NULL) ||
		    pkg_version_parse(tab, strlen(tab), &w, NULL))
			puts("invalid");
		else
			printf("%d\n", pkg_version_cmp(&v, &w));
		break;
	case 'S':
	case 'P':
		if (!tab || pkg_specset_parse(a, strlen(a), &s, NULL)) {
			puts("invalid");
			break;
		}
		if (pkg_version_parse_any(tab, strlen(tab), &v, NULL))
			puts("invalid");
		else
			printf("%d\n",
			       pkg_specset_contains(&s, &v, line[0] == 'S'));
		pkg_specset_release(&s);
		break;
	case 'R':
		if (pkg_req_parse(a, strlen(a), &r, NULL)) {
			puts("invalid");
			break;
		}
		puts(pkg_req_format(&r, buf, sizeof(buf)) < 0 ? "nospace"
							      : buf);
		pkg_req_release(&r);
		break;
	case 'M':
		if (pkg_marker_parse(a, strlen(a), &m, NULL)) {
			puts("invalid");
			break;
		}
		x = pkg_marker_eval(m, &env, tab ? tab : "");
		if (x < 0)
			puts("error");
		else
			printf("%d\n", x);
		pkg_marker_free(m);
		break;
	default:
		puts("?");
	}
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (argc > 1 && (f = fopen(argv[1], "r"))) {
		char buf[4096];
		size_t len = fread(buf, 1, sizeof(buf), f);

		fclose(f);
		pkg_markerenv_parse(buf, len, &env);
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		query(line);
		fflush(stdout);
	}
	free(line);
	return 0;
}
