/* SPDX-License-Identifier: MIT */
/*
 * venv.c - the venv side of an env: the base interpreter (asked, never
 * guessed from a file name), the layout `python -m venv` makes, written
 * straight into the store, and the two things that depend on where an
 * env is mounted: pip's console-script shebangs and bin/activate. Those
 * are fixed through the mount with plain file I/O, so the daemon sees
 * ordinary writes (the activate scripts' text is ctl/activate.c's).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "pyfind.h"
#include "store.h"
#include "venv.h"

#define SCRIPT_MAX  (1 << 20) /* bigger files in bin/ are not scripts */
#define SHEBANG_MAX 127	      /* longest #! line distlib writes */

/* Printed by the interpreter: who it really is. -E -S: no environment
 * and no site import, so a broken site-packages cannot get in the way. */
static const char probe_code[] =
    "import sys,sysconfig;print(sys.executable);"
    "print(\"%d.%d\"%sys.version_info[:2]);print(sys.version.split()[0])";

/* ---- interpreter discovery ------------------------------------------ */

static bool is_xy(const char *s)
{
	unsigned major, minor;
	int n = 0;

	return sscanf(s, "%u.%u%n", &major, &minor, &n) == 2 && !s[n] &&
	       s[0] >= '0' && s[0] <= '9';
}

/* spec -> the path to run, or a message. */
static int python_locate(const char *spec, char *path, size_t len, char *err,
			 size_t errlen)
{
	char prog[64];
	struct stat sb;

	if (spec && strchr(spec, '/')) {
		if (stat(spec, &sb) < 0) {
			snprintf(err, errlen, "interpreter '%s' not found: %s",
				 spec, strerror(errno));
			return -ENOENT;
		}
		snprintf(path, len, "%s", spec);
		return 0;
	}
	if (!spec)
		spec = "python3";
	snprintf(prog, sizeof(prog), "%s", spec);
	if (daemon_which(prog, path, len) < 0) {
		snprintf(err, errlen, "no %s on PATH", prog);
		return -ENOENT;
	}
	return 0;
}

/* Parse the probe's three lines into out. */
static int probe_parse(const char *path, char *text, struct venv_python *out,
		       char *err, size_t errlen)
{
	char *save = NULL, *exe, *xy, *full, *real;
	unsigned major = 0, minor = 0;

	exe = strtok_r(text, "\n", &save);
	xy = exe ? strtok_r(NULL, "\n", &save) : NULL;
	full = xy ? strtok_r(NULL, "\n", &save) : NULL;
	if (!full || exe[0] != '/' || !is_xy(xy) ||
	    sscanf(xy, "%u.%u", &major, &minor) != 2 ||
	    strncmp(full, xy, strlen(xy)) ||
	    strlen(full) >= sizeof(out->version)) {
		snprintf(err, errlen,
			 "'%s' is not a Python interpreter (it did not report "
			 "its executable and version)",
			 path);
		return -ENOEXEC;
	}
	if (major < 3 || (major == 3 && minor < 4)) {
		snprintf(err, errlen,
			 "'%s' is Python %s: blast needs Python 3.4 or newer",
			 path, full);
		return -ENOEXEC;
	}
	real = realpath(exe, NULL);
	if (!real) {
		snprintf(err, errlen,
			 "cannot resolve '%s' (the executable of '%s'): %s",
			 exe, path, strerror(errno));
		return -errno;
	}
	snprintf(out->exe, sizeof(out->exe), "%s", real);
	free(real);
	snprintf(out->pyver, sizeof(out->pyver), "%u.%u", major, minor);
	snprintf(out->version, sizeof(out->version), "%s", full);
	return 0;
}

/* Run path and check what it reports. */
static int python_probe(const char *path, struct venv_python *out, char *err,
			size_t errlen)
{
	char text[PATH_MAX + 128], errout[1024], line[512];
	const char *argv[] = {path, "-E", "-S", "-c", probe_code, NULL};
	struct daemon_exec x = {
	    .argv = argv,
	    .out = text,
	    .outlen = sizeof(text),
	    .err = errout,
	    .errlen = sizeof(errout),
	    .timeout_ms = 60 * 1000,
	};
	int r;

	r = daemon_exec_run(&x);
	if (r == -ETIMEDOUT) {
		snprintf(err, errlen, "interpreter '%s' did not answer in 60 s",
			 path);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot run interpreter '%s': %s", path,
			 strerror(-r));
		return r;
	}
	if (!WIFEXITED(x.status) || WEXITSTATUS(x.status) != 0) {
		daemon_last_line(errout, NULL, line, sizeof(line));
		snprintf(err, errlen,
			 "'%s' is not a working Python interpreter%s%s", path,
			 *line ? ": " : "", line);
		return -ENOEXEC;
	}
	return probe_parse(path, text, out, err, errlen);
}

