"""Simulated time: local (Asia/Shanghai) instants of a day, and the office hours in which the
command centre and the departments act, from the shipped working-time calendars."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import WorkCalendar, calendar_from_definitions, is_working_day
from domain.errors import CalendarGap
from processors.data import shipped_calendar_definitions

__all__ = ["SHANGHAI", "OfficeHours", "at", "day_start"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENS, CLOSES = 8.5, 17.5  # office hours, local


def at(day: date, hour: float) -> datetime:
    """The UTC instant ``hour`` hours after local midnight of ``day``."""
    local = datetime.combine(day, time(0), SHANGHAI) + timedelta(hours=hour)
    return local.astimezone(UTC)


def day_start(day: date) -> datetime:
    """Local midnight of ``day``, in UTC."""
    return at(day, 0)


class OfficeHours:
    """Working days from the shipped calendars (Mon–Fri for years they do not cover)."""

    def __init__(self, calendar: WorkCalendar | None = None) -> None:
        self.calendar = calendar or calendar_from_definitions(shipped_calendar_definitions())
        self._days: dict[date, bool] = {}

    def is_working_day(self, day: date) -> bool:
        known = self._days.get(day)
        if known is None:
            try:
                known = is_working_day(self.calendar, day)
            except CalendarGap:
                known = day.weekday() < 5
            self._days[day] = known
        return known

    def next_open(self, t: datetime, rng: random.Random) -> datetime:
        """``t`` if the office is open then, else a little after it next opens."""
        local = t.astimezone(SHANGHAI)
        day = local.date()
        hour = local.hour + local.minute / 60
        if self.is_working_day(day) and OPENS <= hour < CLOSES:
            return t
        if not (self.is_working_day(day) and hour < OPENS):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return at(day, OPENS + rng.uniform(0, 1.5))
