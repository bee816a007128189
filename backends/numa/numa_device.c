/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NUMA node devices over mbind(2) and move_pages(2): the ops every
 * discovered topology gives its nodes, whichever backend discovered them.
 *
 * map is an anonymous mmap plus mbind(MPOL_BIND) of the node, with no
 * MPOL_MF_MOVE: a fresh mapping has no pages to move, and upstream AML paid
 * 45-155 us per map for that flag. Pages land on the node when first touched.
 * A map larger than the node is refused before any system call: touching it
 * would end in the OOM killer. populate faults a range in at once
 * (aml_topology_map_populate(), after the free-memory rule of
 * aml/src/device/topology_map.c has passed).
 * Each device records its live mappings (aml/src/rangeset.h) so that unmap
 * refuses memory the device did not map.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <numa.h>
#include <numaif.h>

#include <aml/error.h>

#include "aml/src/error_detail.h"
#include "aml/src/os.h"
#include "aml/src/rangeset.h"
#include "backends/numa/numa_backend.h"

/* mbind reads maxnode - 1 bits (a long-standing kernel off-by-one that
 * libnuma also works around), so pass one more than the mask holds. */
#define NODEMASK_WORDS   (AML_BITMAP_MAX / (8 * sizeof(unsigned long)))
#define NODEMASK_MAXNODE (AML_BITMAP_MAX + 1)

struct numa_device_state {
	/* The mappings this device made and has not unmapped. */
	struct aml_rangeset maps;
	/* The device's node alone, as mbind wants it. */
	unsigned long nodemask[NODEMASK_WORDS];
};

static struct numa_device_state *numa_state(const struct aml_device *dev)
{
	return dev->data;
}

/* mbind failures, our arguments being valid: the node is the problem. */
static int numa_mbind_code(int err)
{
	switch (err) {
	case ENOMEM:
		return AML_ENOMEM;
	case EFAULT:
		return AML_EINVAL; /* part of the range is not mapped */
	case EIO:
		return AML_FAILURE; /* MPOL_MF_STRICT: some pages stayed */
	case EPERM:
		return AML_EPERM;
	default:
		return AML_ENODEV; /* EINVAL: node not online or not allowed */
	}
}

static int numa_mbind_error(int err)
{
	return aml_os_error_in("mbind", err, numa_mbind_code(err));
}

static void *numa_device_map(const struct aml_device *dev, size_t size)
{
	struct numa_device_state *state = numa_state(dev);
	if (dev->capacity != 0 && size > dev->capacity) {
		aml_errno = AML_ENOMEM;
		return NULL;
	}
	void *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ptr == MAP_FAILED) {
		aml_errno = aml_os_error_in("mmap", errno, AML_ENOMEM);
		return NULL;
	}
	int err = 0;
	if (mbind(ptr, size, MPOL_BIND, state->nodemask, NODEMASK_MAXNODE, 0) !=
	    0)
		err = numa_mbind_error(errno);
	else
		err = aml_rangeset_insert(&state->maps, ptr, size);
	if (err != 0) {
		munmap(ptr, size);
		aml_errno = err;
		return NULL;
	}
	return ptr;
}

/* Only a VMA split past vm.max_map_count fails: the range is still
 * mapped then. */
static int numa_device_munmap(void *ptr, size_t size, const void *arg)
{
	(void)arg;
	return munmap(ptr, size) == 0
	               ? 0
	               : aml_os_error_in("munmap", errno, AML_ENOMEM);
}

static int
numa_device_unmap(const struct aml_device *dev, void *ptr, size_t size)
{
	/* Unmapped and forgotten under the record's lock, so that a map on
	 * another thread that gets the address back finds it free. */
	return aml_rangeset_remove(&numa_state(dev)->maps, ptr, size, false,
	                           numa_device_munmap, NULL);
}

/* Is the node one this process may use (its cpuset's mems_allowed)? */
static bool numa_node_allowed(int node)
{
	unsigned long allowed[NODEMASK_WORDS] = {0};
	size_t bits = 8 * sizeof(unsigned long);
	if (node < 0 || (size_t)node >= NODEMASK_WORDS * bits ||
	    get_mempolicy(NULL, allowed, NODEMASK_MAXNODE, NULL,
	                  MPOL_F_MEMS_ALLOWED) != 0)
		return false;
	return allowed[(size_t)node / bits] >> ((size_t)node % bits) & 1;
}

