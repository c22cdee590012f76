#!/usr/bin/env python3
"""The monitoring files shipped under deploy/, checked without Grafana or
Prometheus (promtool runs in tests/deploy/promtool_test.sh):

- every metric name in the alerting rules, their unit tests and the dashboard's
  queries exists: chaperone_detect_* in the metrics table of docs/detect.md
  (the detector's contract), every other one in the sources under src/, so a
  renamed metric fails here;
- every rule has a severity, a summary, a description naming its labels and a
  runbook hint, and fires in at least one case of chaperone-rules.test.yml;
- prometheus.yml scrapes the five components under the job names the rules use;
- the Grafana dashboard is valid JSON in the current schema, its panels have
  unique ids, a data source (the DS_PROMETHEUS variable), queries, and places
  inside the 24 columns that do not overlap; every variable a query uses is
  defined;
- the provisioning files are YAML (tests/deploy/yaml_subset.py) that load the
  dashboard from the folder docs/monitoring.md installs it to, and provide the
  data source the dashboard selects by default.

Usage: check_deploy_test.py SOURCE_DIR
"""

import glob
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yaml_subset  # noqa: E402

SOURCE_DIR = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(SOURCE_DIR, "deploy")
JOBS = {"chaperone-service", "chaperone-collector", "chaperone-web", "chaperone-replicate", "chaperone-detect"}
SEVERITIES = {"critical", "warning", "info"}
METRIC = re.compile(r"\bchaperone_[a-z0-9_]+")
DETECT_PREFIX = "chaperone_detect_"
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__range_s", "__interval_ms", "__all"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load_yaml(*parts):
    return yaml_subset.load(read(os.path.join(DEPLOY, *parts)))


def source_metrics(src_dir):
    """Metric names the components expose: every string literal that begins
    with one ("chaperone_x", "chaperone_x{{...") and every `# TYPE` line, in
    src/**/*.cc and *.h; the detector's (not written yet) are left out."""
    names = set()
    for path in glob.glob(os.path.join(src_dir, "**", "*.[ch]*"), recursive=True):
        if not path.endswith((".cc", ".h")):
            continue
        text = read(path)
        names.update(re.findall(r'"(chaperone_[a-z0-9_]+)', text))
        names.update(re.findall(r"# TYPE (chaperone_[a-z0-9_]+)", text))
    return {n for n in names if not n.startswith(DETECT_PREFIX)}


