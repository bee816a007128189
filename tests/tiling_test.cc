// SPDX-License-Identifier: BSD-3-Clause
// Tilings: every tile of 1d, 2d, 3d and 4d shapes against a reference model
// (ids, coordinates, dims, pointers, layouts), the transpose read, border
// sizes, storages, iteration, constructors and bad input.
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml/error.h>
#include <aml/layout.h>
#include <aml/tiling.h>
#include <aml/tiling/nd.h>

namespace
{

using Dims = std::vector<size_t>;

// Calls fn for every coordinate vector of a box of dims, first index slowest.
void ForEachIndex(const Dims &dims, const std::function<void(const Dims &)> &fn)
{
	Dims x(dims.size(), 0);
	for (;;) {
		fn(x);
		size_t d = dims.size();
		while (d > 0 && ++x[d - 1] == dims[d - 1])
			x[--d] = 0;
		if (d == 0)
			return;
	}
}

Dims Add(const Dims &a, const Dims &b)
{
	Dims out(a.size());
	for (size_t d = 0; d < a.size(); d++)
		out[d] = a[d] + b[d];
	return out;
}

// What the header promises, computed the obvious way.
struct Model {
	Dims dims, tile, grid;
	enum aml_tiling_order order;
	enum aml_tiling_border border;
	enum aml_tiling_storage storage;
	size_t element_size;
	size_t ntiles = 1;

	Model(const Dims &dims_,
	      const Dims &tile_,
	      enum aml_tiling_order order_,
	      enum aml_tiling_border border_,
	      enum aml_tiling_storage storage_,
	      size_t element_size_)
	    : dims(dims_), tile(tile_), order(order_), border(border_),
	      storage(storage_), element_size(element_size_)
	{
		for (size_t d = 0; d < dims.size(); d++) {
			if (border == AML_TILING_RESIZE && tile[d] > dims[d])
				tile[d] = dims[d];
			grid.push_back((dims[d] + tile[d] - 1) / tile[d]);
			ntiles *= grid.back();
		}
	}

	Dims Coords(size_t id) const
	{
		Dims c(dims.size());
		for (size_t k = 0; k < dims.size(); k++) {
			size_t d = order == AML_TILING_ORDER_ROW_MAJOR
			                   ? dims.size() - 1 - k
			                   : k;
			c[d] = id % grid[d];
			id /= grid[d];
		}
		return c;
	}

	Dims Origin(const Dims &c) const
	{
		Dims o(dims.size());
		for (size_t d = 0; d < dims.size(); d++)
			o[d] = c[d] * tile[d];
		return o;
	}

	Dims ValidDims(const Dims &c) const
	{
		Dims v(dims.size());
		for (size_t d = 0; d < dims.size(); d++)
			v[d] = std::min(tile[d], dims[d] - c[d] * tile[d]);
		return v;
	}

	Dims TileDims(const Dims &c) const
	{
		return border == AML_TILING_PAD ? tile : ValidDims(c);
	}

