"""The pure rules stay pure: no I/O library, no clock, no randomness, no environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "domain"
PROJECTIONS = ROOT / "projections"
PANELS = PROJECTIONS / "panels"
GATEWAY = ROOT / "events" / "gateway"
CONFORMANCE = ROOT / "events" / "conformance"
# The dashboard's pure parts: periods, units and scopes, KPI definitions, visit coverage,
# ranking, lateness and hot-word rules, a case page's rules.
MODULES = (
    sorted(DOMAIN.rglob("*.py"))  # the whole pure domain: rules, meanings, folds, counters
    # the projections' folds that are not the domain's: the current-state counters, the
    # rejections, the periods and the hot words
    + [PROJECTIONS / f"{m}.py" for m in ("now_fold", "rejection_fold", "periods", "hotwords")]
    + [
        PANELS / f"{m}.py"
        for m in (
            "periods",
            "scope",
            "kpis",
            "visiting",
            "ranks",
            "lateness",
            "words",
            "case_rules",
            "terms",
        )
    ]
    # the gateway's rules of what it accepts, Open311's included
    + [GATEWAY / "scope.py", GATEWAY / "intake.py", GATEWAY / "open311" / "rules.py"]
    + [CONFORMANCE / "samples.py", CONFORMANCE / "verdicts.py"]  # the kit's reading and judging
)

FORBIDDEN_MODULES = {
    "confluent_kafka",
    "faust",
    "psycopg",
    "psycopg2",
    "fastapi",
    "httpx",
    "requests",
    "aiokafka",
    "os",
    "sys",
    "time",
    "random",
    "secrets",
    "socket",
    "subprocess",
    "pathlib",
    "io",
    "shutil",
    "importlib",
    "logging",
    "asyncio",
    "threading",
}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
FORBIDDEN_NAMES = {"open", "input", "print", "eval", "exec", "__import__"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            roots = [(node.module or "").split(".")[0]]
        else:
            roots = []
        found += [
            f"line {node.lineno}: imports {root}" for root in roots if root in FORBIDDEN_MODULES
        ]
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in CLOCK_CALLS:
                found.append(f"line {node.lineno}: calls .{func.attr}() (the wall clock)")
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
                found.append(f"line {node.lineno}: calls {func.id}()")
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
            found.append(f"line {node.lineno}: reads the environment")
    return found


def test_there_are_rules_to_check() -> None:
    names = {path.name for path in MODULES}
    assert {"calendar.py", "sla.py", "case_fold.py", "stats_moves.py", "now_fold.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_rule_module_is_pure(path: Path) -> None:
    assert _violations(path) == []


def test_the_checker_catches_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os\nfrom confluent_kafka import Producer\nimport time\nimport random\n"
        "from datetime import datetime, date\nx = datetime.now()\ny = date.today()\n"
        "z = datetime.utcnow()\nw = os.environ['A']\nopen('f')\n",
        encoding="utf-8",
    )
    assert len(_violations(bad)) == 9
