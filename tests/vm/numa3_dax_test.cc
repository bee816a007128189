// SPDX-License-Identifier: BSD-3-Clause
// Guest-only: file areas (aml/area/file.h) over persistent memory, on the
// emulated NVDIMMs of the 3-node guest (run_vm.py --nvdimm, docs/vm.md):
// a device-DAX character device (AML_VM_DAX, its size by ndctl in
// AML_VM_DAX_SIZE) and a file on an ext4 file system mounted with -o dax
// (AML_VM_FSDAX). The device is the memory: what one process writes, a
// second one that opens the device sees, and so does a later map. Its
// refusals are the documented ones, and aml's idea of its size is the
// namespace's.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/file.h>

#include "tests/vm/guest.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000 // Linux 5.8's <linux/stat.h>
#endif

namespace
{

// The first word of a space-separated list in @p name, or "".
std::string FirstOf(const char *name)
{
	const char *value = std::getenv(name);
	std::istringstream words(value != nullptr ? value : "");
	std::string first;
	words >> first;
	return first;
}

// A number from a sysfs file (0 if unreadable).
uint64_t SysfsNumber(const std::string &path)
{
	std::ifstream f(path);
	uint64_t n = 0;
	f >> n;
	return n;
}

class Numa3Dax : public aml_vm::Guest3Node
{
      protected:
	void SetUp() override
	{
		Guest3Node::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		dax = FirstOf("AML_VM_DAX");
		fsdax = FirstOf("AML_VM_FSDAX");
		ASSERT_FALSE(dax.empty())
		        << "no AML_VM_DAX: boot the guest with run_vm.py "
		           "--nvdimm devdax:64M (vm_test does)";
		std::string name = dax.substr(dax.rfind('/') + 1);
		// Read apart from aml's /sys/dev/char/M:m path.
		align = SysfsNumber("/sys/bus/dax/devices/" + name + "/align");
		size = SysfsNumber("/sys/bus/dax/devices/" + name + "/size");
		ASSERT_GE(align, aml_vm::Page()) << name;
		ASSERT_GE(size, 2 * align) << name;
	}

	// A DAX area over the device, shared and LOCAL unless said.
	int Init(struct aml_area_file *area,
	         enum aml_area_file_kind kind = AML_AREA_FILE_DAX,
	         bool shared = true,
	         enum aml_policy policy = AML_POLICY_LOCAL,
	         const char *path = nullptr)
	{
		struct aml_area_file_source src = {};
		src.kind = kind;
		src.name = path != nullptr ? path : dax.c_str();
		src.shared = shared;
		const struct aml_device *devs[1] = {node[2]};
		bool local = policy == AML_POLICY_LOCAL;
		return aml_area_file_init(area, &src, t, local ? nullptr : devs,
		                          local ? 0 : 1, policy, nullptr);
	}

	struct aml_area_mmap_options Aligned() const
	{
		struct aml_area_mmap_options o = {};
		o.alignment = align;
		return o;
	}

