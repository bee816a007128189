/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file custom.h
 * A binding that asks a callback for the device of each unit.
 */
#ifndef AML_BINDING_CUSTOM_H
#define AML_BINDING_CUSTOM_H

#include <stddef.h>

#include <aml/binding.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The device of unit @p unit out of @p nunits, or NULL to leave it alone.
 * Called from aml_binding_apply() and aml_binding_check(), in unit order,
 * with the @p arg given at init.
 */
typedef const struct aml_device *(*aml_binding_custom_fn)(size_t unit,
                                                          size_t nunits,
                                                          void *arg);

/** Storage for a custom binding. Pass &x.base to aml_binding_*(). */
struct aml_binding_custom {
	/** Generic handle. Keep first. */
	struct aml_binding base;
	/** @privatesection */
	/* Private. */
	aml_binding_custom_fn fn;
	void *arg;
	enum aml_binding_unit unit;
};

/** Declare storage for a custom binding. */
#define AML_BINDING_CUSTOM_DECL(name) struct aml_binding_custom name

/**
 * Initialise a custom binding.
 * @param[out] binding the storage to initialise.
 * @param fn the callback that names the device of each unit.
 * @param arg passed to @p fn; owned by the caller, must outlive the binding.
 * @param unit what the callback places: pages or tiles.
 * @return 0; AML_EINVAL for a NULL binding or @p fn, or an unknown unit.
 */
int aml_binding_custom_init(struct aml_binding_custom *binding,
                            aml_binding_custom_fn fn,
                            void *arg,
                            enum aml_binding_unit unit);

/** Finalise (nothing to free; for symmetry). NULL is a no-op. */
void aml_binding_custom_fini(struct aml_binding_custom *binding);

/** aml_binding_custom_init() into one allocation; *out NULL on error.
 * @return as init, or AML_ENOMEM. */
int aml_binding_custom_create(struct aml_binding **out,
                              aml_binding_custom_fn fn,
                              void *arg,
                              enum aml_binding_unit unit);

/** Free a binding from _create() and set *binding to NULL. */
void aml_binding_custom_destroy(struct aml_binding **binding);

#ifdef __cplusplus
}
#endif

#endif /* AML_BINDING_CUSTOM_H */
