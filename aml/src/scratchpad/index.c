/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad's tile -> slot table and LRU list (see scratchpad.c).
 *
 * The table is open addressing with linear probing at load <= 1/2, keyed
 * by the tile a slot holds and storing slot + 1 (0 is an empty entry), so
 * a hit is O(1) whatever the number of tiles. The LRU list is doubly linked
 * through the slots by index.
 *
 * The bottom layer of the scratchpad (internal.h): slots.c, async.c and
 * scratchpad.c call it; it calls none of them.
 */
#include "aml/src/scratchpad/index.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/scratchpad.h>

#include "aml/src/scratchpad/internal.h"

static size_t scratchpad_home(const struct aml_scratchpad *sp, size_t tile)
{
	/* Fibonacci hashing: consecutive tiles spread over the table. */
	return (size_t)(((uint64_t)tile * 0x9E3779B97F4A7C15ull) >> 17) &
	       sp->hash_mask;
}

/* Position of @tile in the table, or AML_SCRATCHPAD_NONE. */
size_t aml_scratchpad_hash_find(const struct aml_scratchpad *sp, size_t tile)
{
	for (size_t i = scratchpad_home(sp, tile);;
	     i = (i + 1) & sp->hash_mask) {
		size_t e = sp->hash[i];
		if (e == 0)
			return AML_SCRATCHPAD_NONE;
		if (sp->slots[e - 1].tile == tile)
			return i;
	}
}

void aml_scratchpad_hash_insert(struct aml_scratchpad *sp, size_t slot)
{
	size_t i = scratchpad_home(sp, sp->slots[slot].tile);
	while (sp->hash[i] != 0)
		i = (i + 1) & sp->hash_mask;
	sp->hash[i] = slot + 1;
}

/* Remove the slot's tile; backward-shift deletion keeps every entry
 * reachable from its home without tombstones. */
void aml_scratchpad_hash_remove(struct aml_scratchpad *sp, size_t slot)
{
	size_t i = aml_scratchpad_hash_find(sp, sp->slots[slot].tile);
	if (i == AML_SCRATCHPAD_NONE)
		return;
	sp->hash[i] = 0;
	for (size_t j = (i + 1) & sp->hash_mask; sp->hash[j] != 0;
	     j = (j + 1) & sp->hash_mask) {
		size_t k = scratchpad_home(sp, sp->slots[sp->hash[j] - 1].tile);
		/* Entry j may move to the hole i unless its home lies in
		 * (i, j] cyclically. */
		bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		sp->hash[i] = sp->hash[j];
		sp->hash[j] = 0;
		i = j;
	}
}

/* ---- LRU list ---- */

void aml_scratchpad_lru_remove(struct aml_scratchpad *sp, size_t slot)
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

/* Make an evictable slot evictable: empty ones first in line, others last
 * (most recently released). */
void aml_scratchpad_lru_add(struct aml_scratchpad *sp, size_t slot)
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
