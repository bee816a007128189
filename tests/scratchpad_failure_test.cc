// SPDX-License-Identifier: BSD-3-Clause
// The scratchpad when things go wrong: tables of bad input to init and to
// every call, random operations over a dma that fails on demand checked
// against a model of what the caller wrote, and allocations that fail
// (tests/testing/fault.h: the target links the fault library).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include <aml.h>
#include <aml/scratchpad.h>

#include "tests/testing/fault.h"
#include "tests/testing/scratchpad_fixture.h"

namespace
{

using aml_test::FaultRun;
using aml_test::ForEachFault;
using aml_testing::Engine;
using aml_testing::ForEachCoord;
using aml_testing::Mark;
using aml_testing::Scratchpad;

TEST_F(Scratchpad, InitBadInputTable)
{
	MakeArray({256}, {32});
	struct aml_layout shape;
	size_t d = 256, td = 32;
	ASSERT_EQ(aml_layout_init(&shape, nullptr, AML_LAYOUT_ORDER_C, 4, 1, &d,
	                          nullptr),
	          0);
	AML_TILING_ND_DECL(shape_only);
	ASSERT_EQ(aml_tiling_nd_init(&shape_only, &shape, &td,
	                             AML_TILING_ORDER_ROW_MAJOR,
	                             AML_TILING_RESIZE, AML_TILING_IN_PLACE),
	          0);
	size_t free_before;
	ASSERT_EQ(aml_device_free_bytes(mcdram, &free_before), 0);
	struct Case {
		const char *what;
		bool null_sp;
		const struct aml_tiling *tiling;
		const struct aml_area *area;
		struct aml_dma *dma;
		size_t nslots;
		int want;
	} cases[] = {
	        {"NULL storage", true, &tiling.base, &fast.base, dma, 2,
	         AML_EINVAL},
	        {"NULL tiling", false, nullptr, &fast.base, dma, 2, AML_EINVAL},
	        {"NULL area", false, &tiling.base, nullptr, dma, 2, AML_EINVAL},
	        {"NULL dma", false, &tiling.base, &fast.base, nullptr, 2,
	         AML_EINVAL},
	        {"zero slots", false, &tiling.base, &fast.base, dma, 0,
	         AML_EINVAL},
	        {"shape-only tiling", false, &shape_only.base, &fast.base, dma,
	         2, AML_EINVAL},
	        {"slots overflow size_t", false, &tiling.base, &fast.base, dma,
	         SIZE_MAX / 64, AML_EINVAL},
	        {"rounded to pages overflows", false, &tiling.base, &fast.base,
	         dma, SIZE_MAX / 128, AML_EINVAL},
	        {"more than MCDRAM", false, &tiling.base, &fast.base, dma,
	         (size_t)1 << 30, AML_ENOMEM},
	};
	for (const Case &c : cases) {
		AML_SCRATCHPAD_DECL(sp);
		int err =
		        aml_scratchpad_init(c.null_sp ? nullptr : &sp, c.tiling,
		                            c.area, c.dma, c.nslots);
		EXPECT_EQ(err, c.want) << c.what << ": " << aml_errname(err);
		if (!c.null_sp) {
			struct aml_scratchpad *out = &sp;
			err = aml_scratchpad_create(&out, c.tiling, c.area,
			                            c.dma, c.nslots);
			EXPECT_EQ(err, c.want) << c.what;
			EXPECT_EQ(out, nullptr) << c.what;
		}
		size_t free_after;
		ASSERT_EQ(aml_device_free_bytes(mcdram, &free_after), 0);
		EXPECT_EQ(free_after, free_before) << c.what;
	}
	EXPECT_EQ(aml_scratchpad_create(nullptr, &tiling.base, &fast.base, dma,
	                                2),
	          AML_EINVAL);
	aml_scratchpad_fini(nullptr);
	aml_tiling_nd_fini(&shape_only);
}

TEST_F(Scratchpad, CallBadInputTable)
{
	MakeArray({256}, {32}); // 8 tiles
	AML_SCRATCHPAD_DECL(sp);
	ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base, dma, 2),
	          0);
	AML_SCRATCHPAD_DECL(other);
	ASSERT_EQ(aml_scratchpad_init(&other, &tiling.base, &fast.base, dma, 2),
	          0);
	size_t pinned, unpinned, s;
	ASSERT_EQ(aml_scratchpad_pull(&sp, 1, 0, &pinned), 0);
	ASSERT_EQ(aml_scratchpad_pull(&sp, 2, 0, &unpinned), 0);
	ASSERT_EQ(aml_scratchpad_release(&sp, unpinned), 0);
	struct aml_scratchpad_request *foreign = nullptr;
	ASSERT_EQ(aml_scratchpad_async_pull(&other, 0, 0, &s, &foreign), 0);
	struct aml_scratchpad_stats before = Stats(&sp);
	struct aml_scratchpad_request *r = nullptr, *null_req = nullptr;
	struct aml_layout l;
	size_t out = 77;
	struct Case {
		const char *what;
		int got;
		int want;
	} cases[] = {
	        {"pull NULL sp", aml_scratchpad_pull(nullptr, 0, 0, &out),
	         AML_EINVAL},
	        {"pull NULL slot", aml_scratchpad_pull(&sp, 0, 0, nullptr),
	         AML_EINVAL},
	        {"pull unknown flag", aml_scratchpad_pull(&sp, 0, 8, &out),
	         AML_EINVAL},
	        {"pull tile out of range", aml_scratchpad_pull(&sp, 8, 0, &out),
	         AML_EDOM},
	        {"pull tile SIZE_MAX",
	         aml_scratchpad_pull(&sp, SIZE_MAX, 0, &out), AML_EDOM},
	        {"async pull NULL request",
	         aml_scratchpad_async_pull(&sp, 0, 0, &out, nullptr),
	         AML_EINVAL},
	        {"async pull NULL sp",
	         aml_scratchpad_async_pull(nullptr, 0, 0, &out, &r),
	         AML_EINVAL},
	        {"async pull tile out of range",
	         aml_scratchpad_async_pull(&sp, 9, 0, &out, &r), AML_EDOM},
	        {"push NULL", aml_scratchpad_push(nullptr, 0), AML_EINVAL},
	        {"push slot out of range", aml_scratchpad_push(&sp, 2),
	         AML_EDOM},
	        {"push unpinned", aml_scratchpad_push(&sp, unpinned),
	         AML_EPERM},
	        {"async push NULL request",
	         aml_scratchpad_async_push(&sp, pinned, nullptr), AML_EINVAL},
	        {"async push unpinned",
	         aml_scratchpad_async_push(&sp, unpinned, &r), AML_EPERM},
	        {"async push out of range",
	         aml_scratchpad_async_push(&sp, 5, &r), AML_EDOM},
	        {"release NULL", aml_scratchpad_release(nullptr, 0),
	         AML_EINVAL},
	        {"release out of range", aml_scratchpad_release(&sp, 2),
	         AML_EDOM},
	        {"release unpinned", aml_scratchpad_release(&sp, unpinned),
	         AML_EPERM},
	        {"mark_dirty unpinned",
	         aml_scratchpad_mark_dirty(&sp, unpinned), AML_EPERM},
	        {"mark_dirty out of range",
	         aml_scratchpad_mark_dirty(&sp, SIZE_MAX), AML_EDOM},
	        {"mark_dirty NULL", aml_scratchpad_mark_dirty(nullptr, 0),
	         AML_EINVAL},
	        {"wait NULL sp", aml_scratchpad_wait(nullptr, &foreign),
	         AML_EINVAL},
	        {"wait NULL", aml_scratchpad_wait(&sp, nullptr), AML_EINVAL},
	        {"wait &NULL", aml_scratchpad_wait(&sp, &null_req), AML_EINVAL},
	        {"wait another's request", aml_scratchpad_wait(&sp, &foreign),
	         AML_EINVAL},
	        {"flush NULL", aml_scratchpad_flush(nullptr), AML_EINVAL},
	        {"slot_layout NULL out",
	         aml_scratchpad_slot_layout(&sp, pinned, nullptr), AML_EINVAL},
	        {"slot_layout out of range",
	         aml_scratchpad_slot_layout(&sp, 3, &l), AML_EDOM},
	        {"slot_tile NULL sp",
	         aml_scratchpad_slot_tile(nullptr, 0, &out), AML_EINVAL},
	        {"slot_tile out of range",
	         aml_scratchpad_slot_tile(&sp, 2, &out), AML_EDOM},
	        {"stats NULL out", aml_scratchpad_stats(&sp, nullptr),
	         AML_EINVAL},
	        {"stats NULL sp", aml_scratchpad_stats(nullptr, &before),
	         AML_EINVAL},
	};
	for (const Case &c : cases)
		EXPECT_EQ(c.got, c.want)
		        << c.what << ": got " << aml_errname(c.got);
	EXPECT_EQ(out, 77u);
	EXPECT_EQ(r, nullptr);
	ASSERT_NE(foreign, nullptr);
	aml_errno = 0;
	EXPECT_EQ(aml_scratchpad_slot_ptr(&sp, 2), nullptr);
	EXPECT_EQ(aml_errno, AML_EDOM);
	EXPECT_EQ(aml_scratchpad_slot_ptr(nullptr, 0), nullptr);
	EXPECT_EQ(aml_errno, AML_EINVAL);
	EXPECT_EQ(aml_scratchpad_nslots(nullptr), 0u);
	// Nothing changed: same counters, same pins, same tiles.
	struct aml_scratchpad_stats after = Stats(&sp);
	EXPECT_EQ(0, std::memcmp(&before, &after, sizeof(before)));
	size_t held;
	ASSERT_EQ(aml_scratchpad_slot_tile(&sp, pinned, &held), 0);
	EXPECT_EQ(held, 1u);
	ASSERT_EQ(aml_scratchpad_slot_tile(&sp, unpinned, &held), 0);
	EXPECT_EQ(held, 2u);
	ASSERT_EQ(aml_scratchpad_release(&sp, pinned), 0);
	EXPECT_EQ(aml_scratchpad_release(&sp, pinned), AML_EPERM);
	// A slot that never held a tile has no layout.
	AML_SCRATCHPAD_DECL(fresh);
	ASSERT_EQ(aml_scratchpad_init(&fresh, &tiling.base, &fast.base, dma, 1),
	          0);
	EXPECT_EQ(aml_scratchpad_slot_layout(&fresh, 0, &l), AML_EINVAL);
	EXPECT_EQ(aml_scratchpad_slot_tile(&fresh, 0, &out), AML_EINVAL);
	aml_scratchpad_fini(&fresh);
	ASSERT_EQ(aml_scratchpad_wait(&other, &foreign), 0);
	ASSERT_EQ(aml_scratchpad_release(&other, s), 0);
	aml_scratchpad_fini(&other);
	aml_scratchpad_fini(&sp);
}

