#!/usr/bin/env python3
"""Component boundaries, checked on every build (CMake target chaperone_layering).

The manifest (build/layering.json) is written at configure time from each
folder's chaperone_component() declaration (cmake/chaperone.cmake): a
component's name, its folder, the components among its DEPS, and its
PUBLIC_HEADERS. Every source and header under src/ and include/ is checked:

  * it belongs to a component: the one that lists it in PUBLIC_HEADERS (so
    include/chaperone/status.h belongs to src/common, which implements it),
    else the one whose folder holds it (the deepest, if folders nest);
  * each header of the project it #includes is its own component's, or a
    PUBLIC_HEADERS entry of a component it depends on, directly or through
    the DEPS of its DEPS.

tests/, bench/ and fuzz/ are not checked: tests may include any header, private
ones included, to test a component from inside.

Exit status 0 when every file keeps the rules, 1 (with one line per
violation, "file:line: error: ...") when one does not, 2 on bad input.
"""

import argparse
import json
import os
import re
import sys

SOURCE_SUFFIXES = (".h", ".hh", ".hpp", ".c", ".cc", ".cpp")
CHECKED_ROOTS = ("src", "include")
INCLUDE_DIRS = ("src", "include")  # the project's include path, in order
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


class Layering:
    def __init__(self, manifest, root):
        self.root = root
        self.components = {c["name"]: c for c in manifest["components"]}
        self.header_owner = {}
        for c in manifest["components"]:
            for h in c["public_headers"]:
                if h in self.header_owner:
                    raise ValueError(f"{h} is a public header of both {self.header_owner[h]} and {c['name']}")
                self.header_owner[h] = c["name"]
        # Deepest folder first, so that a nested component wins over its parent.
        self.folders = sorted(((c["folder"].rstrip("/") + "/", c["name"]) for c in manifest["components"]),
                              key=lambda f: -len(f[0]))
        self.closure = {name: self._closure(name) for name in self.components}

    def _closure(self, name):
        seen, todo = set(), list(self.components[name]["deps"])
        while todo:
            d = todo.pop()
            if d in seen or d not in self.components:
                continue
            seen.add(d)
            todo.extend(self.components[d]["deps"])
        seen.discard(name)
        return seen

    def owner(self, rel):
        if rel in self.header_owner:
            return self.header_owner[rel]
        for folder, name in self.folders:
            if rel.startswith(folder):
                return name
        return None

    def resolve(self, including_rel, spelled, quoted):
        """The project file an #include names (relative to root), or None if it is not ours."""
        candidates = []
        if quoted:
            candidates.append(os.path.join(os.path.dirname(including_rel), spelled))
        candidates += [os.path.join(d, spelled) for d in INCLUDE_DIRS]
        for c in candidates:
            c = os.path.normpath(c)
            if not c.startswith("..") and os.path.isfile(os.path.join(self.root, c)):
                return c
        return None

    def check_file(self, rel):
        errors = []
        me = self.owner(rel)
        if me is None:
            return [f"{rel}:1: error: not inside any component's folder: declare the folder with "
                    f"chaperone_component() (cmake/chaperone.cmake) [rule: every file has a component]"]
        with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                spelled = m.group(2)
                target = self.resolve(rel, spelled, m.group(1) == '"')
                if target is None:
                    continue  # a system or third-party header
                other = self.owner(target)
                if other == me:
                    continue
                c = self.components.get(other) if other else None
                where = f"{rel}:{lineno}: error: #include \"{spelled}\""
                if c is None:
                    errors.append(f"{where}: {target} belongs to no component [rule: every file has a component]")
                elif other not in self.closure[me]:
                    errors.append(f"{where}: {target} belongs to {other} ({c['folder']}/), which {me} does not "
                                  f"depend on [rule: a component includes only its DEPS; add {other} to the DEPS "
                                  f"of {me} if the layering allows it, or move the code]")
                elif target not in c["public_headers"]:
                    errors.append(f"{where}: {target} is private to {other} ({c['folder']}/) [rule: only the "
                                  f"PUBLIC_HEADERS of {other} may be included by other components]")
        return errors


def checked_files(root):
    for top in CHECKED_ROOTS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--manifest", required=True, help="layering.json written by CMake")
    p.add_argument("--root", required=True, help="the source tree to check")
    args = p.parse_args()
    try:
        with open(args.manifest, encoding="utf-8") as f:
            layering = Layering(json.load(f), os.path.abspath(args.root))
    except (OSError, ValueError, KeyError) as e:
        print(f"check_layering: bad manifest {args.manifest}: {e}", file=sys.stderr)
        return 2
    errors = []
    for rel in checked_files(layering.root):
        errors += layering.check_file(rel)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check_layering: {len(errors)} violation(s) of the component boundaries "
              f"(see docs/architecture.md, \"Layering\")", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
