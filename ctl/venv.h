/* SPDX-License-Identifier: MIT */
/*
 * venv.h - what makes an env a venv (PEP 405): finding the base
 * interpreter, building the layout `python -m venv` makes directly in the
 * store, and fixing a mounted env for its mount path (pip's console
 * script shebangs, the files of bin/activate*). Nothing here prints.
 *
 * Threads: main thread only.
 */
#ifndef BLAST_CTL_VENV_H
#define BLAST_CTL_VENV_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct store_txn;
struct store_env;

#define VENV_SEED_KEY_MAX 255 /* store_seed_* key limit */

/* A base interpreter, as it reports itself. */
struct venv_python {
	char exe[PATH_MAX]; /* realpath of its sys.executable */
	char pyver[16];	    /* "3.11" */
	char version[32];   /* "3.11.2" */
};

/*
 * Find and run the interpreter `spec`: NULL means python3 on PATH; "X.Y"
 * means the first pythonX.Y that runs and reports X.Y, from PATH,
 * pyenv's versions, /usr/local/bin, /usr/bin or uv's pythons (pyfind.h);
 * a name without '/' is looked up on PATH; anything else is a path. It
 * must run and report a Python 3.4 or newer. On failure returns -errno
 * with one line in err saying why ("no working python3.99 found (...);
 * found: 3.11, 3.9", "'/bin/true' is not a Python interpreter: ...").
 */
int venv_python_find(const char *spec, struct venv_python *out, char *err,
		     size_t errlen);

/* The seed key of a venv with pip for py: "venv:EXE:VERSION" (the exe
 * path hashed if the key would exceed VENV_SEED_KEY_MAX). */
void venv_seed_key(const struct venv_python *py, char *buf, size_t len);

/* A short stable hex tag of key (names the seed's mount directory). */
void venv_key_tag(const char *key, char *buf, size_t len);

/*
 * Write the venv layout into e's (empty, writable) live tree, in write
 * txn t: pyvenv.cfg (home, include-system-site-packages = false,
 * version, executable), bin/python, python3, pythonX.Y -> py->exe,
 * include/, lib/pythonX.Y/site-packages/, lib64 -> lib. Fills e->python
 * and e->pyver (the caller writes the record).
 */
int venv_layout_build(struct store_txn *t, struct store_env *e,
		      const struct venv_python *py);

/*
 * In the mounted env at mnt, point every script in bin/ whose shebang
 * runs `OLD/bin/...` (`#!OLD/bin/python`, or distlib's /bin/sh wrapper
 * used for paths with spaces or too long for #!) at mnt/bin/ instead,
 * writing the wrapper form where mnt needs it. Returns the number of
 * files rewritten, or -errno with the file's name in failed.
 */
int venv_shebangs_fix(const char *mnt, const char *old, char *failed,
		      size_t flen);

/* Make dir/name hold exactly data with permissions mode: left alone when
 * it already does (nothing to seal), else replaced through a temporary
 * file and a rename. -errno. */
int venv_file_update(const char *dir, const char *name, const char *data,
		     size_t len, mode_t mode);

#endif
