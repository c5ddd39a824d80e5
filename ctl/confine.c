/* SPDX-License-Identifier: MIT */
/*
 * confine.c - who CMD runs as and with what rights: the parent decides
 * (sudo's caller, a user namespace for non-root) and expands the
 * policy's host paths; the child maps its user namespace and, last
 * before exec, gives up every capability and loads the seccomp filter.
 * The mounts themselves are hostfs.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine.h"
#include "policy.h"

static int paths_add(struct confine_paths *ps, const char *path)
{
	char real[PATH_MAX], **v;

	if (!realpath(path, real))
		return errno == ENOENT || errno == EACCES ? 0 : -errno;
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i], real))
			return 0;
	v = realloc(ps->v, (ps->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ps->v = v;
	v[ps->n] = strdup(real);
	if (!v[ps->n])
		return -ENOMEM;
	ps->n++;
	return 0;
}

/* The invoking user's home, for "~/" patterns, symlinks resolved. */
static void user_home(const struct confine *cf, char *buf)
{
	const struct passwd *pw;
	const char *h = getenv("HOME");

	if (cf->drop_ids || !h || *h != '/') {
		pw = getpwuid(cf->uid);
		h = pw && pw->pw_dir ? pw->pw_dir : "/nonexistent";
	}
	if (!realpath(h, buf))
		snprintf(buf, PATH_MAX, "%s", h);
}

/* Each '\n'-separated pattern of text, globbed, into ps. A writable
 * path reached through a symlink is refused (-ELOOP, the path in bad):
 * whoever can write where the symlink is could point it anywhere. */
static int patterns_expand(const struct confine *cf, const char *text,
			   bool writable, struct confine_paths *ps,
			   char bad[PATH_MAX])
{
	char pat[PATH_MAX * 2], home[PATH_MAX], real[PATH_MAX];
	glob_t g;
	int r = 0;

	user_home(cf, home);
	for (const char *s = text; text && *s && !r;) {
		size_t n = strcspn(s, "\n");

		if (s[0] == '~')
			snprintf(pat, sizeof(pat), "%s%.*s", home, (int)n - 1,
				 s + 1);
		else
			snprintf(pat, sizeof(pat), "%.*s", (int)n, s);
		s += n + (s[n] == '\n');
		if (glob(pat, GLOB_NOSORT, NULL, &g))
			continue; /* nothing matches (or no memory) */
		for (size_t i = 0; !r && i < g.gl_pathc; i++) {
			const char *m = g.gl_pathv[i];

			if (writable && realpath(m, real) &&
			    strcmp(real, m) != 0 && strcmp(m, "/") != 0) {
				snprintf(bad, PATH_MAX, "%s", m);
				r = -ELOOP;
			}
			if (!r)
				r = paths_add(ps, m);
		}
		globfree(&g);
	}
	return r;
}

static int ids_decide(struct confine *cf, char *msg, size_t len)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	char *e1 = NULL, *e2 = NULL;
	unsigned long u, g;

	cf->outer_uid = cf->uid = getuid();
	cf->outer_gid = cf->gid = getgid();
	if (geteuid() != 0) {
		cf->userns = true;
		return 0;
	}
	if (!su || !sg)
		return 0;
	u = strtoul(su, &e1, 10);
	g = strtoul(sg, &e2, 10);
	if (!*su || *e1 || !*sg || *e2 || u >= 0xffffffffu ||
	    g >= 0xffffffffu) {
		snprintf(msg, len, "invalid SUDO_UID '%s' or SUDO_GID '%s'", su,
			 sg);
		return -EINVAL;
	}
	if (u == 0)
		return 0;
	cf->drop_ids = true;
	cf->uid = (uid_t)u;
	cf->gid = (gid_t)g;
	return 0;
}

/* A FUSE mount lets only its mounter in unless mounted allow_other. */
static int mount_lets_in(const struct confine *cf, const char *mnt, char *msg,
			 size_t len)
{
	struct stat st;
	pid_t pid;
	int status = 0;

	if (!cf->drop_ids)
		return 0;
	pid = fork();
	if (pid == 0)
		_exit(setgid(cf->gid) < 0 || setuid(cf->uid) < 0 ||
		      stat(mnt, &st) < 0);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || status) {
		snprintf(msg, len,
			 "env mount '%s' does not let SUDO_UID %u in (mounted "
			 "by root without allow_other): start the env as "
			 "that user, or run without sudo",
			 mnt, (unsigned)cf->uid);
		return -EACCES;
	}
	return 0;
}

static int userns_possible(char *msg, size_t len)
{
	char buf[32] = "1";
	FILE *f = fopen("/proc/sys/user/max_user_namespaces", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '1';
		fclose(f);
	}
	f = fopen("/proc/sys/kernel/unprivileged_userns_clone", "re");
	if (f) { /* Debian's switch, where the kernel has it */
		char on[8] = "1";

		if (!fgets(on, sizeof(on), f))
			on[0] = '1';
		fclose(f);
		if (on[0] == '0')
			buf[0] = '0';
	}
	if (atol(buf) > 0)
		return 0;
	snprintf(msg, len,
		 "this machine allows no unprivileged user namespaces "
		 "(kernel.unprivileged_userns_clone or user.max_user_"
		 "namespaces is 0): run as root to be confined");
	return -ENOSYS;
}

