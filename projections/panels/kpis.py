"""The dashboard's KPIs, declared once: each one's Chinese name, how it is computed from the
stored counters (counters are stored, rates are derived), which way is better, and which
events put a case behind it (for the drill from a number to its cases).

Definitions (counts are by event time, Asia/Shanghai days, the case counted for the place
it was reported in and the department that acted):
- 上报 reported, 立案 accepted, 派遣 dispatched (a transfer counts for the receiving department),
  核查 verifications, 结案 closed: events of the period; 处置 resolved: cases, each once, on
  its final resolution's day (a reworked case's earlier resolution is taken back).
- 结案率 closed / (due to close − parked) and 按期结案率 closed on time / (due to close −
  parked), as DESIGN §1 defines them, over a cohort: the cases due to close in a period are
  those first dispatched in it (应结案), and of them those closed so far, on time when their
  resolution was (``domain.stats_moves.cohort_moves``), so neither passes 100%; parked cases
  (挂账) leave the denominator while parked (``DUE_LESS_PARKED``); 返工率 reworks (failed
  verifications and reopenings) / resolved; 平均处置时长 working hours from the first
  dispatch to the final resolution; 推诿 hand-off requests (a department saying "not
  ours" to the command centre, upheld or refused) per department; 满意度 mean satisfaction (1–5) of the period's evaluations.
- 在办 open and 超期 overdue: now, whatever the period (``unit_now``).
- The funnel 上报 → 立案 → 派遣 → 处置 → 核查 → 结案 is a cohort's: the cases reported in the
  period, and of them those that have got through each stage and all before it by now
  (``domain.funnel_moves``), so each stage holds at most the one before; per department, the cases
  first dispatched to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from domain.funnel_moves import FUNNEL_METRICS

__all__ = [
    "DUE_LESS_PARKED",
    "FLOWS",
    "FUNNEL",
    "KPIS",
    "OVERVIEW_TILES",
    "RANKABLE",
    "Kpi",
    "KpiError",
    "kpi",
]

Kind = Literal["count", "rate", "mean", "now"]

# The close rates' denominator (DESIGN §1): the cases due to close less those parked on the
# backlog (挂账). The projector's cohort moves take a case out of ``due_to_close`` when it is
# parked and put it back when it is taken off (``domain.stats_moves.cohort_moves``), so this counter
# already is "due to close − parked", for every panel and drill.
DUE_LESS_PARKED = "due_to_close"


class KpiError(ValueError):
    """An unknown KPI name; says which are known."""


@dataclass(frozen=True)
class Kpi:
    """One number a panel shows.

    ``numerator`` and ``denominator`` name counters of ``stats_daily`` / ``stats_period``
    (``unit_now`` columns for kind ``now``); ``scale`` multiplies the ratio (1/60 turns summed
    minutes into hours); ``events`` are the case events whose cases stand behind the numerator.
    """

    name: str
    label: str
    kind: Kind
    numerator: str
    denominator: str | None = None
    lower_is_better: bool = False
    unit: str = "件"
    scale: float = 1.0
    events: tuple[str, ...] = ()
    listed: bool = True  # offered in the rankings' and the map's choices

    def value(self, num: float | None, den: float | None) -> float | None:
        """The KPI from its summed counters; ``None`` when the denominator is zero."""
        if num is None:
            return None
        if self.denominator is None:
            return float(num)
        if not den:
            return None
        return float(num) / float(den) * self.scale

    def of(self, sums: Mapping[str, Any] | None) -> float | None:
        """The KPI from a row of summed counters; with no row (nothing counted) a count is 0
        and a rate has no value."""
        if sums is None:
            return None if self.is_rate else 0.0
        return self.value(sums.get(self.numerator), sums.get(self.denominator or ""))

    @property
    def is_rate(self) -> bool:
        return self.kind in ("rate", "mean")


_ALL = (
    Kpi("reported", "上报", "count", "reported", events=("CaseReported",)),
    Kpi("discovered", "巡查发现", "count", "discovered", events=("CaseReported",)),
    Kpi("accepted", "立案", "count", "accepted", events=("CaseAccepted",)),
    Kpi(
        "rejected", "不予立案", "count", "rejected", lower_is_better=True, events=("CaseRejected",)
    ),
    Kpi("dispatched", "派遣", "count", "dispatched", events=("CaseDispatched", "CaseTransferred")),
    Kpi("resolved", "处置", "count", "resolved", events=("CaseResolved",)),
    Kpi("verifications", "核查", "count", "verifications", events=("CaseVerified",)),
    Kpi("closed", "结案", "count", "closed", events=("CaseClosed",)),
    Kpi(
        "close_rate",
        "结案率",
        "rate",
        "closed_of_due",
        DUE_LESS_PARKED,
        unit="%",
        events=("CaseClosed",),
    ),
    Kpi(
        "on_time_rate",
        "按期结案率",
        "rate",
        "closed_on_time_of_due",
        DUE_LESS_PARKED,
        unit="%",
        events=("CaseClosed",),
    ),
    Kpi(
        "rework_rate",
        "返工率",
        "rate",
        "reworks",
        "resolved",
        lower_is_better=True,
        unit="%",
        events=("CaseVerified", "CaseReopened"),
    ),
    Kpi(
        "hand_offs",
        "推诿",
        "count",
        "handoff_requests",
        lower_is_better=True,
        events=("HandoffRequested",),
    ),
    Kpi(
        "satisfaction",
        "满意度",
        "mean",
        "satisfaction_sum",
        "evaluations",
        unit="分",
        events=("CaseEvaluated",),
    ),
    Kpi(
        "verification_pass_rate",
        "核查通过率",
        "rate",
        "verifications_passed",
        "verifications",
        unit="%",
        events=("CaseVerified",),
    ),
    Kpi(
        "handling_hours",
        "平均处置时长",
        "mean",
        "handling_minutes",
        "resolved",
        lower_is_better=True,
        unit="工时",
        scale=1 / 60,
        events=("CaseResolved",),
    ),
    Kpi(
        "breaches", "超时", "count", "breaches", lower_is_better=True, events=("DeadlineBreached",)
    ),
    Kpi("escalations", "升级", "count", "escalations", events=("CaseEscalated",)),
    Kpi("visits", "走访", "count", "visits", unit="次"),
    Kpi("households", "入户", "count", "households", unit="户"),
    Kpi("discovery_rate", "发现率", "rate", "discovered", "visits", unit="件/次"),
    *(
        Kpi(metric, f"上报后{stage}", "count", metric, events=("CaseReported",), listed=False)
        for metric, stage in zip(
            FUNNEL_METRICS, ("已立案", "已派遣", "已处置", "已核查", "已结案"), strict=True
        )
    ),
    Kpi("open", "在办", "now", "open"),
    Kpi("overdue", "超期", "now", "overdue", lower_is_better=True),
)
KPIS: dict[str, Kpi] = {k.name: k for k in _ALL}
OVERVIEW_TILES = (
    "reported",
    "accepted",
    "dispatched",
    "closed",
    "close_rate",
    "on_time_rate",
    "rework_rate",
    "hand_offs",
    "satisfaction",
    "open",
    "overdue",
)
# The funnel's stages: the period's reports, then how far they got (the cohort's counters).
FUNNEL: tuple[tuple[str, str], ...] = (
    ("reported", "上报"),
    *zip(FUNNEL_METRICS, ("立案", "派遣", "处置", "核查", "结案"), strict=True),
)
# The daily trend: the same stages as the events of each day.
FLOWS = ("reported", "accepted", "dispatched", "resolved", "verifications", "closed")
RANKABLE = tuple(k.name for k in _ALL if k.kind != "now" and k.listed)


def kpi(name: str) -> Kpi:
    """The KPI called ``name``.

    Raises:
        KpiError: no such KPI (the message lists the known ones).
    """
    found = KPIS.get(name)
    if found is None:
        raise KpiError(f"KPI {name!r} is not one of {', '.join(KPIS)}")
    return found
