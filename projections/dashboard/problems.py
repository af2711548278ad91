"""Errors over HTTP as RFC 9457 problem details (``application/problem+json``): which
parameter, which rule, what is allowed. No stack trace ever reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

__all__ = ["Problem", "ProblemBody", "install", "problem_responses"]

log = logging.getLogger("fengqiao.dashboard")
MEDIA_TYPE = "application/problem+json"


class ProblemBody(BaseModel):
    """RFC 9457 problem details, with the parameter at fault when there is one."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
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
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.parameter, self.allowed = parameter, allowed


def _respond(
    request: Request, body: ProblemBody, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body.instance = request.url.path
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=body.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return _respond(
            request,
            ProblemBody(
                title=exc.title,
                status=exc.status,
                detail=exc.detail,
                parameter=exc.parameter,
                allowed=exc.allowed,
            ),
        )

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
        return _respond(
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
        return _respond(
            request,
            ProblemBody(title=title, status=exc.status_code, detail=str(exc.detail)),
            exc.headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s", request.url.path)
        return _respond(
            request,
            ProblemBody(
                title="internal error",
                status=500,
                detail="the dashboard could not answer; the error is in its log",
            ),
        )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem statuses a route can answer with."""
    return {
        s: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}, "description": "problem details"}
        for s in statuses
    }
