"""Every Kafka client is configured from the same FQ_KAFKA_* security settings."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest

from events.kafka_access import KafkaAccess, kafka_config
from events.publisher import PublisherSettings
from processors.app import faust_credentials, faust_options
from processors.settings import WorkflowSettings


def test_plaintext_by_default() -> None:
    access = KafkaAccess()
    assert access.librdkafka() == {"security.protocol": "plaintext"}
    assert access.aiokafka() == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(access) is None


@pytest.fixture
def scram(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FQ_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("FQ_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("FQ_KAFKA_SASL_USERNAME", "dept.market")
    monkeypatch.setenv("FQ_KAFKA_SASL_PASSWORD", "s3cret")


@pytest.mark.usefixtures("scram")
def test_sasl_reaches_every_kind_of_client() -> None:
    wanted = {
        "security.protocol": "sasl_plaintext",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "dept.market",
        "sasl.password": "s3cret",
    }
    assert wanted.items() <= kafka_config("b:9092", **{"group.id": "g"}).items()
    assert wanted.items() <= PublisherSettings().producer_config().items()
    assert KafkaAccess().aiokafka() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "dept.market",
        "sasl_plain_password": "s3cret",
    }
    credentials = faust_options(WorkflowSettings())["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("dept.market", "s3cret")
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert credentials.ssl_context is None


def test_tls_takes_the_ca_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("FQ_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("FQ_KAFKA_SSL_CA_FILE", str(ca))
    config = KafkaAccess().librdkafka()
    assert config["security.protocol"] == "sasl_ssl"
    assert config["ssl.ca.location"] == str(ca)
    assert isinstance(KafkaAccess().aiokafka()["ssl_context"], ssl.SSLContext)
    credentials = faust_credentials(KafkaAccess())
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.ssl_context is not None


def test_an_unknown_protocol_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FQ_KAFKA_SECURITY_PROTOCOL", "KERBEROS")
    with pytest.raises(ValueError, match="security_protocol"):
        KafkaAccess()
