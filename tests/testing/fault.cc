// SPDX-License-Identifier: BSD-3-Clause
// Fault injection (fault.h): the __wrap_ functions that -Wl,--wrap sends
// aml's calls to, what they count and keep, and the driver.
//
// The wrappers may run on any thread (dma workers), before main and after
// a test, so their state is atomics plus one mutex-guarded record of what
// is live, allocated once and never destroyed. The record uses std
// containers: their `new` goes to libstdc++, which is not wrapped, so the
// wrappers never call themselves.
#include "tests/testing/fault.h"

#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include <aml/error.h>

namespace
{

// ---- Arming ----

std::atomic<bool> armed{false};
std::atomic<unsigned long> counted{0};
std::atomic<unsigned long> fail_at{0};
std::atomic<const char *> injected_site{nullptr};

// Where the failure was injected, printed when a check about it fails.
constexpr int kFrames = 12;
void *injected_frames[kFrames];
int injected_nframes;

// Should this call, counted if armed, fail?
bool Fail(const char *site)
{
	if (!armed.load(std::memory_order_acquire))
		return false;
	unsigned long n = counted.fetch_add(1) + 1;
	if (n != fail_at.load())
		return false;
	injected_nframes = backtrace(injected_frames, kFrames);
	injected_site.store(site);
	return true;
}

// ---- What is live through the wrappers ----

struct Block {
	size_t size;
	// Order of the allocation, to tell the blocks of one run.
	unsigned long long serial;
};

struct Live {
	std::mutex lock;
	std::unordered_map<void *, Block> blocks;
	unsigned long long serial = 0;
	// Mapped ranges [start, end), by start.
	std::map<uintptr_t, uintptr_t> regions;
	long long mapped_bytes = 0;
	long threads = 0;
};

Live &TheLive()
{
	static Live *live = new Live; // never destroyed: see the top
	return *live;
}

void AddBlock(void *p, size_t size)
{
	if (p == nullptr)
		return;
	Live &l = TheLive();
	std::lock_guard<std::mutex> g(l.lock);
	l.blocks[p] = {size, ++l.serial};
}

void DropBlock(void *p)
{
	if (p == nullptr)
		return;
	Live &l = TheLive();
	std::lock_guard<std::mutex> g(l.lock);
	l.blocks.erase(p);
}

void AddRegion(void *p, size_t size)
{
	Live &l = TheLive();
	std::lock_guard<std::mutex> g(l.lock);
	l.regions[(uintptr_t)p] = (uintptr_t)p + size;
	l.mapped_bytes += (long long)size;
}

// Forget [start, end) from the regions, splitting them as munmap does.
void DropRegion(uintptr_t start, uintptr_t end)
{
	Live &l = TheLive();
	std::lock_guard<std::mutex> g(l.lock);
	auto it = l.regions.upper_bound(start);
	if (it != l.regions.begin())
		--it;
	while (it != l.regions.end() && it->first < end) {
		uintptr_t s = it->first, e = it->second;
		if (e <= start) {
			++it;
			continue;
		}
		it = l.regions.erase(it);
		uintptr_t cut_s = std::max(s, start), cut_e = std::min(e, end);
		l.mapped_bytes -= (long long)(cut_e - cut_s);
		if (s < cut_s)
			l.regions[s] = cut_s;
		if (cut_e < e)
			it = l.regions.emplace(cut_e, e).first;
	}
}

// Would unmapping [start, end) split one mapping in three (a new VMA, which
// Linux refuses past vm.max_map_count)?
bool SplitsRegion(uintptr_t start, uintptr_t end)
{
	Live &l = TheLive();
	std::lock_guard<std::mutex> g(l.lock);
	auto it = l.regions.upper_bound(start);
	if (it == l.regions.begin())
		return false;
	--it;
	return it->first < start && end < it->second;
}

} // namespace

// ---- The wrappers ----

// Linux 5.14's value; older headers lack it.
#define FAULT_MADV_POPULATE_WRITE 23

