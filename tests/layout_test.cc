// SPDX-License-Identifier: BSD-3-Clause
// Layouts: addresses in C and Fortran order, padded pitch, slices, reshape,
// queries and bad input.
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <vector>

#include <gtest/gtest.h>

#include <aml/error.h>
#include <aml/layout.h>

namespace
{

struct aml_layout Make(void *base,
                       enum aml_layout_order order,
                       size_t element_size,
                       std::vector<size_t> dims,
                       const size_t *strides = nullptr)
{
	struct aml_layout l;
	int err = aml_layout_init(&l, base, order, element_size, dims.size(),
	                          dims.data(), strides);
	EXPECT_EQ(err, 0) << aml_errname(err);
	return l;
}

size_t Offset(const struct aml_layout &l, std::vector<size_t> coords)
{
	size_t off = SIZE_MAX;
	EXPECT_EQ(aml_layout_offset(&l, coords.data(), &off), 0);
	return off;
}

TEST(Layout, COrderAddressesAreRowMajor)
{
	std::vector<double> buf(4 * 5 * 6);
	struct aml_layout l =
	        Make(buf.data(), AML_LAYOUT_ORDER_C, sizeof(double), {4, 5, 6});
	EXPECT_EQ(l.ndims, 3u);
	EXPECT_EQ(l.strides[0], 5 * 6 * sizeof(double));
	EXPECT_EQ(l.strides[1], 6 * sizeof(double));
	EXPECT_EQ(l.strides[2], sizeof(double));
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < 5; j++) {
			for (size_t k = 0; k < 6; k++) {
				size_t c[] = {i, j, k};
				EXPECT_EQ(aml_layout_address(&l, c),
				          &buf[(i * 5 + j) * 6 + k]);
			}
		}
	}
	EXPECT_EQ(aml_layout_nelements(&l), 120u);
	EXPECT_EQ(aml_layout_bytes(&l), 120 * sizeof(double));
	EXPECT_EQ(aml_layout_is_contiguous(&l), 1);
	EXPECT_EQ(aml_layout_base(&l), buf.data());
}

TEST(Layout, FortranOrderAddressesAreColumnMajor)
{
	std::vector<int32_t> buf(4 * 5 * 6);
	struct aml_layout l = Make(buf.data(), AML_LAYOUT_ORDER_FORTRAN,
	                           sizeof(int32_t), {4, 5, 6});
	EXPECT_EQ(l.strides[0], sizeof(int32_t));
	EXPECT_EQ(l.strides[1], 4 * sizeof(int32_t));
	EXPECT_EQ(l.strides[2], 4 * 5 * sizeof(int32_t));
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < 5; j++) {
			for (size_t k = 0; k < 6; k++) {
				size_t c[] = {i, j, k};
				EXPECT_EQ(aml_layout_address(&l, c),
				          &buf[i + 4 * (j + 5 * k)]);
			}
		}
	}
	EXPECT_EQ(aml_layout_is_contiguous(&l), 1);
}

TEST(Layout, FortranMatrixIsTheTransposeOfTheCMatrix)
{
	std::vector<float> buf(3 * 7);
	struct aml_layout f = Make(buf.data(), AML_LAYOUT_ORDER_FORTRAN,
	                           sizeof(float), {3, 7});
	struct aml_layout c =
	        Make(buf.data(), AML_LAYOUT_ORDER_C, sizeof(float), {7, 3});
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < 7; j++) {
			size_t fij[] = {i, j}, cji[] = {j, i};
			EXPECT_EQ(aml_layout_address(&f, fij),
			          aml_layout_address(&c, cji));
		}
	}
}

