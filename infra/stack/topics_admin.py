"""Create the declared topics (infra/topics.py) and check that existing ones match them.

A topic that exists with other partitions or configs is never altered: that would silently
re-key a log or change its retention. It is reported, all of them at once, as ``TopicMismatch``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition

# The documented import path; the package re-exports these without marking them public.
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
    OffsetSpec,
)

from events.errors import BrokerUnavailable, StackError, TopicMismatch
from events.kafka_access import kafka_config
from infra.settings import ConnectionSettings
from infra.topics import TOPICS, TopicSpec, expected_mismatches

ADMIN_TIMEOUT_S = 30.0
_REDELETE_S = 2.0  # how often topics listed again after their deletion are deleted again


def admin_client(bootstrap: str, **config: Any) -> AdminClient:
    """An AdminClient for ``bootstrap`` that keeps librdkafka's connection noise off stderr;
    ``config`` adds librdkafka settings and callbacks (``error_cb``).

    Our callers turn failures into exceptions, so librdkafka's own error log lines (level 3)
    would only repeat them.
    """
    return AdminClient(kafka_config(bootstrap, log_level=2, **config))


def delete_topics_starting(
    admin: AdminClient,
    prefixes: tuple[str, ...],
    until_gone: bool = False,
    timeout_s: float = ADMIN_TIMEOUT_S,
) -> list[str]:
    """Delete every topic whose name starts with one of ``prefixes`` (a test's or a
    benchmark's own topics, faust's internal ones included); the names deleted.

    ``until_gone``: return only once the metadata no longer lists any of them, for a caller
    that creates topics of the same names next (a topic still being deleted cannot be), or
    that must leave none behind. A creation still under way at the deletion lands after it,
    so what is listed again is deleted again, every ``_REDELETE_S``, for up to ``timeout_s``.

    Raises:
        BrokerUnavailable: with ``until_gone``, some are still listed after ``timeout_s``.
    """
    ours = _delete_listed(admin, prefixes)
    deadline = time.monotonic() + timeout_s
    redelete_at = time.monotonic() + _REDELETE_S
    while until_gone and ours and any(t.startswith(prefixes) for t in _topic_names(admin)):
        now = time.monotonic()
        if now >= deadline:
            raise BrokerUnavailable(
                f"topics under {', '.join(prefixes)} still exist {timeout_s:.0f} s "
                "after their deletion"
            )
        if now >= redelete_at:
            ours += [t for t in _delete_listed(admin, prefixes) if t not in ours]
            redelete_at = now + _REDELETE_S
        time.sleep(0.2)
    return ours


def _delete_listed(admin: AdminClient, prefixes: tuple[str, ...]) -> list[str]:
    """Delete the topics listed now under ``prefixes``; their names."""
    ours = [t for t in _topic_names(admin) if t.startswith(prefixes)]
    if ours:
        for future in admin.delete_topics(ours).values():
            try:
                future.result(ADMIN_TIMEOUT_S)
            except KafkaException as exc:
                # Listed, then gone before its own deletion reached it (another deletion of
                # the same prefix, or the listing's metadata was a moment old): what we want.
                if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise
    return ours


def _topic_names(admin: AdminClient) -> list[str]:
    return list(admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics)


def ensure_topics(
    admin_or_bootstrap: AdminClient | str,
    settings: ConnectionSettings,
    specs: Iterable[TopicSpec] = TOPICS,
    timeout_s: float = ADMIN_TIMEOUT_S,
) -> list[str]:
    """Create every topic of ``specs`` that is missing; verify the ones that exist.

    Parameters: an AdminClient or a bootstrap address; ``settings`` gives the replication
    factor (``FQ_REPLICATION_FACTOR``); ``specs`` defaults to all of ``infra.topics.TOPICS``.
    Returns the names of the topics created, in declaration order, once every partition of
    them is led and answers (``wait_until_writable``).
    Raises ``TopicMismatch`` listing every difference of every existing topic,
    ``BrokerUnavailable`` when Kafka does not answer, ``StackError`` when it refuses.
    """
    admin = (
        admin_client(admin_or_bootstrap)
        if isinstance(admin_or_bootstrap, str)
        else admin_or_bootstrap
    )
    specs = list(specs)
    existing = _partition_counts(admin, timeout_s)
    missing = [s for s in specs if s.name not in existing]
    created = _create(admin, missing, settings.replication_factor, timeout_s)
    wait_until_writable(admin, {s.name: s.partitions for s in missing if s.name in created})
    # A topic another client made between our listing and our create is verified like the rest.
    to_check = [s for s in specs if s.name not in created]
    if to_check:
        existing = _partition_counts(admin, timeout_s)
        configs = _configs(admin, [s.name for s in to_check], timeout_s)
        problems = [
            problem
            for s in to_check
            for problem in expected_mismatches(s, existing.get(s.name, 0), configs[s.name])
        ]
        if problems:
            raise TopicMismatch(
                "existing topics differ from infra/topics.py (not altered; delete or migrate "
                "them):\n  " + "\n  ".join(problems)
            )
    return created


def wait_until_writable(
    admin: AdminClient, partitions: dict[str, int], timeout_s: float = ADMIN_TIMEOUT_S
) -> None:
    """Return once every partition of these new topics answers a ListOffsets request.

    A topic's creation returns before its partitions are online on their leaders, and a
    record produced in between can fail with UNKNOWN_TOPIC_OR_PART, for good (librdkafka
    #4904): a writer that did not check its deliveries would leave a log with a hole in it.
    ListOffsets is refused on exactly the same grounds as a produce request.

    Raises:
        BrokerUnavailable: some partition still refuses after ``timeout_s`` (which, and why).
    """
    waiting = {TopicPartition(t, p) for t, count in partitions.items() for p in range(count)}
    deadline = time.monotonic() + timeout_s
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    while waiting:
        # The admin client looks leaders up in its metadata cache, which does not learn of a
        # new topic by itself ("No leaders found"): ask for the metadata first.
        admin.list_topics(timeout=timeout_s)
        futures = admin.list_offsets({tp: latest for tp in waiting}, request_timeout=timeout_s)
        refusals: dict[TopicPartition, KafkaException] = {}
        for tp, future in futures.items():
            try:
                future.result()
            except KafkaException as exc:
                refusals[tp] = exc
        waiting = set(refusals)
        if waiting and time.monotonic() >= deadline:
            tp, why = next(iter(refusals.items()))
            raise BrokerUnavailable(
                f"{len(waiting)} partitions of new topics are not writable after "
                f"{timeout_s:.0f} s, e.g. {tp.topic}[{tp.partition}]: {why}"
            )
        if waiting:
            time.sleep(0.05)


def _partition_counts(admin: AdminClient, timeout_s: float) -> dict[str, int]:
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as e:
        raise BrokerUnavailable(f"Kafka did not answer a metadata request: {e}") from e
    return {name: len(t.partitions) for name, t in metadata.topics.items()}


def _create(
    admin: AdminClient, specs: list[TopicSpec], replication: int, timeout_s: float
) -> list[str]:
    if not specs:
        return []
    futures = admin.create_topics(
        [NewTopic(s.name, s.partitions, replication, config=dict(s.config)) for s in specs],
        operation_timeout=timeout_s,
        request_timeout=timeout_s,
    )
    created = []
    for spec in specs:
        try:
            futures[spec.name].result()
            created.append(spec.name)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise StackError(f"cannot create topic {spec.name}: {e}") from e
    return created


def _configs(admin: AdminClient, names: list[str], timeout_s: float) -> dict[str, dict[str, str]]:
    deadline = time.monotonic() + timeout_s
    configs: dict[str, dict[str, str]] = {}
    pending = list(names)
    while pending:
        resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in pending]
        futures = admin.describe_configs(resources, request_timeout=timeout_s)
        pending = []
        for resource, future in futures.items():
            try:
                entries = future.result()
            except KafkaException as e:
                # Listed a moment ago, but not yet known to the broker answering for its
                # configs (a topic just made, on a loaded broker): ask again until the timeout.
                code = e.args[0].code()
                if code == KafkaError.UNKNOWN_TOPIC_OR_PART and time.monotonic() < deadline:
                    pending.append(resource.name)
                    continue
                raise StackError(f"cannot describe topic {resource.name}: {e}") from e
            configs[resource.name] = {k: v.value for k, v in entries.items() if v.value is not None}
        if pending:
            time.sleep(0.1)
    return configs
