"""``GET /v1/outcomes``: every outcome of the caller's submissions, in order, after a cursor;
as a page of JSON, or as a Server-Sent Events stream (``/v1/outcomes/stream``, or
``Accept: text/event-stream``) whose event ids are the cursors, so ``Last-Event-ID`` resumes.

Both read the materialized outcomes (``outcomes``), so either side may restart: the client
resumes from its last cursor, the gateway from its stored position on ``fq.outcomes``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from events.gateway.auth import Caller
from events.gateway.outcomes import page
from events.gateway.runtime import Gateway
from events.gateway.shapes import OutcomePage
from events.problems import problem_responses

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["outcomes"])
After = Annotated[
    int,
    Query(
        ge=-1, le=2**63 - 1, description="the cursor of the last outcome read; -1: from the first"
    ),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many outcomes")]
LastEventId = Annotated[
    str | None,
    Header(alias="Last-Event-ID", pattern=r"^-?[0-9]{1,19}$", description="resumes a stream"),
]
HEARTBEAT_S = 15.0
SSE = "text/event-stream"


@router.get(
    "/outcomes",
    response_model=OutcomePage,
    summary="Your submissions' outcomes after a cursor (or a stream of them)",
    responses={
        200: {"content": {SSE: {"schema": {"type": "string"}}}},
        **problem_responses(401, 422),
    },
)
async def outcomes(
    request: Request,
    caller: Caller,
    after: After = -1,
    limit: Limit = 100,
    last_event_id: LastEventId = None,
) -> Any:
    if SSE in request.headers.get("accept", ""):
        return _stream(request, caller.system, _resume(after, last_event_id))
    gateway: Gateway = request.app.state.gateway
    async with gateway.pool.connection() as conn:
        found = await page(conn, caller.system, after, limit)
    return OutcomePage.model_validate(
        {"outcomes": found, "next": found[-1]["cursor"] if found else after}
    )


@router.get(
    "/outcomes/stream",
    summary="Your submissions' outcomes as Server-Sent Events (id = cursor)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {SSE: {"schema": {"type": "string"}}}},
        **problem_responses(401, 422),
    },
)
async def outcome_stream(
    request: Request, caller: Caller, after: After = -1, last_event_id: LastEventId = None
) -> StreamingResponse:
    return _stream(request, caller.system, _resume(after, last_event_id))


def _resume(after: int, last_event_id: str | None) -> int:
    return after if last_event_id is None else max(-1, int(last_event_id))


def _stream(request: Request, system: str, after: int) -> StreamingResponse:
    gateway: Gateway = request.app.state.gateway

    async def events() -> AsyncIterator[bytes]:
        cursor, quiet = after, 0.0
        yield b"retry: 1000\n\n"
        while not await request.is_disconnected():
            async with gateway.pool.connection() as conn:
                found = await page(conn, system, cursor, 500)
            for outcome in found:
                cursor = outcome["cursor"]
                yield b"id: %d\nevent: outcome\ndata: %s\n\n" % (cursor, orjson.dumps(outcome))
            if found:
                quiet = 0.0
                continue
            await asyncio.sleep(gateway.settings.gateway_poll_s)
            quiet += gateway.settings.gateway_poll_s
            if quiet >= HEARTBEAT_S:
                quiet = 0.0
                yield b": still here\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type=SSE, headers=headers)
