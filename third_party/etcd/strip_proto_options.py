#!/usr/bin/env python3
"""Strips etcd's gogoproto and google.api options from a .proto file.

Debian ships etcd's protos with imports of gogoproto/gogo.proto and
google/api/annotations.proto, which neither libprotobuf-dev nor anything else
installed provides. Both only steer Go code generation and the HTTP gateway;
the wire format of the messages and services does not depend on them, so the
C++ stubs are generated from the protos without them.

    strip_proto_options.py IN OUT
"""
import re
import sys


def strip_http_options(text):
    """Removes every `option (google.api.http) = { ... };`, braces nested."""
    out = []
    pos = 0
    opener = re.compile(r"[ \t]*option \(google\.api\.http\) = \{")
    while True:
        m = opener.search(text, pos)
        if not m:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:m.start()])
        depth = 1
        i = m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        while text[i] in " \t;":  # The closing "};" and what ends its line.
            i += 1
        if text[i] == "\n":
            i += 1
        pos = i


def strip(text):
    text = re.sub(r'^import "(gogoproto/gogo|google/api/annotations)\.proto";\n', "", text, flags=re.M)
    text = re.sub(r"^option \(gogoproto\.[^;]*;\n", "", text, flags=re.M)
    text = strip_http_options(text)
    # Field options such as [(gogoproto.nullable) = false] (none in 3.4, but cheap).
    text = re.sub(r"\s*\[\(gogoproto\.[^\]]*\]", "", text)
    if "gogoproto" in re.sub(r"//.*", "", text) or "google.api" in re.sub(r"//.*", "", text):
        sys.exit("strip_proto_options: an option was left in place")
    return text


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        text = f.read()
    with open(dst, "w") as f:
        f.write(strip(text))


if __name__ == "__main__":
    main()