/*
 * mbind's EINVAL names either the node (offline, or outside the cpuset)
 * or the range: an end inside a hugetlb page, where the kernel cannot
 * split the VMA (seen in the 3-node guest, docs/vm.md). With the node
 * allowed, it is the range, which aml_device_move() says is AML_EINVAL.
 */
static int
numa_device_move(const struct aml_device *dev, void *ptr, size_t size)
{
	struct numa_device_state *state = numa_state(dev);
	if (mbind(ptr, size, MPOL_BIND, state->nodemask, NODEMASK_MAXNODE,
	          MPOL_MF_MOVE | MPOL_MF_STRICT) == 0)
		return 0;
	int err = errno;
	if (err == EINVAL && numa_node_allowed(dev->numa_id)) {
		aml_os_error_in("mbind", err, AML_EINVAL); /* keeps the errno */
		return aml_error_explain(AML_EINVAL,
		                         "mbind of a range to node %d: EINVAL "
		                         "with the node allowed: an end of the "
		                         "range inside a hugetlb page",
		                         dev->numa_id);
	}
	return numa_mbind_error(err);
}

static int numa_device_free_bytes(const struct aml_device *dev, size_t *out)
{
	long long free_bytes;
	if (numa_node_size64(dev->numa_id, &free_bytes) < 0)
		return AML_ENODEV;
	*out = (size_t)free_bytes;
	return 0;
}

static const struct aml_device_ops numa_device_ops = {
        .map = numa_device_map,
        .unmap = numa_device_unmap,
        .move = numa_device_move,
        .free_bytes = numa_device_free_bytes,
};

static int numa_device_init(struct aml_device *dev)
{
	struct numa_device_state *state = calloc(1, sizeof(*state));
	if (state == NULL)
		return AML_ENOMEM;
	if (aml_rangeset_init(&state->maps, AML_FORK_RECORDS) != 0) {
		free(state);
		return AML_ENOMEM;
	}
	size_t bits = 8 * sizeof(unsigned long);
	state->nodemask[(size_t)dev->numa_id / bits] =
	        1UL << ((size_t)dev->numa_id % bits);
	dev->ops = &numa_device_ops;
	dev->data = state;
	dev->backend = AML_BACKEND_NUMA;
	if (dev->name[0] == '\0')
		snprintf(dev->name, sizeof(dev->name), "node%d", dev->numa_id);
	return 0;
}

static void numa_device_release(void *start, size_t size, void *arg)
{
	(void)arg;
	munmap(start, size);
}

static void numa_device_fini(struct aml_device *dev)
{
	struct numa_device_state *state = numa_state(dev);
	if (state == NULL)
		return;
	aml_rangeset_drain(&state->maps, numa_device_release, NULL);
	aml_rangeset_fini(&state->maps);
	free(state);
	dev->data = NULL;
	dev->ops = NULL;
}

/* Pages per move_pages call: bounds the stack arrays. */
#define LOCATE_BATCH 512

static int numa_locate(const struct aml_topology *topology,
                       const void *ptr,
                       size_t npages,
                       int *numa_ids)
{
	(void)topology;
	size_t page = aml_page_size();
	void *pages[LOCATE_BATCH];
	int status[LOCATE_BATCH];
	for (size_t done = 0; done < npages;) {
		size_t n = npages - done < LOCATE_BATCH ? npages - done
		                                        : LOCATE_BATCH;
		for (size_t i = 0; i < n; i++)
			pages[i] = (void *)((uintptr_t)ptr + (done + i) * page);
		/* -EFAULT: unmapped, or backed by nothing of its own yet. */
		if (move_pages(0, n, pages, NULL, status, 0) != 0)
			return aml_os_error_in("move_pages", errno,
			                       errno == ENOMEM ? AML_ENOMEM
			                                       : AML_FAILURE);
		for (size_t i = 0; i < n; i++) {
			int s = status[i];
			numa_ids[done + i] =
			        s >= 0 ? s
			        : s == -EFAULT
			                ? aml_page_without_device(pages[i])
			                : AML_ENODEV;
		}
		done += n;
	}
	return 0;
}