// A dma engine, through the public ops table, that copies when a request is
// waited (so a copy in flight has not happened yet) and fails on demand: a
// submission refused (nothing copied), or a copy that fails after it
// scribbled over its whole destination, as a copy that dies half-way may.
class FailingDma
{
      public:
	explicit FailingDma(struct aml_dma *inner, unsigned seed)
	    : inner_(inner), rng_(seed)
	{
		base.ops = &kOps;
		base.data = this;
	}
	// Percent of submissions refused, and of copies failed.
	void Fail(unsigned submit_pct, unsigned copy_pct)
	{
		std::lock_guard<std::mutex> hold(lock_);
		submit_pct_ = submit_pct;
		copy_pct_ = copy_pct;
	}
	size_t Refused() const
	{
		return refused_;
	}
	size_t Failed() const
	{
		return failed_;
	}
	size_t InFlight()
	{
		std::lock_guard<std::mutex> hold(lock_);
		return copies_.size();
	}

	struct aml_dma base;

      private:
	struct Copy {
		struct aml_dma_plan plan;
	};
	// A copier that writes 0xee over the destination: a failed copy.
	static int Spoil(const struct aml_copier *copier,
	                 void *dst,
	                 const void *src,
	                 size_t size,
	                 bool streamed)
	{
		(void)copier;
		(void)src;
		(void)streamed;
		std::memset(dst, 0xee, size);
		return 0;
	}
	static FailingDma *Of(struct aml_dma *dma)
	{
		return static_cast<FailingDma *>(dma->data);
	}
	bool Roll(unsigned pct)
	{
		return rng_() % 100 < pct;
	}
	static int Submit(struct aml_dma *dma,
	                  struct aml_dma_request **out,
	                  const struct aml_dma_plan *plan)
	{
		FailingDma *self = Of(dma);
		std::unique_lock<std::mutex> hold(self->lock_);
		if (self->Roll(self->submit_pct_)) {
			self->refused_++;
			return AML_ENOMEM;
		}
		Copy c = {*plan};
		if (out == nullptr) {
			(void)self->Run(c);
			return 0;
		}
		uintptr_t id = self->next_++;
		self->copies_[id] = c;
		*out = reinterpret_cast<struct aml_dma_request *>(id);
		return 0;
	}
	static int Wait(struct aml_dma *dma, struct aml_dma_request *r)
	{
		FailingDma *self = Of(dma);
		std::unique_lock<std::mutex> hold(self->lock_);
		auto it = self->copies_.find(reinterpret_cast<uintptr_t>(r));
		if (it == self->copies_.end())
			return AML_EINVAL;
		Copy c = it->second;
		self->copies_.erase(it);
		return self->Run(c);
	}
	static int Cancel(struct aml_dma *dma, struct aml_dma_request *r)
	{
		FailingDma *self = Of(dma);
		std::unique_lock<std::mutex> hold(self->lock_);
		return self->copies_.erase(reinterpret_cast<uintptr_t>(r)) == 1
		               ? 0
		               : AML_EINVAL;
	}
	static int Barrier(struct aml_dma *dma)
	{
		(void)dma;
		return 0; // fire-and-forget copies ran at submission
	}
	int Run(const Copy &c)
	{
		if (!Roll(copy_pct_)) {
			// Synchronously, through the inner engine's submit op.
			struct aml_dma_request *r = nullptr;
			int err = inner_->ops->submit(inner_, &r, &c.plan);
			return err != 0 ? err : aml_dma_wait(inner_, &r);
		}
		static const struct aml_copier_ops spoil_ops = {
		        Spoil, nullptr, nullptr, nullptr, nullptr};
		const struct aml_copier spoil = {&spoil_ops, nullptr};
		EXPECT_EQ(aml_dma_plan_copy(&c.plan, 0, c.plan.bytes, &spoil),
		          0);
		failed_++;
		return AML_FAILURE;
	}

