"""Panel answers kept while the projection stands still (projections/dashboard/memo.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from projections.dashboard.memo import Memo
from projections.dashboard.watch import Position
from projections.reading import Answer

AT = Position(position=100, schema="s1")


def _counting(schema: str = "s1") -> tuple[list[int], Callable[[], Answer]]:
    calls: list[int] = []

    def compute() -> Answer:
        calls.append(1)
        return Answer([{"n": len(calls)}], None, schema)

    return calls, compute


def test_the_same_question_at_the_same_position_is_read_once() -> None:
    memo, (calls, compute) = Memo(64), _counting()
    first = memo.answer(AT, "tiles", compute)
    again = memo.answer(AT, "tiles", compute)
    assert again is first and len(calls) == 1
    assert (memo.hits, memo.misses) == (1, 1)


def test_a_moved_position_another_schema_or_another_question_is_read_again() -> None:
    memo, (calls, compute) = Memo(64), _counting()
    memo.answer(AT, "tiles", compute)
    memo.answer(Position(position=101, schema="s1"), "tiles", compute)
    memo.answer(Position(position=100, schema="s2"), "tiles", compute)
    memo.answer(AT, "funnel", compute)
    assert len(calls) == 4


def test_nothing_is_kept_while_the_position_is_unknown() -> None:
    memo, (calls, compute) = Memo(64), _counting()
    for unknown in (Position(), Position(position=100, schema="s1", error="db down")):
        memo.answer(unknown, "tiles", compute)
        memo.answer(unknown, "tiles", compute)
    assert len(calls) == 4


def test_an_answer_read_from_another_schema_than_the_positions_is_not_kept() -> None:
    memo, (calls, compute) = Memo(64), _counting(schema="promoted")
    memo.answer(AT, "tiles", compute)
    memo.answer(AT, "tiles", compute)
    assert len(calls) == 2


def test_a_refusal_is_raised_every_time_and_never_kept() -> None:
    memo, calls = Memo(64), []

    def refuse() -> Answer:
        calls.append(1)
        raise LookupError("no such unit")

    for _ in range(2):
        try:
            memo.answer(AT, "describe", refuse)
        except LookupError:
            pass
    assert len(calls) == 2


def test_the_least_recently_used_answer_goes_first() -> None:
    memo, (calls, compute) = Memo(size=2), _counting()
    for key in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" comes
        memo.answer(AT, key, compute)
    assert len(calls) == 3
    memo.answer(AT, "a", compute)
    memo.answer(AT, "b", compute)
    assert len(calls) == 4


def test_threads_asking_at_once_get_one_answer_each() -> None:
    memo, (_, compute) = Memo(64), _counting()
    got: list[Answer] = []
    threads = [
        threading.Thread(target=lambda: got.append(memo.answer(AT, "x", compute))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(a.rows for a in got)
    assert memo.hits + memo.misses == 8