TEST(Layout, PaddedPitch)
{
	// 3 x 5 floats in rows of 8 (32 bytes): 3 floats of padding per row.
	const size_t strides[] = {32, 4};
	struct aml_layout l =
	        Make(nullptr, AML_LAYOUT_ORDER_C, 4, {3, 5}, strides);
	EXPECT_EQ(Offset(l, {0, 0}), 0u);
	EXPECT_EQ(Offset(l, {0, 4}), 16u);
	EXPECT_EQ(Offset(l, {1, 0}), 32u);
	EXPECT_EQ(Offset(l, {2, 3}), 76u);
	// Up to the end of the last element; no padding after the last row.
	EXPECT_EQ(aml_layout_bytes(&l), 2 * 32 + 5 * 4u);
	EXPECT_EQ(aml_layout_nelements(&l), 15u);
	EXPECT_EQ(aml_layout_is_contiguous(&l), 0);

	// The same in Fortran order: columns of 4 elements for 3 used.
	const size_t fstrides[] = {8, 32};
	struct aml_layout f =
	        Make(nullptr, AML_LAYOUT_ORDER_FORTRAN, 8, {3, 5}, fstrides);
	EXPECT_EQ(Offset(f, {2, 0}), 16u);
	EXPECT_EQ(Offset(f, {0, 1}), 32u);
	EXPECT_EQ(Offset(f, {2, 4}), 4 * 32 + 16u);
	EXPECT_EQ(aml_layout_bytes(&f), 4 * 32 + 3 * 8u);
}

TEST(Layout, StridesNeedNotBeMultiplesOfTheElementSize)
{
	// A 3-byte element in a 5-byte record (a field of a packed struct).
	const size_t strides[] = {5};
	struct aml_layout l =
	        Make(nullptr, AML_LAYOUT_ORDER_C, 3, {10}, strides);
	EXPECT_EQ(Offset(l, {9}), 45u);
	EXPECT_EQ(aml_layout_bytes(&l), 48u);
}

TEST(Layout, ShapeOnlyLayoutsHaveOffsetsButNoAddresses)
{
	struct aml_layout l = Make(nullptr, AML_LAYOUT_ORDER_C, 2, {4, 4});
	EXPECT_EQ(Offset(l, {3, 1}), 26u);
	size_t c[] = {0, 0};
	aml_errno = 0;
	EXPECT_EQ(aml_layout_address(&l, c), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	aml_errno = 0;
	EXPECT_EQ(aml_layout_base(&l), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
}

TEST(Layout, SliceIsAStridedViewOfTheParent)
{
	std::vector<int> buf(6 * 8);
	struct aml_layout l =
	        Make(buf.data(), AML_LAYOUT_ORDER_C, sizeof(int), {6, 8});
	const size_t offsets[] = {1, 2}, dims[] = {3, 4};
	struct aml_layout s;
	ASSERT_EQ(aml_layout_slice(&s, &l, offsets, dims), 0);
	EXPECT_EQ(s.dims[0], 3u);
	EXPECT_EQ(s.dims[1], 4u);
	EXPECT_EQ(s.strides[0], l.strides[0]);
	EXPECT_EQ(s.strides[1], l.strides[1]);
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < 4; j++) {
			size_t c[] = {i, j};
			EXPECT_EQ(aml_layout_address(&s, c),
			          &buf[(1 + i) * 8 + 2 + j]);
		}
	}
	EXPECT_EQ(aml_layout_base(&s), &buf[10]);
	// Offsets count from the buffer base, not from the slice.
	EXPECT_EQ(Offset(s, {0, 0}), 10 * sizeof(int));
	EXPECT_EQ(aml_layout_bytes(&s), (2 * 8 + 4) * sizeof(int));
	EXPECT_EQ(aml_layout_is_contiguous(&s), 0);

	// A slice of a slice, written over its input.
	const size_t offsets2[] = {2, 1}, dims2[] = {1, 3};
	ASSERT_EQ(aml_layout_slice(&s, &s, offsets2, dims2), 0);
	size_t c[] = {0, 2};
	EXPECT_EQ(aml_layout_address(&s, c), &buf[3 * 8 + 3 + 2]);
	// One partial row is contiguous: its row stride is never used.
	EXPECT_EQ(aml_layout_is_contiguous(&s), 1);
}

