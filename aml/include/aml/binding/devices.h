/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file devices.h
 * Bindings over a list of devices:
 * - AML_BINDING_SINGLE: every unit on the one device;
 * - AML_BINDING_INTERLEAVE: unit u on device u mod n;
 * - AML_BINDING_BLOCK: contiguous shares: unit u of N on device u * n / N.
 */
#ifndef AML_BINDING_DEVICES_H
#define AML_BINDING_DEVICES_H

#include <stddef.h>

#include <aml/binding.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How units are spread over the devices. */
enum aml_binding_distribution {
	/** Every unit on the one device. */
	AML_BINDING_SINGLE,
	/** Unit u on device u mod n. */
	AML_BINDING_INTERLEAVE,
	/** Contiguous shares: unit u of N on device u * n / N. */
	AML_BINDING_BLOCK,
	/** Number of distributions; not a distribution. */
	AML_BINDING_DISTRIBUTION_COUNT
};

/** Most devices one binding spans. */
#define AML_BINDING_DEVICES_MAX 64

/** Storage for a device-list binding. Pass &x.base to aml_binding_*(). */
struct aml_binding_devices {
	/** Generic handle. Keep first. */
	struct aml_binding base;
	/** @privatesection */
	/* Private: use the aml_binding_devices_*() functions. */
	const struct aml_device *devices[AML_BINDING_DEVICES_MAX];
	size_t ndevices;
	enum aml_binding_distribution distribution;
	enum aml_binding_unit unit;
};

/** Declare storage for a device-list binding. */
#define AML_BINDING_DEVICES_DECL(name) struct aml_binding_devices name

/**
 * Initialise a device-list binding.
 * @return 0; AML_EINVAL for a NULL binding or device list, no device, more
 *         than AML_BINDING_DEVICES_MAX, a NULL device, SINGLE with more than
 *         one device, or an unknown distribution or unit. Nothing is
 *         allocated; the storage is untouched on error.
 */
int aml_binding_devices_init(struct aml_binding_devices *binding,
                             const struct aml_device *const *devices,
                             size_t ndevices,
                             enum aml_binding_distribution distribution,
                             enum aml_binding_unit unit);

/** Finalise (nothing to free; for symmetry). NULL is a no-op. */
void aml_binding_devices_fini(struct aml_binding_devices *binding);

/** aml_binding_devices_init() into one allocation; *out NULL on error.
 * @return as init, or AML_ENOMEM. */
int aml_binding_devices_create(struct aml_binding **out,
                               const struct aml_device *const *devices,
                               size_t ndevices,
                               enum aml_binding_distribution distribution,
                               enum aml_binding_unit unit);

/** Free a binding from _create() and set *binding to NULL. NULL, a pointer
 * to NULL and a binding of another kind are left alone. */
void aml_binding_devices_destroy(struct aml_binding **binding);

#ifdef __cplusplus
}
#endif

#endif /* AML_BINDING_DEVICES_H */
