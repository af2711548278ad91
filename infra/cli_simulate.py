"""``fengqiao simulate``: a synthetic city with Ningbo's shape, its reference data and then its
days of visits and cases, published to the inbox topics or written to an NDJSON file.

Two modes. Backfill (the default): ``--days N`` of history, generated a day at a time and
published as fast as the stack takes it. Live (``--live``): an endless stream paced at
``--rate`` events/s with times near the wall clock, until Ctrl-C or ``--duration``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from domain.calendar import local_date
from events.collector import freeze_start_up
from events.errors import BrokerUnavailable
from events.models import Event
from events.publisher import Publisher, PublisherSettings
from infra.cli import err_console, reports_errors
from infra.stack.probes import kafka_answers
from simulate.city import EPOCH, CityShape, reference_events
from simulate.clock import OfficeHours, day_start
from simulate.live import paced
from simulate.output import Failed, NdjsonSink, PublishSink, Sink
from simulate.settings import SimulateSettings
from simulate.stream import DayBatch, Simulation, Stats, prefetched

console = Console()


@dataclass
class _Tally:
    """What went out: written, failed (with reasons), and the time spent writing."""

    written: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    failures: list[Failed] = field(default_factory=list)
    write_s: float = 0.0

    def send(self, sink: Sink, events: list[Event]) -> None:
        began = time.perf_counter()
        self.failures += sink.write(events)
        self.write_s += time.perf_counter() - began
        self.written += len(events)
        self.by_type.update(e.event_type for e in events)


@reports_errors
def simulate(
    shape: str | None = typer.Option(None, help="ningbo | zhuangshi  [FQ_SIM_SHAPE: ningbo]"),
    seed: int | None = typer.Option(None, help="same seed, same events  [FQ_SIM_SEED]"),
    start: str | None = typer.Option(None, help="first day, YYYY-MM-DD (default: N days ago)"),
    days: int | None = typer.Option(None, help="backfill: days of history  [FQ_SIM_DAYS: 1]"),
    live: bool = typer.Option(False, "--live", help="stream live at --rate instead"),
    rate: float | None = typer.Option(None, help="live: events/s  [FQ_SIM_RATE: 1000]"),
    duration: float | None = typer.Option(None, help="live: stop after this many seconds"),
    reference: bool = typer.Option(
        True, "--reference/--no-reference", help="publish the city's reference data first"
    ),
    out: Path | None = typer.Option(None, help="write NDJSON here instead of publishing"),
    invalid_share: float | None = typer.Option(
        None, help="share of cases with a submission meant to be refused  [FQ_SIM_INVALID_SHARE]"
    ),
    stats: Path | None = typer.Option(None, help="also write the run's figures as JSON here"),
) -> None:
    """Simulate a city: reference data, then each day's visits and cases with their lifecycles.

    By default publishes to the inbox topics through the SDK (run `fengqiao schemas register`
    once first); with --out, writes NDJSON for `fengqiao publish`. Prints a summary (events
    by type and by day, cases by channel, rates); failed events are reported on stderr with
    their reason and the exit code is then 1. Ctrl-C ends a run early with its summary.

    Environment: FQ_SIM_SHAPE, FQ_SIM_SEED, FQ_SIM_DAYS, FQ_SIM_RATE, FQ_SIM_INVALID_SHARE,
    FQ_SIM_BATCH (events per publish call, 5000), and for publishing FQ_KAFKA_BOOTSTRAP,
    FQ_REGISTRY_URL, FQ_PUBLISH_TIMEOUT_S.
    """
    settings = SimulateSettings()  # a wrong FQ_SIM_* is named by reports_errors (exit 2)
    city_shape = _shape(shape or settings.shape)
    seed = settings.seed if seed is None else seed
    days = settings.days if days is None else days
    rate = settings.rate if rate is None else rate
    for name, value in (("--days", days), ("--rate", rate), ("--duration", duration or 1)):
        if value <= 0:
            raise typer.BadParameter(f"{value} is not positive", param_hint=name)
    today = local_date(datetime.now().astimezone())
    first = _first_day(start, today if live else today - timedelta(days=days))
    if not live:
        _warn_outside_calendars(first, first + timedelta(days=days - 1))
    city, ref = reference_events(city_shape, seed)
    _quiet_collector()
    sim = Simulation(city, seed, first, invalid_share=_share(invalid_share, settings))
    tally = _Tally()
    sent_reference = 0
    began = time.perf_counter()
    with ExitStack() as stack:
        sink = _sink(out, stack)
        bar = stack.enter_context(_progress())
        try:
            if reference:
                _send_all(sink, tally, ref, bar, "reference", settings.batch)
            sent_reference = len(ref) if reference else 0
            ref.clear()  # no longer needed: let a long run have the memory
            if live:
                _run_live(sink, tally, sim, bar, rate, duration)
            else:
                _run_backfill(sink, tally, sim, bar, days, settings.batch)
        except KeyboardInterrupt:
            err_console.print("interrupted: stopping after what was sent")
    _summary(sim.stats, tally, time.perf_counter() - began, sent_reference, out)
    if stats is not None:
        figures = {
            **sim.stats.as_dict(),
            "written": tally.written,
            "failed": len(tally.failures),
            "write_s": round(tally.write_s, 3),
        }
        stats.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    if tally.failures:
        raise typer.Exit(1)


def _quiet_collector() -> None:
    """The city lives for the whole run and each day's events die young; without this, full
    collections over the city's objects stall the run for seconds (and live mode's pace)."""
    freeze_start_up(older=(20, 1000))


def _shape(name: str) -> CityShape:
    try:
        return CityShape.named(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--shape") from exc


def _share(option: float | None, settings: SimulateSettings) -> float:
    share = settings.invalid_share if option is None else option
    if not 0 <= share <= 1:
        raise typer.BadParameter(f"{share} is not between 0 and 1", param_hint="--invalid-share")
    return share


def _first_day(start: str | None, default: date) -> date:
    try:
        first = date.fromisoformat(start) if start else default
    except ValueError as exc:
        message = f"{start!r} is not a date (YYYY-MM-DD)"
        raise typer.BadParameter(message, param_hint="--start") from exc
    if first < EPOCH:
        raise typer.BadParameter(
            f"{first} is before {EPOCH}, the first day the shipped working calendars cover",
            param_hint="--start",
        )
    return first


def _warn_outside_calendars(first: date, last: date) -> None:
    known = set(OfficeHours().calendar.known_years)
    missing = sorted({first.year, last.year} - known)
    if missing:
        err_console.print(
            f"[yellow]warning:[/] no working calendar for {missing}: the workflow will refuse "
            "cases then (CALENDAR_GAP) until a CalendarDefined for those years is published"
        )


def _sink(out: Path | None, stack: ExitStack) -> Sink:
    if out is not None:
        sink = NdjsonSink.create(out)
        stack.callback(sink.close)
        return sink
    settings = PublisherSettings()
    if not kafka_answers(settings.kafka_bootstrap):
        raise BrokerUnavailable(
            f"Kafka at {settings.kafka_bootstrap} does not answer; is the stack up? "
            "try `fengqiao stack status`"
        )
    return PublishSink(stack.enter_context(Publisher(settings)))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[events]:>10,} events"),
        TextColumn("{task.fields[rate]:>8,.0f} events/s"),
        TimeRemainingColumn(),
        console=err_console,
    )


class _Meter:
    """One progress task: how far, how many events sent, at what rate."""

    def __init__(self, bar: Progress, label: str, total: float | None) -> None:
        self.bar, self.sent, self.began = bar, 0, time.perf_counter()
        self.task = bar.add_task(label, total=total, events=0, rate=0.0)

    def sent_more(self, n: int, completed: float, **update: Any) -> None:
        self.sent += n
        rate = self.sent / max(time.perf_counter() - self.began, 1e-9)
        self.bar.update(self.task, completed=completed, events=self.sent, rate=rate, **update)


def _in_chunks(sink: Sink, tally: _Tally, events: list[Event], chunk: int) -> Iterator[int]:
    """Send ``events`` a chunk at a time; after each, how many of them have gone."""
    for i in range(0, len(events), chunk):
        part = events[i : i + chunk]
        tally.send(sink, part)
        yield i + len(part)


def _send_all(
    sink: Sink, tally: _Tally, events: list[Event], bar: Progress, label: str, chunk: int
) -> None:
    meter, done = _Meter(bar, label, len(events)), 0
    for now_done in _in_chunks(sink, tally, events, chunk):
        meter.sent_more(now_done - done, now_done)
        done = now_done


def _run_backfill(
    sink: Sink, tally: _Tally, sim: Simulation, bar: Progress, days: int, chunk: int
) -> None:
    meter = _Meter(bar, f"{days} days from {sim.start}", days)
    with closing(prefetched(sim.days(days))) as batches:
        for n, batch in enumerate(batches):
            done = 0
            for now_done in _in_chunks(sink, tally, batch.events, chunk):
                meter.sent_more(
                    now_done - done,
                    n + now_done / len(batch.events),
                    description=f"day {batch.day}",
                )
                done = now_done


def _flatten(batches: Iterable[DayBatch]) -> Iterator[Event]:
    for batch in batches:
        yield from batch.events


def _run_live(
    sink: Sink, tally: _Tally, sim: Simulation, bar: Progress, rate: float, duration: float | None
) -> None:
    meter = _Meter(bar, f"live at {rate:,.0f}/s", duration)
    first = last = 0.0
    try:
        with closing(prefetched(sim.days(None))) as days:
            for batch in paced(_flatten(days), rate, day_start(sim.start), duration):
                first = first or time.perf_counter()
                tally.send(sink, batch)
                last = time.perf_counter()
                meter.sent_more(len(batch), last - meter.began)
    finally:
        if last > first:
            console.print(
                f"live: {meter.sent:,} events in {last - first:.1f}s "
                f"({meter.sent / (last - first):,.0f}/s of {rate:,.0f}/s asked)"
            )


def _summary(stats: Stats, tally: _Tally, seconds: float, reference: int, out: Path | None) -> None:
    table = Table("event type", "events", title="events sent")
    for kind, n in tally.by_type.most_common():
        table.add_row(kind, f"{n:,}")
    console.print(table)
    channels = ", ".join(f"{c} {n:,}" for c, n in stats.cases_by_channel.most_common())
    console.print(f"cases by channel: {channels or 'none'}")
    per_day = [n for n in stats.by_day.values()]
    if len(per_day) <= 14:
        console.print(
            "events per day: " + ", ".join(f"{d} {n:,}" for d, n in sorted(stats.by_day.items()))
        )
    elif per_day:
        console.print(
            f"events per day: min {min(per_day):,}, median {median(per_day):,.0f}, "
            f"max {max(per_day):,} over {len(per_day)} days"
        )
    intended = stats.invalid_by_code()
    if intended:
        codes = ", ".join(f"{c} {n}" for c, n in intended.most_common())
        console.print(f"meant to be refused by the workflow: {sum(intended.values())} ({codes})")
    if stats.beyond_window:
        console.print(
            f"steps after the last day, left out (cases still open): {stats.beyond_window:,}"
        )
    gen_rate = stats.events / max(stats.generation_s, 1e-9)
    console.print(
        f"generated {stats.events:,} events in {stats.generation_s:.1f}s "
        f"({gen_rate:,.0f}/s); reference events {reference:,}"
    )
    where = f"written to {escape(str(out))}" if out else "published"
    ok = tally.written - len(tally.failures)
    console.print(
        f"{where} {ok:,}, failed {len(tally.failures):,} in {seconds:.1f}s "
        f"({tally.written / max(tally.write_s, 1e-9):,.0f}/s while writing)"
    )
    _report_failures(tally.failures)


def _report_failures(failures: list[Failed], examples: int = 20) -> None:
    for failure in failures[:examples]:
        err_console.print(
            f"[red]{failure.event_type} {failure.event_id}:[/] {escape(failure.reason)}",
            highlight=False,
        )
    if len(failures) > examples:
        reasons = Counter(f.reason.split(":")[0] for f in failures)
        err_console.print(
            f"… and {len(failures) - examples} more; by kind: "
            + ", ".join(f"{r} {n}" for r, n in reasons.most_common())
        )


def register(app: typer.Typer) -> None:
    app.command()(simulate)
