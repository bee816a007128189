/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad's tile -> slot table and LRU list (index.c), the bottom
 * layer of the scratchpad (internal.h): it calls no function of the other
 * scratchpad files.
 *
 * Every function here is called with sp->lock held and trusts its
 * arguments (the public functions checked them). Lookups and the LRU list
 * are inline: every pull and release takes them, and a call each would
 * cost a miss of a small tile a few percent of its copy.
 */
#ifndef AML_SRC_SCRATCHPAD_INDEX_H
#define AML_SRC_SCRATCHPAD_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/scratchpad.h>

#include "aml/src/scratchpad/internal.h"

/* The table's two forms (aml_scratchpad_index_size()): hash_mask 0 makes
 * it direct, an entry per tile at the tile's id; any other mask an open
 * addressing table of hash_mask + 1 entries. */
static inline bool aml_scratchpad_index_direct(const struct aml_scratchpad *sp)
{
	return sp->hash_mask == 0;
}

/* Entries of the table for @p ntiles tiles and @p nslots slots, and its
 * mask in *mask (0: direct, see index.c for the choice). */
size_t aml_scratchpad_index_size(size_t ntiles, size_t nslots, size_t *mask);

/* Insert and remove in an open addressing table (index.c). */
void aml_scratchpad_hash_insert_probed(struct aml_scratchpad *sp, size_t slot);
void aml_scratchpad_hash_remove_shifted(struct aml_scratchpad *sp, size_t slot);

/* Index slot @p slot under its tile (not indexed yet), in a table whose
 * form @p direct is (aml_scratchpad_index_direct()): a caller that knows
 * it has the other form's code left out. A direct table's is one store,
 * inline on the path of every miss. */
static inline __attribute__((always_inline)) void aml_scratchpad_hash_insert_as(
        struct aml_scratchpad *sp, size_t slot, bool direct)
{
	if (!direct) {
		aml_scratchpad_hash_insert_probed(sp, slot);
		return;
	}
	size_t tile = sp->slots[slot].tile;
	sp->hash[tile] = slot + 1;
	sp->slots[slot].hpos = tile;
}

/* Unindex slot @p slot's tile, if indexed, in a table whose form @p
 * direct is. */
static inline __attribute__((always_inline)) void aml_scratchpad_hash_remove_as(
        struct aml_scratchpad *sp, size_t slot, bool direct)
{
	if (!direct) {
		aml_scratchpad_hash_remove_shifted(sp, slot);
		return;
	}
	size_t i = sp->slots[slot].hpos;
	if (i == AML_SCRATCHPAD_NONE)
		return;
	sp->slots[slot].hpos = AML_SCRATCHPAD_NONE;
	sp->hash[i] = 0;
}

/* Index slot @p slot under its tile (not indexed yet). */
static inline void aml_scratchpad_hash_insert(struct aml_scratchpad *sp,
                                              size_t slot)
{
	aml_scratchpad_hash_insert_as(sp, slot,
	                              aml_scratchpad_index_direct(sp));
}

/* Unindex slot @p slot's tile, if indexed. */
static inline void aml_scratchpad_hash_remove(struct aml_scratchpad *sp,
                                              size_t slot)
{
	aml_scratchpad_hash_remove_as(sp, slot,
	                              aml_scratchpad_index_direct(sp));
}

/* Home position of @p tile in an open addressing sp->hash. */
static inline size_t aml_scratchpad_hash_home(const struct aml_scratchpad *sp,
                                              size_t tile)
{
	/* Fibonacci hashing: consecutive tiles spread over the table. */
	return (size_t)(((uint64_t)tile * 0x9E3779B97F4A7C15ull) >> 17) &
	       sp->hash_mask;
}

/* Position of @p tile in sp->hash, or AML_SCRATCHPAD_NONE. */
static inline size_t aml_scratchpad_hash_find(const struct aml_scratchpad *sp,
                                              size_t tile)
{
	if (aml_scratchpad_index_direct(sp))
		return sp->hash[tile] != 0 ? tile : AML_SCRATCHPAD_NONE;
	for (size_t i = aml_scratchpad_hash_home(sp, tile);;
	     i = (i + 1) & sp->hash_mask) {
		size_t e = sp->hash[i];
		if (e == 0)
			return AML_SCRATCHPAD_NONE;
		if (sp->slots[e - 1].tile == tile)
			return i;
	}
}

/* Take slot @p slot off the LRU list, if on it. */
static inline void aml_scratchpad_lru_remove(struct aml_scratchpad *sp,
                                             size_t slot)
{
	struct aml_scratchpad_slot *s = &sp->slots[slot];
	if (!s->in_lru)
		return;
	if (s->prev != AML_SCRATCHPAD_NONE)
		sp->slots[s->prev].next = s->next;
	else
		sp->lru_head = s->next;
	if (s->next != AML_SCRATCHPAD_NONE)
		sp->slots[s->next].prev = s->prev;
	else
		sp->lru_tail = s->prev;
	s->prev = s->next = AML_SCRATCHPAD_NONE;
	s->in_lru = false;
}

/* Put slot @p slot on the LRU list if it has no pin and no copy in flight:
 * at the head if empty (first in line), else at the tail (most recently
 * released). */
static inline void aml_scratchpad_lru_add(struct aml_scratchpad *sp,
                                          size_t slot)
{
	struct aml_scratchpad_slot *s = &sp->slots[slot];
	if (s->in_lru || s->pins != 0 || s->xfer != NULL)
		return;
	s->in_lru = true;
	if (!s->has_tile) {
		s->prev = AML_SCRATCHPAD_NONE;
		s->next = sp->lru_head;
		if (sp->lru_head != AML_SCRATCHPAD_NONE)
			sp->slots[sp->lru_head].prev = slot;
		else
			sp->lru_tail = slot;
		sp->lru_head = slot;
		return;
	}
	s->next = AML_SCRATCHPAD_NONE;
	s->prev = sp->lru_tail;
	if (sp->lru_tail != AML_SCRATCHPAD_NONE)
		sp->slots[sp->lru_tail].next = slot;
	else
		sp->lru_head = slot;
	sp->lru_tail = slot;
}

#endif /* AML_SRC_SCRATCHPAD_INDEX_H */
