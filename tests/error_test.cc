// SPDX-License-Identifier: BSD-3-Clause
// Error codes: values, names, messages and the thread-local aml_errno.
#include <climits>
#include <cstring>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

struct ErrorCase {
	int code;
	const char *name;
	const char *message;
};

// The codes the design promises, with the values upstream AML used (negated).
const ErrorCase kErrors[] = {
        {AML_FAILURE, "AML_FAILURE", "generic failure"},
        {AML_ENOMEM, "AML_ENOMEM", "not enough memory"},
        {AML_EINVAL, "AML_EINVAL", "invalid argument"},
        {AML_EDOM, "AML_EDOM", "argument out of range"},
        {AML_ENOTSUP, "AML_ENOTSUP", "operation not supported"},
        {AML_EBUSY, "AML_EBUSY", "resource busy"},
        {AML_EPERM, "AML_EPERM", "operation not permitted"},
        {AML_ENODEV, "AML_ENODEV", "no such device"},
        {AML_ECANCELED, "AML_ECANCELED", "operation canceled"},
};

TEST(Error, CodesAreNegativeAndDistinct)
{
	std::set<int> seen;
	for (const ErrorCase &e : kErrors) {
		EXPECT_LT(e.code, 0) << e.name;
		EXPECT_TRUE(seen.insert(e.code).second) << e.name;
	}
	EXPECT_EQ(AML_SUCCESS, 0);
}

TEST(Error, ValuesMatchUpstreamAml)
{
	EXPECT_EQ(AML_FAILURE, -1);
	EXPECT_EQ(AML_ENOMEM, -2);
	EXPECT_EQ(AML_EINVAL, -3);
	EXPECT_EQ(AML_EDOM, -4);
	EXPECT_EQ(AML_ENOTSUP, -5);
	EXPECT_EQ(AML_EBUSY, -6);
}

TEST(Error, NamesAndMessagesComeFromTheTable)
{
	for (const ErrorCase &e : kErrors) {
		EXPECT_STREQ(aml_errname(e.code), e.name);
		EXPECT_STREQ(aml_strerror(e.code), e.message);
	}
	EXPECT_STREQ(aml_errname(0), "AML_SUCCESS");
	EXPECT_STREQ(aml_strerror(0), "success");
}

TEST(Error, UnknownCodesHaveAStringNeverNull)
{
	// Positive codes are the classic porting mistake (return -AML_EINVAL).
	for (int code : {1, 3, -10, -1000, INT_MIN, INT_MAX}) {
		EXPECT_STREQ(aml_errname(code), "AML_UNKNOWN") << code;
		EXPECT_STREQ(aml_strerror(code), "unknown error") << code;
	}
}

TEST(Error, ErrnoIsAssignableThroughTheMacro)
{
	aml_errno = AML_ENOMEM;
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	EXPECT_EQ(*aml_errno_location(), AML_ENOMEM);
	aml_errno = 0;
	EXPECT_EQ(aml_errno, 0);
}

TEST(Error, ErrnoIsPerThread)
{
	aml_errno = AML_EDOM;
	int seen_in_thread = 1;
	int *main_slot = aml_errno_location();
	int *thread_slot = nullptr;
	std::thread t([&] {
		seen_in_thread = aml_errno;
		aml_errno = AML_EBUSY;
		thread_slot = aml_errno_location();
	});
	t.join();
	EXPECT_EQ(seen_in_thread, 0); // a new thread starts clean
	EXPECT_NE(thread_slot, main_slot);
	EXPECT_EQ(aml_errno, AML_EDOM); // the other thread did not touch ours
}

} // namespace
