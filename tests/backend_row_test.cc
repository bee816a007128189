// SPDX-License-Identifier: BSD-3-Clause
// The registry row optional_backend() generates for a backend left out of
// the build: its name, not built, and no op, so the registry skips it.
#include <cstring>

#include <gtest/gtest.h>

#include "aml/src/backend.h"

extern "C" const struct aml_backend_impl aml_backend_fake_impl;

namespace
{

TEST(GeneratedAbsentBackend, SaysNotBuiltAndHasNoOp)
{
	EXPECT_STREQ(aml_backend_fake_impl.name, "fake");
	EXPECT_FALSE(aml_backend_fake_impl.built);
	EXPECT_EQ(aml_backend_fake_impl.describe, nullptr);
	EXPECT_EQ(aml_backend_fake_impl.discover, nullptr);
	EXPECT_EQ(aml_backend_fake_impl.load_xml, nullptr);
}

} // namespace
