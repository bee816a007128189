/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulator's page table: which emulated device holds each page.
 *
 * Mappings are kept sorted by address in one array, each with a label per
 * page, so finding the device of an address is a binary search over the
 * mappings plus an index: O(log n) as the issue asks, and scanning the
 * pages of one mapping (copies, moves) is sequential. Unmapping part of a
 * mapping splits it, as munmap splits a VMA.
 */
#include <stdlib.h>
#include <string.h>

#include <aml/device.h>
#include <aml/error.h>

#include "emulator/emulator_internal.h"

/* Index of the first mapping whose end is above addr. */
static size_t pagetable_search(const struct emu_pagetable *table,
                               uintptr_t addr,
                               size_t page_size)
{
	size_t low = 0, high = table->count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		const struct emu_mapping *m = &table->mappings[mid];
		if (m->start + m->npages * page_size <= addr)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

struct emu_mapping *emu_pagetable_next(const struct emu_pagetable *table,
                                       uintptr_t addr)
{
	size_t i = pagetable_search(table, addr, aml_page_size());
	return i == table->count ? NULL : &table->mappings[i];
}

struct emu_mapping *emu_pagetable_find(const struct emu_pagetable *table,
                                       uintptr_t addr)
{
	struct emu_mapping *m = emu_pagetable_next(table, addr);
	return m != NULL && m->start <= addr ? m : NULL;
}

static int pagetable_reserve(struct emu_pagetable *table)
{
	if (table->count < table->allocated)
		return 0;
	size_t allocated = table->allocated ? 2 * table->allocated : 16;
	struct emu_mapping *m =
	        realloc(table->mappings, allocated * sizeof(*m));
	if (m == NULL)
		return AML_ENOMEM;
	table->mappings = m;
	table->allocated = allocated;
	return 0;
}

/* Recount a piece's unplaced pages: a cut splits them. */
static void pagetable_recount(struct emu_mapping *m)
{
	m->unplaced = 0;
	for (size_t i = 0; i < m->npages; i++)
		m->unplaced += !emu_label_placed(m->labels[i]);
	emu_mapping_update_uniform(m);
}

void emu_mapping_update_uniform(struct emu_mapping *m)
{
	m->uniform =
	        m->npages > 0 && m->unplaced == 0 ? m->labels[0] : EMU_MIXED;
	for (size_t i = 1; i < m->npages && m->uniform != EMU_MIXED; i++) {
		if (m->labels[i] != m->labels[0])
			m->uniform = EMU_MIXED;
	}
}

int emu_pagetable_insert(struct emu_pagetable *table,
                         const struct emu_mapping *mapping)
{
	int err = pagetable_reserve(table);
	if (err != 0)
		return err;
	size_t i = pagetable_search(table, mapping->start, aml_page_size());
	memmove(&table->mappings[i + 1], &table->mappings[i],
	        (table->count - i) * sizeof(*mapping));
	table->mappings[i] = *mapping;
	table->count++;
	return 0;
}

int emu_pagetable_cut(struct emu_pagetable *table,
                      struct emu_mapping *m,
                      size_t first,
                      size_t npages,
                      int (*release)(void *arg),
                      void *arg)
{
	size_t page = aml_page_size();
	size_t i = (size_t)(m - table->mappings);
	size_t right_pages = m->npages - first - npages;
	uint8_t *labels = NULL;
	if (first > 0 && right_pages > 0) {
		labels = malloc(right_pages);
		if (labels == NULL || pagetable_reserve(table) != 0) {
			free(labels);
			return AML_ENOMEM;
		}
		m = &table->mappings[i]; /* reserve may move the array */
	}
	int err = release(arg);
	if (err != 0) {
		free(labels);
		return err;
	}
	if (first > 0 && right_pages > 0) {
		/* Both sides stay: the right one becomes a new mapping. */
		memcpy(labels, m->labels + first + npages, right_pages);
		struct emu_mapping right = *m;
		right.start = m->start + (first + npages) * page;
		right.npages = right_pages;
		right.labels = labels;
		m->npages = first;
		memmove(&table->mappings[i + 2], &table->mappings[i + 1],
		        (table->count - i - 1) * sizeof(*m));
		table->mappings[i + 1] = right;
		table->count++;
	} else if (first > 0) {
		m->npages = first;
	} else if (right_pages > 0) {
		memmove(m->labels, m->labels + npages, right_pages);
		m->start += npages * page;
		m->npages = right_pages;
	} else {
		free(m->labels);
		memmove(m, m + 1, (table->count - i - 1) * sizeof(*m));
		table->count--;
		return 0;
	}
	/* A piece of a mixed mapping may be uniform now. */
	pagetable_recount(&table->mappings[i]);
	if (first > 0 && right_pages > 0)
		pagetable_recount(&table->mappings[i + 1]);
	return 0;
}

void emu_pagetable_fini(struct emu_pagetable *table)
{
	for (size_t i = 0; i < table->count; i++)
		free(table->mappings[i].labels);
	free(table->mappings);
	*table = (struct emu_pagetable){.mappings = NULL};
}
