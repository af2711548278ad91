"""The seam between faust and the workflow (``processors.app``) holds on faust-streaming as
installed: faust records no acked offset of an inbox, so it never has an inbox offset to
commit, while it would for a topic with acks (the control). If a faust release started to
ack and commit the inboxes, the workflow's transactions would no longer be the only writer
of their offsets, and this fails."""

from __future__ import annotations

import asyncio
from typing import Any

from faust.types import TP, Message

from events.topics import CASE_INBOX, REFERENCE_INBOX, VISIT_INBOX
from processors.app import create_app, inbox_topic
from processors.settings import WorkflowSettings

PREFIX = "seam."


def _acked_and_committable(topics: list[str]) -> dict[str, tuple[bool, dict[Any, int]]]:
    async def run() -> dict[str, tuple[bool, dict[Any, int]]]:
        app = create_app(WorkflowSettings(topic_prefix=PREFIX)).faust
        control = app.topic(f"{PREFIX}control", value_type=bytes, value_serializer="raw")
        app.topics.add(control)
        await app.topics._update_indices()  # as the conductor does when the worker starts
        consumer = app.consumer
        found = {}
        for name in topics:
            tp = TP(name, 3)
            message = Message(name, 3, 5, 0.0, None, [], b"k", b"v", None, tp=tp)
            acked = consumer.ack(message)  # what a stream does with a record it is done with
            found[name] = (acked, consumer._filter_committable_offsets([tp]))
        return found

    return asyncio.run(run())


def test_faust_never_has_an_inbox_offset_to_commit() -> None:
    inboxes = [f"{PREFIX}{t}" for t in (CASE_INBOX, VISIT_INBOX, REFERENCE_INBOX)]
    found = _acked_and_committable([*inboxes, f"{PREFIX}control"])
    for inbox in inboxes:
        assert found[inbox] == (False, {}), inbox
    assert found[f"{PREFIX}control"] == (True, {TP(f"{PREFIX}control", 3): 6})  # the control


def test_an_inbox_is_declared_without_acks_and_as_raw_bytes() -> None:
    app = create_app(WorkflowSettings()).faust
    topic = inbox_topic(app, "fq.case.inbox", 12)
    assert topic.acks is False
    assert (topic.key_serializer, topic.value_serializer) == ("raw", "raw")
