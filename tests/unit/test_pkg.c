/* SPDX-License-Identifier: MIT */
/*
 * test_pkg.c - blastpkg's contract: PEP 440 normalization and the
 * canonical ordering, every specifier operator with wildcards, local
 * versions and pre-releases, PEP 508 requirements and markers, METADATA
 * and requires.txt, the record, `pip check` lines, and bad input.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg.h"

static struct pkg_version V(const char *s) {
	struct pkg_version v;

	cr_assert_eq(pkg_version_parse(s, strlen(s), &v, NULL), 0,
		     "'%s' should parse", s);
	return v;
}

static bool
contains(const char *spec, const char *ver, bool pre)
{
	struct pkg_specset s;
	struct pkg_version v;
	bool r;

	cr_assert_eq(pkg_specset_parse(spec, strlen(spec), &s, NULL), 0,
		     "'%s' should parse", spec);
	cr_assert_eq(pkg_version_parse_any(ver, strlen(ver), &v, NULL), 0);
	r = pkg_specset_contains(&s, &v, pre);
	pkg_specset_release(&s);
	return r;
}

static struct pkg_markerenv linux311(void)
{
	static const char text[] =
	    "python_version=3.11\npython_full_version=3.11.2\n"
	    "os_name=posix\nsys_platform=linux\nplatform_release=6.1.0\n"
	    "platform_system=Linux\nplatform_version=#1 SMP\n"
	    "platform_machine=x86_64\nplatform_python_implementation=CPython\n"
	    "implementation_name=cpython\nimplementation_version=3.11.2\n";
	struct pkg_markerenv env;

	cr_assert_eq(pkg_markerenv_parse(text, sizeof(text) - 1, &env), 0);
	return env;
}

static int marker(const char *m, const char *extra)
{
	struct pkg_markerenv env = linux311();
	struct pkg_marker *mk;
	char err[PKG_ERR_LEN];
	int r;

	cr_assert_eq(pkg_marker_parse(m, strlen(m), &mk, err), 0, "%s: %s", m,
		     err);
	r = pkg_marker_eval(mk, &env, extra);
	pkg_marker_free(mk);
	return r;
}

Test(pkg, versions_normalize_as_pep440_says)
{
	static const char *const cases[][2] = {
	    {"1.0", "1.0"},
	    {"v1.0", "1.0"},
	    {" 1.0\n", "1.0"},
	    {"1.0-alpha.1", "1.0a1"},
	    {"1.0.beta2", "1.0b2"},
	    {"1.0c1", "1.0rc1"},
	    {"1.0pre", "1.0rc0"},
	    {"1.0preview_3", "1.0rc3"},
	    {"1.0-1", "1.0.post1"},
	    {"1.0rev", "1.0.post0"},
	    {"1.0_r2", "1.0.post2"},
	    {"1.0-dev", "1.0.dev0"},
	    {"1!2.0.POST3.DEV4", "1!2.0.post3.dev4"},
	    {"01.002", "1.2"},
	    {"1.0+Ubuntu-1_2", "1.0+ubuntu.1.2"},
	    {"1.0+007", "1.0+7"},
	    {"0!1.0", "1.0"},
	};
	size_t k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		cr_expect_str_eq(V(cases[k][0]).str, cases[k][1], "for '%s'",
				 cases[k][0]);
}

Test(pkg, invalid_versions_are_refused_or_legacy)
{
	static const char *const bad[] = {"",
					  "1.0-",
					  "1..0",
					  "1.0+",
					  "a1",
					  "1.0+a..b",
					  "1.0.*",
					  "!1",
					  "1!",
					  "1.0 a1",
					  "99999999999999999999"};
	struct pkg_version v;
	char err[PKG_ERR_LEN];
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		cr_expect_eq(pkg_version_parse(bad[k], strlen(bad[k]), &v, err),
			     -EINVAL, "'%s' should be refused", bad[k]);
	cr_assert_eq(pkg_version_parse_any("1.0-legacy", 10, &v, NULL), 0);
	cr_expect(v.legacy);
	cr_expect_lt(pkg_version_cmp(&v, &(struct pkg_version){0}), 1);
	cr_expect_lt(pkg_version_cmp(&v, &(struct pkg_version[]){V("0")}[0]),
		     0);
}

/* The ordering example from PEP 440's "Summary of permitted suffixes and
 * relative ordering". */
