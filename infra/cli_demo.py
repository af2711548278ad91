"""``fengqiao demo``: the whole job running on the local stack, watched on the command centre.

It starts, as child processes it owns, the workflow (``fengqiao process``), the projector
(``fengqiao project``) and the dashboard (``fengqiao serve``), backfills a few days of a
simulated street (or the whole city) through ``fengqiao simulate``, then keeps a live
simulation running until Ctrl-C or SIGTERM, which stop everything it started, in order.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType

import httpx
import typer
from confluent_kafka import Consumer, KafkaException, TopicPartition

from domain.calendar import local_date
from events.errors import FengqiaoError
from events.kafka_access import kafka_config
from events.publisher import Publisher, PublisherSettings
from events.registry import SchemaRegistry
from events.schema_admin import register_catalog
from events.topics import INBOX, REFERENCE_INBOX
from infra.cli import err_console, reports_errors
from infra.cli_process import prefixed
from infra.demo_children import ChildDied, Children
from infra.settings import ConnectionSettings, StackSettings
from infra.stack.acl_admin import grant_deployment
from infra.stack.topics_admin import ensure_topics
from processors.settings import WorkflowSettings
from projections.dashboard.settings import DashboardSettings
from projections.log_ends import topic_ends
from schemas.catalog import load_catalog
from simulate.city import CityShape, reference_events
from simulate.settings import SimulateSettings

__all__ = ["demo", "next_live_day", "register"]

# Upstream first: nothing new reaches the workflow once it stops, nor the projector after it.
STOP_ORDER = ["live", "backfill", "workflow-live", "workflow-backfill", "projector", "dashboard"]
TICK_S = 0.5
# A workflow worker that cannot stand behind what it would commit ends itself with this code,
# for its supervisor to restart it (README, "The workflow"); the demo is its supervisor.
WORKER_RESTART = 70


class DemoFailed(FengqiaoError):
    """A step of the demo could not be done."""


class _Stopped(Exception):
    """Ctrl-C or SIGTERM arrived."""


def next_live_day(earlier_days: Iterable[str], today: date) -> date:
    """The simulated day a live run starts on: today, or the day after the last one an earlier
    demo's live run generated. The same seed gives each day the same event ids, and the
    workflow answers a repeated day's submissions as duplicates: the dashboard would not move.
    """
    last = max((date.fromisoformat(d) for d in earlier_days), default=None)
    return today if last is None or last < today else last + timedelta(days=1)


class _Demo:
    """The demo's steps, its children, and the signal that ends it."""

    def __init__(self, children: Children, stop: threading.Event) -> None:
        self.children, self.stop = children, stop
        self.began = time.monotonic()

    def say(self, message: str) -> None:
        err_console.print(
            f"[dim]demo {time.monotonic() - self.began:6.1f}s[/] {message}",
            highlight=False,
            soft_wrap=True,
        )

    def wait(self, done: Callable[[], bool], every_s: float = 0.0, what: str = "") -> None:
        """Until ``done()``, watching the children and the stop signal; ``what`` is said every
        ``every_s`` seconds when given."""
        last = time.monotonic()
        while True:
            if self.stop.is_set():
                raise _Stopped
            for child in self.children.check():
                self.say(
                    f"{child.name} ended asking to be restarted (exit {child.restart_on}); "
                    f"restarted it (restart {child.restarts}; its log: {child.log})"
                )
            if done():
                return
            if every_s and time.monotonic() - last >= every_s:
                self.say(what)
                last = time.monotonic()
            self.stop.wait(TICK_S)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}api/v1/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _decided(workflow: WorkflowSettings, ends: dict[tuple[str, int], int]) -> int:
    """Inbox records the workflow's consumer group has committed, of those in ``ends``."""
    consumer = Consumer(
        kafka_config(workflow.kafka_bootstrap, **{"group.id": workflow.workflow_app_id})
    )
    try:
        tps = consumer.committed([TopicPartition(t, p) for t, p in ends], timeout=10)
    except KafkaException as exc:
        raise DemoFailed(f"cannot read the workflow's position in its inboxes: {exc}") from exc
    finally:
        consumer.close()
    return sum(min(max(tp.offset, 0), ends[(tp.topic, tp.partition)]) for tp in tps)


def _decide_all(run: _Demo, workflow: WorkflowSettings, inboxes: list[str], what: str) -> None:
    """Wait until the workflow has decided everything now in ``inboxes``."""
    ends = topic_ends(workflow.kafka_bootstrap, inboxes)
    total = sum(ends.values())
    run.say(f"waiting for the workflow to decide {what}")
    run.wait(lambda: _decided(workflow, ends) >= total, 10, f"the workflow is deciding {what} …")


def _earlier_live_days(stats: Path) -> list[str]:
    try:
        by_day: dict[str, int] = json.loads(stats.read_text()).get("by_day", {})
    except (OSError, ValueError):
        return []
    return list(by_day)


