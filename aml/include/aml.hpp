// SPDX-License-Identifier: BSD-3-Clause
/**
 * @file aml.hpp
 * C++17 owners of aml's objects and allocators for the standard containers.
 *
 * Each owner holds one object made by the C API's _create function and
 * destroys it in its destructor. Owners move and never copy. A constructor
 * that cannot make its object throws aml::error, which carries the AML_E*
 * code; nothing else here throws, but the allocators' std::bad_alloc.
 * Every owner gives the C handle back through get(), for the aml_X_verb()
 * calls.
 *
 * Thread-safety is the C objects': see each C header.
 *
 * @code
 * std::vector<double, aml::fast_allocator<double>> v(n); // nearest HBM
 * aml::area hbm(topology, {mcdram}, AML_POLICY_BIND);
 * aml::arena a = aml::arena::scalable(hbm);
 * aml::dma copier = aml::dma::par(topology);
 * @endcode
 */
#ifndef AML_HPP
#define AML_HPP

#include <cstddef>
#include <initializer_list>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena/scalable.h>
#include <aml/dma/multiplex.h>
#include <aml/dma/par.h>
#include <aml/dma/seq.h>
#include <aml/fast.h>

namespace aml
{

/** What an owner's constructor throws: the AML_E* code and its text. */
class error : public std::runtime_error
{
      public:
	/** @param what_failed the call; @param code its AML_E* code. */
	error(const char *what_failed, int code)
	    : std::runtime_error(std::string(what_failed) + ": " +
	                         aml_strerror(code)),
	      code_(code)
	{
	}
	/** The AML_E* code. */
	int code() const noexcept
	{
		return code_;
	}

      private:
	int code_;
};

namespace detail
{

// One owned C object: T*, released by the _destroy function it was made
// for (an arena or an engine has one per kind).
template <class T> class owner
{
      public:
	owner() noexcept = default;
	owner(T *p, void (*destroy)(T **)) noexcept : p_(p), destroy_(destroy)
	{
	}
	owner(owner &&o) noexcept
	    : p_(std::exchange(o.p_, nullptr)), destroy_(o.destroy_)
	{
	}
	owner &operator=(owner &&o) noexcept
	{
		if (this != &o) {
			reset();
			p_ = std::exchange(o.p_, nullptr);
			destroy_ = o.destroy_;
		}
		return *this;
	}
	owner(const owner &) = delete;
	owner &operator=(const owner &) = delete;
	~owner()
	{
		reset();
	}
	/** The C handle, for the aml_X_verb() calls. */
	T *get() const noexcept
	{
		return p_;
	}
	/** Whether it owns an object (not moved from). */
	explicit operator bool() const noexcept
	{
		return p_ != nullptr;
	}

      private:
	void reset() noexcept
	{
		if (p_ != nullptr)
			destroy_(&p_);
	}
	T *p_ = nullptr;
	void (*destroy_)(T **) = nullptr;
};

inline void check(const char *what, int code)
{
	if (code != 0)
		throw error(what, code);
}

} // namespace detail

/** A device area (aml/area/device.h), owned. */
class area : public detail::owner<struct aml_area>
{
      public:
	/** aml_area_device_create() over @p devices of @p topology.
	 * @throws aml::error with its code. */
	area(const struct aml_topology *topology,
	     std::initializer_list<const struct aml_device *> devices,
	     enum aml_policy policy,
	     const std::vector<unsigned> &weights = {})
	    : owner(make(topology,
	                 std::vector<const struct aml_device *>(devices),
	                 policy,
	                 weights),
	            aml_area_device_destroy)
	{
	}

      private:
	static struct aml_area *
	make(const struct aml_topology *topology,
	     const std::vector<const struct aml_device *> &devices,
	     enum aml_policy policy,
	     const std::vector<unsigned> &weights)
	{
		struct aml_area *out = nullptr;
		detail::check(
		        "aml_area_device_create",
		        aml_area_device_create(
		                &out, topology, devices.data(), devices.size(),
		                policy,
		                weights.empty() ? nullptr : weights.data()));
		return out;
	}
};

/** An arena, owned: the scalable one or the thread-safe default. */
class arena : public detail::owner<struct aml_arena>
{
      public:
	/** aml_arena_scalable_create() over @p over, which must outlive
	 * the arena. @throws aml::error with its code. */
	static arena scalable(const area &over)
	{
		struct aml_arena *out = nullptr;
		detail::check("aml_arena_scalable_create",
		              aml_arena_scalable_create(&out, over.get()));
		return arena(out, aml_arena_scalable_destroy);
	}
	/** aml_arena_thread_safe_create() over @p over, which must outlive
	 * the arena. @throws aml::error with its code. */
	static arena thread_safe(const area &over)
	{
		struct aml_arena *out = nullptr;
		detail::check("aml_arena_thread_safe_create",
		              aml_arena_thread_safe_create(&out, over.get()));
		return arena(out, aml_arena_thread_safe_destroy);
	}

