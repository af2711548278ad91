"""``router(settings, states)``: Open311 GeoReport v2 under ``/open311/v2``, on the gateway's
credentials (``api_key`` = a key of kind ``resident_app``), intake and sink.

A filed request becomes a CaseReported (channel ``resident``) accepted through the same
``Gateway.accept`` as ``POST /v1/events`` and answered only once Kafka acknowledged it; its
``service_request_id`` is the case id, known at once (type ``realtime``: never a token).
Every refusal is in Open311's form, in the format the path asked for.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from events.errors import InfrastructureError
from events.gateway.credentials import Credential, split_key
from events.gateway.open311.book import ReferenceBook, Service
from events.gateway.open311.formats import FORMATS, errors_response, render, render_one
from events.gateway.open311.rules import (
    MAX_REQUESTS,
    Open311Error,
    public_status,
    read_filing,
    read_query,
    report_body,
    reporter_ref,
)
from events.gateway.open311.settings import Open311Settings
from events.gateway.open311.states import CaseState, CaseStates
from events.gateway.open311.store import Filed, ensure_tables, filed, forget, remember
from events.gateway.runtime import Gateway
from events.gateway.submissions import record
from events.problems import Problem
from events.topics import REFERENCE_EVENTS

__all__ = ["Open311", "router"]

log = logging.getLogger("fengqiao.gateway")
SHANGHAI = ZoneInfo("Asia/Shanghai")
PREFIX = "/open311/v2"
Format = Annotated[str, Path(description="xml or json", json_schema_extra={"enum": list(FORMATS)})]
Optional = Annotated[str | None, Query()]
Field = Annotated[str | None, Form()]


@dataclass
class Open311:
    """What the Open311 routes share: settings, the case states, the reference data and the
    pseudonyms' key."""

    settings: Open311Settings
    states: CaseStates
    book: ReferenceBook
    key: bytes


class Open311Route(APIRoute):
    """Answers every refusal of its route in Open311's form and in the format asked for.

    A method the route does not take is answered 405 with ``Allow`` naming the methods of
    every route of its path (``allowed``, set by ``router``): Starlette would name only this
    route's, though GET and POST of ``/requests`` are two routes of one resource.
    """

    allowed: frozenset[str] = frozenset()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allow = ", ".join(sorted(self.allowed | self.methods))
            response = errors_response(
                _format_of(scope["path"]),
                405,
                [(405, f"{scope['method']} is not allowed here; use {allow}")],
                headers={"Allow": allow},
            )
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            fmt = _format_of(request.url.path)
            try:
                return await handler(request)
            except Open311Error as exc:
                # The status only: a description may quote an address or a point as given.
                log.info("open311 refused %s %s: %d", request.method, request.url.path, exc.status)
                return errors_response(fmt, exc.status, exc.errors)
            except RequestValidationError as exc:
                described = [
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
                    for e in exc.errors()
                ]
                return errors_response(fmt, 400, [(400, d) for d in described])
            except HTTPException as exc:
                return errors_response(fmt, exc.status_code, [(exc.status_code, str(exc.detail))])
            except Exception:
                log.exception("open311: unexpected error answering %s", request.url.path)
                return errors_response(fmt, 500, [(500, "the service failed; it is in its log")])

        return route


def _format_of(path: str) -> str:
    suffix = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    return suffix if suffix in FORMATS else "xml"


def _checked(request: Request, fmt: str, jurisdiction_id: str | None) -> Open311:
    if fmt not in FORMATS:
        raise Open311Error(404, f"no format {fmt[:20]!r}: ask for .xml or .json")
    open311: Open311 = request.app.state.open311
    ours = open311.settings.open311_jurisdiction_id
    if jurisdiction_id and jurisdiction_id.strip() != ours:
        raise Open311Error(
            404, f"jurisdiction_id {jurisdiction_id[:100]!r} was not found; this is {ours}"
        )
    return open311


def _today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


def _w3(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(SHANGHAI).isoformat(timespec="seconds")


async def _resident_app(request: Request, api_key: str | None) -> Credential:
    """The resident app's credential of ``api_key``, or a 403 (the spec's code for a missing
    or wrong key)."""
    where = f"{request.method} {request.url.path}"
    if not api_key:
        log.warning("open311 refused %s: no api_key", where)
        raise Open311Error(403, "api_key was not provided")
    parts = split_key(api_key)
    gateway: Gateway = request.app.state.gateway
    found = (
        None if parts is None else await run_in_threadpool(gateway.authenticator.verify, api_key)
    )
    if found is None:
        key_id = "malformed" if parts is None else parts[0]
        log.warning("open311 refused %s: key %s is not valid", where, key_id)
        raise Open311Error(403, "Invalid api_key received: unknown, revoked, expired or mistyped")
    if found.kind != "resident_app":
        log.warning("open311 refused %s: key %s is a %s key", where, found.key_id, found.kind)
        raise Open311Error(403, "this api_key is not a resident app's (kind resident_app)")
    return found


def _service_row(service: Service) -> dict[str, Any]:
    department = service.department_name or service.department_code
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": f"{service.name}：由{department}办理",
        "metadata": False,
        "type": "realtime",
        "keywords": f"{service.name}, {department}, {service.code}",
        "group": department,
    }


