#!/usr/bin/env python3
"""The layer rule of DESIGN.md §4, checked on every #include under src/.

A file under src/<layer>/ may include headers of the layers its row allows
(its own layer always), and a third-party library's header only in the layers
that own that library. CMake's link order does not catch a wrong include of a
header-only use, so `make test` runs this (scripts/run-tests.sh).

  scripts/check-layers.py [--root DIR]   exit 0 clean, 1 with one line per violation
  scripts/check-layers.py --self-test    proves the check fails on a planted violation
"""
import argparse
import os
import re
import sys
import tempfile

# DESIGN.md §4 (docs/ARCHITECTURE.md keeps the same table).
LOWER = {"base": set(), "core": {"base"}}
LOWER["db"] = LOWER["sys"] = LOWER["net"] = {"base", "core"}
LOWER["acme"] = LOWER["providers"] = {"base", "core", "net"}
LOWER["jobs"] = {"base", "core", "db", "sys", "net", "acme", "providers"}
LOWER["http"] = {"base"}
LOWER["api"] = LOWER["jobs"] | {"jobs", "http"}
LOWER["helper"] = {"base", "core", "sys"}
LOWER["cli"] = LOWER["api"] | {"api", "helper"}
LAYERS = set(LOWER)

# A library's headers belong to the layers that wrap it (base: libc only).
LIBS = [
    (re.compile(r"^sqlite3\.h$"), {"db"}, "SQLite"),
    (re.compile(r"^microhttpd"), {"http"}, "libmicrohttpd"),
    # libcurl: net only (the outbound client ACME and the providers share)
    (re.compile(r"^curl/"), {"net"}, "libcurl"),
    (re.compile(r"^systemd/"), {"sys"}, "libsystemd"),
    (re.compile(r"^archive(_entry)?\.h$"), {"sys"}, "libarchive"),
    (re.compile(r"^yaml\.h$"), {"core"}, "libyaml"),
    (re.compile(r"^crypt\.h$"), {"core"}, "libxcrypt"),
    (re.compile(r"^qrencode\.h$"), {"core"}, "libqrencode"),
    (re.compile(r"^libusb"), {"sys"}, "libusb"),
    (re.compile(r"^(jansson\.h|gnutls/)"), LAYERS - {"base"}, "jansson/GnuTLS"),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def check(root):
    src = os.path.join(root, "src")
    bad = []
    for dirpath, _, files in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        if rel == ".":
            continue  # main.c: argv and construction, may use any layer
        layer = rel.split(os.sep)[0]
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            shown = os.path.relpath(path, root)
            if layer not in LAYERS:
                bad.append(f"{shown}: src/{layer}/ is no layer of DESIGN.md §4 "
                           "(add it to scripts/check-layers.py and docs/ARCHITECTURE.md)")
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for no, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    kind, inc = m.groups()
                    if kind == '"':
                        if ".." in inc.split("/"):
                            bad.append(f"{shown}:{no}: \"{inc}\": no relative paths across layers")
                            continue
                        if "/" not in inc:
                            continue  # beside the file: the same layer
                        dep = inc.split("/")[0]
                        if dep != layer and dep not in LOWER[layer]:
                            bad.append(f"{shown}:{no}: {layer} may not include {inc} "
                                       f"(uses: {', '.join(sorted(LOWER[layer])) or 'libc only'})")
                        continue
                    for pat, owners, lib in LIBS:
                        if pat.search(inc) and layer not in owners:
                            bad.append(f"{shown}:{no}: {layer} may not include <{inc}> "
                                       f"({lib} belongs to {', '.join(sorted(owners))})")
    return bad


def self_test():
    """The check must be able to fail: plant violations in a copy-shaped tree."""
    cases = {
        "src/base/a.c": ('#include "core/config.h"\n', True),
        "src/http/b.c": ('#include "db/db.h"\n', True),
        "src/sys/c.c": ("#include <sqlite3.h>\n", True),
        "src/acme/d.c": ('#include "sys/exec.h"\n', True),
        "src/helper/e.c": ('#include "http/server.h"\n', True),
        "src/weird/f.c": ("\n", True),
        "src/api/g.c": ('#include "jobs/job.h"\n#include "http/server.h"\n#include <jansson.h>\n', False),
        "src/cli/h.c": ('#include "api/routes.h"\n#include "sys/exec.h"\n', False),
        "src/jobs/i.c": ('#include "acme/acme.h"\n#include "local.h"\n', False),
    }
    ok = True
    for path, (text, should_fail) in cases.items():
        with tempfile.TemporaryDirectory() as d:
            full = os.path.join(d, path)
            os.makedirs(os.path.dirname(full))
            with open(full, "w") as f:
                f.write(text)
            failed = bool(check(d))
            if failed != should_fail:
                print(f"self-test: {path} {'flagged' if failed else 'not flagged'}", file=sys.stderr)
                ok = False
    print("check-layers self-test: " + ("ok" if ok else "FAILED"))
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return 0 if self_test() else 1
    bad = check(a.root)
    for b in bad:
        print(b)
    print(f"layer check: {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
