// SPDX-License-Identifier: BSD-3-Clause
// `bazel run` starts a benchmark in its runfiles tree, so a relative
// --benchmark_out=r.json would land deep inside bazel-bin. Before main(),
// every benchmark binary moves to the directory `bazel run` was typed in
// (BUILD_WORKING_DIRECTORY); no benchmark reads runfiles. Under `bazel test`
// (the smoke tests) and when run by hand the variable is unset, and nothing
// changes.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace
{

struct UserDirectory {
	UserDirectory()
	{
		const char *dir = std::getenv("BUILD_WORKING_DIRECTORY");
		if (dir != nullptr && dir[0] != '\0' && chdir(dir) != 0)
			std::perror(
			        "bench: cannot enter BUILD_WORKING_DIRECTORY");
	}
};

const UserDirectory user_directory;

} // namespace
