/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The program each install consumer builds (tools/install_test.sh): it
 * checks that the headers and the library it was linked with agree, that
 * pkg-config's version (argv[1]) is the library's, and calls the API: an
 * emulated topology, an area on its fast tier, a pool arena in it. Where
 * the program links libaml.so, it also calls the exported twins of the
 * inline functions through dlsym(), as a binding would.
 *   app VERSION
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml.h>
#include <aml/area/device.h>
#include <aml/arena/pool.h>

static void expect(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "app: FAILED: %s\n", what);
		exit(1);
	}
}

static void expect_ok(int err, const char *call)
{
	if (err != 0) {
		fprintf(stderr, "app: FAILED: %s: %s\n", call,
		        aml_errname(err));
		exit(1);
	}
}

/* The out-of-line aml_arena_malloc() and aml_arena_free(), as a binding
 * finds them; 0 when the program has no dynamic symbol table (static). */
static int check_twins(struct aml_arena *arena)
{
	void *(*twin_malloc)(struct aml_arena *, size_t);
	int (*twin_free)(struct aml_arena *, void *);
	void *(*twin_tile_ptr)(const struct aml_tiling *, size_t);

	if (dlsym(RTLD_DEFAULT, "aml_version_string") == NULL)
		return 0;
	*(void **)&twin_malloc = dlsym(RTLD_DEFAULT, "aml_arena_malloc");
	*(void **)&twin_free = dlsym(RTLD_DEFAULT, "aml_arena_free");
	*(void **)&twin_tile_ptr = dlsym(RTLD_DEFAULT, "aml_tiling_tile_ptr");
	expect(twin_malloc != NULL && twin_free != NULL &&
	               twin_tile_ptr != NULL,
	       "libaml.so exports the inline functions' twins");

	aml_errno = 0;
	expect(twin_malloc(NULL, 8) == NULL && aml_errno == AML_EINVAL,
	       "aml_arena_malloc(NULL) is AML_EINVAL, as inline");
	expect(twin_free(NULL, NULL) == AML_EINVAL,
	       "aml_arena_free(NULL) is AML_EINVAL, as inline");
	aml_errno = 0;
	expect(twin_tile_ptr(NULL, 0) == NULL && aml_errno == AML_EINVAL,
	       "aml_tiling_tile_ptr(NULL) is AML_EINVAL, as inline");

	double *x = twin_malloc(arena, sizeof(*x));
	expect(x != NULL, "aml_arena_malloc (twin)");
	*x = 1.5;
	expect_ok(twin_free(arena, x), "aml_arena_free (twin)");
	return 1;
}

int main(int argc, char **argv)
{
	expect(argc == 2, "usage: app VERSION");
	expect_ok(AML_VERSION_CHECK(), "AML_VERSION_CHECK");
	expect(strcmp(aml_version_string(), argv[1]) == 0,
	       "pkg-config's version is aml_version_string()");

	struct aml_topology *t = NULL;
	expect_ok(aml_emu_create(&t, "knl-flat;scale=1/1024", NULL),
	          "aml_emu_create");
	expect(aml_topology_ndevices(t) == 2, "knl-flat has two devices");
	const struct aml_device *mcdram = aml_topology_device(t, 1);

	AML_AREA_DEVICE_DECL(fast);
	expect_ok(
	        aml_area_device_init(&fast, t, &mcdram, 1, AML_AREA_BIND, NULL),
	        "aml_area_device_init");
	AML_ARENA_POOL_DECL(pool);
	expect_ok(aml_arena_pool_init(&pool, &fast.base, sizeof(double), 0, 0),
	          "aml_arena_pool_init");

	double *x = aml_arena_malloc(&pool.base, sizeof(*x));
	expect(x != NULL, "aml_arena_malloc");
	*x = 2.5;
	expect_ok(aml_arena_free(&pool.base, x), "aml_arena_free");
	int twins = check_twins(&pool.base);

	aml_arena_pool_fini(&pool);
	aml_area_device_fini(&fast);
	aml_topology_destroy(&t);
	printf("app: aml %s ok (%s)\n", aml_version_string(),
	       twins ? "shared, twins checked" : "static");
	return 0;
}
