"""The public headers of aml, listed once: a diff here is an API change.

Paths as a consumer includes them (<aml/area.h>), under aml/include/.
//aml:api exports them; //tests:header_self_contained_test compiles each
alone.
"""

AML_PUBLIC_HEADERS = [
    "aml.h",
    "aml/area.h",
    "aml/area/capped.h",
    "aml/area/device.h",
    "aml/area/file.h",
    "aml/arena.h",
    "aml/arena/buddy.h",
    "aml/arena/bump.h",
    "aml/arena/jemalloc.h",
    "aml/arena/locked.h",
    "aml/arena/pool.h",
    "aml/arena/scalable.h",
    "aml/backend.h",
    "aml/binding.h",
    "aml/binding/custom.h",
    "aml/binding/devices.h",
    "aml/bitmap.h",
    "aml/copier.h",
    "aml/device.h",
    "aml/device/memkind.h",
    "aml/dma.h",
    "aml/dma/multiplex.h",
    "aml/dma/par.h",
    "aml/dma/plan.h",
    "aml/dma/seq.h",
    "aml/emulator.h",
    "aml/error.h",
    "aml/fast.h",
    "aml/layout.h",
    "aml/replicaset.h",
    "aml/scratchpad.h",
    "aml/tiling.h",
    "aml/tiling/nd.h",
    "aml/topology.h",
    "aml/version.h",
]

# C++17 only: the owners and allocators over the C API.
AML_PUBLIC_CXX_HEADERS = [
    "aml.hpp",
]
