// SPDX-License-Identifier: BSD-3-Clause
// Copies between two NUMA nodes, by where the copying threads run:
//   bazel run -c opt //bench:dma_numa_bench
// and in a guest of docs/vm.md (docs/dma.md, "Copies between nodes").
//
// Every row copies a buffer bound to the source node into one bound to the
// destination node (aml_topology_map_populate() under AML_POLICY_BIND, the
// pages checked with aml_topology_locate() before timing), one synchronous
// aml_dma_copy_bytes() (or memcpy) per iteration, and reports bytes/s of
// payload. Rows are dma_numa/copy/<where>/<bytes>:
// - near_source, near_destination: a par engine whose workers are pinned to
//   that node's CPUs (aml_dma_par_options.cpus); the caller runs anywhere.
//   The caller copies queued chunks in its wait too (aml/dma/par.h), so
//   part of each copy runs wherever the caller is:
// - near_source_with_caller, near_destination_with_caller: the same, and
//   the benchmark's thread pinned to that node's CPUs for the row
//   (sched_setaffinity; its affinity is restored after).
// - anywhere: a par engine with no CPU set, the caller anywhere.
// - multiplex: aml/dma/multiplex.h over one pinned par engine per node with
//   CPUs, equal weights. Its turns are round robin: it cannot send a copy
//   to the engine near the copy's source, so on two nodes with CPUs half
//   the copies run near the source and half near the destination. Routing
//   by source is the caller picking the source node's engine: the
//   near_source row.
// - memcpy_anywhere, memcpy_near_source, memcpy_near_destination: memcpy in
//   the benchmark's thread, unpinned or pinned to that node's CPUs: the
//   copy without an engine.
// Every engine has the same number of workers: the CPUs of the smaller of
// the two nodes (of the one with CPUs), less one left to the caller, at
// least one (the par engine's own default without a CPU set). Counters:
// src_node and dst_node (NUMA OS indices), nodes (the machine's), workers
// (all engines'), chunk_size (the par engines' resolved default, 0 for
// memcpy), caller_pinned (1 or 0); the label says which CPUs.
//
// The pair: the first two nodes with CPUs; with fewer than two such nodes,
// the node with CPUs (else the first node) to the next node.
// AML_BENCH_NUMA_PAIR=SRC,DST (NUMA OS indices) picks another pair; SRC
// equal to DST is the local baseline, a copy within one node. A row
// whose node has no CPUs skips saying so; on a machine with one node every
// row skips (state.SkipWithError), as in the smoke test here.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <aml.h>
#include <aml/dma.h>
#include <aml/dma/multiplex.h>
#include <aml/dma/par.h>
#include <aml/topology.h>

