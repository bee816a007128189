/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pools of records named by generation-checked handles
 * (aml/src/handle.h). The free list is LIFO, so a steady round trip of
 * submit and wait reuses one record, warm in the cache.
 */
#include "aml/src/handle.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

_Static_assert(sizeof(uintptr_t) >= 8, "handles need 64-bit pointers");

#define HANDLE_MAX_BLOCKS                                                      \
	((size_t)(AML_HANDLE_INDEX_MASK + 1) / AML_HANDLE_BLOCK)

/* Tags of the pools created so far, in the process. */
static atomic_uint handle_tags;

void aml_handle_pool_init(struct aml_handle_pool *pool, size_t record_size)
{
	size_t a = alignof(max_align_t);
	unsigned n = atomic_fetch_add_explicit(&handle_tags, 1,
	                                       memory_order_relaxed);
	*pool = (struct aml_handle_pool){
	        .record_size = (record_size + a - 1) / a * a,
	        .tag = (uint16_t)(n % UINT16_MAX + 1),
	};
}

void aml_handle_pool_fini(struct aml_handle_pool *pool)
{
	for (size_t b = 0; b < pool->nblocks; b++)
		free(pool->blocks[b]);
	free(pool->blocks);
	pool->blocks = NULL;
	pool->nblocks = pool->capacity = 0;
	pool->free_list = NULL;
}

/* Records go on the free list lowest index first. */
int aml_handle_grow(struct aml_handle_pool *pool)
{
	if (pool->nblocks == HANDLE_MAX_BLOCKS)
		return -1;
	if (pool->nblocks == pool->capacity) {
		size_t cap = pool->capacity ? 2 * pool->capacity : 4;
		char **blocks = realloc(pool->blocks, cap * sizeof(*blocks));
		if (blocks == NULL)
			return -1;
		pool->blocks = blocks;
		pool->capacity = cap;
	}
	char *block = calloc(AML_HANDLE_BLOCK, pool->record_size);
	if (block == NULL)
		return -1;
	size_t first = pool->nblocks * AML_HANDLE_BLOCK;
	pool->blocks[pool->nblocks++] = block;
	for (size_t i = AML_HANDLE_BLOCK; i-- > 0;) {
		struct aml_handle_record *r =
		        (void *)(block + i * pool->record_size);
		r->index = (uint32_t)(first + i);
		r->next_free = pool->free_list;
		pool->free_list = r;
	}
	return 0;
}
