"""Open311 GeoReport v2's rules, as pure functions: a filed request read from its form
(``read_filing``), the filters of ``GET requests`` (``read_query``), the grid a point or an
address lies in (``locate``, ``grid_by_address``), a case's public status (``public_status``)
and the CaseReported a filing becomes (``report_body``).

Refusals are ``Open311Error`` with the HTTP status the spec names: 404 for what does not exist
(a service code, a jurisdiction, a request), 403 for a missing or wrong api_key, 400 for
anything else; several 400s are answered together, as the spec's error array allows.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "CLOSED_STATUSES",
    "DEFAULT_SPAN",
    "MAX_DESCRIPTION",
    "MAX_REQUESTS",
    "PERSONAL_FIELDS",
    "Filing",
    "Grid",
    "Open311Error",
    "Query",
    "grid_by_address",
    "locate",
    "public_status",
    "read_filing",
    "read_query",
    "report_body",
    "reporter_ref",
]

MAX_DESCRIPTION = 4000  # the spec's limit on a request's description
MAX_MEDIA_URL = 2000
DEFAULT_SPAN = timedelta(days=90)  # GET requests: the spec's default and widest window
MAX_REQUESTS = 1000  # GET requests: the spec's default volume
PERSONAL_FIELDS = ("email", "device_id", "account_id", "first_name", "last_name", "phone")
"""A resident's personal data: kept in the gateway's PostgreSQL, never put on the log."""
MAX_PERSONAL = 200
CLOSED_STATUSES = frozenset({"closed", "rejected"})


class Open311Error(Exception):
    """A refusal in Open311's form: the HTTP status and one or more (code, description)."""

    def __init__(self, status: int, *errors: str, code: int | None = None) -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.errors = [(code or status, e) for e in errors]


@dataclass(frozen=True)
class Grid:
    """A grid with its boundary (an open ring of (lon, lat), WGS-84) and its bounding box."""

    code: str
    name: str
    ring: tuple[tuple[float, float], ...]
    chain: tuple[str, ...] = ()  # the names of its district, street, village and its own
    box: tuple[float, float, float, float] = field(init=False)  # min lon, min lat, max...

    def __post_init__(self) -> None:
        lons = [p[0] for p in self.ring]
        lats = [p[1] for p in self.ring]
        object.__setattr__(self, "box", (min(lons), min(lats), max(lons), max(lats)))

    def contains(self, lon: float, lat: float) -> bool:
        """Whether the point is inside the ring (even-odd rule; a point on an edge may fall
        either side, as it lies in two grids at once)."""
        x0, y0, x1, y1 = self.box
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            return False
        inside = False
        ring = self.ring
        for i, (ax, ay) in enumerate(ring):
            bx, by = ring[i - 1]
            if (ay > lat) != (by > lat) and lon < (bx - ax) * (lat - ay) / (by - ay) + ax:
                inside = not inside
        return inside


def locate(grids: Sequence[Grid], lat: float, lon: float) -> str | None:
    """The code of the first grid whose polygon holds the point, else ``None``."""
    return next((g.code for g in grids if g.contains(lon, lat)), None)


def grid_by_address(grids: Sequence[Grid], address: str) -> str | None:
    """The one grid whose every name (district, street, village, grid) the address holds,
    else ``None``: an address alone places a request only when it says which grid it is in
    (a grid's own name, 第1网格, recurs in every village)."""
    named = [g for g in grids if g.chain and all(n in address for n in g.chain)]
    return named[0].code if len(named) == 1 else None


@dataclass(frozen=True)
class Filing:
    """A request as a resident's app filed it, checked."""

    service_code: str
    grid_id: str
    lat: float | None
    lon: float | None
    address_string: str | None
    address_id: str | None
    description: str | None
    media_url: str | None
    personal: Mapping[str, str]  # of PERSONAL_FIELDS, only those given


def _given(form: Mapping[str, str], name: str) -> str | None:
    # The spec's Optional Arguments: an empty parameter is one not given.
    value = form.get(name)
    return value.strip() if value is not None and value.strip() else None