	static const struct aml_dma_ops kOps;
	struct aml_dma *inner_;
	std::mt19937 rng_;
	std::mutex lock_;
	unsigned submit_pct_ = 0, copy_pct_ = 0;
	size_t refused_ = 0, failed_ = 0;
	uintptr_t next_ = 1;
	std::map<uintptr_t, Copy> copies_;
};

const struct aml_dma_ops FailingDma::kOps = {Submit, Wait, Cancel, Barrier};

// The caller of the model test: what it pinned, what it wrote, what is in
// flight, and the array it expects once everything is written back.
class ModelCaller
{
      public:
	ModelCaller(Scratchpad *f, struct aml_scratchpad *sp, unsigned seed)
	    : f_(f), sp_(sp), rng_(seed)
	{
		ForEachCoord(f->dims, [&](const size_t *c) {
			model_.push_back(Mark(c, 2));
		});
	}
	// One random operation.
	void Step()
	{
		unsigned r = rng_() % 100;
		if (r < 20)
			Pull(false);
		else if (r < 35)
			Pull(true);
		else if (r < 55)
			Write();
		else if (r < 70)
			Release();
		else if (r < 90)
			WaitOne();
		else
			Flush();
	}
	// Wait for everything, release every pin.
	void Drain()
	{
		while (!reqs_.empty())
			WaitOne();
		while (!pins_.empty())
			Release();
	}
	// The array holds what the caller wrote, element by element.
	void CheckArray()
	{
		size_t i = 0;
		ForEachCoord(f_->dims, [&](const size_t *c) {
			ASSERT_EQ(*f_->At(c), model_[i]) << "element " << i;
			i++;
		});
	}
	size_t writes = 0, lost_pulls = 0;

