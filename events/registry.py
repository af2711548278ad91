"""A small client for the Confluent-compatible schema registry API (``/apis/ccompat/v7``).

Only what Fengqiao needs: register a schema under a subject, look one up, fetch a schema by
id, set a subject's compatibility level. Every transport or HTTP failure becomes a
``RegistryUnavailable`` / ``RegistryError`` / ``IncompatibleSchema`` with the registry's own
words, so callers never see httpx exceptions. Schemas by id are immutable and cached.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from events.errors import IncompatibleSchema, RegistryError, RegistryUnavailable

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
COMPATIBILITY = "BACKWARD_TRANSITIVE"


def subject_name(topic: str, record_fullname: str) -> str:
    """The subject of a record on a topic (TopicRecordNameStrategy)."""
    return f"{topic}-{record_fullname}"


class SchemaRegistry:
    """Client for one registry.

    Args:
        url: base URL of the Confluent-compatible API, e.g.
            ``http://127.0.0.1:18081/apis/ccompat/v7`` (``FQ_REGISTRY_URL``).
        timeout_s: per-request timeout in seconds.
    """

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout_s
        self._client: httpx.Client | None = None  # opened lazily: no I/O in constructors
        self._by_id: dict[int, dict[str, Any]] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    # --- transport -----------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        if self._client is None:
            self._client = httpx.Client(
                timeout=self._timeout, headers={"Content-Type": _CONTENT_TYPE}
            )
        try:
            response = self._client.request(
                method, f"{self.url}{path}", content=None if body is None else json.dumps(body)
            )
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(
                f"schema registry at {self.url} did not answer ({type(exc).__name__}: {exc}); "
                "is the stack up? try `fengqiao stack status`"
            ) from exc
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