/* ---- Policies over several nodes ---- */

static const int numa_policy_modes[AML_POLICY_COUNT] = {
        [AML_POLICY_BIND] = MPOL_BIND,
        [AML_POLICY_PREFERRED] = MPOL_PREFERRED,
        [AML_POLICY_PREFERRED_MANY] = MPOL_PREFERRED_MANY,
        [AML_POLICY_INTERLEAVE] = MPOL_INTERLEAVE,
        [AML_POLICY_LOCAL] = MPOL_LOCAL,
};

/* Exactly the given nodes, never more: upstream AML once bound every
 * allowed node instead of the requested ones. */
static void numa_nodemask(const struct aml_bitmap *nodes,
                          unsigned long mask[NODEMASK_WORDS])
{
	size_t bits = 8 * sizeof(unsigned long);
	memset(mask, 0, NODEMASK_WORDS * sizeof(unsigned long));
	AML_BITMAP_FOREACH (node, nodes)
		mask[(size_t)node / bits] |= 1UL << ((size_t)node % bits);
}

/*
 * mbind says EINVAL both for a node that is not online and for a mode the
 * kernel lacks (MPOL_PREFERRED_MANY before Linux 5.15): if MPOL_BIND takes
 * the same nodes, the mode is the problem.
 */
static int numa_policy_error(
        void *ptr, size_t size, int mode, int err, const unsigned long *mask)
{
	if (err == EINVAL && mode != MPOL_BIND &&
	    mbind(ptr, size, MPOL_BIND, mask, NODEMASK_MAXNODE, 0) == 0)
		return aml_os_error(err, AML_ENOTSUP);
	return numa_mbind_error(err);
}

/* Apply the policy to a mapping just made; unmap it if the kernel refuses.
 * @return ptr, or NULL with aml_errno set. */
static void *numa_bind_new(void *ptr,
                           size_t size,
                           const struct aml_bitmap *nodes,
                           enum aml_policy policy)
{
	unsigned long mask[NODEMASK_WORDS];
	numa_nodemask(nodes, mask);
	int mode = numa_policy_modes[policy];
	if (mbind(ptr, size, mode, mask, NODEMASK_MAXNODE, 0) != 0) {
		aml_errno = numa_policy_error(ptr, size, mode, errno, mask);
		munmap(ptr, size);
		return NULL;
	}
	return ptr;
}

static void *numa_map_nodes(const struct aml_topology *topology,
                            const struct aml_bitmap *nodes,
                            enum aml_policy policy,
                            size_t size)
{
	(void)topology;
	void *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ptr == MAP_FAILED) {
		aml_errno = aml_os_error(errno, AML_ENOMEM);
		return NULL;
	}
	return numa_bind_new(ptr, size, nodes, policy);
}

/* Under BIND, the bound nodes must hold the huge pages: the kernel reserves
 * them from the whole pool at map time, and a touch the bound nodes cannot
 * serve is a SIGBUS, not an error. A node that does not say counts as
 * enough. */
static int numa_hugetlb_bind_check(const struct aml_bitmap *nodes,
                                   size_t npages,
                                   size_t page)
{
	size_t total = 0;
	int last = -1;
	AML_BITMAP_FOREACH (node, nodes) {
		size_t n = aml_hugetlb_free_on_node(node, page);
		if (n == SIZE_MAX)
			return 0;
		total += n;
		last = node;
	}
	return total >= npages || last < 0
	               ? 0
	               : aml_hugetlb_short_on_node(last, page, npages);
}

static void *numa_map_nodes_hugetlb(const struct aml_topology *topology,
                                    const struct aml_bitmap *nodes,
                                    enum aml_policy policy,
                                    size_t size,
                                    size_t page)
{
	(void)topology;
	int err = policy == AML_POLICY_BIND
	                  ? numa_hugetlb_bind_check(nodes, size / page, page)
	                  : 0;
	if (err != 0) {
		aml_errno = err;
		return NULL;
	}
	void *ptr = aml_hugetlb_map(size, page);
	return ptr != NULL ? numa_bind_new(ptr, size, nodes, policy) : NULL;
}

