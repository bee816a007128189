// SPDX-License-Identifier: BSD-3-Clause
// File areas (aml/area/file.h): memfd, caller's fd and path backings,
// private and shared, every policy on node 0, offsets, the policy page,
// two processes sharing one memfd over a Unix socket, bad input, and the
// emulator's refusal. The area contract itself (aml/area.h) is checked on
// every kind of file area by area_contract_test.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/file.h>
#include <aml/emulator.h>

#include "tests/testing/node0.h"

namespace
{

size_t Page()
{
	return aml_page_size();
}

std::string Detail()
{
	char buf[AML_ERROR_DETAIL_MAX] = "";
	aml_error_detail(buf, sizeof(buf));
	return std::string(aml_errname(aml_errno)) + ": " + buf;
}

int OpenFds()
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d == nullptr)
		return -1;
	while (readdir(d) != nullptr)
		n++;
	closedir(d);
	return n;
}

// A temporary regular file of @p size bytes, open read-write.
struct TempFile {
	explicit TempFile(size_t size)
	{
		const char *dir = std::getenv("TEST_TMPDIR");
		path = std::string(dir != nullptr ? dir : "/tmp") +
		       "/area_file_XXXXXX";
		fd = mkstemp(&path[0]);
		if (fd >= 0 && ftruncate(fd, (off_t)size) != 0) {
			close(fd);
			fd = -1;
		}
	}
	~TempFile()
	{
		if (fd >= 0)
			close(fd);
		unlink(path.c_str());
	}
	std::string path;
	int fd = -1;
};

class AreaFile : public aml_testing::Node0
{
      protected:
	// A memfd area of @p pages pages over node 0 under @p policy.
	int Memfd(struct aml_area_file *area,
	          bool shared,
	          enum aml_policy policy = AML_POLICY_BIND,
	          size_t pages = 16)
	{
		struct aml_area_file_source src = {};
		src.kind = AML_AREA_FILE_MEMFD;
		src.name = "aml-test";
		src.capacity = pages * Page();
		src.shared = shared;
		bool local = policy == AML_POLICY_LOCAL;
		static const unsigned weight[1] = {2};
		return aml_area_file_init(
		        area, &src, t, local ? nullptr : &node0, local ? 0 : 1,
		        policy,
		        policy == AML_POLICY_WEIGHTED_INTERLEAVE ? weight
		                                                 : nullptr);
	}
	void ExpectOnNode0(const void *p, size_t npages)
	{
		std::vector<int> ids(npages, -100);
		ASSERT_EQ(aml_topology_locate(t, p, npages, ids.data()), 0);
		for (size_t i = 0; i < npages; i++)
			EXPECT_EQ(ids[i], (int)index) << "page " << i;
	}
};

TEST_F(AreaFile, EveryPolicyOnAMemfdPlacesOnNode0)
{
	for (int shared = 0; shared < 2; shared++) {
		for (enum aml_policy policy :
		     {AML_POLICY_BIND, AML_POLICY_PREFERRED,
		      AML_POLICY_INTERLEAVE, AML_POLICY_WEIGHTED_INTERLEAVE,
		      AML_POLICY_LOCAL}) {
			SCOPED_TRACE(std::to_string(policy) +
			             (shared ? " shared" : " private"));
			AML_AREA_FILE_DECL(area);
			ASSERT_EQ(Memfd(&area, shared != 0, policy), 0);
			uint64_t off = 0;
			char *p = (char *)aml_area_file_mmap(
			        &area.base, 4 * Page(), nullptr, &off);
			ASSERT_NE(p, nullptr) << Detail();
			// The first page holds the policy.
			EXPECT_EQ(off, Page());
			std::memset(p, 'x', 4 * Page());
			ExpectOnNode0(p, 4);
			// Shared writes reach the file; private ones do not.
			char c = 0;
			ASSERT_EQ(pread(aml_area_file_fd(&area.base), &c, 1,
			                (off_t)off + 5),
			          1);
			EXPECT_EQ(c, shared ? 'x' : '\0');
			EXPECT_EQ(aml_area_munmap(&area.base, p, 4 * Page()),
			          0);
			aml_area_file_fini(&area);
		}
	}
}