Test(pkg, canonical_ordering_of_pep440)
{
	static const char *const order[] = {
	    "1.dev0",
	    "1.0.dev456",
	    "1.0a1",
	    "1.0a2.dev456",
	    "1.0a12.dev456",
	    "1.0a12",
	    "1.0b1.dev456",
	    "1.0b2",
	    "1.0b2.post345.dev456",
	    "1.0b2.post345",
	    "1.0rc1.dev456",
	    "1.0rc1",
	    "1.0",
	    "1.0+abc.5",
	    "1.0+abc.7",
	    "1.0+5",
	    "1.0.post456.dev34",
	    "1.0.post456",
	    "1.0.15",
	    "1.1.dev1",
	    "1!0.1",
	};
	size_t n = sizeof(order) / sizeof(order[0]), i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			struct pkg_version a = V(order[i]), b = V(order[j]);
			int c = pkg_version_cmp(&a, &b);

			cr_expect_eq(c, (i > j) - (i < j), "%s vs %s: %d",
				     order[i], order[j], c);
		}
}

Test(pkg, release_trailing_zeros_are_equal)
{
	struct pkg_version a = V("1.0"), b = V("1.0.0"), c = V("1");

	cr_expect_eq(pkg_version_cmp(&a, &b), 0);
	cr_expect_eq(pkg_version_cmp(&a, &c), 0);
	cr_expect_str_eq(a.str, "1.0");
}

Test(pkg, every_operator)
{
	cr_expect(contains("==1.0", "1.0.0", false));
	cr_expect(!contains("==1.0", "1.0.1", false));
	cr_expect(contains("!=1.0", "1.0.1", false));
	cr_expect(!contains("!=1.0", "1.0", false));
	cr_expect(contains("<=1.0", "1.0", false));
	cr_expect(!contains("<=1.0", "1.0.post1", false));
	cr_expect(contains(">=1.0", "1.0", false));
	cr_expect(contains("<2", "1.9", false));
	cr_expect(!contains("<2", "2.0", false));
	cr_expect(contains(">1", "1.1", false));
	cr_expect(!contains(">1", "1.0", false));
	cr_expect(contains("~=2.2", "2.9", false));
	cr_expect(!contains("~=2.2", "3.0", false));
	cr_expect(!contains("~=2.2", "2.1", false));
	cr_expect(contains("~=1.4.5", "1.4.9", false));
	cr_expect(!contains("~=1.4.5", "1.5.0", false));
	cr_expect(contains("~=2.2.post3", "2.3", false));
	cr_expect(contains("~=1.4.5a4", "1.4.5", false));
	cr_expect(contains("===1.0", "1.0", false));
	cr_expect(!contains("===1.0", "1.0.0", false));
	cr_expect(contains("===foobar", "FooBar", false));
	cr_expect(contains(">=1.0, <2.0, !=1.5.*", "1.4", false));
	cr_expect(!contains(">=1.0, <2.0, !=1.5.*", "1.5.2", false));
	cr_expect(contains("", "7", false));
}

Test(pkg, wildcards)
{
	cr_expect(contains("==1.*", "1.9.9", false));
	cr_expect(contains("==1.0.*", "1.0", false));
	cr_expect(contains("==1.0.*", "1.0.0.1", false));
	cr_expect(!contains("==1.0.*", "1.1", false));
	cr_expect(contains("==1.0.*", "1.0.post1", false));
	cr_expect(contains("==1.0.*", "1.0+local", false));
	cr_expect(contains("!=1.1.*", "1.0", false));
	cr_expect(!contains("!=1.1.*", "1.1.3", false));
	cr_expect(contains("==2.*", "2.0a1", true));
	/* packaging splits the text as written: "v1.0" never matches */
	cr_expect(!contains("==v1.0.*", "1.0", false));
}

