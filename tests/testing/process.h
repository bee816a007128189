// SPDX-License-Identifier: BSD-3-Clause
// What the test process holds, read from /proc: leak checks for maps that
// must fail without leaving anything behind; and what the kernel will map,
// so that no test depends on the host's memory size, swap or overcommit
// mode.
#ifndef AML_TESTS_TESTING_PROCESS_H
#define AML_TESTS_TESTING_PROCESS_H

#include <cstddef>

namespace aml_testing
{

// The process's virtual size in pages (/proc/self/statm), or -1 if it
// cannot be read. A refused map that left its mapping behind grows it.
long VirtualPages();

// Whether a map of @p size bytes refused since @p before_pages (read with
// VirtualPages()) left nothing mapped: the process grew by less than an
// eighth of the request. What a refusal could leave behind is the whole
// reservation or one node's share of it, far more. Exact equality would
// fail for reasons outside aml: valgrind maps its own shadow memory into
// the process as the test runs, ASan's allocator its chunks.
bool LeftNothingMapped(long before_pages, size_t size);

// Whether the kernel accepts a private anonymous mapping of @p size bytes
// right now (mapped, then unmapped at once; nothing is touched). Whether a
// mapping larger than a node is accepted depends on RAM, swap and
// vm.overcommit_memory, so a test that maps that much asks first.
bool KernelAcceptsMap(size_t size);

// While one lives, the process may open no more file descriptors: open()
// fails with EMFILE, as when a program runs out of them. Its soft
// RLIMIT_NOFILE is lowered to the lowest free descriptor (every one below
// is open), and restored when it goes.
class NoFreeDescriptors
{
      public:
	NoFreeDescriptors();
	~NoFreeDescriptors();
	NoFreeDescriptors(const NoFreeDescriptors &) = delete;
	NoFreeDescriptors &operator=(const NoFreeDescriptors &) = delete;
	// Whether the limit could be lowered (else the test cannot run).
	bool Active() const
	{
		return active_;
	}

      private:
	unsigned long long saved_;
	bool active_;
};

} // namespace aml_testing

#endif // AML_TESTS_TESTING_PROCESS_H