TEST(Layout, WholeRowsOfADenseArrayAreContiguous)
{
	struct aml_layout l = Make(nullptr, AML_LAYOUT_ORDER_C, 4, {6, 8});
	const size_t at_row[] = {2, 0}, rows[] = {3, 8};
	const size_t at_col[] = {0, 3}, cols[] = {6, 1};
	struct aml_layout s;
	ASSERT_EQ(aml_layout_slice(&s, &l, at_row, rows), 0);
	EXPECT_EQ(aml_layout_is_contiguous(&s), 1);
	ASSERT_EQ(aml_layout_slice(&s, &l, at_col, cols), 0);
	EXPECT_EQ(aml_layout_is_contiguous(&s), 0);
}

TEST(Layout, ReshapeKeepsTheStorageOrderOfElements)
{
	std::vector<int16_t> buf(24);
	for (enum aml_layout_order order :
	     {AML_LAYOUT_ORDER_C, AML_LAYOUT_ORDER_FORTRAN}) {
		struct aml_layout l =
		        Make(buf.data(), order, sizeof(int16_t), {4, 6});
		struct aml_layout r;
		const size_t dims[] = {2, 3, 4};
		ASSERT_EQ(aml_layout_reshape(&r, &l, 3, dims), 0);
		EXPECT_EQ(r.ndims, 3u);
		EXPECT_EQ(aml_layout_is_contiguous(&r), 1);
		// Element number k in storage order is buf[k] in both.
		for (size_t a = 0; a < 2; a++) {
			for (size_t b = 0; b < 3; b++) {
				for (size_t c = 0; c < 4; c++) {
					size_t k =
					        order == AML_LAYOUT_ORDER_C
					                ? (a * 3 + b) * 4 + c
					                : a + 2 * (b + 3 * c);
					size_t co[] = {a, b, c};
					EXPECT_EQ(aml_layout_address(&r, co),
					          &buf[k]);
				}
			}
		}
		const size_t flat[] = {24};
		ASSERT_EQ(aml_layout_reshape(&r, &r, 1, flat), 0);
		size_t last[] = {23};
		EXPECT_EQ(aml_layout_address(&r, last), &buf[23]);
	}
}

TEST(Layout, ReshapeOfAContiguousSliceStartsAtTheSlice)
{
	std::vector<int> buf(6 * 8);
	struct aml_layout l =
	        Make(buf.data(), AML_LAYOUT_ORDER_C, sizeof(int), {6, 8});
	const size_t offsets[] = {2, 0}, rows[] = {2, 8}, dims[] = {4, 4};
	struct aml_layout s, r;
	ASSERT_EQ(aml_layout_slice(&s, &l, offsets, rows), 0);
	ASSERT_EQ(aml_layout_reshape(&r, &s, 2, dims), 0);
	size_t c[] = {3, 1};
	EXPECT_EQ(aml_layout_address(&r, c), &buf[16 + 13]);
}

TEST(Layout, ReshapeRefusesStridedLayoutsAndOtherCounts)
{
	const size_t strides[] = {40, 4};
	struct aml_layout padded =
	        Make(nullptr, AML_LAYOUT_ORDER_C, 4, {3, 5}, strides);
	struct aml_layout dense = Make(nullptr, AML_LAYOUT_ORDER_C, 4, {3, 5});
	struct aml_layout out = dense;
	const size_t same[] = {15}, fewer[] = {14}, more[] = {4, 4};
	EXPECT_EQ(aml_layout_reshape(&out, &padded, 1, same), AML_EINVAL);
	EXPECT_EQ(aml_layout_reshape(&out, &dense, 1, fewer), AML_EINVAL);
	EXPECT_EQ(aml_layout_reshape(&out, &dense, 2, more), AML_EINVAL);
	EXPECT_EQ(std::memcmp(&out, &dense, sizeof(out)), 0);
}

TEST(Layout, MaximalDimensions)
{
	std::vector<size_t> dims(AML_LAYOUT_NDIMS_MAX, 2);
	struct aml_layout l = Make(nullptr, AML_LAYOUT_ORDER_FORTRAN, 1, dims);
	std::vector<size_t> ones(AML_LAYOUT_NDIMS_MAX, 1);
	EXPECT_EQ(Offset(l, ones), (size_t{1} << AML_LAYOUT_NDIMS_MAX) - 1);
	EXPECT_EQ(aml_layout_nelements(&l), size_t{1} << AML_LAYOUT_NDIMS_MAX);
}

