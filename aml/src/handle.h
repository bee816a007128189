/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: pools of records named by handles that carry a generation, so
 * that a handle used after its record was freed, a handle of another pool
 * and a made-up pointer are told apart from live ones, and refused.
 *
 * The dma engines and the scratchpad give out request handles as opaque
 * pointers (struct aml_dma_request *, struct aml_scratchpad_request *).
 * Those are never addresses: they are 64-bit words made of the pool's tag
 * (16 bits, never 0, so a handle is never NULL), the record's generation
 * (24 bits) and the record's index (24 bits). Freeing a record bumps its
 * generation, so an old handle no longer matches it, even once the record
 * serves again. A stale handle is taken for a live one only after exactly
 * a multiple of 2^24 reuses of its record, and a foreign one only when two
 * pools share a tag (one in 65535 pools created) and the generation and
 * index match too.
 *
 * Records live in blocks that never move, so a record's address is stable
 * while its owner uses it; the table of blocks grows. Every function here
 * is called with the owner's lock held, and no allocation happens on a
 * handle's way back (find, put).
 */
#ifndef AML_SRC_HANDLE_H
#define AML_SRC_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The head of every record; the rest is the owner's. */
struct aml_handle_record {
	/* Position in the pool, fixed. */
	uint32_t index;
	/* Bumped when the record is freed. */
	uint32_t gen;
	/* Handed out and not yet put back. */
	bool live;
	/* The free list, while !live. */
	struct aml_handle_record *next_free;
};

struct aml_handle_pool {
	/* Bytes per record, head included, aligned for any type. */
	size_t record_size;
	/* nblocks blocks of AML_HANDLE_BLOCK records each. */
	char **blocks;
	size_t nblocks;
	/* Entries of blocks. */
	size_t capacity;
	struct aml_handle_record *free_list;
	uint16_t tag;
};

/* Records per block. */
#define AML_HANDLE_BLOCK 64

#define AML_HANDLE_INDEX_BITS 24
#define AML_HANDLE_GEN_SHIFT  AML_HANDLE_INDEX_BITS
#define AML_HANDLE_TAG_SHIFT  48
#define AML_HANDLE_INDEX_MASK ((UINT64_C(1) << AML_HANDLE_INDEX_BITS) - 1)
#define AML_HANDLE_GEN_MASK   ((UINT64_C(1) << 24) - 1)

/* An empty pool of records of @p record_size bytes (head included); no
 * allocation. Each pool gets a new tag. */
void aml_handle_pool_init(struct aml_handle_pool *pool, size_t record_size);

/* Free every block, live records included. */
void aml_handle_pool_fini(struct aml_handle_pool *pool);

/* Put one more block of records on the free list: 0, or -1 when memory (or
 * the 2^24 indices) run out. */
int aml_handle_grow(struct aml_handle_pool *pool);

/* The functions below are on the path of every request: inline. */

/* Records the pool holds, live or not: indices 0 to this, minus one. */
static inline size_t aml_handle_count(const struct aml_handle_pool *pool)
{
	return pool->nblocks * AML_HANDLE_BLOCK;
}

/* Record @p index (< aml_handle_count()), live or not. */
static inline void *aml_handle_at(const struct aml_handle_pool *pool,
                                  size_t index)
{
	return pool->blocks[index / AML_HANDLE_BLOCK] +
	       index % AML_HANDLE_BLOCK * pool->record_size;
}

/* A free record, live from now on, its owner's part as it was left (zero
 * the first time); NULL when memory (or the 2^24 indices) run out. */
static inline void *aml_handle_get(struct aml_handle_pool *pool)
{
	if (pool->free_list == NULL && aml_handle_grow(pool) != 0)
		return NULL;
	struct aml_handle_record *r = pool->free_list;
	pool->free_list = r->next_free;
	r->live = true;
	return r;
}

/* Free a live record: every handle on it becomes stale. */
static inline void aml_handle_put(struct aml_handle_pool *pool, void *record)
{
	struct aml_handle_record *r = (struct aml_handle_record *)record;
	r->live = false;
	r->gen++;
	r->next_free = pool->free_list;
	pool->free_list = r;
}

/* The handle of a live record. */
static inline uintptr_t aml_handle_of(const struct aml_handle_pool *pool,
                                      const void *record)
{
	const struct aml_handle_record *r =
	        (const struct aml_handle_record *)record;
	return (uintptr_t)((uint64_t)pool->tag << AML_HANDLE_TAG_SHIFT |
	                   ((uint64_t)r->gen & AML_HANDLE_GEN_MASK)
	                           << AML_HANDLE_GEN_SHIFT |
	                   r->index);
}

/* The live record @p handle names, or NULL if it names none of this pool
 * (stale, foreign or made up). */
static inline void *aml_handle_find(const struct aml_handle_pool *pool,
                                    uintptr_t handle)
{
	uint64_t h = handle;
	size_t index = (size_t)(h & AML_HANDLE_INDEX_MASK);
	if (h >> AML_HANDLE_TAG_SHIFT != pool->tag ||
	    index >= aml_handle_count(pool))
		return NULL;
	struct aml_handle_record *r =
	        (struct aml_handle_record *)aml_handle_at(pool, index);
	if (!r->live ||
	    (r->gen & AML_HANDLE_GEN_MASK) !=
	            ((h >> AML_HANDLE_GEN_SHIFT) & AML_HANDLE_GEN_MASK))
		return NULL;
	return r;
}

#endif /* AML_SRC_HANDLE_H */
