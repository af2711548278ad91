"""Replay: rebuild a projection schema from the start of the canonical logs, in one process or
in several side by side, each owning a share of the partitions.

Sharing is safe because of what the folds are: a case's events (and a grid's visits) are in
one partition, so each worker holds whole streams; every counter is a sum, so workers adding
to the same district's row in any order give the same total; and each worker commits its own
partitions' positions with its own rows. Rows are written in key order, so two workers never
wait on each other's locks in opposite orders.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from events.codec import AvroCodec
from events.registry import SchemaRegistry
from projections.errors import ProjectionError
from projections.log_ends import end_offsets
from projections.projector import BatchReport, Projector
from projections.settings import ProjectorSettings
from projections.store import connect, create_indexes, use_schema
from schemas.errors import FengqiaoError

__all__ = ["replay"]

Ends = dict[tuple[str, int], int]


def replay(
    settings: ProjectorSettings,
    schema: str,
    until: datetime | None = None,
    workers: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Project the logs up to their ends as they are now into ``schema`` (already created,
    best without secondary indexes: they are built once it is loaded); ``on_progress(done,
    total)`` as records are committed. Returns the records read."""
    if workers < 1:
        raise ProjectionError(f"workers must be at least 1, got {workers}")
    settings = settings.model_copy(update={"projector_batch": settings.replay_batch})
    total = _project(settings, schema, until, workers, on_progress)
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        create_indexes(conn, schema)
    return total


def _project(
    settings: ProjectorSettings,
    schema: str,
    until: datetime | None,
    workers: int,
    on_progress: Callable[[int, int], None] | None,
) -> int:
    ends = end_offsets(settings)
    total = sum(ends.values())
    if workers == 1:
        codec = AvroCodec(SchemaRegistry(settings.registry_url))
        projector = Projector(settings, schema, codec, until=until, stop_at=ends)
        committed: dict[tuple[str, int], int] = {}

        def on_batch(report: BatchReport) -> None:
            committed.update((tp, p.next_offset) for tp, p in report.positions.items())
            if on_progress is not None:
                on_progress(sum(min(n, ends.get(tp, 0)) for tp, n in committed.items()), total)

        projector.on_batch = on_batch
        try:
            projector.run()
        finally:
            codec.registry.close()
        return total
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(
            target=_worker, args=(settings, schema, until, ends, (i, workers)), daemon=True
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        while any(p.is_alive() for p in procs):
            _raise_if_failed(procs)
            if on_progress is not None:
                on_progress(_committed(settings, schema, ends), total)
            time.sleep(0.5)
        _raise_if_failed(procs)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(10)
    if on_progress is not None:
        on_progress(_committed(settings, schema, ends), total)
    return total


def _raise_if_failed(procs: list[Any]) -> None:
    failed = [i for i, p in enumerate(procs) if p.exitcode not in (None, 0)]
    if failed:
        raise ProjectionError(
            f"replay worker {failed[0]} of {len(procs)} failed (exit {procs[failed[0]].exitcode}); "
            "its error is above; the schema is incomplete, replay again into a new one"
        )


def _committed(settings: ProjectorSettings, schema: str, ends: Ends) -> int:
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        use_schema(conn, schema)
        rows = conn.execute("SELECT topic, partition, next_offset FROM checkpoints").fetchall()
    return sum(min(offset, ends.get((t, p), 0)) for t, p, offset in rows)


def _worker(
    settings: ProjectorSettings,
    schema: str,
    until: datetime | None,
    ends: Ends,
    share: tuple[int, int],
) -> None:
    codec = AvroCodec(SchemaRegistry(settings.registry_url))
    try:
        Projector(settings, schema, codec, until=until, stop_at=ends, share=share).run()
    except FengqiaoError as exc:
        print(f"error: replay worker {share[0]}: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        codec.registry.close()
