// SPDX-License-Identifier: BSD-3-Clause
// Fault injection: the Nth call aml makes to get memory, mappings or
// threads fails, for N = 1, 2, ..., and each block's scenario must answer
// with a documented code, keep its objects usable, leak nothing and lose
// no data.
//
// The seam is the linker: the fault tests link aml's objects statically
// with -Wl,--wrap=malloc,... (tests/BUILD.bazel, aml_fault_test), so the
// calls that aml's own objects make go to the __wrap_ functions of
// fault.cc, which count them while armed and fail the chosen one; every
// other call passes to __real_. googletest, libstdc++ and the test's `new`
// are not wrapped, so a scenario may use std containers freely (but not
// malloc). The wrappers sit above the sanitizers' interceptors and
// valgrind's, which keep working. A failure is what the system would give:
// NULL or MAP_FAILED with errno ENOMEM, EAGAIN for a thread, -1/ENOMEM for
// the kernel calls (mbind, madvise(MADV_POPULATE_WRITE), move_pages, a
// munmap that splits a mapping), and the libraries' own codes for memkind
// and hwloc.
//
// The wrappers also keep what is live through them (blocks, mapped bytes,
// threads), whether armed or not, so that a run can check it leaked
// nothing.
#ifndef AML_TESTS_TESTING_FAULT_H
#define AML_TESTS_TESTING_FAULT_H

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace aml_test
{

// What aml holds through the wrappers: blocks of malloc and friends
// (memkind's included), bytes of mmap, threads not joined.
struct FaultLive {
	long blocks;
	long long mapped_bytes;
	long threads;
	// Allocations made so far (not compared).
	unsigned long long serial;
	bool operator==(const FaultLive &o) const
	{
		return blocks == o.blocks && mapped_bytes == o.mapped_bytes &&
		       threads == o.threads;
	}
};

std::string ToString(const FaultLive &live);

// Snapshot of what is live through the wrappers now.
FaultLive FaultLiveNow();

// The blocks allocated since @p before and still live, with their sizes.
std::string FaultBlocksSince(const FaultLive &before);

// One run of a scenario: the fail_at-th call counted while armed fails (0:
// none), and the run checks every call made through it.
class FaultRun
{
      public:
	explicit FaultRun(unsigned long fail_at);
	~FaultRun();
	FaultRun(const FaultRun &) = delete;
	FaultRun &operator=(const FaultRun &) = delete;

	// Calls op armed. A nonzero result must be one of `documented` (the
	// codes op's header gives for a failure of memory or threads), and
	// must come from the failure injected during op, not from an earlier
	// one. Then the model check runs, and op is called again, unarmed,
	// as a user would retry: it must succeed. Returns 0, or op's result
	// if the retry failed too (the test has failed then).
	int Call(const char *what,
	         const std::vector<int> &documented,
	         const std::function<int()> &op);
	// The same for a call that returns a pointer (NULL and aml_errno on
	// error).
	void *CallPtr(const char *what,
	              const std::vector<int> &documented,
	              const std::function<void *()> &op);
	// Calls op armed, for calls that cannot report an error (fini,
	// destroy) and calls whose result the scenario checks itself. Runs
	// the model check if the failure was injected during op.
	void Quiet(const std::function<void()> &op);
	// Calls op armed and returns its result unchecked, with whether the
	// failure was injected during it, for results the scenario checks
	// itself.
	int Raw(const std::function<int()> &op, bool *injected);

	// What must hold after any failure: the caller's data intact, the
	// objects consistent (a model to compare with). Runs after the call
	// during which the failure was injected.
	void SetModel(std::function<void()> check);

	// Whether the failure was injected so far in this run.
	bool Injected() const;
	// The wrapped function that failed ("malloc", "mmap"...), or "".
	std::string Site() const;
	// Calls counted while armed so far.
	unsigned long Counted() const;
	// The call that fails (the N of this run).
	unsigned long FailAt() const
	{
		return fail_at_;
	}

      private:
	bool Arm();
	bool Disarm(bool was_injected);
	void CheckModel();

	unsigned long fail_at_;
	std::function<void()> model_;
};

// Runs scenario(run) once with no failure, so that objects that outlive
// it (a topology shared by the runs) reach their steady state, then for
// fail_at = 1, 2, ... until a run in which no failure was injected (the
// scenario then ran in full), checking after each run that nothing is live
// through the wrappers that was not before. A scenario must destroy
// everything it made. Stops at the first run that fails a check. Returns
// the runs with a failure injected, so that a test can check the scenario
// reached any.
unsigned long ForEachFault(const std::function<void(FaultRun &)> &scenario);

} // namespace aml_test

#endif // AML_TESTS_TESTING_FAULT_H
