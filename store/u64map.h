/* SPDX-License-Identifier: MIT */
/* u64map.h - open-addressing map from nonzero u64 ids to u64 values, for
 * walks over the store (visited sets, reference counts). Not thread-safe. */
#ifndef BLAST_U64MAP_H
#define BLAST_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys, *vals;
	size_t cap, n;
};

void u64map_init(struct u64map *m);
void u64map_release(struct u64map *m);
/* Pointer to the value of key (inserted as 0 when absent), NULL on ENOMEM.
 * Valid until the next insert. key must be nonzero. */
uint64_t *u64map_slot(struct u64map *m, uint64_t key);
/* Value pointer or NULL when absent. */
uint64_t *u64map_find(const struct u64map *m, uint64_t key);

#endif
