"""``POST /v1/events``, ``POST /v1/events/batch`` and ``GET /v1/submissions/{event_id}``.

A submission is answered 202 only once Kafka has acknowledged its record; its outcome is then
at ``Location``. With an ``Idempotency-Key`` the answer is given once and replayed
(``idempotency``). A batch answers each item on its own, in order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response

from events.errors import InfrastructureError
from events.gateway.auth import Caller
from events.gateway.idempotency import Answer, answer_once, body_hash
from events.gateway.intake import batch_items
from events.gateway.openapi import request_body
from events.gateway.problems import Invalid, invalid_problem, kafka_unavailable
from events.gateway.runtime import Gateway
from events.gateway.shapes import BatchAnswer, Receipt, SubmissionStatus
from events.gateway.sink import Delivered
from events.gateway.submissions import record, status_of
from events.models import Event
from events.problems import Problem, problem_responses

__all__ = ["router"]

log = logging.getLogger("fengqiao.gateway")
_JSON = "application/json"
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")
"""What ``quote(..., safe="")`` leaves as it is."""
router = APIRouter(prefix="/v1", tags=["submissions"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="The same key and body get the same answer (and event id), across retries "
        "and gateway restarts; the same key with another body is refused (422), and while the "
        "first request is being answered (409).",
    ),
]


def _location(event_id: str) -> str:
    # Percent-encoded: an event id may hold any character, a header only ASCII. Most ids (a
    # UUID) are unreserved characters already, which a match finds in half quote's time.
    if _UNRESERVED.fullmatch(event_id):
        return "/v1/submissions/" + event_id
    return f"/v1/submissions/{quote(event_id, safe='')}"


def _receipt(event: Event) -> dict[str, Any]:
    """``Receipt``'s fields, as a dict: its values are ours, with nothing to validate."""
    event_id = event.envelope.event_id
    return {
        "event_id": event_id,
        "event_type": event.event_type,
        "status": "pending",
        "location": _location(event_id),
    }


async def _answer(
    request: Request, caller: Caller, key: str | None, make: Callable[[], Awaitable[Answer]]
) -> Response:
    gateway: Gateway = request.app.state.gateway
    if key is None:
        answer = await make()
    else:
        raw = await request.body()
        async with gateway.pool.connection() as conn:
            request.state.conn = conn
            try:
                answer = await answer_once(conn, caller.system, key, body_hash(raw), make)
            except Problem as problem:
                log.warning("refused a request of %s: %s", caller.system, problem.detail)
                raise
    # The body is built already: serialized once, without FastAPI's validation of a model.
    return Response(orjson.dumps(answer.body), answer.status, answer.headers, _JSON)


async def _record(request: Request, system: str, sent: list[tuple[Event, Delivered]]) -> None:
    conn = getattr(request.state, "conn", None)
    if conn is not None:  # in the idempotency key's transaction
        await record(conn, system, sent)
        return
    gateway: Gateway = request.app.state.gateway
    await gateway.recorder.record(system, sent)


@router.post(
    "/events",
    status_code=202,
    summary="Submit one event",
    openapi_extra=request_body("Submission"),
    responses={
        202: {
            "model": Receipt,
            "description": "Kafka acknowledged the submission; its outcome is at Location",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 409, 422, 503),
    },
)
async def submit(
    request: Request, caller: Caller, idempotency_key: IdempotencyKey = None
) -> Response:
    gateway: Gateway = request.app.state.gateway

    async def make() -> Answer:
        event = gateway.accept(caller, await request.body(), datetime.now(UTC))
        assert gateway.sink is not None
        (delivered,) = await gateway.sink.send([event])
        if isinstance(delivered, InfrastructureError):
            log.error("submission %s of %s: %s", event.envelope.event_id, caller.system, delivered)
            raise kafka_unavailable(str(delivered))
        await _record(request, caller.system, [(event, delivered)])
        receipt = _receipt(event)
        return Answer(202, receipt, {"Location": receipt["location"]})

    return await _answer(request, caller, idempotency_key, make)


@router.post(
    "/events/batch",
    summary="Submit many events, each answered on its own",
    openapi_extra=request_body("Batch"),
    responses={
        200: {"model": BatchAnswer, "description": "every item's answer, in order"},
        **problem_responses(401, 409, 422),
    },
)
async def submit_batch(
    request: Request, caller: Caller, idempotency_key: IdempotencyKey = None
) -> Response:
    gateway: Gateway = request.app.state.gateway

    async def make() -> Answer:
        try:
            items = batch_items(await request.body(), gateway.settings.gateway_max_batch)
        except Invalid as exc:
            raise invalid_problem(exc) from None
        received = datetime.now(UTC)
        results: list[dict[str, Any] | None] = [None] * len(items)
        accepted: list[tuple[int, Event]] = []
        for index, item in enumerate(items):
            try:
                accepted.append((index, gateway.accept(caller, item, received)))
            except Problem as problem:
                body = problem.body().model_dump(exclude_none=True)
                results[index] = {"index": index, "status": problem.status, "problem": body}
        assert gateway.sink is not None
        delivered = await gateway.sink.send([event for _, event in accepted])
        sent, failed = [], 0
        for (index, event), where in zip(accepted, delivered, strict=True):
            if isinstance(where, InfrastructureError):
                failed += 1
                body = kafka_unavailable(str(where)).body().model_dump(exclude_none=True)
                results[index] = {"index": index, "status": 503, "problem": body}
            else:
                sent.append((event, where))
                results[index] = {"index": index, "status": 202, "receipt": _receipt(event)}
        if failed:
            log.error("batch of %s: %d records not acknowledged", caller.system, failed)
        await _record(request, caller.system, sent)
        answer = {"accepted": len(sent), "refused": len(items) - len(sent), "results": results}
        return Answer(200, answer, storable=not failed)

    return await _answer(request, caller, idempotency_key, make)


@router.get(
    "/submissions/{event_id:path}",
    response_model=SubmissionStatus,
    response_model_exclude_none=True,
    summary="What became of one of your submissions",
    responses=problem_responses(401, 404, 422),
)
async def submission(
    request: Request,
    caller: Caller,
    event_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> dict[str, Any]:
    gateway: Gateway = request.app.state.gateway
    async with gateway.pool.connection() as conn:
        found = await status_of(conn, caller.system, event_id)
    if found is None:
        raise Problem(
            404,
            "unknown submission",
            f"{caller.system} has no submission {event_id}",
            parameter="event_id",
            detail_zh=f"{caller.system} 没有事件 ID 为 {event_id} 的提交",
        )
    return found