Test(pkg, local_versions)
{
	cr_expect(contains("==1.0", "1.0+local.7", false));
	cr_expect(contains("==1.0+local.7", "1.0+local.7", false));
	cr_expect(!contains("==1.0+local.7", "1.0", false));
	cr_expect(!contains("==1.0+local.7", "1.0+local.8", false));
	cr_expect(contains("<=1.0", "1.0+local", false));
	cr_expect(contains(">=1.0", "1.0+local", false));
	cr_expect(!contains(">1.0", "1.0+local", false));
	cr_expect(contains("!=1.0+a", "1.0+b", false));
	struct pkg_specset s;
	cr_expect_eq(pkg_specset_parse(">=1.0+l", 7, &s, NULL), -EINVAL);
	cr_expect_eq(pkg_specset_parse("==1.0+l.*", 9, &s, NULL), -EINVAL);
}

Test(pkg, pre_releases)
{
	/* pip check allows pre-releases of installed versions */
	cr_expect(contains(">=1.0", "2.0a1", true));
	cr_expect(!contains(">=1.0", "2.0a1", false));
	cr_expect(contains(">=1.0a1", "2.0b1", false));
	cr_expect(contains("", "1.0.dev1", true));
	/* <V excludes V's own pre-releases unless V is one */
	cr_expect(!contains("<2.0", "2.0a1", true));
	cr_expect(contains("<2.0", "1.9a1", true));
	cr_expect(contains("<2.0rc1", "2.0b1", true));
	/* >V excludes V's post-releases unless V is one */
	cr_expect(!contains(">1.0", "1.0.post1", true));
	cr_expect(contains(">1.0.post1", "1.0.post2", true));
	cr_expect(contains(">1.0", "1.1.post1", true));
	/* legacy versions match only === */
	cr_expect(!contains(">=0", "1.0-legacy", true));
	cr_expect(contains("===1.0-legacy", "1.0-legacy", true));
}

Test(pkg, invalid_specifiers)
{
	static const char *const bad[] = {
	    "1.0",    "=1.0",	"~=1", "==",	  ">=1.*",
	    "<1.0+x", "== 1 0", ">=a", "~=1.0+x", "!==1.0"};
	struct pkg_specset s;
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		cr_expect_eq(
		    pkg_specset_parse(bad[k], strlen(bad[k]), &s, NULL),
		    -EINVAL, "'%s' should be refused", bad[k]);
}

static void req_is(const char *in, const char *printed)
{
	char buf[1024], err[PKG_ERR_LEN];
	struct pkg_req r;

	cr_assert_eq(pkg_req_parse(in, strlen(in), &r, err), 0, "%s: %s", in,
		     err);
	cr_expect_gt(pkg_req_format(&r, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, printed, "for '%s'", in);
	pkg_req_release(&r);
}

Test(pkg, requirements_print_as_packaging)
{
	req_is("Foo_Bar", "Foo_Bar");
	req_is("name [b, a, b] (>=1.0, <2)", "name[a,b]<2,>=1.0");
	req_is("name>=1.0 ; python_version<'3.8'",
	       "name>=1.0; python_version < \"3.8\"");
	req_is("name @ https://example.com/x.whl ; os_name=='posix'",
	       "name@ https://example.com/x.whl ; os_name == \"posix\"");
	req_is("n ; (os_name == 'x')", "n; os_name == \"x\"");
}

Test(pkg, requirement_fields)
{
	struct pkg_req r;
	const char *s = "A.b-C_d[x] ~= 1.4 ; extra == 'x'";

	cr_assert_eq(pkg_req_parse(s, strlen(s), &r, NULL), 0);
	cr_expect_str_eq(r.name, "A.b-C_d");
	cr_expect_str_eq(r.norm, "a-b-c-d");
	cr_expect_eq(r.nextras, 1);
	cr_expect_eq(r.specs.n, 1);
	cr_expect_eq(r.specs.v[0].op, PKG_OP_COMPAT);
	cr_expect_not_null(r.marker);
	pkg_req_release(&r);
}

Test(pkg, invalid_requirements)
{
	static const char *const bad[] = {"",
					  "-name",
					  "name-",
					  "name[",
					  "name (>=1",
					  "name>=1,,<2",
					  "name ;",
					  "name ; os_name",
					  "name @ ",
					  "name @ notaurl",
					  "name ; python_version > '3' and",
					  "name extra"};
	char err[PKG_ERR_LEN];
	struct pkg_req r;
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err[0] = 0;
		cr_expect_eq(pkg_req_parse(bad[k], strlen(bad[k]), &r, err),
			     -EINVAL, "'%s' should be refused", bad[k]);
		cr_expect_neq(err[0], 0, "'%s' needs a reason", bad[k]);
	}
}

