"""The simulated city has Ningbo's shape, and Zhuangshi's for the pilot street."""

from __future__ import annotations

from collections import Counter

import pytest

from events.models import (
    CategoryDefined,
    DepartmentDefined,
    LexiconPublished,
    PlaceDefined,
    WorkerAssigned,
)
from simulate.city import CityShape, reference_events


def _levels(shape: CityShape) -> tuple[Counter[str], Counter[str], list[object]]:
    _, events = reference_events(shape, seed=1)
    places = Counter(str(e.level) for e in events if isinstance(e, PlaceDefined))
    roles = Counter(str(e.role) for e in events if isinstance(e, WorkerAssigned))
    return places, roles, events


def test_ningbo_has_its_districts_streets_grids_and_people() -> None:
    places, roles, events = _levels(CityShape.ningbo())
    assert places["city"] == 1
    assert places["district"] == 10
    assert places["street"] == 156
    assert places["grid"] == 12_216
    assert 900 <= places["village"] <= 1_000
    assert roles["grid_leader"] == 12_216
    assert 38_000 <= roles["grid_worker"] <= 42_000
    assert len([e for e in events if isinstance(e, DepartmentDefined)]) >= 20
    assert len([e for e in events if isinstance(e, CategoryDefined)]) == 28


def test_zhuangshi_is_one_street_of_zhenhai_with_14_communities_and_189_grids() -> None:
    places, _, events = _levels(CityShape.zhuangshi())
    assert (places["district"], places["street"], places["village"], places["grid"]) == (
        1,
        1,
        14,
        189,
    )
    names = {e.name for e in events if isinstance(e, PlaceDefined)}
    assert {"镇海区", "庄市街道"} <= names


def test_both_lexicon_versions_are_published_from_their_own_dates() -> None:
    _, events = reference_events(CityShape.zhuangshi(), seed=1)
    lexicons = {
        e.lexicon_version: e.effective_from.isoformat()
        for e in events
        if isinstance(e, LexiconPublished)
    }
    assert lexicons == {"lex-2025.1": "2025-01-01", "lex-2026.1": "2026-01-01"}


def test_reference_events_are_reproducible_and_keyed_by_seed() -> None:
    def ids(seed: int) -> list[str]:
        return [e.envelope.event_id for e in reference_events(CityShape.zhuangshi(), seed)[1]]

    assert ids(4) == ids(4)
    assert set(ids(4)).isdisjoint(ids(5))


def test_an_unknown_shape_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="'hangzhou'.*ningbo, zhuangshi"):
        CityShape.named("hangzhou")
