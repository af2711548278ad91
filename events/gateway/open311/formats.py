"""Open311's two formats, as the spec writes them: XML (``text/xml``, a declaration with
encoding utf-8, no namespace) and JSON (``application/json``, the Spark convention's mapping of
the same XML: a list answers a list element, an object a single one). Both UTF-8.

``render(format, root, item, rows)`` answers a list (``services``/``service``,
``service_requests``/``request``, ``errors``/``error``); ``render_one`` an element whose
fields are not repeated (``service_definition``). ``None`` is an empty element in XML and
``null`` in JSON; booleans are ``true``/``false`` in both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

import orjson
from starlette.responses import Response

__all__ = ["CONTENT_TYPES", "FORMATS", "errors_response", "render", "render_one"]

FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ElementTree.Element, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        child = ElementTree.SubElement(parent, name)
        if isinstance(value, list):  # a list of elements, e.g. attributes
            for item in value:
                _fill(child, item)
        elif isinstance(value, Mapping):
            _fill(child, value)
        else:
            child.text = _text(value)


def _xml(root: ElementTree.Element) -> bytes:
    return _DECLARATION + ElementTree.tostring(root, encoding="unicode").encode()


def render(
    fmt: str, root: str, item: str, rows: Sequence[Mapping[str, Any]], status: int = 200
) -> Response:
    """A list of ``rows``: ``<root><item>…</item>…</root>`` or a JSON array."""
    if fmt == "json":
        body = orjson.dumps(list(rows))
    else:
        element = ElementTree.Element(root)
        for row in rows:
            _fill(ElementTree.SubElement(element, item), row)
        body = _xml(element)
    return Response(body, status, media_type=CONTENT_TYPES[fmt])


def render_one(fmt: str, root: str, fields: Mapping[str, Any]) -> Response:
    """One element: ``<root>…</root>`` or a JSON object."""
    if fmt == "json":
        body = orjson.dumps(dict(fields))
    else:
        element = ElementTree.Element(root)
        _fill(element, fields)
        body = _xml(element)
    return Response(body, 200, media_type=CONTENT_TYPES[fmt])


def errors_response(
    fmt: str,
    status: int,
    errors: Sequence[tuple[int, str]],
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The spec's error array: ``[{"code": …, "description": …}]`` / ``<errors><error>…``."""
    rows = [{"code": code, "description": description} for code, description in errors]
    response = render(fmt, "errors", "error", rows, status)
    if headers:
        response.headers.update(headers)
    return response
