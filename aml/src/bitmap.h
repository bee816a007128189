/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: bitmap operations the library needs and the public API does
 * not offer (<aml/bitmap.h>). Implemented in bitmap.c, beside the words
 * they read.
 */
#ifndef AML_SRC_BITMAP_H
#define AML_SRC_BITMAP_H

#include <aml/bitmap.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The number of indices in both @p a and @p b: aml_bitmap_count() of
 * their aml_bitmap_and(), without the intermediate set. Neither may be
 * NULL. Rankings take it for every initiator of every device, whose sets
 * are mostly empty words, so a word is counted only when it shares some
 * (a popcount is a library call on x86-64 without -mpopcnt).
 */
int aml_bitmap_shared(const struct aml_bitmap *a, const struct aml_bitmap *b);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_BITMAP_H */
