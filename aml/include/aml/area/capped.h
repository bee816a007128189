/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file capped.h
 * A capped area: another area under a limit of bytes mapped at once, with
 * its statistics and a report of its live mappings.
 *
 * A map that would take the bytes mapped past the cap is AML_ENOMEM, with
 * nothing mapped and the reason in aml_error_detail(); the inner area is
 * not called. So an arena over a capped area serves at most the cap (its
 * metadata inside regions included), and says AML_ENOMEM past it, as
 * Umpire's and memkind's users ask of a pool.
 *
 * The area counts what it maps (a few atomic operations and one record per
 * map, none per arena allocation) and keeps every live mapping, so that a
 * report can list them: address, size, and the device that holds the first
 * page when a topology is given. Unmaps may release part of a mapping,
 * as through the inner area.
 *
 * Thread-safe, as the inner area: the cap holds against concurrent maps.
 */
#ifndef AML_AREA_CAPPED_H
#define AML_AREA_CAPPED_H

#include <stddef.h>
#include <stdio.h>

#include <aml/area.h>
#include <aml/topology.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a capped area mapped (aml_area_capped_stats()). */
struct aml_area_capped_stats {
	/** The cap, in bytes. */
	size_t cap_bytes;
	/** Bytes mapped now. */
	size_t mapped_bytes;
	/** Most bytes mapped at once. */
	size_t peak_mapped_bytes;
	/** Live mappings (a partial unmap may split one in two). */
	size_t mappings;
	/** Maps that succeeded, since creation. */
	size_t maps;
	/** Maps refused because of the cap, since creation. */
	size_t refused_maps;
};

/**
 * Make a capped area over @p inner.
 * @param[out] out receives the area, owned by the caller; NULL on error.
 * @param inner the area that maps; must outlive the capped one.
 * @param cap_bytes most bytes mapped at once (page-rounded sizes count).
 * @param topology NULL, or the topology of @p inner's devices, for the
 *        report's device column.
 * @return 0; AML_EINVAL for a NULL @p out or @p inner, or a cap of 0;
 *         AML_ENOMEM.
 */
int aml_area_capped_create(struct aml_area **out,
                           const struct aml_area *inner,
                           size_t cap_bytes,
                           const struct aml_topology *topology);

/**
 * Free a capped area and set *@p area to NULL. Mappings still live are
 * unmapped through the inner area first. NULL, a pointer to NULL and an
 * area of another kind are left alone.
 */
void aml_area_capped_destroy(struct aml_area **area);

/**
 * The area's statistics into *@p out.
 * @return 0; AML_EINVAL for NULL arguments or an area of another kind.
 */
int aml_area_capped_stats(const struct aml_area *area,
                          struct aml_area_capped_stats *out);

/**
 * Print the statistics, then one line per live mapping: address, size,
 * and the device (name and index) that holds its first page, "untouched"
 * for a page not yet placed, or nothing without a topology.
 * @return 0; AML_EINVAL for NULL arguments or an area of another kind.
 */
int aml_area_capped_report(const struct aml_area *area, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* AML_AREA_CAPPED_H */
