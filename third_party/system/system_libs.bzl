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
    # The HTTP listener; its .pc file also gives the defines (OpenSSL, zlib,
    # Brotli support) that fix the layout of its classes.
    "httplib": ["cpp-httplib"],
    # HTTP client for tests and benchmarks.
    "curl": ["libcurl"],
    # CRC-32 (the IEEE one nginx's consistent hash uses; cluster/portfolio_ring.h).
    "zlib": ["zlib"],
    # The webhook endpoint's JSON reader (server/http/webhook_json.h).
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

# Libraries whose -D flags from pkg-config must reach their users (the others'
# are harmless, e.g. NOMINMAX, and left out). simdjson: SIMDJSON_THREADS_ENABLED
# changes dom::parser's members.
_WITH_DEFINES = ["httplib", "simdjson"]

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

def _pkg_config_defines(ctx, modules):
    pc = [m for m in modules if not m.startswith("-")]
    if not pc:
        return []
    r = ctx.execute(["pkg-config", "--cflags-only-other"] + pc)
    if r.return_code != 0:
        fail("pkg-config failed for %s: %s" % (pc, r.stderr))
    return [f[2:] for f in r.stdout.strip().split(" ") if f.startswith("-D")]

def _system_libs_impl(ctx):
    out = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, modules in _LIBS.items():
        flags = _pkg_config(ctx, modules)
        defines = _pkg_config_defines(ctx, modules) if name in _WITH_DEFINES else []
        out.append("cc_library(")
        out.append('    name = "%s",' % name)
        out.append("    linkopts = %s," % repr(flags + ["-lpthread"]))
        if defines:
            out.append("    defines = %s," % repr(defines))
        out.append(")")
        out.append("")
    ctx.file("BUILD", "\n".join(out))
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
)
