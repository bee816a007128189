// SPDX-License-Identifier: BSD-3-Clause
// Bindings applied and checked page by page on the emulator (and on this
// machine's node 0): single, interleave, block and custom, by page and by
// tile (contiguous and in-place tilings), a page moved behind the binding's
// back, and bad input.
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/binding.h>
#include <aml/binding/custom.h>
#include <aml/binding/devices.h>
#include <aml/layout.h>
#include <aml/tiling.h>
#include <aml/tiling/nd.h>

namespace
{

size_t Page()
{
	return aml_page_size();
}

class BindingEmulated : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		ASSERT_EQ(aml_emu_create(&t, "knl-flat;scale=1/1024", nullptr),
		          0);
		ddr = aml_topology_device(t, 0);
		mcdram = aml_topology_device(t, 1);
		buf = static_cast<char *>(aml_device_map(ddr, 16 * Page()));
		ASSERT_NE(buf, nullptr);
		std::memset(buf, 1, 16 * Page());
		// The buffer as 16 pages of bytes, one tile per 2 pages.
		size_t dims[1] = {16 * Page()}, tile[1] = {2 * Page()};
		ASSERT_EQ(aml_layout_init(&bytes, buf, AML_LAYOUT_ORDER_C, 1, 1,
		                          dims, nullptr),
		          0);
		ASSERT_EQ(aml_tiling_nd_init(&tiling, &bytes, tile,
		                             AML_TILING_ORDER_ROW_MAJOR,
		                             AML_TILING_RESIZE,
		                             AML_TILING_IN_PLACE),
		          0);
	}
	void TearDown() override
	{
		aml_tiling_nd_fini(&tiling);
		aml_topology_destroy(&t);
	}
	std::vector<int> Locate(size_t npages = 16)
	{
		std::vector<int> ids(npages);
		EXPECT_EQ(aml_topology_locate(t, buf, npages, ids.data()), 0);
		return ids;
	}
	size_t Misplaced(const struct aml_binding *b, std::vector<size_t> *out)
	{
		size_t count = 0;
		out->assign(16, 999);
		EXPECT_EQ(aml_binding_check(b, t, &tiling.base, buf,
		                            out->data(), out->size(), &count),
		          0);
		out->resize(std::min(count, out->size()));
		return count;
	}

	struct aml_topology *t = nullptr;
	const struct aml_device *ddr = nullptr, *mcdram = nullptr;
	char *buf = nullptr;
	struct aml_layout bytes;
	AML_TILING_ND_DECL(tiling);
};

TEST_F(BindingEmulated, InterleaveByPageAppliesAndChecks)
{
	const struct aml_device *two[2] = {ddr, mcdram};
	AML_BINDING_DEVICES_DECL(b);
	ASSERT_EQ(aml_binding_devices_init(&b, two, 2, AML_BINDING_INTERLEAVE,
	                                   AML_BINDING_PAGE),
	          0);
	std::vector<size_t> misplaced;
	EXPECT_EQ(Misplaced(&b.base, &misplaced), 8u); // odd pages on ddr
	ASSERT_EQ(aml_binding_apply(&b.base, &tiling.base, buf), 0);
	std::vector<int> expected;
	for (int i = 0; i < 16; i++)
		expected.push_back(i % 2);
	EXPECT_EQ(Locate(), expected);
	EXPECT_EQ(Misplaced(&b.base, &misplaced), 0u);
	EXPECT_EQ(buf[5 * Page()], 1); // data moved with the pages
	// Behind the binding's back: page 3 goes to ddr.
	ASSERT_EQ(aml_device_move(ddr, buf + 3 * Page(), Page()), 0);
	EXPECT_EQ(Misplaced(&b.base, &misplaced), 1u);
	EXPECT_EQ(misplaced, std::vector<size_t>{3});
	aml_binding_devices_fini(&b);
}

TEST_F(BindingEmulated, BlockGivesContiguousShares)
{
	const struct aml_device *two[2] = {mcdram, ddr};
	AML_BINDING_DEVICES_DECL(b);
	ASSERT_EQ(aml_binding_devices_init(&b, two, 2, AML_BINDING_BLOCK,
	                                   AML_BINDING_PAGE),
	          0);
	ASSERT_EQ(aml_binding_apply(&b.base, &tiling.base, buf), 0);
	std::vector<int> expected(8, 1);
	expected.resize(16, 0);
	EXPECT_EQ(Locate(), expected);
	aml_binding_devices_fini(&b);
}

