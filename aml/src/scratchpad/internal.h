/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private state of the scratchpad (aml/scratchpad.h), shared by its three
 * files: scratchpad.c (lifecycle, synchronous pull and push, queries),
 * index.c (tile -> slot table and LRU list) and async.c (requests and the
 * asynchronous variants). See scratchpad.c for the design.
 *
 * Every function here is called with sp->lock held, unless it says
 * otherwise, and trusts its arguments (the public functions checked them).
 */
#ifndef AML_SRC_SCRATCHPAD_INTERNAL_H
#define AML_SRC_SCRATCHPAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/dma.h>
#include <aml/layout.h>
#include <aml/scratchpad.h>

#include "aml/src/fork.h"
#include "aml/src/handle.h"

/* No slot: the end of the LRU list. */
#define AML_SCRATCHPAD_NONE SIZE_MAX

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

struct aml_scratchpad_state {
	/* Every copy in flight, or done and not yet waited by all its
	 * handles: fini completes and frees them. */
	struct aml_scratchpad_xfer *live;
	/* The request handles given out and not yet waited. */
	struct aml_handle_pool tickets;
	/* Registered for fork() (scratchpad.c); owner is the scratchpad. */
	struct aml_fork_hook fork;
	struct aml_scratchpad *owner;
};

/* ---- index.c ---- */

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

/* ---- scratchpad.c ---- */

/* Whether @p sp is initialised (no lock needed). */
bool aml_scratchpad_is_ready(const struct aml_scratchpad *sp);
/* Checks of a pull's arguments (no lock needed). */
int aml_scratchpad_check_pull(const struct aml_scratchpad *sp,
                              size_t tile,
                              unsigned flags,
                              const size_t *slot);
/* Checks of a slot the caller must hold a pin on. */
int aml_scratchpad_check_pinned(const struct aml_scratchpad *sp, size_t slot);
/* The two layouts of a copy between slot @p slot and tile @p tile. */
int aml_scratchpad_layouts(const struct aml_scratchpad *sp,
                           size_t slot,
                           size_t tile,
                           struct aml_layout *slot_layout,
                           struct aml_layout *tile_layout);
/* Synchronous copy between slot @p slot and tile @p tile, counted. */
int aml_scratchpad_copy(struct aml_scratchpad *sp,
                        size_t slot,
                        size_t tile,
                        enum aml_scratchpad_copy kind);
/* Evict the LRU slot for @p tile (write-back included); nothing changes on
 * error. */
int aml_scratchpad_claim(struct aml_scratchpad *sp, size_t tile, size_t *out);
/* Undo a claim whose load failed to start. */
void aml_scratchpad_unclaim(struct aml_scratchpad *sp, size_t slot);
/* Count a pull that hit, and apply its flags. */
void aml_scratchpad_count_hit(struct aml_scratchpad *sp,
                              size_t slot,
                              unsigned flags);
/* Count a pull that missed, pin its freshly claimed slot and apply its
 * flags. */
void aml_scratchpad_count_miss(struct aml_scratchpad *sp,
                               size_t slot,
                               unsigned flags);

/* ---- async.c ---- */

/* The copy of @p x ended with @p err: update its slot, wake waiters. */
void aml_scratchpad_complete(struct aml_scratchpad *sp,
                             struct aml_scratchpad_xfer *x,
                             int err);
/* Complete @p x if IN_FLIGHT or REDO, keeping the lock (fini). */
void aml_scratchpad_settle(struct aml_scratchpad *sp,
                           struct aml_scratchpad_xfer *x);
/* Wait for @p x and drop one handle on it; unlocks while waiting. */
int aml_scratchpad_request_wait(struct aml_scratchpad *sp,
                                struct aml_scratchpad_xfer *x);

#endif /* AML_SRC_SCRATCHPAD_INTERNAL_H */