def detect_metrics(detect_md):
    """The metrics table of the section "Metrics of `chaperone detect`"."""
    section = detect_md.split("## Metrics of `chaperone detect`", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(chaperone_detect_[a-z0-9_]+)` \|", section, re.M))


def known_metrics():
    return source_metrics(os.path.join(SOURCE_DIR, "src")) | detect_metrics(read(os.path.join(SOURCE_DIR, "docs", "detect.md")))


def unknown_metrics(text, known):
    return sorted(set(METRIC.findall(text)) - known)


def rules():
    """(group name, rule) of every alerting rule of chaperone-rules.yml."""
    doc = load_yaml("prometheus", "chaperone-rules.yml")
    return [(g["name"], r) for g in doc["groups"] for r in g["rules"]]


def panels(dashboard):
    """Every panel, the ones inside collapsed rows included."""
    for p in dashboard["panels"]:
        yield p
        yield from p.get("panels", [])


class KnownMetrics(unittest.TestCase):
    """The lists the other checks compare with are the real ones."""

    def test_sources_give_every_component(self):
        known = source_metrics(os.path.join(SOURCE_DIR, "src"))
        wanted = {"chaperone_collector_store_up", "chaperone_collector_lag_messages", "chaperone_service_consumer_lag",
                  "chaperone_service_last_good_flush_timestamp_ms", "chaperone_replicate_lag_total",
                  "chaperone_replicate_last_good_flush_timestamp_ms", "chaperone_web_requests_total",
                  "chaperone_web_request_duration_seconds_bucket"}
        self.assertEqual(wanted - known, set())
        self.assertFalse([n for n in known if n in ("chaperone_core", "chaperone_store")], "library names are not metrics")

    def test_detect_table(self):
        names = detect_metrics(read(os.path.join(SOURCE_DIR, "docs", "detect.md")))
        self.assertGreaterEqual(len(names), 10, names)
        self.assertEqual({"chaperone_detect_lost_messages", "chaperone_detect_duplicated_messages", "chaperone_detect_leader",
                          "chaperone_detect_last_cycle_timestamp_seconds", "chaperone_detect_outbox_pending"} - names, set())

    def test_a_renamed_metric_is_unknown(self):
        known = known_metrics()
        self.assertEqual(unknown_metrics("rate(chaperone_service_messages_audited_total[5m])", known), [])
        self.assertEqual(unknown_metrics("rate(chaperone_service_messages_counted_total[5m])", known),
                         ["chaperone_service_messages_counted_total"])
        self.assertEqual(unknown_metrics("chaperone_detect_lost_message > 0", known), ["chaperone_detect_lost_message"])


class AlertingRules(unittest.TestCase):
    def setUp(self):
        self.known = known_metrics()
        self.rules = rules()

    def test_every_metric_exists(self):
        for name in ("chaperone-rules.yml", "chaperone-rules.test.yml"):
            text = read(os.path.join(DEPLOY, "prometheus", name))
            self.assertEqual(unknown_metrics(text, self.known), [], f"{name} names metrics nothing exposes")

    def test_every_rule_is_described(self):
        names = [r["alert"] for _, r in self.rules]
        self.assertEqual(len(names), len(set(names)), "alert names repeat")
        self.assertGreaterEqual(len(names), 20)
        for group, r in self.rules:
            with self.subTest(alert=r["alert"]):
                self.assertTrue(r["alert"].startswith("Chaperone"))
                self.assertTrue(METRIC.search(r["expr"]) or "up{" in r["expr"], r["expr"])
                self.assertIn(r["labels"]["severity"], SEVERITIES)
                ann = r["annotations"]
                for key in ("summary", "description", "runbook"):
                    self.assertTrue(ann.get(key, "").strip(), f"{key} missing")
                self.assertIn("{{ $labels.", ann["description"], "the description names no label")
        self.assertEqual({g for g, _ in self.rules}, {"chaperone-findings", "chaperone-detector", "chaperone-collector",
                                                      "chaperone-service", "chaperone-replicate", "chaperone-web"})

    def test_jobs_are_the_scraped_ones(self):
        for _, r in self.rules:
            for job in re.findall(r'job="([^"]*)"', r["expr"]):
                self.assertIn(job, JOBS, r["alert"])

    def test_every_alert_fires_in_a_unit_test(self):
        doc = load_yaml("prometheus", "chaperone-rules.test.yml")
        self.assertEqual(doc["rule_files"], ["chaperone-rules.yml"])
        fired, quiet = set(), set()
        for test in doc["tests"]:
            for case in test["alert_rule_test"]:
                (fired if case["exp_alerts"] else quiet).add(case["alertname"])
                for alert in case["exp_alerts"] or []:
                    self.assertEqual(set(alert["exp_annotations"]), {"summary", "description", "runbook"})
        names = {r["alert"] for _, r in self.rules}
        self.assertEqual(names - fired, set(), "alerts no test makes fire")
        self.assertEqual((fired | quiet) - names, set(), "tests of alerts that do not exist")
        self.assertGreaterEqual(len(quiet), 10, "too few cases where an alert must not fire")


class ScrapeConfig(unittest.TestCase):
    def test_every_component_is_scraped(self):
        doc = load_yaml("prometheus", "prometheus.yml")
        self.assertEqual({j["job_name"] for j in doc["scrape_configs"]}, JOBS)
        self.assertEqual(doc["rule_files"], ["chaperone-rules.yml"])
        for job in doc["scrape_configs"]:
            for sc in job["static_configs"]:
                for target in sc["targets"]:
                    self.assertRegex(target, r"^[a-z0-9.-]+:[0-9]+$")


class Dashboard(unittest.TestCase):
    def setUp(self):
        self.dash = json.loads(read(os.path.join(DEPLOY, "grafana", "chaperone.json")))
        self.vars = {v["name"]: v for v in self.dash["templating"]["list"]}

    def test_schema(self):
        self.assertGreaterEqual(self.dash["schemaVersion"], 36)
        self.assertLessEqual(self.dash["schemaVersion"], 41)
        self.assertEqual(self.dash["uid"], "chaperone")
        self.assertTrue(self.dash["title"])
        self.assertNotIn("__inputs", self.dash, "the DS_PROMETHEUS variable selects the data source, on import and provisioning alike")

    def test_variables(self):
        ds = self.vars["DS_PROMETHEUS"]
        self.assertEqual((ds["type"], ds["query"]), ("datasource", "prometheus"))
        topic = self.vars["topic"]
        self.assertEqual(topic["type"], "query")
        self.assertEqual(topic["datasource"], {"type": "prometheus", "uid": "${DS_PROMETHEUS}"})
        self.assertEqual(topic["query"]["query"], "label_values(chaperone_detect_lost_messages, topic)")
        self.assertEqual(topic["definition"], topic["query"]["query"])
        self.assertTrue(topic["includeAll"])
        self.assertEqual(topic["allValue"], ".*", "All must match topics with no loss too")

    def test_panels(self):
        ids = [p["id"] for p in panels(self.dash)]
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")
        titles = set()
        for p in panels(self.dash):
            with self.subTest(panel=p["title"]):
                if p["type"] == "row":  # a heading: no query of its own
                    self.assertNotIn("targets", p)
                    continue
                self.assertEqual(p["datasource"], {"type": "prometheus", "uid": "${DS_PROMETHEUS}"})
                self.assertTrue(p["targets"])
                self.assertTrue(p.get("description"))
                refs = [t["refId"] for t in p["targets"]]
                self.assertEqual(len(refs), len(set(refs)))
                for t in p["targets"]:
                    self.assertEqual(t.get("datasource", p["datasource"]), p["datasource"])
                    self.assertTrue(t["expr"].strip())
                titles.add(p["title"])
        for want in ("Lost messages by topic and pair", "Duplicated messages by topic and pair", "Windows by verdict",
                     "Firing alerts by kind and severity", "Cycle duration", "Ingest rate", "Messages audited",
                     "Records copied"):
            self.assertIn(want, titles)

    def test_queries(self):
        known = known_metrics()
        for p in panels(self.dash):
            for t in p.get("targets", []):
                with self.subTest(panel=p["title"], expr=t["expr"]):
                    self.assertTrue(METRIC.search(t["expr"]), "a query of no Chaperone metric")
                    self.assertEqual(unknown_metrics(t["expr"], known), [])
                    used = set(re.findall(r"\$\{?(\w+)", t["expr"]))
                    self.assertEqual(used - set(self.vars) - GRAFANA_BUILTINS, set(), "undefined variables")
                    self.assertEqual(t["expr"].count("("), t["expr"].count(")"))
        self.assertEqual(unknown_metrics(json.dumps(self.dash["templating"]), known), [])

    def test_layout(self):
        boxes = []
        for p in self.dash["panels"]:
            g = p["gridPos"]
            with self.subTest(panel=p["title"]):
                self.assertTrue(all(isinstance(g[k], int) for k in "xywh"))
                self.assertGreaterEqual(g["x"], 0)
                self.assertGreaterEqual(g["y"], 0)
                self.assertGreaterEqual(g["w"], 1)
                self.assertGreaterEqual(g["h"], 1)
                self.assertLessEqual(g["x"] + g["w"], 24, "wider than the 24 columns")
                if p["type"] == "row":
                    self.assertEqual((g["x"], g["w"], g["h"]), (0, 24, 1))
            boxes.append((p["title"], g))
        for i, (ta, a) in enumerate(boxes):
            for tb, b in boxes[i + 1:]:
                overlap = (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and
                           a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])
                self.assertFalse(overlap, f"{ta!r} {a} overlaps {tb!r} {b}")


class Provisioning(unittest.TestCase):
    def test_dashboards(self):
        doc = load_yaml("grafana", "provisioning", "dashboards", "chaperone.yml")
        self.assertEqual(doc["apiVersion"], 1)
        [provider] = doc["providers"]
        self.assertEqual(provider["type"], "file")
        path = provider["options"]["path"]
        self.assertTrue(path.startswith("/"), path)
        # The operators' page installs the dashboard into that very folder.
        self.assertIn(f"deploy/grafana/chaperone.json {path}/", read(os.path.join(SOURCE_DIR, "docs", "monitoring.md")))

    def test_datasource(self):
        doc = load_yaml("grafana", "provisioning", "datasources", "prometheus.yml")
        self.assertEqual(doc["apiVersion"], 1)
        [ds] = doc["datasources"]
        self.assertEqual(ds["type"], "prometheus")
        self.assertRegex(ds["url"], r"^https?://")
        dash = json.loads(read(os.path.join(DEPLOY, "grafana", "chaperone.json")))
        [var] = [v for v in dash["templating"]["list"] if v["name"] == "DS_PROMETHEUS"]
        self.assertEqual(var["current"]["value"], ds["uid"], "the dashboard does not select the provisioned data source")


class YamlSubset(unittest.TestCase):
    """The reader itself: what it accepts, and that it refuses what it does not know."""

    def test_reads(self):
        text = """# comment
a: 1
b: "x: y # not a comment"   # comment
c: 'it''s'
d: [1, "two", three]
e: {k: v, n: "d1:9095", f: []}
f:
  - name: x
    deep:
      - 1
      - 2.5
  - plain scalar
g: |
  line one
    indented
h: >-
  folded
  text
i:
- same-indent item
j: up{job="x"} == 0 or absent(y)
"""
        self.assertEqual(yaml_subset.load(text), {
            "a": 1, "b": "x: y # not a comment", "c": "it's", "d": [1, "two", "three"],
            "e": {"k": "v", "n": "d1:9095", "f": []},
            "f": [{"name": "x", "deep": [1, 2.5]}, "plain scalar"],
            "g": "line one\n  indented\n", "h": "folded text", "i": ["same-indent item"],
            "j": 'up{job="x"} == 0 or absent(y)'})

    def test_refuses(self):
        for bad in ("a: 1\na: 2\n", "a: &x 1\n", "a: !!str 1\n", "a:\n\t- 1\n", "a: 'open\n", "a: b: c\n",
                    "a:\n  b: 1\n   c: 2\n", "- 1\nb: 2\n", "---\na: 1\n", "a: {b: 1\n"):
            with self.subTest(text=bad):
                with self.assertRaises(yaml_subset.YamlError):
                    yaml_subset.load(bad)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
