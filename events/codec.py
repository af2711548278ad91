"""The Avro codec in the Confluent wire format: magic byte 0, 4-byte big-endian schema id,
then the Avro binary body.

The body is written by a writer compiled from the schema (``events.avro_writer``) straight
from the model; fastavro is the reference it is tested against, writes the schemas the
compiled writer does not handle, and decodes.

Encoding writes the current schema version of the event's type, under the topic's subject
(TopicRecordNameStrategy). Decoding reads with the writer's schema (fetched by id, cached)
and resolves into the current version, so data written by any registered version comes back
as the current model. Parsed schemas and ids are cached: the hot path does no I/O.
"""

from __future__ import annotations

import io
import logging
import struct
from typing import Any, cast

import fastavro
from pydantic import ValidationError

from events.avro_writer import Unsupported, Writer, compile_writer
from events.errors import DecodeError, InvalidEvent, RegistryError
from events.models import Event, from_avro, to_avro
from events.registry import SchemaRegistry, subject_name
from events.validation import invalid_event_from
from schemas.catalog import Catalog, load_catalog

MAGIC = 0
_HEADER = struct.Struct(">bI")
log = logging.getLogger(__name__)


class SchemaNotRegistered(RegistryError):
    """The current schema of an event type is not registered for a topic."""


