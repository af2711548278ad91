"""What the workflow's tables hold in memory, per million canonical events, for the simulated
whole city: the cost of answering every duplicate however old.

    .venv/bin/python -m bench.table_memory [--days 7]

The tables are built as the workflow builds them (``processors.state_store``) from the
canonical log of ``--days`` whole-city days (``bench.canonical_log``, Ningbo's shape): a case
record per case (its state with the sequence of every event id, the count of each accepted
submission that became more than one event), the last sequence per grid, an answer per visit
by event id. The simulated log refuses nothing, so the refusals a case or the reference
answers keep are not in it (each costs what a visit's answer costs, plus its message).
The size is that of the tables' dicts, their keys and values (``sys.getsizeof``: what a worker
holds, the decoded records it caches for its busiest cases aside); the figure is that size
divided by the canonical case and visit events they answer for.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import date
from typing import cast

from bench.canonical_log import canonical_events
from domain.case_state import CaseState, evolve
from events.models import CaseEvent, DeadlineScheduled, VisitRecorded
from processors.state_store import (
    Answer,
    CaseRecord,
    GridVisits,
    dumps,
    dumps_answer,
    dumps_grid,
)
from simulate.city import CityShape

MIB = 1024 * 1024


def measure(days: int, seed: int = 17) -> dict[str, float]:
    """The tables' bytes for ``days`` whole-city days from 3 March 2025, and per event."""
    states: dict[str, CaseState] = {}
    caused: dict[str, Counter[str]] = {}
    visits: dict[str, int] = {}  # event id -> sequence
    grids: dict[str, int] = {}
    case_events = 0
    for stream, event in canonical_events(CityShape.ningbo(), seed, date(2025, 3, 3), days):
        if stream == "case":
            case = cast(CaseEvent, event)
            states[case.case_id] = evolve(states.get(case.case_id), case)
            counts = caused.setdefault(case.case_id, Counter())
            cause = event.envelope.causation_id
            counts[
                cause if isinstance(event, DeadlineScheduled) and cause else case.envelope.event_id
            ] += 1
            case_events += 1
        elif stream == "visit":
            visit = cast(VisitRecorded, event)
            visits[visit.envelope.event_id] = visit.envelope.sequence or 0
            grids[visit.grid_id] = visit.envelope.sequence or 0
    records = {
        case_id: CaseRecord(
            state, 0, {k: n for k, n in caused[case_id].items() if n > 1 and k in state.seen}
        )
        for case_id, state in states.items()
    }
    cases = _size({k.encode(): dumps(r) for k, r in records.items()})
    grid_bytes = _size({k.encode(): dumps_grid(GridVisits(0, s)) for k, s in grids.items()})
    visit_bytes = _size({k.encode(): dumps_answer(Answer(s, 1)) for k, s in visits.items()})
    total = cases + grid_bytes + visit_bytes
    events = case_events + len(visits)
    return {
        "days": days,
        "cases": len(records),
        "case_events": case_events,
        "grids": len(grids),
        "visits": len(visits),
        "cases_mib": cases / MIB,
        "grids_mib": grid_bytes / MIB,
        "visits_mib": visit_bytes / MIB,
        "total_mib": total / MIB,
        "case_bytes_per_event": cases / case_events,
        "visit_bytes_per_event": visit_bytes / len(visits),
        "mib_per_million_events": total / MIB / events * 1_000_000,
    }


def _size(table: dict[bytes, bytes]) -> int:
    """The bytes a table's dict, keys and values take (what a worker holds per entry)."""
    return sys.getsizeof(table) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in table.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    for name, value in measure(args.days).items():
        print(f"{name:>24}: {value:,.1f}" if isinstance(value, float) else f"{name:>24}: {value:,}")


if __name__ == "__main__":
    main()
