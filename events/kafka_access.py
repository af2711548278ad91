"""How every Fengqiao client reaches Kafka: plaintext locally, SASL and/or TLS in the city.

One set of ``FQ_KAFKA_*`` variables configures every client the same way, whichever library it
is built on: librdkafka (confluent-kafka: the SDK, the workflow's transactional producers, the
projector, the readers, the admin), aiokafka (the workflow's reference feed) and faust (the
workflow's consumers). A deployment sets them once per process; nothing else changes.

The local stack (``fengqiao stack up``) is locked down by default (SASL/SCRAM and ACLs). When
none of the security variables is set and the bootstrap address is the local broker's SASL
listener, a client authenticates with a principal's password from
``<FQ_DATA_DIR>/kafka/principals.json`` (``FQ_KAFKA_LOCAL_DIR``): the principal ``FQ_KAFKA_PRINCIPAL`` names, else the
one its command runs as (``acting_as``: ``fengqiao process`` is ``workflow``...), else the super
user ``admin`` (the CLI, the SDK, the tests). In production the variables are set instead.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.errors import InfrastructureError

__all__ = [
    "LOCAL_DATA_DIR",
    "KafkaAccess",
    "LocalCredentialsMissing",
    "acting_as",
    "kafka_config",
    "local_sasl_listeners",
]

LOCAL_DATA_DIR = Path(__file__).resolve().parent.parent / ".data"
"""The local stack's data folder when ``FQ_DATA_DIR`` is not set."""
SUPER_USER = "admin"
_CONFIGURED = frozenset({"security_protocol", "sasl_username", "sasl_password"})

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaAccess(BaseSettings):
    """Kafka security settings.

    Attributes:
        security_protocol: ``FQ_KAFKA_SECURITY_PROTOCOL`` (PLAINTEXT; SASL_SSL in production).
        sasl_mechanism: ``FQ_KAFKA_SASL_MECHANISM`` (SCRAM-SHA-512).
        sasl_username, sasl_password: ``FQ_KAFKA_SASL_USERNAME`` / ``..._PASSWORD``: this
            process's principal.
        principal: ``FQ_KAFKA_PRINCIPAL``, whose password a client of the local stack reads
            from ``<local_dir>/principals.json`` when none of the above is set.
        local_dir: ``FQ_KAFKA_LOCAL_DIR``, the local stack's Kafka folder (its
            ``server.properties`` and ``principals.json``): ``<FQ_DATA_DIR>/kafka`` when unset
            (a process that writes elsewhere with ``FQ_DATA_DIR``, the demo, sets it).
        ssl_ca_file: ``FQ_KAFKA_SSL_CA_FILE``, the CA that signed the brokers' certificates (the
            system's CAs when unset); ``ssl_cert_file`` / ``ssl_key_file`` a client certificate.
    """

    model_config = SettingsConfigDict(env_prefix="FQ_KAFKA_", extra="ignore")

    security_protocol: Protocol = "PLAINTEXT"
    sasl_mechanism: Mechanism = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_file: Path | None = None
    ssl_cert_file: Path | None = None
    ssl_key_file: Path | None = None
    principal: str | None = None
    local_dir: Path | None = None
    data_dir: Path = Field(default=LOCAL_DATA_DIR, validation_alias="FQ_DATA_DIR")

    @property
    def local_kafka(self) -> Path:
        """The local stack's Kafka folder."""
        return (self.local_dir or self.data_dir / "kafka").resolve()

    @classmethod
    def for_bootstrap(cls, bootstrap: str) -> KafkaAccess:
        """The settings a client of ``bootstrap`` uses: the ``FQ_KAFKA_*`` variables when any
        security one is set, else a principal's password when ``bootstrap`` is the local
        stack's locked-down broker, else plaintext.

        Raises:
            LocalCredentialsMissing: the local broker is locked down and its principals file
                has no password for the principal (or cannot be read).
        """
        access = cls()
        if access.model_fields_set & _CONFIGURED:
            return access
        if bootstrap.split(",")[0].strip() not in local_sasl_listeners(access.local_kafka):
            return access
        who = access.principal or os.environ.get(_ROLE_VARIABLE) or SUPER_USER
        path = access.local_kafka / "principals.json"
        try:
            password = json.loads(path.read_text())[who]
        except (OSError, ValueError, KeyError) as exc:
            raise LocalCredentialsMissing(
                f"the local Kafka at {bootstrap} is locked down (SASL/SCRAM) and {path} has no "
                f"password for the principal {who!r} ({type(exc).__name__}: {exc}); set "
                "FQ_KAFKA_PRINCIPAL to one of it, or FQ_KAFKA_SASL_USERNAME/_PASSWORD"
            ) from exc
        return access.model_copy(
            update={
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_username": who,
                "sasl_password": SecretStr(password),
            }
        )

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL")

    @property
    def tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    def librdkafka(self) -> dict[str, str]:
        """The librdkafka (confluent-kafka) keys for these settings."""
        config = {"security.protocol": self.security_protocol.lower()}
        if self.sasl:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username or ""
            config["sasl.password"] = self._password()
        if self.tls:
            for key, path in (
                ("ssl.ca.location", self.ssl_ca_file),
                ("ssl.certificate.location", self.ssl_cert_file),
                ("ssl.key.location", self.ssl_key_file),
            ):
                if path is not None:
                    config[key] = str(path)
        return config

    def aiokafka(self) -> dict[str, Any]:
        """The keyword arguments of aiokafka's clients for these settings."""
        kwargs: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.sasl:
            kwargs |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username or "",
                "sasl_plain_password": self._password(),
            }
        if self.tls:
            kwargs["ssl_context"] = self.ssl_context()
        return kwargs

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting ``ssl_ca_file`` (or the system's CAs)."""
        context = ssl.create_default_context(
            cafile=str(self.ssl_ca_file) if self.ssl_ca_file else None
        )
        if self.ssl_cert_file is not None:
            context.load_cert_chain(self.ssl_cert_file, self.ssl_key_file)
        return context

    def _password(self) -> str:
        return self.sasl_password.get_secret_value() if self.sasl_password else ""


def kafka_config(bootstrap: str, **config: Any) -> dict[str, Any]:
    """A librdkafka configuration for ``bootstrap`` with this process's security settings
    (``KafkaAccess.for_bootstrap``) and ``config``; keys with dots are passed as
    ``**{"a.b": v}``."""
    return {
        "bootstrap.servers": bootstrap,
        **KafkaAccess.for_bootstrap(bootstrap).librdkafka(),
        **config,
    }


class LocalCredentialsMissing(InfrastructureError):
    """The local stack's broker is locked down and this process has no password for it."""


_ROLE_VARIABLE = "FQ_KAFKA_ACTING_AS"


@contextmanager
def acting_as(principal: str) -> Iterator[None]:
    """Within the block (and in the processes it starts), a client of the local locked-down
    broker authenticates as ``principal`` unless ``FQ_KAFKA_PRINCIPAL`` names another: each
    long-running command's own principal (``fengqiao process`` runs as ``workflow``)."""
    before = os.environ.get(_ROLE_VARIABLE)
    os.environ[_ROLE_VARIABLE] = principal
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_ROLE_VARIABLE, None)
        else:
            os.environ[_ROLE_VARIABLE] = before


def local_sasl_listeners(kafka_dir: Path) -> set[str]:
    """The ``host:port`` of the SASL listeners the local broker of ``kafka_dir`` was last
    started with."""
    try:
        lines = (kafka_dir / "server.properties").read_text().splitlines()
    except OSError:
        return set()
    listeners = [line.split("=", 1)[1] for line in lines if line.startswith("listeners=")]
    if not listeners:
        return set()
    return {
        address.split("://", 1)[1]
        for address in listeners[-1].split(",")  # the last key wins, as in Kafka
        if address.strip().startswith("SASL_")
    }
