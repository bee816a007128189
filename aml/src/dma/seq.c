/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sequential engine (aml/dma/seq.h): submit copies at once; a request
 * only carries the result to wait(). Live requests form a doubly linked
 * list so that fini can free those never waited.
 */
#include <stdlib.h>

#include <aml/dma/seq.h>
#include <aml/error.h>

#include "aml/src/dma/plan.h"
#include "aml/src/topology.h"

struct aml_dma_request {
	struct aml_dma_request *next;
	struct aml_dma_request *prev;
	int status;
};

static struct aml_dma_seq *seq_of(struct aml_dma *dma)
{
	return dma->data;
}

static int seq_run(struct aml_dma_seq *self,
                   struct aml_dma_request **out,
                   const struct aml_dma_plan *plan)
{
	struct aml_dma_request *r = NULL;
	if (out != NULL) {
		/* Allocated first: AML_ENOMEM must mean nothing was copied. */
		r = malloc(sizeof(*r));
		if (r == NULL)
			return AML_ENOMEM;
	}
	int status = aml_dma_plan_copy(plan, 0, plan->bytes, self->charged);
	if (r == NULL)
		return 0;
	*r = (struct aml_dma_request){.status = status};
	pthread_mutex_lock(&self->lock);
	r->next = self->live;
	if (self->live != NULL)
		self->live->prev = r;
	self->live = r;
	pthread_mutex_unlock(&self->lock);
	*out = r;
	return 0;
}

static int seq_submit(struct aml_dma *dma,
                      struct aml_dma_request **out,
                      const struct aml_layout *dst,
                      const struct aml_layout *src)
{
	struct aml_dma_plan plan;
	int err = aml_dma_plan_layouts(&plan, dst, src);
	return err != 0 ? err : seq_run(seq_of(dma), out, &plan);
}

static int seq_submit_bytes(struct aml_dma *dma,
                            struct aml_dma_request **out,
                            void *dst,
                            const void *src,
                            size_t size)
{
	struct aml_dma_plan plan;
	int err = aml_dma_plan_bytes(&plan, dst, src, size);
	return err != 0 ? err : seq_run(seq_of(dma), out, &plan);
}

static void seq_forget(struct aml_dma_seq *self, struct aml_dma_request *r)
{
	pthread_mutex_lock(&self->lock);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		self->live = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	pthread_mutex_unlock(&self->lock);
	free(r);
}

static int seq_wait(struct aml_dma *dma, struct aml_dma_request *r)
{
	int status = r->status;
	seq_forget(seq_of(dma), r);
	return status;
}

static int seq_cancel(struct aml_dma *dma, struct aml_dma_request *r)
{
	seq_forget(seq_of(dma), r);
	return 1; /* every copy has ended by the time submit returns */
}

static int seq_barrier(struct aml_dma *dma)
{
	(void)dma;
	return 0;
}

static const struct aml_dma_ops aml_dma_seq_ops = {
        .submit = seq_submit,
        .submit_bytes = seq_submit_bytes,
        .wait = seq_wait,
        .cancel = seq_cancel,
        .barrier = seq_barrier,
};

int aml_dma_seq_init(struct aml_dma_seq *dma,
                     const struct aml_topology *topology)
{
	if (dma == NULL)
		return AML_EINVAL;
	*dma = (struct aml_dma_seq){
	        .base = {.ops = &aml_dma_seq_ops, .data = dma},
	        .charged = aml_topology_charging(topology),
	};
	pthread_mutex_init(&dma->lock, NULL);
	return 0;
}

void aml_dma_seq_fini(struct aml_dma_seq *dma)
{
	if (dma == NULL)
		return;
	if (dma->base.ops == NULL)
		return; /* never initialised, or finalised already */
	while (dma->live != NULL)
		seq_forget(dma, dma->live);
	pthread_mutex_destroy(&dma->lock);
	dma->base.ops = NULL;
	dma->base.data = NULL;
}

int aml_dma_seq_create(struct aml_dma **out,
                       const struct aml_topology *topology)
{
	if (out == NULL)
		return AML_EINVAL;
	*out = NULL;
	struct aml_dma_seq *dma = malloc(sizeof(*dma));
	if (dma == NULL)
		return AML_ENOMEM;
	aml_dma_seq_init(dma, topology);
	*out = &dma->base;
	return 0;
}

void aml_dma_seq_destroy(struct aml_dma **dma)
{
	if (dma == NULL || *dma == NULL || (*dma)->ops != &aml_dma_seq_ops)
		return;
	struct aml_dma_seq *self = (*dma)->data;
	aml_dma_seq_fini(self);
	free(self);
	*dma = NULL;
}
