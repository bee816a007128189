// SPDX-License-Identifier: BSD-3-Clause
// The area contract (aml/area.h) on every area aml has: one parametrised
// suite, AreaContract, run over a factory per kind of area. Device areas
// under every policy, emulated and on this machine's node 0; a device area
// over a memkind kind; file areas over a memfd and over a caller's file,
// private and shared, and over an emulated topology (whose maps are
// AML_ENOTSUP); capped areas over a device and over a file area; the fast
// memory's private populating area.
//
// Where a kind legitimately differs (memkind frees whole allocations, a
// capped area has no fini, the emulator maps no files), its factory says so
// in its Capabilities, and the check tests the declared behaviour instead;
// a check that cannot apply skips and says why.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/area/capped.h>
#include <aml/area/device.h>
#include <aml/area/file.h>
#include <aml/device/memkind.h>
#include <aml/emulator.h>

#include "aml/src/fast/populate_area.h"

namespace
{

size_t Page()
{
	return aml_page_size();
}

// ---- What the checks read of the process.

// Whether every page of [p, p + npages pages) is mapped: mincore(2) says
// ENOMEM for a range with an unmapped page. No allocation here: a check
// right after an unmap must not let malloc map something into the hole.
bool Mapped(const void *p, size_t npages)
{
	unsigned char v[64];
	for (size_t i = 0; i < npages; i += sizeof(v)) {
		size_t n = std::min(npages - i, sizeof(v));
		if (mincore(const_cast<char *>(static_cast<const char *>(p)) +
		                    i * Page(),
		            n * Page(), v) != 0)
			return false;
	}
	return true;
}

// Whether no page of [p, p + npages pages) is mapped.
bool Unmapped(const void *p, size_t npages)
{
	for (size_t i = 0; i < npages; i++)
		if (Mapped(static_cast<const char *>(p) + i * Page(), 1))
			return false;
	return true;
}

// Whether every page of [p, p + npages pages) has its memory now.
bool Resident(const void *p, size_t npages)
{
	std::vector<unsigned char> v(npages);
	if (mincore(const_cast<void *>(p), npages * Page(), v.data()) != 0)
		return false;
	for (unsigned char c : v)
		if ((c & 1) == 0)
			return false;
	return true;
}

// Writes a pattern of @p seed into every byte of @p npages pages at @p p;
// Intact() checks it.
void Fill(void *p, size_t npages, unsigned seed)
{
	auto *c = static_cast<unsigned char *>(p);
	for (size_t i = 0; i < npages * Page(); i++)
		c[i] = (unsigned char)(seed + i / Page() * 7 + i);
}

bool Intact(const void *p, size_t npages, unsigned seed)
{
	auto *c = static_cast<const unsigned char *>(p);
	for (size_t i = 0; i < npages * Page(); i++)
		if (c[i] != (unsigned char)(seed + i / Page() * 7 + i))
			return false;
	return true;
}

std::string Detail()
{
	char buf[AML_ERROR_DETAIL_MAX] = "";
	aml_error_detail(buf, sizeof(buf));
	return std::string(aml_errname(aml_errno)) + ": " + buf;
}

// ---- Kinds of areas, as the suite sees them.

// What a kind of area does where the contract lets kinds differ.
struct Capabilities {
	// 0: maps work. Otherwise every map (past the generic argument
	// checks) answers this error, for the reason in why.
	int map_error = 0;
	// Maps at an alignment above the page; AML_ENOTSUP otherwise.
	bool aligns = true;
	// Unmaps a page-aligned part of a mapping; otherwise a part is
	// AML_EINVAL and the mapping stays whole.
	bool partial_unmap = true;
	// How a check sees that an unmap released a range: the kernel no
	// longer maps it (kKernel); the topology no longer locates it
	// (kTopology: the emulator keeps one-page mappings mapped, in a slab,
	// for the next map: emulator/slab.c); nothing tells (kNothing: a
	// memkind kind keeps freed memory in its heap).
	enum Release { kKernel, kTopology, kNothing } release = kKernel;
	// The error of a populating map, for a kind that cannot populate;
	// 0 otherwise.
	int populate_error = 0;
	// The error of a map of AML_PAGE_HUGETLB_2M and _1G, where the area
	// decides it; 0 where the host's pools decide (area_pages_test
	// checks those), and the check skips.
	int hugetlb_2m_error = 0;
	int hugetlb_1g_error = 0;
	// Initialised in caller storage and finalised in place, after which
	// the handle answers AML_EINVAL; otherwise made by create only, and
	// destroy frees the handle.
	bool fini_in_place = true;
	// Why this kind differs from the plain contract, for the messages of
	// the checks that test a difference or skip.
	std::string why;
};

// One area under test and the storage it lives in.
class TestArea
{
      public:
	virtual ~TestArea() = default;
	virtual struct aml_area *Area() = 0;
	// Finalises the area, its storage kept (Capabilities::fini_in_place).
	virtual void Fini()
	{
	}
};

// A kind of area: what its areas need (a topology, a file), and how to
// make them.
class AreaKind
{
      public:
	virtual ~AreaKind() = default;
	// "" when areas of this kind can be made here; otherwise why not.
	virtual std::string Prepare() = 0;
	// A new area, or nullptr with the failure reported.
	virtual std::unique_ptr<TestArea> Make() = 0;
	// The topology the areas map through, or nullptr: populate and
	// Capabilities::kTopology ask it where pages are.
	virtual const struct aml_topology *Topology() const
	{
		return nullptr;
	}
	Capabilities caps;
};

// The topologies the areas place over.
class Emulated
{
      public:
	explicit Emulated(std::string spec) : spec_(std::move(spec))
	{
	}
	~Emulated()
	{
		aml_topology_destroy(&t_);
	}
	std::string Prepare()
	{
		struct aml_emu_error error = {};
		if (aml_emu_create(&t_, spec_.c_str(), &error) != 0)
			ADD_FAILURE() << spec_ << ": " << error.reason;
		return "";
	}
	const struct aml_topology *Topology() const
	{
		return t_;
	}