      private:
	struct Pin {
		size_t slot, tile;
		bool usable; // the tile is in the slot: read and write it
	};
	struct Req {
		struct aml_scratchpad_request *r;
		int pin; // the pull's pin, or -1 for a push
		size_t slot;
	};
	// Element (i) of the model at coordinates c of the array.
	size_t Index(const size_t *c)
	{
		return c[0] * f_->dims[1] + c[1];
	}
	// Visit (slot element, model index) of every valid element of tile.
	template <typename F> void ForTile(size_t slot, size_t tile, F fn)
	{
		size_t origin[2], valid[2];
		ASSERT_EQ(
		        aml_tiling_tile_origin(&f_->tiling.base, tile, origin),
		        0);
		ASSERT_EQ(aml_tiling_tile_valid_dims(&f_->tiling.base, tile,
		                                     valid),
		          0);
		struct aml_layout sl;
		ASSERT_EQ(aml_scratchpad_slot_layout(sp_, slot, &sl), 0);
		ForEachCoord({valid[0], valid[1]}, [&](const size_t *c) {
			size_t a[2] = {origin[0] + c[0], origin[1] + c[1]};
			fn(static_cast<uint32_t *>(aml_layout_address(&sl, c)),
			   Index(a), a);
		});
	}
	void CheckSlot(const Pin &p)
	{
		ForTile(p.slot, p.tile, [&](uint32_t *e, size_t i, size_t *) {
			ASSERT_EQ(*e, model_[i]) << "tile " << p.tile;
		});
	}
	void CheckTile(const Pin &p)
	{
		ForTile(p.slot, p.tile, [&](uint32_t *, size_t i, size_t *a) {
			ASSERT_EQ(*f_->At(a), model_[i]) << "tile " << p.tile;
		});
	}
	// A pin whose tile arrived: an OVERWRITE pull writes it all first,
	// once no push of the slot is in flight.
	void Arrived(int id, bool overwrite)
	{
		Pin &p = pins_[id];
		p.usable = true;
		if (!overwrite) {
			CheckSlot(p);
			return;
		}
		for (size_t k = 0; k < reqs_.size();) {
			if (reqs_[k].pin >= 0 || reqs_[k].slot != p.slot) {
				k++;
				continue;
			}
			int err = aml_scratchpad_wait(sp_, &reqs_[k].r);
			ASSERT_TRUE(err == 0 || DmaError(err));
			reqs_.erase(reqs_.begin() + (long)k);
		}
		ForTile(p.slot, p.tile, [&](uint32_t *e, size_t i, size_t *) {
			*e = model_[i] = (uint32_t)rng_();
		});
		writes++;
	}
	static bool DmaError(int err)
	{
		return err == AML_ENOMEM || err == AML_FAILURE;
	}
	void Pull(bool async)
	{
		size_t tile = rng_() % aml_tiling_ntiles(&f_->tiling.base);
		unsigned kind = rng_() % 5;
		unsigned flags = kind == 0   ? AML_SCRATCHPAD_DIRTY
		                 : kind == 1 ? AML_SCRATCHPAD_OVERWRITE
		                             : 0;
		size_t slot = SIZE_MAX;
		struct aml_scratchpad_request *r = nullptr;
		int err = async ? aml_scratchpad_async_pull(sp_, tile, flags,
		                                            &slot, &r)
		                : aml_scratchpad_pull(sp_, tile, flags, &slot);
		if (err == AML_EBUSY || DmaError(err)) {
			lost_pulls += err != AML_EBUSY;
			return;
		}
		ASSERT_EQ(err, 0) << aml_errname(err);
		int id = next_pin_++;
		pins_[id] = Pin{slot, tile, false};
		bool overwrite = flags & AML_SCRATCHPAD_OVERWRITE;
		if (!async) {
			Arrived(id, overwrite);
			return;
		}
		if (!overwrite) {
			reqs_.push_back(Req{r, id, slot});
			return;
		}
		// Written as soon as it arrives: wait for it now.
		err = aml_scratchpad_wait(sp_, &r);
		if (err == 0)
			Arrived(id, true);
		else
			ASSERT_TRUE(DmaError(err)) << aml_errname(err);
	}
	bool Pushing(size_t slot)
	{
		for (const Req &q : reqs_)
			if (q.pin < 0 && q.slot == slot)
				return true;
		return false;
	}
	// Write a few elements of a pinned tile, then mark it dirty or push
	// it (synchronously or not): the caller's part of the contract.
	void Write()
	{
		std::vector<int> ok;
		for (auto &kv : pins_)
			if (kv.second.usable && !Pushing(kv.second.slot))
				ok.push_back(kv.first);
		if (ok.empty())
			return;
		Pin &p = pins_[ok[rng_() % ok.size()]];
		ForTile(p.slot, p.tile, [&](uint32_t *e, size_t i, size_t *) {
			if (rng_() % 8 == 0)
				*e = model_[i] = (uint32_t)rng_();
		});
		writes++;
		unsigned how = rng_() % 3;
		if (how == 0) {
			ASSERT_EQ(aml_scratchpad_mark_dirty(sp_, p.slot), 0);
			return;
		}
		if (how == 1) {
			int err = aml_scratchpad_push(sp_, p.slot);
			if (err == 0)
				CheckTile(p);
			else
				ASSERT_TRUE(DmaError(err)) << aml_errname(err);
			return;
		}
		struct aml_scratchpad_request *r = nullptr;
		int err = aml_scratchpad_async_push(sp_, p.slot, &r);
		if (err == 0)
			reqs_.push_back(Req{r, -1, p.slot});
		else
			ASSERT_TRUE(DmaError(err)) << aml_errname(err);
	}
	void Release()
	{
		if (pins_.empty())
			return;
		auto it = pins_.begin();
		std::advance(it, rng_() % pins_.size());
		ASSERT_EQ(aml_scratchpad_release(sp_, it->second.slot), 0);
		pins_.erase(it);
	}
	void WaitOne()
	{
		if (reqs_.empty())
			return;
		size_t k = rng_() % reqs_.size();
		Req q = reqs_[k];
		reqs_.erase(reqs_.begin() + (long)k);
		int err = aml_scratchpad_wait(sp_, &q.r);
		ASSERT_TRUE(err == 0 || DmaError(err)) << aml_errname(err);
		auto it = q.pin >= 0 ? pins_.find(q.pin) : pins_.end();
		if (err == 0 && it != pins_.end())
			Arrived(it->first, false);
	}
	void Flush()
	{
		int err = aml_scratchpad_flush(sp_);
		ASSERT_TRUE(err == 0 || DmaError(err)) << aml_errname(err);
	}

