"""Pages of a long list: one bound on a page's rows, its SQL parameters and its total."""

from __future__ import annotations

from datetime import UTC, datetime

from projections.panels.paging import MAX_ROWS, page_of, page_params
from projections.reading import Answer

AT = datetime(2025, 6, 3, tzinfo=UTC)


def test_a_page_holds_at_most_max_rows_from_its_offset() -> None:
    assert MAX_ROWS == 500
    assert page_params(50, 100) == {"limit": 50, "offset": 100}
    assert page_params(10_000, 0) == {"limit": MAX_ROWS, "offset": 0}


def test_a_page_says_the_total_its_rows_carry() -> None:
    found = Answer([{"total": 7, "case_id": "c-1"}], AT, "fq_test")
    assert page_of(found, 1, 3) == {"total": 7, "limit": 1, "offset": 3}
    assert page_of(Answer([], AT, "fq_test"), 50, 0) == {"total": 0, "limit": 50, "offset": 0}
