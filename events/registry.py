"""A small client for the Confluent-compatible schema registry API (``/apis/ccompat/v7``).

Only what Fengqiao needs: register a schema under a subject, look one up, fetch a schema by
id, set a subject's compatibility level. Every transport or HTTP failure becomes a
``RegistryUnavailable`` / ``RegistryError`` / ``IncompatibleSchema`` with the registry's own
words, so callers never see httpx exceptions. Schemas by id are immutable and cached.

A registry that does not answer, or answers 5xx or 429, is asked again with a growing pause for
up to ``FQ_REGISTRY_RETRY_S`` seconds before the error reaches the caller: a registry restart
must not end a workflow worker or a projector. TLS and basic or bearer authentication come from
``RegistryAccess`` (``FQ_REGISTRY_*``).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.errors import IncompatibleSchema, RegistryError, RegistryUnavailable

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
COMPATIBILITY = "BACKWARD_TRANSITIVE"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
FIRST_PAUSE_S, LONGEST_PAUSE_S = 0.1, 5.0

log = logging.getLogger("fengqiao.registry")


class RegistryAccess(BaseSettings):
    """How to reach the registry beyond its URL; from ``FQ_REGISTRY_*`` variables.

    Attributes:
        user, password: HTTP basic authentication (``FQ_REGISTRY_USER``, ``..._PASSWORD``).
        token: a bearer token instead (``FQ_REGISTRY_TOKEN``).
        ca_file: the CA bundle that signed an ``https://`` registry (``FQ_REGISTRY_CA_FILE``;
            the system's CAs when unset); ``cert_file`` and ``key_file`` a client certificate.
        retry_s: how long a registry that does not answer is asked again (``FQ_REGISTRY_RETRY_S``).
        timeout_s: one request's timeout (``FQ_REGISTRY_TIMEOUT_S``).
    """

    model_config = SettingsConfigDict(env_prefix="FQ_REGISTRY_", extra="ignore")

    user: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    retry_s: float = 30.0
    timeout_s: float = 10.0

    def client(self) -> httpx.Client:
        """An HTTP client with this access's TLS, authentication and timeout."""
        headers = {"Content-Type": _CONTENT_TYPE}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        auth = None
        if self.user is not None:
            secret = self.password.get_secret_value() if self.password else ""
            auth = httpx.BasicAuth(self.user, secret)
        tls = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file is not None:
            tls.load_cert_chain(self.cert_file, self.key_file)
        return httpx.Client(timeout=self.timeout_s, headers=headers, auth=auth, verify=tls)


def subject_name(topic: str, record_fullname: str) -> str:
    """The subject of a record on a topic (TopicRecordNameStrategy)."""
    return f"{topic}-{record_fullname}"


class SchemaRegistry:
    """Client for one registry.

    Args:
        url: base URL of the Confluent-compatible API, e.g.
            ``http://127.0.0.1:18081/apis/ccompat/v7`` (``FQ_REGISTRY_URL``).
        access: TLS, authentication, timeout and retries (default: from ``FQ_REGISTRY_*``).
    """

    def __init__(self, url: str, access: RegistryAccess | None = None) -> None:
        self.url = url.rstrip("/")
        self.access = access or RegistryAccess()
        self._client: httpx.Client | None = None  # opened lazily: no I/O in constructors
        self._by_id: dict[int, dict[str, Any]] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    # --- transport -----------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        if self._client is None:
            self._client = self.access.client()
        content = None if body is None else json.dumps(body)
        give_up_at = time.monotonic() + self.access.retry_s
        pause = FIRST_PAUSE_S
        while True:
            try:
                response = self._client.request(method, f"{self.url}{path}", content=content)
                failure = None if response.status_code not in RETRYABLE_STATUS else (
                    f"HTTP {response.status_code}")  # fmt: skip
            except httpx.HTTPError as exc:
                response, failure = None, f"{type(exc).__name__}: {exc}"
            if failure is None or time.monotonic() + pause > give_up_at:
                break
            log.warning("schema registry at %s: %s %s failed (%s); asking again in %.1fs",
                        self.url, method, path, failure, pause)  # fmt: skip
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)
        if response is None:
            raise RegistryUnavailable(
                f"schema registry at {self.url} did not answer ({failure}; asked for "
                f"{self.access.retry_s:g}s, FQ_REGISTRY_RETRY_S); is the stack up? try "
                "`fengqiao stack status`"
            )
        if response.status_code >= 400:
            try:
                payload = response.json()
                message = payload.get("message", response.text)
                code = payload.get("error_code")
            except ValueError:
                message, code = response.text, None
            if response.status_code == 409:
                raise IncompatibleSchema(f"{path}: registry refused the schema: {message}")
            raise RegistryError(
                f"{method} {path}: HTTP {response.status_code}: {message}",
                status=response.status_code,
                code=code,
            )
        return response.json() if response.content else None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- API -----------------------------------------------------------------------------
    def register(self, subject: str, schema: dict[str, Any]) -> int:
        """Register ``schema`` under ``subject`` and return its id (same id if already there).

        Raises:
            IncompatibleSchema: the registry's compatibility rule refused it (its reason).
        """
        text = json.dumps(schema, separators=(",", ":"), sort_keys=True)
        answer = self._request(
            "POST", f"/subjects/{subject}/versions", {"schema": text, "schemaType": "AVRO"}
        )
        schema_id = int(answer["id"])
        with self._lock:
            self._ids[(subject, text)] = schema_id
            self._by_id.setdefault(schema_id, schema)
        return schema_id

    def lookup(self, subject: str, schema: dict[str, Any]) -> int | None:
        """The id of ``schema`` under ``subject``, or None if it was never registered there."""
        text = json.dumps(schema, separators=(",", ":"), sort_keys=True)
        cached = self._ids.get((subject, text))
        if cached is not None:
            return cached
        try:
            answer = self._request("POST", f"/subjects/{subject}", {"schema": text})
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise
        schema_id = int(answer["id"])
        with self._lock:
            self._ids[(subject, text)] = schema_id
        return schema_id

    def schema_by_id(self, schema_id: int) -> dict[str, Any]:
        """The schema with this id (cached forever: ids are immutable)."""
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        answer = self._request("GET", f"/schemas/ids/{schema_id}")
        schema: dict[str, Any] = json.loads(answer["schema"])
        with self._lock:
            self._by_id[schema_id] = schema
        return schema

    def set_compatibility(self, subject: str | None, level: str = COMPATIBILITY) -> None:
        """Set the compatibility level of one subject, or the global default (None)."""
        path = "/config" if subject is None else f"/config/{subject}"
        self._request("PUT", path, {"compatibility": level})

    def subjects(self) -> list[str]:
        return list(self._request("GET", "/subjects"))

    def versions(self, subject: str) -> list[int]:
        return list(self._request("GET", f"/subjects/{subject}/versions"))