def _notice(service: Service) -> str:
    department = service.department_name or service.department_code
    return f"您的诉求已提交街道综合指挥室，受理后派遣至{department}办理。"


def _request_row(
    row: Filed, state: CaseState | None, book: ReferenceBook, today: date
) -> dict[str, Any]:
    service = book.service(row.service_code, today)
    status, notes = public_status(None if state is None else state.status)
    department = None if state is None else state.department_code
    return {
        "service_request_id": row.service_request_id,
        "status": status,
        "status_notes": notes,
        "service_name": None if service is None else service.name,
        "service_code": row.service_code,
        "description": row.description,
        "agency_responsible": None
        if department is None
        else book.department_name(department, today) or department,
        "service_notice": None if service is None else _notice(service),
        "requested_datetime": _w3(row.requested_at),
        "updated_datetime": _w3(row.requested_at if state is None else state.updated_at),
        "expected_datetime": _w3(None if state is None else state.expected_at),
        "address": row.address_string or book.grid_name(row.grid_id, today),
        "address_id": row.address_id or row.grid_id,
        "zipcode": None,
        "lat": row.lat,
        "long": row.lon,
        "media_url": row.media_url,
    }


def router(settings: Open311Settings, states: CaseStates) -> APIRouter:
    """The Open311 routes, for ``create_app(settings, routers=[...])``; ``states`` reads the
    cases' states (``NoCaseStates`` when there are no read models)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway: Gateway = app.state.gateway
        s = gateway.settings
        key = await run_in_threadpool(ensure_tables, gateway.dsn, s.gateway_schema)
        assert gateway.codec is not None
        book = ReferenceBook(s.kafka_bootstrap, s.topic_prefix + REFERENCE_EVENTS, gateway.codec)
        book.start()
        try:
            if not await run_in_threadpool(book.ready.wait, settings.open311_wait_s):
                raise InfrastructureError(
                    f"Open311's services and grids ({s.topic_prefix + REFERENCE_EVENTS}) were"
                    f" not read within {settings.open311_wait_s:g} s; is Kafka up?"
                )
            app.state.open311 = Open311(settings, states, book, key)
            yield
        finally:
            book.stop()
            states.close()

    api = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route, lifespan=lifespan)
    responses: dict[int | str, dict[str, Any]] = {
        status: {
            "description": "Open311 errors: [{code, description}] or <errors><error>",
            "content": {"application/json": {}, "text/xml": {}},
        }
        for status in (400, 403, 404)
    }
    responses[200] = {"content": {"application/json": {}, "text/xml": {}}}

    @api.get(
        "/services.{format}",
        summary="GET Service List: the services (categories) residents may report",
        responses=responses,
        response_class=Response,
    )
    async def services(
        request: Request, format: Format, jurisdiction_id: Optional = None
    ) -> Response:
        open311 = _checked(request, format, jurisdiction_id)
        rows = [_service_row(s) for s in open311.book.services(_today(datetime.now(UTC)))]
        return render(format, "services", "service", rows)

    @api.get(
        "/services/{service_code}.{format}",
        summary="GET Service Definition: no service has attributes to fill in",
        responses=responses,
        response_class=Response,
    )
    async def service_definition(
        request: Request, service_code: str, format: Format, jurisdiction_id: Optional = None
    ) -> Response:
        open311 = _checked(request, format, jurisdiction_id)
        if open311.book.service(service_code, _today(datetime.now(UTC))) is None:
            raise Open311Error(404, f"service_code {service_code[:64]!r} was not found")
        return render_one(
            format, "service_definition", {"service_code": service_code, "attributes": []}
        )

    @api.post(
        "/requests.{format}",
        summary="POST Service Request: file a request (form-encoded), answered once Kafka has it",
        responses=responses,
        response_class=Response,
    )
    async def file_request(
        request: Request,
        format: Format,
        api_key: Field = None,
        jurisdiction_id: Field = None,
        service_code: Field = None,
        lat: Field = None,
        long: Annotated[str | None, Form(alias="long")] = None,
        address_string: Field = None,
        address_id: Field = None,
        email: Field = None,
        device_id: Field = None,
        account_id: Field = None,
        first_name: Field = None,
        last_name: Field = None,
        phone: Field = None,
        description: Field = None,
        media_url: Field = None,
    ) -> Response:
        open311 = _checked(request, format, jurisdiction_id)
        caller = await _resident_app(request, api_key)
        form = {
            name: value
            for name, value in {
                "service_code": service_code,
                "lat": lat,
                "long": long,
                "address_string": address_string,
                "address_id": address_id,
                "email": email,
                "device_id": device_id,
                "account_id": account_id,
                "first_name": first_name,
                "last_name": last_name,
                "phone": phone,
                "description": description,
                "media_url": media_url,
            }.items()
            if value is not None
        }
        received = datetime.now(UTC)
        today = _today(received)
        book = open311.book
        filing = read_filing(form, lambda c: book.service(c, today) is not None, book.grids(today))
        service = book.service(filing.service_code, today)
        assert service is not None
        case_id = f"c-{today:%Y%m%d}-{secrets.token_hex(5)}"
        event_id = f"open311-{uuid.uuid4()}"
        reporter = reporter_ref(open311.key, caller.system, filing.personal)
        body = report_body(filing, case_id, event_id, received, service.name, reporter)
        gateway: Gateway = request.app.state.gateway
        try:
            event = gateway.accept(caller, body, received)
        except Problem as problem:
            raise Open311Error(403 if problem.status == 403 else 400, problem.detail) from None
        assert gateway.sink is not None
        async with gateway.pool.connection() as conn:
            await remember(conn, case_id, caller.system, event_id, filing, received, reporter)
            (delivered,) = await gateway.sink.send([event])
            if isinstance(delivered, InfrastructureError):
                log.error("open311 request %s of %s: %s", case_id, caller.system, delivered)
                await forget(conn, case_id)
                raise Open311Error(
                    400,
                    "the request could not be filed now (Kafka did not acknowledge it); retry",
                    code=503,
                )
            await record(conn, caller.system, [(event, delivered)])
        answer = {
            "service_request_id": case_id,
            "service_notice": _notice(service),
            "account_id": filing.personal.get("account_id"),
        }
        return render(format, "service_requests", "request", [answer])

    async def answer(open311: Open311, rows: Sequence[Filed]) -> dict[str, CaseState]:
        found: Mapping[str, CaseState] = await run_in_threadpool(
            open311.states, [r.service_request_id for r in rows]
        )
        return dict(found)

    @api.get(
        "/requests.{format}",
        summary="GET Service Requests: requests filed here, by the spec's filters",
        responses=responses,
        response_class=Response,
    )
    async def requests(
        request: Request,
        format: Format,
        jurisdiction_id: Optional = None,
        service_request_id: Optional = None,
        service_code: Optional = None,
        start_date: Optional = None,
        end_date: Optional = None,
        status: Optional = None,
    ) -> Response:
        open311 = _checked(request, format, jurisdiction_id)
        params = {
            "service_request_id": service_request_id,
            "service_code": service_code,
            "start_date": start_date,
            "end_date": end_date,
            "status": status,
        }
        now = datetime.now(UTC)
        query = read_query({k: v for k, v in params.items() if v is not None}, now)
        gateway: Gateway = request.app.state.gateway
        async with gateway.pool.connection() as conn:
            rows = await filed(conn, query, MAX_REQUESTS)
        states = await answer(open311, rows)
        today = _today(now)
        shown = [
            _request_row(r, states.get(r.service_request_id), open311.book, today) for r in rows
        ]
        if query.statuses and not query.ids:  # ids override every other filter
            shown = [r for r in shown if r["status"] in query.statuses]
        return render(format, "service_requests", "request", shown[:MAX_REQUESTS])

    @api.get(
        "/requests/{service_request_id}.{format}",
        summary="GET Service Request: one request's status",
        responses=responses,
        response_class=Response,
    )
    async def one_request(
        request: Request, service_request_id: str, format: Format, jurisdiction_id: Optional = None
    ) -> Response:
        open311 = _checked(request, format, jurisdiction_id)
        now = datetime.now(UTC)
        query = read_query({"service_request_id": service_request_id}, now)
        gateway: Gateway = request.app.state.gateway
        async with gateway.pool.connection() as conn:
            rows = await filed(conn, query, 1)
        if not rows or rows[0].service_request_id != service_request_id:
            raise Open311Error(404, f"service_request_id {service_request_id[:64]!r} was not found")
        states = await answer(open311, rows)
        row = _request_row(rows[0], states.get(service_request_id), open311.book, _today(now))
        return render(format, "service_requests", "request", [row])

    for route in api.routes:
        if isinstance(route, Open311Route):
            route.allowed = frozenset(
                method
                for other in api.routes
                if isinstance(other, APIRoute) and other.path == route.path
                for method in other.methods or ()
            )
    return api