	std::string dax, fsdax;
	uint64_t align = 0, size = 0;
};

// Byte i of a pattern keyed by @p key.
char Pattern(size_t i, char key)
{
	return (char)(key + i % 251);
}

TEST_F(Numa3Dax, AmlSeesTheNamespacesSizeAndMapsTheWholeDevice)
{
	uint64_t ndctl =
	        std::strtoull(FirstOf("AML_VM_DAX_SIZE").c_str(), nullptr, 10);
	EXPECT_EQ(size, ndctl) << "sysfs and ndctl disagree";
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(Init(&area), 0) << aml_errname(aml_errno);
	struct aml_area_mmap_options o = Aligned();

	// One alignment more than the device: refused, and the detail says
	// what aml took the device's size to be.
	void *p = aml_area_file_mmap_at(&area.base, 0, size + align, &o);
	EXPECT_EQ(p, nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL) << aml_errname(aml_errno);
	char detail[AML_ERROR_DETAIL_MAX];
	EXPECT_EQ(aml_error_detail(detail, sizeof(detail)), AML_EINVAL);
	EXPECT_NE(std::strstr(detail,
	                      (" holds " + std::to_string(ndctl)).c_str()),
	          nullptr)
	        << detail;
	p = aml_area_mmap(&area.base, size + align, &o);
	EXPECT_EQ(p, nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL) << aml_errname(aml_errno);

	// The whole device, from the cursor the failures left at 0.
	uint64_t off = 1;
	char *whole = static_cast<char *>(
	        aml_area_file_mmap(&area.base, size, &o, &off));
	ASSERT_NE(whole, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(off, 0u);
	EXPECT_EQ((uintptr_t)whole % align, 0u);
	whole[0] = 'a';
	whole[size - 1] = 'z';
	EXPECT_EQ(whole[0], 'a');
	EXPECT_EQ(whole[size - 1], 'z');
	// Nothing is left past it.
	EXPECT_EQ(aml_area_mmap(&area.base, align, &o), nullptr);
	EXPECT_EQ(aml_area_munmap(&area.base, whole, size), 0);
	aml_area_file_fini(&area);
}

TEST_F(Numa3Dax, WritesStayOnTheDeviceAndAnotherProcessSeesThem)
{
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(Init(&area), 0) << aml_errname(aml_errno);
	struct aml_area_mmap_options o = Aligned();
	size_t len = 2 * align;
	uint64_t off = 0;
	// Past the first alignment: offsets other than 0 work too.
	void *first = aml_area_mmap(&area.base, align, &o);
	ASSERT_NE(first, nullptr) << aml_errname(aml_errno);
	char *p = static_cast<char *>(
	        aml_area_file_mmap(&area.base, len, &o, &off));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(off, align);
	for (size_t i = 0; i < len / 2; i++)
		p[i] = Pattern(i, 'P');
	for (size_t i = 0; i < len / 2; i++)
		ASSERT_EQ(p[i], Pattern(i, 'P')) << "byte " << i;

	// A second process opens the device itself, reads the first half
	// and writes the second.
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		AML_AREA_FILE_DECL(mine);
		if (Init(&mine) != 0)
			_exit(10);
		char *q = static_cast<char *>(
		        aml_area_file_mmap_at(&mine.base, off, len, &o));
		if (q == nullptr)
			_exit(11);
		for (size_t i = 0; i < len / 2; i++)
			if (q[i] != Pattern(i, 'P'))
				_exit(12);
		for (size_t i = len / 2; i < len; i++)
			q[i] = Pattern(i, 'C');
		if (aml_area_munmap(&mine.base, q, len) != 0)
			_exit(13);
		aml_area_file_fini(&mine);
		_exit(0);
	}
	int status = 0;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
	        << "exit " << WEXITSTATUS(status)
	        << ": 10 init, 11 map, 12 data, 13 unmap";
	for (size_t i = len / 2; i < len; i++)
		ASSERT_EQ(p[i], Pattern(i, 'C')) << "byte " << i;
	EXPECT_EQ(aml_area_munmap(&area.base, p, len), 0);

	// A later map of the range, through an area over the descriptor (an
	// fd of a DAX device is taken as one), finds both halves.
	AML_AREA_FILE_DECL(byfd);
	struct aml_area_file_source src = {};
	src.kind = AML_AREA_FILE_FD;
	src.fd = aml_area_file_fd(&area.base);
	src.shared = true;
	ASSERT_EQ(aml_area_file_init(&byfd, &src, t, nullptr, 0,
	                             AML_POLICY_LOCAL, nullptr),
	          0);
	char *again = static_cast<char *>(
	        aml_area_file_mmap_at(&byfd.base, off, len, &o));
	ASSERT_NE(again, nullptr) << aml_errname(aml_errno);
	for (size_t i = 0; i < len; i++)
		ASSERT_EQ(again[i], Pattern(i, i < len / 2 ? 'P' : 'C'))
		        << "byte " << i;
	EXPECT_EQ(aml_area_munmap(&byfd.base, again, len), 0);
	aml_area_file_fini(&byfd);
	EXPECT_EQ(aml_area_munmap(&area.base, first, align), 0);
	aml_area_file_fini(&area);
}

TEST_F(Numa3Dax, BadInputsGiveTheDocumentedErrors)
{
	AML_AREA_FILE_DECL(area);
	// Private, or under another policy than LOCAL: by kind or by path.
	EXPECT_EQ(Init(&area, AML_AREA_FILE_DAX, false), AML_EINVAL);
	EXPECT_EQ(Init(&area, AML_AREA_FILE_DAX, true, AML_POLICY_BIND),
	          AML_EINVAL);
	EXPECT_EQ(Init(&area, AML_AREA_FILE_PATH, false), AML_EINVAL);
	EXPECT_EQ(Init(&area, AML_AREA_FILE_PATH, true, AML_POLICY_BIND),
	          AML_EINVAL);
	// Paths that are not a device-DAX device: a character device, a
	// regular file, and the fsdax namespace's block device.
	EXPECT_EQ(Init(&area, AML_AREA_FILE_DAX, true, AML_POLICY_LOCAL,
	               "/dev/null"),
	          AML_EINVAL);
	std::string file = "/tmp/numa3_dax_not_a_device";
	int fd = open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ftruncate(fd, 1 << 20), 0);
	close(fd);
	EXPECT_EQ(Init(&area, AML_AREA_FILE_DAX, true, AML_POLICY_LOCAL,
	               file.c_str()),
	          AML_EINVAL);
	unlink(file.c_str());
	for (const char *pmem : {"/dev/pmem0", "/dev/pmem1"}) {
		if (access(pmem, F_OK) == 0) {
			EXPECT_EQ(Init(&area, AML_AREA_FILE_DAX, true,
			               AML_POLICY_LOCAL, pmem),
			          AML_EINVAL)
			        << pmem;
		}
	}

