/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Custom bindings: a user callback decides each unit's device.
 */
#include <stdlib.h>

#include <aml/binding/custom.h>
#include <aml/error.h>

static const struct aml_device *binding_custom_device_of(
        const struct aml_binding *binding, size_t unit, size_t nunits)
{
	const struct aml_binding_custom *self = binding->data;
	return self->fn(unit, nunits, self->arg);
}

static enum aml_binding_unit binding_custom_unit(const struct aml_binding *b)
{
	const struct aml_binding_custom *self = b->data;
	return self->unit;
}

static const struct aml_binding_ops binding_custom_ops = {
        .device_of = binding_custom_device_of,
        .unit = binding_custom_unit,
};

int aml_binding_custom_init(struct aml_binding_custom *binding,
                            aml_binding_custom_fn fn,
                            void *arg,
                            enum aml_binding_unit unit)
{
	if (binding == NULL || fn == NULL || (int)unit < 0 ||
	    (int)unit >= AML_BINDING_UNIT_COUNT)
		return AML_EINVAL;
	*binding = (struct aml_binding_custom){
	        .base = {.ops = &binding_custom_ops, .data = binding},
	        .fn = fn,
	        .arg = arg,
	        .unit = unit,
	};
	return 0;
}

void aml_binding_custom_fini(struct aml_binding_custom *binding)
{
	(void)binding; /* owns nothing */
}

int aml_binding_custom_create(struct aml_binding **out,
                              aml_binding_custom_fn fn,
                              void *arg,
                              enum aml_binding_unit unit)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_binding_custom *b = malloc(sizeof(*b));
	if (b == NULL)
		return AML_ENOMEM;
	int err = aml_binding_custom_init(b, fn, arg, unit);
	if (err != 0) {
		free(b);
		return err;
	}
	*out = &b->base;
	return 0;
}

void aml_binding_custom_destroy(struct aml_binding **binding)
{
	if (binding == NULL || *binding == NULL ||
	    (*binding)->ops != &binding_custom_ops)
		return;
	free((*binding)->data);
	*binding = NULL;
}