	Scratchpad *f_;
	struct aml_scratchpad *sp_;
	std::mt19937 rng_;
	std::vector<uint32_t> model_;
	std::map<int, Pin> pins_;
	std::vector<Req> reqs_;
	int next_pin_ = 0;
};

// Random pulls, writes, pushes, releases, waits and flushes over a dma that
// refuses a submission or fails a copy now and then: every pull that
// succeeds sees the latest writes, and whatever failed, what the caller
// wrote and then marked dirty or pushed is in the array after a flush.
TEST_F(Scratchpad, FailuresNeverLoseWhatTheCallerWrote)
{
	MakeArray({48, 40}, {16, 16}); // 3 x 3 tiles, the last column ragged
	const unsigned rates[][2] = {
	        {0, 0}, {10, 10}, {30, 30}, {0, 40}, {40, 0}};
	for (unsigned seed = 1; seed <= 8; seed++) {
		FailingDma fdma(dma, seed);
		AML_SCRATCHPAD_DECL(sp);
		ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base, &fast.base,
		                              &fdma.base, 3),
		          0);
		ModelCaller caller(this, &sp, seed);
		std::mt19937 rng(seed);
		for (int step = 0; step < 3000; step++) {
			if (step % 50 == 0) {
				const unsigned *r = rates[rng() % 5];
				fdma.Fail(r[0], r[1]);
			}
			caller.Step();
			if (HasFatalFailure())
				return;
		}
		caller.Drain();
		fdma.Fail(0, 0);
		ASSERT_EQ(aml_scratchpad_flush(&sp), 0);
		caller.CheckArray();
		aml_scratchpad_fini(&sp);
		caller.CheckArray();
		EXPECT_EQ(fdma.InFlight(), 0u);
		EXPECT_GT(fdma.Refused(), 0u);
		EXPECT_GT(fdma.Failed(), 0u);
		EXPECT_GT(caller.writes, 100u);
		if (HasFatalFailure())
			return;
		// Restore the array for the next seed.
		ForEachCoord(dims, [&](const size_t *c) {
			*At(c) = Mark(c, dims.size());
		});
	}
}