      private:
	std::string spec_;
	struct aml_topology *t_ = nullptr;
};

// This machine's default topology, through its backend.
class Host
{
      public:
	std::string Prepare()
	{
		t_ = aml_topology_default();
		if (t_ == nullptr)
			return std::string("no default topology: ") +
			       aml_errname(aml_errno);
		if (aml_topology_is_emulated(t_) == 1)
			return "AML_EMULATE is set: the default topology is "
			       "emulated, and the emulated kinds cover it";
		return "";
	}
	const struct aml_topology *Topology() const
	{
		return t_;
	}

      private:
	const struct aml_topology *t_ = nullptr;
};

// The devices and weights a policy is given: several devices where the
// policy takes several and the machine has them (the emulated qemu-3node,
// the 3-node guest, where vm_test runs this suite too); otherwise node 0
// alone.
struct Placement {
	std::vector<const struct aml_device *> devices;
	std::vector<unsigned> weights;
	enum aml_policy policy;

	Placement(const struct aml_topology *t, aml_policy p) : policy(p)
	{
		bool several = t != nullptr && aml_topology_ndevices(t) > 1;
		size_t n = 1;
		if (several && (p == AML_POLICY_INTERLEAVE ||
		                p == AML_POLICY_PREFERRED_MANY ||
		                p == AML_POLICY_WEIGHTED_INTERLEAVE))
			n = (size_t)aml_topology_ndevices(t);
		if (p == AML_POLICY_LOCAL)
			n = 0;
		for (size_t i = 0; i < n; i++) {
			devices.push_back(
			        several ? aml_topology_device(t, i)
			                : aml_topology_device_of_node(t, 0));
			weights.push_back(i == 0 ? 2 : 1);
		}
	}
	const unsigned *Weights() const
	{
		return policy == AML_POLICY_WEIGHTED_INTERLEAVE ? weights.data()
		                                                : nullptr;
	}
};

class DeviceArea : public TestArea
{
      public:
	explicit DeviceArea(const struct aml_topology *t, const Placement &p)
	{
		int err = aml_area_device_init(&area_, t, p.devices.data(),
		                               p.devices.size(), p.policy,
		                               p.Weights());
		EXPECT_EQ(err, 0) << aml_errname(err);
		ok_ = err == 0;
	}
	~DeviceArea() override
	{
		Fini();
	}
	struct aml_area *Area() override
	{
		return ok_ ? &area_.base : nullptr;
	}
	void Fini() override
	{
		if (ok_)
			aml_area_device_fini(&area_);
	}

      private:
	AML_AREA_DEVICE_DECL(area_);
	bool ok_ = false;
};

// A device area under one policy, over an emulated machine or this one.
template <class Env> class DeviceKind : public AreaKind
{
      public:
	template <class... Args>
	DeviceKind(aml_policy policy, Args... env_args)
	    : env_(env_args...), policy_(policy)
	{
	}
	std::string Prepare() override
	{
		std::string why = env_.Prepare();
		if (why.empty())
			placement_ = std::make_unique<Placement>(
			        env_.Topology(), policy_);
		return why;
	}
	std::unique_ptr<TestArea> Make() override
	{
		return std::make_unique<DeviceArea>(env_.Topology(),
		                                    *placement_);
	}
	const struct aml_topology *Topology() const override
	{
		return env_.Topology();
	}

      private:
	Env env_;
	aml_policy policy_;
	std::unique_ptr<Placement> placement_;
};

// BIND to a memkind kind, without a topology.
class MemkindKind : public AreaKind
{
      public:
	MemkindKind()
	{
		caps.aligns = false;
		caps.partial_unmap = false;
		caps.release = Capabilities::kNothing;
		caps.populate_error = AML_ENOTSUP;
		caps.hugetlb_2m_error = AML_ENOTSUP;
		caps.hugetlb_1g_error = AML_ENOTSUP;
		caps.why = "memkind frees whole allocations and keeps their "
		           "memory in its heap, so aligned maps (which trim) "
		           "are not supported; it maps no hugetlb pages, and "
		           "cannot tell its free memory, which populate needs";
	}
	std::string Prepare() override
	{
		kind_ = aml_memkind_device(AML_MEMKIND_HIGHEST_CAPACITY);
		if (kind_ == nullptr)
			return std::string("no memkind here: ") +
			       aml_errname(aml_errno);
		return "";
	}
	std::unique_ptr<TestArea> Make() override
	{
		// BIND to the kind alone; no topology: the area makes the
		// kind's own.
		Placement p(nullptr, AML_POLICY_LOCAL);
		p.policy = AML_POLICY_BIND;
		p.devices = {kind_};
		return std::make_unique<DeviceArea>(nullptr, p);
	}