extern "C" {

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
int __real_posix_memalign(void **out, size_t align, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
void *
__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);
int __real_madvise(void *addr, size_t len, int advice);
int __real_pthread_create(pthread_t *t,
                          const pthread_attr_t *attr,
                          void *(*fn)(void *),
                          void *arg);
int __real_pthread_join(pthread_t t, void **ret);
FILE *__real_fopen(const char *path, const char *mode);
DIR *__real_opendir(const char *path);
// From the optional libraries: weak, so that a build without one links
// (its wrapper is then never called, --wrap being off for it).
long __real_mbind(void *addr,
                  unsigned long len,
                  int mode,
                  const unsigned long *mask,
                  unsigned long maxnode,
                  unsigned flags) __attribute__((weak));
long __real_move_pages(int pid,
                       unsigned long count,
                       void **pages,
                       const int *nodes,
                       int *status,
                       int flags) __attribute__((weak));
struct memkind;
void *__real_memkind_malloc(struct memkind *kind, size_t size)
        __attribute__((weak));
int __real_memkind_posix_memalign(struct memkind *kind,
                                  void **out,
                                  size_t align,
                                  size_t size) __attribute__((weak));
void __real_memkind_free(struct memkind *kind, void *p) __attribute__((weak));
int __real_memkind_create_fixed(void *addr, size_t size, struct memkind **kind)
        __attribute__((weak));
struct hwloc_topology;
int __real_hwloc_topology_init(struct hwloc_topology **t) __attribute__((weak));
int __real_hwloc_topology_load(struct hwloc_topology *t) __attribute__((weak));

void *__wrap_malloc(size_t size)
{
	if (Fail("malloc")) {
		errno = ENOMEM;
		return nullptr;
	}
	void *p = __real_malloc(size);
	AddBlock(p, size);
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (Fail("calloc")) {
		errno = ENOMEM;
		return nullptr;
	}
	void *p = __real_calloc(n, size);
	AddBlock(p, n * size);
	return p;
}

void *__wrap_realloc(void *old, size_t size)
{
	if (Fail("realloc")) {
		errno = ENOMEM;
		return nullptr; // old untouched
	}
	void *p = __real_realloc(old, size);
	if (p != nullptr) {
		DropBlock(old);
		AddBlock(p, size);
	}
	return p;
}

void __wrap_free(void *p)
{
	DropBlock(p);
	__real_free(p);
}

int __wrap_posix_memalign(void **out, size_t align, size_t size)
{
	if (Fail("posix_memalign"))
		return ENOMEM;
	int err = __real_posix_memalign(out, align, size);
	if (err == 0)
		AddBlock(*out, size);
	return err;
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
	if (Fail("aligned_alloc")) {
		errno = ENOMEM;
		return nullptr;
	}
	void *p = __real_aligned_alloc(align, size);
	AddBlock(p, size);
	return p;
}

void *
__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (Fail("mmap")) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *p = __real_mmap(addr, len, prot, flags, fd, off);
	// MAP_FIXED replaces what was mapped there (a file area maps its
	// range into a reservation), as munmap would have.
	if (p != MAP_FAILED && (flags & MAP_FIXED) != 0)
		DropRegion((uintptr_t)p, (uintptr_t)p + len);
	if (p != MAP_FAILED)
		AddRegion(p, len);
	return p;
}

int __wrap_munmap(void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t end = (start + len + page - 1) & ~(page - 1);
	// Only a cut in the middle of a mapping can fail on Linux (one more
	// VMA past vm.max_map_count): only that is counted.
	if (SplitsRegion(start, end) && Fail("munmap")) {
		errno = ENOMEM;
		return -1;
	}
	int err = __real_munmap(addr, len);
	if (err == 0)
		DropRegion(start, end);
	return err;
}

int __wrap_madvise(void *addr, size_t len, int advice)
{
	// Populating can fail for lack of memory; the other advice aml
	// gives cannot.
	if (advice == FAULT_MADV_POPULATE_WRITE && Fail("madvise")) {
		errno = ENOMEM;
		return -1;
	}
	return __real_madvise(addr, len, advice);
}

long __wrap_mbind(void *addr,
                  unsigned long len,
                  int mode,
                  const unsigned long *mask,
                  unsigned long maxnode,
                  unsigned flags)
{
	if (Fail("mbind")) {
		errno = ENOMEM;
		return -1;
	}
	return __real_mbind(addr, len, mode, mask, maxnode, flags);
}

long __wrap_move_pages(int pid,
                       unsigned long count,
                       void **pages,
                       const int *nodes,
                       int *status,
                       int flags)
{
	if (Fail("move_pages")) {
		errno = ENOMEM;
		return -1;
	}
	return __real_move_pages(pid, count, pages, nodes, status, flags);
}

int __wrap_pthread_create(pthread_t *t,
                          const pthread_attr_t *attr,
                          void *(*fn)(void *),
                          void *arg)
{
	if (Fail("pthread_create"))
		return EAGAIN;
	int err = __real_pthread_create(t, attr, fn, arg);
	if (err == 0) {
		Live &l = TheLive();
		std::lock_guard<std::mutex> g(l.lock);
		l.threads++;
	}
	return err;
}

