/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file error.h
 * Error codes of aml.
 *
 * Every aml function that can fail returns 0 on success or one of the negative
 * AML_E* constants below. Functions that return a pointer return NULL instead
 * and store the same negative code in the calling thread's aml_errno. The
 * values are negative themselves: write `return AML_EINVAL;`, never
 * `return -AML_EINVAL;`.
 */
#ifndef AML_ERROR_H
#define AML_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The error table: X(name, value, message). One table gives the enum, the
 * names and the messages, so they cannot drift apart. The values -1 to -7 are
 * those of upstream AML's codes, negated.
 */
#define AML_ERROR_MAP(X)                                                       \
	X(FAILURE, -1, "generic failure")                                      \
	X(ENOMEM, -2, "not enough memory")                                     \
	X(EINVAL, -3, "invalid argument")                                      \
	X(EDOM, -4, "argument out of range")                                   \
	X(ENOTSUP, -5, "operation not supported")                              \
	X(EBUSY, -6, "resource busy")                                          \
	X(EPERM, -7, "operation not permitted")                                \
	X(ENODEV, -8, "no such device")                                        \
	X(ECANCELED, -9, "operation canceled")

/** Error codes: AML_SUCCESS (0) or a negative AML_E* value. */
enum aml_error {
	/** No error. */
	AML_SUCCESS = 0,
#define AML_ERROR_ENUMERATOR_(name, value, text) AML_##name = (value),
	AML_ERROR_MAP(AML_ERROR_ENUMERATOR_)
#undef AML_ERROR_ENUMERATOR_
};

/**
 * Human-readable message for an error code.
 * @param code 0 or an AML_E* value.
 * @return a static string, never NULL: "success" for 0, the code's message,
 *         or "unknown error" for any other value (including positive ones,
 *         which aml never returns).
 * @note Thread-safe; the string must not be freed.
 */
const char *aml_strerror(int code);

/**
 * Symbolic name of an error code, e.g. "AML_EINVAL".
 * @param code 0 or an AML_E* value.
 * @return a static string, never NULL: "AML_SUCCESS" for 0, the code's name,
 *         or "AML_UNKNOWN" for any other value.
 * @note Thread-safe; the string must not be freed.
 */
const char *aml_errname(int code);

/**
 * Address of the calling thread's aml_errno slot.
 * Use the aml_errno macro instead; this function exists so that the macro
 * works from C and C++ alike (the glibc errno pattern).
 * @return a pointer that stays valid for the lifetime of the calling thread.
 */
int *aml_errno_location(void);

/**
 * Last error of the calling thread, set by aml functions that return a
 * pointer (they return NULL and set aml_errno to a negative AML_E* code).
 * Thread-local; aml never resets it on success, so check the return value
 * first. Assignable: `aml_errno = 0;`.
 */
#define aml_errno (*aml_errno_location())

/**
 * The kernel's errno behind the calling thread's last AML_E* code that came
 * from a failed system call: an mmap, mbind, move_pages, munmap or madvise
 * of a backend, or an open of a file aml reads (sysfs, hwloc XML, emulator
 * specs). Several errno values map to one AML_E* code (AML_ENODEV is EINVAL
 * from mbind for a node that is offline or not allowed); this tells them
 * apart when a report needs it.
 *
 * Like aml_errno, thread-local and never reset: it changes only when aml
 * translates a failed system call, so read it right after a call that
 * returned an error, and only as a detail of that error (an error aml
 * decided by itself, as a map past a device's capacity, leaves it as it
 * was).
 * @return the errno value, or 0 if no system call failed in this thread.
 */
int aml_os_errno(void);

/** Longest error detail, with its NUL: 256 bytes. */
#define AML_ERROR_DETAIL_MAX 256

/**
 * What aml knew when it returned the calling thread's last explained error:
 * which device, what was asked, what was free, the system call and the
 * kernel's errno. For instance, "BIND of 1073741824 bytes on mcdram: its
 * capacity is 268435456 bytes", or "mbind on node 3: errno EINVAL
 * (Invalid argument)". Errors aml can explain are: maps past a device's
 * capacity or free memory (areas, aml_topology_map(), arenas that map
 * through them), refused system calls, no fast memory (aml/fast.h).
 *
 * Thread-local and never reset, as aml_errno: an error aml does not
 * explain leaves the previous detail. So the detail comes with the code it
 * explains: use it when that code is the error you got, right after the
 * call.
 * @param[out] buf NULL, or receives the detail (one printable line, at most
 *             @p size bytes with its NUL; "" when there is none).
 * @param size bytes available in @p buf.
 * @return the AML_E* code the detail explains; 0 if no error was explained
 *         in this thread.
 * @note Thread-safe: each thread has its own.
 */
int aml_error_detail(char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* AML_ERROR_H */
