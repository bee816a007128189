/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading the file a user names, whatever it is, within
 * AML_TOPOLOGY_XML_MAX bytes.
 *
 * The file is opened non-blocking, so that a FIFO nobody writes to reads as
 * empty instead of blocking open() for ever; reads then block as usual, so
 * a pipe with a writer (AML_TOPOLOGY_XML=<(lstopo --of xml)) works. A device
 * that never ends (/dev/zero) stops at the size limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aml/error.h>

#include "aml/src/os.h"
#include "aml/src/topology_xml/topology_xml.h"

static int refuse(struct aml_topology_xml_error *error, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int refuse(struct aml_topology_xml_error *error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error->reason, sizeof(error->reason), fmt, ap);
	va_end(ap);
	error->line = 0;
	return AML_EINVAL;
}

static int read_all(int fd,
                    size_t hint,
                    char **text,
                    size_t *size,
                    struct aml_topology_xml_error *error)
{
	size_t cap = hint > 0 ? hint + 1 : 65536, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		return AML_ENOMEM;
	for (;;) {
		if (len == cap) {
			size_t grown = 2 * cap;
			if (grown > AML_TOPOLOGY_XML_MAX + 1)
				grown = AML_TOPOLOGY_XML_MAX + 1;
			char *more = realloc(buf, grown);
			if (more == NULL) {
				free(buf);
				return AML_ENOMEM;
			}
			buf = more;
			cap = grown;
		}
		ssize_t got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			char msg[64];
			int err = refuse(error, "cannot read the file: %s",
			                 strerror_r(errno, msg, sizeof(msg)));
			free(buf);
			return err;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > AML_TOPOLOGY_XML_MAX) {
			free(buf);
			return refuse(error,
			              "the file is larger than %zu bytes",
			              AML_TOPOLOGY_XML_MAX);
		}
	}
	if (len == 0) {
		free(buf);
		return refuse(error, "the file is empty");
	}
	*text = buf;
	*size = len;
	return 0;
}

int aml_topology_xml_read(const char *path,
                          char **text,
                          size_t *size,
                          struct aml_topology_xml_error *error)
{
	*text = NULL;
	*size = 0;
	char msg[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	/* Out of memory or descriptors, the file is not at fault: the
	 * caller may try again (aml_topology_default() does). */
	if (fd < 0 && aml_os_open_error(errno, 0) == AML_ENOMEM)
		return AML_ENOMEM;
	if (fd < 0)
		return refuse(error, "cannot open the file: %s",
		              strerror_r(errno, msg, sizeof(msg)));
	struct stat st;
	int err = 0;
	int flags = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) != 0 || flags < 0 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
		err = refuse(error, "cannot read the file: %s",
		             strerror_r(errno, msg, sizeof(msg)));
	else if (S_ISDIR(st.st_mode))
		err = refuse(error, "a directory, not a file");
	else if (S_ISREG(st.st_mode) &&
	         (uintmax_t)st.st_size > AML_TOPOLOGY_XML_MAX)
		err = refuse(error, "the file is larger than %zu bytes",
		             AML_TOPOLOGY_XML_MAX);
	if (err == 0)
		err = read_all(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0,
		               text, size, error);
	close(fd);
	return err;
}
