/* SPDX-License-Identifier: MIT */
/* u64map.c - linear probing, power-of-two capacity, load <= 1/2. */
#include <stdlib.h>
#include <string.h>

#include "u64map.h"

static size_t hash64(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

void u64map_init(struct u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void u64map_release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	u64map_init(m);
}

uint64_t *u64map_find(const struct u64map *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = hash64(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return &m->vals[i];
	return NULL;
}

static int grow(struct u64map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024, i, j;
	uint64_t *k = calloc(cap, sizeof(*k)), *v = calloc(cap, sizeof(*v));

	if (!k || !v) {
		free(k);
		free(v);
		return -1;
	}
	for (i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		for (j = hash64(m->keys[i], cap); k[j]; j = (j + 1) & (cap - 1))
			;
		k[j] = m->keys[i];
		v[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = k;
	m->vals = v;
	m->cap = cap;
	return 0;
}

uint64_t *u64map_slot(struct u64map *m, uint64_t key)
{
	uint64_t *v = u64map_find(m, key);
	size_t i;

	if (v)
		return v;
	if ((m->n + 1) * 2 > m->cap && grow(m))
		return NULL;
	for (i = hash64(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->n++;
	return &m->vals[i];
}
