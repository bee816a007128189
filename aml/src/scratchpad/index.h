/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad's tile -> slot table and LRU list (index.c), the bottom
 * layer of the scratchpad (internal.h): it calls no function of the other
 * scratchpad files.
 *
 * Every function here is called with sp->lock held and trusts its
 * arguments (the public functions checked them).
 */
#ifndef AML_SRC_SCRATCHPAD_INDEX_H
#define AML_SRC_SCRATCHPAD_INDEX_H

#include <stddef.h>

#include <aml/scratchpad.h>

#include "aml/src/scratchpad/internal.h"

/* Position of @p tile in sp->hash, or AML_SCRATCHPAD_NONE. */
size_t aml_scratchpad_hash_find(const struct aml_scratchpad *sp, size_t tile);
/* Index slot @p slot under its tile (not indexed yet). */
void aml_scratchpad_hash_insert(struct aml_scratchpad *sp, size_t slot);
/* Unindex slot @p slot's tile, if indexed. */
void aml_scratchpad_hash_remove(struct aml_scratchpad *sp, size_t slot);
/* Take slot @p slot off the LRU list, if on it. */
void aml_scratchpad_lru_remove(struct aml_scratchpad *sp, size_t slot);
/* Put slot @p slot on the LRU list if it has no pin and no copy in flight:
 * at the head if empty, else at the tail. */
void aml_scratchpad_lru_add(struct aml_scratchpad *sp, size_t slot);

#endif /* AML_SRC_SCRATCHPAD_INDEX_H */