def _refuse_nul(arguments: Mapping[str, str]) -> None:
    # No text column can hold a NUL (PostgreSQL refuses it), and no resident types one.
    nul = [name for name, value in arguments.items() if "\x00" in value]
    if nul:
        raise Open311Error(400, *(f"{name} may not contain a NUL character" for name in nul))


def _coordinate(text: str, name: str, bound: float, errors: list[str]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        errors.append(f"{name} must be a number (WGS84 degrees), not {text[:40]!r}")
        return None
    if not math.isfinite(value) or not -bound <= value <= bound:
        errors.append(f"{name} must be between -{bound:g} and {bound:g} (WGS84 degrees)")
        return None
    return value


def read_filing(
    form: Mapping[str, str],
    known_service: Callable[[str], bool],
    grids: Sequence[Grid],
) -> Filing:
    """The request ``form`` files, its location placed in a grid.

    Raises:
        Open311Error: 400 naming every argument at fault; 404 for an unknown service_code.
    """
    _refuse_nul(form)
    code = _given(form, "service_code")
    if code is None:
        raise Open311Error(400, "service_code was not provided")
    if not known_service(code):
        raise Open311Error(404, f"service_code {code[:64]!r} was not found")
    errors: list[str] = []
    lat_text, lon_text = _given(form, "lat"), _given(form, "long")
    address, address_id = _given(form, "address_string"), _given(form, "address_id")
    lat = lon = None
    grid: str | None = None
    if (lat_text is None) != (lon_text is None):
        errors.append("lat and long must be sent together")
    elif lat_text is not None and lon_text is not None:
        lat = _coordinate(lat_text, "lat", 90, errors)
        lon = _coordinate(lon_text, "long", 180, errors)
        if lat is not None and lon is not None:
            grid = locate(grids, lat, lon)
            if grid is None:
                errors.append(f"the location lat={lat:g}, long={lon:g} lies in no grid we serve")
    elif address_id is not None:
        known = {g.code for g in grids}
        grid = address_id if address_id in known else None
        if grid is None:
            errors.append(f"address_id {address_id[:64]!r} is not a grid we serve")
    elif address is not None:
        grid = grid_by_address(grids, address)
        if grid is None:
            errors.append(
                f"address_string {address[:100]!r} names no single grid we serve: send lat and"
                " long, or an address_id (a grid's code), or an address naming the district,"
                " street, community and grid (e.g. 海曙区第1街道第1社区第1网格)"
            )
    else:
        errors.append("a location is required: lat and long, address_string or address_id")
    description = _given(form, "description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        errors.append(
            f"description is limited to {MAX_DESCRIPTION} characters, not {len(description)}"
        )
    media_url = _given(form, "media_url")
    if media_url is not None and (
        not media_url.startswith(("http://", "https://")) or len(media_url) > MAX_MEDIA_URL
    ):
        errors.append(f"media_url must be an http(s) URL of at most {MAX_MEDIA_URL} characters")
    personal = {name: v for name in PERSONAL_FIELDS if (v := _given(form, name)) is not None}
    errors += [
        f"{name} is limited to {MAX_PERSONAL} characters"
        for name, v in personal.items()
        if len(v) > MAX_PERSONAL
    ]
    for name in ("address_string", "address_id"):
        value = _given(form, name)
        if value is not None and len(value) > MAX_PERSONAL:
            errors.append(f"{name} is limited to {MAX_PERSONAL} characters")
    if errors:
        raise Open311Error(400, *errors)
    assert grid is not None
    return Filing(code, grid, lat, lon, address, address_id, description, media_url, personal)


def reporter_ref(key: bytes, system: str, personal: Mapping[str, str]) -> str | None:
    """The pseudonym of the resident on the log: a keyed hash (HMAC-SHA256, hex) of their
    contact (email, else phone, else the app's account or device id), ``None`` when the
    request gave none. The same contact gives the same pseudonym, so a resident's reports
    can be counted together without their contact ever reaching the log."""
    if "email" in personal:
        contact = "email:" + personal["email"].lower()
    elif "phone" in personal:
        contact = "phone:" + "".join(c for c in personal["phone"] if c.isdigit() or c == "+")
    elif "account_id" in personal:
        contact = f"account:{system}:{personal['account_id']}"
    elif "device_id" in personal:
        contact = f"device:{system}:{personal['device_id']}"
    else:
        return None
    return hmac.new(key, contact.encode(), hashlib.sha256).hexdigest()


def report_body(
    filing: Filing,
    case_id: str,
    event_id: str,
    received: datetime,
    service_name: str,
    reporter: str | None,
) -> dict[str, Any]:
    """The CaseReported (channel ``resident``) a filing becomes, as a submission body for the
    gateway's intake; nothing of the resident's but the pseudonym is in it."""
    location = None if filing.lat is None else {"lat": filing.lat, "lon": filing.lon}
    return {
        "event_type": "CaseReported",
        "envelope": {
            "event_id": event_id,
            "event_time": received,
            "actor": {"id": reporter or "open311-anonymous", "role": "resident"},
        },
        "case_id": case_id,
        "grid_id": filing.grid_id,
        "category_code": filing.service_code,
        "priority": "normal",
        "title": service_name[:200],
        "description": filing.description or service_name,
        "location": location,
        "reporter_ref": reporter,
        "channel": "resident",
        "attachments_count": 0 if filing.media_url is None else 1,
    }


@dataclass(frozen=True)
class Query:
    """The filters of ``GET requests``: ids (which override the rest), or the rest."""

    ids: tuple[str, ...]
    service_codes: tuple[str, ...]
    start: datetime
    end: datetime
    statuses: tuple[str, ...]


def _w3(text: str, name: str, errors: list[str]) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or "T" not in text.upper():
        errors.append(
            f"{name} must be a w3 datetime with its time zone, e.g. 2010-01-01T00:00:00Z,"
            f" not {text[:40]!r}"
        )
        return None
    return value


def _listed(form: Mapping[str, str], name: str) -> tuple[str, ...]:
    text = _given(form, name)
    return () if text is None else tuple(p.strip() for p in text.split(",") if p.strip())


def read_query(params: Mapping[str, str], now: datetime) -> Query:
    """The filters ``params`` ask for, with the spec's defaults: the 90 days up to now when
    no date is given, 90 days from ``start_date`` or up to ``end_date`` when one is.

    Raises:
        Open311Error: 400 naming each filter at fault (a date without its zone, a window
            longer than 90 days or backwards, a status other than open or closed).
    """
    _refuse_nul(params)
    errors: list[str] = []
    start_text, end_text = _given(params, "start_date"), _given(params, "end_date")
    start = None if start_text is None else _w3(start_text, "start_date", errors)
    end = None if end_text is None else _w3(end_text, "end_date", errors)
    statuses = tuple(s.lower() for s in _listed(params, "status"))
    wrong = [s for s in statuses if s not in ("open", "closed")]
    if wrong:
        errors.append(f"status must be open or closed (comma-separated), not {wrong[0][:20]!r}")
    if start is not None and end is not None:
        if end < start:
            errors.append("end_date is before start_date")
        elif end - start > DEFAULT_SPAN:
            errors.append("start_date and end_date may not span more than 90 days")
    if errors:
        raise Open311Error(400, *errors)
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - DEFAULT_SPAN
    if end is None:
        end = start + DEFAULT_SPAN
    return Query(
        _listed(params, "service_request_id"), _listed(params, "service_code"), start, end, statuses
    )


_NOTES = {
    "reported": "已提交，等待街道综合指挥室受理",
    "accepted": "街道综合指挥室已受理，正在分派",
    "rejected": "街道综合指挥室未予受理",
    "dispatched": "已派遣至承办部门",
    "in_progress": "承办部门正在处置",
    "suspended": "暂缓办理（挂账），将按期复核",
    "resolved": "承办部门已办结，等待网格员现场验收",
    "verified": "网格员已现场验收，等待结案",
    "closed": "已结案",
}


def public_status(case_status: str | None) -> tuple[str, str]:
    """Open311's ``status`` and ``status_notes`` of a case in ``case_status`` (``None``: not
    yet in the read models, which is a request just filed). Closed is closed or rejected:
    nothing more will be done; any other state is open."""
    if case_status is None:
        return "open", _NOTES["reported"]
    status = "closed" if case_status in CLOSED_STATUSES else "open"
    return status, _NOTES.get(case_status, case_status)
