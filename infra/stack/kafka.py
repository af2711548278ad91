"""Apache Kafka for the local stack: one KRaft broker+controller run from Maven Central jars.

The broker classpath is resolved once by Maven (infra/kafka/pom.xml) into ``.data/kafka/libs``;
the storage is formatted once (``meta.properties`` marks it); the broker then runs detached
with a fixed heap, logging to ``.data/logs/kafka.log``.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import uuid
from pathlib import Path
from string import Template

from confluent_kafka.admin import AdminClient

from infra.acls import ADMIN, PRINCIPALS, grants
from infra.stack.acl_admin import apply_grants
from infra.stack.probes import kafka_answers
from infra.stack.processes import run
from infra.stack.service import Daemon
from infra.stack.tools import Tools

INFRA = Path(__file__).resolve().parent.parent
POM = INFRA / "kafka" / "pom.xml"
TEMPLATES = INFRA / "data"
# Short-lived tool JVMs (StorageTool) start faster without the C2 compiler and with one GC thread.
TOOL_JVM = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


class Kafka(Daemon):
    """The broker on ``FQ_KAFKA_PORT`` (controller on ``FQ_KAFKA_CONTROLLER_PORT``)."""

    name = "kafka"

    @property
    def pid_file(self) -> Path:
        return self.layout.kafka_dir / "kafka.pid"

    @property
    def config(self) -> Path:
        return self.layout.kafka_dir / "server.properties"

    @property
    def marker(self) -> str:
        return str(self.config)

    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.kafka_port}"

    def healthy(self) -> bool:
        return kafka_answers(self.address(), **self.client_config(ADMIN))

    def start(self, tools: Tools, timeout_s: float) -> None:
        super().start(tools, timeout_s)
        if self.scram:
            admin = AdminClient({"bootstrap.servers": self.address(), **self.client_config(ADMIN)})
            apply_grants(admin, grants())

    @property
    def scram(self) -> bool:
        return self.settings.kafka_auth == "scram"

    def client_config(self, principal: str) -> dict[str, str]:
        """The librdkafka settings that authenticate as ``principal`` (none without SCRAM)."""
        if not self.scram:
            return {}
        return {
            "security.protocol": "sasl_plaintext",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": principal,
            "sasl.password": self.passwords()[principal],
        }

    def passwords(self) -> dict[str, str]:
        """Each principal's SCRAM password, made at the first start and kept beside the data."""
        path = self.layout.kafka_principals
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            made = {p: secrets.token_urlsafe(18) for p in (ADMIN, *PRINCIPALS)}
            path.write_text(json.dumps(made, indent=2))
            path.chmod(0o600)
        known: dict[str, str] = json.loads(path.read_text())
        return known

    def command(self, tools: Tools) -> list[str]:
        self._resolve_libs(tools)
        self._write_config()
        self._format(tools)
        heap = self.settings.kafka_heap
        return [
            tools.java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            *self._log4j(),
            "-cp",
            f"{self.layout.kafka_libs}/*",
            "kafka.Kafka",
            str(self.config),
        ]

    def _resolve_libs(self, tools: Tools) -> None:
        libs = self.layout.kafka_libs
        if (libs / f"kafka_2.13-{self.settings.kafka_version}.jar").exists():
            return
        # Resolve into a side folder and swap it in, so an interrupted or failed download never
        # leaves a half classpath (or two Kafka versions side by side) behind.
        partial = libs.with_name("libs.partial")
        libs.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(partial, ignore_errors=True)
        run(
            [
                tools.mvn,
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={partial}",
                f"-Dkafka.version={self.settings.kafka_version}",
            ],
        )
        shutil.rmtree(libs, ignore_errors=True)
        partial.rename(libs)

    def _write_config(self) -> None:
        self.layout.kafka_dir.mkdir(parents=True, exist_ok=True)
        names = ["kafka-server.properties"] + (["kafka-scram.properties"] if self.scram else [])
        template = Template("\n".join((TEMPLATES / name).read_text() for name in names))
        self.config.write_text(
            template.substitute(
                host=self.settings.host,
                port=self.settings.kafka_port,
                controller_port=self.settings.kafka_controller_port,
                log_dirs=self.layout.kafka_data,
                admin_password=self.passwords()[ADMIN] if self.scram else "",
            )
        )

    def _log4j(self) -> list[str]:
        return [f"-Dlog4j2.configurationFile={TEMPLATES / 'kafka-log4j2.properties'}"]

    def _format(self, tools: Tools) -> None:
        if (self.layout.kafka_data / "meta.properties").exists():
            return
        run(
            [
                tools.java,
                *TOOL_JVM,
                *self._log4j(),
                "-cp",
                f"{self.layout.kafka_libs}/*",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                _cluster_id(),
                "-c",
                str(self.config),
                *self._scram_users(),
            ],
            log=self.log,
        )

    def _scram_users(self) -> list[str]:
        # The principals' credentials go into the cluster's metadata when it is formatted;
        # later ones (an integrator) are added by the super user through the admin API.
        if not self.scram:
            return []
        return [
            arg
            for name, password in self.passwords().items()
            for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")
        ]


def _cluster_id() -> str:
    """16 random bytes, base64url without padding, as Kafka's own ``random-uuid`` makes them."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # a leading '-' would read as a command-line option
            return cid