int confine_init(struct confine *cf, const struct policy *p, const char *mnt,
		 const char *home, char *msg, size_t len)
{
	char proj[PATH_MAX], bad[PATH_MAX] = "";
	const char *base = strrchr(mnt, '/');
	int r;

	memset(cf, 0, sizeof(*cf));
	r = ids_decide(cf, msg, len);
	if (!r && cf->userns)
		r = userns_possible(msg, len);
	if (!r)
		r = mount_lets_in(cf, mnt, msg, len);
	if (r)
		return r;
	if (!getcwd(cf->cwd, sizeof(cf->cwd)))
		snprintf(cf->cwd, sizeof(cf->cwd), "/");
	snprintf(proj, sizeof(proj), "%s", mnt);
	if (base && base != mnt && !strcmp(base, "/.blast"))
		proj[base - mnt] = '\0';
	r = paths_add(&cf->writable, proj);
	if (!r)
		r = paths_add(&cf->writable, mnt);
	if (!r && p)
		r = patterns_expand(cf, p->text[POLICY_HOST_WRITABLE], true,
				    &cf->writable, bad);
	if (!r && p)
		r = patterns_expand(cf, p->text[POLICY_HOST_READONLY], false,
				    &cf->readonly, bad);
	if (!r)
		r = paths_add(&cf->hidden, home);
	if (!r && p)
		r = patterns_expand(cf, p->text[POLICY_HOST_HIDDEN], false,
				    &cf->hidden, bad);
	if (!r && p)
		r = patterns_expand(cf, p->text[POLICY_HOST_SOCKETS], false,
				    &cf->sockets, bad);
	if (r == -ELOOP)
		snprintf(msg, len,
			 "host.writable path '%s' goes through a symlink: "
			 "name its target",
			 bad);
	else if (r)
		snprintf(msg, len, "cannot expand the host paths: %s",
			 strerror(-r));
	return r;
}

void confine_release(struct confine *cf)
{
	confine_paths_free(&cf->writable);
	confine_paths_free(&cf->readonly);
	confine_paths_free(&cf->hidden);
	confine_paths_free(&cf->sockets);
}

/* ---- in the child ---------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

int confine_child_user(const struct confine *cf, char *msg, size_t len)
{
	char map[64];
	int err;

	if (!cf->userns)
		return 0;
	if (unshare(CLONE_NEWUSER) < 0) {
		err = -errno;
		snprintf(msg, len, "cannot create a user namespace: %s",
			 strerror(errno));
		return err;
	}
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)cf->outer_uid,
		 (unsigned)cf->outer_uid);
	err = write_file("/proc/self/uid_map", map);
	if (!err)
		err = write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)cf->outer_gid,
		 (unsigned)cf->outer_gid);
	if (!err)
		err = write_file("/proc/self/gid_map", map);
	if (err)
		snprintf(msg, len, "cannot map the user namespace: %s",
			 strerror(-err));
	return err;
}

static int caps_drop(const struct confine *cf)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0}};

	/* root keeps no capability across exec, nor gets them back */
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		      SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
		      SECBIT_NO_CAP_AMBIENT_RAISE |
		      SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0)
		return -errno;
	for (int cap = 0; prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0; cap++)
		;
	if (errno != EINVAL)
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	if (cf->drop_ids && (setgroups(1, &cf->gid) < 0 ||
			     setresgid(cf->gid, cf->gid, cf->gid) < 0 ||
			     setresuid(cf->uid, cf->uid, cf->uid) < 0))
		return -errno;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

/* Landlock ABI 6 (Linux 6.12) scopes: Debian 12's headers predate them,
 * so the attribute is spelled out here (its layout is the kernel ABI's:
 * the kernel takes the size it is given). */
#define SCOPE_ABI		   6
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ull << 0)

struct scope_attr {
	uint64_t handled_access_fs, handled_access_net, scoped;
};

int confine_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? -errno : (int)abi;
}

/* No connect(2) to an abstract unix socket made outside CMD's Landlock
 * domain (the host's, under --net host: D-Bus, X11 and the like; in its
 * own network namespace there are none anyway). Nothing else is
 * restricted: no filesystem or network rights are handled. Needs
 * no_new_privs. 0, or -errno. */
static int scope_abstract_sockets(void)
{
	struct scope_attr a = {0, 0, SCOPE_ABSTRACT_UNIX_SOCKET};
	int fd, err = 0;

	if (confine_landlock_abi() < SCOPE_ABI)
		return 0; /* said by run (confine.h) */
	fd = (int)syscall(SYS_landlock_create_ruleset, &a, sizeof(a), 0);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		err = -errno;
	close(fd);
	return err;
}

int confine_scope_parent(void)
{
	if (confine_landlock_abi() < SCOPE_ABI)
		return 0;
	if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return scope_abstract_sockets();
}

int confine_child_lockdown(const struct confine *cf, int *listener, char *msg,
			   size_t len)
{
	int err = caps_drop(cf);

	if (err) {
		snprintf(msg, len, "cannot drop capabilities: %s",
			 strerror(-err));
		return err;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err = -errno;
		snprintf(msg, len, "cannot set no_new_privs: %s",
			 strerror(errno));
		return err;
	}
	err = scope_abstract_sockets();
	if (err) {
		snprintf(msg, len,
			 "cannot scope abstract sockets (landlock): %s",
			 strerror(-err));
		return err;
	}
	return confine_seccomp_load(listener, msg, len);
}
