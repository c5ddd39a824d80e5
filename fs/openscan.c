/* SPDX-License-Identifier: MIT */
/*
 * openscan.c - which of the mount's files are open for writing right now.
 * Without OPEN and RELEASE (io.c) the kernel does not tell blastfs, so it
 * asks /proc as lsof does: every process's /proc/PID/fdinfo/FD names the
 * open file's mount (mnt_id), inode number (ino: our file id) and flags.
 * Nothing here touches the mount itself but once, to learn its mount id
 * (an O_PATH open of the mountpoint: no FUSE request), and never from a
 * request loop thread. Used where "still being written" matters: a
 * package's METADATA counts once closed (pkg.c), and a snapshot load
 * refuses while files are open for writing (snap.c). Processes in other
 * pid namespaces are not seen.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_internal.h"

/* Parse fdinfo text: flags (octal), mnt_id, ino. */
static bool fdinfo_parse(char *buf, unsigned *flags, int *mnt, uint64_t *ino)
{
	bool f = false, m = false, i = false;
	char *save = NULL;

	for (char *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "flags:", 6)) {
			*flags = (unsigned)strtoul(line + 6, NULL, 8);
			f = true;
		} else if (!strncmp(line, "mnt_id:", 7)) {
			*mnt = (int)strtol(line + 7, NULL, 10);
			m = true;
		} else if (!strncmp(line, "ino:", 4)) {
			*ino = strtoull(line + 4, NULL, 10);
			i = true;
		}
	}
	return f && m && i;
}

static int read_fdinfo(int dirfd, const char *name, unsigned *flags, int *mnt,
		       uint64_t *ino)
{
	char buf[512];
	ssize_t got;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return -EIO;
	buf[got] = '\0';
	return fdinfo_parse(buf, flags, mnt, ino) ? 0 : -ENOENT;
}

int fs_mount_id(struct fs *fs)
{
	char name[32];
	unsigned flags;
	uint64_t ino;
	int mnt = -1, fd, dir, err;

	mnt = atomic_load(&fs->mnt_id);
	if (mnt > 0)
		return mnt;
	fd = open(fs->opt->mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = open("/proc/self/fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	snprintf(name, sizeof(name), "%d", fd);
	err = read_fdinfo(dir, name, &flags, &mnt, &ino);
	close(dir);
	close(fd);
	if (err)
		return err;
	atomic_store(&fs->mnt_id, mnt);
	return mnt;
}

static int add(struct fs_wopen *w, uint64_t ino)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->ino[i] == ino)
			return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		uint64_t *p = realloc(w->ino, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		w->ino = p;
		w->cap = cap;
	}
	w->ino[w->n++] = ino;
	return 0;
}

/* Append "PATH (pid PID COMM)" to w->who when it asks for names. */
static void describe(struct fs_wopen *w, const char *pid, const char *fd)
{
	char path[PATH_MAX], comm[64] = "", file[64];
	size_t have = w->who ? strlen(w->who) : 0;
	ssize_t n;
	FILE *f;

	if (!w->who || have + 1 >= w->wholen)
		return;
	snprintf(file, sizeof(file), "/proc/%s/fd/%s", pid, fd);
	n = readlink(file, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	snprintf(file, sizeof(file), "/proc/%s/comm", pid);
	f = fopen(file, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(w->who + have, w->wholen - have, "%s%s (pid %s%s%s)",
		 have ? ", " : "", *path ? path : "?", pid, *comm ? " " : "",
		 comm);
}

/* One process's descriptors. */
static int scan_pid(const char *pid, int mnt, struct fs_wopen *w)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo", pid);
	d = opendir(path);
	if (!d)
		return 0; /* gone, or not ours to see */
	while (!err && (de = readdir(d))) {
		unsigned flags;
		uint64_t ino;
		int m;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (read_fdinfo(dirfd(d), de->d_name, &flags, &m, &ino))
			continue; /* closed meanwhile */
		if (m != mnt || (flags & O_ACCMODE) == O_RDONLY ||
		    (flags & O_PATH))
			continue;
		err = add(w, ino);
		if (!err)
			describe(w, pid, de->d_name);
	}
	closedir(d);
	return err;
}

int fs_wopen_scan(struct fs *fs, struct fs_wopen *out)
{
	char self[32];
	struct dirent *de;
	DIR *d;
	int mnt = fs_mount_id(fs), err = 0;
	char *who = out->who;
	size_t wholen = out->wholen;

	memset(out, 0, sizeof(*out));
	out->who = who;
	out->wholen = wholen;
	if (who && wholen)
		who[0] = '\0';
	if (mnt < 0)
		return mnt;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	d = opendir("/proc");
	if (!d)
		return -errno;
	while (!err && (de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]) &&
		    strcmp(de->d_name, self))
			err = scan_pid(de->d_name, mnt, out);
	closedir(d);
	if (err)
		fs_wopen_release(out);
	return err;
}

bool fs_wopen_has(const struct fs_wopen *w, uint64_t ino)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->ino[i] == ino)
			return true;
	return false;
}

void fs_wopen_release(struct fs_wopen *w)
{
	free(w->ino);
	w->ino = NULL;
	w->n = w->cap = 0;
}
