#!/usr/bin/env python3
"""Rewrites the generated settings tables in docs/configuration.md from
`chaperone config reference` (the drift test, tests/unit/config_test.cc, fails
until this is run after a settings table changes).

usage: scripts/generate_config_docs.py [path/to/chaperone]"""
import re
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
binary = sys.argv[1] if len(sys.argv) > 1 else str(root / "build" / "bin" / "chaperone")
reference = subprocess.run([binary, "config", "reference"], check=True, capture_output=True, text=True).stdout
blocks = {m.group(2): m.group(1) for m in re.finditer(
    r"(<!-- BEGIN GENERATED: (\S+) settings -->\n.*?<!-- END GENERATED: \2 settings -->\n)", reference, flags=re.S)}
doc_path = root / "docs" / "configuration.md"
doc = doc_path.read_text()
for name, block in blocks.items():
    pattern = re.compile(r"<!-- BEGIN GENERATED: %s settings -->\n.*?<!-- END GENERATED: %s settings -->\n"
                         % (re.escape(name), re.escape(name)), flags=re.S)
    if not pattern.search(doc):
        sys.exit("docs/configuration.md has no generated block for %s" % name)
    doc = pattern.sub(lambda _: block, doc)
doc_path.write_text(doc)
print("docs/configuration.md: %d tables regenerated" % len(blocks))
