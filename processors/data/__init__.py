"""Reference data shipped with Fengqiao, as the payloads of the events that publish it.

``calendars/cn-<year>.json`` hold the State Council's holiday schedule of each year in the
shape of a CalendarDefined payload (the event's fields without the envelope), so that seeding
a fresh log is publishing them; the rules only ever read the events, never these files.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["shipped_calendar_definitions"]


def shipped_calendar_definitions() -> list[dict[str, Any]]:
    """Every shipped CalendarDefined payload, by year (dates as ISO strings)."""
    folder = resources.files(__package__).joinpath("calendars")
    payloads = [
        json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.startswith("cn-") and entry.name.endswith(".json")
    ]
    return sorted(payloads, key=lambda payload: int(payload["year"]))
