"""The projector against the real stack: determinism across live, crashed and replayed
projections, late posts, as-of replays, promotion, dead letters and freshness."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from bench.canonical_log import canonical_events
from events.errors import BrokerUnavailable, PublishFailed
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from events.topics import CASE_EVENTS, dlq
from infra.stack.topics_admin import admin_client, delete_topics_starting, ensure_topics
from infra.topics import TopicSpec
from projections import log_ends, queries, reference_tail, store
from projections import projector as projector_loop
from projections.errors import NotPromotable, ProjectionStoreError, UnknownProjection
from projections.replay import replay
from projections.versions import new_replay_schema, promote
from simulate.city import CityShape
from tests.integration.projection_helpers import (
    PROJECT_ROOT,
    ProjectionWorld,
    checksums,
    refusals,
    wait_for,
)

START = date(2025, 6, 2)


@pytest.fixture
def world(connection_settings: Any, unique_name: Any) -> Iterator[ProjectionWorld]:
    w = ProjectionWorld(connection_settings, unique_name("pj"))
    yield w
    w.cleanup()


@pytest.fixture
def city_log(world: ProjectionWorld) -> dict[str, int]:
    """Three simulated days of Zhuangshi street on the world's canonical topics."""
    return world.write(canonical_events(CityShape.zhuangshi(), 5, START, 3))


def test_projection_counts_match_the_log(world: ProjectionWorld, city_log: dict[str, int]) -> None:
    schema = world.new_schema("live")
    projector = world.project(schema)
    with world.conn() as c:
        c.execute(f"SET search_path TO {schema}")
        (timeline,) = c.execute("SELECT count(*) FROM case_timeline").fetchone()  # type: ignore[misc]
        (visits,) = c.execute("SELECT count(*) FROM visits").fetchone()  # type: ignore[misc]
        (reported,) = c.execute(
            "SELECT sum(reported) FROM stats_daily WHERE level = 'district'"
        ).fetchone()  # type: ignore[misc]
        (cases,) = c.execute("SELECT count(*) FROM cases").fetchone()  # type: ignore[misc]
        (places,) = c.execute("SELECT count(*) FROM places").fetchone()  # type: ignore[misc]
    assert timeline == city_log["case"]
    assert visits == city_log["visit"]
    assert reported == cases > 0
    assert places > 189  # every grid, village, street, district and the city
    assert projector.positions and all(
        p.caught_up or p.next_offset > 0 for p in projector.positions.values()
    )


def test_a_projector_that_has_read_every_partition_answers_complete_to_the_last_event(
    world: ProjectionWorld, city_log: dict[str, int]
) -> None:
    # A partition's end, read in the same batch as its last records, marks it caught up: a
    # quiet partition must not hold the answers' freshness back at its own last event.
    live = world.live_schema()
    projector = projector_loop.Projector(world.settings, live, world.codec)
    running = threading.Thread(target=projector.run)
    running.start()

    def all_caught_up() -> bool:
        with world.conn() as c:
            (behind, partitions) = c.execute(  # type: ignore[misc]
                f'SELECT count(*) FILTER (WHERE NOT caught_up), count(*) FROM "{live}".checkpoints'
            ).fetchone()
        return bool(partitions == 36 and behind == 0)

    try:
        wait_for(all_caught_up, 60, "every case, visit and rejection partition to be caught up")
    finally:
        projector.stop()
        running.join(30)
    with world.conn() as c:
        answer = queries.case_pipeline(c, world.settings.projection)
        (last,) = c.execute(f'SELECT max(event_time) FROM "{live}".case_timeline').fetchone()  # type: ignore[misc]
    assert answer.complete_to == last


