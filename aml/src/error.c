/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error codes: messages and names from the one table in <aml/error.h>, the
 * thread-local aml_errno slot, and the thread-local detail of the last
 * explained error.
 */
#include <stdarg.h>
#include <stdio.h>

#include <aml/error.h>

#include "aml/src/error_detail.h"

/* _Thread_local keeps aml_errno per thread without any locking; it lives here,
 * behind a function, because C++ cannot name a _Thread_local in a header. */
static _Thread_local int error_slot;

int *aml_errno_location(void)
{
	return &error_slot;
}

const char *aml_strerror(int code)
{
	switch (code) {
	case AML_SUCCESS:
		return "success";
#define AML_ERROR_MESSAGE_(name, value, text)                                  \
	case AML_##name:                                                       \
		return text;
		AML_ERROR_MAP(AML_ERROR_MESSAGE_)
#undef AML_ERROR_MESSAGE_
	default:
		return "unknown error";
	}
}

const char *aml_errname(int code)
{
	switch (code) {
	case AML_SUCCESS:
		return "AML_SUCCESS";
#define AML_ERROR_NAME_(name, value, text)                                     \
	case AML_##name:                                                       \
		return "AML_" #name;
		AML_ERROR_MAP(AML_ERROR_NAME_)
#undef AML_ERROR_NAME_
	default:
		return "AML_UNKNOWN";
	}
}

/* The calling thread's last explained error (aml_error_detail()). */
static _Thread_local struct {
	int code;
	char text[AML_ERROR_DETAIL_MAX];
} detail;

int aml_error_explain(int code, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	vsnprintf(detail.text, sizeof(detail.text), format, ap);
	va_end(ap);
	detail.code = code;
	return code;
}

int aml_error_detail(char *buf, size_t size)
{
	if (buf != NULL && size > 0)
		snprintf(buf, size, "%s", detail.code != 0 ? detail.text : "");
	return detail.code;
}
