"""Report texts: a title and a description composed from a category's issues, a place of the
district's kind, a time phrase, details and the channel's framing, all drawn from a seeded
RNG. Issues that belong to a season (台风 in Q3, 冻裂 in winter) or to a later year (电动自行车
from 2026) appear only then, so hot words differ by quarter and district for a reason.
"""

from __future__ import annotations

import random
from datetime import date
from functools import cache

from simulate.catalogue import DEPARTMENT_NAMES, DistrictSpec
from simulate.vocabulary import (
    CATEGORY_DETAILS,
    DETAILS,
    FRAMES,
    GENERIC_PLACES,
    ISSUES,
    PLACES,
    SEASON_WHEN,
    WHEN,
    Issue,
)

__all__ = ["quarter_of", "report_text"]


def quarter_of(day: date) -> int:
    """1–4."""
    return (day.month - 1) // 3 + 1


@cache
def _issues(category: str, quarter: int, year: int) -> tuple[Issue, ...]:
    found = tuple(
        issue
        for issue in ISSUES[category]
        if str(quarter) in issue.quarters and issue.from_year <= year
    )
    return found or ISSUES[category]


@cache
def _places(settings: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p for s in settings for p in PLACES[s]) + GENERIC_PLACES


def _title(issue: Issue, problem: str) -> str:
    return problem if issue.thing in problem else f"{issue.thing}{problem}"


def _detail(rng: random.Random, category: str) -> str:
    pool = CATEGORY_DETAILS[category] if rng.random() < 0.4 else DETAILS
    return rng.choice(pool).format(n=rng.randint(2, 30))


def report_text(
    rng: random.Random,
    category: str,
    district: DistrictSpec,
    day: date,
    channel: str,
    department: str | None = None,
) -> tuple[str, str]:
    """``(title, description)`` of one report of ``category`` in ``district`` on ``day``.

    ``channel`` is a ``Channel`` value; ``department`` (a code) names the reporting
    department of a department report.
    """
    quarter = quarter_of(day)
    issue = rng.choice(_issues(category, quarter, day.year))
    title = _title(issue, rng.choice(issue.problems))
    frame = rng.choice(FRAMES[channel]).format(dept=DEPARTMENT_NAMES.get(department or "", "部门"))
    when = ""
    if rng.random() < 0.5:
        when = rng.choice(SEASON_WHEN[quarter] if rng.random() < 0.15 else WHEN)
    place = rng.choice(_places(district.settings)) if rng.random() < 0.7 else ""
    if rng.random() < 0.1:
        place = f"{rng.choice(district.landmarks)}{rng.choice(('附近', '一带', ''))}{place}"
    details = _detail(rng, category)
    if rng.random() < 0.5:
        second = _detail(rng, category)
        if second != details:
            details = f"{details}，{second}"
    return title, f"{frame}{when}{place}{title}，{details}。"