/*
 * "X.Y": the first candidate (pyfind.h) that runs and reports X.Y. A
 * pyenv shim of a version that is not selected fails, so PATH alone is
 * not enough.
 */
static int python_find_xy(const char *xy, struct venv_python *out, char *err,
			  size_t errlen)
{
	struct pyfind_list l = {0};
	char found[256], why[512];
	size_t i;
	int r;

	r = pyfind_candidates(xy, &l);
	for (i = 0; !r && i < l.n; i++) {
		if (python_probe(l.paths[i], out, why, sizeof(why)) == 0 &&
		    !strcmp(out->pyver, xy))
			break;
	}
	if (!r && i == l.n)
		r = -ENOENT;
	pyfind_list_release(&l);
	if (r == -ENOENT) {
		pyfind_versions(found, sizeof(found));
		snprintf(
		    err, errlen,
		    "no working python%s found (looked on PATH, in pyenv's "
		    "versions, /usr/local/bin, /usr/bin and uv's "
		    "pythons); found: %s",
		    xy, *found ? found : "none");
	} else if (r < 0) {
		snprintf(err, errlen, "cannot look for python%s: %s", xy,
			 strerror(-r));
	}
	return r;
}

int venv_python_find(const char *spec, struct venv_python *out, char *err,
		     size_t errlen)
{
	char path[PATH_MAX];
	int r;

	if (spec && is_xy(spec))
		return python_find_xy(spec, out, err, errlen);
	r = python_locate(spec, path, sizeof(path), err, errlen);
	if (r < 0)
		return r;
	return python_probe(path, out, err, errlen);
}

/* FNV-1a, 64 bits: stable names, not security. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

void venv_seed_key(const struct venv_python *py, char *buf, size_t len)
{
	int n = snprintf(buf, len, "venv:%s:%s", py->exe, py->version);

	if (n < 0 || (size_t)n >= len || n > VENV_SEED_KEY_MAX)
		snprintf(buf, len, "venv:#%016llx:%s",
			 (unsigned long long)fnv1a(py->exe), py->version);
}

void venv_key_tag(const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "%016llx", (unsigned long long)fnv1a(key));
}

/* ---- the layout, in the store --------------------------------------- */

struct layout {
	struct store_txn *t;
	struct store_env *e;
	int64_t now;
};

static int entry_init(struct layout *l, struct store_entry *ent, mode_t mode)
{
	memset(ent, 0, sizeof(*ent));
	ent->a.mode = mode;
	ent->a.uid = getuid();
	ent->a.gid = getgid();
	ent->a.atime_ns = ent->a.mtime_ns = ent->a.ctime_ns = l->now;
	return store_fid_new(l->t, &ent->a.fid);
}

static int add_dir(struct layout *l, uint64_t parent, const char *name,
		   uint64_t *out)
{
	struct store_entry ent;
	int r = entry_init(l, &ent, S_IFDIR | 0755);

	if (!r)
		r = store_dir_new(l->t, &ent.a, l->e->gen, &ent.ref);
	ent.payload = STORE_P_TAB;
	if (!r)
		r = store_dir_put(l->t, parent, name, strlen(name), &ent);
	if (!r && out)
		*out = ent.ref;
	return r;
}

static int add_symlink(struct layout *l, uint64_t parent, const char *name,
		       const char *target)
{
	struct store_entry ent;
	int r = entry_init(l, &ent, S_IFLNK | 0777);

	ent.a.size = strlen(target);
	ent.payload = STORE_P_INLINE;
	ent.inline_len = (uint32_t)ent.a.size;
	ent.inline_data = target;
	return r ? r : store_dir_put(l->t, parent, name, strlen(name), &ent);
}

static int add_file(struct layout *l, uint64_t parent, const char *name,
		    const char *data, size_t len)
{
	struct store_entry ent;
	int r = entry_init(l, &ent, S_IFREG | 0644);

	ent.a.size = len;
	if (!r && len > STORE_INLINE_MAX) {
		ent.payload = STORE_P_BLOB;
		r = store_blob_put(l->t, data, len, &ent.ref);
	} else if (len) {
		ent.payload = STORE_P_INLINE;
		ent.inline_len = (uint32_t)len;
		ent.inline_data = data;
	}
	return r ? r : store_dir_put(l->t, parent, name, strlen(name), &ent);
}