/* Found by fuzz_marker: a NUL inside a URL printed a shorter string. */
Test(pkg, nul_bytes_are_refused)
{
	static const char url[] = "n @ https://\0\0`p\0\x06\xffWx.org/n.whl";
	static const char mk[] = "os_name == 'a\0b'";
	struct pkg_marker *m;
	struct pkg_req r;

	cr_expect_eq(pkg_req_parse(url, sizeof(url) - 1, &r, NULL), -EINVAL);
	cr_expect_eq(pkg_marker_parse(mk, sizeof(mk) - 1, &m, NULL), -EINVAL);
}

Test(pkg, names_normalize_per_pep503)
{
	char out[PKG_NAME_LEN];

	cr_assert_eq(pkg_name_normalize("Foo.._-Bar_baz", 14, out, sizeof(out)),
		     11);
	cr_expect_str_eq(out, "foo-bar-baz");
	cr_expect(pkg_name_valid("a.b", 3));
	cr_expect(!pkg_name_valid("a.", 2));
	cr_expect(!pkg_name_valid("", 0));
	cr_expect_eq(pkg_name_normalize("abcdef", 6, out, 4), -ENAMETOOLONG);
}

Test(pkg, markers_evaluate)
{
	cr_expect_eq(marker("python_version >= '3.8'", ""), 1);
	cr_expect_eq(marker("python_version < '3.8'", ""), 0);
	cr_expect_eq(marker("python_version > '3.10'", ""), 1);
	cr_expect_eq(marker("python_full_version == '3.11.*'", ""), 1);
	cr_expect_eq(
	    marker("sys_platform == 'linux' and os_name == 'posix'", ""), 1);
	cr_expect_eq(marker("sys_platform == 'win32' or platform_machine == "
			    "'x86_64'",
			    ""),
		     1);
	cr_expect_eq(marker("platform_machine in 'x86_64 aarch64'", ""), 1);
	cr_expect_eq(marker("'arm' not in platform_machine", ""), 1);
	cr_expect_eq(marker("platform_system == \"Linux\"", ""), 1);
	cr_expect_eq(marker("implementation_name == 'cpython'", ""), 1);
	cr_expect_eq(marker("platform_python_implementation != 'PyPy'", ""), 1);
	cr_expect_eq(marker("implementation_version >= '3.11'", ""), 1);
	cr_expect_eq(marker("os.name == 'posix'", ""), 1);
	cr_expect_eq(marker("'3.8' <= python_version", ""), 1);
	cr_expect_eq(marker("extra == 'test'", ""), 0);
	cr_expect_eq(marker("extra == 'test'", "test"), 1);
	cr_expect_eq(marker("(python_version < '3' or os_name == 'nt') and "
			    "extra == ''",
			    ""),
		     0);
	/* and binds tighter than or */
	cr_expect_eq(marker("os_name == 'nt' and os_name == 'nt' or "
			    "os_name == 'posix'",
			    ""),
		     1);
	/* ~= against text that is no version cannot be compared */
	cr_expect_eq(marker("python_version ~= 'abc'", ""), -EINVAL);
}

