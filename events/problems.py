"""Errors over HTTP as RFC 9457 problem details (``application/problem+json``): which
parameter, which rule, what is allowed. No stack trace ever reaches a client.

Shared by Fengqiao's HTTP services (the dashboard, the gateway): ``install(app, service)``
answers every error of an app this way; ``Problem`` is a refusal a route raises."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

__all__ = ["MEDIA_TYPE", "Problem", "ProblemBody", "install", "problem_responses", "respond"]

MEDIA_TYPE = "application/problem+json"


class ProblemBody(BaseModel):
    """RFC 9457 problem details, with the parameter at fault when there is one."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    detail_zh: str | None = None
    instance: str | None = None
    parameter: str | None = None
    allowed: list[str] | None = None
    errors: list[dict[str, Any]] | None = None


class Problem(Exception):
    """A refusal to answer, with what the client should change."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        parameter: str | None = None,
        allowed: list[str] | None = None,
        detail_zh: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.parameter, self.allowed = parameter, allowed
        self.detail_zh, self.errors, self.headers = detail_zh, errors, headers

    def body(self) -> ProblemBody:
        """The problem details this refusal is answered with."""
        return ProblemBody(
            title=self.title,
            status=self.status,
            detail=self.detail,
            detail_zh=self.detail_zh,
            parameter=self.parameter,
            allowed=self.allowed,
            errors=self.errors,
        )


def respond(
    request: Request, body: ProblemBody, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body.instance = request.url.path
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=body.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def install(app: FastAPI, service: str) -> None:
    """Answer every error of ``app`` as problem+json; ``service`` names the app in its log
    (``fengqiao.<service>``) and in the answer to an unexpected error."""
    log = logging.getLogger(f"fengqiao.{service}")

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return respond(request, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "parameter": ".".join(str(p) for p in e.get("loc", ())[1:]) or None,
                "in": e.get("loc", ("?",))[0],
                "rule": e.get("type"),
                "detail": e.get("msg"),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {}
        detail = "; ".join(f"{e['parameter']}: {e['detail']}" for e in errors)
        return respond(
            request,
            ProblemBody(
                title="invalid parameter",
                status=422,
                detail=detail or "the request is not valid",
                parameter=first.get("parameter"),
                errors=errors,
            ),
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        title = "not found" if exc.status_code == 404 else "request refused"
        # The router's own headers stay: a 405 says which methods are allowed (RFC 9110).
        return respond(
            request,
            ProblemBody(title=title, status=exc.status_code, detail=str(exc.detail)),
            exc.headers,
        )

    @app.exception_handler(psycopg.OperationalError)
    async def _database_away(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        # PostgreSQL restarting, or a pooled connection it cut: the pool drops the broken
        # connection, so a retry gets a new one. A 503 says "retry"; a 500 would say "broken".
        log.error("PostgreSQL unavailable answering %s: %s", request.url.path, exc)
        return respond(
            request,
            ProblemBody(
                title="database unavailable",
                status=503,
                detail=f"the {service} could not reach its database; retry the request",
                detail_zh="数据库暂时不可用；请稍后重试",
            ),
            {"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s", request.url.path)
        return respond(
            request,
            ProblemBody(
                title="internal error",
                status=500,
                detail=f"the {service} could not answer; the error is in its log",
            ),
        )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem statuses a route can answer with."""
    return {
        s: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}, "description": "problem details"}
        for s in statuses
    }