int __wrap_pthread_join(pthread_t t, void **ret)
{
	int err = __real_pthread_join(t, ret);
	if (err == 0) {
		Live &l = TheLive();
		std::lock_guard<std::mutex> g(l.lock);
		l.threads--;
	}
	return err;
}

FILE *__wrap_fopen(const char *path, const char *mode)
{
	if (Fail("fopen")) {
		errno = ENOMEM;
		return nullptr;
	}
	return __real_fopen(path, mode);
}

DIR *__wrap_opendir(const char *path)
{
	if (Fail("opendir")) {
		errno = ENOMEM;
		return nullptr;
	}
	return __real_opendir(path);
}

void *__wrap_memkind_malloc(struct memkind *kind, size_t size)
{
	if (Fail("memkind_malloc")) {
		errno = ENOMEM;
		return nullptr;
	}
	void *p = __real_memkind_malloc(kind, size);
	AddBlock(p, size);
	return p;
}

int __wrap_memkind_posix_memalign(struct memkind *kind,
                                  void **out,
                                  size_t align,
                                  size_t size)
{
	if (Fail("memkind_posix_memalign"))
		return ENOMEM;
	int err = __real_memkind_posix_memalign(kind, out, align, size);
	if (err == 0)
		AddBlock(*out, size);
	return err;
}

void __wrap_memkind_free(struct memkind *kind, void *p)
{
	DropBlock(p);
	__real_memkind_free(kind, p);
}

int __wrap_memkind_create_fixed(void *addr, size_t size, struct memkind **kind)
{
	if (Fail("memkind_create_fixed"))
		return -6; // MEMKIND_ERROR_MALLOC
	return __real_memkind_create_fixed(addr, size, kind);
}

int __wrap_hwloc_topology_init(struct hwloc_topology **t)
{
	if (Fail("hwloc_topology_init")) {
		errno = ENOMEM;
		return -1;
	}
	return __real_hwloc_topology_init(t);
}

int __wrap_hwloc_topology_load(struct hwloc_topology *t)
{
	if (Fail("hwloc_topology_load")) {
		errno = ENOMEM;
		return -1;
	}
	return __real_hwloc_topology_load(t);
}

} // extern "C"

// ---- The driver ----