      private:
	const struct aml_device *kind_ = nullptr;
};

// A file area over a memfd it makes, or over a caller's temporary file
// (unlinked at once) that it closes after the area's fini.
class FileArea : public TestArea
{
      public:
	static constexpr size_t kPages = 4096; // file space, not memory

	FileArea(const struct aml_topology *t,
	         const Placement &p,
	         aml_area_file_kind kind,
	         bool shared)
	{
		struct aml_area_file_source src = {};
		src.kind = kind;
		src.shared = shared;
		src.name = "aml-area-contract";
		src.capacity = kPages * Page();
		if (kind == AML_AREA_FILE_FD) {
			const char *dir = std::getenv("TEST_TMPDIR");
			std::string path =
			        std::string(dir != nullptr ? dir : "/tmp") +
			        "/area_contract_XXXXXX";
			fd_ = mkstemp(&path[0]);
			if (fd_ < 0 ||
			    ftruncate(fd_, (off_t)(kPages * Page())) != 0) {
				ADD_FAILURE() << "cannot make " << path;
				return;
			}
			unlink(path.c_str());
			src.fd = fd_;
		}
		int err = aml_area_file_init(&area_, &src, t, p.devices.data(),
		                             p.devices.size(), p.policy,
		                             p.Weights());
		EXPECT_EQ(err, 0) << Detail();
		ok_ = err == 0;
	}
	~FileArea() override
	{
		Fini();
		if (fd_ >= 0)
			close(fd_);
	}
	struct aml_area *Area() override
	{
		return ok_ ? &area_.base : nullptr;
	}
	void Fini() override
	{
		if (ok_)
			aml_area_file_fini(&area_);
	}

      private:
	AML_AREA_FILE_DECL(area_);
	int fd_ = -1;
	bool ok_ = false;
};

template <class Env> class FileKind : public AreaKind
{
      public:
	template <class... Args>
	FileKind(aml_area_file_kind kind,
	         bool shared,
	         aml_policy policy,
	         Args... env_args)
	    : env_(env_args...), kind_(kind), shared_(shared), policy_(policy)
	{
		caps.hugetlb_2m_error = AML_ENOTSUP;
		caps.hugetlb_1g_error = AML_ENOTSUP;
		caps.why = "file areas map no hugetlb pages (file.h)";
		if (std::is_same<Env, Emulated>::value) {
			caps.map_error = AML_ENOTSUP;
			caps.why = "the emulator's devices map anonymous "
			           "memory only: a file area over them "
			           "initialises, and its maps are AML_ENOTSUP "
			           "(file.h)";
		}
	}
	std::string Prepare() override
	{
		std::string why = env_.Prepare();
		if (why.empty())
			placement_ = std::make_unique<Placement>(
			        env_.Topology(), policy_);
		return why;
	}
	std::unique_ptr<TestArea> Make() override
	{
		return std::make_unique<FileArea>(env_.Topology(), *placement_,
		                                  kind_, shared_);
	}
	const struct aml_topology *Topology() const override
	{
		return env_.Topology();
	}

      private:
	Env env_;
	aml_area_file_kind kind_;
	bool shared_;
	aml_policy policy_;
	std::unique_ptr<Placement> placement_;
};

// A capped area over an area of another kind, with a cap that the checks
// never reach (it is a count, not memory).
class CappedArea : public TestArea
{
      public:
	explicit CappedArea(std::unique_ptr<TestArea> inner)
	    : inner_(std::move(inner))
	{
		if (inner_->Area() == nullptr)
			return;
		EXPECT_EQ(aml_area_capped_create(&area_, inner_->Area(),
		                                 (size_t)1 << 40, nullptr),
		          0);
	}
	~CappedArea() override
	{
		aml_area_capped_destroy(&area_);
	}
	struct aml_area *Area() override
	{
		return area_;
	}

