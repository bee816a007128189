/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scratchpad's copies in flight (async.c), as scratchpad.c sees them:
 * a synchronous pull joins a load in flight, and fini completes every copy.
 * The layer below scratchpad.c, above slots.c and index.c (internal.h).
 *
 * Both functions are called and return with sp->lock held.
 */
#ifndef AML_SRC_SCRATCHPAD_ASYNC_H
#define AML_SRC_SCRATCHPAD_ASYNC_H

#include <aml/scratchpad.h>

#include "aml/src/scratchpad/internal.h"

/* Complete @p x if IN_FLIGHT or REDO, keeping the lock (fini). */
void aml_scratchpad_settle(struct aml_scratchpad *sp,
                           struct aml_scratchpad_xfer *x);
/* Wait for @p x and drop one handle on it; unlocks while waiting. */
int aml_scratchpad_request_wait(struct aml_scratchpad *sp,
                                struct aml_scratchpad_xfer *x);

#endif /* AML_SRC_SCRATCHPAD_ASYNC_H */
