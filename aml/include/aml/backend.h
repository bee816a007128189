/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file backend.h
 * Which backends this build of aml has, asked at run time.
 *
 * The API of aml is the same whether or not a backend's library was found at
 * build time; a backend that was left out answers AML_ENOTSUP. The same facts
 * are available at compile time as the AML_HAVE_* macros of
 * <aml/build_config.h>.
 */
#ifndef AML_BACKEND_H
#define AML_BACKEND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The backends aml knows about. */
enum aml_backend {
	/** libnuma: mbind, move_pages. Always built. */
	AML_BACKEND_NUMA,
	/** hwloc: topology discovery and memory attributes. Optional. */
	AML_BACKEND_HWLOC,
	/** memkind: high-bandwidth memory kinds. Optional. */
	AML_BACKEND_MEMKIND,
	/** aml's emulator of memory tiers (<aml/emulator.h>): the devices
	 * of an emulated topology. Always built. */
	AML_BACKEND_EMULATOR,
	/** Number of backends; not a backend. */
	AML_BACKEND_COUNT
};

/** A buffer of this many bytes holds any aml_backend_describe() line. */
#define AML_BACKEND_DESCRIBE_MAX 256

/**
 * Name of a backend: "numa", "hwloc", "memkind" or "emulator".
 * @return a static string; NULL with aml_errno = AML_EINVAL if @p backend is
 *         not an enum aml_backend value.
 */
const char *aml_backend_name(enum aml_backend backend);

/**
 * Was @p backend compiled into this build?
 * @return 1 if it was, 0 if not, AML_EINVAL if @p backend is out of range.
 */
int aml_backend_is_built(enum aml_backend backend);

/**
 * One line about the backend's library as loaded in this process: its
 * version and what it sees (for example how many NUMA nodes libnuma reports,
 * or whether memkind finds high-bandwidth memory).
 *
 * @param backend the backend.
 * @param[out] buf receives the NUL-terminated line; untouched on error.
 * @param[in] size bytes available in @p buf; AML_BACKEND_DESCRIBE_MAX suffices.
 * @return the length of the line, NUL excluded; AML_EINVAL if @p backend is
 *         out of range or @p buf is NULL; AML_EDOM if @p size is too small;
 *         AML_ENOTSUP if the backend was not built.
 * @note Thread-safe.
 */
int aml_backend_describe(enum aml_backend backend, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* AML_BACKEND_H */
