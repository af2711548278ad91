"""Report texts vary enough for hot words to mean something: hundreds of distinct texts per
category, seasonal issues only in their season, and rankings that differ by district and
quarter for the reasons the catalogue gives (typhoons on the coast in Q3, farms in the
counties, old estates in the city)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from functools import cache

import pytest

from domain.reference_view import ReferenceView
from events.models import CaseReported
from projections.hotwords import top_k, words_of
from simulate.activity import Rates, simulate_day
from simulate.catalogue import CATEGORIES, DISTRICT_BY_CODE
from simulate.city import CityShape, reference_events
from simulate.texts import report_text

COAST, CITY, COUNTY = (DISTRICT_BY_CODE[c] for c in ("xiangshan", "haishu", "fenghua"))


@pytest.mark.parametrize("category", [c.code for c in CATEGORIES])
def test_each_category_has_hundreds_of_distinct_texts(category: str) -> None:
    rng = random.Random(category)
    texts = [report_text(rng, category, COAST, date(2026, 8, 1), "resident") for _ in range(2000)]
    assert len({description for _, description in texts}) >= 500
    assert len({title for title, _ in texts}) >= 6


def test_seasonal_and_new_issues_come_only_in_their_time() -> None:
    def texts(day: date) -> str:
        rng = random.Random(1)
        return "".join(
            report_text(rng, c.code, COAST, day, "grid_visit")[1]
            for c in CATEGORIES
            for _ in range(200)
        )

    winter_2025, summer_2026 = texts(date(2025, 1, 10)), texts(date(2026, 7, 10))
    assert "台风" in summer_2026 and "台风" not in winter_2025
    assert "冻裂" in winter_2025 and "冻裂" not in summer_2026
    assert "电动自行车" in summer_2026 and "电动自行车" not in winter_2025


def test_same_seed_same_text() -> None:
    def draw(seed: int) -> tuple[str, str]:
        return report_text(random.Random(seed), "fire", CITY, date(2026, 3, 1), "hotline")

    assert draw(3) == draw(3)


@cache
def _hot_words() -> dict[tuple[str, int], Counter[str]]:
    """Hot-word counts by (district, quarter) over simulated reports of three days a quarter."""
    city, reference = reference_events(CityShape(streets=10, grids=400, name="hot"), seed=1)
    view = ReferenceView().apply_all(reference)
    counts: dict[tuple[str, int], Counter[str]] = {}
    for quarter, first in ((1, date(2026, 1, 12)), (3, date(2026, 7, 13))):
        for n in range(3):
            day = first + timedelta(days=n)
            activity = simulate_day(city, day, random.Random(n), rates=Rates(discovery_rate=0.4))
            for e in activity.events:
                if isinstance(e, CaseReported):
                    key = (city.grid_district[e.grid_id].code, quarter)
                    counts.setdefault(key, Counter()).update(
                        words_of(f"{e.title}。{e.description}", view.lexicon(day))
                    )
    return counts


def _share(counts: Counter[str], words: set[str]) -> float:
    return sum(counts[w] for w in words) / max(sum(counts.values()), 1)


def test_hot_words_follow_the_season_on_the_coast() -> None:
    counts = _hot_words()
    flood = {"台风", "积水", "内涝", "汛期", "海塘", "防汛", "暴雨", "地下车库", "排水沟"}
    summer, winter = counts[(COAST.code, 3)], counts[(COAST.code, 1)]
    assert _share(summer, flood) > 2 * _share(winter, flood)
    assert summer["台风"] > 0 and winter["台风"] == 0
    assert {w for w, _ in top_k(summer, 25)} & flood


def test_hot_words_differ_between_city_and_county() -> None:
    counts = _hot_words()
    rural = {"村口", "村委会", "农田", "农家乐", "祠堂", "田间", "秸秆", "畜禽养殖", "宅基地"}
    urban = {"老旧小区", "商业街", "地铁站", "写字楼", "物业", "乱停车", "电梯故障", "步行街"}
    city, county = (
        counts[(CITY.code, 3)] + counts[(CITY.code, 1)],
        (counts[(COUNTY.code, 3)] + counts[(COUNTY.code, 1)]),
    )
    assert _share(county, rural) > 3 * _share(city, rural)
    assert _share(city, urban) > 3 * _share(county, urban)