// The run from unit u: it holds one device, and (the devices being
// distinct) the unit after it has another.
void ExpectRun(const struct aml_binding *b, size_t u, size_t units, size_t *end)
{
	const struct aml_binding_ops *ops = b->ops;
	*end = ops->run_end(b, u, units);
	ASSERT_GT(*end, u);
	ASSERT_LE(*end, units);
	const struct aml_device *dev = ops->device_of(b, u, units);
	EXPECT_EQ(ops->device_of(b, *end - 1, units), dev);
	if (*end < units) {
		EXPECT_NE(ops->device_of(b, *end, units), dev);
	}
	if (units <= 40) { // small enough to ask every unit
		for (size_t v = u; v < *end; v++) {
			EXPECT_EQ(ops->device_of(b, v, units), dev) << v;
		}
	}
}

// The three devices of an emulated qemu-3node machine.
class BindingRuns : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		ASSERT_EQ(aml_emu_create(&t, "qemu-3node;scale=1/256", nullptr),
		          0);
		for (size_t i = 0; i < 3; i++)
			node[i] = aml_topology_device(t, i);
	}
	void TearDown() override
	{
		aml_topology_destroy(&t);
	}
	struct aml_topology *t = nullptr;
	const struct aml_device *node[3] = {};
};

// run_end against device_of, for small unit counts and for counts large
// enough to need 128-bit arithmetic.
TEST_F(BindingRuns, RunEndAgreesWithDeviceOf)
{
	const struct {
		enum aml_binding_distribution kind;
		size_t ndevices;
	} cases[] = {{AML_BINDING_SINGLE, 1},     {AML_BINDING_INTERLEAVE, 1},
	             {AML_BINDING_INTERLEAVE, 3}, {AML_BINDING_BLOCK, 1},
	             {AML_BINDING_BLOCK, 2},      {AML_BINDING_BLOCK, 3}};
	for (const auto &c : cases) {
		SCOPED_TRACE(testing::Message() << "distribution " << c.kind
		                                << ", devices " << c.ndevices);
		AML_BINDING_DEVICES_DECL(b);
		ASSERT_EQ(aml_binding_devices_init(&b, node, c.ndevices, c.kind,
		                                   AML_BINDING_PAGE),
		          0);
		ASSERT_NE(b.base.ops->run_end, nullptr);
		size_t end;
		for (size_t units = 1; units <= 40; units++) {
			for (size_t u = 0; u < units; u++)
				ExpectRun(&b.base, u, units, &end);
		}
		// Past 2^32 units block shares are computed in 128 bits:
		// walk the runs, one per device.
		const size_t huge = (SIZE_MAX >> 2) + 5;
		size_t runs = 0;
		for (size_t u = 0; u < huge && runs <= c.ndevices; u = end) {
			ExpectRun(&b.base, u, huge, &end);
			runs++;
		}
		if (c.kind != AML_BINDING_INTERLEAVE || c.ndevices == 1) {
			EXPECT_EQ(runs, c.ndevices);
		}
		aml_binding_devices_fini(&b);
	}
}

// A touched buffer of `npages` pages mapped on `dev`, tiled in pages.
struct PagesOnDevice {
	PagesOnDevice(const struct aml_device *d,
	              size_t npages,
	              char fill,
	              enum aml_tiling_storage storage)
	    : dev(d), size(npages * Page())
	{
		buf = static_cast<char *>(aml_device_map(dev, size));
		if (buf == nullptr)
			return;
		std::memset(buf, fill, size);
		size_t dims[1] = {size}, tile[1] = {Page()};
		ok = aml_layout_init(&layout, buf, AML_LAYOUT_ORDER_C, 1, 1,
		                     dims, nullptr) == 0 &&
		     aml_tiling_nd_init(&tiling, &layout, tile,
		                        AML_TILING_ORDER_ROW_MAJOR,
		                        AML_TILING_RESIZE, storage) == 0;
	}
	~PagesOnDevice()
	{
		aml_tiling_nd_fini(&tiling);
		if (buf != nullptr) {
			EXPECT_EQ(aml_device_unmap(dev, buf, size), 0);
		}
	}
	const struct aml_device *dev;
	size_t size;
	char *buf = nullptr;
	struct aml_layout layout;
	AML_TILING_ND_DECL(tiling) = {};
	bool ok = false;
};

