/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad's tile -> slot table and LRU list (see scratchpad.c).
 *
 * The table stores slot + 1 (0 is an empty entry) under the tile a slot
 * holds. For up to AML_SCRATCHPAD_DIRECT_MAX tiles (or no more tiles than
 * the hash table would have entries) it is direct, an entry per tile at
 * the tile's id: a lookup is one load and an insertion or removal one
 * store, where hashing cost a miss of a small tile two calls and ~50
 * instructions (callgrind, scratchpad_bench). Past that the array would
 * cost 8 bytes per tile of the array however few the slots, and the table
 * is open addressing with linear probing at load <= 1/2, so a hit is O(1)
 * whatever the number of tiles. The LRU list is doubly linked through the
 * slots by index.
 *
 * Lookups, the direct table and the LRU list are inline (index.h), on the
 * path of every pull and release; the open addressing table's insertion
 * and removal are here.
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

size_t aml_scratchpad_index_size(size_t ntiles, size_t nslots, size_t *mask)
{
	/* Open addressing: a power of two >= 2 * nslots entries; nslots is
	 * at most SIZE_MAX / 64 (init checked the slots' total), so no
	 * overflow. */
	size_t cap = 2;
	while (cap < 2 * nslots)
		cap *= 2;
	if (ntiles <= AML_SCRATCHPAD_DIRECT_MAX || ntiles <= cap) {
		*mask = 0;
		return ntiles;
	}
	*mask = cap - 1;
	return cap;
}

void aml_scratchpad_hash_insert_probed(struct aml_scratchpad *sp, size_t slot)
{
	size_t i = aml_scratchpad_hash_home(sp, sp->slots[slot].tile);
	while (sp->hash[i] != 0)
		i = (i + 1) & sp->hash_mask;
	sp->hash[i] = slot + 1;
	sp->slots[slot].hpos = i;
}

/* Remove the slot's tile, at the position the slot keeps (no probe);
 * backward-shift deletion keeps every entry reachable from its home
 * without tombstones, and tells each entry it moves where it went. */
void aml_scratchpad_hash_remove_shifted(struct aml_scratchpad *sp, size_t slot)
{
	size_t i = sp->slots[slot].hpos;
	if (i == AML_SCRATCHPAD_NONE)
		return;
	sp->slots[slot].hpos = AML_SCRATCHPAD_NONE;
	sp->hash[i] = 0;
	for (size_t j = (i + 1) & sp->hash_mask; sp->hash[j] != 0;
	     j = (j + 1) & sp->hash_mask) {
		size_t k = aml_scratchpad_hash_home(
		        sp, sp->slots[sp->hash[j] - 1].tile);
		/* Entry j may move to the hole i unless its home lies in
		 * (i, j] cyclically. */
		bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		sp->hash[i] = sp->hash[j];
		sp->slots[sp->hash[j] - 1].hpos = i;
		sp->hash[j] = 0;
		i = j;
	}
}