namespace
{

enum Where {
	kMemcpyAnywhere,
	kMemcpyNearSource,
	kMemcpyNearDestination,
	kAnywhere,
	kNearSource,
	kNearSourceWithCaller,
	kNearDestination,
	kNearDestinationWithCaller,
	kMultiplex,
};

size_t Cpus(const struct aml_device *dev)
{
	int n = aml_bitmap_count(&dev->cpus);
	return n > 0 ? (size_t)n : 0;
}

std::string CpuList(const struct aml_bitmap *cpus)
{
	char buf[AML_BITMAP_FORMAT_MAX];
	if (aml_bitmap_format(cpus, buf, sizeof(buf)) < 0)
		return "?";
	return buf;
}

// The two nodes every row copies between, found once.
struct Pair {
	const struct aml_topology *topology = nullptr;
	const struct aml_device *src = nullptr, *dst = nullptr;
	size_t src_index = 0, dst_index = 0;
	int nodes = 0;
	size_t workers = 1;
	// Why every row skips; empty when they run.
	std::string error;
};

bool FromEnvironment(Pair *p, const char *text)
{
	int s, d;
	char end;
	if (std::sscanf(text, "%d,%d%c", &s, &d, &end) != 2) {
		p->error = std::string("AML_BENCH_NUMA_PAIR=") + text +
		           ": want SRC,DST, two NUMA OS indices";
		return false;
	}
	p->src = aml_topology_device_of_node(p->topology, s);
	p->dst = aml_topology_device_of_node(p->topology, d);
	if (p->src == nullptr || p->dst == nullptr) {
		p->error = std::string("AML_BENCH_NUMA_PAIR=") + text +
		           ": no such node here";
		return false;
	}
	return true;
}

void ByCpus(Pair *p)
{
	std::vector<const struct aml_device *> with_cpus;
	AML_TOPOLOGY_FOREACH (dev, p->topology)
		if (Cpus(dev) > 0)
			with_cpus.push_back(dev);
	if (with_cpus.size() >= 2) {
		p->src = with_cpus[0];
		p->dst = with_cpus[1];
		return;
	}
	p->src = with_cpus.empty() ? aml_topology_device(p->topology, 0)
	                           : with_cpus[0];
	AML_TOPOLOGY_FOREACH (dev, p->topology)
		if (dev != p->src) {
			p->dst = dev;
			return;
		}
}

Pair FindPair()
{
	Pair p;
	p.topology = aml_topology_default();
	if (p.topology == nullptr) {
		p.error =
		        std::string("no topology: ") + aml_strerror(aml_errno);
		return p;
	}
	p.nodes = aml_topology_ndevices(p.topology);
	if (p.nodes < 2) {
		p.error = "this machine has one NUMA node (" +
		          std::string(aml_topology_source(p.topology)) +
		          "): copies between nodes need two";
		return p;
	}
	const char *env = std::getenv("AML_BENCH_NUMA_PAIR");
	if (env != nullptr) {
		if (!FromEnvironment(&p, env))
			return p;
	} else {
		ByCpus(&p);
	}
	p.src_index = (size_t)aml_topology_index_of(p.topology, p.src);
	p.dst_index = (size_t)aml_topology_index_of(p.topology, p.dst);
	// The caller copies chunks in its waits: leave it a CPU of the node.
	size_t a = Cpus(p.src), b = Cpus(p.dst);
	size_t cpus = a == 0 ? b : b == 0 ? a : std::min(a, b);
	p.workers = cpus > 1 ? cpus - 1 : 1;
	return p;
}

const Pair &ThePair()
{
	static const Pair pair = FindPair();
	return pair;
}

// A map bound to one device, every page placed before timing.
class NodeBuffer
{
      public:
	NodeBuffer(const Pair &p, size_t index, size_t n)
	    : topology_(p.topology), n_(n)
	{
		struct aml_bitmap set;
		aml_bitmap_zero(&set);
		aml_bitmap_set(&set, index);
		ptr_ = static_cast<char *>(aml_topology_map_populate(
		        topology_, &set, AML_POLICY_BIND, n));
		if (ptr_ == nullptr) {
			error_ = std::string("map of ") + std::to_string(n) +
			         " bytes on " +
			         aml_topology_device(topology_, index)->name +
			         ": " + aml_strerror(aml_errno);
			return;
		}
		std::memset(ptr_, 1, n);
		Check(index);
	}
	~NodeBuffer()
	{
		if (ptr_ != nullptr)
			aml_topology_unmap(topology_, ptr_, n_);
	}
	char *ptr() const
	{
		return ptr_;
	}
	const std::string &error() const
	{
		return error_;
	}

      private:
	// Not trusted to the policy: a page elsewhere would make the row
	// measure something else.
	void Check(size_t index)
	{
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		size_t npages = (n_ + page - 1) / page, off = 0;
		std::vector<int> ids(npages);
		int err = aml_topology_locate(topology_, ptr_, npages,
		                              ids.data());
		if (err != 0) {
			error_ = std::string("locate: ") + aml_strerror(err);
			return;
		}
		for (int id : ids)
			off += id != (int)index;
		if (off > 0)
			error_ = std::to_string(off) + " of " +
			         std::to_string(npages) + " pages not on " +
			         aml_topology_device(topology_, index)->name;
	}
	const struct aml_topology *topology_;
	size_t n_;
	char *ptr_ = nullptr;
	std::string error_;
};

struct Buffers {
	Buffers(const Pair &p, size_t n)
	    : src(p, p.src_index, n), dst(p, p.dst_index, n)
	{
	}
	const std::string &error() const
	{
		return !src.error().empty() ? src.error() : dst.error();
	}
	NodeBuffer src, dst;
};

// Kept for the process: google-benchmark runs each row several times, and
// populating 64 MiB takes a while in a software-emulated guest.
const Buffers &BuffersFor(const Pair &p, size_t n)
{
	static std::map<size_t, std::unique_ptr<Buffers>> cache;
	std::unique_ptr<Buffers> &b = cache[n];
	if (b == nullptr)
		b.reset(new Buffers(p, n));
	return *b;
}

// The benchmark's thread on a node's CPUs, for the life of the object.
class CallerPin
{
      public:
	explicit CallerPin(const struct aml_bitmap *cpus)
	{
		if (cpus == nullptr)
			return;
		cpu_set_t set;
		CPU_ZERO(&set);
		AML_BITMAP_FOREACH (cpu, cpus)
			if (cpu < CPU_SETSIZE)
				CPU_SET(cpu, &set);
		ok_ = sched_getaffinity(0, sizeof(old_), &old_) == 0 &&
		      sched_setaffinity(0, sizeof(set), &set) == 0;
		pinned_ = ok_;
	}
	~CallerPin()
	{
		if (pinned_)
			sched_setaffinity(0, sizeof(old_), &old_);
	}
	bool ok() const
	{
		return ok_;
	}

