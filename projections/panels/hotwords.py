"""热词排行: the words of a quarter's report texts, citywide or for one district, ranked, with
how each moved since the quarter before and the lexicon versions they were counted with."""

from __future__ import annotations

from typing import Any

import psycopg

from projections.panels.periods import Period
from projections.panels.scope import Scope, Unit, UnitError
from projections.panels.sources import ScopeRefused
from projections.panels.words import ranked, with_changes
from projections.queries import hot_words
from projections.reading import Answer

__all__ = ["MAX_WORDS", "words"]

MAX_WORDS = 200
# The previous quarter's whole list, to place every word of this one in it (a district's
# quarter holds some hundreds of distinct words).
_ALL_WORDS = 100_000


def _district(scope: Scope, unit: Unit) -> str | None:
    if unit.level not in ("city", "district"):
        raise UnitError(f"hot words are counted for the city or a district, not {unit.key}")
    if scope.department is not None:
        raise ScopeRefused(f"scope department:{scope.department} sees no report texts")
    if scope.place is not None and (scope.place.level, scope.place.code) != (
        unit.level,
        unit.code,
    ):
        raise ScopeRefused(f"scope {scope.place.key} does not cover {unit.key}'s hot words")
    return None if unit.level == "city" else unit.code


def words(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    quarter: Period,
    k: int = 50,
) -> Answer:
    """The ``k`` most frequent words of ``quarter`` (``rank``, ``word``, ``count``,
    ``lexicons``: the lexicon versions counted with), ties broken by the word, each with its
    ``previous_rank``, ``previous_count`` and ``change`` (new, up, down, same) against the
    quarter before.

    Raises:
        UnitError: ``unit`` is neither the city nor a district.
        ScopeRefused: the viewer's scope is narrower than ``unit`` (or a department).
    """
    if quarter.kind != "quarter":
        raise ValueError(f"hot words are counted per quarter, not per {quarter.kind}")
    district = _district(scope, unit)
    now = hot_words(conn, projection, quarter.label, district, min(k, MAX_WORDS))
    then = hot_words(conn, projection, quarter.previous().label, district, _ALL_WORDS)
    rows = with_changes(ranked(now.rows), ranked(then.rows))
    times = [a.complete_to for a in (now, then) if a.complete_to is not None]
    return Answer(rows, min(times) if times else None, now.schema)
