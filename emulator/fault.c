/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Placing pages at first touch, as Linux does: every emulated mapping is
 * registered with a userfaultfd (missing pages), so the first touch of a
 * page stops the touching thread and reports the page, and which thread,
 * to the machine's fault thread. That thread asks where the toucher runs
 * (its affinity when it allows one device's CPUs only, else field 39 of
 * /proc/self/task/TID/stat; nothing when every CPU is on one device),
 * places the page under the mapping's policy and the free memory
 * of that moment (placement.c), gives it a zeroed page (UFFDIO_COPY), and
 * the toucher goes on. A page that finds no room where the kernel would
 * call the OOM killer stops the program (placement.c).
 *
 * The descriptor should report the kernel's own touches too (a read()
 * into an emulated buffer), so it is opened without UFFD_USER_MODE_ONLY
 * where this process may: root, CAP_SYS_PTRACE,
 * vm.unprivileged_userfaultfd=1, or access to /dev/userfaultfd (Linux
 * 6.1+). Elsewhere (a user's laptop), a machine whose spec says
 * placement=touch takes a descriptor for the program's own touches only,
 * which needs no privilege (Linux 5.11+): a system call that writes into
 * an untouched page then fails with EFAULT, as the kernel cannot wait for
 * the fault thread there. Without placement=touch, or under valgrind
 * (which runs one thread at a time: a thread stopped at a touch would keep
 * the fault thread from running), the machine places pages at map time,
 * and aml_emu_places_at_touch() says so.
 *
 * A first touch costs 1.6 to 2.2 times a plain anonymous page's here
 * (//bench:emulator_bench, emulator/first_touch); populating and copies
 * place their pages in bulk instead (emu_fault_place_range(), up to 64
 * pages a call), as fast as mmap(MAP_POPULATE).
 *
 * A forked child inherits mappings whose registration Linux drops (no
 * UFFD_FEATURE_EVENT_FORK): its first touches of pages its parent never
 * touched get memory without the machine hearing of it. Its own new maps
 * open a descriptor and a fault thread of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <aml/error.h>

#include "aml/src/os.h"
#include "emulator/emulator_internal.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FAULT_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef FAULT_UNDER_VALGRIND
#define FAULT_UNDER_VALGRIND() 0
#endif

/* The zeroed source of UFFDIO_COPY: this many pages filled per call. */
#define FAULT_CHUNK_PAGES 64

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* A userfaultfd opened with these flags and the API agreed (thread ids in
 * the messages): the descriptor, or -1. */
static int fault_open_flags(int flags)
{
	int fd = -1;
#ifdef SYS_userfaultfd
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | flags);
#endif
	/* /dev/userfaultfd gives what the system call refuses without
	 * privilege: the kernel's touches too. */
	if (fd < 0 && !(flags & UFFD_USER_MODE_ONLY)) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW,
			           O_CLOEXEC | O_NONBLOCK | flags);
			close(dev);
		}
	}
	if (fd < 0)
		return -1;
	struct uffdio_api api = {.api = UFFD_API,
	                         .features = UFFD_FEATURE_THREAD_ID};
	if (ioctl(fd, UFFDIO_API, &api) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The best descriptor this process may open: one that reports the
 * kernel's touches too, else, if user_mode_allowed, one for the program's
 * own touches only. The descriptor (what it reports in *reports), or -1. */
static int fault_open(bool user_mode_allowed, enum emu_fault_reports *reports)
{
	*reports = EMU_FAULT_ALL;
	int fd = fault_open_flags(0);
	if (fd < 0 && user_mode_allowed) {
		*reports = EMU_FAULT_USER;
		fd = fault_open_flags(UFFD_USER_MODE_ONLY);
	}
	if (fd < 0)
		*reports = EMU_FAULT_NONE;
	return fd;
}

/* Asked anew for each machine, not once per process: a process may drop
 * its privileges between two machines. */
enum emu_fault_reports emu_fault_probe(bool user_mode_allowed)
{
	if (FAULT_UNDER_VALGRIND())
		return EMU_FAULT_NONE;
	enum emu_fault_reports reports;
	int fd = fault_open(user_mode_allowed, &reports);
	if (fd >= 0)
		close(fd);
	return reports;
}

/* The CPU thread tid last ran on, where it now waits for its page: field
 * 39 of its stat, counted after the command's closing parenthesis (the
 * command may hold blanks and parentheses). -1 if unreadable. */
static int fault_thread_cpu(pid_t tid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	for (int field = 2; p != NULL && field < 39; field++)
		p = strchr(p + 1, ' ');
	return p != NULL ? atoi(p + 1) : -1;
}

/* Give the pages [start, start + npages) memory, zeroed, and wake their
 * touchers. A page that has memory already (another thread's touch won
 * the race) is skipped; a range unmapped meanwhile is left to its
 * touchers, who fault again and find it gone. */
static void fault_fill(struct emu_machine *m, uintptr_t start, size_t npages)
{
	size_t done = 0;
	while (done < npages) {
		size_t n = npages - done < FAULT_CHUNK_PAGES
		                   ? npages - done
		                   : FAULT_CHUNK_PAGES;
		struct uffdio_copy copy = {
		        .dst = start + done * m->page_size,
		        .src = (uintptr_t)m->uffd_zero,
		        .len = n * m->page_size,
		};
		if (ioctl(m->uffd, UFFDIO_COPY, &copy) == 0) {
			done += n;
			continue;
		}
		int err = errno;
		size_t copied = copy.copy > 0 ? (size_t)copy.copy : 0;
		done += copied / m->page_size;
		if (err == EAGAIN)
			continue;
		/* EEXIST: this page has memory; wake whoever waits on it. */
		struct uffdio_range page = {start + done * m->page_size,
		                            m->page_size};
		ioctl(m->uffd, UFFDIO_WAKE, &page);
		if (err != EEXIST)
			return;
		done++;
	}
}

/* The device of the CPU thread tid touched from: the one its affinity
 * allows, when all its CPUs are on one device (a pinned thread: one system
 * call), else that of the CPU it last ran on (a file to read). */
static size_t fault_thread_device(const struct emu_machine *m, pid_t tid)
{
	if (m->only_local >= 0)
		return (size_t)m->only_local;
	cpu_set_t cpus;
	if (sched_getaffinity(tid, sizeof(cpus), &cpus) == 0) {
		int device = -1;
		for (int c = 0; c < CPU_SETSIZE; c++) {
			if (!CPU_ISSET(c, &cpus))
				continue;
			int d = (int)emu_cpu_device(m, c);
			if (device >= 0 && d != device) {
				device = -1;
				break;
			}
			device = d;
		}
		if (device >= 0)
			return (size_t)device;
	}
	return emu_cpu_device(m, fault_thread_cpu(tid));
}

/* A touch of a page of a slab that nobody maps (slab.c): memory the
 * program unmapped. Linux would raise SIGSEGV; giving the page memory
 * would let the next map of it read what was written. */
static _Noreturn void fault_touched_unmapped(uintptr_t addr)
{
	fprintf(stderr,
	        "aml emulator: a touch of %p, which the program unmapped: "
	        "Linux would raise SIGSEGV here, so the emulator stops the "
	        "program\n",
	        (void *)addr);
	abort();
}

/* One first touch: place the page, then give it memory, under the write
 * lock, so that no unmap (and no map at the same address) comes between. */
static void fault_resolve(struct emu_machine *m, uintptr_t addr, pid_t tid)
{
	uintptr_t page = addr & ~(uintptr_t)(m->page_size - 1);
	size_t local = fault_thread_device(m, tid);
	pthread_rwlock_wrlock(&m->lock);
	struct emu_mapping *map = emu_pagetable_find(&m->table, page);
	if (map != NULL) {
		size_t index = (page - map->start) >> m->page_shift;
		if (!emu_label_placed(map->labels[index]))
			emu_place_now(m, map, index, local);
	} else if (emu_slab_of(&m->slabs, page) != NULL) {
		fault_touched_unmapped(addr);
	}
	fault_fill(m, page, 1);
	pthread_rwlock_unlock(&m->lock);
}

static void *fault_thread(void *arg)
{
	struct emu_machine *m = arg;
	for (;;) {
		struct pollfd fds[2] = {{.fd = m->uffd, .events = POLLIN},
		                        {.fd = m->uffd_stop, .events = POLLIN}};
		if (poll(fds, 2, -1) < 0)
			continue; /* EINTR: every signal is blocked anyway */
		if (fds[1].revents != 0)
			return NULL;
		struct uffd_msg msgs[16];
		ssize_t n = read(m->uffd, msgs, sizeof(msgs));
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(msgs[0]); i++) {
			if (msgs[i].event == UFFD_EVENT_PAGEFAULT)
				fault_resolve(
				        m, msgs[i].arg.pagefault.address,
				        (pid_t)msgs[i].arg.pagefault.feat.ptid);
		}
	}
}

