// SPDX-License-Identifier: BSD-3-Clause
// aml_os_errno(): the kernel's reason behind an AML_E* code that came from a
// failed system call, kept per thread, and left alone by errors aml decides
// itself.
#include <sys/mman.h>

#include <cerrno>
#include <thread>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

// A page-aligned address with nothing mapped there.
void *UnmappedPage()
{
	size_t page = aml_page_size();
	void *p = mmap(nullptr, page, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_NE(p, MAP_FAILED);
	EXPECT_EQ(munmap(p, page), 0);
	return p;
}

TEST(OsErrno, KeepsTheKernelsReasonForAMove)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_topology_discover(&t), 0);
	const struct aml_device *node = aml_topology_device(t, 0);
	ASSERT_NE(node, nullptr);
	// mbind says EFAULT for a range that is not mapped: AML_EINVAL.
	EXPECT_EQ(aml_device_move(node, UnmappedPage(), aml_page_size()),
	          AML_EINVAL);
	EXPECT_EQ(aml_os_errno(), EFAULT);
	// The error's detail names the call and the errno.
	char detail[AML_ERROR_DETAIL_MAX];
	EXPECT_EQ(aml_error_detail(detail, sizeof(detail)), AML_EINVAL);
	EXPECT_STREQ(detail, "mbind failed: errno EFAULT (Bad address)");
	aml_topology_destroy(&t);
}

TEST(OsErrno, KeepsTheKernelsReasonForAFile)
{
	struct aml_topology *t = nullptr;
	struct aml_topology_xml_error error = {};
	int err = aml_topology_load_xml_file(
	        &t, "/nonexistent/aml/os_errno_test.xml", &error);
	if (err == AML_ENOTSUP)
		GTEST_SKIP() << "no hwloc in this build: no XML is read";
	EXPECT_EQ(err, AML_EINVAL);
	EXPECT_EQ(aml_os_errno(), ENOENT);
}

TEST(OsErrno, ErrorsAmlDecidesLeaveItAlone)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_topology_discover(&t), 0);
	const struct aml_device *node = aml_topology_device(t, 0);
	ASSERT_NE(node, nullptr);
	ASSERT_EQ(aml_device_move(node, UnmappedPage(), aml_page_size()),
	          AML_EINVAL);
	ASSERT_EQ(aml_os_errno(), EFAULT);
	// A NULL pointer never reaches the kernel.
	EXPECT_EQ(aml_device_move(node, nullptr, aml_page_size()), AML_EINVAL);
	EXPECT_EQ(aml_os_errno(), EFAULT);
	aml_topology_destroy(&t);
}

TEST(OsErrno, IsPerThread)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_topology_discover(&t), 0);
	const struct aml_device *node = aml_topology_device(t, 0);
	ASSERT_NE(node, nullptr);
	int other = -1;
	std::thread([&] { other = aml_os_errno(); }).join();
	EXPECT_EQ(other, 0);
	ASSERT_EQ(aml_device_move(node, UnmappedPage(), aml_page_size()),
	          AML_EINVAL);
	std::thread([&] { other = aml_os_errno(); }).join();
	EXPECT_EQ(other, 0);
	aml_topology_destroy(&t);
}

} // namespace
