"""Live updates: a Server-Sent Events stream of the projection's position. The event id is the
position, so a page that reconnects (``Last-Event-ID``) is told at once if it missed a commit;
pages refresh their panels when told, none of them polls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from projections.dashboard.shapes import freshness_of
from projections.dashboard.watch import Watch

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
KEEPALIVE_S = 15.0
TICK_S = 0.25


def _frame(watch: Watch) -> str:
    fresh = freshness_of(None, watch.current)
    return f"id: {fresh.position}\nevent: position\ndata: {fresh.model_dump_json()}\n\n"


async def _events(request: Request, watch: Watch, last: int | None) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    if last is None or watch.current.position != last:
        last = watch.current.position
        yield _frame(watch)
    quiet = 0.0
    while not await request.is_disconnected():
        # A look at the watch's latest reading in this process: no query, no thread held.
        await asyncio.sleep(TICK_S)
        if watch.current.position == last:
            quiet += TICK_S
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keep-alive\n\n"
            continue
        quiet = 0.0
        last = watch.current.position
        yield _frame(watch)


@router.get(
    "/live",
    summary="Server-Sent Events: the projection's position each time the projector commits",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    watch: Watch = request.app.state.watch
    last = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    return StreamingResponse(
        _events(request, watch, last),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/freshness", summary="how far the projection is and whether it is behind the log")
def freshness(request: Request) -> dict[str, object]:
    watch: Watch = request.app.state.watch
    return json.loads(freshness_of(None, watch.current).model_dump_json())  # type: ignore[no-any-return]