/* The descriptor, the zeroed chunk and the fault thread of this process:
 * made by its first map. In a forked child, the parent's descriptors are
 * closed (their thread is not in the child) and new ones made. */
static int fault_start(struct emu_machine *m)
{
	/* Set by this process only: fork.c clears it in a child. Asked
	 * every map, and getpid() is a system call. */
	if (m->uffd_pid != 0)
		return 0;
	pid_t self = getpid();
	emu_fault_fini(m);
	enum emu_fault_reports reports;
	m->uffd = fault_open(m->spec.place_at_touch, &reports);
	m->uffd_stop = eventfd(0, EFD_CLOEXEC);
	m->uffd_zero = mmap(NULL, FAULT_CHUNK_PAGES * m->page_size, PROT_READ,
	                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err = m->uffd < 0 || m->uffd_stop < 0 || m->uffd_zero == MAP_FAILED
	                  ? AML_ENOMEM
	                  : 0;
	if (err == 0) {
		/* Signals are for the program's threads, not this one. */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (pthread_create(&m->uffd_thread, NULL, fault_thread, m) != 0)
			err = AML_ENOMEM;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (err != 0) {
		emu_fault_fini(m);
		return err;
	}
	m->uffd_pid = self;
	return 0;
}

int emu_fault_register(struct emu_machine *m, void *ptr, size_t size)
{
	int err = fault_start(m);
	if (err != 0)
		return err;
	struct uffdio_register reg = {
	        .range = {(uintptr_t)ptr, size},
	        .mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	if (ioctl(m->uffd, UFFDIO_REGISTER, &reg) != 0)
		return aml_os_error(errno, AML_ENOMEM);
	return 0;
}

int emu_fault_place_range(struct emu_machine *m,
                          uintptr_t start,
                          size_t size,
                          bool fail_when_full)
{
	size_t local = emu_local_device(m);
	/* A forked child's inherited mappings are no longer registered, and
	 * the descriptor it inherited fills its parent's pages: label only. */
	bool fill = m->uffd_pid == getpid();
	uintptr_t end = start + size;
	for (uintptr_t addr = start; addr < end;) {
		struct emu_mapping *map = emu_pagetable_next(&m->table, addr);
		if (map == NULL || map->start >= end)
			return 0;
		uintptr_t map_end = map->start + map->npages * m->page_size;
		uintptr_t from = addr > map->start ? addr : map->start;
		uintptr_t to = end < map_end ? end : map_end;
		size_t first = (from - map->start) >> m->page_shift;
		size_t last = (to - map->start) >> m->page_shift;
		for (size_t i = first; i < last && map->unplaced > 0;) {
			if (emu_label_placed(map->labels[i])) {
				i++;
				continue;
			}
			/* A run of unplaced pages: placed one by one (a
			 * huge page at once), in order, then given memory in
			 * one call. */
			size_t run = i, past = i + 1;
			int err = 0;
			while (i < last && !emu_label_placed(map->labels[i])) {
				if (!fail_when_full)
					past = emu_place_now(m, map, i, local);
				else
					err = emu_place_try(m, map, i, local,
					                    &past);
				if (err != 0)
					break;
				i = past < last ? past : last;
			}
			if (fill)
				fault_fill(m, map->start + run * m->page_size,
				           i - run);
			if (err != 0)
				return err;
		}
		addr = to;
	}
	return 0;
}

void emu_fault_fini(struct emu_machine *m)
{
	if (m->uffd_pid == getpid()) {
		uint64_t one = 1;
		if (write(m->uffd_stop, &one, sizeof(one)) == sizeof(one))
			pthread_join(m->uffd_thread, NULL);
	}
	if (m->uffd >= 0)
		close(m->uffd);
	if (m->uffd_stop >= 0)
		close(m->uffd_stop);
	if (m->uffd_zero != NULL && m->uffd_zero != MAP_FAILED)
		munmap(m->uffd_zero, FAULT_CHUNK_PAGES * m->page_size);
	m->uffd = m->uffd_stop = -1;
	m->uffd_zero = NULL;
	m->uffd_pid = 0;
}
