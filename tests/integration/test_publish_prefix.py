"""The SDK under a topic prefix (FQ_TOPIC_PREFIX): its own inbox topics, the real subjects."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka.admin import AdminClient

from events.codec import AvroCodec
from events.kafka_access import kafka_config
from events.publisher import Publisher, PublisherSettings
from events.registry import SchemaRegistry
from events.topics import CASE_INBOX, VISIT_INBOX
from infra.cli_process import prefixed
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import ensure_topics
from tests.factories import example_event
from tests.integration.helpers import delete_prefixed_topics, read_topic


def test_a_prefixed_publisher_writes_its_own_inboxes_framed_for_the_real_subjects(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> None:
    prefix = f"{unique_name('pp')}."
    ensure_topics(
        AdminClient({**kafka_config(connection_settings.kafka_bootstrap)}),
        connection_settings,
        prefixed(prefix),
    )
    settings = PublisherSettings(
        kafka_bootstrap=connection_settings.kafka_bootstrap,
        registry_url=connection_settings.registry_url,
        topic_prefix=prefix,
    )
    report, visit = example_event("CaseReported"), example_event("VisitRecorded")
    with Publisher(settings) as publisher:
        receipts = [publisher.publish(report), publisher.publish(visit)]
    assert [r.topic for r in receipts] == [prefix + CASE_INBOX, prefix + VISIT_INBOX]
    registry = SchemaRegistry(connection_settings.registry_url)
    codec = AvroCodec(registry)
    try:
        (record,) = read_topic(connection_settings.kafka_bootstrap, prefix + CASE_INBOX)
        assert codec.decode(record.value) == report
        assert codec.schema_id(CASE_INBOX, "CaseReported") == int.from_bytes(
            record.value[1:5], "big"
        )
    finally:
        registry.close()
        delete_prefixed_topics(connection_settings.kafka_bootstrap, prefix)