      private:
	std::unique_ptr<TestArea> inner_;
	struct aml_area *area_ = nullptr;
};

class CappedKind : public AreaKind
{
      public:
	explicit CappedKind(std::unique_ptr<AreaKind> inner)
	    : inner_(std::move(inner))
	{
		caps = inner_->caps;
		caps.fini_in_place = false;
		caps.why = "a capped area is made by create only, and destroy "
		           "frees the handle: there is nothing to call after "
		           "it (" +
		           inner_->caps.why + ")";
	}
	std::string Prepare() override
	{
		return inner_->Prepare();
	}
	std::unique_ptr<TestArea> Make() override
	{
		return std::make_unique<CappedArea>(inner_->Make());
	}
	const struct aml_topology *Topology() const override
	{
		return inner_->Topology();
	}

      private:
	std::unique_ptr<AreaKind> inner_;
};

// The fast memory's private area (aml/src/fast/populate_area.h), which
// forwards to another and populates every map.
class PopulatingArea : public TestArea
{
      public:
	explicit PopulatingArea(std::unique_ptr<TestArea> inner)
	    : inner_(std::move(inner))
	{
		if (inner_->Area() != nullptr)
			aml_populate_area_init(&area_, inner_->Area());
	}
	struct aml_area *Area() override
	{
		return inner_->Area() != nullptr ? &area_.base : nullptr;
	}

      private:
	std::unique_ptr<TestArea> inner_;
	struct aml_populate_area area_ = {};
};

class PopulatingKind : public AreaKind
{
      public:
	explicit PopulatingKind(std::unique_ptr<AreaKind> inner)
	    : inner_(std::move(inner))
	{
		caps = inner_->caps;
		caps.fini_in_place = false;
		caps.why = "the populating area has no fini: it holds nothing "
		           "(" +
		           inner_->caps.why + ")";
	}
	std::string Prepare() override
	{
		return inner_->Prepare();
	}
	std::unique_ptr<TestArea> Make() override
	{
		return std::make_unique<PopulatingArea>(inner_->Make());
	}
	const struct aml_topology *Topology() const override
	{
		return inner_->Topology();
	}

