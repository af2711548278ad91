"""Credentials: one key per departmental system or resident app, with the scope it may submit.

A key reads ``fq_<key id>.<secret>``. The key id (16 hex digits) finds the row; the secret
(43 url-safe characters, 256 bits) is shown once, when made, and stored only as its scrypt
hash with a salt of its own, compared in constant time. Rotating a key makes a new one with
the same system and scope and leaves the old one valid for a grace period; revoking ends a key
at once. ``CredentialStore`` is the store's one door, for the CLI and the gateway alike.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from events.errors import FengqiaoError
from events.gateway.scope import Scope

__all__ = [
    "KINDS",
    "Credential",
    "CredentialError",
    "CredentialStore",
    "IssuedKey",
    "KeyListing",
    "check_request",
    "hash_secret",
    "split_key",
]

KINDS = ("system", "resident_app")
_KEY = re.compile(r"^fq_([0-9a-f]{16})\.([A-Za-z0-9_-]{20,100})$")
# scrypt's cost: some 16 MB and 30-60 ms per check; the gateway checks a key once per
# FQ_GATEWAY_AUTH_CACHE_S, not per request.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class CredentialError(FengqiaoError):
    """A credential command could not be done: no such key, a bad scope or kind."""


@dataclass(frozen=True)
class Credential:
    """A valid key's holder: its system, kind and scope."""

    key_id: str
    system: str
    kind: str
    scope: Scope


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: ``key`` is the only time its secret is seen."""

    key_id: str
    system: str
    key: str


@dataclass(frozen=True)
class KeyListing:
    """A key as ``credentials list`` shows it: everything but the secret."""

    key_id: str
    system: str
    kind: str
    scope: Scope
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def check_request(
    kind: str, event_types: Sequence[str], departments: Sequence[str], districts: Sequence[str]
) -> None:
    """Refuse a key of an unknown kind or with an empty scope.

    Raises:
        CredentialError: saying which.
    """
    if kind not in KINDS:
        raise CredentialError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    for name, values in (
        ("event types", event_types),
        ("departments", departments),
        ("districts", districts),
    ):
        if not values:
            raise CredentialError(f"give the {name} the key may submit ('*' for any)")


def split_key(key: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed key, else ``None``."""
    found = _KEY.match(key)
    return None if found is None else (found.group(1), found.group(2))


def hash_secret(secret: str, salt: bytes) -> bytes:
    """The stored form of a secret."""
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


def _scope(row: dict[str, Any]) -> Scope:
    return Scope.of(row["event_types"], row["departments"], row["districts"])


_VALID = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"


class CredentialStore:
    """The credentials table, through an autocommit connection whose ``search_path`` is the
    gateway's schema."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def create(
        self,
        system: str,
        event_types: Sequence[str],
        departments: Sequence[str],
        districts: Sequence[str],
        kind: str = "system",
    ) -> IssuedKey:
        """A new key for ``system`` with that scope (``"*"``: any).

        Raises:
            CredentialError: an unknown kind, or an empty scope.
        """
        check_request(kind, event_types, departments, districts)
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO credentials (key_id, system, kind, salt, secret_hash, event_types,"
                " departments, districts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    key_id,
                    system,
                    kind,
                    salt,
                    hash_secret(secret, salt),
                    list(event_types),
                    list(departments),
                    list(districts),
                ),
            )
        return IssuedKey(key_id, system, f"fq_{key_id}.{secret}")

    def verify(self, key: str) -> Credential | None:
        """The credential of a valid key (well formed, known, not revoked or expired, the
        secret matching), else ``None``."""
        parts = split_key(key)
        if parts is None:
            return None
        key_id, secret = parts
        with self.conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                f"SELECT * FROM credentials WHERE key_id = %s AND {_VALID}", (key_id,)
            ).fetchone()
        if row is None or not hmac.compare_digest(
            hash_secret(secret, bytes(row["salt"])), bytes(row["secret_hash"])
        ):
            return None
        return Credential(key_id, row["system"], row["kind"], _scope(row))

    def still_valid(self, key_id: str) -> bool:
        """Whether ``key_id`` is neither revoked nor expired (its secret is not checked)."""
        row = self.conn.execute(
            f"SELECT 1 FROM credentials WHERE key_id = %s AND {_VALID}", (key_id,)
        ).fetchone()
        return row is not None

    def list(self, system: str | None = None) -> list[KeyListing]:
        """Every key (of ``system``), oldest first, revoked and expired ones included."""
        with self.conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                "SELECT * FROM credentials WHERE %s::text IS NULL OR system = %s"
                " ORDER BY created_at, key_id",
                (system, system),
            ).fetchall()
        return [
            KeyListing(
                r["key_id"],
                r["system"],
                r["kind"],
                _scope(r),
                r["created_at"],
                r["expires_at"],
                r["revoked_at"],
            )
            for r in rows
        ]

    def rotate(self, key_id: str, grace: timedelta) -> IssuedKey:
        """A new key with the system, kind and scope of ``key_id``, which stays valid for
        ``grace`` more (or until it would have expired anyway).

        Raises:
            CredentialError: no valid key ``key_id``.
        """
        with self.conn.transaction(), self.conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                f"SELECT * FROM credentials WHERE key_id = %s AND {_VALID} FOR UPDATE", (key_id,)
            ).fetchone()
            if row is None:
                raise CredentialError(f"no valid key {key_id} to rotate")
            cur.execute(
                "UPDATE credentials SET expires_at = LEAST(COALESCE(expires_at, 'infinity'),"
                " now() + %s) WHERE key_id = %s",
                (grace, key_id),
            )
        scope = _scope(row)
        return self.create(
            row["system"], scope.event_types, scope.departments, scope.districts, row["kind"]
        )

    def revoke(self, key_id: str) -> None:
        """End ``key_id`` now.

        Raises:
            CredentialError: no key ``key_id`` that is not already revoked.
        """
        with self.conn.transaction():
            done = self.conn.execute(
                "UPDATE credentials SET revoked_at = now() WHERE key_id = %s"
                " AND revoked_at IS NULL",
                (key_id,),
            ).rowcount
        if not done:
            raise CredentialError(f"no key {key_id} to revoke (unknown, or revoked already)")
