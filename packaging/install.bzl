"""libaml.so and libaml.a from //aml's objects, for the install (docs/install.md).

Bazel 4.2.3 has no rule for "one shared library of everything under a
target": a cc_binary(linkshared = True) keeps only the objects something
references unless every library is alwayslink. This rule takes the objects
of every library //aml links (CcInfo's linker inputs; the host libraries
there bring flags only) and links them once, with the flags those libraries
ask for (-lnuma, -lhwloc, -lmemkind as found, -pthread).
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _pic_objects(dep):
    """Every position-independent object of dep's libraries, in link order."""
    objects = []
    for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
        for library in linker_input.libraries:
            objects += library.pic_objects or library.objects
    return objects

def _link_flags(dep):
    """The flags dep's libraries ask for, each once, in order."""
    flags = []
    for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
        for flag in linker_input.user_link_flags:
            if flag not in flags:
                flags.append(flag)
    return flags

def _aml_libraries_impl(ctx):
    cc = find_cpp_toolchain(ctx)
    pic_objects = _pic_objects(ctx.attr.dep)
    # PIC in the archive too: a consumer may link it into its own shared
    # library, and PIE executables take it either way.
    objects = pic_objects
    flags = _link_flags(ctx.attr.dep)

    # MAJOR.MINOR.PATCH from <aml/version.h>, the one place it is written.
    version = ctx.actions.declare_file("version.txt")
    ctx.actions.run_shell(
        inputs = [ctx.file.version_header],
        outputs = [version],
        command = """
set -eu
v() { sed -n "s/^#define AML_VERSION_$1 \\([0-9]*\\)$/\\1/p" "$2"; }
h=%s
printf '%%s.%%s.%%s\\n' "$(v MAJOR $h)" "$(v MINOR $h)" "$(v PATCH $h)" > %s
""" % (ctx.file.version_header.path, version.path),
        mnemonic = "AmlVersion",
    )

    # The install's include/ tree: the public headers and the generated
    # <aml/build_config.h>, each at the path a consumer includes it by.
    include = ctx.actions.declare_directory("include")
    staged = []
    for header in ctx.files.public_headers + [ctx.file.build_config]:
        staged += [header.path, header.path[header.path.rindex("include/") + len("include/"):]]
    ctx.actions.run_shell(
        inputs = ctx.files.public_headers + [ctx.file.build_config],
        outputs = [include],
        command = """
set -eu
out=$1; shift
while [ $# -gt 0 ]; do
	mkdir -p "$out/$(dirname "$2")"
	cp "$1" "$out/$2"
	shift 2
done
""",
        arguments = [include.path] + staged,
        mnemonic = "AmlIncludeTree",
    )

    # The API as the headers declare it, and the version script that
    # exports exactly that: aml's internal functions stay local.
    symbols = ctx.actions.declare_file("public_symbols.txt")
    ctx.actions.run_shell(
        inputs = depset([include], transitive = [cc.all_files]),
        outputs = [symbols],
        tools = [ctx.executable._public_symbols],
        command = "%s %s %s > %s" % (
            ctx.executable._public_symbols.path,
            cc.compiler_executable,
            include.path,
            symbols.path,
        ),
        mnemonic = "AmlPublicSymbols",
        use_default_shell_env = True,
    )
    version_script = ctx.actions.declare_file("libaml.map")
    ctx.actions.run_shell(
        inputs = [symbols],
        outputs = [version_script],
        command = """
set -eu
{{
	echo '/* Generated from the public headers (packaging/public_symbols.sh). */'
	echo '{{'
	echo '	global:'
	sed 's/.*/		&;/' {symbols}
	echo '	local:'
	echo '		*;'
	echo '}};'
}} > {out}
""".format(symbols = symbols.path, out = version_script.path),
        mnemonic = "AmlVersionScript",
    )

    # The SONAME follows the version policy (<aml/version.h>): while the
    # major is 0 every minor may break the ABI, so it is libaml.so.0.MINOR;
    # from 1.0 on, libaml.so.MAJOR.
    shared = ctx.actions.declare_file("libaml.so")
    ctx.actions.run_shell(
        inputs = depset([version, version_script] + pic_objects, transitive = [cc.all_files]),
        outputs = [shared],
        command = """
set -eu
IFS=. read -r major minor patch < {version}
if [ "$major" = 0 ]; then soname=libaml.so.0.$minor; else soname=libaml.so.$major; fi
{cc} -shared -o {out} -Wl,-soname,$soname -Wl,--version-script,{script} \\
	-Wl,--no-undefined -Wl,-z,relro -Wl,-z,now "$@"
""".format(
            version = version.path,
            cc = cc.compiler_executable,
            out = shared.path,
            script = version_script.path,
        ),
        # --linkopt too: a sanitizer build's objects need its runtime.
        arguments = [o.path for o in pic_objects] + flags + ctx.fragments.cpp.linkopts,
        mnemonic = "AmlSharedLibrary",
        use_default_shell_env = True,
        progress_message = "Linking libaml.so",
    )

    # One archive: objects of different libraries may share a basename
    # (two area.o), and `ar` keeps one member per name, so each is copied
    # under a name made from its package path first.
    static = ctx.actions.declare_file("libaml.a")
    ctx.actions.run_shell(
        inputs = depset(objects, transitive = [cc.all_files]),
        outputs = [static],
        command = """
set -eu
out=$1; shift
stage=$out.objects
rm -rf "$stage" "$out"; mkdir -p "$stage"
for o in "$@"; do
	name=$(printf '%%s' "${o#*/bin/}" | sed 's|/_objs/|/|; s|/|_|g')
	cp "$o" "$stage/$name"
done
(cd "$stage" && %s rcsD "$OLDPWD/$out" $(ls | LC_ALL=C sort))
rm -rf "$stage"
""" % cc.ar_executable,
        arguments = [static.path] + [o.path for o in objects],
        mnemonic = "AmlStaticLibrary",
        use_default_shell_env = True,
        progress_message = "Archiving libaml.a",
    )

    # The flags a static link needs after -laml (pkg-config's Libs.private).
    link_flags = ctx.actions.declare_file("link_flags.txt")
    ctx.actions.write(link_flags, "\n".join(flags) + "\n")

    outputs = [shared, static, include, version, link_flags, symbols]
    return [DefaultInfo(
        files = depset(outputs),
        # As data of the install script and the tests.
        runfiles = ctx.runfiles(files = outputs),
    )]

aml_libraries = rule(
    implementation = _aml_libraries_impl,
    attrs = {
        "dep": attr.label(providers = [CcInfo], mandatory = True),
        "version_header": attr.label(allow_single_file = [".h"], mandatory = True),
        "public_headers": attr.label_list(allow_files = [".h"], mandatory = True),
        "build_config": attr.label(allow_single_file = [".h"], mandatory = True),
        "_public_symbols": attr.label(
            default = ":public_symbols.sh",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
    },
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    fragments = ["cpp"],
    doc = "libaml.so, libaml.a, include/, version.txt, link_flags.txt and public_symbols.txt.",
)
