// SPDX-License-Identifier: BSD-3-Clause
// aml_topology_default() across fork() (docs/errors.md, docs/dma.md#fork):
// a child forked while another thread of the parent is inside the first
// call, making the default topology, gets an answer from its own call,
// instead of waiting for ever for a lock the thread it does not have held
// at the fork.
//
// The first call is made slow deterministically: AML_EMULATE names a spec
// file that is a FIFO, and the call reads it until the test writes the
// spec. The child's wait is bounded: a child that hangs is killed and
// fails the test instead of hanging it.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <aml.h>

namespace
{

// Generous: a loaded machine must never fail a healthy child.
constexpr auto kTimeout = std::chrono::seconds(30);

// Whether thread @p tid of this process is blocked in read(): then it is
// inside no allocator when the process forks (the sanitizers' allocators
// are not locked across fork(): a child could hang in malloc for that
// alone).
bool BlockedInRead(long tid)
{
	std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/syscall");
	long nr = -1;
	return f >> nr && nr == SYS_read;
}

// Wait at most kTimeout for child @p pid; kill it if it is not done then.
// @return whether it ended by itself, its status in *status.
bool WaitBounded(pid_t pid, int *status)
{
	auto deadline = std::chrono::steady_clock::now() + kTimeout;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return true;
		if (w < 0 && errno != EINTR) {
			ADD_FAILURE() << "waitpid: " << std::strerror(errno);
			return true;
		}
		if (std::chrono::steady_clock::now() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return false;
		}
		// Polling, not synchronisation: the child ends when it ends.
		usleep(1000);
	}
}

TEST(TopologyDefaultFork, ChildForkedDuringTheFirstCallGetsAnAnswer)
{
	const char *tmp = getenv("TEST_TMPDIR");
	std::string fifo = std::string(tmp != nullptr ? tmp : "/tmp") +
	                   "/default_fork." + std::to_string(getpid());
	ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
	std::string spec = "@" + fifo;
	ASSERT_EQ(setenv("AML_EMULATE", spec.c_str(), 1), 0);

	std::atomic<long> tid{0};
	const struct aml_topology *made = nullptr;
	std::thread first([&] {
		tid = syscall(SYS_gettid);
		made = aml_topology_default();
	});
	// Opens once `first` opens the FIFO to read the spec, inside
	// aml_topology_default(), where it stays until the spec is written.
	int fd = open(fifo.c_str(), O_WRONLY);
	if (fd < 0) {
		ADD_FAILURE() << "open: " << std::strerror(errno);
		first.join();
		return;
	}
	auto deadline = std::chrono::steady_clock::now() + kTimeout;
	while (!BlockedInRead(tid) &&
	       std::chrono::steady_clock::now() < deadline)
		usleep(1000); // polling, not synchronisation: see BlockedInRead

	// Nothing buffered is written twice. Not fflush(NULL): it would wait
	// for the stream `first` holds while it reads.
	std::fflush(stdout);
	std::fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		// The FIFO's spec is the parent's: the child names its own.
		setenv("AML_EMULATE", "qemu-3node", 1);
		const struct aml_topology *t = aml_topology_default();
		_exit(t != nullptr && aml_topology_is_emulated(t) == 1 &&
		                      aml_topology_ndevices(t) == 3
		              ? 0
		              : 1);
	}
	int status = 0;
	bool ended = pid > 0 && WaitBounded(pid, &status);

	// The parent's first call goes on with its spec.
	const char knl[] = "knl-flat";
	EXPECT_EQ(write(fd, knl, sizeof(knl) - 1), (ssize_t)sizeof(knl) - 1);
	close(fd);
	first.join();
	unlink(fifo.c_str());

	ASSERT_GT(pid, 0) << "fork: " << std::strerror(errno);
	EXPECT_TRUE(ended) << "the child's aml_topology_default() hung: killed "
	                      "after "
	                   << kTimeout.count() << " s";
	if (ended) {
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		        << "child status " << status;
	}
	ASSERT_NE(made, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(aml_topology_ndevices(made), 2); // knl-flat: DDR, MCDRAM
	EXPECT_EQ(aml_topology_default(), made);
}

} // namespace
