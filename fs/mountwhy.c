/* SPDX-License-Identifier: MIT */
/*
 * mountwhy.c - the FUSE mount and why it failed. libfuse and fusermount3
 * say why only on stderr (the log, once daemonized), so stderr is caught
 * in a memfd for the length of the mount: its last line is the cause
 * that reaches the starter, with the likely fix for a normal user
 * (/dev/fuse's mode, fusermount3's setuid bit, user_allow_other).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_internal.h"

#define FUSE_DEV "/dev/fuse"

/* The last non-empty line of s, without a "fuse: " or "fusermount3: "
 * prefix, into buf. */
static void last_line(const char *s, char *buf, size_t len)
{
	static const char *const prefixes[] = {"fuse: ", "fusermount3: "};
	const char *end = s + strlen(s), *start;
	size_t i;

	while (end > s && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	for (start = end; start > s && start[-1] != '\n'; start--)
		;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(start, prefixes[i], strlen(prefixes[i])))
			start += strlen(prefixes[i]);
	snprintf(buf, len, "%.*s", (int)(end - start), start);
}

/* fusermount3 where libfuse looks for it: /usr/bin, then PATH. */
static int fusermount_find(char *buf, size_t len)
{
	const char *p = getenv("PATH"), *end;
	struct stat sb;

	snprintf(buf, len, "/usr/bin/fusermount3");
	if (!stat(buf, &sb))
		return 0;
	for (; p && *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		snprintf(buf, len, "%.*s/fusermount3", (int)(end - p), p);
		if (!stat(buf, &sb))
			return 0;
	}
	return -ENOENT;
}

/* The likely fix for cause, into hint ("" if none is known). */
static void mount_hint(const char *cause, char *hint, size_t len)
{
	char fm[PATH_MAX];
	struct stat sb;

	hint[0] = '\0';
	if (strstr(cause, "user_allow_other")) {
		snprintf(hint, len,
			 "add a line 'user_allow_other' to /etc/fuse.conf (as "
			 "root) or mount without --allow-other");
	} else if (strstr(cause, "device not found") ||
		   (strstr(cause, FUSE_DEV) && stat(FUSE_DEV, &sb) < 0)) {
		snprintf(hint, len,
			 "load the fuse module ('modprobe fuse' as root)");
	} else if (strstr(cause, FUSE_DEV) && !stat(FUSE_DEV, &sb)) {
		snprintf(hint, len,
			 "%s is mode %04o, owner %u:%u; a normal user needs "
			 "read and write access to it (it is normally 0666; as "
			 "root: 'chmod 0666 %s')",
			 FUSE_DEV, (unsigned)(sb.st_mode & 07777),
			 (unsigned)sb.st_uid, (unsigned)sb.st_gid, FUSE_DEV);
	} else if (fusermount_find(fm, sizeof(fm)) < 0) {
		snprintf(hint, len,
			 "a normal user mounts through fusermount3: install "
			 "it (Debian: 'apt install fuse3')");
	} else if (geteuid() != 0 && !stat(fm, &sb) &&
		   (sb.st_uid != 0 || !(sb.st_mode & S_ISUID))) {
		snprintf(hint, len,
			 "'%s' must be setuid root for a normal user to mount "
			 "(as root: 'chown root %s; chmod u+s %s')",
			 fm, fm, fm);
	}
}

void fs_mount_why(const char *printed, char *why, size_t len)
{
	char cause[512], hint[3 * PATH_MAX + 256];

	last_line(printed, cause, sizeof(cause));
	if (!cause[0])
		snprintf(cause, sizeof(cause), "libfuse gave no reason");
	mount_hint(cause, hint, sizeof(hint));
	snprintf(why, len, "%s%s%s", cause, hint[0] ? "; " : "", hint);
}

/* Point stderr at a new memfd; the old stderr into *saved. */
static int catch_begin(int *saved, int *mfd)
{
	*mfd = memfd_create("blastfs-mount", MFD_CLOEXEC);
	if (*mfd < 0)
		return -errno;
	fflush(stderr);
	*saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (*saved < 0 || dup2(*mfd, 2) < 0) {
		if (*saved >= 0)
			close(*saved);
		close(*mfd);
		return -errno;
	}
	return 0;
}

/* Restore stderr, copy what was caught to it, and return it (malloc'd,
 * NUL-terminated; NULL if it cannot be read). */
static char *catch_end(int saved, int mfd)
{
	char *text = NULL;
	off_t n;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = lseek(mfd, 0, SEEK_END);
	if (n >= 0 && n < (1 << 20))
		text = calloc(1, (size_t)n + 1);
	if (text && pread(mfd, text, (size_t)n, 0) != n) {
		free(text);
		text = NULL;
	}
	if (text) {
		ssize_t w = write(2, text, strlen(text)); /* the log */

		(void)w;
	}
	close(mfd);
	return text;
}

int fs_mount_session(struct fs *fs, char *why, size_t len)
{
	int saved = -1, mfd = -1, err, caught;
	char *text;

	why[0] = '\0';
	caught = catch_begin(&saved, &mfd);
	err = fuse_session_mount(fs->se, fs->opt->mount) ? -EIO : 0;
	if (caught < 0) {
		if (err)
			snprintf(why, len, "see the log");
		return err;
	}
	text = catch_end(saved, mfd);
	if (err)
		fs_mount_why(text ? text : "", why, len);
	free(text);
	return err;
}
