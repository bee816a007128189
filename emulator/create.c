/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Making an emulated machine: read the spec (a preset, a string, or "@path"
 * for a file), scale capacities, build the fallback orders (emulator.c), and
 * build the topology with one device per tier.
 *
 * A device's capacity is the tier's usable figure when the spec gives one
 * (what the kernel reports for the node: the emulator then fills up where
 * the guest does), else its capacity; QEMU gets the capacity. Its
 * initiators are the tiers with CPUs, each seeing it with the figures of an
 * access item from that tier, or else the tier's own figures; without access
 * items, that is one initiator of every CPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <aml/device.h>
#include <aml/error.h>
#include <aml/topology.h>

#include "aml/src/device/spi.h"
#include "aml/src/os.h"
#include "aml/src/quote.h"
#include "emulator/emulator_internal.h"

/* Specs are short: a file over 1 MiB is a mistake, not a machine. */
#define SPEC_FILE_MAX (1 << 20)

/* The reason, then the path if any, quoted as a spec's tokens are
 * (aml/src/quote.h) and cut to fit: a reason is one clean line whatever the
 * path holds. */
static void
create_error(struct aml_emu_error *error, const char *reason, const char *path)
{
	if (error == NULL)
		return;
	error->offset = 0;
	size_t size = sizeof(error->reason);
	int n = snprintf(error->reason, size, "%s", reason);
	if (path == NULL || n < 0 || (size_t)n >= size / 2)
		return;
	aml_quote(error->reason + n, size - (size_t)n, path, strlen(path),
	          SIZE_MAX);
}

/* Read "@path" into *out, NUL-terminated: 0; AML_EINVAL with the reason
 * set for a file that cannot be opened or read, is over 1 MiB or binary;
 * AML_ENOMEM. */
static int
create_read_file(const char *path, char **out, struct aml_emu_error *error)
{
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		/* Short of memory or descriptors, the file is not at fault:
		 * try again later. */
		if (aml_os_open_error(errno, 0) == AML_ENOMEM)
			return AML_ENOMEM;
		create_error(error, "cannot open ", path);
		return AML_EINVAL;
	}
	char *text = malloc(SPEC_FILE_MAX + 1);
	if (text == NULL) {
		fclose(f);
		return AML_ENOMEM;
	}
	size_t n = fread(text, 1, SPEC_FILE_MAX + 1, f);
	bool bad =
	        ferror(f) || n > SPEC_FILE_MAX || memchr(text, '\0', n) != NULL;
	fclose(f);
	if (bad) {
		create_error(error, "cannot read (or over 1 MiB, or binary) ",
		             path);
		free(text);
		return AML_EINVAL;
	}
	text[n] = '\0';
	*out = text;
	return 0;
}

static uint64_t create_pages(const struct emu_machine *m,
                             const struct aml_emu_tier *tier)
{
	uint64_t capacity = tier->usable != 0 ? tier->usable : tier->capacity;
	__extension__ unsigned __int128 bytes = (unsigned __int128)capacity *
	                                        m->spec.scale_num /
	                                        m->spec.scale_den;
	uint64_t pages = (uint64_t)(bytes / m->page_size);
	return pages > 0 ? pages : 1; /* a tier holds at least a page */
}

static int create_machine(struct emu_machine *m)
{
	struct aml_bitmap process_cpus;
	int err = aml_thread_cpus(&process_cpus);
	if (err != 0)
		return err;
	m->page_size = aml_page_size();
	m->page_shift = (unsigned)__builtin_ctzll(m->page_size);
	m->huge_pages =
	        EMU_HUGE_SIZE > m->page_size ? EMU_HUGE_SIZE / m->page_size : 1;
	m->pool_pages[EMU_POOL_2M] = m->huge_pages;
	m->pool_pages[EMU_POOL_1G] =
	        EMU_GIG_SIZE > m->page_size ? EMU_GIG_SIZE / m->page_size : 1;
	m->slabs.page_size = m->page_size;
	m->ndevices = m->spec.ntiers;
	for (size_t i = 0; i < m->ndevices; i++) {
		struct aml_emu_tier *tier = &m->spec.tiers[i];
		if (tier->cpus_all)
			tier->cpus = process_cpus;
		m->devices[i] = (struct emu_device_state){
		        .index = i,
		        .machine = m,
		        .capacity_pages = create_pages(m, tier),
		};
		/* As many as the tier holds, as writing nr_hugepages
		 * reserves as many as the node can give: 1 GiB pages first,
		 * as the kernel reserves gigantic pages early in boot, then
		 * 2 MiB ones from what is left. */
		struct emu_device_state *d = &m->devices[i];
		uint64_t want[EMU_POOLS] = {tier->hugepages_2m,
		                            tier->hugepages_1g};
		uint64_t left = d->capacity_pages;
		for (size_t k = EMU_POOLS; k-- > 0;) {
			uint64_t fit = left / m->pool_pages[k];
			d->huge_pool[k] = want[k] < fit ? want[k] : fit;
			left -= d->huge_pool[k] * m->pool_pages[k];
		}
	}
	emu_build_zonelists(m);
	m->uffd = m->uffd_stop = -1;
	m->at_touch = !m->spec.place_at_map &&
	              emu_fault_probe(m->spec.place_at_touch) != EMU_FAULT_NONE;
	/* Where every CPU is on one device, a fault needs not ask where its
	 * thread runs. */
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	m->only_local = (int)emu_cpu_device(m, 0);
	for (long cpu = 1; cpu < ncpus && m->only_local >= 0; cpu++) {
		if (emu_cpu_device(m, (int)cpu) != (size_t)m->only_local)
			m->only_local = -1;
	}
	/* Only a lack of resources can fail a default lock. */
	if (pthread_rwlock_init(&m->lock, NULL) != 0)
		return AML_ENOMEM;
	err = emu_clock_init(m);
	if (err != 0)
		pthread_rwlock_destroy(&m->lock);
	return err;
}

