"""The rollups' pure parts: period labels, a date range cut into whole quarters, whole months
and leftover days, and the handling-time buckets with the median and p90 read from them
within one bucket width of the exact ``percentile_cont``."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.handling_hist import EDGES, WIDTHS, _value_at, bucket_of, percentile
from projections.periods import Span, cover, month_of, quarter_of, whole_period


def test_labels_are_those_of_the_local_day() -> None:
    assert month_of(date(2025, 6, 30)) == "2025-06"
    assert quarter_of(date(2025, 6, 30)) == "2025-Q2"
    assert quarter_of(date(2025, 10, 1)) == "2025-Q4"


def test_a_whole_month_or_quarter_is_recognised_and_nothing_else() -> None:
    assert whole_period(date(2025, 4, 1), date(2025, 7, 1)) == ("quarter", "2025-Q2")
    assert whole_period(date(2025, 12, 1), date(2026, 1, 1)) == ("month", "2025-12")
    assert whole_period(date(2025, 4, 2), date(2025, 5, 1)) is None
    assert whole_period(date(2025, 4, 1), date(2025, 6, 1)) is None  # two months


def test_a_range_is_cut_into_quarters_months_and_days_each_in_one_period() -> None:
    spans = cover(date(2025, 2, 20), date(2025, 8, 10), "quarter")
    assert spans == [
        Span("days", "", date(2025, 2, 20), date(2025, 3, 1), "2025-Q1"),
        Span("month", "2025-03", date(2025, 3, 1), date(2025, 4, 1), "2025-Q1"),
        Span("quarter", "2025-Q2", date(2025, 4, 1), date(2025, 7, 1), "2025-Q2"),
        Span("month", "2025-07", date(2025, 7, 1), date(2025, 8, 1), "2025-Q3"),
        Span("days", "", date(2025, 8, 1), date(2025, 8, 10), "2025-Q3"),
    ]
    by_month = cover(date(2025, 3, 3), date(2025, 5, 1), "month")
    assert [(s.kind, s.label) for s in by_month] == [
        ("days", "2025-03"),
        ("month", "2025-04"),
    ]


@given(st.dates(date(2024, 1, 1), date(2027, 1, 1)), st.integers(1, 500))
def test_the_spans_cover_the_range_once_in_order(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    for grain in ("month", "quarter"):
        spans = cover(start, end, grain)  # type: ignore[arg-type]
        assert spans[0].start == start and spans[-1].end == end
        assert all(a.end == b.start for a, b in itertools.pairwise(spans))
        label = quarter_of if grain == "quarter" else month_of
        assert all(label(s.start) == label(s.end - timedelta(days=1)) == s.label for s in spans)
        assert all(s.kind == "days" or whole_period(s.start, s.end) for s in spans)


def test_buckets_are_fine_where_most_handling_times_are() -> None:
    assert [bucket_of(h) for h in (0.0, 0.2499, 0.25, 7.99, 8.0, 79.5, 80.0, 9_999.0)] == [
        0,
        0,
        1,
        31,
        32,
        103,
        104,
        len(EDGES) - 1,
    ]
    assert bucket_of(-1.0) == 0
    assert WIDTHS[0] == 0.25 and WIDTHS[32] == 1.0 and WIDTHS[104] == 10.0 and WIDTHS[-1] == 0


def _percentile_cont(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    k = math.floor(rank)
    high = ordered[min(k + 1, len(ordered) - 1)]
    return ordered[k] + (rank - k) * (high - ordered[k])


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(
            st.floats(0, 8, allow_nan=False),
            st.floats(0, 80, allow_nan=False),
            st.floats(0, 7_999, allow_nan=False),
        ),
        min_size=1,
        max_size=200,
    )
)
def test_the_median_and_p90_are_within_one_bucket_of_the_exact_ones(values: list[float]) -> None:
    counts: dict[int, int] = {}
    for v in values:
        counts[bucket_of(v)] = counts.get(bucket_of(v), 0) + 1
    ordered = sorted(values)
    for q in (0.5, 0.9):
        exact = _percentile_cont(values, q)
        k = math.floor(q * (len(values) - 1))
        bound = max(
            WIDTHS[bucket_of(ordered[k])],
            WIDTHS[bucket_of(ordered[-1 if k + 1 >= len(values) else k + 1])],
        )
        estimate = percentile(counts, q)
        assert estimate is not None and abs(estimate - exact) < bound + 1e-9


def test_small_samples_read_as_the_middle_of_their_bucket() -> None:
    assert percentile({}, 0.5) is None
    assert percentile({bucket_of(3.1): 1}, 0.9) == pytest.approx(3.125)
    assert percentile({0: 1, 32: 1}, 0.5) == pytest.approx((0.125 + 8.5) / 2)
    with pytest.raises(ValueError, match="beyond"):
        _value_at({0: 1}, 1)
