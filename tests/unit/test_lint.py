"""The code as STYLE.md asks for it: ruff's lint clean and its format kept over the tree, and
mypy strict over every package of ours, the benchmarks' too (all configured in pyproject.toml),
run with the tools the test extras install."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tree_is_as_ruff_formats_it() -> None:
    result = _run(str(BIN / "ruff"), "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_configured_over_every_package_of_ours() -> None:
    # mypy checks only the packages pyproject.toml names (and what they import): a package
    # left out is never checked and its errors pile up unseen. The tests are not checked.
    configured = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["packages"]
    )
    ours = {init.parent.name for init in ROOT.glob("*/__init__.py")} - {"tests"}
    assert ours <= configured, f"not type-checked: {sorted(ours - configured)}"
