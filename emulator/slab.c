/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pages for one-page emulated mappings, registered with the userfaultfd
 * once (placement at first touch only).
 *
 * Replacing a one-page mapping cost three system calls, mmap,
 * UFFDIO_REGISTER and munmap, about 2 µs each on this VM, when the page
 * table's own work is a fraction of one. Here a one-page mapping is a page
 * of a slab: one large anonymous mapping, registered when it is made. A map
 * takes a page an unmap gave back, or the next page of the newest slab: no
 * system call. An unmap drops the page's memory (MADV_DONTNEED), so that
 * its next owner reads zeros and its first touch reaches the fault thread
 * again, and keeps it for the next map: one system call, and no VMA is
 * made, split or merged. Only single pages are kept: a larger mapping can
 * be unmapped piece by piece, and pieces of sizes nobody maps again would
 * hold address space without end; those are mmap'd and munmap'd as before.
 *
 * A page given back is still mapped, readable and writable, and
 * registered: it has no memory, so a touch of it goes to the fault thread,
 * which finds it in no mapping and stops the program (fault.c), where
 * Linux would raise SIGSEGV. The kernel's own touches of it (a read() into
 * it) are reported too where the descriptor reports them; with
 * UFFD_USER_MODE_ONLY the system call fails with EFAULT, as for an
 * unmapped page. aml_topology_locate() says AML_EINVAL of it, as of an
 * unmapped page. A protection the program set on the page itself
 * (mprotect) is not undone when it is unmapped: the next map of it has it.
 *
 * Slabs stay mapped until the machine is destroyed, their pages' memory
 * given back to the system as they are unmapped: the address space held is
 * what the program's one-page mappings took at their peak, plus the rest
 * of the newest slab.
 *
 * A forked child inherits the slabs, but not their registration (fault.c):
 * the pages its parent kept are forgotten (in the child they read zero
 * instead of faulting: nothing reports their touches there), an unmap of a
 * page of its parent's slabs is a munmap, and its own maps take pages of
 * slabs of its own.
 *
 * Everything here runs under the machine's write lock.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include <aml/error.h>

#include "emulator/emulator_internal.h"

/* The first slab's pages; each new one doubles, up to SLAB_MAX_PAGES. */
#define SLAB_FIRST_PAGES 256
#define SLAB_MAX_PAGES   16384

const struct emu_slab *emu_slab_of(const struct emu_slabs *s, uintptr_t addr)
{
	for (size_t i = 0; i < s->count; i++) {
		const struct emu_slab *slab = &s->slabs[i];
		if (addr >= slab->start && addr - slab->start < slab->size)
			return slab;
	}
	return NULL;
}

/* Forget the pages kept and the free pages of slabs that another process
 * registered (a forked child's first map): they are not registered here. */
static void slab_retire(struct emu_slabs *s)
{
	s->nkept = 0;
	s->next = s->end = 0;
	s->owner = 0;
}

/* Room to keep one more page: 0, or AML_ENOMEM. */
static int slab_reserve(struct emu_slabs *s)
{
	if (s->nkept < s->kept_capacity)
		return 0;
	size_t capacity = s->kept_capacity != 0 ? 2 * s->kept_capacity : 64;
	uintptr_t *grown = realloc(s->kept, capacity * sizeof(*grown));
	if (grown == NULL)
		return AML_ENOMEM;
	s->kept = grown;
	s->kept_capacity = capacity;
	return 0;
}

void *emu_slab_take(struct emu_slabs *s, pid_t owner)
{
	if (owner == 0 || owner != s->owner) {
		if (s->owner != 0)
			slab_retire(s);
		return NULL;
	}
	if (s->nkept > 0)
		return (void *)s->kept[--s->nkept];
	if (s->next == s->end)
		return NULL;
	uintptr_t page = s->next;
	s->next += s->page_size;
	return (void *)page;
}

void emu_slab_untake(struct emu_slabs *s, void *page)
{
	if ((uintptr_t)page + s->page_size == s->next) {
		s->next = (uintptr_t)page;
		return;
	}
	/* It came from the stack, which has its entry still. */
	s->kept[s->nkept++] = (uintptr_t)page;
}

size_t emu_slab_next_pages(const struct emu_slabs *s)
{
	size_t pages = SLAB_FIRST_PAGES;
	for (size_t i = 0; i < s->count && pages < SLAB_MAX_PAGES; i++)
		pages *= 2;
	return pages;
}

int emu_slab_add(struct emu_slabs *s, void *start, size_t size, pid_t owner)
{
	/* The stack is made with the first slab, so that giving pages back
	 * allocates only to grow it. */
	if (slab_reserve(s) != 0)
		return AML_ENOMEM;
	if (s->count == s->capacity) {
		size_t capacity = s->capacity != 0 ? 2 * s->capacity : 8;
		struct emu_slab *grown =
		        realloc(s->slabs, capacity * sizeof(*grown));
		if (grown == NULL)
			return AML_ENOMEM;
		s->slabs = grown;
		s->capacity = capacity;
	}
	s->slabs[s->count++] = (struct emu_slab){
	        .start = (uintptr_t)start,
	        .size = size,
	        .owner = owner,
	};
	s->next = (uintptr_t)start;
	s->end = (uintptr_t)start + size;
	s->owner = owner;
	return 0;
}

int emu_slab_give(struct emu_slabs *s,
                  pid_t owner,
                  void *start,
                  size_t size,
                  bool reprotect)
{
	if (size != s->page_size || owner == 0 || owner != s->owner)
		return 1;
	const struct emu_slab *slab = emu_slab_of(s, (uintptr_t)start);
	if (slab == NULL || slab->owner != owner)
		return 1;
	/* Whatever can fail comes before the page is dropped: a page that
	 * cannot be kept stays mapped, and so does its mapping. */
	if (slab_reserve(s) != 0)
		return AML_ENOMEM;
	/* Access accounting may have closed it: the next owner finds it as
	 * mmap() makes it. */
	if (reprotect && mprotect(start, size, PROT_READ | PROT_WRITE) != 0)
		return AML_ENOMEM;
	if (madvise(start, size, MADV_DONTNEED) != 0)
		return 1;
	s->kept[s->nkept++] = (uintptr_t)start;
	return 0;
}

void emu_slab_fini(struct emu_slabs *s)
{
	for (size_t i = 0; i < s->count; i++)
		munmap((void *)s->slabs[i].start, s->slabs[i].size);
	free(s->kept);
	free(s->slabs);
	size_t page_size = s->page_size;
	*s = (struct emu_slabs){.page_size = page_size};
}
