/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file aml.h
 * aml: building blocks for memory on heterogeneous devices.
 *
 * The umbrella header: include it and depend on `@aml//aml`. It brings in the
 * generic API of every block and the core utilities (errors, version,
 * bitmaps, backends, devices and topologies); implementation-specific and
 * backend-specific headers (aml/device/memkind.h) live under aml/.
 * Every header compiles as C11 and as C++.
 */
#ifndef AML_H
#define AML_H

#include <aml/area.h>
#include <aml/arena.h>
#include <aml/backend.h>
#include <aml/binding.h>
#include <aml/bitmap.h>
#include <aml/build_config.h>
#include <aml/copier.h>
#include <aml/device.h>
#include <aml/dma.h>
#include <aml/emulator.h>
#include <aml/error.h>
#include <aml/fast.h>
#include <aml/layout.h>
#include <aml/replicaset.h>
#include <aml/scratchpad.h>
#include <aml/tiling.h>
#include <aml/topology.h>
#include <aml/version.h>

#endif /* AML_H */