class AvroCodec:
    """Encode events to, and decode them from, Confluent-framed Avro.

    Args:
        registry: the schema registry client.
        catalog: the schema catalog (default: the shipped ``schemas/`` tree).
        auto_register: register a missing schema on first use instead of failing. Off by
            default: in production schemas are registered, and their compatibility checked,
            by ``fengqiao schemas register`` before any producer uses them.
    """

    def __init__(
        self,
        registry: SchemaRegistry,
        catalog: Catalog | None = None,
        auto_register: bool = False,
    ) -> None:
        self.registry = registry
        self.catalog = catalog or load_catalog()
        self.auto_register = auto_register
        self._writers: dict[tuple[str, str], tuple[bytes, Any, Writer | None]] = {}
        self._readers: dict[int, tuple[Any, Any, str]] = {}

    # --- encoding ------------------------------------------------------------------------
    def _writer(self, topic: str, event_type: str) -> tuple[bytes, Any, Writer | None]:
        key = (topic, event_type)
        cached = self._writers.get(key)
        if cached is not None:
            return cached
        version = self.catalog.current(event_type)
        subject = subject_name(topic, version.fullname)
        if self.auto_register:
            schema_id = self.registry.register(subject, version.schema)
        else:
            found = self.registry.lookup(subject, version.schema)
            if found is None:
                raise SchemaNotRegistered(
                    f"{version.fullname} v{version.version} is not registered under subject "
                    f"{subject!r}; run `fengqiao schemas register`"
                )
            schema_id = found
        named: dict[str, Any] = {}
        parsed = fastavro.parse_schema(version.schema, named)
        try:
            compiled: Writer | None = compile_writer(cast(dict[str, Any], parsed), named)
        except Unsupported as exc:
            log.info("%s is written by fastavro: %s", version.fullname, exc)
            compiled = None
        entry = (_HEADER.pack(MAGIC, schema_id), parsed, compiled)
        self._writers[key] = entry
        return entry

    def schema_id(self, topic: str, event_type: str) -> int:
        """The registry id the codec writes for ``event_type`` on ``topic``."""
        header = self._writer(topic, event_type)[0]
        return int(_HEADER.unpack(header)[1])

    def encode(self, topic: str, event: Event) -> bytes:
        """Frame and encode one event for ``topic``.

        Raises:
            InvalidEvent: a value cannot be written (e.g. a string that is not valid UTF-8).
            SchemaNotRegistered, RegistryUnavailable: the schema id cannot be had.
        """
        return self.encode_event(*self._writer(topic, event.event_type), event)

    @staticmethod
    def encode_event(header: bytes, parsed: Any, compiled: Writer | None, event: Event) -> bytes:
        """``header`` then ``event`` written by ``compiled`` (the writer of ``parsed``), or
        by fastavro when the schema has no compiled writer.

        Raises:
            InvalidEvent: a value cannot be written: rule ``utf8`` naming the field, or
                ``avro`` (nothing is written then; the model's rules prevent both, unless
                it was built without validation).
        """
        if compiled is None:
            return AvroCodec.encode_datum(header, parsed, event.event_type, to_avro(event))
        try:
            return compiled(event, header)
        except UnicodeEncodeError as exc:
            raise _not_utf8(event.event_type, to_avro(event), exc) from exc
        except Exception as exc:
            raise InvalidEvent(event.event_type, "?", "avro", f"{exc!r}") from exc

    @staticmethod
    def encode_datum(header: bytes, parsed: Any, event_type: str, datum: dict[str, Any]) -> bytes:
        """``header`` then the datum written by fastavro with the parsed schema ``parsed``.

        Raises:
            InvalidEvent: a value cannot be written (rule ``utf8``, naming the field, or
                ``avro``).
        """
        buffer = io.BytesIO()
        buffer.write(header)
        try:
            fastavro.schemaless_writer(buffer, parsed, datum)
        except UnicodeEncodeError as exc:
            raise _not_utf8(event_type, datum, exc) from exc
        except (ValueError, TypeError) as exc:
            raise InvalidEvent(event_type, "?", "avro", str(exc)) from exc
        return buffer.getvalue()

    # --- decoding ------------------------------------------------------------------------
    def _reader(self, schema_id: int) -> tuple[Any, Any, str]:
        cached = self._readers.get(schema_id)
        if cached is not None:
            return cached
        writer_schema = self.registry.schema_by_id(schema_id)
        fullname = _fullname(writer_schema)
        current = self.catalog.by_fullname(fullname)
        writer = fastavro.parse_schema(writer_schema)
        reader = fastavro.parse_schema(current.schema)
        # Written with the current version (the usual case): no resolution step, which fastavro
        # would otherwise decide by comparing the two parsed schemas on every record.
        entry = (writer, None if reader == writer else reader, current.event_type)
        self._readers[schema_id] = entry
        return entry

    def decode(
        self,
        data: bytes,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> Event:
        """Decode one framed record into the current model of its event type.

        Raises:
            DecodeError: not Confluent-framed, unknown schema id, or a body that does not
                match its writer schema or breaks the model's rules. Carries the raw bytes
                and where they came from.
            RegistryUnavailable, RegistryError: the registry could not say what the schema id
                is (no answer, or an error other than "not found"); the record itself may be
                fine, so it is not a DecodeError, which readers treat as final.
        """
        event_type, record = self.decode_datum(data, topic, partition, offset)
        try:
            return from_avro(event_type, record)
        except ValidationError as exc:
            reason = str(invalid_event_from(event_type, exc))
            raise DecodeError(reason, data, topic, partition, offset) from exc

    def decode_datum(
        self,
        data: bytes,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Decode one framed record into its event type and the Avro datum of the current
        schema version (no model validation: for readers of the canonical log, which the
        workflow validated when it wrote it, and which must go fast).

        Raises:
            DecodeError: as ``decode``, except for model rules.
        """

        def fail(reason: str) -> DecodeError:
            return DecodeError(reason, data, topic, partition, offset)

        if data is None or len(data) < _HEADER.size:
            raise fail(f"record of {0 if data is None else len(data)} bytes is too short")
        magic, schema_id = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise fail(f"magic byte is {magic}, expected {MAGIC} (Confluent wire format)")
        try:
            writer, reader, event_type = self._reader(schema_id)
        except RegistryError as exc:
            if exc.status != 404:
                raise  # the registry failed, not the record: it decodes once the registry answers
            raise fail(f"schema id {schema_id}: {exc}") from exc
        except (KeyError, ValueError) as exc:  # a record type outside the catalog
            raise fail(f"schema id {schema_id}: {exc}") from exc
        try:
            record = fastavro.schemaless_reader(io.BytesIO(data[_HEADER.size :]), writer, reader)
        except Exception as exc:  # fastavro raises a mix of EOFError/ValueError/etc.
            raise fail(f"body does not match schema id {schema_id}: {exc!r}") from exc
        return event_type, record  # type: ignore[return-value]


def _fullname(schema: dict[str, Any]) -> str:
    name = str(schema["name"])
    namespace = schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _not_utf8(event_type: str, datum: dict[str, Any], exc: UnicodeEncodeError) -> InvalidEvent:
    return InvalidEvent(
        event_type,
        _field_with_bad_text(datum) or "?",
        "utf8",
        f"text is not valid UTF-8 ({exc.reason} at position {exc.start})",
    )


def _field_with_bad_text(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string that cannot be encoded as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, (list, tuple)):  # a model dumps its arrays as tuples
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _field_with_bad_text(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None
