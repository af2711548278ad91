"""The reference data as an effective-dated view, folded from the reference events.

Every definition is kept with its ``effective_from`` date (Asia/Shanghai), so a question is
always asked *on* a date: "was this grid in force on 3 March", "who were its parents then".
A later definition of the same code replaces the earlier one from its own date on
(re-gridding); on the same date, the later one in log order wins. ``apply`` returns a new view
and leaves the old one untouched; ``apply_all`` folds many events with a single copy.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol, TypeVar

from domain.calendar import CalendarYear, WorkCalendar, local_date, year_from_definition
from domain.errors import UnknownReference
from domain.ladder_policy import ladder_of
from domain.sla import SlaLimit, SlaPolicy
from events.models import (
    CalendarDefined,
    CategoryDefined,
    DepartmentDefined,
    Event,
    LexiconPublished,
    PlaceDefined,
    PlaceLevel,
    PlaceRetired,
    SlaPolicyDefined,
    SourceSystemDefined,
    WorkerAssigned,
)

__all__ = ["LEVELS", "Category", "Lexicon", "Place", "ReferenceView", "SystemScope", "day_of"]

_NO_DATE = date(1, 1, 1)
LEVELS = (
    PlaceLevel.city,
    PlaceLevel.district,
    PlaceLevel.street,
    PlaceLevel.village,
    PlaceLevel.grid,
)


@dataclass(frozen=True)
class Place:
    """A place as defined from ``effective_from`` on; ``retired`` when it ceased to exist."""

    code: str
    level: PlaceLevel
    name: str
    parent_code: str | None
    effective_from: date
    retired: bool = False
    boundary: tuple[tuple[float, float], ...] | None = None  # outer ring, open, (lon, lat)


@dataclass(frozen=True)
class Category:
    """A case category (inspection item) with its default department and SLA policy."""

    code: str
    name: str
    default_department_code: str
    sla_policy_id: str
    effective_from: date


@dataclass(frozen=True)
class Lexicon:
    """A version of the hot-word lexicon."""

    version: str
    user_words: tuple[str, ...]
    stop_words: tuple[str, ...]
    effective_from: date


@dataclass(frozen=True)
class SystemScope:
    """What a submitting system may submit from a date; ``"*"`` in a tuple means any."""

    system: str
    event_types: tuple[str, ...]
    departments: tuple[str, ...]
    districts: tuple[str, ...]
    effective_from: date


class _Dated(Protocol):
    @property
    def effective_from(self) -> date: ...


D = TypeVar("D", bound=_Dated)


def _insert(history: tuple[D, ...], item: D) -> tuple[D, ...]:
    at = bisect_right([h.effective_from for h in history], item.effective_from)
    return (*history[:at], item, *history[at:])


def _add(table: dict[str, tuple[D, ...]], key: str, item: D) -> None:
    table[key] = _insert(table.get(key, ()), item)


def _at(history: tuple[D, ...], on: date) -> D | None:
    for item in reversed(history):
        if item.effective_from <= on:
            return item
    return None


_CHAIN_MEMO = 100_000  # chains remembered (some 40 MB) before starting again


def day_of(on: date | datetime) -> date:
    """A date as is; an aware instant as its Asia/Shanghai date."""
    return local_date(on) if isinstance(on, datetime) else on


@dataclass(frozen=True)
class _Assignment:
    grid_id: str
    role: str
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True)
class _Dept:
    name: str
    effective_from: date


@dataclass(frozen=True)
class _Policy:
    policy: SlaPolicy
    effective_from: date


class ReferenceView:
    """An immutable, effective-dated view of every reference event applied so far."""

    def __init__(self) -> None:
        self._sequence = 0
        self._seen: dict[str, int] = {}
        self._places: dict[str, tuple[Place, ...]] = {}
        self._workers: dict[str, tuple[_Assignment, ...]] = {}
        self._departments: dict[str, tuple[_Dept, ...]] = {}
        self._categories: dict[str, tuple[Category, ...]] = {}
        self._policies: dict[str, tuple[_Policy, ...]] = {}
        self._calendars: dict[str, CalendarYear] = {}  # calendar_version -> year
        self._calendar_of_year: dict[int, str] = {}  # year -> latest calendar_version
        self._first_calendar_of_year: dict[int, str] = {}  # year -> first calendar_version
        self._lexicons: tuple[Lexicon, ...] = ()
        self._systems: dict[str, tuple[SystemScope, ...]] = {}
        self._cache: dict[str, WorkCalendar] = {}
        self._recorded_cache: dict[tuple[str, ...], WorkCalendar] = {}
        # (place, date) -> its parent chain: every visit and report asks, four levels each
        self._chains: dict[tuple[str, date], dict[str, str]] = {}

    # --- folding ---------------------------------------------------------------------------
    def apply(self, event: Event) -> ReferenceView:
        """A new view with ``event`` (a canonical reference event) applied."""
        return self.apply_all((event,))

    def apply_all(self, events: Iterable[Event]) -> ReferenceView:
        """A new view with every event applied in order."""
        view = ReferenceView()
        view.__dict__.update(
            {
                k: (dict(v) if isinstance(v, dict) else v)
                for k, v in self.__dict__.items()
                if k != "_chains"  # a cache of up to _CHAIN_MEMO entries: not worth a copy
            }
        )
        for event in events:
            view._apply_in_place(event)
        return view

    def extend(self, events: Iterable[Event]) -> None:
        """Apply events to *this* view, without a copy: for a single owner folding a log
        from its start (a replay, a generator), where ``apply_all`` per event would copy the
        whole view each time."""
        for event in events:
            self._apply_in_place(event)

    def _apply_in_place(self, event: Event) -> None:
        self._sequence = event.envelope.sequence or self._sequence + 1
        self._seen[event.envelope.event_id] = self._sequence
        if isinstance(event, PlaceDefined | PlaceRetired):
            self._place(event)
            self._chains.clear()
        elif isinstance(event, WorkerAssigned):
            role, until = str(event.role), event.effective_to
            item = _Assignment(event.grid_id, role, event.effective_from, until)
            _add(self._workers, event.worker_id, item)
        elif isinstance(event, DepartmentDefined):
            _add(self._departments, event.code, _Dept(event.name, event.effective_from))
        elif isinstance(event, CategoryDefined):
            dept, policy = event.default_department_code, event.sla_policy_id
            category = Category(event.code, event.name, dept, policy, event.effective_from)
            _add(self._categories, event.code, category)
        elif isinstance(event, SlaPolicyDefined):
            limits = {
                (str(x.stage), str(x.priority)): SlaLimit(
                    x.working_hours, x.warn_before_hours, ladder_of(x)
                )
                for x in event.limits
            }
            version = SlaPolicy(event.policy_id, event.version, limits, event.verify_distance_m)
            _add(self._policies, event.policy_id, _Policy(version, event.effective_from))
        elif isinstance(event, CalendarDefined):
            self._calendars[event.calendar_version] = year_from_definition(event)
            self._calendar_of_year[event.year] = event.calendar_version
            self._first_calendar_of_year.setdefault(event.year, event.calendar_version)
            self._cache, self._recorded_cache = {}, {}
        elif isinstance(event, LexiconPublished):
            words = (event.user_words, event.stop_words)
            lexicon = Lexicon(event.lexicon_version, *words, event.effective_from)
            self._lexicons = _insert(self._lexicons, lexicon)
        elif isinstance(event, SourceSystemDefined):
            scope = (event.event_types, event.departments, event.districts)
            system = SystemScope(event.system, *scope, event.effective_from)
            _add(self._systems, event.system, system)

    def _place(self, event: PlaceDefined | PlaceRetired) -> None:
        history = self._places.get(event.code, ())
        if isinstance(event, PlaceDefined):
            code, level, parent = event.code, event.level, event.parent_code
            ring = None if event.boundary is None else tuple((p.lon, p.lat) for p in event.boundary)
            place = Place(code, level, event.name, parent, event.effective_from, boundary=ring)
        else:
            base = (
                history[-1] if history else Place(event.code, PlaceLevel.grid, "", None, _NO_DATE)
            )
            place = replace(base, effective_from=event.effective_from, retired=True)
        self._places[event.code] = _insert(history, place)

    # --- queries ---------------------------------------------------------------------------
    @property
    def sequence(self) -> int:
        """The sequence of the last reference event applied (0 for none)."""
        return self._sequence

    def sequence_of(self, event_id: str) -> int | None:
        """The sequence a reference event was appended at, if it was."""
        return self._seen.get(event_id)

    def place(self, code: str, on: date | datetime) -> Place | None:
        """The place in force on that date (``None`` if not yet defined, or retired)."""
        found = _at(self._places.get(code, ()), day_of(on))
        return None if found is None or found.retired else found

    def place_history(self, code: str) -> tuple[Place, ...]:
        """Every definition and retirement of the place, by effective date."""
        return self._places.get(code, ())

    def place_codes(self) -> tuple[str, ...]:
        """Every place code ever defined, sorted."""
        return tuple(sorted(self._places))

    def worker_ids(self) -> tuple[str, ...]:
        """Every worker ever assigned, sorted."""
        return tuple(sorted(self._workers))

    def department_codes(self) -> tuple[str, ...]:
        """Every department ever defined, sorted."""
        return tuple(sorted(self._departments))

    def department_name(self, code: str, on: date | datetime) -> str | None:
        """The department's name in force on that date."""
        found = _at(self._departments.get(code, ()), day_of(on))
        return None if found is None else found.name

    def latest_effective_date(self) -> date | None:
        """The latest date from which a place, assignment or department definition is in
        force (``None`` before any): the day on which every one of them applies."""
        places = [h[-1].effective_from for h in self._places.values() if h]
        workers = [h[-1].effective_from for h in self._workers.values() if h]
        departments = [h[-1].effective_from for h in self._departments.values() if h]
        return max([*places, *workers, *departments], default=None)

    def grid_effective(self, grid_id: str, on: date | datetime) -> bool:
        """Whether ``grid_id`` is a grid in force on that date."""
        place = self.place(grid_id, on)
        return place is not None and place.level is PlaceLevel.grid

    def parent_chain(self, grid_id: str, on: date | datetime) -> dict[str, str]:
        """``{level: code}`` from the place up to the city, with the boundaries of that date
        (a new dict: the caller may change it)."""
        day = day_of(on)
        chain = self._chains.get((grid_id, day))
        if chain is None:
            if len(self._chains) >= _CHAIN_MEMO:
                self._chains.clear()  # a replay moves forward in time: old days stay behind
            chain = self._chains[(grid_id, day)] = self._walk_up(grid_id, day)
        return dict(chain)

    def _walk_up(self, code: str | None, day: date) -> dict[str, str]:
        chain: dict[str, str] = {}
        while code is not None and len(chain) < len(LEVELS):
            place = self.place(code, day)
            if place is None or place.level in chain:
                break
            chain[str(place.level)] = code
            code = place.parent_code
        return chain

    def worker_grid(self, worker_id: str, on: date | datetime) -> str | None:
        """The grid the worker is assigned to on that date, if any."""
        day = day_of(on)
        found = _at(self._workers.get(worker_id, ()), day)
        if found is None or (found.effective_to is not None and day > found.effective_to):
            return None
        return found.grid_id

    def worker_assigned(self, worker_id: str, grid_id: str, on: date | datetime) -> bool:
        """Whether the worker is assigned to ``grid_id`` on that date."""
        return self.worker_grid(worker_id, on) == grid_id

    def department_exists(self, code: str, on: date | datetime) -> bool:
        """Whether the department is defined on that date."""
        return _at(self._departments.get(code, ()), day_of(on)) is not None

    def category(self, code: str, on: date | datetime) -> Category | None:
        """The category in force on that date."""
        return _at(self._categories.get(code, ()), day_of(on))

    def sla_policy(self, policy_id: str, on: date | datetime) -> SlaPolicy | None:
        """The version of the policy in force on that date."""
        found = _at(self._policies.get(policy_id, ()), day_of(on))
        return None if found is None else found.policy

    def sla_policy_version(self, policy_id: str, version: int) -> SlaPolicy | None:
        """A given version of the policy, whatever its dates (to recompute a deadline)."""
        return next(
            (p.policy for p in self._policies.get(policy_id, ()) if p.policy.version == version),
            None,
        )

    def latest_policy_version(self, policy_id: str) -> int:
        """The highest version of the policy published so far (0 for none)."""
        return max((p.policy.version for p in self._policies.get(policy_id, ())), default=0)

    def calendar(self) -> WorkCalendar:
        """The working calendar: for each year, its latest CalendarDefined."""
        return self.calendar_for("+".join(v for _, v in sorted(self._calendar_of_year.items())))

    def calendar_for(self, versions: str) -> WorkCalendar:
        """The calendar of exactly these versions (as recorded on a deadline: ``2025.1+2026.1``)."""
        cached = self._cache.get(versions)
        if cached is None:
            years = []
            for version in filter(None, versions.split("+")):
                if version not in self._calendars:
                    raise UnknownReference("calendar version", version)
                years.append(self._calendars[version])
            cached = self._cache[versions] = WorkCalendar(tuple(years))
        return cached

    def calendar_recorded(self, recorded: Iterable[str]) -> WorkCalendar:
        """The calendar of the versions recorded on deadlines (a later one wins for its year),
        other years from their first published version: an answer that a correction
        published later cannot change, so replay gives what the live projection gave."""
        recorded = tuple(recorded)
        cached = self._recorded_cache.get(recorded)
        if cached is not None:
            return cached
        years = dict(self._first_calendar_of_year)
        for versions in recorded:
            for version in filter(None, versions.split("+")):
                if version not in self._calendars:
                    raise UnknownReference("calendar version", version)
                years[self._calendars[version].year] = version
        found = self.calendar_for("+".join(v for _, v in sorted(years.items())))
        self._recorded_cache[recorded] = found
        return found

    def calendar_version_exists(self, version: str) -> bool:
        """Whether a CalendarDefined with that ``calendar_version`` was applied."""
        return version in self._calendars

    def lexicon(self, on: date | datetime) -> Lexicon | None:
        """The lexicon in force on that date."""
        return _at(self._lexicons, day_of(on))

    def system_scope(self, system: str, on: date | datetime) -> SystemScope | None:
        """What ``system`` may submit on that date (``None``: never defined by then)."""
        return _at(self._systems.get(system, ()), day_of(on))

    def lexicon_exists(self, version: str) -> bool:
        """Whether that lexicon version was published."""
        return any(lex.version == version for lex in self._lexicons)
