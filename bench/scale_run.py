"""The scale run: N simulated days of the whole city backfilled through the SDK, decided by
the workflow, and projected, each stage timed with its peak memory, and the extrapolation of
each stage to a given event count (27M: the order of the city's real work records).

    .venv/bin/python -m bench.scale_run [--days 30] [--start 2025-03-03] [--target 27000000]

It runs on topics of its own (``FQ_TOPIC_PREFIX=scale.<run>.``), with a workflow app id
and a projection of its own. The city's reference data is published and decided first (the
workflow decides inbox partitions independently, so a visit must not overtake the definition
of its grid). Then the stages run one after the other so each one's time is its own:
``fengqiao simulate --no-reference`` (backfill), ``fengqiao process`` until its consumer
group has committed every inbox record, ``fengqiao project`` until its checkpoints reach the
end of the canonical logs. The deadline trigger is off: a backfill of past days must not be
judged against today's wall clock.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from bench.common import deployment_topics, report
from events.kafka_access import kafka_config
from events.publisher import Publisher, PublisherSettings
from events.topics import CANONICAL, INBOX, REJECTIONS
from infra.settings import ConnectionSettings
from projections.log_ends import topic_ends
from projections.settings import ProjectorSettings
from projections.store import connect
from simulate.city import CityShape, reference_events

ROOT = Path(__file__).resolve().parents[1]
SEED = 30
FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _committed(bootstrap: str, group: str, ends: dict[tuple[str, int], int]) -> int:
    consumer = Consumer({**kafka_config(bootstrap), "group.id": group})
    tps = consumer.committed([TopicPartition(t, p) for t, p in ends], timeout=10)
    consumer.close()
    return sum(max(tp.offset, 0) for tp in tps)


def _stage(
    args: list[str], env: dict[str, str], log: Path, done: Any = None
) -> tuple[float, float]:
    """Run ``fengqiao <args>`` until ``done()`` (then stop it), or until it exits when there
    is no ``done``; the seconds it took and the process's peak RSS in MiB."""
    started = time.monotonic()
    peak = 0.0
    with log.open("wb") as out:
        proc = subprocess.Popen([FENGQIAO, *args], env=env, stdout=out, stderr=out, cwd=ROOT)
    try:
        while done is None or not done():
            if proc.poll() is not None:
                if done is None and proc.returncode == 0:
                    break
                raise RuntimeError(f"fengqiao {args[0]} exited with {proc.returncode}; see {log}")
            peak = max(peak, _peak_rss_mib(proc.pid))
            time.sleep(2)
        if proc.poll() is None:
            peak = max(peak, _peak_rss_mib(proc.pid))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    return time.monotonic() - started, peak