// An asynchronous pull needs memory for its request handle, a hit's too
// (its handle is checked when waited): AML_ENOMEM then changes nothing. No
// pin is taken, no counter moves, the slots hold the tiles they held, and
// the pull succeeds once retried. Each run makes a new scratchpad, whose
// first request grows its pool of handles.
TEST_F(Scratchpad, AnAsyncPullWithoutMemoryChangesNothing)
{
	MakeArray({256}, {32}); // 8 tiles
	struct Case {
		const char *what;
		size_t tile;
		unsigned flags;
	} cases[] = {
	        {"hit", 1, 0},
	        {"hit, dirty", 1, AML_SCRATCHPAD_DIRTY},
	        {"miss", 4, 0},
	        {"miss, overwrite", 4, AML_SCRATCHPAD_OVERWRITE},
	};
	for (const Case &c : cases) {
		SCOPED_TRACE(c.what);
		unsigned long runs = ForEachFault([&](FaultRun &run) {
			AML_SCRATCHPAD_DECL(sp);
			ASSERT_EQ(aml_scratchpad_init(&sp, &tiling.base,
			                              &fast.base, dma, 2),
			          0);
			size_t cached;
			ASSERT_EQ(aml_scratchpad_pull(&sp, 1, 0, &cached), 0);
			ASSERT_EQ(aml_scratchpad_release(&sp, cached), 0);
			struct aml_scratchpad_stats before = Stats(&sp);
			size_t slot = 99;
			struct aml_scratchpad_request *r = nullptr;
			bool injected = false;
			int err = run.Raw(
			        [&] {
				        return aml_scratchpad_async_pull(
				                &sp, c.tile, c.flags, &slot,
				                &r);
			        },
			        &injected);
			if (err != 0) {
				EXPECT_TRUE(injected);
				EXPECT_EQ(err, AML_ENOMEM) << aml_errname(err);
				EXPECT_EQ(slot, 99u);
				EXPECT_EQ(r, nullptr);
				struct aml_scratchpad_stats after = Stats(&sp);
				EXPECT_EQ(0, std::memcmp(&before, &after,
				                         sizeof(before)));
				// No pin on the cached tile's slot, which
				// keeps its tile; the other slot is still
				// empty.
				EXPECT_EQ(aml_scratchpad_release(&sp, cached),
				          AML_EPERM);
				size_t held = 99;
				EXPECT_EQ(aml_scratchpad_slot_tile(&sp, cached,
				                                   &held),
				          0);
				EXPECT_EQ(held, 1u);
				EXPECT_EQ(aml_scratchpad_slot_tile(
				                  &sp, 1 - cached, &held),
				          AML_EINVAL);
				ASSERT_EQ(aml_scratchpad_async_pull(&sp, c.tile,
				                                    c.flags,
				                                    &slot, &r),
				          0);
			}
			EXPECT_EQ(aml_scratchpad_wait(&sp, &r), 0);
			if (!(c.flags & AML_SCRATCHPAD_OVERWRITE))
				CheckSlot(&sp, slot, c.tile);
			EXPECT_EQ(aml_scratchpad_release(&sp, slot), 0);
			EXPECT_EQ(aml_scratchpad_release(&sp, slot), AML_EPERM);
			aml_scratchpad_fini(&sp);
		});
		EXPECT_GT(runs, 0u);
	}
}

} // namespace
