// SPDX-License-Identifier: BSD-3-Clause
// A buddy arena behind a locked arena, made and unmade in one call each, as
// the arena tests' tables of kinds need: the two structs live in one block
// of the heap that the locked arena's data points into.
#ifndef AML_TESTS_TESTING_LOCKED_BUDDY_H
#define AML_TESTS_TESTING_LOCKED_BUDDY_H

#include <cstdlib>

#include <aml.h>
#include <aml/arena/buddy.h>
#include <aml/arena/locked.h>

namespace aml_testing
{

struct LockedBuddy {
	AML_ARENA_LOCKED_DECL(locked);
	AML_ARENA_BUDDY_DECL(buddy);
};

// 0 and *out set, or AML_ENOMEM or the inits' error with nothing kept.
inline int LockedBuddyCreate(struct aml_arena **out, const struct aml_area *a)
{
	auto *s = static_cast<LockedBuddy *>(std::malloc(sizeof(LockedBuddy)));
	if (s == nullptr)
		return AML_ENOMEM;
	int err = aml_arena_buddy_init(&s->buddy, a, 0);
	if (err == 0) {
		err = aml_arena_locked_init(&s->locked, &s->buddy.base);
		if (err != 0)
			aml_arena_buddy_fini(&s->buddy);
	}
	if (err != 0) {
		std::free(s);
		return err;
	}
	*out = &s->locked.base;
	return 0;
}

inline void LockedBuddyDestroy(struct aml_arena **a)
{
	auto *s = reinterpret_cast<LockedBuddy *>((*a)->data);
	aml_arena_locked_fini(&s->locked);
	aml_arena_buddy_fini(&s->buddy);
	std::free(s);
	*a = nullptr;
}

} // namespace aml_testing

#endif // AML_TESTS_TESTING_LOCKED_BUDDY_H