static int layout_bin(struct layout *l, uint64_t root,
		      const struct venv_python *py)
{
	char pyxy[32];
	uint64_t bin;
	int r;

	snprintf(pyxy, sizeof(pyxy), "python%s", py->pyver);
	r = add_dir(l, root, "bin", &bin);
	if (!r)
		r = add_symlink(l, bin, "python", py->exe);
	if (!r)
		r = add_symlink(l, bin, "python3", py->exe);
	if (!r && strcmp(pyxy, "python3"))
		r = add_symlink(l, bin, pyxy, py->exe);
	return r;
}

/* lib/pythonX.Y/site-packages, lib64 -> lib, include/ (with
 * include/pythonX.Y since 3.11, as venv's sysconfig scheme makes it). */
static int layout_lib(struct layout *l, uint64_t root,
		      const struct venv_python *py)
{
	uint64_t lib, pylib, inc;
	unsigned major = 0, minor = 0;
	char pyxy[32];
	int r;

	snprintf(pyxy, sizeof(pyxy), "python%s", py->pyver);
	sscanf(py->pyver, "%u.%u", &major, &minor);
	r = add_dir(l, root, "include", &inc);
	if (!r && (major > 3 || minor >= 11))
		r = add_dir(l, inc, pyxy, NULL);
	if (!r)
		r = add_dir(l, root, "lib", &lib);
	if (!r)
		r = add_dir(l, lib, pyxy, &pylib);
	if (!r)
		r = add_dir(l, pylib, "site-packages", NULL);
	if (!r)
		r = add_symlink(l, root, "lib64", "lib");
	return r;
}

int venv_layout_build(struct store_txn *t, struct store_env *e,
		      const struct venv_python *py)
{
	struct layout l = {t, e, 0};
	char cfg[3 * PATH_MAX], home[PATH_MAX];
	struct timespec ts;
	uint64_t root;
	int n, r;

	clock_gettime(CLOCK_REALTIME, &ts);
	l.now = (int64_t)ts.tv_sec * STORE_NS_PER_S + ts.tv_nsec;
	snprintf(home, sizeof(home), "%s", py->exe);
	n = snprintf(cfg, sizeof(cfg),
		     "home = %s\n"
		     "include-system-site-packages = false\n"
		     "version = %s\n"
		     "executable = %s\n",
		     dirname(home), py->version, py->exe);
	if (n < 0 || (size_t)n >= sizeof(cfg))
		return -ENAMETOOLONG;
	r = store_env_dir_writable(t, e, NULL, 0, &root);
	if (!r)
		r = add_file(&l, root, "pyvenv.cfg", cfg, (size_t)n);
	if (!r)
		r = layout_bin(&l, root, py);
	if (!r)
		r = layout_lib(&l, root, py);
	if (r)
		return r;
	snprintf(e->python, sizeof(e->python), "%s", py->exe);
	snprintf(e->pyver, sizeof(e->pyver), "%s", py->pyver);
	return 0;
}

/* ---- fixing a mounted env for its path ------------------------------- */

/* Replace dir/name by data (mode kept) through a temporary file and a
 * rename, so a crash never leaves half a script. */
static int file_replace(int dfd, const char *name, const char *data, size_t len,
			mode_t mode)
{
	char tmp[NAME_MAX + 1];
	int fd, r = 0;
	size_t off = 0;

	if (snprintf(tmp, sizeof(tmp), ".%.200s.blast-tmp", name) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    mode & 07777);
	if (fd < 0)
		return -errno;
	while (!r && off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!r && fchmod(fd, mode & 07777) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r)
		unlinkat(dfd, tmp, 0);
	return r;
}

static int file_slurp(int dfd, const char *name, char **out, size_t *len,
		      mode_t *mode)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat sb;
	size_t off = 0;
	char *buf;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > SCRIPT_MAX) {
		close(fd);
		return -EINVAL; /* not a script: skip */
	}
	buf = malloc((size_t)sb.st_size + 1);
	while (buf && off < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)sb.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (r) {
		free(buf);
		return r;
	}
	buf[off] = '\0';
	*out = buf;
	*len = off;
	*mode = sb.st_mode;
	return 0;
}

/*
 * If script s starts with a header running OLD/bin/PROG (`#!OLD/bin/PROG
 * [ARGS]\n`, or distlib's `#!/bin/sh\n'''exec' "OLD/bin/PROG" "$0" "$@"\n'
 * '''\n`), return the header's length and point prog at PROG (plen
 * bytes, plus ARGS for the first form); else 0.
 */
