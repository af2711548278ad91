"""The reference log read to its end before each projector batch.

The read is never cut short: folding case and visit events against part of the reference
data would give a projection that depends on how fast the machine was. A slow read says how
far it has got every ``REPORT_EVERY_S``; one that has not moved for ``STALL_S`` raises.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from events.codec import AvroCodec
from events.errors import BrokerUnavailable, DecodeError
from events.kafka_io import reader, where
from events.models import Event
from projections.log_ends import watermarks
from projections.read_progress import STALL_S, ReadProgress

__all__ = ["REPORT_EVERY_S", "ReferenceTail"]

log = logging.getLogger("fengqiao.projector")
REPORT_EVERY_S = 10.0  # a reference read not complete after this long says how far it got


class ReferenceTail:
    """Reads one partition of the reference log from its start, committed records only,
    each ``read_to_end`` up to the end the log has when it is called."""

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, group: str) -> None:
        self.codec = codec
        self._tp = TopicPartition(topic, 0, 0)
        # Asked for its end before every batch: a broker-side fetch wait (500 ms by default)
        # would sit in front of each of those questions.
        self._consumer = reader(bootstrap, group, **{"fetch.wait.max.ms": 10})
        self._consumer.assign([self._tp])

    def close(self) -> None:
        self._consumer.close()

    def read_to_end(self) -> list[Event]:
        """The events recorded since the last read, up to the log's end now (undecodable
        records are logged and skipped).

        Raises:
            BrokerUnavailable: the end cannot be asked for, or the read has not moved for
                ``STALL_S``.
        """
        tp = self._tp
        try:
            _, end = watermarks(self._consumer, tp)
        except KafkaException as exc:
            raise BrokerUnavailable(f"cannot read {tp.topic}: {exc}") from exc
        events: list[Event] = []
        progress = ReadProgress(
            tp.offset, end, time.monotonic(), report_every_s=REPORT_EVERY_S, stall_s=STALL_S
        )
        last_error: KafkaError | None = None
        while not progress.complete:
            now = time.monotonic()
            why = f" (last error: {last_error})" if last_error is not None else ""
            if progress.stalled(now):
                raise BrokerUnavailable(
                    f"Kafka delivered nothing of {tp.topic} for {STALL_S:.0f} s at offset "
                    f"{tp.offset} of {end}{why}; the projector folds nothing against part of "
                    "the reference data"
                )
            if progress.report_due(now):
                log.warning(
                    "projector: %s read to offset %d of %d in %.1f s, not complete yet; "
                    "nothing is folded until it is%s",
                    tp.topic,
                    tp.offset,
                    end,
                    now - progress.started,
                    why,
                )
            for msg in self._consumer.consume(10_000, 0.2):
                if msg.error() is not None:
                    last_error = msg.error()  # retried by the client; reported if it stalls
                    continue
                tp.offset = where(msg)[2] + 1
                events.extend(self._decoded(msg))
            position = self._consumer.position([TopicPartition(tp.topic, 0)])[0].offset
            if position >= 0:  # past transaction markers, which are never delivered
                tp.offset = max(tp.offset, position)
            progress.reached(tp.offset, time.monotonic())
        if progress.reports:
            log.warning(
                "projector: %s read to its end (%d) in %.1f s",
                tp.topic,
                end,
                time.monotonic() - progress.started,
            )
        return events

    def _decoded(self, msg: Message) -> list[Event]:
        try:
            return [self.codec.decode(msg.value() or b"", msg.topic(), 0, msg.offset())]
        except DecodeError as exc:
            log.error("projector: skipping undecodable reference record: %s", exc)
            return []