static int numa_file_map_error(int err)
{
	return aml_os_error_in("mmap of a file", err,
	                       err == EACCES || err == EPERM ? AML_EPERM
	                       : err == ENOMEM               ? AML_ENOMEM
	                                                     : AML_EINVAL);
}

/*
 * A file range at an aligned address: reserve the range plus the alignment
 * as inaccessible anonymous memory (no memory is charged for it), map the
 * file over its aligned part with MAP_FIXED, give back the ends. The
 * reservation keeps another thread's mmap out of the hole meanwhile. With
 * no alignment beyond the page, one mmap of the file does.
 */
static void *numa_map_file_nodes(const struct aml_topology *topology,
                                 const struct aml_bitmap *nodes,
                                 enum aml_policy policy,
                                 size_t size,
                                 size_t alignment,
                                 int fd,
                                 uint64_t offset,
                                 bool shared)
{
	(void)topology;
	size_t extra = alignment - aml_page_size();
	int prot = PROT_READ | PROT_WRITE;
	int flags = shared ? MAP_SHARED : MAP_PRIVATE;
	char *ptr;
	if (extra == 0) {
		ptr = mmap(NULL, size, prot, flags, fd, (off_t)offset);
		if (ptr == MAP_FAILED) {
			aml_errno = numa_file_map_error(errno);
			return NULL;
		}
		return numa_bind_new(ptr, size, nodes, policy);
	}
	char *raw = mmap(NULL, size + extra, PROT_NONE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		/* Its arguments are valid: only room can lack. Linux says
		 * ENOMEM, valgrind EINVAL for a range larger than the
		 * address space. */
		aml_errno = aml_os_error_in("reserving an aligned file range",
		                            errno, AML_ENOMEM);
		return NULL;
	}
	ptr = (char *)(((uintptr_t)raw + alignment - 1) &
	               ~(uintptr_t)(alignment - 1));
	if (mmap(ptr, size, prot, flags | MAP_FIXED, fd, (off_t)offset) ==
	    MAP_FAILED) {
		int err = errno;
		munmap(raw, size + extra);
		aml_errno = numa_file_map_error(err);
		return NULL;
	}
	/* The ends are whole mappings of the reservation now: no split. */
	size_t head = (size_t)(ptr - raw), tail = extra - head;
	if (head != 0)
		munmap(raw, head);
	if (tail != 0)
		munmap(ptr + size, tail);
	return numa_bind_new(ptr, size, nodes, policy);
}

static int
numa_advise_huge(const struct aml_topology *topology, void *ptr, size_t size)
{
	(void)topology;
	return aml_advise_huge(ptr, size);
}

/* mbind without MPOL_MF_MOVE: the pages are not there yet, only the policy
 * of the range changes. */
static int numa_rebind(const struct aml_topology *topology,
                       void *ptr,
                       size_t size,
                       int numa_id)
{
	(void)topology;
	struct aml_bitmap node;
	aml_bitmap_zero(&node);
	aml_bitmap_set(&node, (size_t)numa_id);
	unsigned long mask[NODEMASK_WORDS];
	numa_nodemask(&node, mask);
	if (mbind(ptr, size, MPOL_BIND, mask, NODEMASK_MAXNODE, 0) != 0)
		return numa_mbind_error(errno);
	return 0;
}

/* Fault every page in, in order, as writes (aml_populate_write()): the
 * free-memory rule checked before the map keeps the OOM killer away. */
static int
numa_populate(const struct aml_topology *topology, void *ptr, size_t size)
{
	(void)topology;
	return aml_populate_write(ptr, size);
}

static int
numa_unmap_nodes(const struct aml_topology *topology, void *ptr, size_t size)
{
	(void)topology;
	return munmap(ptr, size) == 0 ? 0 : AML_ENOMEM;
}

const struct aml_topology_ops aml_numa_topology_ops = {
        .locate = numa_locate,
        .device_init = numa_device_init,
        .device_fini = numa_device_fini,
        .map_nodes = numa_map_nodes,
        .unmap_nodes = numa_unmap_nodes,
        .rebind = numa_rebind,
        .populate = numa_populate,
        .map_nodes_hugetlb = numa_map_nodes_hugetlb,
        .advise_huge = numa_advise_huge,
        .map_file_nodes = numa_map_file_nodes,
};