// Block shares of 16 pages over three devices are 6, 5 and 5 pages.
TEST_F(BindingRuns, BlockOverThreeDevicesHasRaggedShares)
{
	const struct aml_device *three[3] = {node[1], node[2], node[0]};
	PagesOnDevice pages(three[2], 16, 7, AML_TILING_IN_PLACE);
	ASSERT_TRUE(pages.ok);
	AML_BINDING_DEVICES_DECL(b);
	ASSERT_EQ(aml_binding_devices_init(&b, three, 3, AML_BINDING_BLOCK,
	                                   AML_BINDING_PAGE),
	          0);
	ASSERT_EQ(aml_binding_apply(&b.base, &pages.tiling.base, pages.buf), 0);
	std::vector<int> ids(16);
	ASSERT_EQ(aml_topology_locate(t, pages.buf, 16, ids.data()), 0);
	std::vector<int> expected(6, 1);
	expected.resize(11, 2);
	expected.resize(16, 0);
	EXPECT_EQ(ids, expected);
	size_t count = 99;
	EXPECT_EQ(aml_binding_check(&b.base, t, &pages.tiling.base, pages.buf,
	                            nullptr, 0, &count),
	          0);
	EXPECT_EQ(count, 0u);
	EXPECT_EQ(pages.buf[pages.size - 1], 7);
}

// A run_end that makes no progress is refused before anything moves, by
// apply and by check.
const struct aml_device *OnlyDevice(const struct aml_binding *b, size_t, size_t)
{
	return static_cast<const struct aml_device *>(b->data);
}
enum aml_binding_unit ByPage(const struct aml_binding *)
{
	return AML_BINDING_PAGE;
}
size_t NoProgress(const struct aml_binding *, size_t unit, size_t)
{
	return unit;
}

TEST_F(BindingEmulated, RunEndWithoutProgressIsRefused)
{
	const struct aml_binding_ops ops = {OnlyDevice, ByPage, NoProgress};
	const struct aml_binding broken = {&ops, (void *)mcdram};
	EXPECT_EQ(aml_binding_apply(&broken, &tiling.base, buf), AML_EINVAL);
	EXPECT_EQ(Locate(), std::vector<int>(16, 0));
	size_t count = 42;
	EXPECT_EQ(aml_binding_check(&broken, t, &tiling.base, buf, nullptr, 0,
	                            &count),
	          AML_EINVAL);
	EXPECT_EQ(count, 42u);
}

TEST_F(BindingEmulated, InterleaveByTileMovesWholeTiles)
{
	const struct aml_device *two[2] = {mcdram, ddr};
	struct aml_binding *b = nullptr;
	ASSERT_EQ(aml_binding_devices_create(&b, two, 2, AML_BINDING_INTERLEAVE,
	                                     AML_BINDING_TILE),
	          0);
	ASSERT_EQ(aml_binding_apply(b, &tiling.base, buf), 0);
	std::vector<int> expected;
	for (int i = 0; i < 16; i++)
		expected.push_back(i / 2 % 2 == 0 ? 1 : 0);
	EXPECT_EQ(Locate(), expected);
	std::vector<size_t> misplaced;
	EXPECT_EQ(Misplaced(b, &misplaced), 0u);
	aml_binding_devices_destroy(&b);
	EXPECT_EQ(b, nullptr);
}

