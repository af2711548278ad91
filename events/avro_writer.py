"""A compiled Avro binary writer: one Python function per schema that writes an event's body
straight from the frozen model's attributes.

``fastavro.schemaless_writer`` walks the schema for every datum and needs the model dumped
into dicts first; together that was most of the publisher's time per event. Here the schema
is walked once, into straight-line Python source (nested records inline, arrays as loops)
compiled with ``compile()``, so a call only reads attributes and appends bytes. The output is
byte-for-byte what fastavro writes (tests prove it); fastavro stays the reference and the
decoder.

A compiled writer assumes the model's guarantees (scalars of the right type and range,
aware UTC datetimes). When a value breaks them it raises whatever Python raises, before
anything is returned, and ``AvroCodec`` turns that into ``InvalidEvent``. Compiling a schema
with a type the catalog does not use (maps, fixed, other unions) raises ``Unsupported``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["Unsupported", "compile_writer", "zigzag_varint"]

Writer = Callable[[Any, bytes], bytes]
"""``writer(event, prefix)``: ``prefix`` (the wire-format header) then the Avro body."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class Unsupported(ValueError):
    """The schema uses a type the compiled writer does not write."""


def _varint(z: int) -> bytes:
    out = bytearray()
    while z > 0x7F:
        out.append(z & 0x7F | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


# Most lengths and ints are small and non-negative: their bytes are looked up, not computed.
_SMALL = 8192
_POSITIVE = tuple(_varint(n << 1) for n in range(_SMALL))
# A timestamp-millis of these decades has a zig-zag value of 29 to 42 bits: two 14-bit
# groups with continuation bits, then the rest, each a table lookup.
_LOW14 = tuple(bytes((n & 0x7F | 0x80, n >> 7 | 0x80)) for n in range(1 << 14))
_HIGH14 = tuple(_varint(n) for n in range(1 << 14))


def zigzag_varint(n: int) -> bytes:
    """An Avro ``long``: zig-zag, then base-128 varint. OverflowError outside 64 bits."""
    if 0 <= n < _SMALL:
        return _POSITIVE[n]
    if not _LONG_MIN <= n <= _LONG_MAX:
        raise OverflowError(f"{n} does not fit an Avro long")
    return _varint((n << 1) ^ (n >> 63))


def _zigzag_int(n: int) -> bytes:
    if not _INT_MIN <= n <= _INT_MAX:
        raise OverflowError(f"{n} does not fit an Avro int")
    return zigzag_varint(n)


def _timestamp_millis(moment: datetime) -> bytes:
    # fastavro's arithmetic, in integers: exact for every datetime.
    delta = moment - _EPOCH
    z = ((delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000) << 1
    if 268435456 <= z < 4398046511104:
        return _LOW14[z & 16383] + _LOW14[z >> 14 & 16383] + _HIGH14[z >> 28]
    return zigzag_varint(z >> 1)


_CONSTANTS: dict[str, Any] = {
    "ts": _timestamp_millis,
    "BOOL": {True: b"\x01", False: b"\x00"},
    "EPOCH_DAY": _EPOCH_DAY,
    "POS": _POSITIVE,
    "LOW14": _LOW14,
    "HIGH14": _HIGH14,
    "zz": zigzag_varint,
    "zz32": _zigzag_int,
    "join": b"".join,
    "pack_d": struct.Struct("<d").pack,
    "pack_f": struct.Struct("<f").pack,
}


class _Source:
    """The expressions of one writer function under construction.

    Each schema node becomes bytes-valued expressions, all joined once at the end: a tuple
    display joined by ``b"".join`` costs half of as many ``list.append`` calls. Temporaries
    are bound with ``:=`` in the expression that is evaluated first.
    """

    def __init__(self, named: dict[str, Any]) -> None:
        self.named = named
        self.statements: list[str] = []
        self.constants: dict[str, Any] = dict(_CONSTANTS)
        self.count = 0

    def local(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def constant(self, prefix: str, value: Any) -> str:
        name = self.local(prefix)
        self.constants[name] = value
        return name

    def value(self, schema: Any, expr: str, top: bool) -> list[str]:
        """Expressions that write ``expr`` as ``schema``; ``top``: not inside an array item or
        a union branch, so a record may be bound to a local by a statement."""
        if isinstance(schema, str):
            if schema in self.named:
                return self.value(self.named[schema], expr, top)
            return self.primitive(schema, expr)
        if isinstance(schema, list):
            return self.union(schema, expr)
        kind, logical = schema["type"], schema.get("logicalType")
        if kind == "long" and logical == "timestamp-millis":
            return [f"ts({expr})"]
        if kind == "int" and logical == "date":
            return [f"zz32({expr}.toordinal() - EPOCH_DAY)"]
        if kind == "record":
            return self.record(schema, expr, top)
        if kind == "enum":
            symbols = {symbol: zigzag_varint(i) for i, symbol in enumerate(schema["symbols"])}
            return [f"{self.constant('enum', symbols)}[{expr}]"]
        if kind == "array":
            items, item = self.local("a"), self.local("i")
            each = _one(self.value(schema["items"], item, False))
            return [
                (
                    f"(zz(len({items})) + join([{each} for {item} in {items}]) + b'\\x00')"
                    f" if ({items} := {expr}) else b'\\x00'"
                )
            ]
        if isinstance(kind, str) and kind in _PRIMITIVES and not logical:
            return self.primitive(kind, expr)
        raise Unsupported(f"no compiled writer for {kind!r} (logical type {logical!r})")

    def record(self, schema: dict[str, Any], expr: str, top: bool) -> list[str]:
        if top and "." in expr:
            record = self.local("r")
            self.statements.append(f"{record} = {expr}")
            expr = record
        out: list[str] = []
        doubles: list[str] = []
        for field in schema["fields"]:
            attribute = f"{expr}.{field['name']}"
            if field["type"] == "double":
                doubles.append(attribute)  # adjacent doubles are packed by one struct call
                continue
            out.extend(self.packed(doubles))
            out.extend(self.value(field["type"], attribute, top))
        out.extend(self.packed(doubles))
        return out

    def packed(self, doubles: list[str]) -> list[str]:
        if not doubles:
            return []
        pack = self.constant("pack", struct.Struct("<" + "d" * len(doubles)).pack)
        expr = f"{pack}({', '.join(doubles)})"
        doubles.clear()
        return [expr]

    def primitive(self, kind: str, expr: str) -> list[str]:
        if kind == "string":
            text, size = self.local("s"), self.local("n")
            return [
                (
                    f"POS[{size}] if ({size} := len({text} := {expr}.encode())) < {_SMALL}"
                    f" else zz({size})"
                ),
                text,
            ]
        if kind == "bytes":
            data = self.local("b")
            return [f"zz(len({data} := bytes({expr})))", data]
        if kind == "int":
            return [f"zz32({expr})"]
        if kind == "long":
            return [f"zz({expr})"]
        if kind == "boolean":
            return [f"BOOL[{expr}]"]
        if kind == "double":
            return [f"pack_d({expr})"]
        if kind == "float":
            return [f"pack_f({expr})"]
        raise Unsupported(f"no compiled writer for {kind!r}")

    def union(self, branches: list[Any], expr: str) -> list[str]:
        if len(branches) != 2 or "null" not in branches:
            raise Unsupported(f"no compiled writer for the union {branches!r}")
        null_index = branches.index("null")
        option = self.local("u")
        present = self.value(branches[1 - null_index], option, False)
        return [
            (
                f"{zigzag_varint(null_index)!r} if ({option} := {expr}) is None"
                f" else {zigzag_varint(1 - null_index)!r} + {_one(present)}"
            )
        ]


def _one(exprs: list[str]) -> str:
    """One expression for several: concatenated if few, joined if many."""
    if len(exprs) == 1:
        return f"({exprs[0]})"
    if len(exprs) <= 3:
        return "(" + " + ".join(f"({e})" for e in exprs) + ")"
    return "join((" + ", ".join(exprs) + "))"


_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


def compile_writer(parsed: dict[str, Any], named: dict[str, Any]) -> Writer:
    """The writer of the record schema ``parsed`` (as ``fastavro.parse_schema`` returns it,
    with ``named``, the named types it filled in).

    Raises:
        Unsupported: the schema uses a type this writer does not handle.
    """
    source = _Source(named)
    exprs = source.value(parsed, "event", True)
    body = [*source.statements, "return join((prefix, " + ", ".join(exprs) + "))"]
    text = "def write(event, prefix):\n" + "".join(f"    {line}\n" for line in body)
    namespace = dict(source.constants)
    # Source generated here from a catalog schema, never from input: the point of this module.
    exec(compile(text, f"<avro writer {parsed.get('name')}>", "exec"), namespace)  # noqa: S102
    writer: Writer = namespace["write"]
    writer.source = text  # type: ignore[attr-defined]
    return writer