	// Maps: sizes and offsets off the device's alignment, and past its
	// end, are refused with nothing mapped and the cursor unchanged.
	ASSERT_EQ(Init(&area), 0) << aml_errname(aml_errno);
	struct aml_area_mmap_options o = Aligned();
	EXPECT_EQ(aml_area_mmap(&area.base, aml_vm::Page(), nullptr), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL) << aml_errname(aml_errno);
	EXPECT_EQ(aml_area_mmap(&area.base, align + aml_vm::Page(), &o),
	          nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL) << aml_errname(aml_errno);
	// The kernel accepts an offset off the alignment and maps the
	// device's pages from the aligned offset below it: other bytes,
	// silently (aml has to refuse it). Never touched here.
	void *off_page =
	        aml_area_file_mmap_at(&area.base, aml_vm::Page(), align, &o);
	EXPECT_EQ(off_page, nullptr) << "an offset off the alignment";
	EXPECT_EQ(aml_errno, AML_EINVAL) << aml_errname(aml_errno);
	if (off_page != nullptr)
		aml_area_munmap(&area.base, off_page, align);
	EXPECT_EQ(aml_area_file_mmap_at(&area.base, size, align, &o), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL) << aml_errname(aml_errno);
	uint64_t off = 1;
	void *p = aml_area_file_mmap(&area.base, align, &o, &off);
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	EXPECT_EQ(off, 0u) << "a refused map moved the cursor";
	// The kernel splits a DAX mapping only at its unit: a part off it is
	// refused, and the mapping stays whole and usable.
	static_cast<char *>(p)[0] = 'k';
	EXPECT_EQ(aml_area_munmap(&area.base, p, aml_vm::Page()), AML_EINVAL);
	EXPECT_EQ(
	        aml_area_munmap(&area.base,
	                        static_cast<char *>(p) + align - aml_vm::Page(),
	                        aml_vm::Page()),
	        AML_EINVAL);
	EXPECT_EQ(static_cast<char *>(p)[0], 'k');
	EXPECT_EQ(aml_area_munmap(&area.base, p, align), 0);
	aml_area_file_fini(&area);
}

TEST_F(Numa3Dax, AFileOnAnExt4DaxMountWritesAndReadsBack)
{
	ASSERT_FALSE(fsdax.empty())
	        << "no AML_VM_FSDAX: boot the guest with run_vm.py "
	           "--nvdimm fsdax:64M (vm_test does)";
	std::string path = fsdax + "/numa3_dax_file";
	size_t len = 4 << 20;
	int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0) << path;
	ASSERT_EQ(ftruncate(fd, (off_t)len), 0);
	// The kernel serves it by DAX, with no page cache.
	struct statx stx = {};
	ASSERT_EQ(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx), 0);
	EXPECT_TRUE(stx.stx_attributes & STATX_ATTR_DAX) << path;
	close(fd);

	// A file on a DAX file system is a file: any policy is accepted.
	AML_AREA_FILE_DECL(area);
	ASSERT_EQ(Init(&area, AML_AREA_FILE_PATH, true, AML_POLICY_BIND,
	               path.c_str()),
	          0)
	        << aml_errname(aml_errno);
	char *p = static_cast<char *>(aml_area_mmap(&area.base, len, nullptr));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	for (size_t i = 0; i < len; i++)
		p[i] = Pattern(i, 'F');
	EXPECT_EQ(msync(p, len, MS_SYNC), 0);
	EXPECT_EQ(aml_area_munmap(&area.base, p, len), 0);
	aml_area_file_fini(&area);

	// Read back through the file, and through a second area's map.
	std::vector<char> back(len);
	fd = open(path.c_str(), O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(pread(fd, back.data(), len, 0), (ssize_t)len);
	close(fd);
	for (size_t i = 0; i < len; i++)
		ASSERT_EQ(back[i], Pattern(i, 'F')) << "byte " << i;
	ASSERT_EQ(Init(&area, AML_AREA_FILE_PATH, true, AML_POLICY_LOCAL,
	               path.c_str()),
	          0);
	p = static_cast<char *>(
	        aml_area_file_mmap_at(&area.base, 0, len, nullptr));
	ASSERT_NE(p, nullptr) << aml_errname(aml_errno);
	for (size_t i = 0; i < len; i++)
		ASSERT_EQ(p[i], Pattern(i, 'F')) << "byte " << i;
	EXPECT_EQ(aml_area_munmap(&area.base, p, len), 0);
	aml_area_file_fini(&area);
	unlink(path.c_str());
}

} // namespace
