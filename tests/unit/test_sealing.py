"""Personal details sealed per data subject: they open with their key only, unaltered."""

from __future__ import annotations

import pytest

from domain.decisions import Accepted
from domain.reference_rules import decide_reference
from domain.reference_view import ReferenceView
from events.models import PersonalData, PersonalDataErased
from events.sealing import KEY_BYTES, NONCE_BYTES, SealBroken, open_sealed, seal
from tests.factories import example_event

KEY, OTHER = b"k" * KEY_BYTES, b"o" * KEY_BYTES
NONCE = b"n" * NONCE_BYTES
DETAILS = {"name": "王小明", "phone": "13800138000", "id_number": "330203199001011234"}


def _sealed() -> PersonalData:
    return seal(KEY, "k1", "resident-1", DETAILS, NONCE)


def test_sealed_details_open_with_their_key_and_show_nothing_in_clear() -> None:
    sealed = _sealed()
    assert open_sealed(KEY, sealed) == DETAILS
    shown = sealed.model_dump_json()
    assert all(value not in shown for value in DETAILS.values())


def test_another_key_does_not_open_them() -> None:
    with pytest.raises(SealBroken, match="resident-1"):
        open_sealed(OTHER, _sealed())


@pytest.mark.parametrize(
    "moved",
    [{"subject_id": "resident-2"}, {"key_id": "k2"}],
    ids=["to another subject", "to another key id"],
)
def test_sealed_details_moved_to_another_subject_or_key_do_not_open(moved: dict[str, str]) -> None:
    with pytest.raises(SealBroken):
        open_sealed(KEY, _sealed().model_copy(update=moved))


def test_altered_ciphertext_does_not_open() -> None:
    sealed = _sealed()
    flipped = ("A" if sealed.ciphertext[0] != "A" else "B") + sealed.ciphertext[1:]
    with pytest.raises(SealBroken):
        open_sealed(KEY, sealed.model_copy(update={"ciphertext": flipped}))


def test_details_too_large_for_the_contract_are_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        seal(KEY, "k1", "resident-1", {"note": "x" * 6000}, NONCE)


def test_an_erasure_audit_event_joins_the_reference_log() -> None:
    audit = example_event("PersonalDataErased")
    assert isinstance(audit, PersonalDataErased)
    decision = decide_reference(ReferenceView(), audit)
    assert isinstance(decision, Accepted)
    assert decision.events[0].envelope.sequence == 1
