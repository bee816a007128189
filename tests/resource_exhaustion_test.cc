// SPDX-License-Identifier: BSD-3-Clause
// Running out of what the system lends besides memory: file descriptors,
// thread-specific keys, locks. docs/errors.md: that is AML_ENOMEM, and
// nothing is cached as failed: the same call succeeds once the resource is
// back, aml_topology_default() included.
//
// No file descriptor is free while a NoFreeDescriptors lives. Keys and
// locks fail through the linker: this test links aml statically with
// -Wl,--wrap for pthread_key_create, pthread_mutex_init and
// pthread_rwlock_init (tests/BUILD.bazel), and the wrappers below fail the
// call chosen, as the system would (EAGAIN). glibc's locks with default
// attributes never fail, but POSIX lets them, and keys run out at 1024.
//
// The target sets AML_TOPOLOGY_XML; no other test here calls
// aml_topology_default(), and the memkind test is the first to ask for
// its kind.
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/device/memkind.h>

#include "tests/testing/process.h"

namespace
{

// Which wrapped function fails, and at its how-manyth call from now on
// (0: none).
std::atomic<int> armed_site{-1};
std::atomic<int> calls_left{0};
std::atomic<bool> injected{false};

enum Site { kKeyCreate, kMutexInit, kRwlockInit };

bool Fail(Site site)
{
	if (armed_site.load() != site || calls_left.load() == 0)
		return false;
	if (calls_left.fetch_sub(1) != 1)
		return false;
	injected = true;
	return true;
}

// Fail the @p nth call to @p site made while it lives.
class Armed
{
      public:
	Armed(Site site, int nth)
	{
		injected = false;
		calls_left = nth;
		armed_site = site;
	}
	~Armed()
	{
		armed_site = -1;
		calls_left = 0;
	}
	bool Injected() const
	{
		return injected.load();
	}
};

} // namespace

extern "C" {
int __real_pthread_key_create(pthread_key_t *key, void (*fn)(void *));
int __real_pthread_mutex_init(pthread_mutex_t *m,
                              const pthread_mutexattr_t *attr);
int __real_pthread_rwlock_init(pthread_rwlock_t *l,
                               const pthread_rwlockattr_t *attr);
int __wrap_pthread_key_create(pthread_key_t *key, void (*fn)(void *));
int __wrap_pthread_mutex_init(pthread_mutex_t *m,
                              const pthread_mutexattr_t *attr);
int __wrap_pthread_rwlock_init(pthread_rwlock_t *l,
                               const pthread_rwlockattr_t *attr);

int __wrap_pthread_key_create(pthread_key_t *key, void (*fn)(void *))
{
	return Fail(kKeyCreate) ? EAGAIN : __real_pthread_key_create(key, fn);
}

int __wrap_pthread_mutex_init(pthread_mutex_t *m,
                              const pthread_mutexattr_t *attr)
{
	return Fail(kMutexInit) ? EAGAIN : __real_pthread_mutex_init(m, attr);
}

int __wrap_pthread_rwlock_init(pthread_rwlock_t *l,
                               const pthread_rwlockattr_t *attr)
{
	return Fail(kRwlockInit) ? EAGAIN : __real_pthread_rwlock_init(l, attr);
}
}

