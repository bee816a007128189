/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a file area asks the OS about its descriptor (file_os.h): opening,
 * making a memfd, telling a DAX device, and passing a descriptor over a
 * Unix socket. Kept apart from file.c so that the area itself is policy and
 * offsets only.
 */
#include "aml/src/area/file_os.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <aml/area/file.h>
#include <aml/error.h>

#include "aml/src/error_detail.h"
#include "aml/src/os.h"

/* /sys/dev/char/MAJ:MIN/<leaf> of a character device. */
static int
file_sysfs_path(const struct stat *st, const char *leaf, char *buf, size_t size)
{
	int n = snprintf(buf, size, "/sys/dev/char/%u:%u/%s",
	                 major(st->st_rdev), minor(st->st_rdev), leaf);
	return n > 0 && (size_t)n < size ? 0 : AML_EINVAL;
}

bool aml_file_is_dax(const struct stat *st)
{
	char path[PATH_MAX], link[PATH_MAX];
	if (!S_ISCHR(st->st_mode) ||
	    file_sysfs_path(st, "subsystem", path, sizeof(path)) != 0)
		return false;
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	const char *base = strrchr(link, '/');
	return strcmp(base != NULL ? base + 1 : link, "dax") == 0;
}

/* The number in sysfs file @p leaf of character device @p st into *out.
 * @return 0; AML_EINVAL with errno kept if the file cannot be read. */
static int
file_sysfs_number(const struct stat *st, const char *leaf, uint64_t *out)
{
	char path[PATH_MAX];
	unsigned long long n = 0;
	if (file_sysfs_path(st, leaf, path, sizeof(path)) != 0)
		return AML_EINVAL;
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return aml_os_error_in(path, errno, AML_EINVAL);
	int got = fscanf(f, "%llu", &n);
	fclose(f);
	if (got != 1)
		return aml_error_explain(AML_EINVAL, "%s: no number", path);
	*out = n;
	return 0;
}

int aml_file_size(int fd, bool dax, uint64_t *out)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return aml_os_error_in("fstat", errno, AML_EINVAL);
	if (!dax) {
		*out = st.st_size > 0 ? (uint64_t)st.st_size : 0;
		return 0;
	}
	/* A DAX device's st_size is 0: sysfs knows its size. */
	return file_sysfs_number(&st, "size", out);
}

/* A DAX device's mapping unit, 0 where sysfs does not say. A device's own
 * "align" came with Linux 5.10; before, its region's applied to every
 * device of the region. */
static uint64_t file_dax_align(const struct stat *st)
{
	uint64_t align = 0;
	if (file_sysfs_number(st, "align", &align) != 0 &&
	    file_sysfs_number(st, "device/dax_region/align", &align) != 0)
		align = 0;
	return align;
}

int aml_file_check_fd(int fd, bool shared, bool *dax, uint64_t *dax_align)
{
	struct stat st;
	if (fd < 0)
		return AML_EINVAL;
	if (fstat(fd, &st) != 0)
		return aml_os_error_in("fstat", errno, AML_EINVAL);
	*dax = aml_file_is_dax(&st);
	if (!S_ISREG(st.st_mode) && !*dax)
		return aml_error_explain(AML_EINVAL,
		                         "descriptor %d is neither a regular "
		                         "file nor a DAX device",
		                         fd);
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return aml_os_error_in("fcntl", errno, AML_EINVAL);
	int mode = flags & O_ACCMODE;
	if (mode == O_WRONLY || (shared && mode != O_RDWR))
		return aml_error_explain(
		        AML_EPERM, "descriptor %d is not open for %s", fd,
		        shared ? "reading and writing" : "reading");
	*dax_align = *dax ? file_dax_align(&st) : 0;
	return 0;
}

int aml_file_open(const char *path, bool shared, int *out)
{
	int fd = open(path, (shared ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return aml_os_error_in(path, errno,
		                       errno == EACCES || errno == EPERM ||
		                                       errno == EROFS
		                               ? AML_EPERM
		                               : AML_EINVAL);
	*out = fd;
	return 0;
}

int aml_file_memfd(const char *name, uint64_t size, int *out)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return aml_os_error_in("memfd_create", errno,
		                       errno == EINVAL ? AML_EINVAL
		                                       : AML_ENOMEM);
	if (ftruncate(fd, (off_t)size) != 0) {
		int err = errno;
		close(fd);
		return aml_os_error_in("ftruncate", err,
		                       err == EINVAL || err == EFBIG
		                               ? AML_EINVAL
		                               : AML_ENOMEM);
	}
	*out = fd;
	return 0;
}

int aml_area_file_send_fd(int sock, int fd)
{
	if (sock < 0 || fd < 0)
		return AML_EINVAL;
	char byte = 'f';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	memset(&control, 0, sizeof(control));
	struct msghdr msg = {
	        .msg_iov = &iov,
	        .msg_iovlen = 1,
	        .msg_control = control.buf,
	        .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		return 0;
	return aml_os_error_in("sendmsg", errno,
	                       errno == ENOTSOCK || errno == EBADF ||
	                                       errno == EOPNOTSUPP ||
	                                       errno == EINVAL
	                               ? AML_EINVAL
	                               : AML_FAILURE);
}

int aml_area_file_recv_fd(int sock, int *out)
{
	if (sock < 0 || out == NULL)
		return AML_EINVAL;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg = {
	        .msg_iov = &iov,
	        .msg_iovlen = 1,
	        .msg_control = control.buf,
	        .msg_controllen = sizeof(control.buf),
	};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return aml_os_error_in("recvmsg", errno,
		                       errno == ENOTSOCK || errno == EBADF
		                               ? AML_EINVAL
		                               : AML_FAILURE);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (n == 0 || c == NULL || c->cmsg_level != SOL_SOCKET ||
	    c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return aml_error_explain(
		        AML_FAILURE, "no descriptor came over socket %d", sock);
	memcpy(out, CMSG_DATA(c), sizeof(int));
	return 0;
}
