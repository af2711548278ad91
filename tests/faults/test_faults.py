"""Faults under load: every kind of fault at random moments, and afterwards nothing lost,
nothing decided twice, the read models equal to a clean replay.

On the suite's own stack (``conftest.py``), the workflow, the projector, the gateway and the
dashboard run as real processes under the suite's supervisor, while a simulated street is
sent through the SDK (cases) and the gateway (visits). The faults come one after another, in
a seeded random order and at random moments, each kind ``REPEATS`` times: restart the broker,
stop the registry for 30 s, restart PostgreSQL, freeze the broker for 20 s (SIGSTOP/SIGCONT),
kill -9 each process. After each, the time until the processes it touched work again is
measured (a workflow commit, a projector commit, a 200 from the gateway or the dashboard);
``RECOVERY_BOUND_S`` is a safety net, not a timing target. The figures are printed as a table
and written to ``<FQ_DATA_DIR>/artefacts/faults.json``; ``FQ_FAULT_SEED`` repeats an order.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from events.codec import AvroCodec
from events.gateway.credentials import CredentialStore
from events.gateway.database import ensure_schema
from events.publisher import Publisher, PublisherSettings
from events.registry import SchemaRegistry
from infra.settings import StackSettings
from projections.settings import ProjectorSettings
from simulate.city import CityShape, reference_events
from tests.faults.checks import (
    judge,
    read_everything,
    replay_differs,
    wait_until_decided,
    wait_until_projected,
)
from tests.faults.conftest import FaultStack, _free_ports
from tests.faults.faults import FAULTS
from tests.faults.load import Load
from tests.faults.progress import Progress
from tests.faults.supervisor import Supervised, Supervisor

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REPEATS = 2
RECOVERY_BOUND_S = 90.0  # a process not working again within this is broken
RATE = 15.0  # submissions per second on each of the two ways in
GATEWAY_SCHEMA = "gateway"
SYSTEM = "fq-faults.gridapp"
START_S = 120.0


def _environment(stack: FaultStack) -> dict[str, str]:
    c = stack.connection
    return {
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]),
        "FQ_KAFKA_BOOTSTRAP": c.kafka_bootstrap,
        "FQ_REGISTRY_URL": c.registry_url,
        "FQ_PG_DSN": c.pg_dsn.get_secret_value(),
        "FQ_TOPIC_PREFIX": "",
        "FQ_PROJECTION": "city",
        "FQ_GATEWAY_SCHEMA": GATEWAY_SCHEMA,
    }


def _processes(stack: FaultStack, workdir: Path, ports: list[int]) -> list[Supervised]:
    env = _environment(stack)
    cli = [sys.executable, "-m", "infra.cli"]
    workflow = {
        "FQ_TRIGGER_INTERVAL_S": "0",  # a backfill: the wall clock would breach every deadline
        "FQ_COMMIT_INTERVAL_S": "0.5",
        "FQ_SESSION_TIMEOUT_S": "6",
        "FQ_COMMIT_STALL_S": "20",
        # static membership: a restarted worker takes its place in the group at once
        "FQ_GROUP_INSTANCE_ID": "worker-1",
        "FQ_WORKFLOW_DATA_DIR": str(workdir / "faust"),
    }
    return [
        Supervised("workflow", [*cli, "process"], {**env, **workflow}, workdir),
        Supervised("projector", [*cli, "project"], {**env, "FQ_PROJECTOR_MAX_WAIT_S": "0.3"}, workdir),
        Supervised("gateway", [*cli, "gateway"], {**env, "FQ_GATEWAY_PORT": str(ports[0])}, workdir),
        Supervised("dashboard", [*cli, "serve"], {**env, "FQ_DASHBOARD_PORT": str(ports[1])}, workdir),
    ]  # fmt: skip


def _wait(what: str, holds: Any, supervisor: Supervisor, timeout_s: float = START_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not holds():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.tail(15)}" for p in supervisor.processes.values())
            pytest.fail(f"{what} not within {timeout_s:.0f} s\n{logs}")
        time.sleep(0.5)


def _figures_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'fault':<24} {'repeat':>6} {'lasted s':>8} {'recovery s':>10}  per process"]
    for r in rows:
        each = ", ".join(f"{k} {v}" for k, v in r["processes"].items())
        total = "-" if r["recovery_s"] is None else f"{r['recovery_s']:.1f}"
        lines.append(f"{r['fault']:<24} {r['repeat']:>6} {r['lasted_s']:>8.1f} {total:>10}  {each}")
    return "\n".join(lines)


def _endings(endings: list[dict[str, Any]]) -> str:
    """Which processes ended by themselves (and were restarted), how often, during what."""
    counted = Counter(
        f"{e['process']} (exit {e['code']}) during {e['during'] or 'no fault'}" for e in endings
    )
    return "; ".join(f"{what} x{n}" for what, n in sorted(counted.items())) or "none"


def test_faults_under_load_lose_nothing_and_decide_nothing_twice(
    fault_stack: FaultStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("FQ_FAULT_SEED") or random.randrange(1_000_000))
    print(f"\nfault suite seed {seed} (FQ_FAULT_SEED={seed} repeats this order)")
    rng = random.Random(seed)
    connection = fault_stack.connection
    env = _environment(fault_stack)
    registered = subprocess.run(
        [sys.executable, "-m", "infra.cli", "schemas", "register"],
        env={**os.environ, **env}, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert registered.returncode == 0, registered.stdout + registered.stderr

    town, reference = reference_events(CityShape.zhuangshi(), seed=5)
    publisher = Publisher(
        PublisherSettings(
            kafka_bootstrap=connection.kafka_bootstrap,
            registry_url=connection.registry_url,
            kafka_overrides={"log_level": "0"},
        )
    )  # fmt: skip
    with publisher:
        assert publisher.publish_batch(reference).ok
    dsn = connection.pg_dsn.get_secret_value()
    ensure_schema(dsn, GATEWAY_SCHEMA)
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={GATEWAY_SCHEMA}") as c:
        key = CredentialStore(c).create(SYSTEM, ["*"], ["*"], ["*"]).key

    ports = _free_ports(2)
    gateway_url, dashboard_url = (f"http://127.0.0.1:{p}" for p in ports)
    supervisor = Supervisor(_processes(fault_stack, tmp_path, ports))
    progress = Progress(connection, gateway_url, key, dashboard_url)
    load = Load(connection, gateway_url, key, town, seed, RATE)
    rows: list[dict[str, Any]] = []
    try:
        supervisor.start("workflow", "projector")
        _wait(
            "the reference data decided",
            lambda: (progress.decided() or 0) >= len(reference),
            supervisor,
        )
        supervisor.start("gateway", "dashboard")  # the gateway reads the place tree at start
        _wait("the gateway and the dashboard answering", lambda: progress.gateway() and progress.dashboard(), supervisor)  # fmt: skip
        load.start()
        warm = progress.working_after(("workflow", "projector"), START_S)
        assert None not in warm.values(), f"no work under load: {warm}"

        schedule = [(fault, n + 1) for fault in FAULTS for n in range(REPEATS)]
        rng.shuffle(schedule)
        for fault, repeat in schedule:
            time.sleep(rng.uniform(1.0, 6.0))  # a random moment of the load
            supervisor.fault = fault.name
            began = time.monotonic()
            fault.inject(fault_stack.settings, supervisor)
            lasted = time.monotonic() - began
            back = progress.working_after(fault.affects, RECOVERY_BOUND_S)
            supervisor.fault = ""
            known = [v for v in back.values() if v is not None]
            recovery = max(known) if len(known) == len(back) else None
            rows.append({"fault": fault.name, "repeat": repeat, "lasted_s": round(lasted, 1),
                         "recovery_s": recovery, "processes": back})  # fmt: skip
            print(f"{fault.name} #{repeat}: lasted {lasted:.1f} s, back after {back}")
            assert recovery is not None, (
                f"{fault.name}: not working again within {RECOVERY_BOUND_S:.0f} s: {back}\n"
                + "\n".join(f"--- {p.name}\n{p.tail(20)}" for p in supervisor.processes.values())
            )
        load.stop()
        assert load.unsent() == 0, (
            f"{load.unsent()} submissions never acknowledged: {load.errors[-5:]}"
        )
        committed, ends = wait_until_decided(connection.kafka_bootstrap, 180)
        codec = AvroCodec(SchemaRegistry(connection.registry_url))
        verdict = judge(
            read_everything(connection.kafka_bootstrap, codec), load.acked(), sum(ends.values())
        )
        codec.registry.close()
        settings = ProjectorSettings(
            kafka_bootstrap=connection.kafka_bootstrap, registry_url=connection.registry_url,
            pg_dsn=connection.pg_dsn,
        )  # fmt: skip
        behind = wait_until_projected(settings, 180)
    finally:
        supervisor.stop()
        progress.close()
    differs = replay_differs(settings)
    endings = supervisor.endings
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "load": {
            "rate_per_channel": RATE,
            "acknowledged": {"sdk": len(load.sdk.acked), "gateway": len(load.gateway.acked)},
            "attempts": {"sdk": load.sdk.attempts, "gateway": load.gateway.attempts},
            "failed_attempts": {
                "sdk": load.sdk.failed_attempts,
                "gateway": load.gateway.failed_attempts,
            },
            "refused_by_gateway": len(load.gateway.refused),
            "errors": dict(Counter(load.errors).most_common(10)),
        },
        "faults": rows,
        "ended_by_themselves": [
            {"process": e.name, "code": e.code, "during": e.during} for e in endings if not e.killed
        ],
        "restarts": {p.name: p.starts - 1 for p in supervisor.processes.values()},
        "inbox_records": verdict.inbox_records,
        "outcomes": verdict.outcomes,
        "canonical_events": verdict.canonical_events,
        "rejections": verdict.rejections,
        "duplicates_answered": verdict.duplicates_answered,
        "unknown_case_decided_again": verdict.unknown_case_again,
        "lost": len(verdict.lost),
        "decided_twice": len(verdict.decided_twice),
        "projector_behind": behind,
        "replay_differs": sorted(differs),
    }
    artefact = StackSettings().data_dir / "artefacts" / "faults.json"
    artefact.parent.mkdir(parents=True, exist_ok=True)
    artefact.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    with capsys.disabled():  # the figures are the suite's report: shown in every run
        print(f"\nfault suite, seed {seed}\n{_figures_table(rows)}")
        rest = {k: v for k, v in summary.items() if k not in ("faults", "ended_by_themselves")}
        print(json.dumps(rest, default=str))
        print(f"ended by themselves: {_endings(summary['ended_by_themselves'])}")
        print(f"written {artefact}")

    assert committed == ends, {k: (committed[k], ends[k]) for k in ends if committed[k] != ends[k]}
    assert not verdict.failures, verdict.failures
    assert not behind, f"the projector did not reach the logs' ends: {behind}"
    assert not differs, f"live read models differ from a clean replay: {differs}"
