"""``fengqiao publish``, ``fengqiao tail`` and ``fengqiao schemas check`` as an operator runs
them: a subprocess on the real stack, judged by exit code, stdout and stderr.

``publish`` writes the real inbox topics, so what it published is found by event id among
the records that arrived after the test began, never by position.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from events.codec import AvroCodec
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from events.models import Event
from events.registry import SchemaRegistry
from events.topics import INBOX
from infra.settings import ConnectionSettings
from tests.factories import example_event
from tests.integration.helpers import (
    Scratch,
    ends,
    fengqiao,
    read_topic,
    registry_fixture,  # noqa: F401 (a fixture)
    scratch_fixture,  # noqa: F401 (a fixture)
    scratch_publisher,
)


def _line(event: Event) -> str:
    return json.dumps({"event_type": event.event_type, **event.model_dump(mode="json")})


def _published_since(
    connection: ConnectionSettings, registry: SchemaRegistry, since: dict[str, dict[int, int]]
) -> dict[str, Event]:
    """The events on the inbox topics after the offsets ``since``, by event id."""
    codec = AvroCodec(registry)
    return {
        event.envelope.event_id: event
        for topic, offsets in since.items()
        for msg in read_topic(connection.kafka_bootstrap, topic, offsets)
        for event in [codec.decode(msg.value, msg.topic, msg.partition, msg.offset)]
    }


def test_schemas_check_proves_the_catalog_backward_transitive(
    connection_settings: ConnectionSettings,
) -> None:
    done = fengqiao(connection_settings, "schemas", "check")
    assert done.returncode == 0, done.stderr
    assert "BACKWARD_TRANSITIVE ok" in done.stdout


def test_publish_reports_every_bad_line_and_publishes_the_good_ones(
    connection_settings: ConnectionSettings, registry: SchemaRegistry, tmp_path: Path
) -> None:
    registered = fengqiao(connection_settings, "schemas", "register")
    assert registered.returncode == 0, registered.stderr
    good = [
        example_event("CaseReported"),
        example_event("CaseAccepted"),
        example_event("VisitRecorded"),
    ]
    unknown = {**json.loads(_line(example_event("CaseClosed"))), "event_type": "CaseTeleported"}
    missing = json.loads(_line(example_event("CaseReported")))
    del missing["title"]
    markup = json.loads(_line(example_event("VisitRecorded")))
    markup["households_visited"] = "[/x]"  # text an operator's terminal must not interpret
    lines = [
        _line(good[0]).encode(),
        b'{"event_type": "CaseReported", "case_id": ',  # 2: not JSON
        _line(good[1]).encode(),
        b"",  # 4: blank, skipped but counted
        b'{"event_type": "CaseClosed", "note": "\xff\xfe"}',  # 5: not UTF-8
        json.dumps(unknown).encode(),  # 6
        _line(good[2]).encode(),
        json.dumps(missing).encode(),  # 8
        json.dumps(markup).encode(),  # 9
    ]
    file = tmp_path / "events.ndjson"
    file.write_bytes(b"\n".join(lines) + b"\n")
    topics = [INBOX["case"], INBOX["visit"]]
    since = {t: ends(connection_settings.kafka_bootstrap, t) for t in topics}

    done = fengqiao(connection_settings, "publish", str(file))

    assert done.returncode == 1, done.stderr
    assert "published 3, failed 5" in done.stdout
    stderr = re.sub(r"\s+", " ", done.stderr)  # rich wraps long lines
    reasons = dict(re.findall(r"line (\d+): (.*?)(?= line \d+:|$)", stderr))
    assert sorted(reasons, key=int) == ["2", "5", "6", "8", "9"], done.stderr
    assert "not JSON" in reasons["2"] and "line 1 column 43" in reasons["2"]
    assert "UTF-8" in reasons["5"] and "[utf8]" in reasons["5"]
    assert "UnknownEventType" in reasons["6"] and "CaseTeleported" in reasons["6"]
    assert "CaseReported.title" in reasons["8"] and "[missing]" in reasons["8"]
    assert "households_visited" in reasons["9"] and "'[/x]') [int_type]" in reasons["9"]
    published = _published_since(connection_settings, registry, since)
    for event in good:
        assert published[event.envelope.event_id] == event
    assert unknown["envelope"]["event_id"] not in published
    assert missing["envelope"]["event_id"] not in published


def test_tail_prints_records_decoded_and_reports_the_undecodable(
    connection_settings: ConnectionSettings, scratch: Scratch
) -> None:
    topic = scratch.topic(1)
    first, second = example_event("CaseReported"), example_event("CaseClaimed")
    with scratch_publisher(connection_settings, {"case": topic}) as publisher:
        publisher.publish(first)
        producer = Producer({**kafka_config(connection_settings.kafka_bootstrap)})
        deliveries = Deliveries()
        produce(producer, topic, b"\x07not avro", first.key().encode(), deliveries)
        deliveries.flush(producer, 30, "the poison record")
        publisher.publish(second)

    done = fengqiao(connection_settings, "tail", topic, "--from-beginning", "--max", "2")

    assert done.returncode == 0, done.stderr
    shown = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["offset"], r["event_type"], r["envelope"]["event_id"]) for r in shown] == [
        (0, "CaseReported", first.envelope.event_id),
        (2, "CaseClaimed", second.envelope.event_id),
    ]
    stderr = re.sub(r"\s+", " ", done.stderr)
    assert f"undecodable: cannot decode record at {topic}[0]@1: magic byte is 7" in stderr
    assert "2 records shown, 1 undecodable" in stderr


def test_tail_of_a_missing_topic_exits_1_naming_it(
    connection_settings: ConnectionSettings, unique_name: Any
) -> None:
    topic = unique_name("fqt_missing")
    done = fengqiao(connection_settings, "tail", topic, "--from-beginning", "--idle", "1")
    assert done.returncode == 1
    assert f"no topic {topic!r}" in re.sub(r"\s+", " ", done.stderr)