@reports_errors
def demo(
    days: int = typer.Option(3, min=1, help="days of history to backfill before going live"),
    shape: str = typer.Option("zhuangshi", help="zhuangshi (one street) | ningbo (the city)"),
    rate: float = typer.Option(20.0, min=0.1, help="live simulation: events/s"),
) -> None:
    """Run the whole job and watch it: the workflow, the projector and the dashboard as child
    processes, DAYS simulated days backfilled through the workflow, then a live simulation at
    RATE events/s, until Ctrl-C or SIGTERM, which stop everything in order.

    The workflow backfills with its deadline trigger off (it would take the deadlines of cases
    whose later steps are still on their way for breaches), and is restarted with it on once it
    has decided the whole backfill. Run again, the demo continues the same city: reference
    data and backfilled days are answered as duplicates (nothing counted twice), and the live
    run starts on the simulated day after the last one live before.

    Prints the dashboard's URL on stdout once it answers; progress on stderr; each child's
    output in <FQ_DATA_DIR>/logs/demo-<name>.log. A child that dies is named with the tail of
    its log, the rest are stopped and the exit code is 1.

    Environment: every FQ_* setting of the commands it runs, among them FQ_TOPIC_PREFIX,
    FQ_WORKFLOW_APP_ID, FQ_PROJECTION, FQ_DASHBOARD_HOST, FQ_DASHBOARD_PORT (8080), FQ_SIM_SEED.
    """
    if shape not in ("zhuangshi", "ningbo"):
        raise typer.BadParameter(f"{shape!r} is not zhuangshi or ningbo", param_hint="--shape")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    data_dir = StackSettings().data_dir
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    children = Children(data_dir / "logs", env)
    run = _Demo(children, stop)
    code = 0
    try:
        _run(run, data_dir, days, shape, rate)
    except _Stopped:
        pass
    except (ChildDied, DemoFailed) as exc:
        err_console.print("[bold red]error:[/] ", end="")
        err_console.print(str(exc), highlight=False, markup=False, soft_wrap=True)
        code = 1
    finally:
        asked = time.monotonic()
        stopped = children.stop_all(STOP_ORDER)
        if stopped:
            codes = ", ".join(f"{name} ({rc})" for name, rc in stopped)
            run.say(f"stopped {codes} in {time.monotonic() - asked:.1f}s")
    raise typer.Exit(code)


def _run(run: _Demo, data_dir: Path, days: int, shape: str, rate: float) -> None:
    connection = ConnectionSettings()
    workflow = WorkflowSettings()
    dashboard = DashboardSettings()
    children = run.children
    run.say(f"registering the Avro contract at {connection.registry_url}")
    registry = SchemaRegistry(connection.registry_url)
    try:
        register_catalog(registry, load_catalog())
    finally:
        registry.close()
    # Before any child reads them: the projector refuses topics that do not exist yet.
    ensure_topics(connection.kafka_bootstrap, connection, prefixed(workflow.topic_prefix))
    grant_deployment(connection.kafka_bootstrap, workflow.topic_prefix, workflow.workflow_app_id)

    run.say(
        "starting the dashboard, the projector and the workflow (its deadline trigger off "
        "while backfilling)"
    )
    children.start("dashboard", ["serve"])  # first: the sooner there is something to look at
    children.start("projector", ["project"])
    backfill_worker = children.start(
        "workflow-backfill", ["process"], restart_on=WORKER_RESTART, FQ_TRIGGER_INTERVAL_S="0"
    )
    url = f"http://{dashboard.dashboard_host}:{dashboard.dashboard_port}/"
    run.wait(lambda: _answers(url))
    run.say("the dashboard answers")
    print(f"dashboard: {url}", flush=True)

    # The reference data first, decided before any submission that refers to it: the workflow
    # decides each inbox on its own, and a visit to a grid it does not know yet is refused.
    # (Its workers follow the canonical reference log within a poll; the backfill's process
    # takes seconds to start and generate before it publishes anything.)
    seed = SimulateSettings().seed
    _, reference = reference_events(CityShape.named(shape), seed)
    run.say(f"publishing the reference data of {shape} (seed {seed}: {len(reference):,} events)")
    with Publisher(PublisherSettings()) as publisher:
        published = publisher.publish_batch(reference)
    if published.failures:
        first = published.failures[0]
        raise DemoFailed(f"{len(published.failures)} reference events not published: {first.error}")
    _decide_all(run, workflow, [workflow.topic(REFERENCE_INBOX)], "the reference data")

    run.say(f"backfilling {days} day(s) of {shape} (log: {children.log_dir}/demo-backfill.log)")
    backfill = children.start(
        "backfill",
        ["simulate", "--shape", shape, "--days", str(days), "--no-reference"],
        expected_exit=True,
    )
    run.wait(lambda: not backfill.running, 15, "backfilling …")
    children.stop(backfill)
    _decide_all(run, workflow, [workflow.topic(t) for t in INBOX.values()], "the backfill")
    run.say("the workflow has decided the backfill; restarting it with its deadline trigger on")
    children.stop(backfill_worker)
    children.start("workflow-live", ["process"], restart_on=WORKER_RESTART)

    stats = data_dir / "demo" / f"live-{workflow.workflow_app_id}-{workflow.topic_prefix}.json"
    stats.parent.mkdir(parents=True, exist_ok=True)
    today = local_date(datetime.now(UTC))
    start = next_live_day(_earlier_live_days(stats), today)
    args = ["simulate", "--live", "--no-reference", "--shape", shape, "--rate", f"{rate:g}"]
    children.start("live", [*args, "--start", start.isoformat(), "--stats", str(stats)])
    run.say(f"live at {rate:g} events/s (simulated days from {start}); watch {url} · Ctrl-C stops")
    run.wait(lambda: False)


def register(app: typer.Typer) -> None:
    app.command()(demo)
