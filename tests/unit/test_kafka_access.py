"""Every Kafka client is configured from the same FQ_KAFKA_* security settings."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import faust
import pytest

from events.kafka_access import KafkaAccess, LocalCredentialsMissing, acting_as, kafka_config
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


LOCAL = "127.0.0.1:49999"


@pytest.fixture
def local_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A local stack's data folder whose broker was last started locked down on ``LOCAL``."""
    variables = ("SECURITY_PROTOCOL", "SASL_USERNAME", "SASL_PASSWORD", "PRINCIPAL", "ACTING_AS")
    for name in (*variables, "LOCAL_DIR"):
        monkeypatch.delenv(f"FQ_KAFKA_{name}", raising=False)
    monkeypatch.setenv("FQ_DATA_DIR", str(tmp_path))
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "server.properties").write_text(
        f"listeners=PLAINTEXT://{LOCAL},CONTROLLER://127.0.0.1:49998\n"
        f"listeners=SASL_PLAINTEXT://{LOCAL},CONTROLLER://127.0.0.1:49998\n"
    )
    passwords = {"admin": "pw-admin", "workflow": "pw-workflow", "projector": "pw-projector"}
    (tmp_path / "kafka" / "principals.json").write_text(json.dumps(passwords))
    return tmp_path


def _who(bootstrap: str = LOCAL) -> tuple[str, str | None, str | None]:
    config = kafka_config(bootstrap)
    return config["security.protocol"], config.get("sasl.username"), config.get("sasl.password")


@pytest.mark.usefixtures("local_stack")
def test_a_client_of_the_locked_local_broker_is_the_super_user_by_default() -> None:
    assert _who() == ("sasl_plaintext", "admin", "pw-admin")
    assert KafkaAccess.for_bootstrap(LOCAL).aiokafka()["sasl_plain_username"] == "admin"
    assert _who("broker.city:9092") == ("plaintext", None, None)  # not the local broker


def test_a_process_writing_elsewhere_is_told_where_the_stacks_kafka_is(
    local_stack: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.setenv("FQ_DATA_DIR", str(tmp_path_factory.mktemp("demo-output")))
    assert _who() == ("plaintext", None, None)
    monkeypatch.setenv("FQ_KAFKA_LOCAL_DIR", str(local_stack / "kafka"))
    assert _who() == ("sasl_plaintext", "admin", "pw-admin")


@pytest.mark.usefixtures("local_stack")
def test_a_command_runs_as_its_principal_unless_one_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with acting_as("workflow"):
        assert _who() == ("sasl_plaintext", "workflow", "pw-workflow")
        monkeypatch.setenv("FQ_KAFKA_PRINCIPAL", "projector")
        assert _who() == ("sasl_plaintext", "projector", "pw-projector")
        monkeypatch.delenv("FQ_KAFKA_PRINCIPAL")
    assert _who()[1] == "admin"  # the block's principal ends with it


@pytest.mark.usefixtures("local_stack")
def test_the_variables_win_over_the_local_principals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FQ_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    assert _who() == ("plaintext", None, None)
    monkeypatch.setenv("FQ_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("FQ_KAFKA_SASL_USERNAME", "dept.market")
    monkeypatch.setenv("FQ_KAFKA_SASL_PASSWORD", "s3cret")
    assert _who() == ("sasl_plaintext", "dept.market", "s3cret")


def test_a_principal_without_a_password_is_refused_naming_the_file(
    local_stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FQ_KAFKA_PRINCIPAL", "gateway")
    with pytest.raises(LocalCredentialsMissing, match="'gateway'") as refused:
        kafka_config(LOCAL)
    assert str(local_stack / "kafka" / "principals.json") in str(refused.value)
    (local_stack / "kafka" / "principals.json").unlink()
    monkeypatch.delenv("FQ_KAFKA_PRINCIPAL")
    with pytest.raises(LocalCredentialsMissing, match="FileNotFoundError"):
        kafka_config(LOCAL)


def test_a_local_broker_started_in_plaintext_takes_plaintext(local_stack: Path) -> None:
    (local_stack / "kafka" / "server.properties").write_text(f"listeners=PLAINTEXT://{LOCAL}\n")
    assert _who() == ("plaintext", None, None)
    (local_stack / "kafka" / "server.properties").unlink()  # never started
    assert _who() == ("plaintext", None, None)
