"""Sealing a data subject's personal details with that subject's own key (AES-256-GCM).

Pure: the key and the nonce are given. The sealed JSON is authenticated together with the
subject and key ids, so a sealed value moved to another subject or key does not open. Keys and
their erasure live in ``events.subject_keys``; this module only does the arithmetic.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.errors import ContractError
from events.models import PersonalData

__all__ = ["KEY_BYTES", "NONCE_BYTES", "SealBroken", "open_sealed", "seal"]

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
MAX_DETAILS = 5500  # bytes of JSON: sealed and in base64, the contract's 8,000 characters


class SealBroken(ContractError):
    """A sealed value did not open with its key: altered, or sealed for another subject."""


def seal(key: bytes, key_id: str, subject_id: str, details: Mapping[str, str], nonce: bytes
         ) -> PersonalData:  # fmt: skip
    """``details`` (e.g. name, phone, id_number) sealed for ``subject_id`` under ``key``."""
    plain = json.dumps(dict(details), ensure_ascii=False, sort_keys=True).encode()
    if len(plain) > MAX_DETAILS:
        raise ValueError(f"personal details of {len(plain)} bytes; at most {MAX_DETAILS}")
    sealed = AESGCM(key).encrypt(nonce, plain, _aad(subject_id, key_id))
    return PersonalData(
        subject_id=subject_id,
        key_id=key_id,
        nonce=base64.b64encode(nonce).decode(),
        ciphertext=base64.b64encode(sealed).decode(),
    )


def open_sealed(key: bytes, data: PersonalData) -> dict[str, str]:
    """The details sealed in ``data``.

    Raises:
        SealBroken: the bytes were altered, or ``key`` is not the one that sealed them.
    """
    try:
        plain = AESGCM(key).decrypt(
            base64.b64decode(data.nonce),
            base64.b64decode(data.ciphertext),
            _aad(data.subject_id, data.key_id),
        )
    except (InvalidTag, ValueError) as exc:
        raise SealBroken(
            f"personal data of subject {data.subject_id} (key {data.key_id}) does not open: "
            "altered, or sealed under another key"
        ) from exc
    details: dict[str, str] = json.loads(plain)
    return details


def _aad(subject_id: str, key_id: str) -> bytes:
    return f"{subject_id}\x00{key_id}".encode()
