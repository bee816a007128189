/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file version.h
 * Version of aml, at compile time and at run time, and the check between them.
 *
 * aml follows semantic versioning, MAJOR.MINOR.PATCH. The macros give the
 * version of the headers a program was compiled against; the functions give
 * the version of the library it runs with. A program calls
 * AML_VERSION_CHECK() once at start to learn whether the two are compatible:
 * - the majors must be equal;
 * - with major 0 (unstable API) the minors must be equal too;
 * - from 1.0 on, the library's minor must be at least the headers' minor
 *   (newer minors only add API);
 * - the patch level never matters.
 */
#ifndef AML_VERSION_H
#define AML_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of the headers: incompatible API changes. */
#define AML_VERSION_MAJOR 0
/** Minor version of the headers: API additions (any change while major is 0).
 */
#define AML_VERSION_MINOR 16
/** Patch version of the headers: fixes that keep the API. */
#define AML_VERSION_PATCH 0

#define AML_VERSION_STR_(x)  #x
#define AML_VERSION_XSTR_(x) AML_VERSION_STR_(x)
/** "MAJOR.MINOR.PATCH" of the headers, built from the three macros above. */
#define AML_VERSION_STRING                                                     \
	AML_VERSION_XSTR_(AML_VERSION_MAJOR)                                   \
	"." AML_VERSION_XSTR_(AML_VERSION_MINOR) "." AML_VERSION_XSTR_(        \
	        AML_VERSION_PATCH)

/** Major version of the library this program runs with. */
int aml_version_major(void);
/** Minor version of the library this program runs with. */
int aml_version_minor(void);
/** Patch version of the library this program runs with. */
int aml_version_patch(void);
/**
 * "MAJOR.MINOR.PATCH" of the library this program runs with.
 * @return a static string, never NULL.
 */
const char *aml_version_string(void);

/**
 * Check that the library can serve a program built against headers of
 * version @p major.@p minor.@p patch (see the rules in this file's summary).
 * Usually called as AML_VERSION_CHECK().
 * @return 0 when compatible;
 *         AML_EINVAL when a component is negative;
 *         AML_ENOTSUP when the library cannot serve that version.
 * @note Thread-safe; changes nothing.
 */
int aml_version_check(int major, int minor, int patch);

/** Check the running library against the headers this code was built with. */
#define AML_VERSION_CHECK()                                                    \
	aml_version_check(AML_VERSION_MAJOR, AML_VERSION_MINOR,                \
	                  AML_VERSION_PATCH)

#ifdef __cplusplus
}
#endif

#endif /* AML_VERSION_H */