namespace aml_test
{

std::string ToString(const FaultLive &live)
{
	return std::to_string(live.blocks) + " blocks, " +
	       std::to_string(live.mapped_bytes) + " bytes mapped, " +
	       std::to_string(live.threads) + " threads";
}

FaultLive FaultLiveNow()
{
	Live &l = TheLive();
	std::lock_guard<std::mutex> g(l.lock);
	return {(long)l.blocks.size(), l.mapped_bytes, l.threads, l.serial};
}

std::string FaultBlocksSince(const FaultLive &before)
{
	Live &l = TheLive();
	std::lock_guard<std::mutex> g(l.lock);
	std::string out;
	for (const auto &b : l.blocks)
		if (b.second.serial > before.serial)
			out += " " + std::to_string(b.second.size) +
			       " B (block " +
			       std::to_string(b.second.serial - before.serial) +
			       " of the run)";
	return out;
}

namespace
{

// The stack of the injected failure, for the report of a check about it.
std::string InjectedStack()
{
	std::string out;
	char **names = backtrace_symbols(injected_frames, injected_nframes);
	for (int i = 1; names != nullptr && i < injected_nframes; i++) {
		std::string frame = names[i]; // path(function+offset) [address]
		size_t slash = frame.rfind('/', frame.find('('));
		out += "\n    " + frame.substr(slash + 1);
	}
	free(names);
	return out;
}

std::string Describe(const FaultRun &run)
{
	return "when call " + std::to_string(run.FailAt()) + " (" + run.Site() +
	       ") failed; stack:" + InjectedStack();
}

} // namespace

FaultRun::FaultRun(unsigned long n) : fail_at_(n)
{
	armed.store(false);
	counted.store(0);
	injected_site.store(nullptr);
	fail_at.store(n);
	// backtrace() loads libgcc on its first call: not inside a wrapper.
	void *frame;
	backtrace(&frame, 1);
}

FaultRun::~FaultRun()
{
	armed.store(false);
	fail_at.store(0);
}

bool FaultRun::Arm()
{
	bool before = Injected();
	armed.store(true, std::memory_order_release);
	return before;
}

bool FaultRun::Disarm(bool was_injected)
{
	armed.store(false, std::memory_order_release);
	bool now = !was_injected && Injected();
	if (now)
		CheckModel();
	return now;
}

void FaultRun::CheckModel()
{
	if (model_)
		model_();
}

void FaultRun::SetModel(std::function<void()> check)
{
	model_ = std::move(check);
}

bool FaultRun::Injected() const
{
	return injected_site.load() != nullptr;
}

std::string FaultRun::Site() const
{
	const char *site = injected_site.load();
	return site != nullptr ? site : "";
}

unsigned long FaultRun::Counted() const
{
	return counted.load();
}

static bool IsDocumented(int err, const std::vector<int> &documented)
{
	return std::find(documented.begin(), documented.end(), err) !=
	       documented.end();
}

int FaultRun::Call(const char *what,
                   const std::vector<int> &documented,
                   const std::function<int()> &op)
{
	bool before = Arm();
	int err = op();
	bool now = Disarm(before);
	if (err == 0)
		return 0;
	EXPECT_TRUE(now) << what << ": " << aml_errname(err)
	                 << " with no failure injected during the call "
	                 << (before ? "(one was, before it)" : "");
	EXPECT_TRUE(IsDocumented(err, documented))
	        << what << " returned the undocumented " << aml_errname(err)
	        << " " << Describe(*this);
	err = op();
	EXPECT_EQ(err, 0) << what
	                  << " failed again once disarmed: " << aml_errname(err)
	                  << " " << Describe(*this);
	return err;
}

void *FaultRun::CallPtr(const char *what,
                        const std::vector<int> &documented,
                        const std::function<void *()> &op)
{
	bool before = Arm();
	aml_errno = 0;
	void *p = op();
	int err = aml_errno;
	bool now = Disarm(before);
	if (p != nullptr)
		return p;
	EXPECT_TRUE(now) << what << ": " << aml_errname(err)
	                 << " with no failure injected during the call "
	                 << (before ? "(one was, before it)" : "");
	EXPECT_TRUE(IsDocumented(err, documented))
	        << what << " returned NULL with the undocumented aml_errno "
	        << aml_errname(err) << " " << Describe(*this);
	p = op();
	EXPECT_NE(p, nullptr)
	        << what
	        << " failed again once disarmed: " << aml_errname(aml_errno)
	        << " " << Describe(*this);
	return p;
}

void FaultRun::Quiet(const std::function<void()> &op)
{
	bool before = Arm();
	op();
	Disarm(before);
}

int FaultRun::Raw(const std::function<int()> &op, bool *injected)
{
	bool before = Arm();
	int err = op();
	*injected = Disarm(before);
	return err;
}

unsigned long ForEachFault(const std::function<void(FaultRun &)> &scenario)
{
	// AML_FAULT_VERBOSE=1 lists the function failed in each run.
	const char *env = getenv("AML_FAULT_VERBOSE");
	bool verbose = env != nullptr && env[0] == '1';
	bool failed_before = ::testing::Test::HasFailure();
	{
		// A first run with nothing failed lets long-lived objects (the
		// topology, its devices) grow the arrays they keep, so that the
		// runs that follow find nothing new left live.
		SCOPED_TRACE("the run with no failure injected");
		FaultRun run(0);
		scenario(run);
	}
	if (!failed_before && ::testing::Test::HasFailure())
		return 0;
	unsigned long runs = 0;
	for (unsigned long n = 1;; n++) {
		SCOPED_TRACE("the failure injected at call " +
		             std::to_string(n));
		FaultLive before = FaultLiveNow();
		bool injected;
		std::string site, described;
		{
			FaultRun run(n);
			scenario(run);
			injected = run.Injected();
			site = run.Site();
			described = Describe(run);
		}
		if (verbose)
			printf("fault: call %lu: %s\n", n,
			       injected ? site.c_str() : "none, run complete");
		FaultLive after = FaultLiveNow();
		EXPECT_EQ(ToString(after), ToString(before))
		        << "leaked when " << (injected ? site : "nothing")
		        << " failed; blocks still live:"
		        << FaultBlocksSince(before);
		if (injected)
			runs++;
		if (!failed_before && ::testing::Test::HasFailure()) {
			if (injected)
				printf("The failures above came %s\n",
				       described.c_str());
			break; // one report per defect, not one per call
		}
		if (!injected)
			break;
	}
	return runs;
}

} // namespace aml_test
