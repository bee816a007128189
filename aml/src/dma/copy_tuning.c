/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Copy sizes from the caches (copy_large.h): the streaming threshold and
 * the par engine's default chunk size. The rules and their reasons are in
 * copy_large.h; the figures behind them in docs/dma.md.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "aml/src/dma/copy_large.h"
#include "aml/src/os.h"

/* When the machine does not say: a common L2, and one CCD's L3. */
#define TUNING_L2_DEFAULT  ((size_t)1 << 20)
#define TUNING_LLC_DEFAULT ((size_t)32 << 20)

#define TUNING_CHUNK_MIN ((size_t)64 << 10)
#define TUNING_CHUNK_MAX ((size_t)4 << 20)

static size_t tuning_mul(size_t a, size_t b)
{
	size_t r;
	return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

void aml_copy_tuning_of(struct aml_copy_tuning *out,
                        const struct aml_cache_sizes *caches,
                        size_t ncpus)
{
	size_t l2 = caches->l2 != 0 ? caches->l2 : TUNING_L2_DEFAULT;
	size_t llc = caches->llc != 0 ? caches->llc : TUNING_LLC_DEFAULT;
	if (llc < l2)
		llc = l2;
	if (ncpus == 0)
		ncpus = 1;
	size_t share = tuning_mul(tuning_mul(ncpus, 4), l2);
	size_t threshold = llc / 4 < share ? llc / 4 : share;
	size_t floor = tuning_mul(l2, 2);
	if (floor < AML_COPY_STREAM_MIN)
		floor = AML_COPY_STREAM_MIN;
	out->stream_threshold = threshold > floor ? threshold : floor;

	size_t chunk = l2 / 4;
	if (chunk < TUNING_CHUNK_MIN)
		chunk = TUNING_CHUNK_MIN;
	if (chunk > TUNING_CHUNK_MAX)
		chunk = TUNING_CHUNK_MAX;
	out->chunk_size = chunk;
}

/* 0 until computed. Computed from the same inputs by every thread that
 * finds them 0 (cheap: a few sysconf calls), so no lock, which a child of
 * fork() could find taken. */
static atomic_size_t stream_threshold;
static atomic_size_t chunk_size;

static void tuning_compute(void)
{
	struct aml_cache_sizes caches;
	struct aml_copy_tuning t;
	aml_cache_sizes(&caches);
	aml_copy_tuning_of(&t, &caches, aml_thread_ncpus());
	atomic_store_explicit(&chunk_size, t.chunk_size, memory_order_relaxed);
	atomic_store_explicit(&stream_threshold, t.stream_threshold,
	                      memory_order_relaxed);
}

size_t aml_copy_stream_threshold(void)
{
	size_t t =
	        atomic_load_explicit(&stream_threshold, memory_order_relaxed);
	if (t == 0) {
		tuning_compute();
		t = atomic_load_explicit(&stream_threshold,
		                         memory_order_relaxed);
	}
	return t;
}

size_t aml_copy_chunk_size(void)
{
	size_t c = atomic_load_explicit(&chunk_size, memory_order_relaxed);
	if (c == 0) {
		tuning_compute();
		c = atomic_load_explicit(&chunk_size, memory_order_relaxed);
	}
	return c;
}
