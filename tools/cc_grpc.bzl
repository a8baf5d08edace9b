"""C++ protobuf + gRPC code generation with the system protoc and plugin.

Bazel 4.2's proto rules want to download protobuf; a genrule calling Debian's
`protoc` and `grpc_cpp_plugin` does the same job offline.
"""

def cc_grpc_library(name, src, grpc = True, deps = [], proto_deps = []):
    """Generates and compiles <src>.pb.{h,cc} (and .grpc.pb.{h,cc})."""
    base = src[:-len(".proto")]
    outs = [base + ".pb.h", base + ".pb.cc"]
    if grpc:
        outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    # Paths inside the generated code (includes, descriptor names) are from
    # this repository's root, also when another workspace builds it as an
    # external repository (examples/bazel_consumer): its files then sit under
    # external/<name>/ in the exec root and bin directory.
    repo = native.repository_name()
    root = "." if repo == "@" else "external/" + repo[1:]
    gendir = "$(GENDIR)" if repo == "@" else "$(GENDIR)/" + root
    cmd = "protoc -I%s --cpp_out=%s $(location %s)" % (root, gendir, src)
    if grpc:
        cmd += " --grpc_out=%s --plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)" % gendir
    native.genrule(
        name = name + "_gen",
        srcs = [src] + proto_deps,
        outs = outs,
        cmd = cmd,
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["@system//:protobuf"] + (["@system//:grpc"] if grpc else []),
        visibility = ["//visibility:public"],
    )
