// SPDX-License-Identifier: BSD-3-Clause
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bench/fair_order.h"

namespace
{

std::vector<std::string> Flags(std::vector<std::string> args)
{
	std::vector<char *> argv;
	for (std::string &a : args)
		argv.push_back(&a[0]);
	return aml_bench::FairOrderFlags((int)argv.size(), argv.data());
}

TEST(FairOrder, BothByDefault)
{
	EXPECT_EQ(Flags({"bench"}),
	          (std::vector<std::string>{
	                  "--benchmark_repetitions=3",
	                  "--benchmark_enable_random_interleaving=true"}));
	EXPECT_EQ(Flags({"bench", "--benchmark_filter=x"}).size(), 2u);
}

TEST(FairOrder, TheCommandLineWins)
{
	EXPECT_EQ(Flags({"bench", "--benchmark_repetitions=1"}),
	          (std::vector<std::string>{
	                  "--benchmark_enable_random_interleaving=true"}));
	EXPECT_EQ(Flags({"bench",
	                 "--benchmark_enable_random_interleaving=false"}),
	          (std::vector<std::string>{"--benchmark_repetitions=3"}));
	EXPECT_TRUE(Flags({"bench", "--benchmark_repetitions=5",
	                   "--benchmark_enable_random_interleaving=false"})
	                    .empty());
}

TEST(FairOrder, TheProgramNameIsNotAFlag)
{
	EXPECT_EQ(Flags({"--benchmark_repetitions=9"}).size(), 2u);
}

} // namespace
