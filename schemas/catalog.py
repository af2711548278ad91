"""The event catalog: every released version of every event schema, loaded from ``schemas/``.

Layout read here: ``common/<Name>.avsc`` holds one named shared type of namespace
``fengqiao.common``; ``events/<EventType>/v<N>.avsc`` holds version N of one event, a record
named for its folder. Shared types are referenced by full name in the files and inlined by the
loader (first use defines, later uses refer by full name), so every ``SchemaVersion.schema`` is
self-contained: ready for ``fastavro.parse_schema`` and for registering in a schema registry.

Every fault found is a ``SchemaFileError`` naming the file and what is wrong with it.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro

from schemas.errors import SchemaFileError

__all__ = ["SCHEMA_ROOT", "Catalog", "SchemaVersion", "load_catalog"]

SCHEMA_ROOT = Path(__file__).resolve().parent
COMMON_NAMESPACE = "fengqiao.common"
STREAMS = {
    "fengqiao.case": "case",
    "fengqiao.visit": "visit",
    "fengqiao.reference": "reference",
    "fengqiao.workflow": "workflow",
}
PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "enum", "fixed"})
_VERSION_FILE = re.compile(r"v([1-9][0-9]*)\.avsc")


@dataclass(frozen=True)
class SchemaVersion:
    """One released version of one event type, with its expanded, self-contained schema."""

    event_type: str
    fullname: str
    stream: str
    version: int
    schema: dict[str, Any]
    path: Path


class Catalog:
    """All event types and their versions; read-only."""

    def __init__(self, versions: dict[str, list[SchemaVersion]]) -> None:
        self._versions = versions
        self._by_fullname = {vs[-1].fullname: vs[-1] for vs in versions.values()}

    def event_types(self) -> list[str]:
        """All event types, sorted by name."""
        return sorted(self._versions)

    def versions(self, event_type: str) -> list[SchemaVersion]:
        """Every released version of ``event_type``, ascending; KeyError if unknown."""
        return list(self._versions[event_type])

    def current(self, event_type: str) -> SchemaVersion:
        """The highest version of ``event_type``; KeyError if unknown."""
        return self._versions[event_type][-1]

    def by_fullname(self, fullname: str) -> SchemaVersion:
        """The current version of the record named ``fullname``; KeyError if unknown."""
        return self._by_fullname[fullname]


def load_catalog(root: Path | None = None) -> Catalog:
    """Load the catalog under ``root`` (default: this package's folder), once per root.

    Raises:
        SchemaFileError: a file is not valid JSON or not a valid, documented event schema,
            a folder and its record name differ, a version is missing, or a named type is
            unknown.
    """
    return _load(Path(root).resolve() if root is not None else SCHEMA_ROOT)


@functools.cache
def _load(root: Path) -> Catalog:
    common = _load_common(root / "common")
    events_dir = root / "events"
    if not events_dir.is_dir():
        raise SchemaFileError(f"{events_dir}: no events folder")
    versions: dict[str, list[SchemaVersion]] = {}
    for folder in sorted(p for p in events_dir.iterdir() if p.is_dir()):
        versions[folder.name] = _load_event(folder, common)
    if not versions:
        raise SchemaFileError(f"{events_dir}: no event schemas")
    return Catalog(versions)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaFileError(f"{path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise SchemaFileError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") not in NAMED:
        raise SchemaFileError(f"{path}: not a named Avro type (record, enum or fixed)")
    return data


def _load_common(folder: Path) -> dict[str, tuple[dict[str, Any], Path]]:
    common: dict[str, tuple[dict[str, Any], Path]] = {}
    for path in sorted(folder.glob("*.avsc")):
        data = _read(path)
        if data.get("name") != path.stem or data.get("namespace") != COMMON_NAMESPACE:
            raise SchemaFileError(
                f"{path}: must define {COMMON_NAMESPACE}.{path.stem}, "
                f"found {data.get('namespace')}.{data.get('name')}"
            )
        common[f"{COMMON_NAMESPACE}.{path.stem}"] = (data, path)
    return common


def _load_event(
    folder: Path, common: dict[str, tuple[dict[str, Any], Path]]
) -> list[SchemaVersion]:
    files: dict[int, Path] = {}
    for path in folder.iterdir():
        match = _VERSION_FILE.fullmatch(path.name)
        if match is None:
            raise SchemaFileError(f"{path}: not a version file (expected v<N>.avsc)")
        files[int(match.group(1))] = path
    expected = list(range(1, len(files) + 1))
    if sorted(files) != expected:
        raise SchemaFileError(f"{folder}: version gap: found {sorted(files)}, expected {expected}")
    result = []
    for version in expected:
        path = files[version]
        data = _read(path)
        namespace = data.get("namespace")
        if data["type"] != "record" or data.get("name") != folder.name:
            raise SchemaFileError(
                f"{path}: must be a record named {folder.name} (its folder), "
                f"found {data['type']} {data.get('name')!r}"
            )
        if namespace not in STREAMS:
            raise SchemaFileError(f"{path}: namespace {namespace!r} not one of {sorted(STREAMS)}")
        if not data.get("doc"):
            raise SchemaFileError(f"{path}: the record has no doc")
        fields = data.get("fields") or []
        if (
            not fields
            or fields[0].get("name") != "envelope"
            or fields[0].get("type") != f"{COMMON_NAMESPACE}.Envelope"
        ):
            raise SchemaFileError(
                f"{path}: first field must be envelope: {COMMON_NAMESPACE}.Envelope"
            )
        schema = _Expander(path, common).expand(data)
        try:
            fastavro.parse_schema(copy.deepcopy(schema))
        except Exception as exc:  # fastavro raises several unrelated types for a bad schema
            raise SchemaFileError(f"{path}: not a valid Avro schema: {exc}") from exc
        result.append(
            SchemaVersion(
                event_type=folder.name,
                fullname=f"{namespace}.{folder.name}",
                stream=STREAMS[namespace],
                version=version,
                schema=schema,
                path=path,
            )
        )
    return result


class _Expander:
    """Inlines common types into one event schema, checking docs and names on the way."""

    def __init__(self, path: Path, common: dict[str, tuple[dict[str, Any], Path]]) -> None:
        self.path = path
        self.common = common
        self.defined: set[str] = set()

    def expand(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._named(data, "", self.path)

    def _type(self, node: Any, namespace: str, where: Path) -> Any:
        if isinstance(node, str):
            return self._reference(node, namespace, where)
        if isinstance(node, list):
            return [self._type(branch, namespace, where) for branch in node]
        if not isinstance(node, dict):
            raise SchemaFileError(f"{where}: not an Avro type: {node!r}")
        kind = node.get("type")
        if kind in NAMED:
            return self._named(node, namespace, where)
        if kind == "array":
            return {**node, "items": self._type(node.get("items"), namespace, where)}
        if kind == "map":
            return {**node, "values": self._type(node.get("values"), namespace, where)}
        if kind in PRIMITIVES:
            return dict(node)
        raise SchemaFileError(f"{where}: unknown type {kind!r}")

    def _reference(self, name: str, namespace: str, where: Path) -> Any:
        if name in PRIMITIVES:
            return name
        fullname = name if "." in name else f"{namespace}.{name}"
        if fullname in self.defined:
            return fullname
        if fullname in self.common:
            data, common_path = self.common[fullname]
            return self._named(data, COMMON_NAMESPACE, common_path)
        raise SchemaFileError(f"{where}: unknown named type {name!r}")

    def _named(self, node: dict[str, Any], namespace: str, where: Path) -> dict[str, Any]:
        name = node.get("name")
        if not isinstance(name, str) or not name:
            raise SchemaFileError(f"{where}: a {node.get('type')} has no name")
        namespace = node.get("namespace", namespace) if "." not in name else name.rsplit(".", 1)[0]
        fullname = name if "." in name else f"{namespace}.{name}"
        if fullname in self.defined:
            raise SchemaFileError(f"{where}: {fullname} is defined twice")
        self.defined.add(fullname)
        out = {**node, "name": fullname.rsplit(".", 1)[1], "namespace": namespace}
        if node["type"] == "record":
            out["fields"] = [
                self._field(f, namespace, where, fullname) for f in node.get("fields", [])
            ]
        return out

    def _field(self, field: Any, namespace: str, where: Path, record: str) -> dict[str, Any]:
        if not isinstance(field, dict) or "name" not in field or "type" not in field:
            raise SchemaFileError(f"{where}: {record}: malformed field {field!r}")
        if not isinstance(field.get("doc"), str) or not field["doc"].strip():
            raise SchemaFileError(f"{where}: {record}.{field['name']}: field has no doc")
        return {**field, "type": self._type(field["type"], namespace, where)}