	size_t Slot() const
	{
		size_t s = element_size;
		for (size_t t : tile)
			s *= t;
		return s;
	}
};

struct aml_layout MakeLayout(void *base,
                             enum aml_layout_order order,
                             size_t element_size,
                             const Dims &dims,
                             const size_t *strides = nullptr)
{
	struct aml_layout l;
	int err = aml_layout_init(&l, base, order, element_size, dims.size(),
	                          dims.data(), strides);
	EXPECT_EQ(err, 0) << aml_errname(err);
	return l;
}

size_t Offset(const struct aml_layout &l, const Dims &coords)
{
	size_t off = SIZE_MAX;
	EXPECT_EQ(aml_layout_offset(&l, coords.data(), &off), 0);
	return off;
}

Dims TileCoords(const struct aml_tiling *t, size_t id)
{
	Dims c(AML_LAYOUT_NDIMS_MAX, SIZE_MAX);
	EXPECT_EQ(aml_tiling_tile_coords(t, id, c.data()), 0);
	c.resize((size_t)aml_tiling_ndims(t));
	return c;
}

Dims Query(int (*fn)(const struct aml_tiling *, size_t, size_t *),
           const struct aml_tiling *t,
           size_t id)
{
	Dims out(AML_LAYOUT_NDIMS_MAX, SIZE_MAX);
	EXPECT_EQ(fn(t, id, out.data()), 0);
	out.resize((size_t)aml_tiling_ndims(t));
	return out;
}

// ---- Every tile of many shapes against the model.

struct Shape {
	const char *name;
	Dims dims, tile;
};

const Shape kShapes[] = {
        {"1d_ragged", {10}, {3}},
        {"1d_exact", {12}, {4}},
        {"1d_one_tile", {5}, {5}},
        {"2d_ragged", {10, 7}, {3, 2}},
        {"2d_exact", {8, 6}, {4, 3}},
        {"2d_rows", {10, 7}, {1, 7}},
        {"2d_columns", {10, 7}, {10, 1}},
        {"2d_tile_larger_than_array", {5, 5}, {8, 2}},
        {"2d_ragged_slowest_only_c", {7, 8}, {2, 4}},
        {"3d_ragged", {5, 7, 9}, {2, 3, 4}},
        {"3d_exact", {4, 4, 4}, {2, 2, 2}},
        {"3d_distinct_grid", {6, 10, 3}, {1, 3, 2}},
        {"4d_mixed", {3, 4, 5, 2}, {2, 3, 2, 1}},
};

struct Case {
	Shape shape;
	enum aml_layout_order array_order;
	enum aml_tiling_order order;
	enum aml_tiling_border border;
	enum aml_tiling_storage storage;
};

std::string CaseName(const ::testing::TestParamInfo<Case> &info)
{
	const Case &c = info.param;
	return std::string(c.shape.name) +
	       (c.array_order == AML_LAYOUT_ORDER_C ? "_C" : "_F") +
	       (c.order == AML_TILING_ORDER_ROW_MAJOR ? "_row" : "_col") +
	       (c.border == AML_TILING_PAD ? "_pad" : "_resize") +
	       (c.storage == AML_TILING_IN_PLACE ? "_inplace" : "_contig");
}

std::vector<Case> AllCases()
{
	std::vector<Case> out;
	for (const Shape &s : kShapes) {
		for (auto ao : {AML_LAYOUT_ORDER_C, AML_LAYOUT_ORDER_FORTRAN}) {
			for (auto o : {AML_TILING_ORDER_ROW_MAJOR,
			               AML_TILING_ORDER_COLUMN_MAJOR}) {
				for (auto b :
				     {AML_TILING_PAD, AML_TILING_RESIZE}) {
					for (auto st : {AML_TILING_IN_PLACE,
					                AML_TILING_CONTIGUOUS})
						out.push_back(
						        {s, ao, o, b, st});
				}
			}
		}
	}
	return out;
}

// Would IN_PLACE + PAD over a dense array have room for the padding? Only if
// no dimension but the slowest is ragged.
bool PadFitsDense(const Case &c, const Model &m)
{
	size_t n = m.dims.size();
	for (size_t k = 0; k + 1 < n; k++) {
		size_t d = c.array_order == AML_LAYOUT_ORDER_C ? n - 1 - k : k;
		if (m.grid[d] * m.tile[d] != m.dims[d])
			return false;
	}
	return true;
}

void PrintTo(const Case &c, std::ostream *os)
{
	*os << CaseName(::testing::TestParamInfo<Case>(c, 0));
}

class TilingEveryTile : public ::testing::TestWithParam<Case>
{
};

TEST_P(TilingEveryTile, MatchesTheModel)
{
	const Case &c = GetParam();
	const size_t esize = sizeof(int32_t);
	Model m(c.shape.dims, c.shape.tile, c.order, c.border, c.storage,
	        esize);
	struct aml_layout shape =
	        MakeLayout(nullptr, c.array_order, esize, c.shape.dims);

	AML_TILING_ND_DECL(nd);
	int err = aml_tiling_nd_init(&nd, &shape, c.shape.tile.data(), c.order,
	                             c.border, c.storage);
	if (c.storage == AML_TILING_IN_PLACE && c.border == AML_TILING_PAD &&
	    !PadFitsDense(c, m)) {
		EXPECT_EQ(err, AML_EINVAL) << "padding would alias elements";
		return;
	}
	ASSERT_EQ(err, 0) << aml_errname(err);
	const struct aml_tiling *t = &nd.base;

	// The real buffer: aml_tiling_bytes() of it, whatever the storage.
	size_t bytes = aml_tiling_bytes(t);
	ASSERT_GT(bytes, 0u);
	std::vector<int32_t> buf(bytes / esize + 1);
	struct aml_layout array =
	        MakeLayout(buf.data(), c.array_order, esize, c.shape.dims);
	AML_TILING_ND_DECL(real);
	ASSERT_EQ(aml_tiling_nd_init(&real, &array, c.shape.tile.data(),
	                             c.order, c.border, c.storage),
	          0);
	const struct aml_tiling *r = &real.base;
	const struct aml_tiling any_shape = {&aml_tiling_nd_ops, &real};

	ASSERT_EQ(aml_tiling_ntiles(t), m.ntiles);
	ASSERT_EQ(aml_tiling_ndims(t), (int)m.dims.size());
	Dims grid(m.dims.size());
	ASSERT_EQ(aml_tiling_grid_dims(t, grid.data()), 0);
	EXPECT_EQ(grid, m.grid);
	if (c.storage == AML_TILING_CONTIGUOUS) {
		EXPECT_EQ(bytes, m.ntiles * m.Slot());
	}

	// Each byte of storage belongs to at most one tile element.
	std::vector<int> owner(bytes, 0);
	for (size_t id = 0; id < m.ntiles; id++) {
		SCOPED_TRACE("tile " + std::to_string(id));
		Dims coords = TileCoords(t, id);
		ASSERT_EQ(coords, m.Coords(id));
		size_t back = SIZE_MAX;
		ASSERT_EQ(aml_tiling_tile_id(t, coords.data(), &back), 0);
		EXPECT_EQ(back, id);
		Dims dims = Query(aml_tiling_tile_dims, t, id);
		EXPECT_EQ(dims, m.TileDims(coords));
		EXPECT_EQ(Query(aml_tiling_tile_valid_dims, t, id),
		          m.ValidDims(coords));
		Dims origin = Query(aml_tiling_tile_origin, t, id);
		EXPECT_EQ(origin, m.Origin(coords));

		struct aml_layout tl, rl;
		ASSERT_EQ(aml_tiling_tile_layout(t, id, &tl), 0);
		ASSERT_EQ(aml_tiling_tile_layout(r, id, &rl), 0);
		EXPECT_EQ(Dims(tl.dims, tl.dims + tl.ndims), dims);
		EXPECT_EQ(tl.element_size, esize);
		EXPECT_EQ(tl.order, c.array_order);
		size_t offset = SIZE_MAX;
		ASSERT_EQ(aml_tiling_tile_offset(t, id, &offset), 0);
		EXPECT_EQ(Offset(tl, Dims(dims.size(), 0)), offset);
		void *ptr = aml_tiling_tile_ptr(r, id);
		EXPECT_EQ(ptr, (char *)buf.data() + offset);
		// The any-shape ops agree with the handle's specialised
		// tile_ptr.
		EXPECT_EQ(aml_tiling_tile_ptr(&any_shape, id), ptr);
		EXPECT_EQ(aml_layout_base(&rl), ptr);

		if (c.storage == AML_TILING_IN_PLACE) {
			// A strided view: the array's element at origin + x.
			EXPECT_EQ(offset, Offset(array, origin));
			for (size_t d = 0; d < dims.size(); d++)
				EXPECT_EQ(tl.strides[d], array.strides[d]);
			ForEachIndex(m.ValidDims(coords), [&](const Dims &x) {
				ASSERT_EQ(Offset(tl, x),
				          Offset(array, Add(origin, x)));
			});
		} else {
			// Dense, in its slot.
			EXPECT_EQ(offset, id * m.Slot());
			EXPECT_EQ(aml_layout_is_contiguous(&tl), 1);
		}
		EXPECT_EQ(aml_tiling_tile_bytes(t, id), aml_layout_bytes(&tl));
		if (c.storage == AML_TILING_CONTIGUOUS &&
		    c.border == AML_TILING_PAD) {
			EXPECT_EQ(aml_tiling_tile_bytes(t, id), m.Slot());
		}

		// Every element of the tile, padding included, lies in the
		// storage and in no other tile.
		ForEachIndex(dims, [&](const Dims &x) {
			size_t off = Offset(tl, x);
			ASSERT_LE(off + esize, bytes);
			for (size_t b = 0; b < esize; b++)
				ASSERT_EQ(owner[off + b]++, 0);
		});
	}
}

INSTANTIATE_TEST_SUITE_P(Shapes,
                         TilingEveryTile,
                         ::testing::ValuesIn(AllCases()),
                         CaseName);

// ---- Reading data through tile layouts.

int32_t *At(const struct aml_layout &l, const Dims &x)
{
	return static_cast<int32_t *>(aml_layout_address(&l, x.data()));
}

TEST(Tiling, RowMajorTilesOfFortranDataReadTheTranspose)
{
	// M is 10 x 7 in Fortran order; C is the same bytes as a 7 x 10
	// C-order matrix, i.e. the transpose of M.
	const size_t m = 10, n = 7;
	std::vector<int32_t> buf(m * n);
	struct aml_layout fm =
	        MakeLayout(buf.data(), AML_LAYOUT_ORDER_FORTRAN, 4, {m, n});
	struct aml_layout ct =
	        MakeLayout(buf.data(), AML_LAYOUT_ORDER_C, 4, {n, m});
	ForEachIndex({m, n}, [&](const Dims &x) {
		*At(fm, x) = (int32_t)(100 * x[0] + x[1]);
	});
	// Tiles of 3 x 2 over M, numbered row-major; tiles of 2 x 3 over the
	// transpose, numbered column-major: tile k is the same block of data.
	const size_t tm[] = {3, 2}, tc[] = {2, 3};
	AML_TILING_ND_DECL(a);
	AML_TILING_ND_DECL(b);
	ASSERT_EQ(aml_tiling_nd_init(&a, &fm, tm, AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	ASSERT_EQ(aml_tiling_nd_init(&b, &ct, tc, AML_TILING_ORDER_COLUMN_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	ASSERT_EQ(aml_tiling_ntiles(&a.base), 4u * 4u);
	size_t visited = 0;
	AML_TILING_FOREACH (id, &a.base) {
		Dims ca = TileCoords(&a.base, id), cb = TileCoords(&b.base, id);
		EXPECT_EQ(ca[0], cb[1]);
		EXPECT_EQ(ca[1], cb[0]);
		struct aml_layout la, lb;
		ASSERT_EQ(aml_tiling_tile_layout(&a.base, id, &la), 0);
		ASSERT_EQ(aml_tiling_tile_layout(&b.base, id, &lb), 0);
		ASSERT_EQ(la.dims[0], lb.dims[1]);
		ASSERT_EQ(la.dims[1], lb.dims[0]);
		ForEachIndex({la.dims[0], la.dims[1]}, [&](const Dims &x) {
			int32_t want = (int32_t)(100 * (3 * ca[0] + x[0]) +
			                         2 * ca[1] + x[1]);
			EXPECT_EQ(*At(la, x), want);
			EXPECT_EQ(*At(lb, {x[1], x[0]}), want);
		});
		visited++;
	}
	EXPECT_EQ(visited, 16u);
}

// Packs a dense array into CONTIGUOUS tiles through the layouts, as a copy
// engine would, then reads every element back through the tiles.
void PackAndReadBack(enum aml_layout_order order,
                     enum aml_tiling_order tile_order,
                     enum aml_tiling_border border,
                     const Dims &dims,
                     const Dims &tile)
{
	std::vector<int32_t> src_buf(1);
	for (size_t d : dims)
		src_buf.resize(src_buf.size() * d);
	struct aml_layout src = MakeLayout(src_buf.data(), order, 4, dims);
	int32_t next = 1;
	ForEachIndex(dims, [&](const Dims &x) { *At(src, x) = next++; });

	AML_TILING_ND_DECL(shape);
	ASSERT_EQ(aml_tiling_nd_init(&shape, &src, tile.data(), tile_order,
	                             border, AML_TILING_CONTIGUOUS),
	          0);
	std::vector<int32_t> dst_buf(aml_tiling_bytes(&shape.base) / 4, -1);
	struct aml_layout dst = MakeLayout(dst_buf.data(), order, 4, dims);
	AML_TILING_ND_DECL(packed);
	ASSERT_EQ(aml_tiling_nd_init(&packed, &dst, tile.data(), tile_order,
	                             border, AML_TILING_CONTIGUOUS),
	          0);
	AML_TILING_FOREACH (id, &packed.base) {
		Dims origin = Query(aml_tiling_tile_origin, &packed.base, id);
		Dims valid =
		        Query(aml_tiling_tile_valid_dims, &packed.base, id);
		struct aml_layout tl, from, to;
		ASSERT_EQ(aml_tiling_tile_layout(&packed.base, id, &tl), 0);
		ASSERT_EQ(aml_layout_slice(&from, &src, origin.data(),
		                           valid.data()),
		          0);
		Dims zero(dims.size(), 0);
		ASSERT_EQ(aml_layout_slice(&to, &tl, zero.data(), valid.data()),
		          0);
		ForEachIndex(valid,
		             [&](const Dims &x) { *At(to, x) = *At(from, x); });
	}
	// Element x lives in tile x / tile, at x % tile.
	ForEachIndex(dims, [&](const Dims &x) {
		Dims tc(dims.size()), in(dims.size());
		for (size_t d = 0; d < dims.size(); d++) {
			size_t t = std::min(tile[d], dims[d]);
			if (border == AML_TILING_PAD)
				t = tile[d];
			tc[d] = x[d] / t;
			in[d] = x[d] % t;
		}
		size_t id;
		ASSERT_EQ(aml_tiling_tile_id(&packed.base, tc.data(), &id), 0);
		struct aml_layout tl;
		ASSERT_EQ(aml_tiling_tile_layout(&packed.base, id, &tl), 0);
		ASSERT_EQ(*At(tl, in), *At(src, x));
	});
}

TEST(Tiling, PackIntoContiguousTilesAndReadBack)
{
	for (auto order : {AML_LAYOUT_ORDER_C, AML_LAYOUT_ORDER_FORTRAN}) {
		for (auto to : {AML_TILING_ORDER_ROW_MAJOR,
		                AML_TILING_ORDER_COLUMN_MAJOR}) {
			for (auto border :
			     {AML_TILING_PAD, AML_TILING_RESIZE}) {
				PackAndReadBack(order, to, border, {10, 7},
				                {3, 2});
				PackAndReadBack(order, to, border, {5, 7, 9},
				                {2, 3, 4});
				PackAndReadBack(order, to, border, {11}, {4});
			}
		}
	}
}

// ---- Border tiles: the 10 x 7 array in 3 x 2 tiles of the issue.

TEST(Tiling, ResizeBorderTilesAreSmaller)
{
	std::vector<int32_t> buf(70);
	struct aml_layout a =
	        MakeLayout(buf.data(), AML_LAYOUT_ORDER_C, 4, {10, 7});
	const size_t tile[] = {3, 2};
	for (auto storage : {AML_TILING_IN_PLACE, AML_TILING_CONTIGUOUS}) {
		AML_TILING_ND_DECL(t);
		ASSERT_EQ(aml_tiling_nd_init(&t, &a, tile,
		                             AML_TILING_ORDER_ROW_MAJOR,
		                             AML_TILING_RESIZE, storage),
		          0);
		ASSERT_EQ(aml_tiling_ntiles(&t.base), 16u);
		// Rows of tiles are 3, 3, 3, 1 high; columns 2, 2, 2, 1 wide.
		EXPECT_EQ(Query(aml_tiling_tile_dims, &t.base, 0),
		          (Dims{3, 2}));
		EXPECT_EQ(Query(aml_tiling_tile_dims, &t.base, 3),
		          (Dims{3, 1}));
		EXPECT_EQ(Query(aml_tiling_tile_dims, &t.base, 12),
		          (Dims{1, 2}));
		EXPECT_EQ(Query(aml_tiling_tile_dims, &t.base, 15),
		          (Dims{1, 1}));
		EXPECT_EQ(aml_tiling_tile_bytes(&t.base, 15), 4u);
		if (storage == AML_TILING_IN_PLACE) {
			// Strided: two rows of 28 bytes plus one row of 8.
			EXPECT_EQ(aml_tiling_tile_bytes(&t.base, 0),
			          2 * 28 + 8u);
			EXPECT_EQ(aml_tiling_tile_bytes(&t.base, 3),
			          2 * 28 + 4u);
			EXPECT_EQ(aml_tiling_bytes(&t.base), 280u);
		} else {
			// Packed: 3 x 2 x 4 bytes; tile 3 is 3 x 1 at the
			// start of a 24-byte slot.
			EXPECT_EQ(aml_tiling_tile_bytes(&t.base, 0), 24u);
			EXPECT_EQ(aml_tiling_tile_bytes(&t.base, 3), 12u);
			EXPECT_EQ(aml_tiling_tile_bytes(&t.base, 12), 8u);
			EXPECT_EQ(aml_tiling_bytes(&t.base), 16 * 24u);
			EXPECT_EQ(aml_tiling_tile_ptr(&t.base, 3),
			          (char *)buf.data() + 3 * 24);
		}
	}
}

TEST(Tiling, PadBorderTilesKeepTheFullSize)
{
	struct aml_layout a =
	        MakeLayout(nullptr, AML_LAYOUT_ORDER_C, 4, {10, 7});
	const size_t tile[] = {3, 2};
	AML_TILING_ND_DECL(t);
	ASSERT_EQ(aml_tiling_nd_init(&t, &a, tile, AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_PAD, AML_TILING_CONTIGUOUS),
	          0);
	for (size_t id : {0, 3, 12, 15}) {
		EXPECT_EQ(Query(aml_tiling_tile_dims, &t.base, id),
		          (Dims{3, 2}));
		EXPECT_EQ(aml_tiling_tile_bytes(&t.base, id), 24u);
		size_t off;
		ASSERT_EQ(aml_tiling_tile_offset(&t.base, id, &off), 0);
		EXPECT_EQ(off, id * 24);
	}
	EXPECT_EQ(Query(aml_tiling_tile_valid_dims, &t.base, 3), (Dims{3, 1}));
	EXPECT_EQ(Query(aml_tiling_tile_valid_dims, &t.base, 15), (Dims{1, 1}));
	EXPECT_EQ(aml_tiling_bytes(&t.base), 16 * 24u);
}

TEST(Tiling, InPlacePadNeedsRoomInThePitch)
{
	const size_t tile[] = {3, 2};
	AML_TILING_ND_DECL(t);
	// Dense 10 x 7: a padded column would be the next row's first element.
	struct aml_layout dense =
	        MakeLayout(nullptr, AML_LAYOUT_ORDER_C, 4, {10, 7});
	EXPECT_EQ(aml_tiling_nd_init(&t, &dense, tile,
	                             AML_TILING_ORDER_ROW_MAJOR, AML_TILING_PAD,
	                             AML_TILING_IN_PLACE),
	          AML_EINVAL);

	// Rows of 8 elements (32 bytes) and a buffer of 12 rows: the padded
	// array is 12 x 8 and the 16 tiles of 3 x 2 cover it exactly.
	const size_t strides[] = {32, 4};
	std::vector<int32_t> buf(12 * 8);
	struct aml_layout pitched =
	        MakeLayout(buf.data(), AML_LAYOUT_ORDER_C, 4, {10, 7}, strides);
	ASSERT_EQ(aml_tiling_nd_init(&t, &pitched, tile,
	                             AML_TILING_ORDER_ROW_MAJOR, AML_TILING_PAD,
	                             AML_TILING_IN_PLACE),
	          0);
	EXPECT_EQ(aml_tiling_bytes(&t.base), 12 * 32u);
	EXPECT_EQ(aml_tiling_tile_bytes(&t.base, 15), 2 * 32 + 8u);
	std::vector<int> seen(buf.size(), 0);
	AML_TILING_FOREACH (id, &t.base) {
		struct aml_layout tl;
		ASSERT_EQ(aml_tiling_tile_layout(&t.base, id, &tl), 0);
		ForEachIndex({tl.dims[0], tl.dims[1]}, [&](const Dims &x) {
			seen[(size_t)(At(tl, x) - buf.data())]++;
		});
	}
	EXPECT_EQ(seen, std::vector<int>(buf.size(), 1));

	// A pitch of 7.5 elements has no room for the eighth column.
	const size_t tight[] = {30, 4};
	struct aml_layout narrow =
	        MakeLayout(nullptr, AML_LAYOUT_ORDER_C, 4, {10, 7}, tight);
	EXPECT_EQ(aml_tiling_nd_init(&t, &narrow, tile,
	                             AML_TILING_ORDER_ROW_MAJOR, AML_TILING_PAD,
	                             AML_TILING_IN_PLACE),
	          AML_EINVAL);
}

TEST(Tiling, TilesLargerThanTheArrayMakeOneTile)
{
	struct aml_layout a =
	        MakeLayout(nullptr, AML_LAYOUT_ORDER_C, 8, {5, 3});
	const size_t tile[] = {8, 4};
	AML_TILING_ND_DECL(t);
	ASSERT_EQ(aml_tiling_nd_init(&t, &a, tile, AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_CONTIGUOUS),
	          0);
	EXPECT_EQ(aml_tiling_ntiles(&t.base), 1u);
	EXPECT_EQ(Query(aml_tiling_tile_dims, &t.base, 0), (Dims{5, 3}));
	EXPECT_EQ(aml_tiling_bytes(&t.base), 15 * 8u);
	ASSERT_EQ(aml_tiling_nd_init(&t, &a, tile, AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_PAD, AML_TILING_CONTIGUOUS),
	          0);
	EXPECT_EQ(aml_tiling_ntiles(&t.base), 1u);
	EXPECT_EQ(Query(aml_tiling_tile_dims, &t.base, 0), (Dims{8, 4}));
	EXPECT_EQ(Query(aml_tiling_tile_valid_dims, &t.base, 0), (Dims{5, 3}));
	EXPECT_EQ(aml_tiling_bytes(&t.base), 32 * 8u);
}

TEST(Tiling, InPlaceTilesOfASliceStartInsideTheSlice)
{
	std::vector<int32_t> buf(8 * 8);
	struct aml_layout a =
	        MakeLayout(buf.data(), AML_LAYOUT_ORDER_C, 4, {8, 8});
	const size_t off[] = {2, 3}, dims[] = {4, 4}, tile[] = {2, 2};
	struct aml_layout s;
	ASSERT_EQ(aml_layout_slice(&s, &a, off, dims), 0);
	AML_TILING_ND_DECL(t);
	ASSERT_EQ(aml_tiling_nd_init(&t, &s, tile, AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_PAD, AML_TILING_IN_PLACE),
	          0);
	EXPECT_EQ(aml_tiling_tile_ptr(&t.base, 0), &buf[2 * 8 + 3]);
	EXPECT_EQ(aml_tiling_tile_ptr(&t.base, 3), &buf[4 * 8 + 5]);
	size_t o;
	ASSERT_EQ(aml_tiling_tile_offset(&t.base, 3, &o), 0);
	EXPECT_EQ(o, (4 * 8 + 5) * 4u);
}

TEST(Tiling, ShapeOnlyTilingsHaveOffsetsButNoPointers)
{
	struct aml_layout a =
	        MakeLayout(nullptr, AML_LAYOUT_ORDER_C, 4, {8, 8});
	const size_t tile[] = {4, 4};
	AML_TILING_ND_DECL(t);
	ASSERT_EQ(aml_tiling_nd_init(&t, &a, tile, AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	aml_errno = 0;
	EXPECT_EQ(aml_tiling_tile_ptr(&t.base, 1), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	size_t o;
	ASSERT_EQ(aml_tiling_tile_offset(&t.base, 1, &o), 0);
	EXPECT_EQ(o, 16u);
	ASSERT_EQ(aml_tiling_tile_offset(&t.base, 2, &o), 0);
	EXPECT_EQ(o, 4 * 32u);
}

// ---- Division by reciprocal, at its limits.

void CheckCoordsAgainstDivision(const Dims &dims,
                                enum aml_tiling_order order,
                                const std::vector<size_t> &ids)
{
	struct aml_layout a = MakeLayout(nullptr, AML_LAYOUT_ORDER_C, 1, dims);
	Dims ones(dims.size(), 1);
	AML_TILING_ND_DECL(t);
	ASSERT_EQ(aml_tiling_nd_init(&t, &a, ones.data(), order,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	Model m(dims, ones, order, AML_TILING_RESIZE, AML_TILING_IN_PLACE, 1);
	for (size_t id : ids) {
		ASSERT_EQ(TileCoords(&t.base, id), m.Coords(id)) << id;
		size_t o;
		ASSERT_EQ(aml_tiling_tile_offset(&t.base, id, &o), 0);
		// Tiles of one byte in a dense array: offset = element number.
		if (order == AML_TILING_ORDER_ROW_MAJOR) {
			ASSERT_EQ(o, id);
		}
	}
}

std::vector<size_t> SomeIds(size_t ntiles)
{
	std::vector<size_t> ids = {0, 1, 2, ntiles / 2, ntiles - 2, ntiles - 1};
	std::mt19937_64 rng(7);
	std::uniform_int_distribution<size_t> any(0, ntiles - 1);
	for (int i = 0; i < 20000; i++)
		ids.push_back(any(rng));
	return ids;
}

TEST(Tiling, CoordsExactUpToTwoToThe32Tiles)
{
	// (2^16 + 1)(2^16 - 1) = 2^32 - 1 tiles: the largest grid that divides
	// by reciprocal.
	CheckCoordsAgainstDivision({65537, 65535}, AML_TILING_ORDER_ROW_MAJOR,
	                           SomeIds(UINT32_MAX));
	CheckCoordsAgainstDivision({65535, 65537},
	                           AML_TILING_ORDER_COLUMN_MAJOR,
	                           SomeIds(UINT32_MAX));
	CheckCoordsAgainstDivision({1021, 1031, 4079},
	                           AML_TILING_ORDER_ROW_MAJOR,
	                           SomeIds(size_t{1021} * 1031 * 4079));
}

TEST(Tiling, CoordsExactBeyondTwoToThe32Tiles)
{
	CheckCoordsAgainstDivision({65537, 65537}, AML_TILING_ORDER_ROW_MAJOR,
	                           SomeIds(size_t{65537} * 65537));
	CheckCoordsAgainstDivision({3, size_t{1} << 40, 5},
	                           AML_TILING_ORDER_COLUMN_MAJOR,
	                           SomeIds(size_t{15} << 40));
	// Ids of 2^42 divided by 2^30 + 3: a 64-bit reciprocal is not exact
	// there, so this grid must take the '/' path.
	const size_t big = (size_t{1} << 30) + 3;
	CheckCoordsAgainstDivision({4099, big}, AML_TILING_ORDER_ROW_MAJOR,
	                           SomeIds(4099 * big));
}

// ---- Iteration and constructors.

TEST(Tiling, ForeachVisitsEveryTileOnceInOrder)
{
	struct aml_layout a =
	        MakeLayout(nullptr, AML_LAYOUT_ORDER_FORTRAN, 8, {9, 4, 5});
	const size_t tile[] = {2, 3, 2};
	AML_TILING_ND_DECL(t);
	ASSERT_EQ(aml_tiling_nd_init(&t, &a, tile,
	                             AML_TILING_ORDER_COLUMN_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	std::vector<size_t> seen;
	AML_TILING_FOREACH (id, &t.base)
		seen.push_back(id);
	std::vector<size_t> want(5 * 2 * 3);
	for (size_t i = 0; i < want.size(); i++)
		want[i] = i;
	EXPECT_EQ(seen, want);

	size_t n = 0;
	AML_TILING_FOREACH (id, (const struct aml_tiling *)nullptr)
		n += id + 1;
	EXPECT_EQ(n, 0u);
}

TEST(Tiling, CreateAndDestroy)
{
	struct aml_layout a =
	        MakeLayout(nullptr, AML_LAYOUT_ORDER_C, 4, {10, 7});
	const size_t tile[] = {3, 2};
	struct aml_tiling *t = nullptr;
	ASSERT_EQ(aml_tiling_nd_create(&t, &a, tile, AML_TILING_ORDER_ROW_MAJOR,
	                               AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	ASSERT_NE(t, nullptr);
	EXPECT_TRUE(aml_tiling_is_nd(t));
	EXPECT_FALSE(aml_tiling_is_nd(nullptr));
	EXPECT_EQ(aml_tiling_ntiles(t), 16u);
	aml_tiling_nd_destroy(&t);
	EXPECT_EQ(t, nullptr);
	aml_tiling_nd_destroy(&t);
	aml_tiling_nd_destroy(nullptr);

	// Errors leave *out NULL and leak nothing (asan checks).
	t = (struct aml_tiling *)&a;
	const size_t zero[] = {0, 2};
	EXPECT_EQ(aml_tiling_nd_create(&t, &a, zero, AML_TILING_ORDER_ROW_MAJOR,
	                               AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          AML_EINVAL);
	EXPECT_EQ(t, nullptr);
	EXPECT_EQ(aml_tiling_nd_create(nullptr, &a, tile,
	                               AML_TILING_ORDER_ROW_MAJOR,
	                               AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          AML_EINVAL);
}

TEST(Tiling, DestroyLeavesOtherKindsAlone)
{
	struct aml_tiling_ops other = aml_tiling_nd_ops;
	struct aml_tiling foreign = {&other, nullptr};
	struct aml_tiling *t = &foreign;
	aml_errno = 0;
	aml_tiling_nd_destroy(&t);
	EXPECT_EQ(t, &foreign);
	EXPECT_EQ(aml_errno, AML_EINVAL);
}

// A block that embeds a tiling, as a scratchpad or a dma request would.
struct Holder {
	int before;
	AML_TILING_ND_DECL(tiles);
	int after;
};

TEST(Tiling, DeclInsideAStructAndFini)
{
	struct aml_layout a = MakeLayout(nullptr, AML_LAYOUT_ORDER_C, 4, {6});
	const size_t tile[] = {4};
	Holder h;
	h.before = 1;
	h.after = 2;
	ASSERT_EQ(aml_tiling_nd_init(&h.tiles, &a, tile,
	                             AML_TILING_ORDER_ROW_MAJOR, AML_TILING_PAD,
	                             AML_TILING_CONTIGUOUS),
	          0);
	EXPECT_EQ(h.tiles.base.data, &h.tiles);
	EXPECT_EQ(aml_tiling_ntiles(&h.tiles.base), 2u);
	// A copy of the storage is not a working handle of its own, but a
	// struct copy followed by init is.
	Holder copy = h;
	ASSERT_EQ(aml_tiling_nd_init(&copy.tiles, &a, tile,
	                             AML_TILING_ORDER_ROW_MAJOR, AML_TILING_PAD,
	                             AML_TILING_CONTIGUOUS),
	          0);
	EXPECT_EQ(copy.tiles.base.data, &copy.tiles);
	aml_tiling_nd_fini(&h.tiles);
	EXPECT_EQ(h.before, 1);
	EXPECT_EQ(h.after, 2);
	aml_errno = 0;
	EXPECT_EQ(aml_tiling_ntiles(&h.tiles.base), 0u);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	aml_tiling_nd_fini(nullptr);
	// Re-init after fini works.
	ASSERT_EQ(aml_tiling_nd_init(&h.tiles, &a, tile,
	                             AML_TILING_ORDER_ROW_MAJOR, AML_TILING_PAD,
	                             AML_TILING_CONTIGUOUS),
	          0);
	EXPECT_EQ(aml_tiling_ntiles(&h.tiles.base), 2u);
	aml_tiling_nd_fini(&h.tiles);
	aml_tiling_nd_fini(&copy.tiles);
}

TEST(Tiling, OptionalOpsMissingAreNotSupported)
{
	struct aml_layout a = MakeLayout(nullptr, AML_LAYOUT_ORDER_C, 4, {6});
	const size_t tile[] = {4};
	AML_TILING_ND_DECL(nd);
	ASSERT_EQ(aml_tiling_nd_init(&nd, &a, tile, AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_PAD, AML_TILING_CONTIGUOUS),
	          0);
	struct aml_tiling_ops minimal = aml_tiling_nd_ops;
	minimal.tile_offset = nullptr;
	minimal.tile_valid_dims = nullptr;
	minimal.tile_origin = nullptr;
	minimal.bytes = nullptr;
	struct aml_tiling t = {&minimal, &nd};
	size_t out[1] = {7};
	EXPECT_EQ(aml_tiling_tile_offset(&t, 0, out), AML_ENOTSUP);
	EXPECT_EQ(aml_tiling_tile_valid_dims(&t, 0, out), AML_ENOTSUP);
	EXPECT_EQ(aml_tiling_tile_origin(&t, 0, out), AML_ENOTSUP);
	EXPECT_EQ(out[0], 7u);
	aml_errno = 0;
	EXPECT_EQ(aml_tiling_bytes(&t), 0u);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	EXPECT_EQ(aml_tiling_ntiles(&t), 2u);
}

// ---- Bad input: each call returns its documented code and changes nothing.

struct BadCall {
	const char *what;
	// Called with a working 10 x 7 tiling in 3 x 2 tiles (16 tiles) over
	// a real buffer, and with a layout to pass as an array.
	std::function<int(struct aml_tiling_nd *, const struct aml_layout *)>
	        call;
	int expected;
};

void PrintTo(const BadCall &c, std::ostream *os)
{
	*os << c.what;
}

class TilingBadInput : public ::testing::TestWithParam<BadCall>
{
};

TEST_P(TilingBadInput, ReturnsDocumentedErrorAndChangesNothing)
{
	const BadCall &c = GetParam();
	static int32_t buf[70];
	struct aml_layout a = MakeLayout(buf, AML_LAYOUT_ORDER_C, 4, {10, 7});
	const size_t tile[] = {3, 2};
	AML_TILING_ND_DECL(t);
	ASSERT_EQ(aml_tiling_nd_init(&t, &a, tile, AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	struct aml_tiling_nd before;
	std::memcpy(&before, &t, sizeof(t));
	aml_errno = 0;
	int err = c.call(&t, &a);
	EXPECT_EQ(err, c.expected) << c.what << ": got " << aml_errname(err);
	EXPECT_EQ(std::memcmp(&t, &before, sizeof(t)), 0) << c.what;
	EXPECT_EQ(aml_tiling_ntiles(&t.base), 16u) << c.what;
}

using T = struct aml_tiling_nd *;
using A = const struct aml_layout *;

const size_t kTile[] = {3, 2};

int InitWith(T t,
             A a,
             const size_t *tile,
             int order = AML_TILING_ORDER_ROW_MAJOR,
             int border = AML_TILING_RESIZE,
             int storage = AML_TILING_IN_PLACE)
{
	return aml_tiling_nd_init(t, a, tile, (enum aml_tiling_order)order,
	                          (enum aml_tiling_border)border,
	                          (enum aml_tiling_storage)storage);
}

// One-dimensional shape-only array of n elements of esize bytes.
struct aml_layout Line(size_t n, size_t esize)
{
	return MakeLayout(nullptr, AML_LAYOUT_ORDER_C, esize, {n});
}

INSTANTIATE_TEST_SUITE_P(
        Init,
        TilingBadInput,
        ::testing::Values(
                BadCall{"NULL storage",
                        [](T, A a) { return InitWith(nullptr, a, kTile); },
                        AML_EINVAL},
                BadCall{"NULL array",
                        [](T t, A) { return InitWith(t, nullptr, kTile); },
                        AML_EINVAL},
                BadCall{"NULL tile dims",
                        [](T t, A a) { return InitWith(t, a, nullptr); },
                        AML_EINVAL},
                BadCall{"zero tile dim",
                        [](T t, A a) {
	                        const size_t z[] = {3, 0};
	                        return InitWith(t, a, z);
                        },
                        AML_EINVAL},
                BadCall{"uninitialised array",
                        [](T t, A) {
	                        struct aml_layout z = {};
	                        return InitWith(t, &z, kTile);
                        },
                        AML_EINVAL},
                BadCall{"array with broken strides",
                        [](T t, A a) {
	                        struct aml_layout bad = *a;
	                        bad.strides[0] = 4;
	                        return InitWith(t, &bad, kTile);
                        },
                        AML_EINVAL},
                BadCall{"unknown tile order",
                        [](T t, A a) { return InitWith(t, a, kTile, 2); },
                        AML_EINVAL},
                BadCall{"unknown border",
                        [](T t, A a) {
	                        return InitWith(t, a, kTile,
	                                        AML_TILING_ORDER_ROW_MAJOR, -1);
                        },
                        AML_EINVAL},
                BadCall{"unknown storage",
                        [](T t, A a) {
	                        return InitWith(t, a, kTile,
	                                        AML_TILING_ORDER_ROW_MAJOR,
	                                        AML_TILING_RESIZE, 9);
                        },
                        AML_EINVAL},
                BadCall{"in-place pad without room",
                        [](T t, A a) {
	                        return InitWith(
	                                t, a, kTile, AML_TILING_ORDER_ROW_MAJOR,
	                                AML_TILING_PAD, AML_TILING_IN_PLACE);
                        },
                        AML_EINVAL},
                BadCall{"contiguous pad slot overflows",
                        [](T t, A) {
	                        struct aml_layout l = Line(8, 2);
	                        const size_t huge[] = {SIZE_MAX};
	                        return InitWith(
	                                t, &l, huge, AML_TILING_ORDER_ROW_MAJOR,
	                                AML_TILING_PAD, AML_TILING_CONTIGUOUS);
                        },
                        AML_EINVAL},
                BadCall{"contiguous pad storage above PTRDIFF_MAX",
                        [](T t, A) {
	                        struct aml_layout l = Line(size_t{1} << 61, 2);
	                        const size_t big[] = {size_t{1} << 62};
	                        return InitWith(
	                                t, &l, big, AML_TILING_ORDER_ROW_MAJOR,
	                                AML_TILING_PAD, AML_TILING_CONTIGUOUS);
                        },
                        AML_EINVAL},
                BadCall{"contiguous storage above PTRDIFF_MAX",
                        [](T t, A) {
	                        // Two slots of 2^62 bytes.
	                        struct aml_layout l =
	                                Line((size_t{1} << 62) + 1, 1);
	                        const size_t big[] = {size_t{1} << 62};
	                        return InitWith(
	                                t, &l, big, AML_TILING_ORDER_ROW_MAJOR,
	                                AML_TILING_PAD, AML_TILING_CONTIGUOUS);
                        },
                        AML_EINVAL},
                BadCall{"contiguous storage overflows",
                        [](T t, A) {
	                        // Two slots of 2^63 bytes.
	                        struct aml_layout l =
	                                MakeLayout(nullptr, AML_LAYOUT_ORDER_C,
	                                           1, {3, size_t{1} << 61});
	                        const size_t big[] = {2, size_t{1} << 62};
	                        return InitWith(
	                                t, &l, big, AML_TILING_ORDER_ROW_MAJOR,
	                                AML_TILING_PAD, AML_TILING_CONTIGUOUS);
                        },
                        AML_EINVAL},
                BadCall{"in-place pad span overflows",
                        [](T t, A) {
	                        struct aml_layout l = Line(8, 4);
	                        const size_t huge[] = {SIZE_MAX / 2};
	                        return InitWith(
	                                t, &l, huge, AML_TILING_ORDER_ROW_MAJOR,
	                                AML_TILING_PAD, AML_TILING_IN_PLACE);
                        },
                        AML_EINVAL},
                BadCall{"create with bad args",
                        [](T, A a) {
	                        struct aml_tiling *out = nullptr;
	                        const size_t z[] = {0, 0};
	                        int err = aml_tiling_nd_create(
	                                &out, a, z, AML_TILING_ORDER_ROW_MAJOR,
	                                AML_TILING_RESIZE, AML_TILING_IN_PLACE);
	                        return out == nullptr ? err : AML_FAILURE;
                        },
                        AML_EINVAL}));

// Wraps a pointer-returning call into its aml_errno.
int Errno(const void *p)
{
	return p == nullptr ? aml_errno : 0;
}

// Wraps a size-returning call into its aml_errno.
int ErrnoOfSize(size_t n)
{
	return n == 0 ? aml_errno : 0;
}

// Calls fn(tiling, id, out) and checks out was left alone.
int Untouched(int (*fn)(const struct aml_tiling *, size_t, size_t *),
              const struct aml_tiling *t,
              size_t id)
{
	size_t out[AML_LAYOUT_NDIMS_MAX];
	std::memset(out, 0x5a, sizeof(out));
	size_t before[AML_LAYOUT_NDIMS_MAX];
	std::memcpy(before, out, sizeof(out));
	int err = fn(t, id, out);
	return std::memcmp(out, before, sizeof(out)) == 0 ? err : AML_FAILURE;
}

const struct aml_tiling kNoOps = {nullptr, nullptr};

INSTANTIATE_TEST_SUITE_P(
        Lookups,
        TilingBadInput,
        ::testing::Values(
                BadCall{"ntiles NULL",
                        [](T, A) {
	                        return ErrnoOfSize(aml_tiling_ntiles(nullptr));
                        },
                        AML_EINVAL},
                BadCall{"ntiles without ops",
                        [](T, A) {
	                        return ErrnoOfSize(aml_tiling_ntiles(&kNoOps));
                        },
                        AML_EINVAL},
                BadCall{"ndims NULL",
                        [](T, A) { return aml_tiling_ndims(nullptr); },
                        AML_EINVAL},
                BadCall{"grid_dims NULL tiling",
                        [](T, A) {
	                        size_t g[2];
	                        return aml_tiling_grid_dims(nullptr, g);
                        },
                        AML_EINVAL},
                BadCall{"grid_dims NULL out",
                        [](T t, A) {
	                        return aml_tiling_grid_dims(&t->base, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"tile_id NULL tiling",
                        [](T, A) {
	                        size_t c[] = {0, 0}, id = 7;
	                        int err = aml_tiling_tile_id(nullptr, c, &id);
	                        return id == 7 ? err : AML_FAILURE;
                        },
                        AML_EINVAL},
                BadCall{"tile_id NULL coords",
                        [](T t, A) {
	                        size_t id = 7;
	                        return aml_tiling_tile_id(&t->base, nullptr,
	                                                  &id);
                        },
                        AML_EINVAL},
                BadCall{"tile_id NULL out",
                        [](T t, A) {
	                        size_t c[] = {0, 0};
	                        return aml_tiling_tile_id(&t->base, c, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"tile_id row outside the grid",
                        [](T t, A) {
	                        size_t c[] = {4, 0}, id = 7;
	                        int err = aml_tiling_tile_id(&t->base, c, &id);
	                        return id == 7 ? err : AML_FAILURE;
                        },
                        AML_EDOM},
                BadCall{"tile_id column outside the grid",
                        [](T t, A) {
	                        size_t c[] = {0, SIZE_MAX}, id = 7;
	                        int err = aml_tiling_tile_id(&t->base, c, &id);
	                        return id == 7 ? err : AML_FAILURE;
                        },
                        AML_EDOM},
                BadCall{"tile_coords NULL tiling",
                        [](T, A) {
	                        return Untouched(aml_tiling_tile_coords,
	                                         nullptr, 0);
                        },
                        AML_EINVAL},
                BadCall{"tile_coords NULL out",
                        [](T t, A) {
	                        return aml_tiling_tile_coords(&t->base, 0,
	                                                      nullptr);
                        },
                        AML_EINVAL},
                BadCall{"tile_coords id = ntiles",
                        [](T t, A) {
	                        return Untouched(aml_tiling_tile_coords,
	                                         &t->base, 16);
                        },
                        AML_EDOM},
                BadCall{"tile_coords id = SIZE_MAX",
                        [](T t, A) {
	                        return Untouched(aml_tiling_tile_coords,
	                                         &t->base, SIZE_MAX);
                        },
                        AML_EDOM},
                BadCall{"tile_ptr NULL",
                        [](T, A) {
	                        return Errno(aml_tiling_tile_ptr(nullptr, 0));
                        },
                        AML_EINVAL},
                BadCall{"tile_ptr without ops",
                        [](T, A) {
	                        return Errno(aml_tiling_tile_ptr(&kNoOps, 0));
                        },
                        AML_EINVAL},
                BadCall{"tile_ptr id = ntiles",
                        [](T t, A) {
	                        return Errno(aml_tiling_tile_ptr(&t->base, 16));
                        },
                        AML_EDOM},
                BadCall{"tile_ptr id = SIZE_MAX",
                        [](T t, A) {
	                        return Errno(aml_tiling_tile_ptr(&t->base,
	                                                         SIZE_MAX));
                        },
                        AML_EDOM},
                BadCall{"tile_offset NULL tiling",
                        [](T, A) {
	                        return Untouched(aml_tiling_tile_offset,
	                                         nullptr, 0);
                        },
                        AML_EINVAL},
                BadCall{"tile_offset NULL out",
                        [](T t, A) {
	                        return aml_tiling_tile_offset(&t->base, 0,
	                                                      nullptr);
                        },
                        AML_EINVAL},
                BadCall{"tile_offset id = ntiles",
                        [](T t, A) {
	                        return Untouched(aml_tiling_tile_offset,
	                                         &t->base, 16);
                        },
                        AML_EDOM},
                BadCall{"tile_bytes NULL",
                        [](T, A) {
	                        return ErrnoOfSize(
	                                aml_tiling_tile_bytes(nullptr, 0));
                        },
                        AML_EINVAL},
                BadCall{"tile_bytes id = ntiles",
                        [](T t, A) {
	                        return ErrnoOfSize(
	                                aml_tiling_tile_bytes(&t->base, 16));
                        },
                        AML_EDOM},
                BadCall{"tile_dims NULL tiling",
                        [](T, A) {
	                        return Untouched(aml_tiling_tile_dims, nullptr,
	                                         0);
                        },
                        AML_EINVAL},
                BadCall{"tile_dims NULL out",
                        [](T t, A) {
	                        return aml_tiling_tile_dims(&t->base, 0,
	                                                    nullptr);
                        },
                        AML_EINVAL},
                BadCall{"tile_dims id = ntiles",
                        [](T t, A) {
	                        return Untouched(aml_tiling_tile_dims, &t->base,
	                                         16);
                        },
                        AML_EDOM},
                BadCall{"tile_valid_dims NULL tiling",
                        [](T, A) {
	                        return Untouched(aml_tiling_tile_valid_dims,
	                                         nullptr, 0);
                        },
                        AML_EINVAL},
                BadCall{"tile_valid_dims NULL out",
                        [](T t, A) {
	                        return aml_tiling_tile_valid_dims(&t->base, 0,
	                                                          nullptr);
                        },
                        AML_EINVAL},
                BadCall{"tile_valid_dims id = ntiles",
                        [](T t, A) {
	                        return Untouched(aml_tiling_tile_valid_dims,
	                                         &t->base, 16);
                        },
                        AML_EDOM},
                BadCall{"tile_origin NULL tiling",
                        [](T, A) {
	                        return Untouched(aml_tiling_tile_origin,
	                                         nullptr, 0);
                        },
                        AML_EINVAL},
                BadCall{"tile_origin NULL out",
                        [](T t, A) {
	                        return aml_tiling_tile_origin(&t->base, 0,
	                                                      nullptr);
                        },
                        AML_EINVAL},
                BadCall{"tile_origin id = ntiles",
                        [](T t, A) {
	                        return Untouched(aml_tiling_tile_origin,
	                                         &t->base, 16);
                        },
                        AML_EDOM},
                BadCall{"tile_layout NULL tiling",
                        [](T, A) {
	                        struct aml_layout l;
	                        return aml_tiling_tile_layout(nullptr, 0, &l);
                        },
                        AML_EINVAL},
                BadCall{"tile_layout NULL out",
                        [](T t, A) {
	                        return aml_tiling_tile_layout(&t->base, 0,
	                                                      nullptr);
                        },
                        AML_EINVAL},
                BadCall{"tile_layout id = ntiles",
                        [](T t, A a) {
	                        struct aml_layout l = *a;
	                        int err = aml_tiling_tile_layout(&t->base, 16,
	                                                         &l);
	                        return std::memcmp(&l, a, sizeof(l)) == 0
	                                       ? err
	                                       : AML_FAILURE;
                        },
                        AML_EDOM},
                BadCall{"bytes NULL",
                        [](T, A) {
	                        return ErrnoOfSize(aml_tiling_bytes(nullptr));
                        },
                        AML_EINVAL},
                BadCall{"lookup after fini",
                        [](T, A a) {
	                        AML_TILING_ND_DECL(gone);
	                        InitWith(&gone, a, kTile);
	                        aml_tiling_nd_fini(&gone);
	                        return Errno(
	                                aml_tiling_tile_ptr(&gone.base, 0));
                        },
                        AML_EINVAL}));

} // namespace