def run(days: int, start: str, target: int, workdir: Path) -> dict[str, Any]:
    settings = ProjectorSettings()
    bootstrap = settings.kafka_bootstrap
    tag = uuid.uuid4().hex[:6]
    prefix = f"scale.{tag}."
    env = {
        **os.environ,
        "FQ_TRIGGER_INTERVAL_S": "0",
        "FQ_WORKFLOW_APP_ID": f"scale-{tag}",
        "FQ_PROJECTION": f"scale{tag}",
        "FQ_TOPIC_PREFIX": prefix,
    }
    inbox = [prefix + t for t in INBOX.values()]
    canonical = [prefix + t for t in CANONICAL.values()]
    figures: dict[str, Any] = {"days": days, "start": start, "shape": "ningbo", "topics": prefix}
    connection = ConnectionSettings()
    deployment_topics(connection, prefix, env["FQ_WORKFLOW_APP_ID"])

    # The reference data, decided before anything that refers to it.
    _, reference = reference_events(CityShape(), SEED)
    with Publisher(PublisherSettings(topic_prefix=prefix)) as publisher:
        result = publisher.publish_batch(reference)
    if result.failures:
        raise RuntimeError(f"reference data: {result.failures[0].error}")
    reference_ends = topic_ends(bootstrap, inbox)
    group = env["FQ_WORKFLOW_APP_ID"]
    goal = sum(reference_ends.values())
    seconds, _ = _stage(
        ["process"],
        env,
        workdir / "process-reference.log",
        lambda: _committed(bootstrap, group, reference_ends) >= goal,
    )
    figures["reference"] = {"events": len(reference), "decided_in_seconds": round(seconds)}
    print(f"reference: {figures['reference']}", file=sys.stderr, flush=True)

    # Stage 1: backfill through the SDK.
    before = sum(topic_ends(bootstrap, inbox).values())
    stats = workdir / "simulate.json"
    seconds, peak = _stage(
        [
            "simulate",
            "--shape",
            "ningbo",
            "--days",
            str(days),
            "--start",
            start,
            "--seed",
            str(SEED),
            "--no-reference",
            "--stats",
            str(stats),
        ],
        env,
        workdir / "simulate.log",
    )
    inbox_ends = topic_ends(bootstrap, inbox)
    submitted = sum(inbox_ends.values()) - before
    figures["backfill"] = {
        "events": submitted,
        "seconds": round(seconds),
        "per_s": round(submitted / seconds),
        "peak_rss_mib": round(peak),
    }
    print(f"backfill: {figures['backfill']}", file=sys.stderr, flush=True)

    # Stage 2: the workflow decides everything in the inboxes.
    canonical_before = sum(
        n for (t, _), n in topic_ends(bootstrap, canonical).items() if "reference" not in t
    )
    total = sum(inbox_ends.values())
    seconds, peak = _stage(
        ["process"],
        env,
        workdir / "process.log",
        lambda: _committed(bootstrap, group, inbox_ends) >= total,
    )
    canonical_ends = topic_ends(bootstrap, canonical)
    appended = (
        sum(n for (t, _), n in canonical_ends.items() if "reference" not in t) - canonical_before
    )
    rejections = sum(topic_ends(bootstrap, [prefix + REJECTIONS]).values())
    figures["workflow"] = {
        "submissions": submitted,
        "canonical_events": appended,
        "rejected": rejections,
        "seconds": round(seconds),
        "per_s": round(submitted / seconds),
        "peak_rss_mib": round(peak),
    }
    print(f"workflow: {figures['workflow']}", file=sys.stderr, flush=True)

    # Stage 3: the projector reads the canonical logs into a projection of its own.
    projected_ends = {tp: n for tp, n in canonical_ends.items() if "reference" not in tp[0]}
    goal = sum(projected_ends.values())

    def caught_up() -> bool:
        with connect(settings.pg_dsn.get_secret_value()) as conn:
            row = (
                conn.execute(
                    f'SELECT coalesce(sum(next_offset), 0) FROM "fq_scale{tag}_live".checkpoints '
                    "WHERE topic NOT LIKE '%reference%'"
                ).fetchone()
                if _exists(conn, tag)
                else (0,)
            )
        return row is not None and int(row[0]) >= goal

    seconds, peak = _stage(
        ["project"], {**env, "FQ_PROJECTOR_BATCH": "20000"}, workdir / "project.log", caught_up
    )
    figures["projector"] = {
        "events": goal,
        "seconds": round(seconds),
        "per_s": round(goal / seconds),
        "peak_rss_mib": round(peak),
        "schema": f"fq_scale{tag}_live",
    }
    print(f"projector: {figures['projector']}", file=sys.stderr, flush=True)

    figures["extrapolated_to"] = target
    figures["extrapolated_hours"] = {
        stage: round(target / figures[stage]["per_s"] / 3600, 1)
        for stage in ("backfill", "workflow", "projector")
    }
    if stats.exists():
        figures["simulated"] = json.loads(stats.read_text())
    return figures


def _exists(conn: Any, tag: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (f"fq_scale{tag}_live.checkpoints",)).fetchone()
    return row is not None and row[0] is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", default="2025-03-03")
    parser.add_argument("--target", type=int, default=27_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fengqiao-scale"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    report("scale", run(args.days, args.start, args.target, args.workdir))


if __name__ == "__main__":
    main()
