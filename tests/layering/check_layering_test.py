#!/usr/bin/env python3
"""scripts/check_layering.py: passes on the real tree; on a temporary copy with
one injected violation of each rule, fails and names file:line, the header
and the rule.

Usage: check_layering_test.py CHECKER MANIFEST SOURCE_DIR
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

CHECKER, MANIFEST, SOURCE_DIR = sys.argv[1:4]


def run_checker(root):
    return subprocess.run([sys.executable, CHECKER, "--manifest", MANIFEST, "--root", root],
                          capture_output=True, text=True, check=False)


class CheckLayering(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chaperone-layering-")
        for top in ("src", "include"):
            shutil.copytree(os.path.join(SOURCE_DIR, top), os.path.join(self.tmp, top))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def inject(self, rel, line):
        """Appends `line` to a copied file; returns its line number there."""
        path = os.path.join(self.tmp, rel)
        with open(path, encoding="utf-8") as f:
            n = sum(1 for _ in f)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        return n + 1

    def test_the_real_tree_keeps_the_rules(self):
        r = run_checker(SOURCE_DIR)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")

    def test_the_unchanged_copy_keeps_the_rules(self):
        r = run_checker(self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)

    def assert_injected_include_fails(self, rel, header, why):
        line = self.inject(rel, f'#include "{header}"')
        r = run_checker(self.tmp)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f'{rel}:{line}: error: #include "{header}": {why}', r.stderr)
        self.assertIn("1 violation(s)", r.stderr)

    def test_a_private_header_of_a_dependency_fails(self):
        self.assert_injected_include_fails(
            "src/web/api.cc", "store/engine.h",
            "src/store/engine.h is private to chaperone_store (src/store/) [rule: only the PUBLIC_HEADERS of "
            "chaperone_store may be included by other components]")

    def test_a_header_of_a_component_above_fails(self):
        # common is the bottom layer: it may not use the audit library.
        self.assert_injected_include_fails(
            "src/common/topic_name.cc", "chaperone/audit_record.h",
            "include/chaperone/audit_record.h belongs to chaperone_core (src/lib/), which chaperone_common does "
            "not depend on [rule: a component includes only its DEPS")

    def test_a_public_header_of_a_transitive_dependency_passes(self):
        # store depends on core, core on common: store may use common's public headers.
        self.inject("src/store/store.cc", '#include "common/topic_name.h"')
        r = run_checker(self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_file_outside_every_component_fails(self):
        os.makedirs(os.path.join(self.tmp, "src/orphan"))
        with open(os.path.join(self.tmp, "src/orphan/x.cc"), "w", encoding="utf-8") as f:
            f.write("int x;\n")
        r = run_checker(self.tmp)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("src/orphan/x.cc:1: error: not inside any component's folder", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
