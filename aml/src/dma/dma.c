/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic dma functions: check the handle and the pointers, plan the copy
 * (aml/dma/plan.h), then call the engine's op with the plan. Planning
 * happens here, once, so every engine gets the same checks and none plans
 * twice.
 */
#include <stddef.h>

#include <aml/dma.h>
#include <aml/dma/plan.h>
#include <aml/error.h>

static int dma_is_usable(const struct aml_dma *dma)
{
	return dma != NULL && dma->ops != NULL;
}

int aml_dma_async_copy(struct aml_dma *dma,
                       struct aml_dma_request **out,
                       const struct aml_layout *dst,
                       const struct aml_layout *src)
{
	if (out != NULL)
		*out = NULL;
	if (!dma_is_usable(dma) || dst == NULL || src == NULL)
		return AML_EINVAL;
	struct aml_dma_plan plan;
	int err = aml_dma_plan_layouts(&plan, dst, src);
	return err != 0 ? err : dma->ops->submit(dma, out, &plan);
}

int aml_dma_async_copy_bytes(struct aml_dma *dma,
                             struct aml_dma_request **out,
                             void *dst,
                             const void *src,
                             size_t size)
{
	if (out != NULL)
		*out = NULL;
	if (!dma_is_usable(dma))
		return AML_EINVAL;
	struct aml_dma_plan plan;
	int err = aml_dma_plan_bytes(&plan, dst, src, size);
	return err != 0 ? err : dma->ops->submit(dma, out, &plan);
}

int aml_dma_wait(struct aml_dma *dma, struct aml_dma_request **request)
{
	if (!dma_is_usable(dma) || request == NULL || *request == NULL)
		return AML_EINVAL;
	int err = dma->ops->wait(dma, *request);
	*request = NULL;
	return err;
}

int aml_dma_cancel(struct aml_dma *dma, struct aml_dma_request **request)
{
	if (!dma_is_usable(dma) || request == NULL || *request == NULL)
		return AML_EINVAL;
	int ret = dma->ops->cancel(dma, *request);
	*request = NULL;
	return ret;
}

int aml_dma_barrier(struct aml_dma *dma)
{
	if (!dma_is_usable(dma))
		return AML_EINVAL;
	return dma->ops->barrier(dma);
}

int aml_dma_copy(struct aml_dma *dma,
                 const struct aml_layout *dst,
                 const struct aml_layout *src)
{
	struct aml_dma_request *request;
	int err = aml_dma_async_copy(dma, &request, dst, src);
	if (err != 0)
		return err;
	return aml_dma_wait(dma, &request);
}

int aml_dma_copy_bytes(struct aml_dma *dma,
                       void *dst,
                       const void *src,
                       size_t size)
{
	struct aml_dma_request *request;
	int err = aml_dma_async_copy_bytes(dma, &request, dst, src, size);
	if (err != 0)
		return err;
	return aml_dma_wait(dma, &request);
}
