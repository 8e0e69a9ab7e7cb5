#!/usr/bin/env python3
"""Build step (src/CMakeLists.txt): reads the API description (docs/openapi.yaml), checks that it is
an OpenAPI 3.1 document, and writes it as compact JSON into a C++ source that defines
emporium::apidoc::OpenApiJson(), so the binary serves it without reading any file at run time.

usage: embed_openapi.py INPUT.yaml OUTPUT.cpp"""
import json
import sys

import yaml


def main(source, target):
    with open(source, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3.1."):
        sys.exit(f"{source}: not an OpenAPI 3.1 document")
    # ASCII only (non-ASCII as \u escapes): every byte fits a plain char.
    text = json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("utf-8")
    rows = [", ".join(str(b) for b in text[i:i + 32]) for i in range(0, len(text), 32)]
    with open(target, "w", encoding="utf-8") as f:
        f.write(f"// Generated from {source.rsplit('/', 1)[-1]} by scripts/embed_openapi.py: do not edit.\n")
        f.write('#include "apidoc/apidoc.h"\n\nnamespace emporium::apidoc {\nnamespace {\n')
        f.write("constexpr char kDocument[] = {\n" + ",\n".join(rows) + "};\n}  // namespace\n\n")
        f.write("std::string_view OpenApiJson() { return {kDocument, sizeof kDocument}; }\n\n")
        f.write("}  // namespace emporium::apidoc\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