      private:
	std::unique_ptr<AreaKind> inner_;
};

// ---- The factories.

// Nodes of 16 MiB: room for populate's margin of 4 MiB on each.
constexpr const char *kEmulatedSpec = "qemu-3node;scale=1/16";

struct KindFactory {
	const char *name;
	std::function<std::unique_ptr<AreaKind>()> make;
};

// gtest names a failed case's parameter with this.
void PrintTo(const KindFactory &kind, std::ostream *os)
{
	*os << kind.name;
}

std::unique_ptr<AreaKind> EmulatedDevice(aml_policy policy)
{
	auto kind =
	        std::make_unique<DeviceKind<Emulated>>(policy, kEmulatedSpec);
	// The emulator's spec reserves no hugetlb pool of either size (none
	// by default).
	kind->caps.hugetlb_2m_error = AML_ENOMEM;
	kind->caps.hugetlb_1g_error = AML_ENOMEM;
	kind->caps.release = Capabilities::kTopology;
	kind->caps.why = "the emulated machine has no hugetlb pool, and keeps "
	                 "one-page mappings mapped in a slab after unmap";
	return kind;
}

std::unique_ptr<AreaKind> HostDevice(aml_policy policy)
{
	return std::make_unique<DeviceKind<Host>>(policy);
}

std::unique_ptr<AreaKind>
HostFile(aml_area_file_kind kind, bool shared, aml_policy policy)
{
	return std::make_unique<FileKind<Host>>(kind, shared, policy);
}

const KindFactory kKinds[] = {
        {"device_emulated_bind",
         [] { return EmulatedDevice(AML_POLICY_BIND); }},
        {"device_emulated_preferred",
         [] { return EmulatedDevice(AML_POLICY_PREFERRED); }},
        {"device_emulated_preferred_many",
         [] { return EmulatedDevice(AML_POLICY_PREFERRED_MANY); }},
        {"device_emulated_interleave",
         [] { return EmulatedDevice(AML_POLICY_INTERLEAVE); }},
        {"device_emulated_weighted_interleave",
         [] { return EmulatedDevice(AML_POLICY_WEIGHTED_INTERLEAVE); }},
        {"device_emulated_local",
         [] { return EmulatedDevice(AML_POLICY_LOCAL); }},
        {"device_numa_bind", [] { return HostDevice(AML_POLICY_BIND); }},
        {"device_numa_preferred",
         [] { return HostDevice(AML_POLICY_PREFERRED); }},
        {"device_numa_preferred_many",
         [] { return HostDevice(AML_POLICY_PREFERRED_MANY); }},
        {"device_numa_interleave",
         [] { return HostDevice(AML_POLICY_INTERLEAVE); }},
        {"device_numa_weighted_interleave",
         [] { return HostDevice(AML_POLICY_WEIGHTED_INTERLEAVE); }},
        {"device_numa_local", [] { return HostDevice(AML_POLICY_LOCAL); }},
        {"device_memkind",
         [] { return std::unique_ptr<AreaKind>(new MemkindKind()); }},
        {"file_memfd_shared",
         [] { return HostFile(AML_AREA_FILE_MEMFD, true, AML_POLICY_BIND); }},
        {"file_memfd_private",
         [] { return HostFile(AML_AREA_FILE_MEMFD, false, AML_POLICY_BIND); }},
        {"file_memfd_shared_interleave",
         [] {
	         return HostFile(AML_AREA_FILE_MEMFD, true,
	                         AML_POLICY_INTERLEAVE);
         }},
        {"file_fd_shared",
         [] { return HostFile(AML_AREA_FILE_FD, true, AML_POLICY_BIND); }},
        {"file_fd_private",
         [] { return HostFile(AML_AREA_FILE_FD, false, AML_POLICY_BIND); }},
        {"file_memfd_emulated",
         [] {
	         return std::unique_ptr<AreaKind>(new FileKind<Emulated>(
	                 AML_AREA_FILE_MEMFD, true, AML_POLICY_BIND,
	                 kEmulatedSpec));
         }},
        {"capped_device_emulated",
         [] {
	         return std::unique_ptr<AreaKind>(
	                 new CappedKind(EmulatedDevice(AML_POLICY_BIND)));
         }},
        {"populating_device_emulated",
         [] {
	         return std::unique_ptr<AreaKind>(new PopulatingKind(
	                 EmulatedDevice(AML_POLICY_INTERLEAVE)));
         }},
        {"capped_file_memfd",
         [] {
	         return std::unique_ptr<AreaKind>(new CappedKind(
	                 HostFile(AML_AREA_FILE_MEMFD, true, AML_POLICY_BIND)));
         }},
};

// ---- The suite.

class AreaContract : public ::testing::TestWithParam<KindFactory>
{
      protected:
	void SetUp() override
	{
		kind_ = GetParam().make();
		std::string why = kind_->Prepare();
		if (!why.empty())
			GTEST_SKIP() << why;
		ASSERT_FALSE(HasFailure());
		held_ = kind_->Make();
		ASSERT_NE(held_->Area(), nullptr);
		area = held_->Area();
	}
	void TearDown() override
	{
		held_.reset();
		kind_.reset();
	}
	const Capabilities &Caps() const
	{
		return kind_->caps;
	}
	// Another area of the same kind.
	std::unique_ptr<TestArea> Another()
	{
		return kind_->Make();
	}
	void *Map(size_t size, const struct aml_area_mmap_options *o = nullptr)
	{
		return aml_area_mmap(area, size, o);
	}
	// Whether [p, p + npages pages) was released, as far as the kind
	// lets a check see it (Capabilities::release).
	bool Released(const void *p, size_t npages)
	{
		switch (Caps().release) {
		case Capabilities::kKernel:
			return Unmapped(p, npages);
		case Capabilities::kTopology: {
			// Per page, AML_EINVAL for an address not mapped.
			std::vector<int> ids(npages, 0);
			return aml_topology_locate(kind_->Topology(), p, npages,
			                           ids.data()) == 0 &&
			       ids == std::vector<int>(npages, AML_EINVAL);
		}
		case Capabilities::kNothing:
			break;
		}
		return true;
	}