static size_t header_parse(const char *s, const char *old, const char **prog,
			   size_t *plen)
{
	static const char sh1[] = "#!/bin/sh\n'''exec' \"";
	static const char sh2[] = "\" \"$0\" \"$@\"\n' '''\n";
	size_t olen = strlen(old);
	const char *p, *end;

	if (!strncmp(s, sh1, sizeof(sh1) - 1)) {
		p = s + sizeof(sh1) - 1;
		if (strncmp(p, old, olen) || strncmp(p + olen, "/bin/", 5))
			return 0;
		*prog = p + olen + 5;
		end = strchr(*prog, '"');
		if (!end || strncmp(end, sh2, sizeof(sh2) - 1))
			return 0;
		*plen = (size_t)(end - *prog);
		return (size_t)(end - s) + sizeof(sh2) - 1;
	}
	if (strncmp(s, "#!", 2) || strncmp(s + 2, old, olen) ||
	    strncmp(s + 2 + olen, "/bin/", 5))
		return 0;
	*prog = s + 2 + olen + 5;
	end = strchr(*prog, '\n');
	if (!end)
		return 0;
	*plen = (size_t)(end - *prog);
	return (size_t)(end - s) + 1;
}

/* The new header for mnt/bin/PROG: plain #! when the kernel can run it,
 * else distlib's /bin/sh wrapper (as pip itself would write it). */
static char *header_make(const char *mnt, const char *prog, size_t plen)
{
	bool plain =
	    !strpbrk(mnt, " \t") && 2 + strlen(mnt) + 5 + plen <= SHEBANG_MAX;
	char *h = NULL;
	int n;

	if (plain)
		n = asprintf(&h, "#!%s/bin/%.*s\n", mnt, (int)plen, prog);
	else
		n = asprintf(&h,
			     "#!/bin/sh\n'''exec' \"%s/bin/%.*s\" \"$0\" "
			     "\"$@\"\n' '''\n",
			     mnt, (int)strcspn(prog, " \t\n"), prog);
	return n < 0 ? NULL : h;
}

/* 1 if rewritten, 0 if not ours to touch, -errno. */
static int shebang_fix_one(int dfd, const char *name, const char *mnt,
			   const char *old)
{
	const char *prog = NULL;
	char *buf, *head, *out;
	size_t len, hlen, plen = 0, nlen;
	mode_t mode;
	int r;

	r = file_slurp(dfd, name, &buf, &len, &mode);
	if (r == -EINVAL)
		return 0;
	if (r < 0)
		return r;
	hlen = header_parse(buf, old, &prog, &plen);
	if (!hlen) {
		free(buf);
		return 0;
	}
	head = header_make(mnt, prog, plen);
	nlen = head ? strlen(head) : 0;
	out = head ? malloc(nlen + len - hlen) : NULL;
	r = -ENOMEM;
	if (out) {
		memcpy(out, head, nlen);
		memcpy(out + nlen, buf + hlen, len - hlen);
		r = file_replace(dfd, name, out, nlen + len - hlen, mode);
	}
	free(out);
	free(head);
	free(buf);
	return r < 0 ? r : 1;
}

int venv_shebangs_fix(const char *mnt, const char *old, char *failed,
		      size_t flen)
{
	char bin[PATH_MAX];
	struct dirent *de;
	int n = 0, r = 0, dfd;
	DIR *d;

	snprintf(bin, sizeof(bin), "%s/bin", mnt);
	dfd = open(bin, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (de->d_name[0] == '.')
			continue;
		r = shebang_fix_one(dfd, de->d_name, mnt, old);
		if (r < 0) {
			snprintf(failed, flen, "%s/%s", bin, de->d_name);
			break;
		}
		n += r;
	}
	closedir(d);
	return r < 0 ? r : n;
}

/* ---- files the mount must carry (bin/activate*) ----------------------- */

int venv_file_update(const char *dir, const char *name, const char *data,
		     size_t len, mode_t mode)
{
	char *cur = NULL;
	size_t curlen = 0;
	mode_t curmode = 0;
	int dfd, r;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = file_slurp(dfd, name, &cur, &curlen, &curmode);
	if (!r && curlen == len && !memcmp(cur, data, len) &&
	    (curmode & 07777) == (mode & 07777))
		r = 0; /* already right: no write, nothing to seal */
	else
		r = file_replace(dfd, name, data, len, mode);
	free(cur);
	close(dfd);
	return r;
}
