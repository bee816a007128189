/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file file.h
 * An area over a file: mappings backed by a caller's file descriptor, an
 * anonymous memfd the area creates, or a path it opens (a regular file or a
 * device-DAX character device, /dev/daxX.Y), private (MAP_PRIVATE) or
 * shared (MAP_SHARED), under the policies of the device area
 * (aml/area/device.h), which mbind applies to each mapping.
 *
 * What the kernel honours of the policy, by backing:
 * - memfd (and any shmem/tmpfs file): the policy is the shared object's
 *   (shmem's shared policy): pages of the range are placed by it whichever
 *   process first touches them, private or shared, and a later mbind of the
 *   same range, in any process, replaces it (area_file_test reads it back
 *   from /proc/self/numa_maps through a plain mapping of the range).
 * - regular file on a disk file system: the page cache is the kernel's; a
 *   page read in is placed by the policy of the task that faults it, not by
 *   the mapping's. Only the pages a MAP_PRIVATE mapping copies on write
 *   (anonymous memory) follow the area's policy.
 * - device DAX: the device is the memory; no policy moves it. A DAX area
 *   takes AML_POLICY_LOCAL only (AML_EINVAL otherwise) and is shared only.
 *   The device maps in its own unit, its sysfs "align" (often 2 MiB): pass
 *   it as the map's alignment, and sizes and offsets in its multiples, or
 *   the map is AML_EINVAL (aml checks sizes and offsets: Linux would map
 *   an offset off the unit from the unit it falls in, other bytes). An
 *   unmap, too, takes whole units (AML_EINVAL otherwise, nothing
 *   released). Tested
 *   on an emulated NVDIMM in the 3-node guest (tests/vm/numa3_dax_test).
 *
 * Offsets: each aml_area_mmap() takes the next range of the file from the
 * area's cursor (page-aligned, never reused: the file space of an unmapped
 * range is given back when the file is, at the area's fini for a memfd);
 * aml_area_file_mmap() says which offset it took, and
 * aml_area_file_mmap_at() maps a given one, e.g. what another process
 * mapped. A range beyond the end of the file is AML_EINVAL for a caller's
 * fd or a path (nothing mapped; the area never grows a file it does not
 * own), AML_ENOMEM for a memfd (its capacity, fixed at init, is full). A
 * memfd is sized to its capacity at init; tmpfs gives it memory only as
 * pages are touched.
 *
 * Sharing: the descriptor of a shared area (aml_area_file_fd()) can be sent
 * to another process with aml_area_file_send_fd() and received with
 * aml_area_file_recv_fd(), over a Unix socket (SCM_RIGHTS); the receiver
 * makes an AML_AREA_FILE_FD area over it and maps the same offsets with
 * aml_area_file_mmap_at(). A memfd area writes its policy (policy, NUMA
 * nodes, weights) in the file's first page, which no map hands out; an
 * area over a descriptor that starts with such a page checks it: another
 * policy is AML_EBUSY at init (the shared object can have one policy per
 * range, and the last mbind would silently win). Over any other file the
 * policies of the processes cannot be compared: each process's mbind
 * applies to its own mapping (shmem: to the object, the last one winning).
 *
 * Page kinds: base pages and transparent huge pages (a hint for files);
 * the hugetlb kinds are AML_ENOTSUP (hugetlbfs files are not supported).
 * Maps need a topology that maps files: the emulator's devices map
 * anonymous memory only, so a file area over an emulated topology
 * initialises but its maps are AML_ENOTSUP.
 *
 * Thread-safety: maps and unmaps are thread-safe (the cursor is atomic);
 * init, fini, create and destroy are not, as for every area.
 */
#ifndef AML_AREA_FILE_H
#define AML_AREA_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aml/area.h>
#include <aml/area/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What backs a file area. */
enum aml_area_file_kind {
	/** The caller's open descriptor (struct aml_area_file_source fd),
	 * which the area uses and never closes: the caller closes it after
	 * the area's fini. A regular file, a memfd or shmem file, or a DAX
	 * device. */
	AML_AREA_FILE_FD,
	/** An anonymous memfd the area creates (named name, capacity bytes)
	 * and closes at fini. */
	AML_AREA_FILE_MEMFD,
	/** An existing file at path, which the area opens (read-write if
	 * shared, read-only if private) and closes at fini; never created.
	 * A DAX device found there is taken as AML_AREA_FILE_DAX. */
	AML_AREA_FILE_PATH,
	/** A device-DAX character device at path (checked through
	 * /sys/dev/char: AML_EINVAL if it is not one). Shared only, and
	 * AML_POLICY_LOCAL only. */
	AML_AREA_FILE_DAX,
	/** Number of kinds; not a kind. */
	AML_AREA_FILE_KIND_COUNT
};

/** The backing of a file area. Initialise it whole (`{.kind = ...}`). */
struct aml_area_file_source {
	/** What backs the area. */
	enum aml_area_file_kind kind;
	/** AML_AREA_FILE_FD: the descriptor (>= 0). */
	int fd;
	/** AML_AREA_FILE_MEMFD: the memfd's name (shown in /proc/PID/maps
	 * as /memfd:name; at most 249 bytes). PATH, DAX: the path. */
	const char *name;
	/** AML_AREA_FILE_MEMFD: bytes the file holds, the page of policy
	 * included (rounded up to pages; at least two pages). */
	size_t capacity;
	/** MAP_SHARED mappings; MAP_PRIVATE (copy on write) otherwise. */
	bool shared;
};

/** Storage for one file area. Pass &x.base to the aml_area_*() functions. */
struct aml_area_file {
	/** Generic handle. Keep first. */
	struct aml_area base;
	/** @privatesection */
	/* Private: use the aml_area_file_*() functions. */
	/** The policy, held as a device area (whose checks it passed). */
	struct aml_area_device placement;
	int fd;
	bool owns_fd;
	bool shared;
	bool dax;
	/** A DAX device's mapping unit (sysfs "align"): maps' sizes and
	 * offsets are multiples of it; 0 for other files. */
	uint64_t align;
	/** The next offset aml_area_mmap() hands out (atomic). */
	uint64_t cursor;
	/** The first offset a map may take: past the policy page, if any. */
	uint64_t first;
	/** A memfd's size (its capacity); 0: ask fstat at each map. */
	uint64_t limit;
};

/** Declare storage for a file area (see aml_area_file_init()). */
#define AML_AREA_FILE_DECL(name) struct aml_area_file name

/**
 * Initialise a file area.
 * @param[out] area the storage to initialise.
 * @param source what backs the mappings, and whether they are shared.
 * @param topology,devices,ndevices,policy,weights the placement, as for
 *        aml_area_device_init() (a topology is needed here: the one that
 *        maps and records the area's mappings).
 * @return 0; AML_EINVAL for a NULL area, source or topology, an unknown
 *         kind, a negative fd or one that is not open on a regular file,
 *         shmem file or DAX device, a NULL or too long name or path, a
 *         capacity below two pages or overflowing, a path that does not
 *         exist or cannot be opened, a DAX path that is not a DAX device,
 *         a private DAX area, a DAX area with another policy than
 *         AML_POLICY_LOCAL, and every placement aml_area_device_init()
 *         refuses; AML_EPERM when the file may not be opened (or not
 *         written, for a shared area); AML_EBUSY for a descriptor whose
 *         first page holds another area's policy that differs from this
 *         one; AML_ENOMEM when the memfd cannot be made. On error the
 *         storage is untouched and nothing is open.
 */
int aml_area_file_init(struct aml_area_file *area,
                       const struct aml_area_file_source *source,
                       const struct aml_topology *topology,
                       const struct aml_device *const *devices,
                       size_t ndevices,
                       enum aml_policy policy,
                       const unsigned *weights);

/**
 * Finalise a file area: close the descriptor it opened or created (never
 * the caller's). Mappings it made stay valid (the topology owns them then;
 * a mapping keeps its file alive) but can no longer be unmapped through
 * it: unmap them first. NULL and a second fini are no-ops.
 */
void aml_area_file_fini(struct aml_area_file *area);

/**
 * aml_area_file_init() into one allocation.
 * @param[out] out receives the area; NULL on error.
 * @param source,topology,devices,ndevices,policy,weights as for
 *        aml_area_file_init().
 * @return as aml_area_file_init(), or AML_ENOMEM.
 */
int aml_area_file_create(struct aml_area **out,
                         const struct aml_area_file_source *source,
                         const struct aml_topology *topology,
                         const struct aml_device *const *devices,
                         size_t ndevices,
                         enum aml_policy policy,
                         const unsigned *weights);

/** Free an area from aml_area_file_create() and set *area to NULL. NULL,
 * a pointer to NULL and an area of another kind are left alone. */
void aml_area_file_destroy(struct aml_area **area);

/**
 * The area's descriptor, to send to another process or to pass to
 * another area. Owned by the area (the caller's own for AML_AREA_FILE_FD).
 * @return the fd; AML_EINVAL for NULL or an area of another kind.
 */
int aml_area_file_fd(const struct aml_area *area);

/**
 * aml_area_mmap() that also says which offset of the file it mapped.
 * @param area a file area.
 * @param size bytes to map, at least 1 (rounded up to pages).
 * @param opts NULL, or options for this call, as for aml_area_mmap().
 * @param[out] offset receives the offset; untouched on error. May be NULL.
 * @return as aml_area_mmap(); AML_EINVAL too for an area of another kind.
 */
void *aml_area_file_mmap(const struct aml_area *area,
                         size_t size,
                         const struct aml_area_mmap_options *opts,
                         uint64_t *offset);

/**
 * Map [offset, offset + size) of the area's file (size rounded up to
 * pages), e.g. a range another process's area handed out. Leaves the
 * cursor alone.
 * @param area a file area.
 * @param offset page-aligned offset in the file.
 * @param size bytes to map, at least 1 (rounded up to pages).
 * @param opts NULL, or options for this call, as for aml_area_mmap().
 * @return as aml_area_mmap(); AML_EINVAL too for an area of another kind,
 *         an offset that is not page-aligned, the first page of a memfd
 *         area (its policy), a range past the end of the file, or, over
 *         a DAX device, an offset or size off the device's unit.
 */
void *aml_area_file_mmap_at(const struct aml_area *area,
                            uint64_t offset,
                            size_t size,
                            const struct aml_area_mmap_options *opts);

/**
 * Send descriptor @p fd over the connected Unix socket @p sock
 * (SCM_RIGHTS), with one byte of data. The caller keeps @p fd.
 * @param sock a connected Unix socket.
 * @param fd the descriptor to send.
 * @return 0; AML_EINVAL for a negative argument or a socket that is not a
 *         Unix socket; AML_FAILURE for another refusal of sendmsg
 *         (aml_os_errno() says which).
 */
int aml_area_file_send_fd(int sock, int fd);

/**
 * Receive a descriptor aml_area_file_send_fd() sent over @p sock (blocks
 * until it comes). The received descriptor is the caller's to close.
 * @param sock a connected Unix socket.
 * @param[out] out receives the descriptor (close-on-exec); untouched on
 *        error.
 * @return 0; AML_EINVAL for a NULL @p out or a negative @p sock;
 *         AML_FAILURE if the peer closed or sent no descriptor, or recvmsg
 *         failed.
 */
int aml_area_file_recv_fd(int sock, int *out);

#ifdef __cplusplus
}
#endif

#endif /* AML_AREA_FILE_H */
