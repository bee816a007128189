// SPDX-License-Identifier: BSD-3-Clause
// How aml installs its fork() handlers (aml/src/fork.h): with the first
// object that registers, retried by the next registration when
// pthread_atfork fails (it can, for lack of memory), and harmless when two
// threads that register at once both install them. The target links aml
// statically with -Wl,--wrap=pthread_atfork, so aml's calls come here,
// where they fail or repeat on demand. One test: what it checks is the
// process's first registrations.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>

#include "tests/testing/in_child.h"

extern "C" int __real_pthread_atfork(void (*prepare)(void),
                                     void (*parent)(void),
                                     void (*child)(void));
extern "C" int __wrap_pthread_atfork(void (*prepare)(void),
                                     void (*parent)(void),
                                     void (*child)(void));

namespace
{

// Calls to fail with ENOMEM, from the next one on.
std::atomic<int> fail_calls{0};
// Install the next handlers twice, as two threads that registered at
// once would.
std::atomic<bool> install_twice{false};
// Calls made, and handler sets the C library took.
std::atomic<int> calls{0};
std::atomic<int> installed{0};

} // namespace

extern "C" int __wrap_pthread_atfork(void (*prepare)(void),
                                     void (*parent)(void),
                                     void (*child)(void))
{
	calls++;
	if (fail_calls > 0) {
		fail_calls--;
		return ENOMEM;
	}
	int times = install_twice.exchange(false) ? 2 : 1;
	for (int i = 0; i < times; i++) {
		int err = __real_pthread_atfork(prepare, parent, child);
		if (err != 0)
			return err;
		installed++;
	}
	return 0;
}

namespace
{

using aml_testing::InChild;

// A par engine whose copies all go to its workers.
struct aml_dma *NewPar()
{
	struct aml_dma_par_options o = {};
	o.nworkers = 2;
	o.inline_max = AML_DMA_PAR_NO_INLINE;
	o.spin_ns = 1000;
	struct aml_dma *dma = nullptr;
	EXPECT_EQ(aml_dma_par_create(&dma, nullptr, &o), 0);
	return dma;
}

// A copy through @p dma, checked; 0 if it went well.
int Copies(struct aml_dma *dma)
{
	std::vector<char> src(1 << 20, 3), dst(1 << 20, 0);
	CHILD_EXPECT(aml_dma_copy_bytes(dma, dst.data(), src.data(),
	                                src.size()) == 0);
	CHILD_EXPECT(dst == src);
	return 0;
}

TEST(ForkAtfork, AFailedInstallIsRetriedAndATwiceInstalledOneIsHarmless)
{
	// The process's first registration: pthread_atfork fails.
	fail_calls = 1;
	struct aml_dma *first = nullptr;
	ASSERT_EQ(aml_dma_seq_create(&first, nullptr), 0);
	EXPECT_EQ(calls.load(), 1);
	EXPECT_EQ(installed.load(), 0);
	// The next one tries again; it succeeds, twice over, as when two
	// threads install at once.
	install_twice = true;
	struct aml_dma *par = NewPar();
	ASSERT_NE(par, nullptr);
	ASSERT_EQ(calls.load(), 2) << "the install was not retried";
	EXPECT_EQ(installed.load(), 2);
	// Installed: no more calls.
	struct aml_dma *third = nullptr;
	ASSERT_EQ(aml_dma_seq_create(&third, nullptr), 0);
	EXPECT_EQ(calls.load(), 2);
	// Forks work in both processes (a handler set run twice per fork
	// would take the registry's lock twice and deadlock), and the
	// handlers run: the child's engine, whose workers did not survive,
	// copies and finalises (without them, its fini joins threads that do
	// not exist, and hangs).
	for (int i = 0; i < 3; i++) {
		EXPECT_TRUE(InChild([&] {
			int err = Copies(par);
			aml_dma_par_destroy(&par);
			struct aml_dma *mine = NewPar();
			if (err == 0 && mine != nullptr)
				err = Copies(mine);
			aml_dma_par_destroy(&mine);
			aml_dma_seq_destroy(&first);
			aml_dma_seq_destroy(&third);
			return err;
		})) << "fork "
		    << i;
		EXPECT_EQ(Copies(par), 0);
	}
	aml_dma_par_destroy(&par);
	aml_dma_seq_destroy(&third);
	aml_dma_seq_destroy(&first);
}

} // namespace