static struct aml_device_perf create_perf(uint64_t read_bw,
                                          uint64_t write_bw,
                                          uint64_t read_latency_ns,
                                          uint64_t write_latency_ns)
{
	return (struct aml_device_perf){
	        .read_bandwidth = read_bw,
	        .write_bandwidth = write_bw,
	        .read_latency_ns = read_latency_ns,
	        .write_latency_ns = write_latency_ns,
	};
}

/* Tier `to` seen from each tier with CPUs: the access item's figures for
 * the pair, else the tier's own. */
static int create_initiators(struct aml_device *dev,
                             const struct aml_emu_spec *spec,
                             size_t to)
{
	struct aml_device_initiator list[AML_EMU_TIERS_MAX];
	const struct aml_emu_tier *tier = &spec->tiers[to];
	size_t n = 0;
	for (size_t from = 0; from < spec->ntiers; from++) {
		if (aml_bitmap_count(&spec->tiers[from].cpus) <= 0)
			continue;
		list[n].cpus = spec->tiers[from].cpus;
		list[n].perf = create_perf(tier->read_bw, tier->write_bw,
		                           tier->read_latency_ns,
		                           tier->write_latency_ns);
		for (size_t a = 0; a < spec->naccess; a++) {
			const struct aml_emu_spec_access *x = &spec->access[a];
			if (x->from == from && x->to == to)
				list[n].perf =
				        create_perf(x->read_bw, x->write_bw,
				                    x->read_latency_ns,
				                    x->write_latency_ns);
		}
		n++;
	}
	return aml_device_set_initiators(dev, list, n);
}

/* One device per tier. Without access items the initiator is every CPU of
 * the emulated machine, which sees each tier with the spec's figures. */
static int create_devices(struct aml_topology *t, struct emu_machine *m)
{
	struct aml_bitmap all_cpus;
	aml_bitmap_zero(&all_cpus);
	for (size_t i = 0; i < m->ndevices; i++)
		aml_bitmap_or(&all_cpus, &all_cpus, &m->spec.tiers[i].cpus);
	for (size_t i = 0; i < m->ndevices; i++) {
		const struct aml_emu_tier *tier = &m->spec.tiers[i];
		struct aml_device dev = {
		        .data = &m->devices[i],
		        .kind = tier->kind,
		        .backend = AML_BACKEND_EMULATOR,
		        .numa_id = (int)i,
		        .capacity = m->devices[i].capacity_pages * m->page_size,
		        .cpus = tier->cpus,
		};
		snprintf(dev.name, sizeof(dev.name), "%s", tier->name);
		struct aml_device_perf perf = create_perf(
		        tier->read_bw, tier->write_bw, tier->read_latency_ns,
		        tier->write_latency_ns);
		int err = m->spec.naccess > 0
		                  ? create_initiators(&dev, &m->spec, i)
		                  : aml_device_add_initiator(&dev, &all_cpus,
		                                             &perf);
		if (err == 0)
			err = aml_topology_add_device(t, &dev, NULL);
		if (err != 0)
			return err;
	}
	/* The distances placement orders by (placement.c), so that what
	 * aml_topology_distance() reports is what the emulator does. */
	for (size_t i = 0; i < m->ndevices; i++) {
		for (size_t j = 0; j < m->ndevices; j++) {
			int err = aml_topology_set_distance(
			        t, (int)i, (int)j, emu_distance(m, i, j));
			if (err != 0)
				return err;
		}
	}
	return 0;
}

int aml_emu_create(struct aml_topology **out,
                   const char *spec,
                   struct aml_emu_error *error)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	if (spec == NULL) {
		create_error(error, "no spec", NULL);
		return AML_EINVAL;
	}
	char *file = NULL;
	if (spec[0] == '@') {
		int err = create_read_file(spec + 1, &file, error);
		if (err != 0)
			return err;
	}
	struct emu_machine *m = calloc(1, sizeof(*m));
	int err = m == NULL ? AML_ENOMEM : 0;
	if (err == 0)
		err = aml_emu_spec_parse(file ? file : spec, &m->spec, error);
	free(file);
	if (err == 0)
		err = create_machine(m);
	if (err != 0) {
		free(m);
		return err;
	}

	char source[AML_TOPOLOGY_SOURCE_MAX];
	snprintf(source, sizeof(source), "emulated %s", spec);
	struct aml_topology *t;
	m->copier = (struct aml_copier){.ops = &emu_copier_ops, .data = m};
	struct aml_topology_desc desc = {
	        .source = source,
	        .ops = &aml_emu_topology_ops,
	        .data = m, /* from here, destroying t releases m */
	        .copier = &m->copier,
	};
	err = aml_topology_create(&t, &desc);
	if (err != 0) {
		emu_clock_fini(m);
		pthread_rwlock_destroy(&m->lock);
		free(m);
		return err;
	}
	err = create_devices(t, m);
	/* Kinds come from the spec: no classification. */
	if (err == 0)
		err = aml_topology_finish(t, false);
	if (err == 0 && m->spec.mode == AML_EMU_DELAY)
		err = aml_emu_set_mode(t, AML_EMU_DELAY);
	if (err == 0 && m->spec.accesses != AML_EMU_ACCESSES_OFF)
		err = aml_emu_set_access_accounting(t, m->spec.accesses);
	if (err != 0) {
		aml_topology_destroy(&t);
		return err;
	}
	*out = t;
	return 0;
}
