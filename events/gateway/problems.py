"""The gateway's refusals as RFC 9457 problems (``events.problems``), in English and Chinese.

An invalid event lists every field at fault: ``field`` (dotted path), ``rule`` (the check it
failed), ``message`` and ``message_zh``, and ``expected`` where the rule says what would pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pydantic_core import ErrorDetails

from events.gateway.scope import Refusal
from events.problems import Problem

__all__ = [
    "FieldError",
    "Invalid",
    "field_error",
    "forbidden",
    "idempotency_conflict",
    "idempotency_in_flight",
    "invalid_problem",
    "kafka_unavailable",
    "unauthorized",
]


@dataclass(frozen=True)
class FieldError:
    """One field at fault."""

    field: str
    rule: str
    message: str
    message_zh: str
    expected: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class Invalid(Exception):
    """A body that is not a valid submission; ``errors`` names each field at fault."""

    def __init__(self, errors: list[FieldError], event_type: str | None = None) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors, self.event_type = errors, event_type


_ZH = {
    "missing": "缺少必填字段",
    "extra_forbidden": "契约中没有此字段",
    "string_type": "必须是字符串",
    "string_too_short": "字符串过短",
    "string_too_long": "字符串过长",
    "string_pattern_mismatch": "字符串含有不允许的字符（如 NUL）或不符合格式",
    "int_type": "必须是整数",
    "float_type": "必须是数字",
    "bool_type": "必须是布尔值",
    "enum": "必须是规定的取值之一",
    "literal_error": "必须是规定的取值之一",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "timezone_aware": "时间必须带时区",
    "datetime_type": "必须是带时区的 ISO 8601 时间",
    "datetime_parsing": "必须是带时区的 ISO 8601 时间",
    "datetime_from_date_parsing": "必须是带时区的 ISO 8601 时间",
    "date_type": "必须是 ISO 8601 日期（YYYY-MM-DD）",
    "date_parsing": "必须是 ISO 8601 日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "必须是 ISO 8601 日期（YYYY-MM-DD）",
    "model_type": "必须是 JSON 对象",
    "model_attributes_type": "必须是 JSON 对象",
    "dict_type": "必须是 JSON 对象",
    "tuple_type": "必须是数组",
    "list_type": "必须是数组",
    "value_error": "取值不符合规则",
}
_EXPECTED_KEYS = ("expected", "ge", "le", "gt", "lt", "min_length", "max_length", "pattern")
_TYPES = {
    "string_type": "string",
    "int_type": "integer",
    "float_type": "number",
    "bool_type": "boolean",
    "model_type": "object",
    "dict_type": "object",
    "tuple_type": "array",
    "list_type": "array",
    "datetime_type": "date-time with offset",
    "datetime_parsing": "date-time with offset",
    "timezone_aware": "date-time with offset",
    "date_type": "date (YYYY-MM-DD)",
    "date_parsing": "date (YYYY-MM-DD)",
}


def field_error(error: ErrorDetails) -> FieldError:
    """One pydantic error as a ``FieldError``."""
    field = ".".join(str(part) for part in error["loc"]) or "(event)"
    rule = error["type"]
    ctx = error.get("ctx") or {}
    expected: Any = {k: _plain(ctx[k]) for k in _EXPECTED_KEYS if k in ctx} or _TYPES.get(rule)
    if isinstance(expected, dict) and list(expected) == ["expected"]:
        expected = expected["expected"]
    zh = _ZH.get(rule, "不符合契约")
    if rule == "value_error":
        zh = f"{zh}：{error['msg'].removeprefix('Value error, ')}"
    return FieldError(field, rule, error["msg"], zh, expected)


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool) else str(value)


_TITLES = {
    401: "not authenticated",
    403: "outside your scope",
    409: "request in flight",
    422: "invalid event",
    503: "not accepted",
}
_RETRY = {"Retry-After": "1"}


def _refused(
    status: int,
    detail: str,
    detail_zh: str,
    parameter: str | None = None,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Problem:
    """The one builder of the gateway's refusals: the title is the status's unless given."""
    return Problem(
        status,
        title or _TITLES[status],
        detail,
        parameter=parameter,
        detail_zh=detail_zh,
        errors=errors,
        headers=headers,
    )


def invalid_problem(exc: Invalid) -> Problem:
    """The 422 of an invalid submission."""
    of = f" {exc.event_type}" if exc.event_type else ""
    fields = ", ".join(e.field for e in exc.errors)
    return _refused(
        422,
        f"the{of} submission breaks the contract at: {fields}; see errors",
        f"提交的{of}事件不符合契约，出错字段：{fields}；详见 errors",
        exc.errors[0].field,
        errors=[e.as_dict() for e in exc.errors],
    )


def unauthorized(why: str) -> Problem:
    """A 401: no key, or a key that is not valid."""
    return _refused(
        401,
        f"{why}; send your key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'",
        "缺少或无效的 API 密钥；请以 Authorization: Bearer <密钥> 或 X-Api-Key 发送",
        headers={"WWW-Authenticate": 'Bearer realm="fengqiao"'},
    )


def forbidden(refusal: Refusal) -> Problem:
    """A 403 naming the scope that refused."""
    return _refused(403, refusal.detail, refusal.detail_zh, refusal.scope)


def idempotency_conflict(key: str) -> Problem:
    return _refused(
        422,
        f"Idempotency-Key {key!r} was used before with another body; use a new key",
        f"幂等键 {key!r} 已用于另一个请求体；请使用新的键",
        "Idempotency-Key",
        title="idempotency key reused",
    )


def idempotency_in_flight(key: str) -> Problem:
    return _refused(
        409,
        f"a request with Idempotency-Key {key!r} is being answered; retry after it",
        f"幂等键 {key!r} 的请求正在处理中；请稍后重试",
        "Idempotency-Key",
        headers=_RETRY,
    )


def kafka_unavailable(reason: str) -> Problem:
    return _refused(
        503,
        f"Kafka did not acknowledge the submission ({reason}); retry it: the same event id"
        " (and Idempotency-Key) makes a retry safe",
        "Kafka 未确认此次提交；请以相同的事件 ID（及幂等键）重试，不会重复",
        headers=_RETRY,
    )