      private:
	cpu_set_t old_;
	bool ok_ = true, pinned_ = false;
};

// The engines of one row: one par engine, or the multiplex engine over one
// par engine per node with CPUs.
class Engines
{
      public:
	Engines(const Pair &p, Where where)
	{
		switch (where) {
		case kAnywhere:
			Par(p, nullptr);
			break;
		case kNearSource:
		case kNearSourceWithCaller:
			Par(p, &p.src->cpus);
			break;
		case kNearDestination:
		case kNearDestinationWithCaller:
			Par(p, &p.dst->cpus);
			break;
		case kMultiplex:
			AML_TOPOLOGY_FOREACH (dev, p.topology)
				if (Cpus(dev) > 0 && !Par(p, &dev->cpus))
					return;
			if (aml_dma_multiplex_create(&multiplex_, pars_.data(),
			                             nullptr,
			                             pars_.size()) != 0)
				error_ = "aml_dma_multiplex_create failed";
			break;
		default:
			break;
		}
	}
	~Engines()
	{
		aml_dma_multiplex_destroy(&multiplex_);
		for (std::unique_ptr<struct aml_dma_par> &par : storage_)
			aml_dma_par_fini(par.get());
	}
	struct aml_dma *dma() const
	{
		if (multiplex_ != nullptr)
			return multiplex_;
		return pars_.empty() ? nullptr : pars_[0];
	}
	size_t workers() const
	{
		return workers_;
	}
	// The par engines' chunk size, defaults resolved (the same for all).
	size_t chunk_size() const
	{
		return chunk_size_;
	}
	const std::string &error() const
	{
		return error_;
	}

