/* SPDX-License-Identifier: MIT */
/*
 * pyfind.h - candidate interpreters for a version "X.Y": the places
 * people install Python (PATH, pyenv, the system, uv). Names only:
 * nothing is run here, so a candidate may still fail or report another
 * version; the caller tries them in order.
 *
 * Threads: main thread only (reads the environment).
 */
#ifndef BLAST_CTL_PYFIND_H
#define BLAST_CTL_PYFIND_H

#include <stdbool.h>
#include <stddef.h>

struct pyfind_list {
	char **paths; /* owned; pyfind_list_release frees */
	size_t n;
};

/*
 * Append to out, in the order to try and without repeats: every
 * pythonX.Y on PATH, $PYENV_ROOT (default ~/.pyenv)/versions/VERSION/bin,
 * newest first, /usr/local/bin, /usr/bin, then uv's managed pythons
 * ($UV_PYTHON_INSTALL_DIR, default ${XDG_DATA_HOME:-~/.local/share}/
 * uv/python/cpython-X.Y.*). Returns 0 or -ENOMEM.
 */
int pyfind_candidates(const char *xy, struct pyfind_list *out);

void pyfind_list_release(struct pyfind_list *l);

/*
 * The versions installed in those places, by executable name
 * ("3.11, 3.9"; shim directories are not counted), in buf; "" if none.
 */
void pyfind_versions(char *buf, size_t len);

#endif
