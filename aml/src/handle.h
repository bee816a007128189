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

/* An empty pool of records of @p record_size bytes (head included); no
 * allocation. Each pool gets a new tag. */
void aml_handle_pool_init(struct aml_handle_pool *pool, size_t record_size);

/* Free every block, live records included. */
void aml_handle_pool_fini(struct aml_handle_pool *pool);

/* A free record, live from now on, its owner's part as it was left (zero
 * the first time); NULL when memory (or the 2^24 indices) run out. */
void *aml_handle_get(struct aml_handle_pool *pool);

/* Free a live record: every handle on it becomes stale. */
void aml_handle_put(struct aml_handle_pool *pool, void *record);

/* The handle of a live record. */
uintptr_t aml_handle_of(const struct aml_handle_pool *pool, const void *record);

/* The live record @p handle names, or NULL if it names none of this pool
 * (stale, foreign or made up). */
void *aml_handle_find(const struct aml_handle_pool *pool, uintptr_t handle);

/* Records the pool holds, live or not: indices 0 to this, minus one. */
size_t aml_handle_count(const struct aml_handle_pool *pool);

/* Record @p index (< aml_handle_count()), live or not. */
void *aml_handle_at(const struct aml_handle_pool *pool, size_t index);

#endif /* AML_SRC_HANDLE_H */
