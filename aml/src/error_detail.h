/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recording the detail of an error (aml_error_detail() in <aml/error.h>):
 * for the code that returns one and knows why.
 */
#ifndef AML_SRC_ERROR_DETAIL_H
#define AML_SRC_ERROR_DETAIL_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Record the detail of @p code, formatted as printf does (truncated to
 * AML_ERROR_DETAIL_MAX - 1 bytes), as the calling thread's
 * aml_error_detail(), and return @p code:
 * `return aml_error_explain(AML_ENOMEM, "BIND of %zu bytes ...", size);`.
 */
int aml_error_explain(int code, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
