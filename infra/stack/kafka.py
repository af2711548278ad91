"""Apache Kafka for the local stack: one KRaft broker+controller run from Maven Central jars.

The broker classpath is resolved once by Maven (infra/kafka/pom.xml) into ``.data/kafka/libs``;
the storage is formatted once (``meta.properties`` marks it); the broker then runs detached
with a fixed heap, logging to ``.data/logs/kafka.log``.

Locked down (``FQ_KAFKA_AUTH=scram``), the principals' SCRAM credentials enter the cluster's
metadata at its first locked-down start, whether its folder is new or a plaintext stack's: the
broker is started once in plaintext, the super user upserts every credential with the admin
API, and the broker restarts locked down, its topics and offsets untouched. (A KRaft controller
does not take AlterUserScramCredentials directly. One busy broker whose credentials were given
to ``kafka-storage format --add-scram`` refused every client as "invalid credentials" after a
restart; credentials upserted through the admin API have survived every restart so far.)

The ``scram-users`` marker says those credentials are in the metadata; when the metadata holds
other passwords (a shared folder where another tool upserted its own), a start fails within
seconds as ``KafkaCredentialsRefused``, naming the principal, the file and the remedy, rather
than waiting out its timeout while the broker logs "Failed authentication".
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import uuid
from pathlib import Path
from string import Template

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from events.errors import StackError
from events.kafka_access import local_sasl_listeners
from infra.acls import ADMIN, PRINCIPALS, grants
from infra.stack.acl_admin import apply_grants
from infra.stack.probes import kafka_answers, kafka_status
from infra.stack.processes import poll, port_open, run
from infra.stack.service import Daemon
from infra.stack.tools import Tools

INFRA = Path(__file__).resolve().parent.parent
POM = INFRA / "kafka" / "pom.xml"
TEMPLATES = INFRA / "data"
# Short-lived tool JVMs (StorageTool) start faster without the C2 compiler and with one GC thread.
TOOL_JVM = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
SCRAM_ITERATIONS = 4096
ADMIN_TIMEOUT_S = 30.0


class KafkaCredentialsRefused(StackError):
    """The locked-down broker refused a principal's password from ``principals.json``: the
    cluster's metadata holds another one for it."""


class Kafka(Daemon):
    """The broker on ``FQ_KAFKA_PORT`` (controller on ``FQ_KAFKA_CONTROLLER_PORT``)."""

    name = "kafka"
    _plaintext_start = False  # true while _add_scram_users starts it without SASL
    _starting = False  # true while start waits for the broker it launched

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

    def ready(self) -> bool:
        """Healthy; raises ``KafkaCredentialsRefused`` when the broker refuses the super user."""
        status = kafka_status(self.address(), **self.client_config(ADMIN))
        if status.refused is not None:
            raise self._refused(ADMIN, status.refused)
        return status.answers

    def start(self, tools: Tools, timeout_s: float) -> None:
        if self.scram and not self.layout.kafka_scram_users.exists():
            self._add_scram_users(tools, timeout_s)
        self._starting = True
        try:
            super().start(tools, timeout_s)
        except KafkaCredentialsRefused:
            # Stopped, so that the remedy's `stack up` starts it anew (in plaintext first).
            self.stop(tools)
            raise
        finally:
            self._starting = False
        if self.scram:
            apply_grants(self.admin(), grants())

    def _refused(self, principal: str, reason: str) -> KafkaCredentialsRefused:
        marker = self.layout.kafka_scram_users
        running = "" if self._starting else (
            " (the broker runs from an earlier start: `fengqiao stack down` first)"
        )  # fmt: skip
        return KafkaCredentialsRefused(
            f"kafka at {self.address()} refused the principal {principal!r}: its password in "
            f"{self.layout.kafka_principals} is not the one the cluster's metadata holds "
            f"(other passwords were upserted since {marker} marked this folder's as added). "
            f"Remove {marker} and run `fengqiao stack up` again{running}: it starts the broker "
            "once in plaintext and upserts this folder's passwords.\n"
            f"librdkafka: {reason}\nlog: {self.log}"
        )

    def admin(self) -> AdminClient:
        """An admin client of this broker, as the super user when it is locked down."""
        return AdminClient({"bootstrap.servers": self.address(), **self.client_config(ADMIN)})

    @property
    def scram(self) -> bool:
        """Whether a start locks the broker down (``FQ_KAFKA_AUTH``)."""
        return self.settings.kafka_auth == "scram"

    def locked(self) -> bool:
        """Whether the broker was last started locked down: its written configuration, not the
        settings (a broker started in plaintext stays so until it is restarted)."""
        return self.address() in local_sasl_listeners(self.layout.kafka_dir)

    def client_config(self, principal: str) -> dict[str, str]:
        """The librdkafka settings that authenticate as ``principal`` (none in plaintext)."""
        if not self.locked():
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
        self._write_config(self.scram and not self._plaintext_start)
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

    def _add_scram_users(self, tools: Tools, timeout_s: float) -> None:
        """Upsert every principal's credential into the cluster (formatted by this plaintext
        start if it is new), on a plaintext start of the broker (see the module's docstring)."""
        self._plaintext_start = True
        try:
            super().start(tools, timeout_s)
        finally:
            self._plaintext_start = False
        try:
            upserts: list[UserScramCredentialAlteration] = [
                UserScramCredentialUpsertion(
                    name,
                    ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
                    password.encode(),
                )
                for name, password in self.passwords().items()
            ]
            admin = self.admin()  # kept alive until every future has its answer
            futures = admin.alter_user_scram_credentials(upserts)
            for name, future in futures.items():
                try:
                    future.result(ADMIN_TIMEOUT_S)
                except Exception as exc:  # a KafkaException, or the refusal of one user
                    raise StackError(f"kafka: cannot add the SCRAM user {name}: {exc}") from exc
        finally:
            if not self.stop(tools):
                raise StackError(f"kafka: the plaintext start did not stop cleanly ({self.log})")
            # The locked-down start binds the same ports: fail here, naming them, if still held.
            host, ports = (
                self.settings.host,
                (self.settings.kafka_port, self.settings.kafka_controller_port),
            )
            if not poll(lambda: not any(port_open(host, p) for p in ports), ADMIN_TIMEOUT_S):
                raise StackError(f"kafka: ports {ports} still taken after the plaintext start")
        self._mark_scram_users()

    def _mark_scram_users(self) -> None:
        self.layout.kafka_scram_users.write_text(" ".join(self.passwords()) + "\n")

    def _formatted(self) -> bool:
        return (self.layout.kafka_data / "meta.properties").exists()

    def _write_config(self, scram: bool) -> None:
        self.layout.kafka_dir.mkdir(parents=True, exist_ok=True)
        names = ["kafka-server.properties"] + (["kafka-scram.properties"] if scram else [])
        template = Template("\n".join((TEMPLATES / name).read_text() for name in names))
        self.config.write_text(
            template.substitute(
                host=self.settings.host,
                port=self.settings.kafka_port,
                controller_port=self.settings.kafka_controller_port,
                log_dirs=self.layout.kafka_data,
                admin_password=self.passwords()[ADMIN] if scram else "",
            )
        )

    def _log4j(self) -> list[str]:
        return [f"-Dlog4j2.configurationFile={TEMPLATES / 'kafka-log4j2.properties'}"]

    def _format(self, tools: Tools) -> None:
        if self._formatted():
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
            ],
            log=self.log,
        )


def _cluster_id() -> str:
    """16 random bytes, base64url without padding, as Kafka's own ``random-uuid`` makes them."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # a leading '-' would read as a command-line option
            return cid
