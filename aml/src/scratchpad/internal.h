/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private types of the scratchpad (aml/scratchpad.h): the slots, the copies
 * between slots and tiles, the request tickets and the state behind
 * sp->state. Types only: each file's functions are declared in its own
 * header. See scratchpad.c for the design.
 *
 * The files form layers, and calls go down only:
 *
 *   scratchpad.c  lifecycle, synchronous pull and push, queries, fork()
 *        |
 *   async.c       copies in flight, requests, asynchronous pull and push
 *        |        (async.h)
 *   slots.c       argument checks, slot layouts and synchronous copies,
 *        |        slot transitions: claim, pin, unpin, hit, miss (slots.h)
 *   index.c       tile -> slot table and LRU list (index.h)
 *
 * A file calls functions of the files below it, never of one above.
 */
#ifndef AML_SRC_SCRATCHPAD_INTERNAL_H
#define AML_SRC_SCRATCHPAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/copier.h>
#include <aml/dma.h>
#include <aml/dma/plan.h>
#include <aml/layout.h>
#include <aml/scratchpad.h>

#include "aml/src/fork.h"
#include "aml/src/handle.h"

/* No slot: the end of the LRU list. */
#define AML_SCRATCHPAD_NONE SIZE_MAX

/* The most tiles whose slots the table maps directly, an entry per tile
 * (index.c): 512 KiB of table at most, in place of hashing. */
#define AML_SCRATCHPAD_DIRECT_MAX ((size_t)1 << 16)

/* Direction of a copy. */
enum aml_scratchpad_copy { AML_SCRATCHPAD_TO_SLOT, AML_SCRATCHPAD_TO_TILE };

/* Life of a request. */
enum aml_scratchpad_xfer_state {
	/* The dma request is in dma, waiting for a waiter. */
	AML_SCRATCHPAD_IN_FLIGHT,
	/* A waiter waits for dma without the lock. */
	AML_SCRATCHPAD_WAITING,
	/* The waiter did not survive a fork(). In the child, dma may still
	 * be queued or half copied: the next waiter waits for it again, and
	 * copies again only if that wait fails (a request the gone thread's
	 * wait had already ended and freed, its result lost). */
	AML_SCRATCHPAD_REDO,
	/* The copy is over; err says how it went. */
	AML_SCRATCHPAD_DONE,
};

struct aml_scratchpad_slot {
	/* Valid when has_tile. */
	size_t tile;
	bool has_tile;
	/* Written by the user since the last copy back to the tile. */
	bool dirty;
	/* On the LRU list (pins == 0 and xfer == NULL). */
	bool in_lru;
	/* User pins: pulls not yet released. */
	size_t pins;
	/* The copy in flight to or from this slot, or NULL. */
	struct aml_scratchpad_xfer *xfer;
	/* LRU links, AML_SCRATCHPAD_NONE at the ends. */
	size_t prev;
	size_t next;
	/* Position of this slot's entry in sp->hash, AML_SCRATCHPAD_NONE
	 * when not indexed: a miss unindexes its victim without probing
	 * for it (index.c). */
	size_t hpos;
};

/* One copy between a slot and its tile, shared by every handle on it. */
struct aml_scratchpad_xfer {
	/* Links of the state's live list. */
	struct aml_scratchpad_xfer *prev;
	struct aml_scratchpad_xfer *next;
	/* The dma's request until the copy is DONE, then NULL. Kept while a
	 * waiter waits for it (on a copy of the handle), so that a child of
	 * fork() can take it over: a second copy through a new request would
	 * leave this one to land later in a slot or tile that serves
	 * another tile by then. */
	struct aml_dma_request *dma;
	size_t slot;
	enum aml_scratchpad_copy kind;
	enum aml_scratchpad_xfer_state state;
	/* Result of the copy, once AML_SCRATCHPAD_DONE. */
	int err;
	/* Handles on this copy not yet waited, and pulls joined to it. */
	size_t nrefs;
};

/* What a request handle names: a copy, or nothing (a pull that needed no
 * copy, complete at once). Records of the state's ticket pool, so that a
 * handle waited twice is refused even while its copy lives on. */
struct aml_scratchpad_ticket {
	struct aml_handle_record head;
	struct aml_scratchpad_xfer *xfer;
};

/* The copy of a full tile, planned once at init (aml/dma/plan.h): every
 * tile whose layout has tile 0's shape (all of them but RESIZE border
 * tiles) is copied by this plan with its two addresses set, so a miss
 * does not plan again what init planned (aml_dma_plan_layouts() sorts and
 * merges the dimensions and checks the spans, per copy). */
struct aml_scratchpad_template {
	/* Plans made: false leaves every copy to the general path. */
	bool ready;
	/* An nd tiling whose corner tile, the last, is full: then every
	 * tile is (a border tile is one along each dimension that has
	 * any), and a tile's address is all a copy needs. */
	bool uniform;
	/* The shape a tile must have to use the plans. */
	size_t element_size;
	size_t ndims;
	size_t dims[AML_LAYOUT_NDIMS_MAX];
	size_t strides[AML_LAYOUT_NDIMS_MAX];
	/* Tile to slot, slot to tile; dst and src set per copy. */
	struct aml_dma_plan plan[2];
	/* uniform, and the engine copies synchronously with memcpy (a seq
	 * engine on the memcpy copier) plans of at most one outer
	 * dimension: a synchronous copy is then the plan's rows, copied by
	 * the scratchpad itself (slots.c). */
	bool direct;
	/* With direct, for up to AML_SCRATCHPAD_DIRECT_MAX tiles: every
	 * tile's address, taken from the tiling at init (owned; NULL
	 * otherwise). A miss loads its tile's address from here rather than
	 * calling the tiling's tile_ptr through two pointers. */
	char **tile_addr;
};

struct aml_scratchpad_state {
	/* Full-tile copies, planned at init; afterwards only their two
	 * addresses change, per copy, under the lock. */
	struct aml_scratchpad_template full;
	/* The copier of a seq engine, set at init: synchronous copies run
	 * through it with no dma request (aml/src/dma/seq_internal.h). NULL
	 * for other engines, whose synchronous copies submit and wait. */
	const struct aml_copier *copier;
	/* Every copy in flight, or done and not yet waited by all its
	 * handles: fini completes and frees them. */
	struct aml_scratchpad_xfer *live;
	/* The request handles given out and not yet waited. */
	struct aml_handle_pool tickets;
	/* Registered for fork() (scratchpad.c); owner is the scratchpad. */
	struct aml_fork_hook fork;
	struct aml_scratchpad *owner;
};

#endif /* AML_SRC_SCRATCHPAD_INTERNAL_H */