def test_a_batch_of_many_chunks_commits_as_one_transaction_with_every_record(
    world: ProjectionWorld, city_log: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch is consumed and folded a chunk at a time; it still commits once, with all of it.
    monkeypatch.setattr(projector_loop, "_CHUNK", 50)
    total = city_log["case"] + city_log["visit"]
    ends = log_ends.end_offsets(world.settings)
    # A batch's size counts what the consumer hands over: the records and each partition's end.
    settings = world.settings.model_copy(
        update={"projector_batch": total + len(ends), "projector_max_wait_s": 10.0}
    )
    schema = world.new_schema("chunks")
    projector = projector_loop.Projector(settings, schema, world.codec)
    projector._start()
    try:
        report = projector.step()
    finally:
        projector.close()
    assert report.applied == total  # every record of the log, in one batch
    assert total > 50 * 20  # of over 20 chunks
    with world.conn() as c:
        rows = c.execute(f'SELECT topic, partition, next_offset FROM "{schema}".checkpoints')
        committed = {(t, p): n for t, p, n in rows.fetchall()}
        (timeline,) = c.execute(f'SELECT count(*) FROM "{schema}".case_timeline').fetchone()  # type: ignore[misc]
    assert committed == {tp: end for tp, end in ends.items()}
    assert timeline == city_log["case"]


def test_a_reference_read_slower_than_its_patience_is_waited_for_not_cut_short(
    world: ProjectionWorld,
    city_log: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # However slow the machine, no case or visit is folded before the reference log is read
    # to its end: a read that outlasts its patience (here: none at all) says so and goes on.
    timely = world.new_schema("timely")
    world.project(timely)
    monkeypatch.setattr(reference_tail, "REPORT_EVERY_S", 0.0)
    slow = world.new_schema("slow")
    with caplog.at_level(logging.WARNING, logger="fengqiao.projector"):
        world.project(slow)
    with world.conn() as c:
        (no_district,) = c.execute(
            f'SELECT count(*) FROM "{slow}".cases WHERE district_code IS NULL'
        ).fetchone()  # type: ignore[misc]
    assert no_district == 0
    assert _sums(world, slow) == _sums(world, timely)
    assert "not complete yet" in caplog.text


def test_a_reference_read_that_stalls_raises_and_nothing_is_written(
    world: ProjectionWorld, city_log: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference_tail, "STALL_S", 0.0)  # no progress at all is allowed
    schema = world.new_schema("stalled")
    with pytest.raises(BrokerUnavailable, match=r"at offset 0 of \d+; the projector folds nothing"):
        world.project(schema)
    with world.conn() as c:
        (written,) = c.execute(
            f'SELECT (SELECT count(*) FROM "{schema}".checkpoints) + '
            f'(SELECT count(*) FROM "{schema}".case_timeline)'
        ).fetchone()  # type: ignore[misc]
    assert written == 0


def test_live_crashed_and_replayed_projections_are_identical(
    world: ProjectionWorld, city_log: dict[str, int], tmp_path: Path
) -> None:
    live = world.new_schema("live")
    world.project(live)
    expected = _sums(world, live)
    assert expected["case_timeline"][0] == city_log["case"]
    assert expected["visit_tracks"][0] == city_log["visit"]  # compared below too
    assert expected["case_locations"][0] == expected["cases"][0] > 0
    assert expected["units"][0] > 189 and expected["places"][0] > 189  # compared below too

    # The same log through `fengqiao project`, killed with SIGKILL three times mid-stream.
    crashed = world.live_schema()
    total = city_log["case"] + city_log["visit"]
    env = world.env(FQ_PROJECTOR_BATCH="40", FQ_PROJECTOR_MAX_WAIT_S="0.05")
    log = tmp_path / "projector.log"
    for kill in range(3):
        worker = _start_projector(env, log)
        floor = (kill + 1) * total // 5
        wait_for(
            lambda floor=floor, worker=worker: (
                _progress(world, crashed) >= floor or worker.poll() is not None
            ),
            120,
            f"the projector to pass {floor} records",
        )
        assert worker.poll() is None, log.read_text()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    worker = _start_projector(env, log)
    try:
        wait_for(
            lambda: _progress(world, crashed) >= total, 180, "the restarted projector to catch up"
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, log.read_text()

    # Small replay batches, so the replay cuts the log differently from the live run too.
    replayed = world.fengqiao(
        "replay", "--into", f"{world.name}_replay"[:60], "--workers", "3", FQ_REPLAY_BATCH="300"
    )
    assert replayed.returncode == 0, replayed.stderr
    world.schemas.append(f"{world.name}_replay"[:60])

    assert _sums(world, crashed) == expected
    assert _sums(world, f"{world.name}_replay"[:60]) == expected


def test_refused_submissions_are_projected_once_each_the_same_live_and_replayed(
    world: ProjectionWorld,
) -> None:
    log = list(canonical_events(CityShape.zhuangshi(), 5, START, 1))
    refused = refusals(log, 4)  # four cases' refusals, each written twice, and a visit's
    written = world.write([*log, *refused])
    assert written["rejection"] == 9
    live = world.new_schema("live")
    world.project(live)
    replayed = world.new_schema("replayed")
    assert replay(world.settings, replayed, workers=2) == sum(
        written[s] for s in ("case", "visit", "rejection")
    )
    assert _sums(world, replayed) == _sums(world, live)

    with world.conn() as c:
        rows = c.execute(
            "SELECT event_id, case_id, stream, event_type, code, source_system, event_time "
            f'FROM "{live}".rejections ORDER BY event_id'
        ).fetchall()
        timeline = c.execute(f'SELECT count(*) FROM "{live}".case_timeline').fetchone()
    expected = {e.envelope.event_id: e for _, e in refused}
    assert [r[0] for r in rows] == sorted(expected)  # each refusal once
    by_case = [r for r in rows if r[1] is not None]
    assert len(by_case) == 4
    for event_id, case_id, stream, event_type, code, source, at in by_case:
        sent = expected[event_id]
        assert (case_id, stream, event_type, code) == (
            sent.submission_key,  # type: ignore[attr-defined]
            "case",
            "CaseReported",
            "CASE_EXISTS",
        )
        assert source == sent.submission_source_system  # type: ignore[attr-defined]
        assert at == sent.envelope.event_time
    (visit,) = [r for r in rows if r[1] is None]
    assert visit[2:5] == ("visit", "VisitRecorded", "WORKER_NOT_ASSIGNED")
    assert timeline == (written["case"],)  # a refusal is not a step of its case


def _indexes(world: ProjectionWorld, schema: str) -> set[str]:
    with world.conn() as c:
        rows = c.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,)
        ).fetchall()
    return {name for (name,) in rows}


def test_a_replay_schema_is_loaded_without_secondary_indexes_and_has_them_all_when_it_ends(
    world: ProjectionWorld, city_log: dict[str, int]
) -> None:
    full = world.new_schema("indexed")  # as the live projector's schema is created
    with world.conn() as c:
        schema = new_replay_schema(c, world.settings.projection, None, f"{world.name}_rx"[:60])
    world.schemas.append(schema)
    before = _indexes(world, schema)
    assert before and all(name.endswith("_pkey") for name in before)  # keys only

    assert replay(world.settings, schema, workers=2) == city_log["case"] + city_log["visit"]
    assert _indexes(world, schema) == _indexes(world, full) > before
    assert _sums(world, schema) == _sums(world, world.project(full).schema)


def _start_projector(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "project"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


def _sums(world: ProjectionWorld, schema: str) -> dict[str, tuple[int, str]]:
    with world.conn() as c:
        return checksums(c, schema)


def _progress(world: ProjectionWorld, schema: str) -> int:
    with world.conn() as c:
        row = c.execute(
            f'SELECT coalesce(sum(next_offset), 0) FROM "{schema}".checkpoints'
        ).fetchone()
    return int(row[0]) if row else 0


def _late_case(world: ProjectionWorld) -> tuple[str, datetime]:
    """One case whose resolution happened on 31 March (local) and was posted on 3 April."""
    events = list(canonical_events(CityShape.zhuangshi(), 9, date(2025, 3, 31), 1))
    reference = [(s, e) for s, e in events if s == "reference"]
    resolved = next(e for s, e in events if s == "case" and e.event_type == "CaseResolved")
    case_id = resolved.case_id  # type: ignore[attr-defined]
    stream = [e for s, e in events if s == "case" and e.case_id == case_id]  # type: ignore[attr-defined]
    cut = stream.index(resolved)
    resolved_at = datetime(2025, 3, 31, 15, 0, tzinfo=UTC)  # 23:00 in Ningbo, still Q1
    late_env = resolved.envelope.model_copy(
        update={"event_time": resolved_at, "recorded_time": resolved_at + timedelta(days=3)}
    )
    late = resolved.model_copy(update={"envelope": late_env})
    kept = [e for e in stream[:cut] if e.envelope.event_time < resolved_at] + [late]
    world.write([*reference, *(("case", e) for e in kept)])
    return case_id, resolved_at


def test_a_late_post_lands_in_the_period_of_its_event_time(world: ProjectionWorld) -> None:
    case_id, resolved_at = _late_case(world)
    live = world.live_schema()
    world.project(live)
    with world.conn() as c:
        q1 = queries.statistics(
            c, world.settings.projection, "district", "quarter", date(2025, 1, 1), date(2025, 7, 1)
        )
    resolved = {row["period"]: row["resolved"] for row in q1.rows}
    assert (
        resolved.get("2025-Q1") == 1 and "2025-Q2" not in resolved or resolved.get("2025-Q2") == 0
    )
    assert q1.complete_to is not None and q1.complete_to >= resolved_at

    # The city as known on 1 April did not know of the resolution yet.
    with world.conn() as c:
        as_of = new_replay_schema(c, world.settings.projection, datetime(2025, 4, 1, tzinfo=UTC))
    world.schemas.append(as_of)
    world.project(as_of, until=datetime(2025, 4, 1, tzinfo=UTC))
    with world.conn() as c:
        row = c.execute(
            f'SELECT status, resolved_at FROM "{as_of}".cases WHERE case_id = %s', (case_id,)
        ).fetchone()
        assert row is not None and row[0] == "in_progress" and row[1] is None
        with pytest.raises(NotPromotable, match="cannot follow the live log"):
            promote(c, world.settings.projection, as_of)


def test_replay_then_promote_switches_what_queries_read_and_the_live_projector_follows(
    world: ProjectionWorld, city_log: dict[str, int], tmp_path: Path
) -> None:
    live = world.live_schema()
    with world.conn() as c:
        empty = queries.case_pipeline(c, world.settings.projection)
    assert empty.schema == live and empty.rows == [] and empty.complete_to is None

    log = tmp_path / "projector.log"
    worker = _start_projector(world.env(FQ_PROJECTOR_MAX_WAIT_S="0.1"), log)
    try:
        result = world.fengqiao("replay")
        assert result.returncode == 0, result.stderr
        assert "replayed" in result.stdout
        replay_schema = f"fq_{world.settings.projection}_r2"
        with world.conn() as c, pytest.raises(UnknownProjection, match="has no schema nope"):
            promote(c, world.settings.projection, "nope")
        promoted = world.fengqiao("projections", "promote", replay_schema)
        assert promoted.returncode == 0, promoted.stderr
        before = _sums(world, replay_schema)

        # The whole log again, as the workflow wrote copies of duplicates before it answered
        # them on fq.outcomes (older logs hold such copies): the live projector has moved to
        # the promoted schema, reads it all, and changes nothing.
        resent = [
            (s, e)
            for s, e in canonical_events(CityShape.zhuangshi(), 5, START, 3)
            if s != "reference"
        ]
        world.write(resent)
        target = sum(city_log[s] for s in ("case", "visit")) * 2
        try:
            wait_for(
                lambda: _progress(world, replay_schema) >= target or worker.poll() is not None,
                120,
                "the projector to follow",
            )
        except AssertionError as exc:  # the projector's own account of where it stood
            raise AssertionError(
                f"{exc} (at {_progress(world, replay_schema)} of {target}); "
                f"projector log:\n{log.read_text()}"
            ) from exc
        assert worker.poll() is None, log.read_text()
        assert _sums(world, replay_schema) == before
        assert "was promoted" in log.read_text()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)

    with world.conn() as c:
        after = queries.case_pipeline(c, world.settings.projection)
        trace_case = c.execute(f'SELECT case_id FROM "{replay_schema}".cases LIMIT 1').fetchone()[0]  # type: ignore[index]
        trace = queries.case_trace(c, world.settings.projection, trace_case)
    assert after.schema == replay_schema
    assert sum(r["cases"] for r in after.rows) > 0 and after.complete_to is not None
    assert [r["sequence"] for r in trace.rows] == list(range(1, len(trace.rows) + 1))
    assert trace.rows[0]["event_type"] == "CaseReported"

    missing = world.fengqiao("projections", "promote", "no_such_schema")
    assert missing.returncode == 1 and "has no schema no_such_schema" in " ".join(
        missing.stderr.split()
    )


def test_an_undecodable_record_is_dead_lettered_and_the_rest_projected(
    world: ProjectionWorld, city_log: dict[str, int]
) -> None:
    topic = world.prefix + CASE_EVENTS
    producer = Producer({**kafka_config(world.connection.kafka_bootstrap)})
    deliveries = Deliveries()
    produce(producer, topic, b"\x00\x00\x00\x00\x63not avro", b"poison", deliveries, partition=0)
    deliveries.flush(producer, 30, "the poison record")
    schema = world.new_schema("dlq")
    world.project(schema)
    with world.conn() as c:
        letters = c.execute(
            f'SELECT partition, reason, raw FROM "{schema}".dead_letters'
        ).fetchall()
        (timeline,) = c.execute(f'SELECT count(*) FROM "{schema}".case_timeline').fetchone()  # type: ignore[misc]
    assert len(letters) == 1 and letters[0][0] == 0
    assert "schema id 99" in letters[0][1] and bytes(letters[0][2]).endswith(b"not avro")
    assert timeline == city_log["case"]
    consumer = Consumer(
        {
            **kafka_config(world.connection.kafka_bootstrap),
            "group.id": world.name,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(dlq(topic), 0, 0)])
    msg = consumer.poll(15)
    consumer.close()
    assert msg is not None and msg.value().endswith(b"not avro")


def test_a_case_event_keyed_by_another_id_is_dead_lettered_not_folded(
    world: ProjectionWorld, city_log: dict[str, int]
) -> None:
    topic = world.prefix + CASE_EVENTS
    consumer = Consumer({**kafka_config(world.connection.kafka_bootstrap), "group.id": world.name})
    consumer.assign([TopicPartition(topic, 0, 0)])
    first = consumer.poll(15)
    consumer.close()
    assert first is not None and first.error() is None
    producer = Producer({**kafka_config(world.connection.kafka_bootstrap)})
    deliveries = Deliveries()
    produce(producer, topic, first.value(), b"c-someone-else", deliveries, partition=0)
    deliveries.flush(producer, 30, "the miskeyed record")
    schema = world.new_schema("miskeyed")
    world.project(schema)
    with world.conn() as c:
        letters = c.execute(f'SELECT partition, reason FROM "{schema}".dead_letters').fetchall()
        (timeline,) = c.execute(f'SELECT count(*) FROM "{schema}".case_timeline').fetchone()  # type: ignore[misc]
    assert len(letters) == 1 and letters[0][0] == 0
    assert letters[0][1].startswith("key b'c-someone-else' is not the case id 'c-")
    assert timeline == city_log["case"]


def test_a_dead_letter_kafka_refuses_stops_the_projector_before_its_batch_is_written(
    world: ProjectionWorld, city_log: dict[str, int]
) -> None:
    topic = world.prefix + CASE_EVENTS
    # A dead letter goes to the partition of its original, which this .dlq topic lacks.
    admin = admin_client(world.connection.kafka_bootstrap)
    delete_topics_starting(admin, (dlq(topic),), until_gone=True)
    ensure_topics(admin, world.connection, [TopicSpec(dlq(topic), 1)])
    producer = Producer({**kafka_config(world.connection.kafka_bootstrap)})
    deliveries = Deliveries()
    produce(producer, topic, b"\x00\x00\x00\x00\x63not avro", b"poison", deliveries, partition=3)
    deliveries.flush(producer, 30, "the poison record")
    poison = log_ends.topic_ends(world.connection.kafka_bootstrap, [topic])[(topic, 3)] - 1
    schema = world.new_schema("dlq_refused")
    with pytest.raises(PublishFailed, match=r"dead letters to their \.dlq topics: Kafka refused 1"):
        world.project(schema)
    with world.conn() as c:
        (letters,) = c.execute(f'SELECT count(*) FROM "{schema}".dead_letters').fetchone()  # type: ignore[misc]
        position = c.execute(
            f'SELECT next_offset FROM "{schema}".checkpoints WHERE topic = %s AND partition = 3',
            (topic,),
        ).fetchone()
    assert letters == 0
    assert position is None or position[0] <= poison  # the poison's batch did not commit


def test_statistics_rankings_hot_words_and_sla_answer_with_freshness(
    world: ProjectionWorld, city_log: dict[str, int]
) -> None:
    live = world.live_schema()
    world.project(live)
    p = world.settings.projection
    period = (START, START + timedelta(days=3))
    with world.conn() as c:
        grids = queries.statistics(c, p, "grid", "day", *period)
        depts = queries.statistics(c, p, "department", "month", *period)
        rank = queries.ranking(c, p, "grid", "discovery_rate", *period, min_count=5)
        words = queries.hot_words(c, p, "2025-Q2", k=10)
        workers = queries.worker_assessment(c, p, *period, min_visits=2)
        overdue = queries.overdue_distribution(c, p)
        with pytest.raises(Exception, match="must be after its start"):
            queries.statistics(c, p, "grid", "day", period[1], period[0])
    for answer in (grids, depts, rank, words, workers, overdue):
        assert answer.complete_to is not None and answer.schema == live
    assert sum(r["visits"] for r in grids.rows) == city_log["visit"]
    assert all(
        r["median_handling_hours"] is None or r["median_handling_hours"] <= r["p90_handling_hours"]
        for r in depts.rows
    )
    ranked = [r for r in rank.rows if r["ranked"]]
    assert ranked and all(r["sample"] >= 5 for r in ranked)
    assert all(r["rank"] is None for r in rank.rows if not r["ranked"])
    assert [r["rank"] for r in ranked] == sorted(r["rank"] for r in ranked)
    counts = [r["count"] for r in words.rows]
    assert len(words.rows) == 10 and counts == sorted(counts, reverse=True)
    assert workers.rows and workers.rows[0]["rank"] == 1


def test_a_second_projector_on_the_same_schema_is_refused(
    world: ProjectionWorld, city_log: dict[str, int], tmp_path: Path
) -> None:
    live = world.live_schema()
    log = tmp_path / "projector.log"
    first = _start_projector(world.env(), log)
    try:
        wait_for(lambda: _progress(world, live) > 0, 60, "the first projector to start")
        second = world.fengqiao("project")
        assert second.returncode == 1
        assert f"another projector is writing schema {live}" in " ".join(second.stderr.split())
        assert first.poll() is None, log.read_text()
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0, log.read_text()


def test_a_batch_that_fails_to_commit_stops_the_projector_and_leaves_nothing_of_it(
    world: ProjectionWorld, city_log: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = world.new_schema("clean")
    world.project(clean)
    expected = _sums(world, clean)

    # The third batch writes its rows, then PostgreSQL refuses its offsets.
    calls = {"n": 0}
    real = store._write_positions

    def refuse_third(conn: Any, positions: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            conn.execute("SELECT 1/0")
        real(conn, positions)

    monkeypatch.setattr(store, "_write_positions", refuse_third)
    broken = world.new_schema("broken")
    with pytest.raises(ProjectionStoreError, match="rolled back"):
        world.project(broken)
    with world.conn() as c:
        committed = dict(
            c.execute(
                f'SELECT topic, sum(next_offset) FROM "{broken}".checkpoints GROUP BY topic'
            ).fetchall()
        )
        (timeline,) = c.execute(f'SELECT count(*) FROM "{broken}".case_timeline').fetchone()  # type: ignore[misc]
    # Exactly the two batches before: every case record up to the offsets has its row, and
    # no row of the failed batch (or of the one folded after it) is there.
    assert calls["n"] == 3
    assert timeline == committed.get(world.prefix + CASE_EVENTS, 0) < city_log["case"]

    monkeypatch.setattr(store, "_write_positions", real)
    world.project(broken)  # a restart resumes from the last commit
    assert _sums(world, broken) == expected
