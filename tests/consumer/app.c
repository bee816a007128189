#include <stdio.h>

#include <aml.h>

int main(void)
{
	int err = AML_VERSION_CHECK();
	const struct aml_topology *t = aml_topology_default();
	if (err != 0 || t == NULL) {
		fprintf(stderr, "aml: %s\n",
		        aml_strerror(err ? err : aml_errno));
		return 1;
	}
	printf("aml %s, %s:\n", aml_version_string(), aml_topology_source(t));
	AML_TOPOLOGY_FOREACH (dev, t) {
		printf("  %-8s %-5s %zu MiB\n", dev->name,
		       aml_device_kind_name(dev->kind), dev->capacity >> 20);
	}
	return 0;
}