// The policy of the mapping at @p p, as /proc/self/numa_maps shows it
// ("bind:0", "default"), or "" if it has no line.
std::string NumaMapsPolicy(const void *p)
{
	char want[32];
	// At least 8 hex digits: numa_maps pads low addresses (valgrind
	// places mappings below 4 GiB: "04852000 default ...").
	std::snprintf(want, sizeof(want), "%08lx ",
	              (unsigned long)(uintptr_t)p);
	FILE *f = std::fopen("/proc/self/numa_maps", "re");
	if (f == nullptr)
		return "";
	char line[1024];
	std::string policy;
	while (std::fgets(line, sizeof(line), f) != nullptr) {
		if (std::strncmp(line, want, std::strlen(want)) != 0)
			continue;
		const char *rest = line + std::strlen(want);
		policy.assign(rest, std::strcspn(rest, " \n"));
		break;
	}
	std::fclose(f);
	return policy;
}

// On a memfd the policy is the shared object's, whether the area's
// mappings are shared or private: a plain shared mmap of the same range,
// never mbound, shows the area's policy; another range of the same file,
// which no area mapped, shows none.
TEST_F(AreaFile, AMemfdsPolicyIsTheSharedObjects)
{
	for (enum aml_policy policy :
	     {AML_POLICY_BIND, AML_POLICY_PREFERRED, AML_POLICY_INTERLEAVE}) {
		for (bool shared : {true, false}) {
			SCOPED_TRACE(shared ? "shared" : "private");
			AML_AREA_FILE_DECL(area);
			ASSERT_EQ(Memfd(&area, shared, policy), 0);
			uint64_t off = 0;
			void *p = aml_area_file_mmap(&area.base, Page(),
			                             nullptr, &off);
			ASSERT_NE(p, nullptr);
			int fd = aml_area_file_fd(&area.base);
			void *plain =
			        mmap(nullptr, Page(), PROT_READ | PROT_WRITE,
			             MAP_SHARED, fd, (off_t)off);
			// Read-only, so that the kernel never merges it with
			// plain when they land side by side (valgrind maps
			// upwards): numa_maps would then show one line.
			void *other =
			        mmap(nullptr, Page(), PROT_READ, MAP_SHARED, fd,
			             (off_t)(off + Page()));
			ASSERT_NE(plain, MAP_FAILED);
			ASSERT_NE(other, MAP_FAILED);
			std::string node = std::to_string(node0->numa_id);
			const char *mode = policy == AML_POLICY_BIND ? "bind:"
			                   : policy == AML_POLICY_PREFERRED
			                           ? "prefer:"
			                           : "interleave:";
			EXPECT_EQ(NumaMapsPolicy(p), mode + node);
			EXPECT_EQ(NumaMapsPolicy(plain), mode + node);
			EXPECT_EQ(NumaMapsPolicy(other), "default");
			munmap(plain, Page());
			munmap(other, Page());
			EXPECT_EQ(aml_area_munmap(&area.base, p, Page()), 0);
			aml_area_file_fini(&area);
		}
	}
}

