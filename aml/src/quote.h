/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: how aml's messages show a user's text (environment variables,
 * emulator specs and their paths, hwloc XML): one printable line whatever
 * the text holds. Printable ASCII stays as it is; every other byte, and
 * the backslash that starts an escape, appears as \xNN, so the line is
 * never ambiguous and no byte reaches a terminal as a control.
 */
#ifndef AML_SRC_QUOTE_H
#define AML_SRC_QUOTE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Room for @p max bytes quoted: each may become \xNN; then the two
 * quotes, "..." and the NUL. */
#define AML_QUOTE_SIZE(max) (4 * (size_t)(max) + 6)

/** Bytes of an environment variable's value that a message shows. */
#define AML_ENV_QUOTE_MAX 64
/** Room for a quoted value of a variable. */
#define AML_ENV_QUOTE_SIZE AML_QUOTE_SIZE(AML_ENV_QUOTE_MAX)

/**
 * Write the first @p len bytes of @p s into @p buf (@p size bytes, at
 * least 1), escaped as above, and NUL-terminate it. Stops before a byte
 * whose escape does not fit.
 * @return how many bytes of @p s were written.
 */
size_t aml_escape(char *buf, size_t size, const char *s, size_t len);

/**
 * The first @p len bytes of @p s in double quotes, escaped as above ('"'
 * too), into @p buf of @p size bytes (at least AML_QUOTE_SIZE(0)). At most
 * @p max bytes of @p s are shown, fewer if @p buf is full first; a cut is
 * marked with "..." inside the quotes.
 * @return @p buf.
 */
const char *
aml_quote(char *buf, size_t size, const char *s, size_t len, size_t max);

/**
 * @p value, the value of an environment variable, as aml_quote() shows it,
 * cut to AML_ENV_QUOTE_MAX bytes.
 * @param[out] buf AML_ENV_QUOTE_SIZE bytes.
 * @return @p buf.
 */
const char *aml_env_quote(char *buf, const char *value);

#ifdef __cplusplus
}
#endif

#endif /* AML_SRC_QUOTE_H */