TEST_F(BindingEmulated, TilesOfA2dArrayCutInPlace)
{
	// 16 rows of one page each, tiles of 4 rows x the full row: tile i
	// is pages 4i to 4i+3, whatever the storage order of the tiles.
	size_t dims[2] = {16, Page() / 8}, tile[2] = {4, Page() / 8};
	struct aml_layout matrix;
	ASSERT_EQ(aml_layout_init(&matrix, buf, AML_LAYOUT_ORDER_C, 8, 2, dims,
	                          nullptr),
	          0);
	AML_TILING_ND_DECL(rows);
	ASSERT_EQ(aml_tiling_nd_init(&rows, &matrix, tile,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	const struct aml_device *two[2] = {mcdram, ddr};
	AML_BINDING_DEVICES_DECL(b);
	ASSERT_EQ(aml_binding_devices_init(&b, two, 2, AML_BINDING_INTERLEAVE,
	                                   AML_BINDING_TILE),
	          0);
	ASSERT_EQ(aml_binding_apply(&b.base, &rows.base, buf), 0);
	std::vector<int> expected;
	for (int i = 0; i < 16; i++)
		expected.push_back(i / 4 % 2 == 0 ? 1 : 0);
	EXPECT_EQ(Locate(), expected);
	// Column tiles (16 rows x half a row): every page holds both tiles of
	// its row; the later tile (odd ids, on ddr) wins every page.
	size_t half[2] = {16, Page() / 16};
	AML_TILING_ND_DECL(columns);
	ASSERT_EQ(aml_tiling_nd_init(&columns, &matrix, half,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	ASSERT_EQ(aml_binding_apply(&b.base, &columns.base, buf), 0);
	EXPECT_EQ(Locate(), std::vector<int>(16, 0));
	aml_tiling_nd_fini(&rows);
	aml_tiling_nd_fini(&columns);
}

const struct aml_device *EveryThirdOnSecond(size_t unit, size_t, void *arg)
{
	auto devs = static_cast<const struct aml_device *const *>(arg);
	if (unit == 15)
		return nullptr; // left alone
	return unit % 3 == 0 ? devs[1] : devs[0];
}

TEST_F(BindingEmulated, CustomCallbackAndUnitsLeftAlone)
{
	const struct aml_device *two[2] = {ddr, mcdram};
	AML_BINDING_CUSTOM_DECL(b);
	ASSERT_EQ(aml_binding_custom_init(&b, EveryThirdOnSecond, two,
	                                  AML_BINDING_PAGE),
	          0);
	ASSERT_EQ(aml_device_move(mcdram, buf + 15 * Page(), Page()), 0);
	ASSERT_EQ(aml_binding_apply(&b.base, &tiling.base, buf), 0);
	std::vector<int> ids = Locate();
	for (size_t i = 0; i < 15; i++)
		EXPECT_EQ(ids[i], i % 3 == 0 ? 1 : 0) << i;
	EXPECT_EQ(ids[15], 1); // untouched by the binding
	std::vector<size_t> misplaced;
	EXPECT_EQ(Misplaced(&b.base, &misplaced), 0u);
	aml_binding_custom_fini(&b);
}

TEST_F(BindingEmulated, SingleOntoAFullDeviceFails)
{
	// MCDRAM at this scale holds 16 MiB: fill it, then bind there.
	char *fill =
	        static_cast<char *>(aml_device_map(mcdram, mcdram->capacity));
	ASSERT_NE(fill, nullptr);
	std::memset(fill, 1, mcdram->capacity); // placed at first touch
	AML_BINDING_DEVICES_DECL(b);
	ASSERT_EQ(aml_binding_devices_init(&b, &mcdram, 1, AML_BINDING_SINGLE,
	                                   AML_BINDING_PAGE),
	          0);
	// Nothing can move: the kernel's mbind(MPOL_MF_MOVE |
	// MPOL_MF_STRICT) says EIO, AML_FAILURE, and so does the emulator.
	EXPECT_EQ(aml_binding_apply(&b.base, &tiling.base, buf), AML_FAILURE);
	EXPECT_EQ(Locate(), std::vector<int>(16, 0)); // nothing moved
	aml_device_unmap(mcdram, fill, mcdram->capacity);
	aml_binding_devices_fini(&b);
}

TEST_F(BindingEmulated, BadInput)
{
	const struct aml_device *two[2] = {ddr, mcdram};
	const struct aml_device *with_null[2] = {ddr, nullptr};
	AML_BINDING_DEVICES_DECL(b);
	struct {
		const char *what;
		const struct aml_device *const *devs;
		size_t n;
		int distribution, unit;
	} cases[] = {
	        {"NULL devices", nullptr, 1, AML_BINDING_SINGLE,
	         AML_BINDING_PAGE},
	        {"no device", two, 0, AML_BINDING_INTERLEAVE, AML_BINDING_PAGE},
	        {"too many", two, AML_BINDING_DEVICES_MAX + 1,
	         AML_BINDING_INTERLEAVE, AML_BINDING_PAGE},
	        {"a NULL device", with_null, 2, AML_BINDING_INTERLEAVE,
	         AML_BINDING_PAGE},
	        {"single over two", two, 2, AML_BINDING_SINGLE,
	         AML_BINDING_PAGE},
	        {"unknown distribution", two, 2, AML_BINDING_DISTRIBUTION_COUNT,
	         AML_BINDING_PAGE},
	        {"unknown unit", two, 2, AML_BINDING_BLOCK,
	         AML_BINDING_UNIT_COUNT},
	        {"negative unit", two, 2, AML_BINDING_BLOCK, -1},
	};
	for (const auto &c : cases) {
		std::memset(&b, 0x5a, sizeof(b));
		EXPECT_EQ(aml_binding_devices_init(
		                  &b, c.devs, c.n,
		                  (enum aml_binding_distribution)c.distribution,
		                  (enum aml_binding_unit)c.unit),
		          AML_EINVAL)
		        << c.what;
		EXPECT_EQ(reinterpret_cast<unsigned char *>(&b)[0], 0x5a)
		        << c.what;
	}
	EXPECT_EQ(aml_binding_devices_init(nullptr, two, 1, AML_BINDING_SINGLE,
	                                   AML_BINDING_PAGE),
	          AML_EINVAL);
	struct aml_binding *out = reinterpret_cast<struct aml_binding *>(1);
	EXPECT_EQ(aml_binding_devices_create(&out, two, 0, AML_BINDING_SINGLE,
	                                     AML_BINDING_PAGE),
	          AML_EINVAL);
	EXPECT_EQ(out, nullptr);
	AML_BINDING_CUSTOM_DECL(c);
	EXPECT_EQ(
	        aml_binding_custom_init(&c, nullptr, nullptr, AML_BINDING_PAGE),
	        AML_EINVAL);
	EXPECT_EQ(aml_binding_custom_create(nullptr, EveryThirdOnSecond,
	                                    nullptr, AML_BINDING_PAGE),
	          AML_EINVAL);

	ASSERT_EQ(aml_binding_devices_init(&b, two, 2, AML_BINDING_INTERLEAVE,
	                                   AML_BINDING_PAGE),
	          0);
	size_t count = 42, pages[1];
	EXPECT_EQ(aml_binding_apply(nullptr, &tiling.base, buf), AML_EINVAL);
	EXPECT_EQ(aml_binding_apply(&b.base, nullptr, buf), AML_EINVAL);
	EXPECT_EQ(aml_binding_apply(&b.base, &tiling.base, nullptr),
	          AML_EINVAL);
	EXPECT_EQ(aml_binding_apply(&b.base, &tiling.base, buf + 1),
	          AML_EINVAL);
	EXPECT_EQ(aml_binding_check(&b.base, nullptr, &tiling.base, buf, pages,
	                            1, &count),
	          AML_EINVAL);
	EXPECT_EQ(aml_binding_check(&b.base, t, &tiling.base, buf, nullptr, 1,
	                            &count),
	          AML_EINVAL);
	EXPECT_EQ(aml_binding_check(&b.base, t, &tiling.base, buf, pages, 1,
	                            nullptr),
	          AML_EINVAL);
	EXPECT_EQ(count, 42u);
	EXPECT_EQ(Locate(), std::vector<int>(16, 0)); // nothing moved
	// A binding to devices of another topology cannot be checked here.
	struct aml_topology *other = nullptr;
	ASSERT_EQ(aml_emu_create(&other, "single", nullptr), 0);
	EXPECT_EQ(aml_binding_check(&b.base, other, &tiling.base, buf, pages, 1,
	                            &count),
	          AML_EINVAL);
	aml_topology_destroy(&other);
	aml_binding_devices_destroy(nullptr);
}

TEST(BindingNuma, SingleOnNode0)
{
	const struct aml_topology *t = aml_topology_default();
	ASSERT_NE(t, nullptr);
	const struct aml_device *node0 = aml_topology_device_of_node(t, 0);
	ASSERT_NE(node0, nullptr);
	PagesOnDevice pages(node0, 8, 1, AML_TILING_CONTIGUOUS);
	ASSERT_TRUE(pages.ok);
	AML_BINDING_DEVICES_DECL(b);
	ASSERT_EQ(aml_binding_devices_init(&b, &node0, 1, AML_BINDING_SINGLE,
	                                   AML_BINDING_TILE),
	          0);
	ASSERT_EQ(aml_binding_apply(&b.base, &pages.tiling.base, pages.buf), 0);
	size_t count = 42;
	ASSERT_EQ(aml_binding_check(&b.base, t, &pages.tiling.base, pages.buf,
	                            nullptr, 0, &count),
	          0);
	EXPECT_EQ(count, 0u);
}

} // namespace
