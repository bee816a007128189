// SPDX-License-Identifier: BSD-3-Clause
// Running part of a test in a child of fork(): the child exits with what
// the part returns, and the parent waits for it a bounded time, so that a
// child that hangs fails the test instead of hanging it.
#ifndef AML_TESTS_TESTING_IN_CHILD_H
#define AML_TESTS_TESTING_IN_CHILD_H

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>

#include <gtest/gtest.h>

namespace aml_testing
{

// Under ThreadSanitizer and AddressSanitizer children exit at once, and
// what the sanitizer checks is the parent's side: the atfork handlers
// racing with threads that use aml. ThreadSanitizer cannot follow a thread
// that a child of a multithreaded fork starts ("dup thread with used id":
// the child reuses a dead thread's id), and the contract has the child
// start workers. The AddressSanitizer of GCC 12 does not lock its
// allocator across fork(): a child deadlocks in malloc when another thread
// was inside it at the fork (seen: workers of the child stuck in calloc on
// a size class a parent worker was starting with).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kChildrenRun = false;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr bool kChildrenRun = false;
#else
constexpr bool kChildrenRun = true;
#endif
#else
constexpr bool kChildrenRun = true;
#endif

// Generous: a loaded machine must never fail a healthy child.
constexpr auto kChildTimeout = std::chrono::seconds(60);

// In the child: report what failed on stderr, and exit 1.
#define CHILD_EXPECT(cond)                                                     \
	do {                                                                   \
		if (!(cond)) {                                                 \
			std::fprintf(stderr, "child %d: %s:%d: %s\n",          \
			             (int)getpid(), __FILE__, __LINE__,        \
			             #cond);                                   \
			return 1;                                              \
		}                                                              \
	} while (0)

// Fork, run @p body in the child, which exits with what it returns; wait
// at most kChildTimeout for it, and kill it if it is not done by then.
inline ::testing::AssertionResult InChild(const std::function<int()> &body)
{
	std::fflush(nullptr); // nothing buffered is written twice
	pid_t pid = fork();
	if (pid < 0)
		return ::testing::AssertionFailure()
		       << "fork: " << std::strerror(errno);
	if (pid == 0)
		_exit(kChildrenRun ? body() : 0);
	auto deadline = std::chrono::steady_clock::now() + kChildTimeout;
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return ::testing::AssertionFailure()
			       << "waitpid: " << std::strerror(errno);
		if (std::chrono::steady_clock::now() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return ::testing::AssertionFailure()
			       << "child " << pid << " hung: killed after "
			       << kChildTimeout.count() << " s";
		}
		// Polling, not synchronisation: the child ends when it ends.
		usleep(1000);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return ::testing::AssertionSuccess();
	if (WIFSIGNALED(status))
		return ::testing::AssertionFailure()
		       << "child " << pid << " killed by signal "
		       << WTERMSIG(status);
	return ::testing::AssertionFailure()
	       << "child " << pid << " exited " << WEXITSTATUS(status);
}

} // namespace aml_testing

#endif // AML_TESTS_TESTING_IN_CHILD_H
