#!/bin/sh
# Stand-in for Bazel's downloaded coverage tools: see BUILD.bazel beside it.
echo "aml: 'bazel coverage' needs remote_coverage_tools, which this offline build does not provide" >&2
exit 1
