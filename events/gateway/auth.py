"""Who is calling: the ``Authorization: Bearer <key>`` or ``X-Api-Key`` of a valid credential.

A key's check costs an scrypt hash, so a verified key (or a refused one) is remembered by the
SHA-256 of the key; after ``FQ_GATEWAY_AUTH_CACHE_S`` a remembered valid key is asked again
only whether it is still valid (one indexed read, no hash): a revocation or expiry takes
effect within that time. Every refusal is logged with the key id (never the secret) and the reason.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool

from events.gateway.credentials import Credential, CredentialStore, split_key
from events.gateway.problems import unauthorized

__all__ = ["Authenticator", "Caller", "caller"]

log = logging.getLogger("fengqiao.gateway")
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer fq_<key id>.<secret>")
_api_key = APIKeyHeader(name="X-Api-Key", auto_error=False, description="the same key")


class Authenticator:
    """Verifies keys against the credentials table, remembering answers for ``ttl_s``."""

    def __init__(self, pool: ConnectionPool, ttl_s: float) -> None:
        self.pool, self.ttl_s = pool, ttl_s
        self._known: dict[bytes, tuple[Credential | None, float]] = {}
        self._lock = threading.Lock()

    def remembered(self, key: str) -> tuple[bool, Credential | None]:
        """(known, credential): what is remembered of ``key`` and not yet stale, without I/O."""
        cached = self._known.get(hashlib.sha256(key.encode()).digest())
        if cached is None or cached[1] <= time.monotonic():
            return False, None
        return True, cached[0]

    def verify(self, key: str) -> Credential | None:
        """The credential of ``key`` (``None``: not valid), read again when stale."""
        digest = hashlib.sha256(key.encode()).digest()
        now = time.monotonic()
        with self._lock:
            cached = self._known.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        with self.pool.connection() as conn:
            store = CredentialStore(conn)
            if cached is not None and cached[0] is not None:
                found = cached[0] if store.still_valid(cached[0].key_id) else None
            else:
                found = store.verify(key)
        with self._lock:
            if len(self._known) > 100_000:
                self._known.clear()
            self._known[digest] = (found, now + self.ttl_s)
        return found


async def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Credential:
    """The credential of the request, or a 401. An ``Authorization`` header that is not a
    bearer key, or two headers with different keys, are refused rather than passed over."""
    given = request.headers.get("authorization")
    if given is not None and bearer is None:
        log.warning("refused %s: an Authorization header that is not a bearer key", _where(request))
        raise unauthorized("the Authorization header is not 'Bearer <key>'")
    keys = {k for k in (bearer.credentials if bearer else None, api_key) if k}
    if len(keys) > 1:
        log.warning("refused %s: two different keys", _where(request))
        raise unauthorized("Authorization and X-Api-Key carry different keys")
    key = keys.pop() if keys else None
    if not key:
        log.warning("refused %s: no key", _where(request))
        raise unauthorized("no API key was sent")
    parts = split_key(key)
    authenticator: Authenticator = request.app.state.gateway.authenticator
    known, found = (False, None) if parts is None else authenticator.remembered(key)
    if parts is not None and not known:
        found = await run_in_threadpool(authenticator.verify, key)
    if found is None:
        key_id = "malformed" if parts is None else parts[0]
        log.warning("refused %s: key %s is not valid", _where(request), key_id)
        raise unauthorized("the API key is not valid (unknown, revoked, expired or mistyped)")
    return found


def _where(request: Request) -> str:
    # Built only for a refusal's log line: a request's URL object is not free.
    return f"{request.method} {request.url.path}"


Caller = Annotated[Credential, Depends(caller)]