// ---- Bad input: each call returns its documented code and changes nothing.

struct BadCall {
	const char *what;
	// Called with a valid 3 x 4 C-order layout of 8-byte elements over
	// a real buffer, and an output layout to leave alone.
	std::function<int(const struct aml_layout *, struct aml_layout *)> call;
	int expected;
};

void PrintTo(const BadCall &c, std::ostream *os)
{
	*os << c.what;
}

class LayoutBadInput : public ::testing::TestWithParam<BadCall>
{
};

int Init(struct aml_layout *out,
         enum aml_layout_order order,
         size_t element_size,
         std::vector<size_t> dims,
         std::vector<size_t> strides = {})
{
	static double buf[64];
	return aml_layout_init(out, buf, order, element_size, dims.size(),
	                       dims.data(),
	                       strides.empty() ? nullptr : strides.data());
}

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

const size_t kHuge = SIZE_MAX / 2;

TEST_P(LayoutBadInput, ReturnsDocumentedErrorAndChangesNothing)
{
	const BadCall &c = GetParam();
	static double buf[12];
	struct aml_layout in;
	const size_t dims[] = {3, 4};
	ASSERT_EQ(aml_layout_init(&in, buf, AML_LAYOUT_ORDER_C, 8, 2, dims,
	                          nullptr),
	          0);
	struct aml_layout before_in = in;
	struct aml_layout out;
	std::memset(&out, 0x5a, sizeof(out));
	struct aml_layout before_out = out;
	aml_errno = 0;
	int err = c.call(&in, &out);
	EXPECT_EQ(err, c.expected) << c.what << ": got " << aml_errname(err);
	EXPECT_EQ(std::memcmp(&in, &before_in, sizeof(in)), 0) << c.what;
	EXPECT_EQ(std::memcmp(&out, &before_out, sizeof(out)), 0) << c.what;
}

using L = const struct aml_layout *;
using O = struct aml_layout *;