TEST_F(AreaFile, OffsetsFollowEachOtherAndAFullMemfdIsENOMEM)
{
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(Memfd(&area, true, AML_POLICY_BIND, 4), 0);
	uint64_t a = 0, b = 0, c = 0;
	void *p = aml_area_file_mmap(&area.base, 2 * Page(), nullptr, &a);
	ASSERT_NE(p, nullptr);
	// One page is left: two are ENOMEM, and the cursor stays.
	EXPECT_EQ(aml_area_file_mmap(&area.base, 2 * Page(), nullptr, &b),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	void *q = aml_area_file_mmap(&area.base, 1, nullptr, &c);
	ASSERT_NE(q, nullptr);
	EXPECT_EQ(a, Page());
	EXPECT_EQ(c, 3 * Page());
	EXPECT_EQ(aml_area_mmap(&area.base, 1, nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	// map_at maps a range again: the same memory at two addresses.
	char *again =
	        (char *)aml_area_file_mmap_at(&area.base, a, Page(), nullptr);
	ASSERT_NE(again, nullptr);
	((char *)p)[7] = 'q';
	EXPECT_EQ(again[7], 'q');
	// Not aligned, the policy page, past the end.
	EXPECT_EQ(aml_area_file_mmap_at(&area.base, a + 1, Page(), nullptr),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_area_file_mmap_at(&area.base, 0, Page(), nullptr),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_area_file_mmap_at(&area.base, 3 * Page(), 2 * Page(),
	                                nullptr),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(&area.base, again, Page()), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p, 2 * Page()), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, q, Page()), 0);
	aml_area_file_fini(&area);
}

// Maps on several threads take distinct ranges, all of the file, until it
// is full.
TEST_F(AreaFile, ConcurrentMapsTakeDistinctOffsets)
{
	constexpr int kThreads = 4, kMaps = 16;
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(Memfd(&area, true, AML_POLICY_BIND, 1 + kThreads * kMaps), 0);
	std::vector<uint64_t> offsets(kThreads * kMaps, 0);
	std::vector<char *> ptrs(kThreads * kMaps, nullptr);
	std::vector<std::thread> threads;
	for (int i = 0; i < kThreads; i++)
		threads.emplace_back([&, i] {
			for (int j = 0; j < kMaps; j++) {
				int k = i * kMaps + j;
				ptrs[k] = (char *)aml_area_file_mmap(
				        &area.base, 1, nullptr, &offsets[k]);
				if (ptrs[k] != nullptr)
					ptrs[k][0] = (char)k;
			}
		});
	for (std::thread &th : threads)
		th.join();
	std::set<uint64_t> seen;
	int fd = aml_area_file_fd(&area.base);
	for (int k = 0; k < kThreads * kMaps; k++) {
		ASSERT_NE(ptrs[k], nullptr) << k;
		EXPECT_TRUE(seen.insert(offsets[k]).second) << offsets[k];
		char c = -1;
		ASSERT_EQ(pread(fd, &c, 1, (off_t)offsets[k]), 1);
		EXPECT_EQ(c, (char)k);
	}
	EXPECT_EQ(*seen.begin(), Page());
	EXPECT_EQ(*seen.rbegin(), (uint64_t)kThreads * kMaps * Page());
	EXPECT_EQ(aml_area_mmap(&area.base, 1, nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOMEM);
	for (char *p : ptrs)
		EXPECT_EQ(aml_area_munmap(&area.base, p, Page()), 0);
	aml_area_file_fini(&area);
}

// What a file area adds to the area contract (area_contract_test checks
// the contract on every kind of file area): an aligned map still starts at
// the offset the area handed out, since the file range cannot be
// over-mapped and trimmed; populated, it is on node 0 before any touch; the
// printed line names the descriptor, the sharing and the placement.
TEST_F(AreaFile, AnAlignedMapIsTheOffsetHandedOutAndPrintNamesTheFile)
{
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(Memfd(&area, true, AML_POLICY_BIND, 1024), 0);
	struct aml_area_mmap_options o = {};
	o.alignment = 64 * Page();
	o.populate = true;
	uint64_t off = 0;
	char *p = (char *)aml_area_file_mmap(&area.base, 8 * Page(), &o, &off);
	ASSERT_NE(p, nullptr) << Detail();
	EXPECT_EQ((uintptr_t)p % (64 * Page()), 0u);
	EXPECT_EQ(off, Page());
	ExpectOnNode0(p, 8); // populated: every page is there
	char c = 0;
	p[3] = 'z';
	ASSERT_EQ(pread(aml_area_file_fd(&area.base), &c, 1, (off_t)off + 3),
	          1);
	EXPECT_EQ(c, 'z');
	EXPECT_EQ(aml_area_munmap(&area.base, p, 8 * Page()), 0);
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ASSERT_EQ(aml_area_print(&area.base, f, "> "), 0);
	fclose(f);
	std::string line(buf, len);
	free(buf);
	EXPECT_EQ(line.find("> file area: fd " +
	                    std::to_string(aml_area_file_fd(&area.base)) +
	                    " shared, bind over"),
	          0u)
	        << line;
	aml_area_file_fini(&area);
}

TEST_F(AreaFile, ACallersFileTooSmallIsEINVALAndNothingMapped)
{
	TempFile file(3 * Page());
	ASSERT_GE(file.fd, 0);
	struct aml_area_file_source src = {};
	src.kind = AML_AREA_FILE_FD;
	src.fd = file.fd;
	src.shared = true;
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(aml_area_file_init(&area, &src, t, &node0, 1, AML_POLICY_BIND,
	                             nullptr),
	          0);
	EXPECT_EQ(aml_area_mmap(&area.base, 4 * Page(), nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	uint64_t off = 99;
	char *p = (char *)aml_area_file_mmap(&area.base, 3 * Page(), nullptr,
	                                     &off);
	ASSERT_NE(p, nullptr) << Detail();
	EXPECT_EQ(off, 0u); // no policy page in a caller's file
	p[0] = 'w';
	EXPECT_EQ(aml_area_mmap(&area.base, 1, nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	// The caller grows the file: the area maps on.
	ASSERT_EQ(ftruncate(file.fd, 4 * (off_t)Page()), 0);
	void *q = aml_area_mmap(&area.base, 1, nullptr);
	EXPECT_NE(q, nullptr);
	EXPECT_EQ(aml_area_munmap(&area.base, q, Page()), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p, 3 * Page()), 0);
	aml_area_file_fini(&area);
	// The fd is still the caller's, open, and holds the write.
	char c = 0;
	ASSERT_EQ(pread(file.fd, &c, 1, 0), 1);
	EXPECT_EQ(c, 'w');
}

TEST_F(AreaFile, APathPrivateCopiesOnWrite)
{
	TempFile file(2 * Page());
	ASSERT_GE(file.fd, 0);
	ASSERT_EQ(pwrite(file.fd, "abc", 3, 0), 3);
	struct aml_area_file_source src = {};
	src.kind = AML_AREA_FILE_PATH;
	src.name = file.path.c_str();
	struct aml_area *area = nullptr;
	ASSERT_EQ(aml_area_file_create(&area, &src, t, &node0, 1,
	                               AML_POLICY_BIND, nullptr),
	          0);
	char *p = (char *)aml_area_mmap(area, 2 * Page(), nullptr);
	ASSERT_NE(p, nullptr) << Detail();
	EXPECT_EQ(std::memcmp(p, "abc", 3), 0);
	p[0] = 'X';
	ExpectOnNode0(p, 1); // the copy is anonymous, bound to node 0
	char c = 0;
	ASSERT_EQ(pread(file.fd, &c, 1, 0), 1);
	EXPECT_EQ(c, 'a');
	EXPECT_EQ(aml_area_munmap(area, p, 2 * Page()), 0);
	aml_area_file_destroy(&area);
	EXPECT_EQ(area, nullptr);
}

// Two processes share a memfd: the child receives the descriptor over a
// socketpair, opens an area with the same policy, maps the parent's offset,
// and each sees the other's writes; both find the pages on node 0. An area
// with another policy over the same descriptor is AML_EBUSY.
TEST_F(AreaFile, TwoProcessesShareAMemfd)
{
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(Memfd(&area, true), 0);
	uint64_t off = 0;
	char *p = (char *)aml_area_file_mmap(&area.base, 2 * Page(), nullptr,
	                                     &off);
	ASSERT_NE(p, nullptr);
	std::memset(p, 'P', Page());
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	const struct aml_topology *topo = t;
	const struct aml_device *dev = node0;
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		// Child: exit codes say which check failed.
		close(sv[0]);
		int fd = -1;
		if (aml_area_file_recv_fd(sv[1], &fd) != 0)
			_exit(10);
		struct aml_area_file_source src = {};
		src.kind = AML_AREA_FILE_FD;
		src.fd = fd;
		src.shared = true;
		AML_AREA_FILE_DECL(mine);
		if (aml_area_file_init(&mine, &src, topo, &dev, 1,
		                       AML_POLICY_PREFERRED,
		                       nullptr) != AML_EBUSY)
			_exit(11);
		if (aml_area_file_init(&mine, &src, topo, &dev, 1,
		                       AML_POLICY_BIND, nullptr) != 0)
			_exit(12);
		char *q = (char *)aml_area_file_mmap_at(&mine.base, off,
		                                        2 * Page(), nullptr);
		if (q == nullptr)
			_exit(13);
		for (size_t i = 0; i < Page(); i++)
			if (q[i] != 'P')
				_exit(14);
		std::memset(q + Page(), 'C', Page());
		int ids[2] = {-100, -100};
		if (aml_topology_locate(topo, q, 2, ids) != 0 ||
		    ids[0] != aml_topology_index_of(topo, dev) ||
		    ids[1] != aml_topology_index_of(topo, dev))
			_exit(15);
		if (aml_area_munmap(&mine.base, q, 2 * Page()) != 0)
			_exit(16);
		aml_area_file_fini(&mine);
		close(fd);
		char done = 'd';
		_exit(write(sv[1], &done, 1) == 1 ? 0 : 17);
	}
	close(sv[1]);
	ASSERT_EQ(aml_area_file_send_fd(sv[0], aml_area_file_fd(&area.base)),
	          0);
	char done = 0;
	EXPECT_EQ(read(sv[0], &done, 1), 1);
	int status = 0;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	for (size_t i = Page(); i < 2 * Page(); i++)
		ASSERT_EQ(p[i], 'C') << "byte " << i;
	ExpectOnNode0(p, 2);
	close(sv[0]);
	EXPECT_EQ(aml_area_munmap(&area.base, p, 2 * Page()), 0);
	aml_area_file_fini(&area);
}

TEST_F(AreaFile, BadInputIsAnErrorAndLeaksNothing)
{
	int before = OpenFds();
	TempFile file(Page());
	ASSERT_GE(file.fd, 0);
	int wronly = open(file.path.c_str(), O_WRONLY | O_CLOEXEC);
	int rdonly = open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
	int pipefd[2];
	ASSERT_EQ(pipe(pipefd), 0);
	std::string missing = file.path + ".missing";
	std::string longname(300, 'n');
	struct Case {
		const char *what;
		struct aml_area_file_source src;
		int policy;
		int error;
	} cases[] = {
	        {"kind out of range",
	         {AML_AREA_FILE_KIND_COUNT, 0, nullptr, 0, false},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"negative fd",
	         {AML_AREA_FILE_FD, -1, nullptr, 0, false},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"a pipe",
	         {AML_AREA_FILE_FD, pipefd[0], nullptr, 0, false},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"write-only fd",
	         {AML_AREA_FILE_FD, wronly, nullptr, 0, false},
	         AML_POLICY_BIND,
	         AML_EPERM},
	        {"shared over read-only fd",
	         {AML_AREA_FILE_FD, rdonly, nullptr, 0, true},
	         AML_POLICY_BIND,
	         AML_EPERM},
	        {"memfd without name",
	         {AML_AREA_FILE_MEMFD, 0, nullptr, 16 * Page(), true},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"memfd name too long",
	         {AML_AREA_FILE_MEMFD, 0, longname.c_str(), 16 * Page(), true},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"memfd capacity 0",
	         {AML_AREA_FILE_MEMFD, 0, "x", 0, true},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"memfd of one page",
	         {AML_AREA_FILE_MEMFD, 0, "x", Page(), true},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"memfd capacity overflowing",
	         {AML_AREA_FILE_MEMFD, 0, "x", SIZE_MAX, true},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"path NULL",
	         {AML_AREA_FILE_PATH, 0, nullptr, 0, false},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"path missing",
	         {AML_AREA_FILE_PATH, 0, missing.c_str(), 0, false},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"DAX: a regular file",
	         {AML_AREA_FILE_DAX, 0, file.path.c_str(), 0, true},
	         AML_POLICY_LOCAL,
	         AML_EINVAL},
	        {"DAX: /dev/null",
	         {AML_AREA_FILE_DAX, 0, "/dev/null", 0, true},
	         AML_POLICY_LOCAL,
	         AML_EINVAL},
	        {"DAX private",
	         {AML_AREA_FILE_DAX, 0, "/dev/null", 0, false},
	         AML_POLICY_LOCAL,
	         AML_EINVAL},
	        {"DAX bound",
	         {AML_AREA_FILE_DAX, 0, "/dev/null", 0, true},
	         AML_POLICY_BIND,
	         AML_EINVAL},
	        {"a bad policy",
	         {AML_AREA_FILE_MEMFD, 0, "x", 16 * Page(), true},
	         AML_POLICY_COUNT,
	         AML_EINVAL},
	};
	for (const Case &c : cases) {
		bool local = c.policy == AML_POLICY_LOCAL;
		AML_AREA_FILE_DECL(area);
		std::memset(&area, 0x5a, sizeof(area));
		EXPECT_EQ(aml_area_file_init(
		                  &area, &c.src, t, local ? nullptr : &node0,
		                  local ? 0 : 1, (enum aml_policy)c.policy,
		                  nullptr),
		          c.error)
		        << c.what;
		EXPECT_EQ(reinterpret_cast<unsigned char *>(&area)[0], 0x5a)
		        << c.what << ": storage touched";
		struct aml_area *out = reinterpret_cast<struct aml_area *>(1);
		EXPECT_EQ(aml_area_file_create(
		                  &out, &c.src, t, local ? nullptr : &node0,
		                  local ? 0 : 1, (enum aml_policy)c.policy,
		                  nullptr),
		          c.error)
		        << c.what;
		EXPECT_EQ(out, nullptr) << c.what;
	}
	struct aml_area_file_source ok = {};
	ok.kind = AML_AREA_FILE_MEMFD;
	ok.name = "x";
	ok.capacity = 4 * Page();
	AML_AREA_FILE_DECL(area);
	EXPECT_EQ(aml_area_file_init(nullptr, &ok, t, &node0, 1,
	                             AML_POLICY_BIND, nullptr),
	          AML_EINVAL);
	EXPECT_EQ(aml_area_file_init(&area, nullptr, t, &node0, 1,
	                             AML_POLICY_BIND, nullptr),
	          AML_EINVAL);
	EXPECT_EQ(aml_area_file_init(&area, &ok, nullptr, &node0, 1,
	                             AML_POLICY_BIND, nullptr),
	          AML_EINVAL);
	EXPECT_EQ(aml_area_file_create(nullptr, &ok, t, &node0, 1,
	                               AML_POLICY_BIND, nullptr),
	          AML_EINVAL);
	EXPECT_EQ(aml_area_file_fd(nullptr), AML_EINVAL);
	EXPECT_EQ(aml_area_file_mmap(nullptr, Page(), nullptr, nullptr),
	          nullptr);
	EXPECT_EQ(aml_area_file_mmap_at(nullptr, 0, Page(), nullptr), nullptr);
	EXPECT_EQ(aml_area_file_send_fd(-1, 0), AML_EINVAL);
	EXPECT_EQ(aml_area_file_send_fd(file.fd, file.fd), AML_EINVAL);
	EXPECT_EQ(aml_area_file_recv_fd(0, nullptr), AML_EINVAL);
	EXPECT_EQ(aml_area_file_recv_fd(-1, &wronly), AML_EINVAL);
	ASSERT_EQ(aml_area_file_init(&area, &ok, t, &node0, 1, AML_POLICY_BIND,
	                             nullptr),
	          0);
	EXPECT_EQ(aml_area_file_mmap(&area.base, 0, nullptr, nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	struct aml_area_mmap_options odd = {};
	odd.alignment = 3 * Page();
	EXPECT_EQ(aml_area_file_mmap_at(&area.base, Page(), Page(), &odd),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	aml_area_file_fini(&area);
	aml_area_file_fini(&area); // a second fini is a no-op
	aml_area_file_fini(nullptr);
	aml_area_file_destroy(nullptr);
	close(wronly);
	close(rdonly);
	close(pipefd[0]);
	close(pipefd[1]);
	EXPECT_EQ(OpenFds(), before + 1); // file.fd only
}

TEST(AreaFileEmulated, MapsAreENOTSUPOnTheEmulator)
{
	struct aml_topology *t = nullptr;
	ASSERT_EQ(aml_emu_create(&t, "qemu-3node;scale=1/64", nullptr), 0);
	const struct aml_device *d = aml_topology_device(t, 0);
	struct aml_area_file_source src = {};
	src.kind = AML_AREA_FILE_MEMFD;
	src.name = "emu";
	src.capacity = 16 * Page();
	src.shared = true;
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(aml_area_file_init(&area, &src, t, &d, 1, AML_POLICY_BIND,
	                             nullptr),
	          0);
	EXPECT_EQ(aml_area_mmap(&area.base, Page(), nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	EXPECT_EQ(aml_area_file_mmap_at(&area.base, Page(), Page(), nullptr),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_ENOTSUP);
	aml_area_file_fini(&area);
	struct aml_emu_stats s = {};
	ASSERT_EQ(aml_emu_stats(t, 0, &s), 0);
	EXPECT_EQ(s.pages, 0u);
	aml_topology_destroy(&t);
}

} // namespace
