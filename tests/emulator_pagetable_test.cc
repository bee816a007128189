// SPDX-License-Identifier: BSD-3-Clause
// The emulator's page table against a model (an ordered map of the same
// mappings), through a long deterministic series of inserts and cuts of
// every shape (head, tail, middle, whole, a release that fails): after each
// step, the same mappings in the same order, each address found in the
// right one, every page's label where it was, and the tree balanced.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include <aml/error.h>

extern "C" {
#include "emulator/emulator_internal.h"
}

namespace
{

const size_t kPage = aml_page_size();

// The label a page at address a carries, whatever cuts moved it around.
uint8_t LabelOf(uintptr_t a)
{
	return (uint8_t)((a / kPage) % 7);
}

int ReleaseOk(void *)
{
	return 0;
}

int ReleaseFails(void *)
{
	return AML_FAILURE;
}

class PageTable : public ::testing::Test
{
      protected:
	void TearDown() override
	{
		emu_pagetable_fini(&table);
	}
	void Insert(uintptr_t start, size_t npages)
	{
		struct emu_mapping m = {};
		m.start = start;
		m.npages = npages;
		m.labels = static_cast<uint8_t *>(std::malloc(npages));
		ASSERT_NE(m.labels, nullptr);
		for (size_t i = 0; i < npages; i++)
			m.labels[i] = LabelOf(start + i * kPage);
		m.unplaced = 0;
		ASSERT_EQ(emu_pagetable_insert(&table, &m), 0);
		model[start] = npages;
	}
	// Pages [first, first + npages) of the mapping at start.
	int Cut(uintptr_t start, size_t first, size_t npages, bool fail)
	{
		struct emu_mapping *m = emu_pagetable_find(&table, start);
		EXPECT_NE(m, nullptr);
		int err = emu_pagetable_cut(&table, m, first, npages,
		                            fail ? ReleaseFails : ReleaseOk,
		                            nullptr);
		if (err != 0)
			return err;
		size_t total = model[start];
		model.erase(start);
		if (first > 0)
			model[start] = first;
		if (first + npages < total)
			model[start + (first + npages) * kPage] =
			        total - first - npages;
		return 0;
	}
	void ExpectTheModel()
	{
		ASSERT_EQ(table.count, model.size());
		// Balanced, so that every update stays O(log n): an AVL
		// tree of n nodes is at most 1.44 log2(n + 2) high.
		int height = emu_pagetable_check(&table);
		ASSERT_GE(height, 0) << "unbalanced, or a height is wrong";
		EXPECT_LE(height, 1.45 * std::log2(table.count + 2.0));
		const struct emu_mapping *m = emu_pagetable_next(&table, 0);
		for (const auto &[start, npages] : model) {
			ASSERT_NE(m, nullptr);
			ASSERT_EQ(m->start, start);
			ASSERT_EQ(m->npages, npages);
			for (size_t i = 0; i < npages; i++)
				ASSERT_EQ(m->labels[i],
				          LabelOf(start + i * kPage));
			// Its first, last and next-to-it addresses.
			EXPECT_EQ(emu_pagetable_find(&table, start), m);
			EXPECT_EQ(emu_pagetable_find(
			                  &table, start + npages * kPage - 1),
			          m);
			EXPECT_EQ(emu_pagetable_next(&table, start - 1), m);
			m = emu_pagetable_next(&table, start + npages * kPage);
		}
		EXPECT_EQ(m, nullptr);
	}
	struct emu_pagetable table = {};
	std::map<uintptr_t, size_t> model;
};

TEST_F(PageTable, AnEmptyTableFindsNothing)
{
	EXPECT_EQ(emu_pagetable_find(&table, 0x10000), nullptr);
	EXPECT_EQ(emu_pagetable_next(&table, 0), nullptr);
}

TEST_F(PageTable, GapsBetweenMappingsAreNotFound)
{
	Insert(100 * kPage, 4);
	Insert(10 * kPage, 2);
	EXPECT_EQ(emu_pagetable_find(&table, 12 * kPage), nullptr);
	EXPECT_EQ(emu_pagetable_next(&table, 12 * kPage)->start, 100 * kPage);
	EXPECT_EQ(emu_pagetable_find(&table, 104 * kPage), nullptr);
	EXPECT_EQ(emu_pagetable_next(&table, 104 * kPage), nullptr);
	ExpectTheModel();
}

// Thousands of steps of every kind, in slots of 64 pages apart so that
// mappings never overlap; the model says what the table must hold.
TEST_F(PageTable, FollowsTheModelThroughInsertsAndCutsOfEveryShape)
{
	std::mt19937 random(2026);
	const size_t kSlots = 3000;
	for (int step = 0; step < 20000; step++) {
		uintptr_t slot = 1 + random() % kSlots;
		uintptr_t start = slot * 64 * kPage;
		auto live = model.lower_bound(start);
		bool in_slot =
		        live != model.end() && live->first < start + 64 * kPage;
		if (!in_slot) {
			Insert(start + (random() % 8) * kPage,
			       1 + random() % 48);
		} else {
			size_t total = live->second;
			size_t first = random() % total;
			size_t npages = 1 + random() % (total - first);
			bool fail = random() % 16 == 0;
			int err = Cut(live->first, first, npages, fail);
			ASSERT_EQ(err, fail ? AML_FAILURE : 0);
		}
		if (step % 1000 == 0)
			ExpectTheModel();
	}
	ExpectTheModel();
}

// Cutting a mapping away leaves every other where it was: callers hold
// pointers to mappings across other mappings' updates.
TEST_F(PageTable, MappingsStayAtTheirAddressesWhileOthersChange)
{
	for (uintptr_t i = 1; i <= 200; i++)
		Insert(i * 64 * kPage, 8);
	struct emu_mapping *kept = emu_pagetable_find(&table, 100 * 64 * kPage);
	for (uintptr_t i = 1; i <= 200; i++) {
		if (i == 100)
			continue;
		ASSERT_EQ(Cut(i * 64 * kPage, 0, 8, false), 0);
	}
	EXPECT_EQ(emu_pagetable_find(&table, 100 * 64 * kPage), kept);
	ExpectTheModel();
}

} // namespace