INSTANTIATE_TEST_SUITE_P(
        Init,
        LayoutBadInput,
        ::testing::Values(
                BadCall{"NULL out",
                        [](L, O) {
	                        return Init(nullptr, AML_LAYOUT_ORDER_C, 8,
	                                    {3});
                        },
                        AML_EINVAL},
                BadCall{"NULL dims",
                        [](L, O o) {
	                        return aml_layout_init(o, nullptr,
	                                               AML_LAYOUT_ORDER_C, 8, 1,
	                                               nullptr, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"ndims 0",
                        [](L, O o) {
	                        size_t d[] = {3};
	                        return aml_layout_init(o, nullptr,
	                                               AML_LAYOUT_ORDER_C, 8, 0,
	                                               d, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"ndims > max",
                        [](L, O o) {
	                        return Init(
	                                o, AML_LAYOUT_ORDER_C, 8,
	                                std::vector<size_t>(
	                                        AML_LAYOUT_NDIMS_MAX + 1, 1));
                        },
                        AML_EINVAL},
                BadCall{"zero dim",
                        [](L, O o) {
	                        return Init(o, AML_LAYOUT_ORDER_C, 8,
	                                    {3, 0, 2});
                        },
                        AML_EINVAL},
                BadCall{"element size 0",
                        [](L, O o) {
	                        return Init(o, AML_LAYOUT_ORDER_C, 0, {3});
                        },
                        AML_EINVAL},
                BadCall{"unknown order",
                        [](L, O o) {
	                        return Init(o, (enum aml_layout_order)7, 8,
	                                    {3});
                        },
                        AML_EINVAL},
                BadCall{"overflowing size",
                        [](L, O o) {
	                        return Init(o, AML_LAYOUT_ORDER_C, 8,
	                                    {kHuge, 4});
                        },
                        AML_EINVAL},
                BadCall{"size above PTRDIFF_MAX",
                        [](L, O o) {
	                        return Init(o, AML_LAYOUT_ORDER_C, 1,
	                                    {(size_t)PTRDIFF_MAX + 1});
                        },
                        AML_EINVAL},
                BadCall{"overflowing strides",
                        [](L, O o) {
	                        return Init(o, AML_LAYOUT_ORDER_C, 8, {3, 4},
	                                    {kHuge, 8});
                        },
                        AML_EINVAL},
                BadCall{"inner stride below element size",
                        [](L, O o) {
	                        return Init(o, AML_LAYOUT_ORDER_C, 8, {3, 4},
	                                    {32, 4});
                        },
                        AML_EINVAL},
                BadCall{"C row stride below dense",
                        [](L, O o) {
	                        return Init(o, AML_LAYOUT_ORDER_C, 8, {3, 4},
	                                    {24, 8});
                        },
                        AML_EINVAL},
                BadCall{"Fortran column stride below dense",
                        [](L, O o) {
	                        return Init(o, AML_LAYOUT_ORDER_FORTRAN, 8,
	                                    {3, 4}, {8, 16});
                        },
                        AML_EINVAL},
                BadCall{"C-nested strides under Fortran order",
                        [](L, O o) {
	                        return Init(o, AML_LAYOUT_ORDER_FORTRAN, 8,
	                                    {3, 4}, {32, 8});
                        },
                        AML_EINVAL}));

INSTANTIATE_TEST_SUITE_P(
        SliceReshape,
        LayoutBadInput,
        ::testing::Values(
                BadCall{"slice NULL out",
                        [](L l, O) {
	                        size_t off[] = {0, 0}, d[] = {1, 1};
	                        return aml_layout_slice(nullptr, l, off, d);
                        },
                        AML_EINVAL},
                BadCall{"slice NULL layout",
                        [](L, O o) {
	                        size_t off[] = {0, 0}, d[] = {1, 1};
	                        return aml_layout_slice(o, nullptr, off, d);
                        },
                        AML_EINVAL},
                BadCall{"slice NULL offsets",
                        [](L l, O o) {
	                        size_t d[] = {1, 1};
	                        return aml_layout_slice(o, l, nullptr, d);
                        },
                        AML_EINVAL},
                BadCall{"slice NULL dims",
                        [](L l, O o) {
	                        size_t off[] = {0, 0};
	                        return aml_layout_slice(o, l, off, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"slice zero dim",
                        [](L l, O o) {
	                        size_t off[] = {0, 0}, d[] = {1, 0};
	                        return aml_layout_slice(o, l, off, d);
                        },
                        AML_EINVAL},
                BadCall{"slice offset out of range",
                        [](L l, O o) {
	                        size_t off[] = {3, 0}, d[] = {1, 1};
	                        return aml_layout_slice(o, l, off, d);
                        },
                        AML_EDOM},
                BadCall{"slice past the edge",
                        [](L l, O o) {
	                        size_t off[] = {1, 2}, d[] = {2, 3};
	                        return aml_layout_slice(o, l, off, d);
                        },
                        AML_EDOM},
                BadCall{"slice overflowing offset + dim",
                        [](L l, O o) {
	                        size_t off[] = {1, 1}, d[] = {1, SIZE_MAX};
	                        return aml_layout_slice(o, l, off, d);
                        },
                        AML_EDOM},
                BadCall{"reshape NULL out",
                        [](L l, O) {
	                        size_t d[] = {12};
	                        return aml_layout_reshape(nullptr, l, 1, d);
                        },
                        AML_EINVAL},
                BadCall{"reshape NULL layout",
                        [](L, O o) {
	                        size_t d[] = {12};
	                        return aml_layout_reshape(o, nullptr, 1, d);
                        },
                        AML_EINVAL},
                BadCall{"reshape NULL dims",
                        [](L l, O o) {
	                        return aml_layout_reshape(o, l, 1, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"reshape ndims 0",
                        [](L l, O o) {
	                        size_t d[] = {12};
	                        return aml_layout_reshape(o, l, 0, d);
                        },
                        AML_EINVAL},
                BadCall{"reshape ndims > max",
                        [](L l, O o) {
	                        std::vector<size_t> d(AML_LAYOUT_NDIMS_MAX + 1,
	                                              1);
	                        d[0] = 12;
	                        return aml_layout_reshape(o, l, d.size(),
	                                                  d.data());
                        },
                        AML_EINVAL},
                BadCall{"reshape zero dim",
                        [](L l, O o) {
	                        size_t d[] = {0, 12};
	                        return aml_layout_reshape(o, l, 2, d);
                        },
                        AML_EINVAL},
                BadCall{"reshape overflowing count",
                        [](L l, O o) {
	                        size_t d[] = {kHuge, 4};
	                        return aml_layout_reshape(o, l, 2, d);
                        },
                        AML_EINVAL},
                BadCall{"reshape other count",
                        [](L l, O o) {
	                        size_t d[] = {5, 2};
	                        return aml_layout_reshape(o, l, 2, d);
                        },
                        AML_EINVAL},
                BadCall{"reshape of a strided slice",
                        [](L l, O o) {
	                        struct aml_layout s;
	                        size_t off[] = {0, 1}, sd[] = {2, 2}, d[] = {4};
	                        aml_layout_slice(&s, l, off, sd);
	                        return aml_layout_reshape(o, &s, 1, d);
                        },
                        AML_EINVAL}));

INSTANTIATE_TEST_SUITE_P(
        Queries,
        LayoutBadInput,
        ::testing::Values(
                BadCall{"offset NULL layout",
                        [](L, O) {
	                        size_t c[] = {0, 0}, off = 7;
	                        int err = aml_layout_offset(nullptr, c, &off);
	                        return off == 7 ? err : AML_FAILURE;
                        },
                        AML_EINVAL},
                BadCall{"offset NULL coords",
                        [](L l, O) {
	                        size_t off = 7;
	                        int err = aml_layout_offset(l, nullptr, &off);
	                        return off == 7 ? err : AML_FAILURE;
                        },
                        AML_EINVAL},
                BadCall{"offset NULL out",
                        [](L l, O) {
	                        size_t c[] = {0, 0};
	                        return aml_layout_offset(l, c, nullptr);
                        },
                        AML_EINVAL},
                BadCall{"offset row out of range",
                        [](L l, O) {
	                        size_t c[] = {3, 0}, off = 7;
	                        int err = aml_layout_offset(l, c, &off);
	                        return off == 7 ? err : AML_FAILURE;
                        },
                        AML_EDOM},
                BadCall{"offset column out of range",
                        [](L l, O) {
	                        size_t c[] = {0, SIZE_MAX}, off = 7;
	                        int err = aml_layout_offset(l, c, &off);
	                        return off == 7 ? err : AML_FAILURE;
                        },
                        AML_EDOM},
                BadCall{"address NULL layout",
                        [](L, O) {
	                        size_t c[] = {0, 0};
	                        return Errno(aml_layout_address(nullptr, c));
                        },
                        AML_EINVAL},
                BadCall{"address NULL coords",
                        [](L l, O) {
	                        return Errno(aml_layout_address(l, nullptr));
                        },
                        AML_EINVAL},
                BadCall{"address out of range",
                        [](L l, O) {
	                        size_t c[] = {2, 4};
	                        return Errno(aml_layout_address(l, c));
                        },
                        AML_EDOM},
                BadCall{"base NULL layout",
                        [](L, O) { return Errno(aml_layout_base(nullptr)); },
                        AML_EINVAL},
                BadCall{"nelements NULL",
                        [](L, O) {
	                        return ErrnoOfSize(
	                                aml_layout_nelements(nullptr));
                        },
                        AML_EINVAL},
                BadCall{"bytes NULL",
                        [](L, O) {
	                        return ErrnoOfSize(aml_layout_bytes(nullptr));
                        },
                        AML_EINVAL},
                BadCall{"is_contiguous NULL",
                        [](L, O) { return aml_layout_is_contiguous(nullptr); },
                        AML_EINVAL},
                BadCall{"uninitialised layout (ndims 0)",
                        [](L, O) {
	                        struct aml_layout z = {};
	                        return aml_layout_is_contiguous(&z);
                        },
                        AML_EINVAL}));

} // namespace
