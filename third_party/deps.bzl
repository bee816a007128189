"""Repositories a workspace needs before it can build @aml//aml.

In a consuming WORKSPACE:

    local_repository(name = "aml", path = "/path/to/aml")
    load("@aml//third_party:deps.bzl", "aml_dependencies")
    aml_dependencies()
"""

load("//third_party:host_libs.bzl", "aml_host_libs", "aml_test_libs")

def aml_dependencies():
    """Declares @aml_host and @aml_test_libs unless the workspace already has them.

    Both are local repository rules that read the host: nothing is downloaded.
    @aml_test_libs (googletest, google-benchmark) is fetched only when one of
    aml's own tests or benchmarks is built, so consumers do not need them.
    """
    if "aml_host" not in native.existing_rules():
        aml_host_libs(name = "aml_host")
    if "aml_test_libs" not in native.existing_rules():
        aml_test_libs(name = "aml_test_libs")
