#!/usr/bin/env python3
"""Writes the client compatibility matrix (docs/compatibility.md) from test reports.

    tests/clients/matrix.py --reports target/test-logs/clients --out target/test-logs/compatibility.md
    tests/clients/matrix.py ... --check docs/compatibility.md    # fail if that file differs

Inputs:
  tests/clients/features.toml      the rows (features), in order; `built = false` rows
                                   are shown as not built.
  tests/clients/*/matrix.toml      one per suite: its report files and, per client
                                   (column), which tests show which feature, and which
                                   features the client itself lacks (with the reason).
  <reports>/<file glob>            the suites' reports: JUnit XML (`junit`), `go test -json`
                                   output (`go-json`) or `cargo test` output (`cargo`).

A cell is green when at least one test matches its patterns and every matching test
passed; red when one failed; "untested" when none ran (shown as a gap, listed on
stderr). Exit status 1 when a built feature has a red cell that is not declared as
lacking in the client, or when --check finds a difference; 2 on bad input (unknown
feature, missing report).
Only the standard library is used (Python >= 3.11 for tomllib).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


class InputError(Exception):
    pass


# --- reports -------------------------------------------------------------------------


def read_junit(path: Path) -> dict[str, str]:
    """Test id `classname.name` -> outcome, from a JUnit XML file (pytest, Surefire, node)."""
    results: dict[str, str] = {}
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        name = case.get("name", "")
        classname = case.get("classname", "")
        test_id = f"{classname}.{name}" if classname else name
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = FAILED
        elif case.find("skipped") is not None:
            outcome = SKIPPED
        else:
            outcome = PASSED
        results[test_id] = worst(results.get(test_id), outcome)
    return results


def read_go_json(path: Path) -> dict[str, str]:
    """Test id `TestName` or `TestName/subtest` -> outcome, from `go test -json` output."""
    results: dict[str, str] = {}
    actions = {"pass": PASSED, "fail": FAILED, "skip": SKIPPED}
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        test, action = event.get("Test"), event.get("Action")
        if test and action in actions:
            results[test] = actions[action]
    return results


CARGO_RUNNING = re.compile(r"^\s*Running (?:unittests )?\S+ \((?:.*/)?([^/()]+?)-[0-9a-f]+\)")
CARGO_TEST = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)")


def read_cargo(path: Path) -> dict[str, str]:
    """Test id `binary::path::test` -> outcome, from `cargo test` output."""
    results: dict[str, str] = {}
    binary = ""
    outcomes = {"ok": PASSED, "FAILED": FAILED, "ignored": SKIPPED}
    for line in path.read_text(errors="replace").splitlines():
        running = CARGO_RUNNING.match(line)
        if running:
            binary = running.group(1)
            continue
        test = CARGO_TEST.match(line)
        if test and binary:
            results[f"{binary}::{test.group(1)}"] = outcomes[test.group(2)]
    return results


READERS = {"junit": read_junit, "go-json": read_go_json, "cargo": read_cargo}


def worst(a: str | None, b: str) -> str:
    order = {None: -1, PASSED: 0, SKIPPED: 1, FAILED: 2}
    return a if order[a] >= order[b] else b


# --- the model -----------------------------------------------------------------------


@dataclass
class Feature:
    id: str
    label: str
    built: bool
    why: str


@dataclass
class Client:
    id: str
    name: str
    version: str
    language: str
    suite: str
    features: dict[str, list[str]]
    lacks: dict[str, str]
    results: dict[str, str] = field(default_factory=dict)


@dataclass
class Cell:
    state: str  # pass | fail | untested | lacks | not-built
    tests: list[tuple[str, str]]  # (test id, outcome)
    note: str = ""


def load_features(path: Path) -> tuple[list[Feature], list[str]]:
    """The rows, and the preferred order of the columns (client ids)."""
    data = tomllib.loads(path.read_text())
    features = []
    for f in data.get("feature", []):
        features.append(Feature(f["id"], f["label"], f.get("built", True), f.get("why", "")))
    ids = [f.id for f in features]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: duplicate feature ids")
    return features, list(data.get("columns", {}).get("order", []))


def load_clients(
    suite_files: list[Path], reports: Path, features: list[Feature], order: list[str]
) -> list[Client]:
    known = {f.id for f in features}
    clients: list[Client] = []
    for path in suite_files:
        data = tomllib.loads(path.read_text())
        suite = path.parent.name
        results: dict[str, str] = {}
        for report in data.get("report", []):
            fmt = report["format"]
            if fmt not in READERS:
                raise InputError(f"{path}: unknown report format {fmt!r}")
            found = sorted(reports.glob(report["file"]))
            if not found:
                raise InputError(f"{path}: no report {reports / report['file']} (did the suite run?)")
            for report_path in found:
                for test_id, outcome in READERS[fmt](report_path).items():
                    results[test_id] = worst(results.get(test_id), outcome)
        for c in data.get("client", []):
            feats = {k: list(v) for k, v in c.get("features", {}).items()}
            lacks = dict(c.get("lacks", {}))
            for fid in list(feats) + list(lacks):
                if fid not in known:
                    raise InputError(f"{path}: client {c['id']}: unknown feature {fid!r}")
            clients.append(
                Client(c["id"], c["name"], c.get("version", ""), c.get("language", ""), suite, feats, lacks, results)
            )
    ids = [c.id for c in clients]
    if len(set(ids)) != len(ids):
        raise InputError("duplicate client ids across matrix.toml files")
    rank = {cid: i for i, cid in enumerate(order)}
    return sorted(clients, key=lambda c: (rank.get(c.id, len(rank)), c.id))


def cell(feature: Feature, client: Client) -> Cell:
    patterns = [re.compile(p) for p in client.features.get(feature.id, [])]
    tests = sorted(
        (tid, outcome) for tid, outcome in client.results.items() if any(p.search(tid) for p in patterns)
    )
    if not feature.built:
        return Cell("not-built", tests, feature.why)
    if feature.id in client.lacks:
        return Cell("lacks", tests, client.lacks[feature.id])
    if any(o == FAILED for _, o in tests):
        return Cell("fail", tests)
    if not any(o == PASSED for _, o in tests):
        return Cell("untested", tests)
    return Cell("pass", tests)


# --- output --------------------------------------------------------------------------

SYMBOL = {"pass": "✅", "fail": "❌", "untested": "⚠️ untested", "lacks": "➖", "not-built": "🚧"}


def render(features: list[Feature], clients: list[Client], cells: dict[tuple[str, str], Cell]) -> str:
    out: list[str] = []
    w = out.append
    w("# Client compatibility matrix")
    w("")
    w("<!-- Generated by tests/clients/matrix.py from the client suites' test reports;")
    w("     do not edit. scripts/test.sh regenerates it and CI fails when it is stale. -->")
    w("")
    w("Each cell is the outcome of the tests that exercise that feature with that client,")
    w("unchanged, against a real `strom-broker` (the numbers are how many tests). The tests")
    w("behind every cell are listed under [Evidence](#evidence).")
    w("")
    w("✅ all passed · ❌ a test failed · ⚠️ no test ran · ➖ the client does not offer it ·")
    w("🚧 not built in Strom yet")
    w("")
    w("| feature | " + " | ".join(c.name for c in clients) + " |")
    w("| --- |" + " :---: |" * len(clients))
    notes: list[str] = []
    for f in features:
        row = []
        for c in clients:
            x = cells[(f.id, c.id)]
            text = SYMBOL[x.state]
            if x.state in ("pass", "fail"):
                text += f" {len(x.tests)}"
            if x.state == "lacks":
                note = f"{c.name}: {x.note}"
                if note not in notes:
                    notes.append(note)
                text += f" [{notes.index(note) + 1}]"
            row.append(text)
        w(f"| {f.label} | " + " | ".join(row) + " |")
    w("")
    for i, n in enumerate(notes, 1):
        w(f"[{i}] {n}  ")
    w("")
    not_built = [f for f in features if not f.built]
    if not_built:
        w("Not built in Strom yet:")
        w("")
        for f in not_built:
            w(f"- {f.label}: {f.why}.")
        w("")
    w("## Clients")
    w("")
    w("| client | language | version | suite |")
    w("| --- | --- | --- | --- |")
    for c in clients:
        w(f"| {c.name} | {c.language} | {c.version} | `tests/clients/{c.suite}/` |")
    w("")
    w("## Evidence")
    for c in clients:
        w("")
        w(f"### {c.name}")
        w("")
        for f in features:
            x = cells[(f.id, c.id)]
            if not x.tests:
                continue
            w(f"- **{f.id}**: " + ", ".join(f"`{t}`" + ("" if o == PASSED else f" ({o})") for t, o in x.tests))
    w("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=Path, required=True, help="directory holding the suites' reports")
    ap.add_argument("--out", type=Path, required=True, help="where to write the Markdown")
    ap.add_argument("--check", type=Path, help="fail when this file differs from the generated one")
    ap.add_argument("--features", type=Path, default=HERE / "features.toml")
    args = ap.parse_args()

    try:
        features, order = load_features(args.features)
        clients = load_clients(sorted(HERE.glob("*/matrix.toml")), args.reports, features, order)
    except (InputError, OSError, tomllib.TOMLDecodeError, ET.ParseError, KeyError) as e:
        print(f"matrix: {e}", file=sys.stderr)
        return 2
    cells = {(f.id, c.id): cell(f, c) for f in features for c in clients}
    text = render(features, clients, cells)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"matrix: wrote {args.out} ({len(features)} features x {len(clients)} clients)")

    status = 0
    for (fid, cid), x in cells.items():
        if x.state == "fail":
            print(f"matrix: {cid} / {fid}: a test failed", file=sys.stderr)
            status = 1
        elif x.state == "untested":
            # Shown as such in the matrix; a gap to close, not a broken promise.
            print(f"matrix: {cid} / {fid}: no test yet", file=sys.stderr)
    if args.check is not None:
        current = args.check.read_text() if args.check.is_file() else ""
        if current != text:
            print(
                f"matrix: {args.check} is stale; regenerate it with scripts/test.sh "
                f"(or copy {args.out} over it)",
                file=sys.stderr,
            )
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
