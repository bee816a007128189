/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the compatibility rule of aml_version_check(), separated from the
 * library's own version so that tests can exercise it for any pair of
 * versions (major 0 and major >= 1).
 */
#ifndef AML_SRC_VERSION_H
#define AML_SRC_VERSION_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Can a library of version @p lib_major.@p lib_minor serve a program built
 * against @p major.@p minor? All arguments are non-negative.
 */
bool aml_version_is_compatible(int lib_major,
                               int lib_minor,
                               int major,
                               int minor);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_VERSION_H */
