// SPDX-License-Identifier: BSD-3-Clause
// A copier (aml/copier.h) for tests: it counts the bytes it copies, and
// fails every copy with AML_ENODEV while told to.
#ifndef AML_TESTS_TESTING_COUNTING_COPIER_H
#define AML_TESTS_TESTING_COUNTING_COPIER_H

#include <cstring>

#include <aml.h>

namespace aml_testing
{

struct CountingCopier {
	static int Copy(const struct aml_copier *copier,
	                void *dst,
	                const void *src,
	                size_t size,
	                bool streamed)
	{
		(void)streamed;
		auto *self = static_cast<CountingCopier *>(copier->data);
		if (self->fail)
			return AML_ENODEV;
		std::memcpy(dst, src, size);
		self->bytes += size;
		return 0;
	}
	const struct aml_copier_ops ops = {Copy, nullptr, nullptr, nullptr,
	                                   nullptr};
	const struct aml_copier copier = {&ops, this};
	size_t bytes = 0;
	bool fail = false;
};

} // namespace aml_testing

#endif // AML_TESTS_TESTING_COUNTING_COPIER_H
