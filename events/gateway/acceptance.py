"""``accept``: the one path from a submission's body to an event its caller may submit.

The gateway calls it for every POST, and ``fengqiao conformance`` for every sample, so a kit's
answer is the one the gateway would give: a 422 naming every field at fault, or a 403 naming
the scope that refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from events.gateway.credentials import Credential
from events.gateway.intake import intake
from events.gateway.problems import Invalid, forbidden, invalid_problem
from events.gateway.scope import refusal
from events.models import Event

__all__ = ["SHANGHAI", "accept"]

log = logging.getLogger("fengqiao.gateway")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def accept(
    caller: Credential,
    body: Any,
    received: datetime,
    district_of: Callable[[str, date], str | None],
) -> Event:
    """The event ``body`` describes, stamped for ``caller``, if its scope allows it.

    ``district_of(place, day)`` finds the district a place lies in on a day (the gateway's
    place tree).

    Raises:
        Problem: 422 when the body is not a valid submission, 403 when it is outside the
            caller's scope; either is logged with the system and the reason.
    """
    try:
        event = intake(body, caller.system, received)
    except Invalid as exc:
        log.info("refused a submission of %s: invalid: %s", caller.system, exc)
        raise invalid_problem(exc) from None
    day = event.envelope.event_time.astimezone(SHANGHAI).date()
    refused = refusal(caller.scope, event, day, district_of)
    if refused is not None:
        log.warning(
            "refused %s %s of %s: %s scope: %s",
            event.event_type,
            event.envelope.event_id,
            caller.system,
            refused.scope,
            refused.detail,
        )
        raise forbidden(refused)
    return event
