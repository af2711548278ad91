"""How every Fengqiao client reaches Kafka: plaintext locally, SASL and/or TLS in the city.

One set of ``FQ_KAFKA_*`` variables configures every client the same way, whichever library it
is built on: librdkafka (confluent-kafka: the SDK, the workflow's transactional producers, the
projector, the readers, the admin), aiokafka (the workflow's reference feed) and faust (the
workflow's consumers). A deployment sets them once per process; nothing else changes.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["KafkaAccess", "kafka_config"]

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaAccess(BaseSettings):
    """Kafka security settings.

    Attributes:
        security_protocol: ``FQ_KAFKA_SECURITY_PROTOCOL`` (PLAINTEXT; SASL_SSL in production).
        sasl_mechanism: ``FQ_KAFKA_SASL_MECHANISM`` (SCRAM-SHA-512).
        sasl_username, sasl_password: ``FQ_KAFKA_SASL_USERNAME`` / ``..._PASSWORD``: this
            process's principal.
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
    (``FQ_KAFKA_*``) and ``config``; keys with dots are passed as ``**{"a.b": v}``."""
    return {"bootstrap.servers": bootstrap, **KafkaAccess().librdkafka(), **config}
