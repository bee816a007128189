/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bindings over a list of devices: single, interleave and block, which
 * differ only in the arithmetic from a unit to a device.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include <aml/binding/devices.h>
#include <aml/error.h>

static const struct aml_binding_ops binding_devices_ops;

/*
 * a * b / c, rounded down or up, exactly: in 64 bits when both factors are
 * below 2^32 (a buffer of fewer than 2^32 pages or tiles), else in 128 bits,
 * a libgcc call.
 */
static size_t binding_mul_div(size_t a, size_t b, size_t c, bool round_up)
{
	if (a < ((size_t)1 << 32) && b < ((size_t)1 << 32)) {
		size_t product = a * b;
		return product / c + (round_up && product % c != 0);
	}
	__extension__ unsigned __int128 product = (unsigned __int128)a * b;
	return (size_t)(product / c + (round_up && product % c != 0));
}

/* The block share, i.e. the device index, of `unit`: unit * n / N. */
static size_t binding_block_share(const struct aml_binding_devices *self,
                                  size_t unit,
                                  size_t nunits)
{
	return binding_mul_div(unit, self->ndevices, nunits, false);
}

static const struct aml_device *binding_devices_device_of(
        const struct aml_binding *binding, size_t unit, size_t nunits)
{
	const struct aml_binding_devices *self = binding->data;
	switch (self->distribution) {
	case AML_BINDING_INTERLEAVE:
		return self->devices[unit % self->ndevices];
	case AML_BINDING_BLOCK:
		return self->devices[binding_block_share(self, unit, nunits)];
	default: /* AML_BINDING_SINGLE */
		return self->devices[0];
	}
}

static size_t binding_devices_run_end(const struct aml_binding *binding,
                                      size_t unit,
                                      size_t nunits)
{
	const struct aml_binding_devices *self = binding->data;
	if (self->ndevices == 1)
		return nunits;
	if (self->distribution == AML_BINDING_INTERLEAVE)
		return unit + 1;
	/* BLOCK: share s holds the units u with s * N <= u * n < (s + 1) * N,
	 * so its run ends at ceil((s + 1) * N / n), at most N as s < n. */
	size_t share = binding_block_share(self, unit, nunits);
	return binding_mul_div(share + 1, nunits, self->ndevices, true);
}

static enum aml_binding_unit binding_devices_unit(const struct aml_binding *b)
{
	const struct aml_binding_devices *self = b->data;
	return self->unit;
}

static const struct aml_binding_ops binding_devices_ops = {
        .device_of = binding_devices_device_of,
        .unit = binding_devices_unit,
        .run_end = binding_devices_run_end,
};

int aml_binding_devices_init(struct aml_binding_devices *binding,
                             const struct aml_device *const *devices,
                             size_t ndevices,
                             enum aml_binding_distribution distribution,
                             enum aml_binding_unit unit)
{
	if (binding == NULL || devices == NULL || ndevices == 0 ||
	    ndevices > AML_BINDING_DEVICES_MAX || (int)distribution < 0 ||
	    (int)distribution >= AML_BINDING_DISTRIBUTION_COUNT ||
	    (int)unit < 0 || (int)unit >= AML_BINDING_UNIT_COUNT ||
	    (distribution == AML_BINDING_SINGLE && ndevices != 1))
		return AML_EINVAL;
	for (size_t i = 0; i < ndevices; i++) {
		if (devices[i] == NULL)
			return AML_EINVAL;
	}
	*binding = (struct aml_binding_devices){
	        .base = {.ops = &binding_devices_ops, .data = binding},
	        .ndevices = ndevices,
	        .distribution = distribution,
	        .unit = unit,
	};
	for (size_t i = 0; i < ndevices; i++)
		binding->devices[i] = devices[i];
	return 0;
}

void aml_binding_devices_fini(struct aml_binding_devices *binding)
{
	(void)binding; /* owns nothing */
}

int aml_binding_devices_create(struct aml_binding **out,
                               const struct aml_device *const *devices,
                               size_t ndevices,
                               enum aml_binding_distribution distribution,
                               enum aml_binding_unit unit)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_binding_devices *b = malloc(sizeof(*b));
	if (b == NULL)
		return AML_ENOMEM;
	int err = aml_binding_devices_init(b, devices, ndevices, distribution,
	                                   unit);
	if (err != 0) {
		free(b);
		return err;
	}
	*out = &b->base;
	return 0;
}

void aml_binding_devices_destroy(struct aml_binding **binding)
{
	if (binding == NULL || *binding == NULL ||
	    (*binding)->ops != &binding_devices_ops)
		return;
	aml_binding_devices_fini((*binding)->data);
	free((*binding)->data);
	*binding = NULL;
}
