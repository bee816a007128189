// SPDX-License-Identifier: BSD-3-Clause
// The jemalloc arena in a build without memkind: same API, AML_ENOTSUP
// after the same argument checks.
#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena/jemalloc.h>

namespace
{

TEST(ArenaJemallocAbsent, InitAndCreateAreNotSupported)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "single;scale=1/1024", nullptr), 0);
	const struct aml_device *dev = aml_topology_device(t, 0);
	AML_AREA_DEVICE_DECL(area);
	ASSERT_EQ(
	        aml_area_device_init(&area, t, &dev, 1, AML_AREA_BIND, nullptr),
	        0);
	AML_ARENA_JEMALLOC_DECL(je);
	EXPECT_EQ(aml_arena_jemalloc_init(&je, &area.base, 0), AML_ENOTSUP);
	EXPECT_EQ(aml_arena_jemalloc_init(nullptr, &area.base, 0), AML_EINVAL);
	EXPECT_EQ(aml_arena_jemalloc_init(&je, nullptr, 0), AML_EINVAL);
	struct aml_arena *out = reinterpret_cast<struct aml_arena *>(1);
	EXPECT_EQ(aml_arena_jemalloc_create(&out, &area.base, 0), AML_ENOTSUP);
	EXPECT_EQ(out, nullptr);
	aml_arena_jemalloc_destroy(&out);
	aml_arena_jemalloc_destroy(nullptr);
	aml_area_device_fini(&area);
	aml_topology_destroy(&t);
}

} // namespace
