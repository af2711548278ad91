"""``fengqiao simulate`` as an operator runs it: a subprocess on the real stack, judged by its
exit code, its summary and what it put on the inbox topics.

It publishes to the real inbox topics (as ``fengqiao publish`` does), so what it published is
found by event id among the records that arrived after the test began; a fresh seed per run
gives fresh ids. The same run written with ``--out`` says which events to expect.
"""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from events.codec import AvroCodec
from events.ndjson import read_ndjson
from events.registry import SchemaRegistry
from events.topics import INBOX
from infra.settings import ConnectionSettings
from tests.integration.helpers import (
    ends,
    fengqiao,
    read_topic,
    registry_fixture,  # noqa: F401 (a fixture)
)

DAY = "2026-03-02"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("│", " "))  # rich wraps and boxes long lines


def test_a_simulated_street_day_is_published_and_summarised(
    connection_settings: ConnectionSettings, registry: SchemaRegistry, tmp_path: Path
) -> None:
    assert fengqiao(connection_settings, "schemas", "register").returncode == 0
    seed = str(random.randrange(1, 2**31))
    args = ("simulate", "--shape", "zhuangshi", "--days", "1", "--start", DAY, "--seed", seed)
    written = fengqiao(connection_settings, *args, "--out", str(tmp_path / "day.ndjson"))
    assert written.returncode == 0, written.stderr
    expected = {
        line.event.envelope.event_id: line.event
        for line in read_ndjson(tmp_path / "day.ndjson")
        if line.event is not None
    }
    since = {t: ends(connection_settings.kafka_bootstrap, t) for t in INBOX.values()}

    done = fengqiao(connection_settings, *args)

    assert done.returncode == 0, done.stderr
    out = _flat(done.stdout)
    assert f"published {len(expected):,}, failed 0" in out
    assert "VisitRecorded" in out and "CaseReported" in out
    assert re.search(r"cases by channel: grid_visit \d+", out)
    assert f"events per day: {DAY} " in out
    codec = AvroCodec(registry)
    published = {
        event.envelope.event_id: event
        for topic, offsets in since.items()
        for record in read_topic(connection_settings.kafka_bootstrap, topic, offsets)
        for event in [codec.decode(record.value, record.topic, record.partition, record.offset)]
    }
    assert {i: published.get(i) for i in expected} == expected


def test_an_unreachable_broker_is_a_clear_error_and_exit_1(
    connection_settings: ConnectionSettings,
) -> None:
    nowhere = connection_settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"})
    began = time.monotonic()
    done = fengqiao(nowhere, "simulate", "--shape", "zhuangshi", "--days", "1", "--start", DAY)
    assert done.returncode == 1
    assert time.monotonic() - began < 60
    err = _flat(done.stderr)
    assert "error: BrokerUnavailable: Kafka at 127.0.0.1:1 does not answer" in err
    assert "fengqiao stack status" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--start", "2024-12-31"), "2024-12-31 is before 2025-01-01"),
        (("--start", "3 March"), "'3 March' is not a date"),
        (("--days", "0"), "--days: 0 is not positive"),
        (("--shape", "hangzhou"), "unknown city shape 'hangzhou'; known: ningbo, zhuangshi"),
    ],
)
def test_bad_options_are_refused_with_their_reason(
    connection_settings: ConnectionSettings, tmp_path: Path, args: tuple[str, ...], reason: str
) -> None:
    done = fengqiao(connection_settings, "simulate", *args, "--out", str(tmp_path / "x.ndjson"))
    assert done.returncode == 2
    assert reason in _flat(done.stderr)
    assert not (tmp_path / "x.ndjson").exists()


def test_live_mode_publishes_at_its_rate_with_times_on_the_wall_clock(
    connection_settings: ConnectionSettings, registry: SchemaRegistry
) -> None:
    since = {t: ends(connection_settings.kafka_bootstrap, t) for t in INBOX.values()}
    before = datetime.now(UTC)

    seed = str(random.randrange(1, 2**31))
    done = fengqiao(
        connection_settings,
        "simulate",
        "--shape",
        "zhuangshi",
        "--live",
        "--rate",
        "400",
        "--duration",
        "3",
        "--no-reference",
        "--seed",
        seed,
    )

    after = datetime.now(UTC)
    assert done.returncode == 0, done.stderr
    found = re.search(r"published ([\d,]+), failed 0", _flat(done.stdout))
    assert found, done.stdout
    published = int(found[1].replace(",", ""))
    assert 1000 <= published <= 1200
    codec = AvroCodec(registry)
    events = [
        codec.decode(record.value, record.topic, record.partition, record.offset)
        for topic in (INBOX["case"], INBOX["visit"])
        for record in read_topic(connection_settings.kafka_bootstrap, topic, since[topic])
    ]
    sources = ("gridapp", "residentapp", "hotline.12345", "centre.street", "dept.")
    ours = [e for e in events if e.envelope.source_system.startswith(sources)]
    assert len(ours) >= published  # other tests may publish beside us
    mine = [e for e in ours if before <= e.envelope.recorded_time <= after]
    assert len(mine) >= published * 0.99
    assert all(before <= e.envelope.event_time <= e.envelope.recorded_time for e in mine)