	struct aml_area *area = nullptr;
	std::unique_ptr<AreaKind> kind_;
	std::unique_ptr<TestArea> held_;
};

// Skips a check that needs mappings on a kind whose maps are refused
// (AreaContract.MapsWholePagesOrRefuseAsDeclared checks the refusal).
#define SKIP_IF_MAPS_REFUSED()                                                 \
	do {                                                                   \
		if (Caps().map_error != 0)                                     \
			GTEST_SKIP() << "maps are "                            \
			             << aml_errname(Caps().map_error)          \
			             << " on this kind: " << Caps().why;       \
	} while (0)

TEST_P(AreaContract, MapsWholePagesOrRefuseAsDeclared)
{
	if (Caps().map_error != 0) {
		SCOPED_TRACE(Caps().why);
		struct aml_area_mmap_options populate = {};
		populate.populate = true;
		for (const auto *o :
		     {(aml_area_mmap_options *)nullptr, &populate}) {
			aml_errno = 0;
			EXPECT_EQ(Map(Page(), o), nullptr);
			EXPECT_EQ(aml_errno, Caps().map_error);
		}
		return;
	}
	// One byte is a whole page.
	char *p = static_cast<char *>(Map(1));
	ASSERT_NE(p, nullptr) << Detail();
	EXPECT_EQ((uintptr_t)p % Page(), 0u);
	Fill(p, 1, 1);
	EXPECT_TRUE(Intact(p, 1, 1));
	EXPECT_EQ(aml_area_munmap(area, p, 1), 0);
	EXPECT_TRUE(Released(p, 1)) << "unmap left the page mapped";
	// Several pages, of which a part of the last.
	size_t size = 5 * Page() - 3;
	p = static_cast<char *>(Map(size));
	ASSERT_NE(p, nullptr) << Detail();
	Fill(p, 5, 2);
	EXPECT_TRUE(Intact(p, 5, 2));
	EXPECT_EQ(aml_area_munmap(area, p, size), 0);
	EXPECT_TRUE(Released(p, 5)) << "unmap left pages mapped";
}

// What the generic functions refuse before any area sees it: AML_EINVAL,
// and nothing changes (a live mapping stays mapped, its bytes intact).
TEST_P(AreaContract, BadArgumentsAreEinvalAndChangeNothing)
{
	struct aml_area_mmap_options odd = {}, small = {}, kind = {};
	odd.alignment = 3 * Page();
	small.alignment = Page() / 2;
	kind.pages = AML_PAGE_KIND_COUNT;
	struct {
		const char *what;
		const struct aml_area *a;
		size_t size;
		const struct aml_area_mmap_options *opts;
	} maps[] = {
	        {"NULL area", nullptr, Page(), nullptr},
	        {"size 0", area, 0, nullptr},
	        {"size overflowing", area, SIZE_MAX, nullptr},
	        {"alignment not a power of two", area, Page(), &odd},
	        {"alignment below a page", area, Page(), &small},
	        {"unknown page kind", area, Page(), &kind},
	};
	for (const auto &c : maps) {
		aml_errno = 0;
		EXPECT_EQ(aml_area_mmap(c.a, c.size, c.opts), nullptr)
		        << c.what;
		EXPECT_EQ(aml_errno, AML_EINVAL) << c.what;
	}
	// A live mapping to aim the bad unmaps at: the area's own, or one
	// of the kernel's where the area maps nothing.
	bool own = Caps().map_error == 0;
	char *p = static_cast<char *>(
	        own ? Map(2 * Page())
	            : mmap(nullptr, 2 * Page(), PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_TRUE(p != nullptr && p != MAP_FAILED) << Detail();
	Fill(p, 2, 3);
	struct {
		const char *what;
		const struct aml_area *a;
		void *ptr;
		size_t size;
	} unmaps[] = {
	        {"NULL area", nullptr, p, Page()},
	        {"NULL pointer", area, nullptr, Page()},
	        {"a pointer not page-aligned", area, p + 1, Page()},
	        {"size 0", area, p, 0},
	        {"size overflowing", area, p, SIZE_MAX},
	};
	for (const auto &c : unmaps)
		EXPECT_EQ(aml_area_munmap(c.a, c.ptr, c.size), AML_EINVAL)
		        << c.what;
	EXPECT_TRUE(Intact(p, 2, 3));
	if (own) {
		EXPECT_EQ(aml_area_munmap(area, p, 2 * Page()), 0);
	} else {
		munmap(p, 2 * Page());
	}
	EXPECT_EQ(aml_area_print(area, nullptr, ""), AML_EINVAL);
	EXPECT_EQ(aml_area_print(nullptr, stdout, ""), AML_EINVAL);
}

// A valid alignment too large to honour is a request too big: AML_ENOMEM.
TEST_P(AreaContract, AnAlignmentTooLargeIsENOMEM)
{
	SKIP_IF_MAPS_REFUSED();
	struct aml_area_mmap_options huge = {};
	huge.alignment = (size_t)1 << 63;
	aml_errno = 0;
	EXPECT_EQ(Map(Page(), &huge), nullptr);
	if (Caps().aligns) {
		EXPECT_EQ(aml_errno, AML_ENOMEM) << Detail();
	} else {
		EXPECT_EQ(aml_errno, AML_ENOTSUP) << Caps().why;
	}
}

TEST_P(AreaContract, AlignmentIsHonouredOrRefusedAsDeclared)
{
	SKIP_IF_MAPS_REFUSED();
	for (size_t alignment : {2 * Page(), 64 * Page(), (size_t)2 << 20}) {
		SCOPED_TRACE(alignment);
		struct aml_area_mmap_options o = {};
		o.alignment = alignment;
		aml_errno = 0;
		char *p = static_cast<char *>(Map(3 * Page(), &o));
		if (!Caps().aligns) {
			EXPECT_EQ(p, nullptr);
			EXPECT_EQ(aml_errno, AML_ENOTSUP) << Caps().why;
			continue;
		}
		ASSERT_NE(p, nullptr) << Detail();
		EXPECT_EQ((uintptr_t)p % alignment, 0u);
		Fill(p, 3, 4);
		EXPECT_TRUE(Intact(p, 3, 4));
		EXPECT_EQ(aml_area_munmap(area, p, 3 * Page()), 0);
		EXPECT_TRUE(Released(p, 3));
	}
}

// An unmap may release any page-aligned part of a mapping, and only that
// part; what is not mapped any more is AML_EINVAL, with nothing released.
TEST_P(AreaContract, PartialUnmapReleasesThatPartOnly)
{
	SKIP_IF_MAPS_REFUSED();
	char *p = static_cast<char *>(Map(4 * Page()));
	ASSERT_NE(p, nullptr) << Detail();
	Fill(p, 4, 5);
	if (!Caps().partial_unmap) {
		SCOPED_TRACE(Caps().why);
		EXPECT_EQ(aml_area_munmap(area, p, Page()), AML_EINVAL);
		EXPECT_EQ(aml_area_munmap(area, p + Page(), 3 * Page()),
		          AML_EINVAL);
		EXPECT_TRUE(Intact(p, 4, 5));
		EXPECT_EQ(aml_area_munmap(area, p, 4 * Page()), 0);
		return;
	}
	EXPECT_EQ(aml_area_munmap(area, p + Page(), Page()), 0);
	EXPECT_TRUE(Released(p + Page(), 1));
	EXPECT_TRUE(Intact(p, 1, 5));
	EXPECT_TRUE(Mapped(p + 2 * Page(), 2));
	// Page 1 again, or a range over the hole: refused, nothing released.
	EXPECT_EQ(aml_area_munmap(area, p + Page(), Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(area, p, 2 * Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(area, p, 4 * Page()), AML_EINVAL);
	EXPECT_TRUE(Intact(p, 1, 5));
	EXPECT_TRUE(Mapped(p + 2 * Page(), 2));
	// The head, then the tail.
	EXPECT_EQ(aml_area_munmap(area, p, Page()), 0);
	EXPECT_EQ(aml_area_munmap(area, p + 3 * Page(), Page()), 0);
	EXPECT_TRUE(Mapped(p + 2 * Page(), 1));
	EXPECT_EQ(aml_area_munmap(area, p + 2 * Page(), Page()), 0);
	EXPECT_TRUE(Released(p, 4));
	EXPECT_EQ(aml_area_munmap(area, p + 3 * Page(), Page()), AML_EINVAL);
}

// AML_EINVAL for a range the area did not map, with nothing released:
// another area's mapping, a mapping and more, the heap, the kernel's
// mappings, a mapping already released.
TEST_P(AreaContract, UnmapRefusesWhatTheAreaDidNotMap)
{
	SKIP_IF_MAPS_REFUSED();
	std::unique_ptr<TestArea> other = Another();
	ASSERT_NE(other->Area(), nullptr);
	char *p = static_cast<char *>(Map(2 * Page()));
	char *q = static_cast<char *>(
	        aml_area_mmap(other->Area(), 2 * Page(), nullptr));
	ASSERT_NE(p, nullptr) << Detail();
	ASSERT_NE(q, nullptr) << Detail();
	Fill(p, 2, 6);
	Fill(q, 2, 7);
	std::vector<char> heap(3 * Page(), 'h');
	char *in_heap = reinterpret_cast<char *>(
	        ((uintptr_t)heap.data() + Page() - 1) & ~(Page() - 1));
	char *kernels = static_cast<char *>(
	        mmap(nullptr, Page(), PROT_READ | PROT_WRITE,
	             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(kernels, MAP_FAILED);
	kernels[0] = 'k';

	EXPECT_EQ(aml_area_munmap(area, q, 2 * Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(other->Area(), p, Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(area, p, 3 * Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(area, in_heap, Page()), AML_EINVAL);
	EXPECT_EQ(aml_area_munmap(area, kernels, Page()), AML_EINVAL);
	EXPECT_TRUE(Intact(p, 2, 6));
	EXPECT_TRUE(Intact(q, 2, 7));
	EXPECT_EQ(in_heap[0], 'h');
	EXPECT_EQ(kernels[0], 'k');

	EXPECT_EQ(aml_area_munmap(other->Area(), q, 2 * Page()), 0);
	EXPECT_EQ(aml_area_munmap(area, p, 2 * Page()), 0);
	EXPECT_EQ(aml_area_munmap(area, p, 2 * Page()), AML_EINVAL)
	        << "a second unmap of the same range";
	munmap(kernels, Page());
}

// populate gives every page its memory during the map.
TEST_P(AreaContract, PopulateGivesEveryPageItsMemoryAtTheMap)
{
	SKIP_IF_MAPS_REFUSED();
	struct aml_area_mmap_options o = {};
	o.populate = true;
	aml_errno = 0;
	char *p = static_cast<char *>(Map(8 * Page(), &o));
	if (Caps().populate_error != 0) {
		EXPECT_EQ(p, nullptr);
		EXPECT_EQ(aml_errno, Caps().populate_error) << Caps().why;
		return;
	}
	ASSERT_NE(p, nullptr) << Detail();
	const struct aml_topology *t = kind_->Topology();
	if (t != nullptr) {
		// Placed on a device, before any touch (the emulator may
		// place without giving the page memory: under valgrind).
		std::vector<int> ids(8, AML_ENODEV);
		ASSERT_EQ(aml_topology_locate(t, p, 8, ids.data()), 0);
		for (size_t i = 0; i < 8; i++)
			EXPECT_GE(ids[i], 0) << "page " << i << " not placed";
	} else {
		EXPECT_TRUE(Resident(p, 8));
	}
	EXPECT_EQ(aml_area_munmap(area, p, 8 * Page()), 0);
}

// Base pages, asked by name, map on every area; the hugetlb kinds answer
// what the area declares, where the area decides it.
TEST_P(AreaContract, PageKindsAsDeclared)
{
	SKIP_IF_MAPS_REFUSED();
	struct aml_area_mmap_options base = {};
	base.pages = AML_PAGE_BASE;
	char *p = static_cast<char *>(Map(2 * Page(), &base));
	ASSERT_NE(p, nullptr) << Detail();
	Fill(p, 2, 8);
	EXPECT_EQ(aml_area_munmap(area, p, 2 * Page()), 0);
	if (Caps().hugetlb_2m_error == 0 || Caps().hugetlb_1g_error == 0)
		GTEST_SKIP() << "the hugetlb kinds: the host's pools decide "
		                "(area_pages_test checks them)";
	SCOPED_TRACE(Caps().why);
	struct {
		enum aml_page_kind pages;
		int error;
	} huge[] = {{AML_PAGE_HUGETLB_2M, Caps().hugetlb_2m_error},
	            {AML_PAGE_HUGETLB_1G, Caps().hugetlb_1g_error}};
	for (const auto &h : huge) {
		struct aml_area_mmap_options o = {};
		o.pages = h.pages;
		aml_errno = 0;
		EXPECT_EQ(Map(Page(), &o), nullptr) << h.pages;
		EXPECT_EQ(aml_errno, h.error) << h.pages;
	}
}

// One line, after the prefix; a NULL prefix is "".
TEST_P(AreaContract, PrintsOneLineAfterThePrefix)
{
	auto print = [&](const char *prefix) {
		char *buf = nullptr;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		EXPECT_EQ(aml_area_print(area, out, prefix), 0);
		std::fclose(out);
		std::string s(buf, len);
		std::free(buf);
		return s;
	};
	std::string with = print("> "), without = print(nullptr);
	ASSERT_GT(with.size(), 3u);
	EXPECT_EQ(with.substr(0, 2), "> ") << with;
	EXPECT_EQ(with.substr(2), without);
	EXPECT_EQ(with.find('\n'), with.size() - 1) << with;
}

// Two threads map, write and unmap one page at a time on one area: a
// thread may get at once the addresses the other has just released, and
// no map or unmap may fail for it (issue #13).
TEST_P(AreaContract, TwoThreadsMapAndUnmapOneAreaWithoutFalseErrors)
{
	SKIP_IF_MAPS_REFUSED();
	// A file area's space is not reused: 2 x 500 pages of its 4096.
	constexpr int kRounds = 500;
	std::atomic<int> failures{0}, first{0};
	auto work = [&](unsigned char fill) {
		for (int i = 0; i < kRounds; i++) {
			auto *p = static_cast<unsigned char *>(
			        aml_area_mmap(area, Page(), nullptr));
			int err = p == nullptr ? aml_errno : 0;
			if (p != nullptr) {
				p[0] = fill;
				p[Page() - 1] = fill;
				err = p[0] == fill && p[Page() - 1] == fill
				              ? aml_area_munmap(area, p, Page())
				              : AML_FAILURE;
			}
			if (err != 0) {
				failures++;
				int none = 0;
				first.compare_exchange_strong(none, err);
			}
		}
	};
	std::thread a(work, 'a'), b(work, 'b');
	a.join();
	b.join();
	EXPECT_EQ(failures.load(), 0)
	        << "first error: " << aml_errname(first.load());
}

// After fini the handle answers AML_EINVAL to everything, and maps nothing.
TEST_P(AreaContract, AHandleIsDeadAfterFini)
{
	if (!Caps().fini_in_place)
		GTEST_SKIP() << Caps().why;
	bool maps = Caps().map_error == 0;
	char *p = nullptr;
	if (maps) {
		p = static_cast<char *>(Map(Page()));
		ASSERT_NE(p, nullptr) << Detail();
		ASSERT_EQ(aml_area_munmap(area, p, Page()), 0);
	}
	held_->Fini(); // the holder's own fini, later, is a second: a no-op
	aml_errno = 0;
	EXPECT_EQ(Map(Page()), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	if (maps) {
		EXPECT_EQ(aml_area_munmap(area, p, Page()), AML_EINVAL);
	}
	EXPECT_EQ(aml_area_print(area, stdout, ""), AML_EINVAL);
}

std::string KindName(const ::testing::TestParamInfo<KindFactory> &info)
{
	return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(EveryArea,
                         AreaContract,
                         ::testing::ValuesIn(kKinds),
                         KindName);

} // namespace
