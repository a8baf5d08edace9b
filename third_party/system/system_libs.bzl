"""Exposes Debian's system C++ libraries to Bazel.

Headers live in /usr/include (the compiler's default search path), so each
library is a cc_library that only carries link options, read from pkg-config
when the repository is set up. Nothing is downloaded.
"""

# Bazel target name -> pkg-config modules (or raw -l flags for libraries that
# ship no .pc file; they come first on the link line, before the modules).
_LIBS = {
    "absl": [
        "absl_status", "absl_statusor", "absl_strings", "absl_str_format",
        "absl_time", "absl_synchronization", "absl_flags", "absl_flags_parse",
        "absl_hash", "absl_raw_hash_set", "absl_random_random", "absl_btree",
        "absl_flat_hash_map", "absl_cord",
    ],
    "protobuf": ["protobuf"],
    "grpc": ["grpc++"],
    "grpc_reflection": ["-lgrpc++_reflection"],
    "rocksdb": ["rocksdb"],
    "gtest": ["gtest", "gmock"],
    "gtest_main": ["gtest_main"],
    "benchmark": ["benchmark"],
    "benchmark_main": ["-lbenchmark_main", "-lbenchmark"],
    "jemalloc": ["jemalloc"],
    "crypto": ["libcrypto"],
    # The webhook endpoint's JSON parser (server/http/webhook_json.h).
    "simdjson": ["simdjson"],
    # Debian's libphonenumber-dev ships no .pc file: link the library by name,
    # plus what libphonenumber.so is linked against (its NEEDED entries:
    # protobuf, ICU, Abseil hash/strings) and what its headers instantiate
    # (protobuf messages, absl::node_hash_map).
    "phonenumber": [
        "-lphonenumber", "protobuf", "icu-uc", "icu-i18n",
        "absl_hash", "absl_raw_hash_set", "absl_strings",
    ],
}

# Libraries whose headers need the -D flags of `pkg-config --cflags`: they
# become the target's `defines`, so every includer sees one layout.
# (simdjson: SIMDJSON_THREADS_ENABLED changes dom::parser's members.)
_WITH_DEFINES = ["simdjson"]

def _pkg_config_defines(ctx, modules):
    r = ctx.execute(["pkg-config", "--cflags-only-other"] + modules)
    if r.return_code != 0:
        fail("pkg-config failed for %s: %s" % (modules, r.stderr))
    return [f[2:] for f in r.stdout.strip().split(" ") if f.startswith("-D")]

def _pkg_config(ctx, modules):
    flags = []
    pc = []
    for m in modules:
        if m.startswith("-"):
            flags.append(m)
        else:
            pc.append(m)
    if pc:
        r = ctx.execute(["pkg-config", "--libs"] + pc)
        if r.return_code != 0:
            fail("pkg-config failed for %s: %s" % (pc, r.stderr))
        flags = flags + r.stdout.strip().split(" ")
    return [f for f in flags if f]

def _system_libs_impl(ctx):
    out = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, modules in _LIBS.items():
        flags = _pkg_config(ctx, modules)
        out.append("cc_library(")
        out.append('    name = "%s",' % name)
        out.append("    linkopts = %s," % repr(flags + ["-lpthread"]))
        if name in _WITH_DEFINES:
            out.append("    defines = %s," % repr(_pkg_config_defines(ctx, modules)))
        out.append(")")
        out.append("")
    ctx.file("BUILD", "\n".join(out))
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
)
