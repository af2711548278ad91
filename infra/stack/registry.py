"""Apicurio Registry for the local stack: the Confluent-compatible schema registry.

The runnable Quarkus archive comes from Maven Central (``io.apicurio:apicurio-registry-app``,
``tar.gz:all``) and is unpacked once into ``.data/apicurio/<version>/``. Storage is SQL on the
stack's PostgreSQL database ``apicurio`` (the default would be an in-memory H2 database, and
schema ids inside stored events must resolve after any restart). The Confluent API is served
at ``/apis/ccompat/v7``; Quarkus' management interface (health, metrics) listens on the
registry port + 1, on loopback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from events.errors import RegistryError, RegistryUnavailable
from infra.stack.postgres import REGISTRY_DATABASE
from infra.stack.probes import registry_answers
from infra.stack.processes import run
from infra.stack.service import Daemon
from infra.stack.tools import Tools, find_java

ARTIFACT = "io.apicurio:apicurio-registry-app:{version}:tar.gz:all"
M2_ARCHIVE = (
    Path.home()
    / ".m2"
    / "repository"
    / "io"
    / "apicurio"
    / "apicurio-registry-app"
    / "{version}"
    / "apicurio-registry-app-{version}-all.tar.gz"
)
CCOMPAT = "/apis/ccompat/v7"
COMPATIBILITY = "BACKWARD_TRANSITIVE"
# Apicurio's app module is compiled for Java 21 (class file version 65) since 3.0.
MIN_JAVA = 21


class Registry(Daemon):
    """Apicurio Registry on ``FQ_REGISTRY_PORT``, stored in PostgreSQL."""

    name = "registry"

    @property
    def pid_file(self) -> Path:
        return self.layout.apicurio_dir / "registry.pid"

    @property
    def jar(self) -> Path:
        return self.layout.apicurio_home / "quarkus-run.jar"

    @property
    def marker(self) -> str:
        return str(self.jar)

    def address(self) -> str:
        return f"http://{self.settings.host}:{self.settings.registry_port}{CCOMPAT}"

    def healthy(self) -> bool:
        return registry_answers(self.address())

    def command(self, tools: Tools) -> list[str]:
        java = find_java(MIN_JAVA)
        self._unpack(tools)
        return [java, f"-Xmx{self.settings.registry_heap}", "-jar", str(self.jar)]

    def environment(self) -> dict[str, str]:
        s = self.settings
        return {
            "QUARKUS_HTTP_HOST": s.host,
            "QUARKUS_HTTP_PORT": str(s.registry_port),
            "QUARKUS_MANAGEMENT_HOST": s.host,
            "QUARKUS_MANAGEMENT_PORT": str(s.registry_port + 1),
            "APICURIO_STORAGE_KIND": "sql",
            "APICURIO_STORAGE_SQL_KIND": "postgresql",
            "APICURIO_DATASOURCE_URL": (
                f"jdbc:postgresql://{s.host}:{s.pg_port}/{REGISTRY_DATABASE}"
            ),
            "APICURIO_DATASOURCE_USERNAME": s.pg_user,
            "APICURIO_DATASOURCE_PASSWORD": s.pg_password.get_secret_value(),
            # The default pool opens 20 connections at start; a local registry needs a few.
            "APICURIO_DATASOURCE_JDBC_INITIAL_SIZE": "2",
            "APICURIO_DATASOURCE_JDBC_MIN_SIZE": "2",
            "APICURIO_DATASOURCE_JDBC_MAX_SIZE": "20",
            # GET /subjects silently truncates at 1000 by default; test runs pass that soon.
            "APICURIO_CCOMPAT_MAX_SUBJECTS": "1000000",
        }

    def _unpack(self, tools: Tools) -> None:
        if self.jar.exists():
            return
        version = self.settings.apicurio_version
        archive = Path(str(M2_ARCHIVE).format(version=version))
        if not archive.exists():
            run(
                [
                    tools.mvn,
                    "-q",
                    "-B",
                    "dependency:get",
                    f"-Dartifact={ARTIFACT.format(version=version)}",
                    "-Dtransitive=false",
                ],
            )
        # Unpack beside the target and rename, so a broken unpack is never mistaken for a
        # finished one. 3.1.x archives hold a quarkus-app/ folder; 3.3.x unpack at the root.
        partial = self.layout.apicurio_dir / f".{version}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        run(["tar", "-xzf", str(archive), "-C", str(partial)])
        root = partial / "quarkus-app" if (partial / "quarkus-app").is_dir() else partial
        root.rename(self.layout.apicurio_home)
        shutil.rmtree(partial, ignore_errors=True)


def ensure_compatibility(registry_url: str, level: str = COMPATIBILITY) -> bool:
    """Set the registry's global compatibility to ``level`` unless it already is.

    ``registry_url`` is the Confluent-compatible base (``FQ_REGISTRY_URL``). Returns True
    when it changed anything. Raises ``RegistryUnavailable`` / ``RegistryError``.
    """
    try:
        with httpx.Client(base_url=registry_url, timeout=10) as client:
            current = client.get("/config")
            if current.status_code == 200 and current.json().get("compatibilityLevel") == level:
                return False
            response = client.put("/config", json={"compatibility": level})
    except httpx.HTTPError as e:
        raise RegistryUnavailable(f"schema registry at {registry_url} did not answer: {e}") from e
    if response.status_code != 200:
        raise RegistryError(
            f"could not set global compatibility {level}: {response.text}",
            status=response.status_code,
        )
    return True
