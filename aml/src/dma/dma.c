/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic dma functions: check the handle and the pointers, then call the
 * engine's op. Layouts are checked by the engines, which plan the copy
 * (aml/src/dma/plan.h) and would otherwise plan it twice.
 */
#include <stddef.h>
#include <stdint.h>

#include <aml/dma.h>
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
	return dma->ops->submit(dma, out, dst, src);
}

/* A 1-d layout of bytes, for the _bytes variants. */
static int dma_bytes_layout(struct aml_layout *out, void *ptr, size_t size)
{
	if (ptr == NULL || size == 0)
		return AML_EINVAL;
	return aml_layout_init(out, ptr, AML_LAYOUT_ORDER_C, 1, 1, &size, NULL);
}

int aml_dma_async_copy_bytes(struct aml_dma *dma,
                             struct aml_dma_request **out,
                             void *dst,
                             const void *src,
                             size_t size)
{
	if (out != NULL)
		*out = NULL;
	if (!dma_is_usable(dma) || dst == NULL || src == NULL || size == 0)
		return AML_EINVAL;
	if (dma->ops->submit_bytes != NULL)
		return dma->ops->submit_bytes(dma, out, dst, src, size);
	struct aml_layout d, s;
	/* The source layout is only read: its base is never written. */
	if (dma_bytes_layout(&d, dst, size) != 0 ||
	    dma_bytes_layout(&s, (void *)(uintptr_t)src, size) != 0)
		return AML_EINVAL;
	return aml_dma_async_copy(dma, out, &d, &s);
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