      private:
	using owner::owner;
};

/** A dma engine, owned: sequential, parallel or multiplex. */
class dma : public detail::owner<struct aml_dma>
{
      public:
	/** aml_dma_seq_create(). @throws aml::error with its code. */
	static dma seq(const struct aml_topology *topology)
	{
		struct aml_dma *out = nullptr;
		detail::check("aml_dma_seq_create",
		              aml_dma_seq_create(&out, topology));
		return dma(out, aml_dma_seq_destroy);
	}
	/** aml_dma_par_create(); @p options NULL for the defaults.
	 * @throws aml::error with its code. */
	static dma par(const struct aml_topology *topology,
	               const struct aml_dma_par_options *options = nullptr)
	{
		struct aml_dma *out = nullptr;
		detail::check("aml_dma_par_create",
		              aml_dma_par_create(&out, topology, options));
		return dma(out, aml_dma_par_destroy);
	}
	/** aml_dma_multiplex_create() over @p engines (they stay the
	 * caller's and must outlive it); @p weights empty for equal shares,
	 * else one per engine. @throws aml::error with its code. */
	static dma multiplex(const std::vector<const dma *> &engines,
	                     const std::vector<unsigned> &weights = {})
	{
		std::vector<struct aml_dma *> raw;
		for (const dma *e : engines)
			raw.push_back(e != nullptr ? e->get() : nullptr);
		if (!weights.empty() && weights.size() != raw.size())
			throw error("aml_dma_multiplex_create", AML_EINVAL);
		struct aml_dma *out = nullptr;
		detail::check("aml_dma_multiplex_create",
		              aml_dma_multiplex_create(&out, raw.data(),
		                                       weights.empty()
		                                               ? nullptr
		                                               : weights.data(),
		                                       raw.size()));
		return dma(out, aml_dma_multiplex_destroy);
	}
	/** aml_dma_copy_bytes(): copy and wait. @return 0 or AML_E*. */
	int copy(void *dst, const void *src, std::size_t size) const noexcept
	{
		return aml_dma_copy_bytes(get(), dst, src, size);
	}

      private:
	using owner::owner;
};

/** Fast memory over one topology (aml/fast.h), owned. */
class fast_memory : public detail::owner<struct aml_fast_memory>
{
      public:
	/** aml_fast_memory_create(). @throws aml::error with its code. */
	explicit fast_memory(const struct aml_topology *topology,
	                     enum aml_fast_policy policy = AML_FAST_PREFERRED)
	    : owner(make(topology, policy), aml_fast_memory_destroy)
	{
	}

      private:
	static struct aml_fast_memory *make(const struct aml_topology *t,
	                                    enum aml_fast_policy policy)
	{
		struct aml_fast_memory *out = nullptr;
		struct aml_fast_options o = {};
		o.policy = policy;
		detail::check("aml_fast_memory_create",
		              aml_fast_memory_create(&out, t, &o));
		return out;
	}
};

/**
 * A standard allocator over the one-call fast memory (aml_fast_malloc()):
 * `std::vector<double, aml::fast_allocator<double>>` keeps its elements in
 * the HBM nearest the CPU that allocates. Stateless: every instance frees
 * what any other allocated. allocate() throws std::bad_alloc when fast
 * memory is exhausted or missing under a policy that needs it
 * (aml_fast_available() says why).
 */
template <class T> struct fast_allocator {
	/** The element type. */
	using value_type = T;
	fast_allocator() noexcept = default;
	/** Rebinding copy. */
	template <class U> fast_allocator(const fast_allocator<U> &) noexcept
	{
	}
	/** @p n objects' worth of fast memory, aligned for T. */
	T *allocate(std::size_t n)
	{
		if (n > std::numeric_limits<std::size_t>::max() / sizeof(T))
			throw std::bad_alloc();
		void *p = nullptr;
		if (alignof(T) <= AML_ARENA_ALIGNMENT)
			p = aml_fast_malloc(n * sizeof(T));
		else if (aml_fast_posix_memalign(&p, alignof(T),
		                                 n * sizeof(T)) != 0)
			p = nullptr;
		if (p == nullptr)
			throw std::bad_alloc();
		return static_cast<T *>(p);
	}
	/** Give back what allocate() returned. */
	void deallocate(T *p, std::size_t) noexcept
	{
		aml_fast_free(p);
	}
};

/** Every fast_allocator frees what any other allocated. */
template <class T, class U>
bool operator==(const fast_allocator<T> &, const fast_allocator<U> &) noexcept
{
	return true;
}

/** See operator==. */
template <class T, class U>
bool operator!=(const fast_allocator<T> &, const fast_allocator<U> &) noexcept
{
	return false;
}

} // namespace aml

#endif // AML_HPP