namespace
{

using aml_testing::NoFreeDescriptors;

std::string TmpDir()
{
	const char *dir = getenv("TEST_TMPDIR");
	return dir != nullptr ? dir : "/tmp";
}

// The process's default topology, first asked for with no descriptor
// free: the file cannot be opened, for lack of resources, not because it
// is bad; the next call reads it.
TEST(ResourceExhaustion, DefaultTopologyIsReadAgainOnceDescriptorsAreBack)
{
	if (aml_backend_is_built(AML_BACKEND_HWLOC) != 1)
		GTEST_SKIP() << "aml built without hwloc: no XML is read";
	{
		NoFreeDescriptors none;
		ASSERT_TRUE(none.Active());
		aml_errno = 0;
		EXPECT_EQ(aml_topology_default(), nullptr);
		EXPECT_EQ(aml_errno, AML_ENOMEM);
	}
	const struct aml_topology *t = aml_topology_default();
	ASSERT_NE(t, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(aml_topology_ndevices(t), 2);
}

TEST(ResourceExhaustion, XmlFileWithoutDescriptorsIsEnomem)
{
	if (aml_backend_is_built(AML_BACKEND_HWLOC) != 1)
		GTEST_SKIP() << "aml built without hwloc: no XML is read";
	const char *path = "tests/fixtures/topology/knl-flat.xml";
	struct aml_topology *t = nullptr;
	struct aml_topology_xml_error error;
	{
		NoFreeDescriptors none;
		ASSERT_TRUE(none.Active());
		EXPECT_EQ(aml_topology_load_xml_file(&t, path, &error),
		          AML_ENOMEM);
		EXPECT_EQ(t, nullptr);
	}
	ASSERT_EQ(aml_topology_load_xml_file(&t, path, &error), 0)
	        << error.reason;
	aml_topology_destroy(&t);
}

TEST(ResourceExhaustion, SpecFileWithoutDescriptorsIsEnomem)
{
	std::string path = TmpDir() + "/machine.spec";
	FILE *f = fopen(path.c_str(), "w");
	ASSERT_NE(f, nullptr);
	fputs("qemu-3node", f);
	fclose(f);
	std::string spec = "@" + path;
	struct aml_topology *t = nullptr;
	struct aml_emu_error error = {};
	{
		NoFreeDescriptors none;
		ASSERT_TRUE(none.Active());
		EXPECT_EQ(aml_emu_create(&t, spec.c_str(), &error), AML_ENOMEM);
		EXPECT_EQ(t, nullptr);
	}
	ASSERT_EQ(aml_emu_create(&t, spec.c_str(), &error), 0) << error.reason;
	EXPECT_EQ(aml_topology_ndevices(t), 3);
	aml_topology_destroy(&t);
	unlink(path.c_str());
}

// Each call to @p site that aml_emu_create makes fails in turn: each
// failure is AML_ENOMEM and leaves nothing (the sanitizers and valgrind
// check the leaks), until a run in which none was made.
void EveryCallFails(Site site)
{
	int failures = 0;
	for (int nth = 1;; nth++) {
		SCOPED_TRACE(nth);
		struct aml_topology *t = nullptr;
		int err;
		bool was_injected;
		{
			Armed armed(site, nth);
			err = aml_emu_create(&t, "knl-flat", nullptr);
			was_injected = armed.Injected();
		}
		if (!was_injected) {
			EXPECT_EQ(err, 0);
			aml_topology_destroy(&t);
			break;
		}
		failures++;
		EXPECT_EQ(err, AML_ENOMEM);
		EXPECT_EQ(t, nullptr);
		if (::testing::Test::HasFailure())
			break;
	}
	EXPECT_GT(failures, 0) << "no call was made";
}

TEST(ResourceExhaustion, EmulatorWithoutThreadKeysIsEnomem)
{
	EveryCallFails(kKeyCreate);
}

TEST(ResourceExhaustion, EmulatorWithoutLocksIsEnomem)
{
	EveryCallFails(kMutexInit);
	EveryCallFails(kRwlockInit);
}

// A memkind kind's record of maps that cannot be made (its lock) leaves no
// device, with AML_ENOMEM, for this call only: the next makes it.
TEST(ResourceExhaustion, MemkindDeviceIsMadeAgainAfterAFailure)
{
	if (aml_backend_is_built(AML_BACKEND_MEMKIND) != 1)
		GTEST_SKIP() << "aml built without memkind";
	const struct aml_device *dev;
	bool was_injected;
	{
		Armed armed(kMutexInit, 1);
		aml_errno = 0;
		dev = aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY);
		was_injected = armed.Injected();
	}
	if (!was_injected && dev == nullptr && aml_errno == AML_ENODEV)
		GTEST_SKIP() << "memkind has no such kind here";
	ASSERT_TRUE(was_injected) << "the kind was made before this test";
	EXPECT_EQ(dev, nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	dev = aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY);
	ASSERT_NE(dev, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY), dev);
	void *p = aml_device_map(dev, aml_page_size());
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(aml_device_unmap(dev, p, aml_page_size()), 0);
}

} // namespace
