/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file multiplex.h
 * The multiplex dma engine: spreads copies over several engines by
 * weights, e.g. one par engine per NUMA node with its workers pinned to
 * that node's CPUs (aml_dma_par_options.cpus), so that a copy runs on
 * CPUs near the memory it moves.
 *
 * Each copy goes whole to one engine, chosen in turn by smooth weighted
 * round robin: with weights {2, 1}, copies go to engines 0, 1, 0, 0, 1,
 * 0, ... — each engine gets its weight's share of every run of
 * sum(weights) copies, spread out rather than bunched. The choice is one
 * atomic increment, so threads submitting at once share the turns.
 *
 * The engines are the caller's: they must outlive the multiplex engine,
 * and may also be used directly. A request the multiplex engine returns is
 * its own handle (refused by the inner engines, as theirs are refused
 * here), good for one aml_dma_wait() or aml_dma_cancel() through it.
 * aml_dma_barrier() waits for every copy submitted so far to every inner
 * engine, the caller's direct ones included, and reports the first error
 * of a fire-and-forget copy any of them had since its last barrier.
 *
 * Usage:
 * @code
 * struct aml_dma *near0, *near1;  // par engines pinned to nodes 0 and 1
 * struct aml_dma *engines[] = {near0, near1};
 * unsigned weights[] = {1, 1};
 * AML_DMA_MULTIPLEX_DECL(dma);
 * aml_dma_multiplex_init(&dma, engines, weights, 2);
 * aml_dma_async_copy_bytes(&dma.base, &request, dst, src, size);
 * aml_dma_wait(&dma.base, &request);
 * aml_dma_multiplex_fini(&dma);
 * @endcode
 *
 * Thread-safe as every engine (aml/dma.h). Modelled time (aml/emulator.h)
 * is each inner engine's: the multiplex engine adds no cost of its own.
 */
#ifndef AML_DMA_MULTIPLEX_H
#define AML_DMA_MULTIPLEX_H

#include <stddef.h>

#include <aml/dma.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most engines a multiplex engine spreads over. */
#define AML_DMA_MULTIPLEX_ENGINES_MAX 64

/** Largest sum of weights: the turns are laid out once, at init. */
#define AML_DMA_MULTIPLEX_WEIGHTS_MAX 4096

/** Storage for a multiplex engine. Pass &x.base to aml_dma_*(). */
struct aml_dma_multiplex {
	/** Generic handle. Keep first. */
	struct aml_dma base;
	/** @privatesection */
	/* Private: use the aml_dma_multiplex_*() functions. */
	/** The engine's state, allocated by init. */
	struct aml_dma_multiplex_state *state;
};

/** Declare storage for a multiplex engine (aml_dma_multiplex_init()). */
#define AML_DMA_MULTIPLEX_DECL(name) struct aml_dma_multiplex name

/**
 * Initialise a multiplex engine over @p engines.
 * @param[out] dma the storage to initialise. On error it is left
 *             finalised, whatever it held: aml_dma_multiplex_fini() is a
 *             no-op on it and every aml_dma_*() call through it
 *             AML_EINVAL.
 * @param engines @p nengines distinct initialised engines, not owned
 *        (the array is copied); they must outlive this one.
 * @param weights NULL for equal shares, or one weight per engine, each
 *        from 1, summing to at most AML_DMA_MULTIPLEX_WEIGHTS_MAX.
 * @param nengines 1 to AML_DMA_MULTIPLEX_ENGINES_MAX.
 * @return 0; AML_EINVAL for a NULL @p dma or @p engines, a NULL, repeated
 *         or uninitialised engine, the storage itself among the engines,
 *         a count or a weight out of range, and for storage that holds a
 *         live engine (left as it is); AML_ENOMEM. Nothing is left
 *         allocated on error.
 */
int aml_dma_multiplex_init(struct aml_dma_multiplex *dma,
                           struct aml_dma *const *engines,
                           const unsigned *weights,
                           size_t nengines);

/**
 * Finalise: wait for every copy submitted through this engine, free its
 * requests (handles still held become invalid), and leave the inner
 * engines as they are. NULL and finalised storage are no-ops.
 */
void aml_dma_multiplex_fini(struct aml_dma_multiplex *dma);

/**
 * aml_dma_multiplex_init() into one allocation.
 * @param[out] out receives the engine; NULL on error.
 * @param engines,weights,nengines as for aml_dma_multiplex_init().
 * @return as aml_dma_multiplex_init(); AML_EINVAL for a NULL @p out.
 */
int aml_dma_multiplex_create(struct aml_dma **out,
                             struct aml_dma *const *engines,
                             const unsigned *weights,
                             size_t nengines);

/** Free an engine from aml_dma_multiplex_create() and set *@p dma to NULL.
 * NULL, a pointer to NULL and an engine of another kind are left alone. */
void aml_dma_multiplex_destroy(struct aml_dma **dma);

/**
 * Which engine the next copy through @p dma would go to, without taking
 * the turn: for tests and for tools that show the spread.
 * @return the engine's position in the init array; AML_EINVAL for NULL
 *         or finalised storage.
 */
int aml_dma_multiplex_next(const struct aml_dma_multiplex *dma);

#ifdef __cplusplus
}
#endif

#endif /* AML_DMA_MULTIPLEX_H */