      private:
	bool Par(const Pair &p, const struct aml_bitmap *cpus)
	{
		struct aml_dma_par_options o = {};
		o.nworkers = p.workers;
		if (cpus != nullptr)
			o.cpus = *cpus;
		std::unique_ptr<struct aml_dma_par> par(
		        new struct aml_dma_par());
		int err = aml_dma_par_init(par.get(), nullptr, &o);
		if (err != 0) {
			error_ = std::string("aml_dma_par_init: ") +
			         aml_strerror(err);
			return false;
		}
		if (aml_dma_par_options(par.get(), &o) == 0)
			chunk_size_ = o.chunk_size;
		pars_.push_back(&par->base);
		storage_.push_back(std::move(par));
		workers_ += p.workers;
		return true;
	}
	std::vector<std::unique_ptr<struct aml_dma_par>> storage_;
	std::vector<struct aml_dma *> pars_;
	size_t chunk_size_ = 0;
	struct aml_dma *multiplex_ = nullptr;
	size_t workers_ = 0;
	std::string error_;
};

// Whose CPUs the workers and the caller are pinned to; NULL for anywhere.
const struct aml_device *WorkersOn(const Pair &p, Where where)
{
	switch (where) {
	case kNearSource:
	case kNearSourceWithCaller:
		return p.src;
	case kNearDestination:
	case kNearDestinationWithCaller:
		return p.dst;
	default:
		return nullptr;
	}
}

const struct aml_device *CallerOn(const Pair &p, Where where)
{
	switch (where) {
	case kMemcpyNearSource:
	case kNearSourceWithCaller:
		return p.src;
	case kMemcpyNearDestination:
	case kNearDestinationWithCaller:
		return p.dst;
	default:
		return nullptr;
	}
}

bool IsMemcpy(Where where)
{
	return where == kMemcpyAnywhere || where == kMemcpyNearSource ||
	       where == kMemcpyNearDestination;
}

std::string Label(const Pair &p, Where where, const Engines &e)
{
	std::string s = std::string(p.src->name) + "->" + p.dst->name;
	const struct aml_device *w = WorkersOn(p, where);
	const struct aml_device *c = CallerOn(p, where);
	if (where == kMultiplex)
		s += ", workers: " + std::to_string(e.workers()) +
		     " in one engine per node with CPUs";
	else if (!IsMemcpy(where))
		s += ", workers: " + std::to_string(e.workers()) + " on " +
		     (w != nullptr ? "cpus " + CpuList(&w->cpus) : "any cpu");
	s += ", caller on " +
	     (c != nullptr ? "cpus " + CpuList(&c->cpus) : "any cpu");
	return s;
}

template <Where W> void BM_Copy(benchmark::State &state)
{
	const Pair &p = ThePair();
	if (!p.error.empty()) {
		state.SkipWithError(p.error.c_str());
		return;
	}
	for (const struct aml_device *d : {WorkersOn(p, W), CallerOn(p, W)})
		if (d != nullptr && Cpus(d) == 0) {
			std::string why =
			        std::string(d->name) + " has no CPUs to run on";
			state.SkipWithError(why.c_str());
			return;
		}
	size_t n = (size_t)state.range(0);
	const Buffers &b = BuffersFor(p, n);
	if (!b.error().empty()) {
		state.SkipWithError(b.error().c_str());
		return;
	}
	// Engines first, so that an unpinned one gets every CPU.
	Engines e(p, W);
	if (!e.error().empty()) {
		state.SkipWithError(e.error().c_str());
		return;
	}
	const struct aml_device *caller = CallerOn(p, W);
	CallerPin pin(caller != nullptr ? &caller->cpus : nullptr);
	if (!pin.ok()) {
		state.SkipWithError("sched_setaffinity failed");
		return;
	}
	char *dst = b.dst.ptr(), *src = b.src.ptr();
	for (auto _ : state) {
		if (IsMemcpy(W)) {
			std::memcpy(dst, src, n);
		} else if (aml_dma_copy_bytes(e.dma(), dst, src, n) != 0) {
			state.SkipWithError("copy failed");
			break;
		}
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed((int64_t)(state.iterations() * n));
	state.SetLabel(Label(p, W, e));
	state.counters["src_node"] = p.src->numa_id;
	state.counters["dst_node"] = p.dst->numa_id;
	state.counters["nodes"] = p.nodes;
	state.counters["workers"] = (double)e.workers();
	state.counters["chunk_size"] = (double)e.chunk_size();
	state.counters["caller_pinned"] = caller != nullptr;
}

void Sizes(benchmark::internal::Benchmark *b)
{
	b->Arg(64 << 10)->Arg(1 << 20)->Arg(64 << 20)->UseRealTime();
}

} // namespace

BENCHMARK_TEMPLATE(BM_Copy, kMemcpyAnywhere)
        ->Name("dma_numa/copy/memcpy_anywhere")
        ->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Copy, kMemcpyNearSource)
        ->Name("dma_numa/copy/memcpy_near_source")
        ->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Copy, kMemcpyNearDestination)
        ->Name("dma_numa/copy/memcpy_near_destination")
        ->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Copy, kAnywhere)
        ->Name("dma_numa/copy/anywhere")
        ->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Copy, kNearSource)
        ->Name("dma_numa/copy/near_source")
        ->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Copy, kNearSourceWithCaller)
        ->Name("dma_numa/copy/near_source_with_caller")
        ->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Copy, kNearDestination)
        ->Name("dma_numa/copy/near_destination")
        ->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Copy, kNearDestinationWithCaller)
        ->Name("dma_numa/copy/near_destination_with_caller")
        ->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Copy, kMultiplex)
        ->Name("dma_numa/copy/multiplex")
        ->Apply(Sizes);
