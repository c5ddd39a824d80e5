/* SPDX-License-Identifier: MIT */
/* banned.h - functions that are too easy to misuse; force-included by the
 * build so a use is a compile error. Use snprintf, strdup/memcpy, strtok_r. */
#ifndef BLAST_BANNED_H
#define BLAST_BANNED_H

/* The system's declarations first: with _FORTIFY_SOURCE they define these
 * functions inline, which the macros below would mangle. */
#include <stdio.h>
#include <string.h>

#define BANNED(f) sorry_##f##_is_banned_in_blast

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
