"""The registry client rides out a registry that is briefly away, and speaks TLS and auth.

A small HTTP front stands before the real registry of the local stack: it refuses or fails
the first requests (as a registry restarting does), checks credentials, or speaks TLS, and
forwards everything else to the registry unchanged.
"""

from __future__ import annotations

import base64
import http.server
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from events.codec import AvroCodec
from events.errors import DecodeError, RegistryError, RegistryUnavailable
from events.registry import RegistryAccess, SchemaRegistry
from infra.settings import ConnectionSettings

pytestmark = pytest.mark.integration


class _Front(http.server.ThreadingHTTPServer):
    upstream: str
    failures_left: int  # answer 503 to this many requests first
    required: str | None  # the Authorization header wanted, else 401
    seen: list[str]


class _Forward(http.server.BaseHTTPRequestHandler):
    server: _Front

    def _answer(self) -> None:
        front = self.server
        front.seen.append(self.headers.get("Authorization", ""))
        if front.required is not None and self.headers.get("Authorization") != front.required:
            self._reply(401, b'{"error_code": 401, "message": "unauthorized"}')
        elif front.failures_left > 0:
            front.failures_left -= 1
            self._reply(503, b'{"error_code": 50003, "message": "registry starting"}')
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            answer = httpx.request(
                self.command,
                front.upstream + self.path,
                content=body,
                headers={"Content-Type": self.headers.get("Content-Type", "application/json")},
            )
            self._reply(answer.status_code, answer.content)

    do_GET = do_POST = do_PUT = _answer

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _front(
    upstream: str, failures: int = 0, required: str | None = None, tls: ssl.SSLContext | None = None
) -> Iterator[_Front]:
    server = _Front(("127.0.0.1", 0), _Forward)
    server.upstream, server.failures_left, server.required, server.seen = (
        upstream.rstrip("/"), failures, required, [])  # fmt: skip
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: _Front, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.server_address[1]}"


def test_a_registry_failing_for_a_while_is_asked_again_until_it_answers(
    connection_settings: ConnectionSettings,
) -> None:
    with _front(connection_settings.registry_url, failures=4) as front:
        client = SchemaRegistry(_url(front), RegistryAccess(retry_s=20))
        started = time.monotonic()
        assert isinstance(client.subjects(), list)
        client.close()
    assert len(front.seen) == 5  # four 503s, then the answer
    assert time.monotonic() - started < 10


def test_a_registry_away_longer_than_the_limit_is_reported_after_the_limit() -> None:
    with _front("http://127.0.0.1:9", failures=10**6) as front:
        client = SchemaRegistry(_url(front), RegistryAccess(retry_s=1.0))
        started = time.monotonic()
        with pytest.raises(RegistryError) as raised:
            client.subjects()
        took = time.monotonic() - started
    assert raised.value.status == 503
    assert 0.5 <= took < 3
    assert len(front.seen) >= 3


def test_a_failing_registry_is_an_infrastructure_error_not_an_undecodable_record() -> None:
    """Readers send a DecodeError's record to its dead-letter topic for good; a registry
    outage must not send a good record there."""
    record = struct.pack(">bI", 0, 7) + b"\x02"  # framed for schema 7, which must be fetched
    with _front("http://127.0.0.1:9", failures=10**6) as front:
        codec = AvroCodec(SchemaRegistry(_url(front), RegistryAccess(retry_s=0.5)))
        with pytest.raises(RegistryError) as raised:
            codec.decode(record, "fq.case.inbox", 3, 41)
        codec.registry.close()
    assert raised.value.status == 503
    assert not isinstance(raised.value, DecodeError)
    assert "registry starting" in str(raised.value)


def test_a_registry_that_does_not_answer_at_all_is_unavailable_naming_the_limit() -> None:
    client = SchemaRegistry("http://127.0.0.1:9", RegistryAccess(retry_s=0.5))
    with pytest.raises(RegistryUnavailable) as raised:
        client.subjects()
    assert "FQ_REGISTRY_RETRY_S" in str(raised.value)


def test_a_client_error_is_not_asked_again(connection_settings: ConnectionSettings) -> None:
    with _front(connection_settings.registry_url) as front:
        client = SchemaRegistry(_url(front), RegistryAccess(retry_s=20))
        with pytest.raises(RegistryError) as raised:
            client.schema_by_id(999_999_999)
    assert raised.value.status == 404
    assert len(front.seen) == 1


def test_basic_and_bearer_authentication(
    connection_settings: ConnectionSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    basic = "Basic " + base64.b64encode(b"fengqiao:s3cret").decode()
    with _front(connection_settings.registry_url, required=basic) as front:
        monkeypatch.setenv("FQ_REGISTRY_USER", "fengqiao")
        monkeypatch.setenv("FQ_REGISTRY_PASSWORD", "s3cret")
        assert isinstance(SchemaRegistry(_url(front)).subjects(), list)  # from the environment
        monkeypatch.setenv("FQ_REGISTRY_PASSWORD", "wrong")
        with pytest.raises(RegistryError) as refused:
            SchemaRegistry(_url(front)).subjects()
        assert refused.value.status == 401
    monkeypatch.delenv("FQ_REGISTRY_USER")
    with _front(connection_settings.registry_url, required="Bearer t0ken") as front:
        monkeypatch.setenv("FQ_REGISTRY_TOKEN", "t0ken")
        assert isinstance(SchemaRegistry(_url(front)).subjects(), list)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "registry.pem", folder / "registry.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_with_the_ca_given_and_refused_without_it(
    connection_settings: ConnectionSettings, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with _front(connection_settings.registry_url, tls=tls) as front:
        trusted = SchemaRegistry(_url(front, "https"), RegistryAccess(ca_file=cert, retry_s=0))
        assert isinstance(trusted.subjects(), list)
        untrusted = SchemaRegistry(_url(front, "https"), RegistryAccess(retry_s=0))
        with pytest.raises(RegistryUnavailable) as refused:
            untrusted.subjects()
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