Test(pkg, markers_print_as_packaging)
{
	const char *in = "((os_name=='nt')) or (a_b=='x' and (c=='y'))";
	struct pkg_marker *m;
	char buf[256];

	/* unknown variables are refused */
	cr_expect_eq(pkg_marker_parse(in, strlen(in), &m, NULL), -EINVAL);
	in = "((os_name=='nt')) or (extra=='x' and (os_name=='y'))";
	cr_assert_eq(pkg_marker_parse(in, strlen(in), &m, NULL), 0);
	cr_expect_gt(pkg_marker_format(m, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "os_name == \"nt\" or (extra == \"x\" and "
			      "os_name == \"y\")");
	cr_expect_eq(pkg_marker_format(m, buf, 8), -ENOSPC);
	pkg_marker_free(m);
}

Test(pkg, deeply_nested_markers_are_refused)
{
	size_t depth = 100000, k;
	char *s = malloc(depth * 2 + 32), err[PKG_ERR_LEN];
	struct pkg_marker *m;
	size_t o = 0;

	for (k = 0; k < depth; k++)
		s[o++] = '(';
	o += (size_t)snprintf(s + o, 32, "os_name=='x'");
	for (k = 0; k < depth; k++)
		s[o++] = ')';
	cr_expect_eq(pkg_marker_parse(s, o, &m, err), -EINVAL);
	cr_expect(strstr(err, "deeply") != NULL, "%s", err);
	free(s);
}

static const char metadata[] = "Metadata-Version: 2.1\r\n"
			       "Name: Foo_Bar\n"
			       "Version: 1.0-1\n"
			       "Summary: a long\n"
			       "  folded summary\n"
			       "Requires-Dist: idna (>=2.5,\n"
			       "\t<4)\n"
			       "requires-dist: certifi ; extra == 'ssl'\n"
			       "Provides-Extra: ssl\n"
			       "Name: ignored\n"
			       "\n"
			       "Requires-Dist: not-a-header-this-is-the-body\n";

Test(pkg, metadata_headers)
{
	struct pkg_meta m;
	char err[PKG_ERR_LEN];

	cr_assert_eq(pkg_meta_parse(metadata, sizeof(metadata) - 1, &m, err), 0,
		     "%s", err);
	cr_expect_str_eq(m.name, "Foo_Bar");
	cr_expect_str_eq(m.version, "1.0-1");
	cr_assert_eq(m.nrequires, 2);
	cr_expect_str_eq(m.requires[0], "idna (>=2.5,\t<4)");
	cr_expect_str_eq(m.requires[1], "certifi ; extra == 'ssl'");
	cr_assert_eq(m.nextras, 1);
	cr_expect_str_eq(m.extras[0], "ssl");
	pkg_meta_release(&m);
}

Test(pkg, metadata_bad_input)
{
	static const char bad_utf8[] = "Name: x\nVersion: \xff\xfe\n";
	static const char nul[] = "Name: x\0\nVersion: 1\n";
	char err[PKG_ERR_LEN], *big;
	struct pkg_meta m;
	size_t k, n = 8u << 20;

	cr_expect_eq(pkg_meta_parse(bad_utf8, sizeof(bad_utf8) - 1, &m, err),
		     -EINVAL);
	cr_expect(strstr(err, "UTF-8") != NULL, "%s", err);
	cr_expect_eq(pkg_meta_parse(nul, sizeof(nul) - 1, &m, err), -EINVAL);
	/* garbage without a header: parsed as an empty header block */
	cr_expect_eq(pkg_meta_parse("\x01\x02garbage", 9, &m, err), 0);
	cr_expect_null(m.name);
	pkg_meta_release(&m);
	/* a huge file of continuation lines is linear, not a hang */
	big = malloc(n);
	memcpy(big, "Requires-Dist: a", 16);
	for (k = 16; k < n; k++)
		big[k] = k % 2 ? '\n' : ' ';
	cr_expect_eq(pkg_meta_parse(big, n, &m, err), 0);
	cr_expect_eq(m.nrequires, 1);
	pkg_meta_release(&m);
	free(big);
}

Test(pkg, requires_txt_sections)
{
	static const char txt[] = "six>=1.0\n"
				  "# a comment\n\n"
				  "[:python_version < \"3\"]\n"
				  "enum34\n"
				  "[Test Extra]\n"
				  "pytest\n"
				  "[socks:sys_platform == \"win32\"]\n"
				  "win-inet-pton\n";
	struct pkg_meta m = {0};

	cr_assert_eq(pkg_requires_txt_parse(txt, sizeof(txt) - 1, &m, NULL), 0);
	cr_assert_eq(m.nrequires, 4);
	cr_expect_str_eq(m.requires[0], "six>=1.0");
	cr_expect_str_eq(m.requires[1], "enum34 ; python_version < \"3\"");
	cr_expect_str_eq(m.requires[2], "pytest ; extra == \"test_extra\"");
	cr_expect_str_eq(m.requires[3],
			 "win-inet-pton ; (sys_platform == \"win32\") and "
			 "extra == \"socks\"");
	cr_expect_eq(m.nextras, 2);
	pkg_meta_release(&m);
}

Test(pkg, record_round_trip)
{
	struct pkg_meta m;
	struct pkg_dist d, e;
	char *rec;
	size_t len;

	cr_assert_eq(pkg_meta_parse(metadata, sizeof(metadata) - 1, &m, NULL),
		     0);
	cr_assert_eq(pkg_dist_from_meta(&m, "Foo_Bar-1.0.post1.dist-info", &d),
		     0);
	pkg_meta_release(&m);
	cr_assert_eq(pkg_record_encode(&d, &rec, &len), 0);
	cr_assert_eq(pkg_record_decode(rec, len, &e), 0);
	cr_expect_str_eq(e.name, "Foo_Bar");
	cr_expect_str_eq(e.norm, "foo-bar");
	cr_expect_str_eq(e.version, "1.0-1");
	cr_expect_str_eq(e.path, "Foo_Bar-1.0.post1.dist-info");
	cr_expect_eq(e.nrequires, 2);
	cr_expect_eq(e.nextras, 1);
	pkg_dist_release(&e);
	cr_expect_eq(pkg_record_decode("garbage", 7, &e), -EINVAL);
	cr_expect_eq(pkg_record_decode(rec, 5, &e), -EINVAL);
	free(rec);
	pkg_dist_release(&d);
}

Test(pkg, dist_name_falls_back_to_the_directory)
{
	struct pkg_meta m = {0};
	struct pkg_dist d;

	cr_assert_eq(pkg_dist_from_meta(&m, "zope.interface-5.0.egg-info", &d),
		     0);
	cr_expect_str_eq(d.norm, "zope-interface");
	pkg_dist_release(&d);
	cr_assert_eq(pkg_dist_from_meta(&m, "six.egg-info", &d), 0);
	cr_expect_str_eq(d.norm, "six");
	pkg_dist_release(&d);
}

struct lines {
	char buf[4096];
	size_t n;
};

static int collect(void *arg, const struct pkg_problem *p)
{
	struct lines *l = arg;
	size_t o = strlen(l->buf);

	snprintf(l->buf + o, sizeof(l->buf) - o, "%s\n", p->line);
	l->n++;
	return 0;
}

static struct pkg_dist mkdist(const char *name, const char *version,
			      const char *const *reqs)
{
	struct pkg_dist d = {0};
	char norm[PKG_NAME_LEN];

	pkg_name_normalize(name, strlen(name), norm, sizeof(norm));
	d.name = strdup(name);
	d.norm = strdup(norm);
	d.version = strdup(version);
	d.path = strdup("x.dist-info");
	for (; reqs && *reqs; reqs++)
		pkg_strv_push(&d.requires, &d.nrequires, *reqs, strlen(*reqs));
	return d;
}

Test(pkg, check_reports_as_pip_does)
{
	static const char *const a[] = {"B>=2", "c-d", "e ; python_version<'3'",
					"f ; extra == 'x'", NULL};
	static const char *const b[] = {"Zed", "A[x]>=1; os_name == 'posix'",
					NULL};
	struct pkg_markerenv env = linux311();
	struct pkg_dist d[3];
	struct lines l = {{0}, 0};
	long n;
	size_t k;

	d[0] = mkdist("A", "1.0", a);
	d[1] = mkdist("b", "1.0-1", b);
	d[2] = mkdist("b", "9", NULL); /* a duplicate: the first wins */
	n = pkg_check(d, 3, &env, collect, &l);
	cr_expect_eq(n, 3);
	cr_expect_str_eq(l.buf,
			 "a 1.0 requires c-d, which is not installed.\n"
			 "b 1.0.post1 requires zed, which is not installed.\n"
			 "a 1.0 has requirement B>=2, but you have b "
			 "1.0.post1.\n");
	for (k = 0; k < 3; k++)
		pkg_dist_release(&d[k]);
}

Test(pkg, check_bad_requirement_marks_dist_broken)
{
	static const char *const a[] = {"ok", "not a requirement!", NULL};
	static const char *const b[] = {"a", NULL};
	struct pkg_markerenv env = linux311();
	struct pkg_dist d[3];
	struct lines l = {{0}, 0};

	d[0] = mkdist("a", "1", a);
	d[1] = mkdist("b", "1", b);
	d[2] = mkdist("ok", "1", NULL);
	cr_expect_eq(pkg_check(d, 3, &env, collect, &l), 2);
	cr_expect(strstr(l.buf, "Error parsing requirements for a: ") == l.buf,
		  "%s", l.buf);
	cr_expect(strstr(l.buf, "b 1 requires a, which is not installed.\n"),
		  "%s", l.buf);
	for (size_t k = 0; k < 3; k++)
		pkg_dist_release(&d[k]);
}

struct rf {
	char buf[2048];
};

static int rf_line(void *arg, enum pkg_reqfile_kind kind, size_t lineno,
		   const char *text)
{
	struct rf *r = arg;
	size_t o = strlen(r->buf);

	snprintf(r->buf + o, sizeof(r->buf) - o, "%d:%zu:%s\n", (int)kind,
		 lineno, text);
	return 0;
}

Test(pkg, requirements_files_as_pip_reads_them)
{
	static const char txt[] = "# top comment\n"
				  "a>=1 # trailing\n"
				  "b==2 \\\n"
				  "  --hash=sha256:x\n"
				  "url#frag-is-not-a-comment\n"
				  "-r other.txt\n"
				  "--requirement=third.txt\n"
				  "-cconstraints.txt\n"
				  "--index-url https://example.org\n"
				  "-e ./local\n"
				  "\n"
				  "c ; python_version < '3'\r\n";
	struct rf r = {""};

	cr_assert_eq(pkg_reqfile_parse(txt, sizeof(txt) - 1, rf_line, &r), 0);
	cr_expect_str_eq(r.buf, "0:2:a>=1\n"
				"0:3:b==2\n"
				"0:5:url#frag-is-not-a-comment\n"
				"1:6:other.txt\n"
				"1:7:third.txt\n"
				"2:8:constraints.txt\n"
				"0:12:c ; python_version < '3'\n");
	cr_expect_eq(pkg_reqfile_parse("\xff", 1, rf_line, &r), -EINVAL);
}
