"""热词: the quarter a hot-word list is of, and how each word moved since the quarter before.
Pure: lists in, lists out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from projections.panels.periods import Period

__all__ = ["Change", "lexicons_of", "quarter_of", "ranked", "with_changes"]

Change = Literal["new", "up", "down", "same"]


def quarter_of(period: Period) -> Period:
    """The quarter hot words are counted in that holds ``period``'s first day."""
    return period.quarter


def ranked(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (already in list order: count down, then word) numbered from 1: a tie is
    broken by the word, so every word has its own place."""
    return [{**row, "rank": i} for i, row in enumerate(rows, start=1)]


def with_changes(
    current: Sequence[dict[str, Any]], previous: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``current``'s ranked rows with the previous quarter's rank and count of each word and
    its ``change``: ``new`` (not counted then), ``up`` or ``down`` (its place), ``same``."""
    before = {row["word"]: row for row in previous}
    out = []
    for row in current:
        then = before.get(row["word"])
        change: Change
        if then is None:
            change = "new"
        elif then["rank"] > row["rank"]:
            change = "up"
        elif then["rank"] < row["rank"]:
            change = "down"
        else:
            change = "same"
        out.append(
            {
                **row,
                "previous_rank": then["rank"] if then else None,
                "previous_count": then["count"] if then else None,
                "change": change,
            }
        )
    return out


def lexicons_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every lexicon version the rows' counts were made with, sorted."""
    return sorted({version for row in rows for version in row["lexicons"]})
