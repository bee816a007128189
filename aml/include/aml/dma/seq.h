/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file seq.h
 * The sequential dma engine: every copy runs in the calling thread, inside
 * aml_dma_async_copy(), so a request is done when it is returned and
 * aml_dma_wait() only frees it. The reference engine, and the cheapest for
 * small copies.
 *
 * Usage:
 * @code
 * AML_DMA_SEQ_DECL(dma);
 * aml_dma_seq_init(&dma, NULL);
 * aml_dma_copy_bytes(&dma.base, dst, src, size);
 * aml_dma_seq_fini(&dma);
 * @endcode
 */
#ifndef AML_DMA_SEQ_H
#define AML_DMA_SEQ_H

#include <aml/copier.h>
#include <aml/dma.h>
#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Storage for a sequential engine. Pass &x.base to aml_dma_*(). */
struct aml_dma_seq {
	/** Generic handle. Keep first. */
	struct aml_dma base;
	/** @privatesection */
	/* Private: use the aml_dma_seq_*() functions. */
	/** The engine's state, allocated by init. */
	struct aml_dma_seq_state *state;
};

/** Declare storage for a sequential engine (see aml_dma_seq_init()). */
#define AML_DMA_SEQ_DECL(name) struct aml_dma_seq name

/**
 * Initialise a sequential engine.
 * @param[out] dma the storage to initialise. On error it is left
 *             finalised, whatever it held: aml_dma_seq_fini() is a no-op
 *             on it and every aml_dma_*() call through it AML_EINVAL.
 * @param topology the topology the copied memory lives in: copies go
 *        through its copier (aml_topology_copier()), so that on an
 *        emulated one they are charged to its cost model. NULL, or a real
 *        topology, copies with memcpy only. Must outlive the engine.
 * @return 0; AML_EINVAL for a NULL @p dma, and for storage that holds a
 *         live engine (initialised, not finalised), which is left as it
 *         is; AML_ENOMEM when its state or its mutex cannot be made.
 *         Nothing is left allocated on error.
 */
int aml_dma_seq_init(struct aml_dma_seq *dma,
                     const struct aml_topology *topology);

/**
 * aml_dma_seq_init() with the copier copies go through given directly,
 * rather than the topology's (aml/copier.h): a copy engine of the
 * caller's, or a test's fake.
 * @param[out] dma as for aml_dma_seq_init().
 * @param copier the copier; not owned, must outlive the engine.
 * @return as aml_dma_seq_init(); AML_EINVAL too for a NULL @p copier or
 *         one without a copy op (the storage is left finalised).
 */
int aml_dma_seq_init_copier(struct aml_dma_seq *dma,
                            const struct aml_copier *copier);

/**
 * Finalise. Requests not yet waited are freed (their handles become
 * invalid). NULL is a no-op.
 */
void aml_dma_seq_fini(struct aml_dma_seq *dma);

/**
 * aml_dma_seq_init() into one allocation.
 * @param[out] out receives the engine; NULL on error.
 * @param topology as for aml_dma_seq_init().
 * @return as aml_dma_seq_init().
 */
int aml_dma_seq_create(struct aml_dma **out,
                       const struct aml_topology *topology);

/**
 * Finalise and free an engine from aml_dma_seq_create(), and set *@p dma
 * to NULL. NULL, a pointer to NULL and an engine of another kind are left
 * alone.
 */
void aml_dma_seq_destroy(struct aml_dma **dma);

#ifdef __cplusplus
}
#endif

#endif /* AML_DMA_SEQ_H */
