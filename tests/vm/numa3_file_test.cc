// SPDX-License-Identifier: BSD-3-Clause
// Guest-only: file areas (aml/area/file.h) on the 3-node kernel. A shared
// memfd area bound to node 1 and one interleaved over nodes 1 and 2 place
// their pages there; a second process, given the descriptor over a Unix
// socket, maps the same range with the same policy, sees the first one's
// writes, and finds the same pages on the same nodes by move_pages(2),
// whichever process touched them first (shmem's policy is the object's).
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/file.h>

#include "tests/vm/guest.h"

namespace
{

using aml_vm::NodesOf;
using aml_vm::Page;

constexpr size_t kPages = 64;

class Numa3File : public aml_vm::Guest3Node
{
      protected:
	// A shared memfd area of policy over nodes 1 and 2 (n of them).
	int Init(struct aml_area_file *area,
	         struct aml_area_file_source *src,
	         enum aml_policy policy,
	         size_t n)
	{
		const struct aml_device *devs[2] = {node[1], node[2]};
		return aml_area_file_init(area, src, t, devs, n, policy,
		                          nullptr);
	}
	// Map kPages of the area, write the first half, and have a child
	// process, given the descriptor, map the same range with the same
	// policy, check the first half and write the second (its first
	// touch). @return the nodes of the pages as the child saw them
	// (move_pages), which must be what the parent sees.
	std::vector<int> ShareWithAChild(struct aml_area_file *area,
	                                 enum aml_policy policy,
	                                 size_t n);
};

std::vector<int> Numa3File::ShareWithAChild(struct aml_area_file *area,
                                            enum aml_policy policy,
                                            size_t n)
{
	std::vector<int> seen(kPages, -1000);
	size_t size = kPages * Page();
	uint64_t off = 0;
	char *p = static_cast<char *>(
	        aml_area_file_mmap(&area->base, size, nullptr, &off));
	EXPECT_NE(p, nullptr) << aml_errname(aml_errno);
	if (p == nullptr)
		return seen;
	// The parent touches the first half, the child the second.
	std::memset(p, 'P', size / 2);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		ADD_FAILURE() << "socketpair";
		return seen;
	}
	pid_t pid = fork();
	if (pid < 0) {
		ADD_FAILURE() << "fork";
		return seen;
	}
	if (pid == 0) {
		close(sv[0]);
		int fd = -1;
		if (aml_area_file_recv_fd(sv[1], &fd) != 0)
			_exit(10);
		struct aml_area_file_source src = {};
		src.kind = AML_AREA_FILE_FD;
		src.fd = fd;
		src.shared = true;
		AML_AREA_FILE_DECL(mine);
		if (Init(&mine, &src, policy, n) != 0)
			_exit(11);
		char *q = static_cast<char *>(
		        aml_area_file_mmap_at(&mine.base, off, size, nullptr));
		if (q == nullptr)
			_exit(12);
		for (size_t i = 0; i < size / 2; i++)
			if (q[i] != 'P')
				_exit(13);
		std::memset(q + size / 2, 'C', size / 2);
		std::vector<int> nodes = NodesOf(q, kPages);
		if (aml_area_munmap(&mine.base, q, size) != 0)
			_exit(14);
		aml_area_file_fini(&mine);
		close(fd);
		size_t bytes = nodes.size() * sizeof(int);
		_exit(write(sv[1], nodes.data(), bytes) == (ssize_t)bytes ? 0
		                                                          : 15);
	}
	close(sv[1]);
	EXPECT_EQ(aml_area_file_send_fd(sv[0], aml_area_file_fd(&area->base)),
	          0);
	size_t bytes = seen.size() * sizeof(int);
	EXPECT_EQ(read(sv[0], seen.data(), bytes), (ssize_t)bytes);
	close(sv[0]);
	int status = 0;
	EXPECT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
	        << "exit " << WEXITSTATUS(status)
	        << ": 10 recv, 11 init, 12 map, 13 data, 14 unmap, 15 write";
	for (size_t i = size / 2; i < size; i++)
		EXPECT_EQ(p[i], 'C') << "byte " << i;
	EXPECT_EQ(NodesOf(p, kPages), seen) << "the child saw other nodes";
	EXPECT_EQ(LocatedNodes(p, kPages), seen);
	EXPECT_EQ(aml_area_munmap(&area->base, p, size), 0);
	return seen;
}

TEST_F(Numa3File, TwoProcessesShareABoundMemfdOnNode1)
{
	struct aml_area_file_source src = {};
	src.kind = AML_AREA_FILE_MEMFD;
	src.name = "numa3-bind";
	src.capacity = (kPages + 1) * Page();
	src.shared = true;
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(Init(&area, &src, AML_POLICY_BIND, 1), 0);
	EXPECT_EQ(ShareWithAChild(&area, AML_POLICY_BIND, 1),
	          std::vector<int>(kPages, 1));
	aml_area_file_fini(&area);
}

TEST_F(Numa3File, TwoProcessesShareAnInterleavedMemfdOverNodes1And2)
{
	struct aml_area_file_source src = {};
	src.kind = AML_AREA_FILE_MEMFD;
	src.name = "numa3-interleave";
	src.capacity = (kPages + 1) * Page();
	src.shared = true;
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(Init(&area, &src, AML_POLICY_INTERLEAVE, 2), 0);
	// Shmem interleaves page by page, by the page's index in the file:
	// nodes 1 and 2 alternate, whichever process touched the page.
	std::vector<int> nodes =
	        ShareWithAChild(&area, AML_POLICY_INTERLEAVE, 2);
	for (size_t i = 0; i < kPages; i++) {
		EXPECT_TRUE(nodes[i] == 1 || nodes[i] == 2) << "page " << i;
		if (i > 0) {
			EXPECT_NE(nodes[i], nodes[i - 1]) << "page " << i;
		}
	}
	aml_area_file_fini(&area);
}

} // namespace
