/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private: the system calls of file areas (aml/area/file.h), file_os.c.
 * Each returns 0 or an AML_E* code with the detail explained, and leaves
 * nothing open on error.
 */
#ifndef AML_SRC_AREA_FILE_OS_H
#define AML_SRC_AREA_FILE_OS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/** Whether @p st is a device-DAX character device (/sys/dev/char/M:m's
 * subsystem is "dax"). */
bool aml_file_is_dax(const struct stat *st);

/** Bytes of @p fd: st_size, or a DAX device's size from sysfs. */
int aml_file_size(int fd, bool dax, uint64_t *out);

/** @p fd is open on a regular file or a DAX device (into *dax), readable,
 * and writable if @p shared: else AML_EINVAL, or AML_EPERM for the mode.
 * On success *dax_align is a DAX device's mapping unit (sysfs "align", or
 * its region's on kernels before 5.10); 0 for a file or when sysfs does not
 * say. One fstat for both. */
int aml_file_check_fd(int fd, bool shared, bool *dax, uint64_t *dax_align);

/** Open the existing @p path, read-write if @p shared, else read-only. */
int aml_file_open(const char *path, bool shared, int *out);

/** A close-on-exec memfd named @p name, of @p size bytes. */
int aml_file_memfd(const char *name, uint64_t size, int *out);

#endif /* AML_SRC_AREA_FILE_OS_H */
